//! DfE "Education, health and care plans" open data, in its published layout: the standard
//! explore-education-statistics columns (`time_period, time_identifier, geographic_level, ...,
//! old_la_code, la_name`), then `breakdown_topic, breakdown` and the indicators.
//!
//! Built so far: the caseload file (`sen_needs_all_plans.csv`, plans in force in January by
//! primary need, broken down by single year of age and by type of placement). Every local
//! authority row becomes a cell of that authority's `RecordCaseload` for the census; national
//! and regional rows, authorities not registered, and breakdowns Placeledger does not hold
//! (ethnicity, sex, years in place) are passed over and counted in the notes. Suppressed or
//! unavailable values (`x`, `c`, `z`, blank) are recorded as unknown, never as zero.
//!
//! The other files of the release (new plans, requests, assessments, 20-week timeliness,
//! ceased plans, annual reviews) are recognised by their columns and refused by name until
//! their importers are built.

use std::collections::{BTreeMap, HashMap};

use placeledger_domain::{
    AcademicYear, AuthorityCode, CaseloadInput, Command, PrimaryNeed, ProvisionKind, State,
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

/// SEN2's "Type of placement" breakdown labels, as published.
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

/// Breakdowns of the caseload file that Placeledger does not hold.
const NOT_HELD: &[&str] = &["Ethnicity", "Sex", "Years EHC plan in place"];

/// The other files of the release, by a column only each has.
const OTHER_LAYOUTS: &[(&str, &str)] = &[
    ("requests_received_in_year", "requests for assessment"),
    ("assess_in_year", "assessments"),
    ("plans_issued_within_20_weeks", "20-week timeliness"),
    ("total_ceased", "ceased plans"),
    ("review_expected", "annual reviews"),
];

/// Reads a DfE EHC plans file. `state` says which authorities are registered.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    let table = Table::read(file, bytes)?;
    let refuse = |message: String| {
        vec![Problem {
            file: file.to_owned(),
            line: 1,
            column: None,
            message,
        }]
    };
    if let Some((_, what)) = OTHER_LAYOUTS
        .iter()
        .find(|(col, _)| table.find(col).is_some())
    {
        return Err(refuse(format!(
            "this is DfE's {what} file; Placeledger imports the caseload file (sen_needs_all_plans) so far"
        )));
    }
    let mut problems = Vec::new();
    let mut column = |name: &str| table.column(name).map_err(|p| problems.push(p)).ok();
    let period = column("time_period");
    let level = column("geographic_level");
    let la = column("old_la_code");
    let topic = column("breakdown_topic");
    let breakdown = column("breakdown");
    let needs: Vec<(usize, &str, Option<PrimaryNeed>)> = NEED_COLUMNS
        .iter()
        .filter_map(|&(name, need)| column(name).map(|i| (i, name, need)))
        .collect();
    let (Some(period), Some(level), Some(la), Some(topic), Some(breakdown)) =
        (period, level, la, topic, breakdown)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    if table
        .rows
        .iter()
        .any(|r| r.fields.get(topic) == Some("Age when plan started"))
    {
        return Err(refuse(
            "this is DfE's new-plans file; Placeledger imports the caseload file (sen_needs_all_plans) so far"
                .into(),
        ));
    }

    let mut cells: BTreeMap<(AuthorityCode, AcademicYear), (u64, Vec<CaseloadInput>)> =
        BTreeMap::new();
    let mut seen: HashMap<(String, String, String, String), u64> = HashMap::new();
    let mut not_registered: BTreeMap<String, usize> = BTreeMap::new();
    let mut not_held: BTreeMap<String, usize> = BTreeMap::new();
    let mut above_authority = 0;
    for row in &table.rows {
        let field = |i: usize| row.fields.get(i).unwrap_or_default();
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
        let census = match AcademicYear::parse(field(period)) {
            Ok(y) => y,
            Err(e) => {
                problems.push(table.problem(row.line, "time_period", e.to_string()));
                continue;
            }
        };
        let (age, kind) = match dimension(field(topic), field(breakdown)) {
            Ok(Dimension::Cell(age, kind)) => (age, kind),
            Ok(Dimension::Total) => continue,
            Ok(Dimension::NotHeld) => {
                *not_held.entry(field(topic).to_owned()).or_default() += 1;
                continue;
            }
            Err((col, message)) => {
                problems.push(table.problem(row.line, col, message));
                continue;
            }
        };
        let values = match counts(&table, row, &needs) {
            Ok(v) => v,
            Err(mut p) => {
                problems.append(&mut p);
                continue;
            }
        };
        if !state.authorities.contains_key(&authority) {
            *not_registered.entry(authority.to_string()).or_default() += 1;
            continue;
        }
        let entry = cells
            .entry((authority, census))
            .or_insert_with(|| (row.line, Vec::new()));
        for (need, plans) in values {
            entry.1.push(CaseloadInput {
                age,
                need,
                kind,
                plans,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    for ((authority, census), (line, cells)) in cells {
        parsed.commands.push(Command::RecordCaseload {
            authority,
            census,
            cells,
        });
        parsed.lines.push(line);
    }
    if above_authority > 0 {
        parsed.notes.push(format!(
            "passed over {above_authority} national and regional rows (Placeledger holds authorities' figures)"
        ));
    }
    if !not_held.is_empty() {
        let topics: Vec<String> = not_held.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        parsed.notes.push(format!(
            "passed over breakdowns Placeledger does not hold: {}",
            topics.join(", ")
        ));
    }
    if !not_registered.is_empty() {
        let las: Vec<&str> = not_registered.keys().map(String::as_str).collect();
        parsed.notes.push(format!(
            "passed over rows for authorities not registered in Placeledger: {}",
            las.join(", ")
        ));
    }
    Ok(parsed)
}

enum Dimension {
    /// A cell: by age band or by kind of placement (or neither: all plans).
    Cell(Option<(i64, i64)>, Option<ProvisionKind>),
    /// A published subtotal (`Special - total`): the sum of cells already recorded.
    Total,
    NotHeld,
}

fn dimension(topic: &str, breakdown: &str) -> Result<Dimension, (&'static str, String)> {
    match topic {
        "All EHC plans" => Ok(Dimension::Cell(None, None)),
        "Child or young persons age" => {
            if breakdown.eq_ignore_ascii_case("under 3") {
                return Ok(Dimension::Cell(Some((0, 2)), None));
            }
            let age: i64 = breakdown
                .strip_prefix("age ")
                .and_then(|a| a.trim().parse().ok())
                .filter(|a| (0..=25).contains(a))
                .ok_or_else(|| {
                    (
                        "breakdown",
                        format!(
                            "{breakdown:?} is not an age (\"under 3\", or \"age 3\" to \"age 25\")"
                        ),
                    )
                })?;
            Ok(Dimension::Cell(Some((age, age)), None))
        }
        "Type of placement" => {
            if breakdown.ends_with("- total") {
                return Ok(Dimension::Total);
            }
            PLACEMENTS
                .iter()
                .find(|(label, _)| label.eq_ignore_ascii_case(breakdown))
                .map(|&(_, kind)| Dimension::Cell(None, Some(kind)))
                .ok_or_else(|| {
                    (
                        "breakdown",
                        format!("{breakdown:?} is not one of SEN2's types of placement"),
                    )
                })
        }
        t if NOT_HELD.contains(&t) => Ok(Dimension::NotHeld),
        other => Err((
            "breakdown_topic",
            format!("{other:?} is not a breakdown of the caseload file"),
        )),
    }
}

/// A row's counts: per need column (`None`: all needs), the count (`None`: a DfE marker).
type Counts = Vec<(Option<PrimaryNeed>, Option<i64>)>;

/// The row's count for each need column: a number, or `None` for DfE's markers.
fn counts(
    table: &Table,
    row: &Row,
    needs: &[(usize, &str, Option<PrimaryNeed>)],
) -> Result<Counts, Vec<Problem>> {
    let mut out = Vec::with_capacity(needs.len());
    let mut problems = Vec::new();
    for &(col, name, need) in needs {
        let text = row.fields.get(col).unwrap_or_default();
        match text {
            // Not available, confidential (suppressed), not applicable, or left blank.
            "" | "x" | "c" | "z" => out.push((need, None)),
            _ => match text.parse::<i64>() {
                Ok(n) if n < 0 => problems.push(table.problem(
                    row.line,
                    name,
                    format!("{n}: a count of plans is never negative"),
                )),
                Ok(n) => out.push((need, Some(n))),
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
