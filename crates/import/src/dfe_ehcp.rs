//! DfE "Education, health and care plans" open data, in its published layout: the standard
//! explore-education-statistics columns (`time_period, time_identifier, geographic_level, ...,
//! old_la_code, la_name`), then `breakdown_topic, breakdown` and the indicators.
//!
//! Eight files of the release are read, each recognised by its columns:
//! - the caseload (`sen_needs_all_plans`: plans in force in January by need, age and placement)
//!   becomes one `RecordCaseload` per authority and census;
//! - the caseload time series (`caseload.csv`, DfE's layout since the 2026 release: one row
//!   per census and breakdown, a column per type of placement) likewise, its cells by age at
//!   the start of the academic year and by placement; its censuses' other tables (by need,
//!   from the older files) stay as recorded (see the caseload projection);
//! - new plans, requests, assessments, 20-week timeliness, ceased plans and annual reviews (flows
//!   over a calendar year) become one `RecordActivity` per authority and year.
//!
//! Every local authority row becomes cells of its authority's command, whatever the number of
//! authorities in the file. England's total in the caseload file becomes a
//! `RecordNationalCaseload` (the trend forecasts follow). An authority not registered refuses
//! the file, naming it, unless it is registered from the file's codes and names (`register`).
//! Other national and regional rows, and breakdowns Placeledger does not hold (ethnicity, sex, years in place, age unknown) are passed
//! over and counted in the notes; published subtotals (`AP/PRU - total`) are not stored, being
//! sums of stored cells. Percentages are not stored: they follow from the counts. Suppressed or
//! unavailable values (`x`, `c`, `z`, blank) are recorded as unknown, never as zero.

use std::collections::{BTreeMap, HashMap};

use placeledger_domain::{
    AcademicYear, ActivityInput, ActivityMeasure, AuthorityCode, CaseloadInput, CeaseReason,
    Command, GssCode, PrimaryNeed, ProvisionKind, State,
};

use crate::table::{Row, Table};
use crate::{Parsed, Problem};

/// The need columns of the caseload file, and the need each counts (`ehc_plans`: all needs).
const NEED_COLUMNS: &[(&str, Option<PrimaryNeed>)] = &[
    ("ehc_plans", None),
    ("number_asd", Some(PrimaryNeed::Asd)),
    ("number_hi", Some(PrimaryNeed::Hi)),
    ("number_mld", Some(PrimaryNeed::Mld)),
    ("number_msi", Some(PrimaryNeed::Msi)),
    ("number_oth", Some(PrimaryNeed::Oth)),
    ("number_pd", Some(PrimaryNeed::Pd)),
    ("number_pmld", Some(PrimaryNeed::Pmld)),
    ("number_semh", Some(PrimaryNeed::Semh)),
    ("number_slcn", Some(PrimaryNeed::Slcn)),
    ("number_sld", Some(PrimaryNeed::Sld)),
    ("number_spld", Some(PrimaryNeed::Spld)),
    ("number_vi", Some(PrimaryNeed::Vi)),
    ("number_need_unknown", Some(PrimaryNeed::Unknown)),
];

/// SEN2's "Type of placement" breakdown labels, as published (with the spellings that vary).
const PLACEMENTS: &[(&str, ProvisionKind)] = &[
    (
        "Mainstream - LA maintained",
        ProvisionKind::MainstreamMaintained,
    ),
    (
        "Mainstream - LA maintained (resourced provision)",
        ProvisionKind::MainstreamMaintainedRp,
    ),
    (
        "Mainstream - LA maintained (SEN unit)",
        ProvisionKind::MainstreamMaintainedUnit,
    ),
    ("Mainstream - academy", ProvisionKind::MainstreamAcademy),
    (
        "Mainstream - academy (resourced provision)",
        ProvisionKind::MainstreamAcademyRp,
    ),
    (
        "Mainstream - academy (SEN unit)",
        ProvisionKind::MainstreamAcademyUnit,
    ),
    ("Mainstream - free school", ProvisionKind::MainstreamFree),
    (
        "Mainstream - free school (resourced provision)",
        ProvisionKind::MainstreamFreeRp,
    ),
    (
        "Mainstream - free school (SEN unit)",
        ProvisionKind::MainstreamFreeUnit,
    ),
    (
        "Mainstream - independent",
        ProvisionKind::MainstreamIndependent,
    ),
    ("Special - LA maintained", ProvisionKind::SpecialMaintained),
    (
        "Special - Academy/free schools",
        ProvisionKind::SpecialAcademyFree,
    ),
    // The 2023 ceased-plans rows spell it in the singular.
    (
        "Special - academy/free school",
        ProvisionKind::SpecialAcademyFree,
    ),
    ("Special - independent", ProvisionKind::SpecialIndependent),
    (
        "Special - non-maintained",
        ProvisionKind::SpecialNonMaintained,
    ),
    ("AP/PRU - LA maintained", ProvisionKind::ApMaintained),
    ("AP/PRU - academy", ProvisionKind::ApAcademy),
    ("AP/PRU - free school", ProvisionKind::ApFree),
    (
        "FE - general FE and tertiary colleges",
        ProvisionKind::FeCollege,
    ),
    (
        "FE - specialist post-16 institutions",
        ProvisionKind::SpecialistPost16,
    ),
    ("FE - UKRLP provider", ProvisionKind::UkrlpProvider),
    (
        "Educated elsewhere - elective home education",
        ProvisionKind::ElectiveHomeEducation,
    ),
    (
        "Educated elsewhere - other arrangements by LA",
        ProvisionKind::OtherArrangementsLa,
    ),
    (
        "Educated elsewhere - other arrangements by parents",
        ProvisionKind::OtherArrangementsParents,
    ),
    ("Educated elsewhere - NEET", ProvisionKind::NotInEducation),
    (
        "Educated elsewhere - not in education or training (compulsory school age)",
        ProvisionKind::NotInEducationCompulsoryAge,
    ),
    (
        "Educated elsewhere - not in education or training (notice to cease issued)",
        ProvisionKind::NotInEducationNoticeToCease,
    ),
    (
        "Educated elsewhere - not in education or training (other)",
        ProvisionKind::NotInEducationOther,
    ),
    (
        "Educated elsewhere - online provider",
        ProvisionKind::OnlineProvider,
    ),
    (
        "Educated elsewhere - Welsh establishment",
        ProvisionKind::WelshEstablishment,
    ),
    (
        "Educated elsewhere - other placement settings",
        ProvisionKind::OtherPlacementSettings,
    ),
    (
        "Educated elsewhere - other schools and establishments",
        ProvisionKind::OtherSchoolsAndEstablishments,
    ),
    (
        "Non-maintained early years",
        ProvisionKind::NonMaintainedEarlyYears,
    ),
    ("Placement not recorded", ProvisionKind::NotRecorded),
];

/// Breakdowns Placeledger does not hold.
const NOT_HELD: &[&str] = &[
    "Ethnicity",
    "Sex",
    "Years EHC plan in place",
    "Years plan held",
];

/// Breakdown topics by age: at the census, when the plan started, when it ceased.
const AGE_TOPICS: &[&str] = &[
    "Child or young persons age",
    // The caseload time series: academic age, as SEN2's census counts it.
    "Age at start of academic year",
    "Age when plan started",
    "Age plan ceased",
];

/// The file of the release a table is, and so what its rows become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Caseload,
    /// The caseload as one time series, a column per type of placement (2026 release on).
    CaseloadSeries,
    NewPlans,
    Requests,
    Assessments,
    Timeliness,
    CeasedPlans,
    AnnualReviews,
}

/// One counted column: what it counts (`None`: the caseload's plans in force), by need or
/// cease reason when the column is one.
#[derive(Debug, Clone, Copy)]
struct Indicator {
    column: &'static str,
    measure: Option<ActivityMeasure>,
    need: Option<PrimaryNeed>,
    reason: Option<CeaseReason>,
    /// The type of placement the column counts (the time series' columns).
    kind: Option<ProvisionKind>,
}

const fn counts_of(column: &'static str, measure: ActivityMeasure) -> Indicator {
    Indicator {
        column,
        measure: Some(measure),
        need: None,
        reason: None,
        kind: None,
    }
}

const fn ceased(column: &'static str, reason: Option<CeaseReason>) -> Indicator {
    Indicator {
        column,
        measure: Some(ActivityMeasure::PlansCeased),
        need: None,
        reason,
        kind: None,
    }
}

/// The time series' placement columns and the type each counts. Two columns count special
/// academies and special free schools apart, which Placeledger (as SEN2 did) holds as one
/// type: their cells are added. Totals (`mainstream_total`, `ed_elsewhere`) and percentages
/// are sums and shares of these, and are not read.
const PLACEMENT_COLUMNS: &[(&str, ProvisionKind)] = &[
    (
        "mainstream_la_maintained",
        ProvisionKind::MainstreamMaintained,
    ),
    (
        "mainstream_la_maintained_resourced_provision",
        ProvisionKind::MainstreamMaintainedRp,
    ),
    (
        "mainstream_la_maintained_senunit",
        ProvisionKind::MainstreamMaintainedUnit,
    ),
    ("mainstream_academy", ProvisionKind::MainstreamAcademy),
    (
        "mainstream_academy_resourced_provision",
        ProvisionKind::MainstreamAcademyRp,
    ),
    (
        "mainstream_academy_senunit",
        ProvisionKind::MainstreamAcademyUnit,
    ),
    ("mainstream_free_school", ProvisionKind::MainstreamFree),
    (
        "mainstream_free_school_resourced_provision",
        ProvisionKind::MainstreamFreeRp,
    ),
    (
        "mainstream_free_school_senunit",
        ProvisionKind::MainstreamFreeUnit,
    ),
    (
        "mainstream_independent",
        ProvisionKind::MainstreamIndependent,
    ),
    ("special_la_maintained", ProvisionKind::SpecialMaintained),
    ("special_academy", ProvisionKind::SpecialAcademyFree),
    ("special_free_school", ProvisionKind::SpecialAcademyFree),
    ("special_independent", ProvisionKind::SpecialIndependent),
    (
        "special_non_maintained",
        ProvisionKind::SpecialNonMaintained,
    ),
    ("ap_pru_academy", ProvisionKind::ApAcademy),
    ("ap_pru_free_school", ProvisionKind::ApFree),
    ("ap_pru_la_maintained", ProvisionKind::ApMaintained),
    ("general_fe_tertiary_colleges", ProvisionKind::FeCollege),
    (
        "specialist_post_16_institutions",
        ProvisionKind::SpecialistPost16,
    ),
    ("ukrlp_provider", ProvisionKind::UkrlpProvider),
    (
        "elective_home_education",
        ProvisionKind::ElectiveHomeEducation,
    ),
    ("other_arrangements_la", ProvisionKind::OtherArrangementsLa),
    (
        "other_arrangements_parents",
        ProvisionKind::OtherArrangementsParents,
    ),
    ("online_provider", ProvisionKind::OnlineProvider),
    ("w_settings", ProvisionKind::WelshEstablishment),
    (
        "other_schools",
        ProvisionKind::OtherSchoolsAndEstablishments,
    ),
    (
        "other_placement_settings",
        ProvisionKind::OtherPlacementSettings,
    ),
    ("neet", ProvisionKind::NotInEducation),
    ("neet_ntci", ProvisionKind::NotInEducationNoticeToCease),
    ("neet_other", ProvisionKind::NotInEducationOther),
    ("neet_other_csa", ProvisionKind::NotInEducationCompulsoryAge),
    ("nm_early_years", ProvisionKind::NonMaintainedEarlyYears),
    ("placement_unknown", ProvisionKind::NotRecorded),
    ("await_prov_2022", ProvisionKind::AwaitingProvision),
    ("perm_ex_2022", ProvisionKind::PermanentlyExcluded),
];

impl Layout {
    /// What the file is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Caseload => "caseload (plans in force in January)",
            Layout::CaseloadSeries => {
                "caseload time series (plans in force each January, by placement)"
            }
            Layout::NewPlans => "new plans",
            Layout::Requests => "requests for assessment",
            Layout::Assessments => "assessments",
            Layout::Timeliness => "20-week timeliness",
            Layout::CeasedPlans => "ceased plans",
            Layout::AnnualReviews => "annual reviews",
        }
    }

    /// The layout whose columns the header has; the caseload and new-plans files share their
    /// columns and differ in `time_identifier` (a census by academic year, or a calendar year).
    fn of(table: &Table) -> Result<Layout, String> {
        const SIGNATURES: &[(&str, Layout)] = &[
            ("requests_received_in_year", Layout::Requests),
            ("assess_issued", Layout::Assessments),
            ("plans_issued_within_20_weeks", Layout::Timeliness),
            ("total_ceased", Layout::CeasedPlans),
            ("review_expected", Layout::AnnualReviews),
        ];
        if let Some(&(_, layout)) = SIGNATURES.iter().find(|(c, _)| table.find(c).is_some()) {
            return Ok(layout);
        }
        if table.find("ehcplans").is_some() {
            return Ok(Layout::CaseloadSeries);
        }
        if table.find("ehc_plans").is_none() {
            return Err(
                "not a DfE EHC plans file Placeledger knows: none of the columns ehc_plans, \
                 ehcplans, requests_received_in_year, assess_issued, \
                 plans_issued_within_20_weeks, total_ceased, review_expected"
                    .into(),
            );
        }
        let calendar = table.find("time_identifier").is_some_and(|i| {
            table
                .rows
                .first()
                .is_some_and(|r| r.fields.get(i) == Some("Calendar year"))
        });
        Ok(if calendar {
            Layout::NewPlans
        } else {
            Layout::Caseload
        })
    }

    fn indicators(self) -> Vec<Indicator> {
        use ActivityMeasure as M;
        match self {
            Layout::Caseload | Layout::NewPlans => {
                let measure = (self == Layout::NewPlans).then_some(M::NewPlans);
                NEED_COLUMNS
                    .iter()
                    .map(|&(column, need)| Indicator {
                        column,
                        measure,
                        need,
                        reason: None,
                        kind: None,
                    })
                    .collect()
            }
            Layout::CaseloadSeries => std::iter::once(("ehcplans", None))
                .chain(PLACEMENT_COLUMNS.iter().map(|(c, k)| (*c, Some(*k))))
                .map(|(column, kind)| Indicator {
                    column,
                    measure: None,
                    need: None,
                    reason: None,
                    kind,
                })
                .collect(),
            Layout::Requests => vec![
                counts_of("requests_received_in_year", M::RequestsReceived),
                counts_of("requests_decided_to_assess", M::RequestsAgreed),
                counts_of("requests_decided_not_to_assess", M::RequestsRefused),
                counts_of("requests_decision_not_made", M::RequestsUndecided),
                counts_of("requests_withdrawn", M::RequestsWithdrawn),
                counts_of("request_outcome_six_weeks", M::RequestsDecidedWithin6Weeks),
                counts_of("request_outcome_over_6_weeks", M::RequestsDecidedOver6Weeks),
            ],
            Layout::Assessments => vec![
                counts_of("assess_in_year", M::Assessments),
                counts_of("assess_issued", M::AssessmentsPlanIssued),
                counts_of("assess_not_issued", M::AssessmentsPlanNotIssued),
                counts_of("assess_not_made", M::AssessmentsUndecided),
                counts_of("assess_withdrawn", M::AssessmentsWithdrawn),
                counts_of("outcome_decision_within_time", M::AssessmentsDecidedInTime),
                counts_of("outcome_decision_over_time", M::AssessmentsDecidedLate),
            ],
            Layout::Timeliness => vec![
                counts_of("plans_issued_den", M::PlansIssued),
                counts_of("plans_issued_within_20_weeks", M::PlansIssuedWithin20Weeks),
                counts_of("plans_issued_den_ex", M::PlansIssuedExExceptions),
                counts_of(
                    "plans_issued_20_weeks_ex",
                    M::PlansIssuedWithin20WeeksExExceptions,
                ),
                counts_of(
                    "plans_issued_gt20weeks_ltYear",
                    M::PlansIssued20WeeksToAYear,
                ),
                counts_of("plans_issued_gt_1_year", M::PlansIssuedOverAYear),
            ],
            Layout::CeasedPlans => vec![
                ceased("total_ceased", None),
                ceased("max_age", Some(CeaseReason::ReachedAgeLimit)),
                ceased("needs_met", Some(CeaseReason::NeedsMet)),
                ceased("he", Some(CeaseReason::HigherEducation)),
                ceased("employ", Some(CeaseReason::Employment)),
                ceased("transfer", Some(CeaseReason::TransferredToAnotherLa)),
                ceased("no_engage", Some(CeaseReason::NoLongerInEducation)),
                ceased("moved_outside_eng", Some(CeaseReason::MovedOutsideEngland)),
                ceased("deceased", Some(CeaseReason::Died)),
                ceased("not_rec", Some(CeaseReason::NotRecorded)),
                ceased("other", Some(CeaseReason::Other)),
            ],
            // `no_outcome` is not read: DfE derives it as decisions less outcomes, and it
            // comes out at -1 for some Lancashire ages in 2024.
            Layout::AnnualReviews => vec![
                counts_of("total_ehc_plans", M::ReviewPlans),
                counts_of("review_expected", M::ReviewsDue),
                counts_of("review_not_expected", M::ReviewsNotDue),
                counts_of("total_review_meeting", M::ReviewMeetingsHeld),
                counts_of("no_review_meeting", M::ReviewMeetingsNotHeld),
                counts_of("outcome_amend", M::ReviewOutcomeAmend),
                counts_of("outcome_cease", M::ReviewOutcomeCease),
                counts_of("outcome_maintan", M::ReviewOutcomeMaintain),
                counts_of("number_decsion_4weeks", M::ReviewDecidedWithin4Weeks),
                counts_of("number_decision_gt_4weeks", M::ReviewDecidedOver4Weeks),
            ],
        }
    }
}

/// The period a row is about: a January census, or a calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Period {
    Census(AcademicYear),
    Year(i32),
}

impl Period {
    fn parse(layout: Layout, text: &str) -> Result<Period, String> {
        if matches!(layout, Layout::Caseload | Layout::CaseloadSeries) {
            return AcademicYear::parse(text)
                .map(Period::Census)
                .map_err(|e| e.to_string());
        }
        // Calendar years are published as `2024`, or (new plans) as `202425` for 2024.
        let digits = text.trim();
        let year = match digits.len() {
            4 => digits.parse::<i32>().ok(),
            6 => AcademicYear::parse(digits).ok().map(|y| y.start_year()),
            _ => None,
        };
        year.map(Period::Year).ok_or_else(|| {
            format!("{text:?} is not a calendar year (such as 2024, or 202425 for 2024)")
        })
    }
}

/// Reads a DfE EHC plans file. `state` says which authorities are registered.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read (the CLI reads it with a progress bar).
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table_with(table, state, crate::Options::default())
}

/// An authority the file names that is not registered: where it first appears, and the
/// file's own GSS code and name for it.
struct Unregistered {
    line: u64,
    gss: String,
    name: String,
}

impl Unregistered {
    /// Notes `authority` as the file names it on `line`, the first time it does.
    fn note(
        seen: &mut BTreeMap<AuthorityCode, Unregistered>,
        authority: &AuthorityCode,
        line: u64,
        gss: &str,
        name: &str,
    ) {
        seen.entry(authority.clone())
            .or_insert_with(|| Unregistered {
                line,
                gss: gss.trim().to_owned(),
                name: name.trim().to_owned(),
            });
    }
}

/// [`parse_table`] with `options`: an authority not registered refuses the file, or (with
/// `register`) is registered from the file's codes and names first.
pub fn parse_table_with(
    table: &Table,
    state: &State,
    options: crate::Options,
) -> Result<Parsed, Vec<Problem>> {
    let file = table.file.as_str();
    if table.find("total_plans").is_some() && table.find("breakdown").is_none() {
        return parse_totals(table, state, options);
    }
    let layout = Layout::of(table).map_err(|message| {
        vec![Problem {
            file: file.to_owned(),
            line: 1,
            column: None,
            message,
        }]
    })?;
    let mut problems = Vec::new();
    let mut column = |name: &str| table.column(name).map_err(|p| problems.push(p)).ok();
    let period = column("time_period");
    let level = column("geographic_level");
    let la = column("old_la_code");
    let topic = column("breakdown_topic");
    let breakdown = column("breakdown");
    let indicators: Vec<(usize, Indicator)> = layout
        .indicators()
        .into_iter()
        .filter_map(|ind| column(ind.column).map(|i| (i, ind)))
        .collect();
    let (Some(period), Some(level), Some(la), Some(topic), Some(breakdown)) =
        (period, level, la, topic, breakdown)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut cells: BTreeMap<(AuthorityCode, Period), RowCells> = BTreeMap::new();
    let mut seen: HashMap<(String, String, String, String), u64> = HashMap::new();
    let mut not_registered: BTreeMap<AuthorityCode, Unregistered> = BTreeMap::new();
    let new_code = table.find("new_la_code");
    let la_name = table.find("la_name");
    let mut not_held: BTreeMap<String, usize> = BTreeMap::new();
    let mut above_authority = 0;
    // England's plans in force per census, from the caseload file's national total row.
    let mut national: BTreeMap<AcademicYear, (u64, i64)> = BTreeMap::new();
    for row in &table.rows {
        let field = |i: usize| row.fields.get(i).unwrap_or_default();
        if matches!(layout, Layout::Caseload | Layout::CaseloadSeries)
            && field(level).eq_ignore_ascii_case("National")
            && matches!(
                dimension(layout, field(topic), field(breakdown)),
                Ok(Breakdown::Cell(Dimension {
                    age: None,
                    kind: None
                }))
            )
        {
            let when = Period::parse(layout, field(period));
            let plans = counts(table, row, &indicators).map(|v| {
                v.into_iter()
                    .find(|(ind, _)| {
                        ind.measure.is_none() && ind.need.is_none() && ind.kind.is_none()
                    })
                    .and_then(|(_, n)| n)
            });
            match (when, plans) {
                (Ok(Period::Census(census)), Ok(Some(plans))) => {
                    if let Some((first, _)) = national.insert(census, (row.line, plans)) {
                        problems.push(table.problem(
                            row.line,
                            "breakdown",
                            format!(
                                "duplicate row: England's total for the same census as line {first}"
                            ),
                        ));
                    }
                }
                (Err(e), _) => problems.push(table.problem(row.line, "time_period", e)),
                (_, Err(mut p)) => problems.append(&mut p),
                // Suppressed or a flow period: nothing to record.
                _ => above_authority += 1,
            }
            continue;
        }
        if !field(level).eq_ignore_ascii_case("Local authority") {
            above_authority += 1;
            continue;
        }
        let key = (
            field(period).to_owned(),
            field(la).to_owned(),
            field(topic).to_owned(),
            field(breakdown).to_owned(),
        );
        if let Some(first) = seen.insert(key, row.line) {
            problems.push(table.problem(
                row.line,
                "breakdown",
                format!("duplicate row: the same authority, period and breakdown as line {first}"),
            ));
            continue;
        }
        let authority = match AuthorityCode::parse(field(la)) {
            Ok(a) => a,
            Err(e) => {
                problems.push(table.problem(row.line, "old_la_code", e.to_string()));
                continue;
            }
        };
        let when = match Period::parse(layout, field(period)) {
            Ok(p) => p,
            Err(e) => {
                problems.push(table.problem(row.line, "time_period", e));
                continue;
            }
        };
        let dim = match dimension(layout, field(topic), field(breakdown)) {
            Ok(Breakdown::Cell(dim)) => dim,
            Ok(Breakdown::Total) => continue,
            Ok(Breakdown::NotHeld(what)) => {
                *not_held.entry(what).or_default() += 1;
                continue;
            }
            Err((col, message)) => {
                problems.push(table.problem(row.line, col, message));
                continue;
            }
        };
        let values = match counts(table, row, &indicators) {
            Ok(v) => v,
            Err(mut p) => {
                problems.append(&mut p);
                continue;
            }
        };
        if !state.authorities.contains_key(&authority) {
            let text = |c: Option<usize>| c.map(field).unwrap_or_default();
            Unregistered::note(
                &mut not_registered,
                &authority,
                row.line,
                text(new_code),
                text(la_name),
            );
            if !options.register {
                continue;
            }
        }
        let entry = cells
            .entry((authority, when))
            .or_insert_with(|| (row.line, Vec::new()));
        entry
            .1
            .extend(values.into_iter().map(|(ind, n)| (dim, ind, n)));
    }
    let registering = registering(table, &not_registered, options, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = parsed(
        table,
        layout,
        national,
        cells,
        Passed {
            above_authority,
            not_held,
        },
    );
    if !registering.is_empty() {
        let n = registering
            .iter()
            .filter(|(_, c)| matches!(c, Command::RegisterAuthority { .. }))
            .count();
        let (lines, commands): (Vec<u64>, Vec<Command>) = registering.into_iter().unzip();
        out.commands.splice(0..0, commands);
        out.lines.splice(0..0, lines);
        out.notes.push(format!(
            "registered {n} authorities from the file's codes and names (a unitary authority as \
             its own single district; a county's districts come from a geography import)"
        ));
    }
    Ok(out)
}

/// With `register`, the commands that register `not_registered`; without, a problem for each
/// of them at the line it first appears, naming it and what to run.
fn registering(
    table: &Table,
    not_registered: &BTreeMap<AuthorityCode, Unregistered>,
    options: crate::Options,
    problems: &mut Vec<Problem>,
) -> Vec<(u64, Command)> {
    if options.register {
        return registrations(table, not_registered, problems);
    }
    for (code, u) in not_registered {
        problems.push(table.problem(
            u.line,
            "old_la_code",
            format!(
                "authority {code} ({}, {}) is not registered in Placeledger, so nothing was \
                 imported: register it first with its districts (placeledger geography \
                 import, with ONS's district lookup), or import the file again with \
                 --register (an administrator) to register every authority it names from \
                 its codes and names",
                if u.name.is_empty() {
                    "no name"
                } else {
                    &u.name
                },
                if u.gss.is_empty() {
                    "no GSS code"
                } else {
                    &u.gss
                },
            ),
        ));
    }
    Vec::new()
}

/// The commands that register `not_registered` from the file's codes and names: the
/// authority, and a unitary (`E06`, `E08`, `E09`) as its own single district.
fn registrations(
    table: &Table,
    not_registered: &BTreeMap<AuthorityCode, Unregistered>,
    problems: &mut Vec<Problem>,
) -> Vec<(u64, Command)> {
    let mut out = Vec::new();
    for (code, u) in not_registered {
        let gss = match GssCode::parse(&u.gss) {
            Ok(g) => g,
            Err(e) => {
                problems.push(table.problem(
                    u.line,
                    "new_la_code",
                    format!("authority {code} cannot be registered from this file: {e}"),
                ));
                continue;
            }
        };
        if u.name.is_empty() {
            problems.push(table.problem(
                u.line,
                "la_name",
                format!("authority {code} cannot be registered from this file: it has no name"),
            ));
            continue;
        }
        out.push((
            u.line,
            Command::RegisterAuthority {
                authority: code.clone(),
                gss: gss.clone(),
                name: u.name.clone(),
            },
        ));
        if ["E06", "E08", "E09"]
            .iter()
            .any(|p| gss.as_str().starts_with(p))
        {
            out.push((
                u.line,
                Command::RegisterDistrict {
                    district: gss,
                    authority: code.clone(),
                    name: u.name.clone(),
                },
            ));
        }
    }
    out
}

/// An authority's figures for one period: the line they start on, and each cell.
type RowCells = (u64, Vec<(Dimension, Indicator, Option<i64>)>);

/// Rows passed over, and why: national and regional rows, breakdowns not held (by topic).
struct Passed {
    above_authority: usize,
    not_held: BTreeMap<String, usize>,
}

/// The commands the rows make, in one list with their lines, and notes of what was passed
/// over.
fn parsed(
    table: &Table,
    layout: Layout,
    national: BTreeMap<AcademicYear, (u64, i64)>,
    cells: BTreeMap<(AuthorityCode, Period), RowCells>,
    passed: Passed,
) -> Parsed {
    let Passed {
        above_authority,
        not_held,
    } = passed;
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    for (census, (line, plans)) in national {
        parsed
            .commands
            .push(Command::RecordNationalCaseload { census, plans });
        parsed.lines.push(line);
    }
    for ((authority, when), (line, cells)) in cells {
        parsed.commands.push(match when {
            Period::Census(census) => Command::RecordCaseload {
                authority,
                census,
                cells: caseload_cells(cells),
            },
            Period::Year(year) => Command::RecordActivity {
                authority,
                year,
                cells: cells
                    .into_iter()
                    .filter_map(|(dim, ind, count)| {
                        Some(ActivityInput {
                            measure: ind.measure?,
                            age: dim.age,
                            need: ind.need,
                            kind: dim.kind,
                            reason: ind.reason,
                            count,
                        })
                    })
                    .collect(),
            },
        });
        parsed.lines.push(line);
    }
    parsed
        .notes
        .push(format!("read as DfE's {} file", layout.name()));
    if above_authority > 0 {
        parsed.notes.push(format!(
            "passed over {above_authority} national and regional rows (Placeledger holds authorities' figures, and England's January total)"
        ));
    }
    if !not_held.is_empty() {
        let topics: Vec<String> = not_held.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        parsed.notes.push(format!(
            "passed over breakdowns Placeledger does not hold: {}",
            topics.join(", ")
        ));
    }
    parsed.notes.extend(england_missing(&parsed));
    parsed
}

/// A warning when the file gives authorities' Januaries without England's: which Januaries,
/// and what the forecast does without England's total.
fn england_missing(parsed: &Parsed) -> Option<String> {
    let england: std::collections::BTreeSet<AcademicYear> = parsed
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::RecordNationalCaseload { census, .. } => Some(*census),
            _ => None,
        })
        .collect();
    let missing: std::collections::BTreeSet<i32> = parsed
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::RecordCaseload { census, .. } if !england.contains(census) => {
                Some(census.start_year() + 1)
            }
            _ => None,
        })
        .collect();
    (!missing.is_empty()).then(|| {
        let years: Vec<String> = missing.iter().map(ToString::to_string).collect();
        format!(
            "warning: no England (National) row for January {}: unless England's total for \
             those Januaries is already on record, an authority known only from DfE's tables \
             is forecast from its own trend, damped, instead of England's growth (warning \
             england_growth_missing; on the national back-test that roughly doubles the \
             error three years ahead). Import England's row as an administrator.",
            years.join(", ")
        )
    })
}

/// A caseload cell's age band, need and type of placement.
type CellKey = (
    Option<(i64, i64)>,
    Option<PrimaryNeed>,
    Option<ProvisionKind>,
);

/// A census's cells, one per age, need and type of placement: two columns counting the same
/// type (special academies and special free schools in the time series) are added, a
/// suppressed value counting as unknown only when every part of the cell is.
fn caseload_cells(cells: Vec<(Dimension, Indicator, Option<i64>)>) -> Vec<CaseloadInput> {
    let mut out: Vec<CaseloadInput> = Vec::with_capacity(cells.len());
    let mut at: HashMap<CellKey, usize> = HashMap::new();
    for (dim, ind, plans) in cells {
        let key = (dim.age, ind.need, dim.kind.or(ind.kind));
        match at.get(&key) {
            Some(i) => {
                let cell = &mut out[*i];
                cell.plans = match (cell.plans, plans) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
            None => {
                at.insert(key, out.len());
                out.push(CaseloadInput {
                    age: key.0,
                    need: key.1,
                    kind: key.2,
                    plans,
                });
            }
        }
    }
    out
}

/// What a row's cells are broken down by (neither: all plans).
#[derive(Debug, Clone, Copy)]
struct Dimension {
    age: Option<(i64, i64)>,
    kind: Option<ProvisionKind>,
}

enum Breakdown {
    Cell(Dimension),
    /// A published subtotal (`Special - total`): the sum of cells already recorded.
    Total,
    /// A breakdown Placeledger does not hold, named for the notes.
    NotHeld(String),
}

fn dimension(
    layout: Layout,
    topic: &str,
    breakdown: &str,
) -> Result<Breakdown, (&'static str, String)> {
    let cell = |age, kind| Ok(Breakdown::Cell(Dimension { age, kind }));
    if topic.starts_with("All ") {
        return cell(None, None);
    }
    // In the caseload time series a plan's starting age is not the age it is held at in
    // January (the "Age at start of academic year" rows are).
    if layout == Layout::CaseloadSeries && topic.eq_ignore_ascii_case("Age when plan started") {
        return Ok(Breakdown::NotHeld(topic.to_owned()));
    }
    if AGE_TOPICS.iter().any(|t| t.eq_ignore_ascii_case(topic)) {
        return match age_band(breakdown) {
            Some(AgeLabel::Band(from, to)) => cell(Some((from, to)), None),
            Some(AgeLabel::Unknown) => Ok(Breakdown::NotHeld("age unknown".into())),
            None => Err((
                "breakdown",
                format!(
                    "{breakdown:?} is not an age (such as \"age 7\", \"Aged 7\", \"under 3\", \"age 2 and under\", \"age 20 and over\")"
                ),
            )),
        };
    }
    if topic == "Type of placement" {
        if breakdown.ends_with("- total") {
            return Ok(Breakdown::Total);
        }
        return PLACEMENTS
            .iter()
            .find(|(label, _)| label.eq_ignore_ascii_case(breakdown))
            .map_or_else(
                || {
                    Err((
                        "breakdown",
                        format!("{breakdown:?} is not one of SEN2's types of placement"),
                    ))
                },
                |&(_, kind)| cell(None, Some(kind)),
            );
    }
    if NOT_HELD.contains(&topic) {
        return Ok(Breakdown::NotHeld(topic.to_owned()));
    }
    Err((
        "breakdown_topic",
        format!("{topic:?} is not a breakdown of DfE's EHC plans files"),
    ))
}

enum AgeLabel {
    Band(i64, i64),
    Unknown,
}

/// DfE's age labels, which differ between files: `age 7`, `Aged 7`, `under 3`,
/// `age 2 and under`, `Aged 20 and over`, `Age unknown`, `Unknown`.
fn age_band(label: &str) -> Option<AgeLabel> {
    let l = label.trim().to_ascii_lowercase();
    if l == "unknown" || l == "age unknown" {
        return Some(AgeLabel::Unknown);
    }
    if l == "under 3" {
        return Some(AgeLabel::Band(0, 2));
    }
    let rest = l
        .strip_prefix("aged ")
        .or_else(|| l.strip_prefix("age "))?
        .trim();
    let (number, upward, downward) = if let Some(n) = rest.strip_suffix(" and under") {
        (n, false, true)
    } else if let Some(n) = rest.strip_suffix(" and over") {
        (n, true, false)
    } else {
        (rest, false, false)
    };
    let age: i64 = number
        .trim()
        .parse()
        .ok()
        .filter(|a| (0..=25).contains(a))?;
    let from = if downward { 0 } else { age };
    let to = if upward { 25 } else { age };
    Some(AgeLabel::Band(from, to))
}

/// The row's count for each indicator: a number, or `None` for DfE's markers.
fn counts(
    table: &Table,
    row: &Row,
    indicators: &[(usize, Indicator)],
) -> Result<Vec<(Indicator, Option<i64>)>, Vec<Problem>> {
    let mut out = Vec::with_capacity(indicators.len());
    let mut problems = Vec::new();
    for &(col, ind) in indicators {
        let name = ind.column;
        let text = row.fields.get(col).unwrap_or_default();
        match text {
            // Not available, confidential (suppressed), not applicable, or left blank.
            "" | "x" | "c" | "z" => out.push((ind, None)),
            _ => match text.parse::<i64>() {
                Ok(n) if n < 0 => problems.push(table.problem(
                    row.line,
                    name,
                    format!("{n}: a count is never negative"),
                )),
                Ok(n) => out.push((ind, Some(n))),
                Err(_) => problems.push(table.problem(
                    row.line,
                    name,
                    format!("{text:?} is not a count (a whole number, or x, c, z or blank)"),
                )),
            },
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The totals layout: plans in force per authority and January, one row each
/// (`time_period`, `geographic_level`, `old_la_code`, `new_la_code`, `la_name`,
/// `total_plans`, and any breakdown columns, which are passed over), such as the national
/// file every English authority is in. England's row becomes England's January total.
/// A retired authority's rows (an authority reorganised away, with successors in the DfE
/// code list) are passed over: its figures cannot be split between its successors.
fn parse_totals(
    table: &Table,
    state: &State,
    options: crate::Options,
) -> Result<Parsed, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut column = |name: &str| table.column(name).map_err(|p| problems.push(p)).ok();
    let (Some(period), Some(level), Some(la), Some(total)) = (
        column("time_period"),
        column("geographic_level"),
        column("old_la_code"),
        column("total_plans"),
    ) else {
        return Err(problems);
    };
    let (new_code, la_name) = (table.find("new_la_code"), table.find("la_name"));
    let retired: BTreeMap<AuthorityCode, Vec<AuthorityCode>> = crate::geography::la_codes()
        .into_iter()
        .filter(|c| !c.successors.is_empty())
        .map(|c| (c.code, c.successors))
        .collect();
    let mut national: BTreeMap<AcademicYear, (u64, i64)> = BTreeMap::new();
    let mut cells: BTreeMap<(AuthorityCode, AcademicYear), (u64, i64)> = BTreeMap::new();
    let mut not_registered: BTreeMap<AuthorityCode, Unregistered> = BTreeMap::new();
    let mut passed_retired: BTreeMap<AuthorityCode, usize> = BTreeMap::new();
    let mut above = 0;
    for row in &table.rows {
        let field = |i: usize| row.fields.get(i).unwrap_or_default().trim();
        let census = match AcademicYear::parse(field(period)) {
            Ok(c) => c,
            Err(e) => {
                problems.push(table.problem(row.line, "time_period", e.to_string()));
                continue;
            }
        };
        let plans = match field(total) {
            "" | "x" | "c" | "z" | "u" => None,
            t => match t.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    problems.push(table.problem(
                        row.line,
                        "total_plans",
                        format!("{t:?} is not a count of plans"),
                    ));
                    continue;
                }
            },
        };
        let level_text = field(level);
        if level_text.eq_ignore_ascii_case("National") {
            if let Some(plans) = plans
                && let Some((first, _)) = national.insert(census, (row.line, plans))
            {
                problems.push(table.problem(
                    row.line,
                    "time_period",
                    format!("duplicate row: England's total for the same January as line {first}"),
                ));
            }
            continue;
        }
        if !level_text.eq_ignore_ascii_case("Local authority") {
            above += 1;
            continue;
        }
        let authority = match AuthorityCode::parse(field(la)) {
            Ok(a) => a,
            Err(e) => {
                problems.push(table.problem(row.line, "old_la_code", e.to_string()));
                continue;
            }
        };
        if retired.contains_key(&authority) && !state.authorities.contains_key(&authority) {
            *passed_retired.entry(authority).or_default() += 1;
            continue;
        }
        if !state.authorities.contains_key(&authority) {
            let text = |c: Option<usize>| c.map(field).unwrap_or_default();
            Unregistered::note(
                &mut not_registered,
                &authority,
                row.line,
                text(new_code),
                text(la_name),
            );
            if !options.register {
                continue;
            }
        }
        let Some(plans) = plans else { continue };
        if let Some((first, _)) = cells.insert((authority.clone(), census), (row.line, plans)) {
            problems.push(table.problem(
                row.line,
                "time_period",
                format!("duplicate row: {authority}'s January is already on line {first}"),
            ));
        }
    }
    let registering = registering(table, &not_registered, options, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: vec!["read as a totals file: plans in force per authority and January".into()],
    };
    for (line, command) in registering {
        parsed.commands.push(command);
        parsed.lines.push(line);
    }
    for (census, (line, plans)) in national {
        parsed
            .commands
            .push(Command::RecordNationalCaseload { census, plans });
        parsed.lines.push(line);
    }
    for ((authority, census), (line, plans)) in cells {
        parsed.commands.push(Command::RecordCaseload {
            authority,
            census,
            cells: vec![CaseloadInput {
                age: None,
                need: None,
                kind: None,
                plans: Some(plans),
            }],
        });
        parsed.lines.push(line);
    }
    let held = [
        "time_period",
        "geographic_level",
        "old_la_code",
        "new_la_code",
        "la_name",
        "total_plans",
        "source",
    ];
    let others: Vec<&str> = table
        .headers()
        .iter()
        .map(String::as_str)
        .filter(|h| !held.contains(h))
        .collect();
    if !others.is_empty() {
        parsed.notes.push(format!(
            "passed over columns Placeledger does not hold from a totals file: {}",
            others.join(", ")
        ));
    }
    if above > 0 {
        parsed
            .notes
            .push(format!("passed over {above} regional rows"));
    }
    if !passed_retired.is_empty() {
        let list: Vec<String> = passed_retired
            .iter()
            .map(|(a, n)| {
                let to: Vec<&str> = retired[a].iter().map(AuthorityCode::as_str).collect();
                format!("{a} ({n} rows; now {})", to.join(" and "))
            })
            .collect();
        parsed.notes.push(format!(
            "passed over retired authorities, whose figures cannot be split between their \
             successors: {}",
            list.join(", ")
        ));
    }
    parsed.notes.extend(england_missing(&parsed));
    Ok(parsed)
}
