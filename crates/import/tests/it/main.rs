//! Importers on real and malformed files: every problem reported, where it is.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use placeledger_domain::*;
use placeledger_import::{Parsed, dfe_ehcp, ons_snpp};

mod hostile;

/// The 14 pan-Lancashire areas as registered in Placeledger.
fn pan_lancashire() -> State {
    let mut events = Vec::new();
    for (la, gss, name) in [
        ("888", "E10000017", "Lancashire"),
        ("889", "E06000008", "Blackburn with Darwen"),
        ("890", "E06000009", "Blackpool"),
    ] {
        events.push(Event::AuthorityRegistered {
            authority: AuthorityCode::parse(la).unwrap(),
            gss: GssCode::parse(gss).unwrap(),
            name: name.into(),
        });
    }
    let districts = (117..=128).map(|n| ("888", format!("E07000{n}"))).chain([
        ("889", "E06000008".to_owned()),
        ("890", "E06000009".to_owned()),
    ]);
    for (la, gss) in districts {
        events.push(Event::DistrictRegistered {
            district: GssCode::parse(&gss).unwrap(),
            authority: AuthorityCode::parse(la).unwrap(),
            name: gss.clone(),
        });
    }
    State::from_events(&events)
}

fn sample() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../seeds/reference/ons-snpp-2022-persons-pan-lancs-ages-0-25.csv");
    std::fs::read(path).unwrap()
}

fn problems(bytes: &[u8]) -> Vec<String> {
    ons_snpp::parse("snpp.csv", bytes, &pan_lancashire())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const HEADER: &str = "AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,2022,2023\n";

#[test]
fn the_published_sample_reads_whole() {
    let parsed = ons_snpp::parse("snpp.csv", &sample(), &pan_lancashire()).unwrap();
    assert_eq!(parsed.rows, 14 * 26, "every area, ages 0-25");
    assert_eq!(
        parsed.commands.len(),
        14 * 26 * 26,
        "one fact per row and year 2022-2047"
    );
    assert!(parsed.notes.is_empty());
    let Command::RecordPopulation {
        area,
        year,
        age,
        persons,
        basis,
        release,
    } = &parsed.commands[0]
    else {
        panic!("{:?}", parsed.commands[0])
    };
    assert_eq!(
        (area.as_str(), *year, *age),
        ("E06000008", 2022, AgeGroup::Single(0))
    );
    assert_eq!(persons.to_string(), "1905.000");
    assert_eq!(
        (*basis, release.as_str()),
        (PopulationBasis::Projection, "ONS 2022-based SNPP")
    );
    assert_eq!(parsed.lines[0], 2, "the first data row is line 2");
    // The sample's header ends in LF and its rows in CRLF: line numbers stay true throughout.
    assert_eq!(parsed.lines[26], 3);
    assert_eq!(*parsed.lines.last().unwrap(), 365);
}

#[test]
fn ninety_and_over_and_all_ages_are_age_groups() {
    let file = format!(
        "{HEADER}E07000117,Burnley,Population,persons,90 and over,512.5,530.1\nE07000117,Burnley,Population,persons,All ages,94000,94100\n"
    );
    let parsed = ons_snpp::parse("snpp.csv", file.as_bytes(), &pan_lancashire()).unwrap();
    let ages: Vec<AgeGroup> = parsed
        .commands
        .iter()
        .map(|c| match c {
            Command::RecordPopulation { age, .. } => *age,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ages,
        vec![
            AgeGroup::NinetyAndOver,
            AgeGroup::NinetyAndOver,
            AgeGroup::AllAges,
            AgeGroup::AllAges
        ]
    );
}

#[test]
fn bom_crlf_quotes_and_column_order_are_handled() {
    let file = "\u{feff}\"AGE_GROUP\",\"2023\",\"AREA_NAME\",\"AREA_CODE\",\"2022\"\r\n4,\"1,101.5\",\"Blackburn, with Darwen\",E06000008,1100\r\n";
    // A quoted name with a comma is one field; "1,101.5" is not a number, and says so.
    let problems = problems(file.as_bytes());
    assert_eq!(
        problems,
        vec!["snpp.csv:2: 2023: \"1,101.5\" is not a number of persons"]
    );
    let file = "\u{feff}\"AGE_GROUP\",\"2023\",\"AREA_NAME\",\"AREA_CODE\",\"2022\"\r\n4,1101.5,\"Blackburn, with Darwen\",E06000008,1100\r\n";
    let parsed = ons_snpp::parse("snpp.csv", file.as_bytes(), &pan_lancashire()).unwrap();
    assert_eq!(parsed.commands.len(), 2);
}

#[test]
fn a_missing_required_column_is_named() {
    let file =
        "AREA_CODE,AREA_NAME,COMPONENT,SEX,2022\nE07000117,Burnley,Population,persons,1000\n";
    assert_eq!(
        problems(file.as_bytes()),
        vec!["snpp.csv:1: AGE_GROUP: required column is missing from the header row"]
    );
    let file = "AREA_CODE,AGE_GROUP,total\nE07000117,4,1000\n";
    assert_eq!(
        problems(file.as_bytes()),
        vec!["snpp.csv:1: no projection year columns (such as 2022) in the header row"]
    );
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_column() {
    let file = format!(
        "{HEADER}\
         E07000117,Burnley,Population,persons,4,1000,1001\n\
         X0700011,Nowhere,Population,persons,4,1000,1001\n\
         E07000117,Burnley,Population,persons,four,1000,1001\n\
         E07000117,Burnley,Population,persons,5,-3,1001\n\
         E07000117,Burnley,Population,persons,4,999,998\n\
         E07000117,Burnley,Population,males,6,1000,1001\n\
         E07000117,Burnley,Births,persons,7,1000,1001\n\
         E07000117,Burnley,Population,persons,8,,1001\n"
    );
    assert_eq!(
        problems(file.as_bytes()),
        vec![
            "snpp.csv:3: AREA_CODE: GSS code \"X0700011\" is not valid: must be a nation letter (E, W, S or N) and eight digits, such as E07000117",
            "snpp.csv:4: AGE_GROUP: \"four\" is not an age (0 to 89, \"90 and over\" or \"All ages\")",
            "snpp.csv:5: 2022: -3: a population is never negative",
            "snpp.csv:6: AGE_GROUP: duplicate row: E07000117 4 is also on line 2",
            "snpp.csv:7: SEX: \"males\": this importer reads the persons file (males and females together)",
            "snpp.csv:8: COMPONENT: \"Births\": this importer reads population rows only",
            "snpp.csv:9: 2022: \"\" is not a number of persons",
        ]
    );
}

#[test]
fn a_broken_quote_or_a_stray_comma_is_a_problem_at_its_line() {
    let file = format!(
        "{HEADER}E07000117,Burnley,Population,persons,4,1000,1001\nE07000117,\"Burnley,Population,persons,5,1000,1001\nE07000117,Burnley,Population,persons,6,1000,1001\n"
    );
    let p = problems(file.as_bytes());
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("snpp.csv:3: the row has"), "{p:?}");
    let file = format!("{HEADER}E07000117,Burnley,Population,persons,4,1000,1001,extra\n");
    assert_eq!(
        problems(file.as_bytes()),
        vec![
            "snpp.csv:2: the row has 8 fields but the header has 7 (a stray comma or an unclosed quote?)"
        ]
    );
}

#[test]
fn empty_and_non_utf8_files_are_problems() {
    assert_eq!(
        problems(b""),
        vec!["snpp.csv:1: the file is empty: expected a header row"]
    );
    assert_eq!(
        problems(b"\xEF\xBB\xBF\r\n"),
        vec!["snpp.csv:1: the file is empty: expected a header row"]
    );
    let mut bad = HEADER.as_bytes().to_vec();
    bad.extend_from_slice(b"E07000117,Burn\xFFley,Population,persons,4,1000,1001\n");
    assert_eq!(
        problems(&bad),
        vec!["snpp.csv:2: the row is not valid UTF-8"]
    );
}

#[test]
fn areas_not_registered_are_passed_over_and_counted() {
    let file = format!(
        "{HEADER}E07000117,Burnley,Population,persons,4,1000,1001\nE06000001,Hartlepool,Population,persons,4,900,901\nE06000001,Hartlepool,Population,persons,5,900,901\n"
    );
    let parsed = ons_snpp::parse("snpp.csv", file.as_bytes(), &pan_lancashire()).unwrap();
    assert_eq!(parsed.commands.len(), 2);
    assert_eq!(
        parsed.notes,
        vec!["passed over 2 rows for 1 areas not registered in Placeledger: E06000001"]
    );
}

mod dfe {
    use super::*;

    fn caseload() -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../seeds/reference/dfe/sen_needs_all_plans.csv");
        std::fs::read(path).unwrap()
    }

    /// The file's own "All EHC plans" figure for `la`, read with a plain CSV reader.
    fn published_total(la: &str) -> u32 {
        let bytes = caseload();
        let mut reader = csv::Reader::from_reader(&bytes[3..]); // after the byte-order mark
        let headers = reader.headers().unwrap().clone();
        let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
        reader
            .records()
            .map(Result::unwrap)
            .find(|r| &r[col("old_la_code")] == la && &r[col("breakdown_topic")] == "All EHC plans")
            .map(|r| r[col("ehc_plans")].parse().unwrap())
            .unwrap()
    }

    fn cells(parsed: &Parsed, la: &str) -> Vec<CaseloadInput> {
        parsed
            .commands
            .iter()
            .find_map(|c| match c {
                Command::RecordCaseload {
                    authority, cells, ..
                } if authority.as_str() == la => Some(cells.clone()),
                _ => None,
            })
            .unwrap()
    }

    fn problems(bytes: &[u8]) -> Vec<String> {
        dfe_ehcp::parse("caseload.csv", bytes, &pan_lancashire())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const HEADER: &str = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,new_la_code,old_la_code,la_name,breakdown_topic,breakdown,ehc_plans,number_asd,number_hi,number_mld,number_msi,number_oth,number_pd,number_pmld,number_semh,number_slcn,number_sld,number_spld,number_vi,number_need_unknown\n";
    const LA: &str = "202425,Academic year,Local authority,E92000001,England,E12000002,North West,E10000017,888,Lancashire";

    #[test]
    fn the_caseload_file_gives_each_authority_its_published_totals() {
        let parsed = dfe_ehcp::parse("caseload.csv", &caseload(), &pan_lancashire()).unwrap();
        assert_eq!(
            parsed.commands.len(),
            4,
            "England's total, then one caseload per authority"
        );
        // England's January total is recorded too: the trend forecasts follow. The subtotals
        // of its rows (`Special - total`) are not it.
        let Command::RecordNationalCaseload { census, plans } = &parsed.commands[0] else {
            panic!("{:?}", parsed.commands[0])
        };
        assert_eq!((census.to_string().as_str(), *plans), ("2024/25", 638_745));
        let parsed = Parsed {
            commands: parsed.commands[1..].to_vec(),
            ..parsed
        };
        for la in ["888", "889", "890"] {
            let total = cells(&parsed, la)
                .into_iter()
                .find(|c| c.age.is_none() && c.kind.is_none() && c.need.is_none())
                .unwrap();
            assert_eq!(
                total.plans,
                Some(i64::from(published_total(la))),
                "authority {la}"
            );
        }
        assert_eq!(published_total("888"), 12_317);
        let Command::RecordCaseload { census, .. } = &parsed.commands[0] else {
            unreachable!()
        };
        assert_eq!(census.to_string(), "2024/25", "the January 2025 census");
        // Ages come as single years plus the band "under 3"; placements by SEN2 type.
        let lancs = cells(&parsed, "888");
        assert!(lancs.iter().any(|c| c.age == Some((0, 2))));
        assert!(lancs.iter().any(|c| c.age == Some((25, 25))));
        let inmss = lancs
            .iter()
            .find(|c| c.kind == Some(ProvisionKind::SpecialIndependent) && c.need.is_none())
            .unwrap();
        assert_eq!(
            inmss.plans,
            Some(725),
            "Lancashire's 725 plans in independent special schools"
        );
        assert!(
            parsed
                .notes
                .iter()
                .any(|n| n.contains("national and regional rows")),
            "{:?}",
            parsed.notes
        );
        assert!(
            parsed.notes.iter().any(|n| n.contains("Ethnicity")),
            "{:?}",
            parsed.notes
        );
    }

    /// DfE's caseload time series (2026 release on): every census of every authority, its
    /// cells by placement and by age at the start of the academic year, as published.
    #[test]
    fn the_2026_time_series_gives_every_census_by_placement_and_age() {
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../seeds/reference/dfe-2026/caseload.csv"),
        )
        .unwrap();
        let parsed = dfe_ehcp::parse("caseload.csv", &bytes, &pan_lancashire()).unwrap();
        assert!(
            parsed.notes[0].contains("time series"),
            "{:?}",
            parsed.notes
        );
        let census = |la: &str, january: i32| -> Vec<CaseloadInput> {
            parsed
                .commands
                .iter()
                .find_map(|c| match c {
                    Command::RecordCaseload {
                        authority,
                        census,
                        cells,
                    } if authority.as_str() == la && census.start_year() + 1 == january => {
                        Some(cells.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no census {january} for {la}"))
        };
        let national: Vec<(i32, i64)> = parsed
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::RecordNationalCaseload { census, plans } => {
                    Some((census.start_year() + 1, *plans))
                }
                _ => None,
            })
            .collect();
        assert_eq!(national.len(), 8, "England, January 2019-2026");
        assert_eq!(national.last(), Some(&(2026, 718_838)));
        // 8 Januaries for each of the three authorities.
        let caseloads = parsed
            .commands
            .iter()
            .filter(|c| matches!(c, Command::RecordCaseload { .. }))
            .count();
        assert_eq!(caseloads, 24);
        let plans = |cells: &[CaseloadInput], age: Option<(i64, i64)>, kind| {
            cells
                .iter()
                .find(|c| c.age == age && c.kind == kind && c.need.is_none())
                .and_then(|c| c.plans)
        };
        let lancs = census("888", 2026);
        assert_eq!(plans(&lancs, None, None), Some(14_728));
        // INMSS: 916 independent and 28 non-maintained special (the real 944).
        assert_eq!(
            plans(&lancs, None, Some(ProvisionKind::SpecialIndependent)),
            Some(916)
        );
        assert_eq!(
            plans(&lancs, None, Some(ProvisionKind::SpecialNonMaintained)),
            Some(28)
        );
        // Special academies (506) and special free schools (29): one type, added.
        assert_eq!(
            plans(&lancs, None, Some(ProvisionKind::SpecialAcademyFree)),
            Some(535)
        );
        // The placement cells add up to the total; so do the ages.
        let by_kind: i64 = lancs
            .iter()
            .filter(|c| c.age.is_none() && c.kind.is_some())
            .filter_map(|c| c.plans)
            .sum();
        assert_eq!(by_kind, 14_728);
        let by_age: i64 = lancs
            .iter()
            .filter(|c| c.age.is_some() && c.kind.is_none())
            .filter_map(|c| c.plans)
            .sum();
        assert_eq!(by_age, 14_728);
        assert_eq!(plans(&lancs, Some((10, 10)), None), Some(962));
        assert_eq!(
            plans(
                &lancs,
                Some((10, 10)),
                Some(ProvisionKind::MainstreamMaintained)
            ),
            Some(476)
        );
        // Before 2024 the series has the "All EHC plans" row only; markers stay unknown.
        let early = census("889", 2019);
        assert_eq!(plans(&early, None, None), Some(821));
        assert!(early.iter().all(|c| c.age.is_none()));
        assert_eq!(
            plans(&early, None, Some(ProvisionKind::OnlineProvider)),
            None,
            "x: not collected in 2019"
        );
        // The age a plan started at is not an age in January: passed over, and said so.
        assert!(
            parsed
                .notes
                .iter()
                .any(|n| n.contains("Age when plan started")),
            "{:?}",
            parsed.notes
        );
    }

    #[test]
    fn suppression_markers_are_unknown_never_zero() {
        let file =
            format!("{HEADER}{LA},All EHC plans,All EHC plans,100,x,c,z,,0,1,2,3,4,5,6,7,8\n");
        let parsed = dfe_ehcp::parse("caseload.csv", file.as_bytes(), &pan_lancashire()).unwrap();
        let plans: Vec<Option<i64>> = cells(&parsed, "888").iter().map(|c| c.plans).collect();
        assert_eq!(plans[..6], [Some(100), None, None, None, None, Some(0)]);
    }

    #[test]
    fn every_bad_row_is_reported() {
        let file = format!(
            "{HEADER}\
             {LA},All EHC plans,All EHC plans,100,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             {LA},All EHC plans,All EHC plans,100,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             202425,Academic year,Local authority,E92000001,England,E12000002,North West,E10000017,88,Lancashire,All EHC plans,All EHC plans,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             {LA},Type of placement,Mainstream - somewhere else,5,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             {LA},Child or young persons age,age 30,5,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             {LA},Type of placement,Special - independent,-4,1,1,1,1,1,1,1,1,1,1,1,1,1\n\
             {LA},Type of placement,Special - LA maintained,12,1,one,1,1,1,1,1,1,1,1,1,1,1\n"
        );
        assert_eq!(
            problems(file.as_bytes()),
            vec![
                "caseload.csv:3: breakdown: duplicate row: the same authority, period and breakdown as line 2",
                "caseload.csv:4: old_la_code: authority code \"88\" is not valid: must be the three-digit DfE LA code, such as 888",
                "caseload.csv:5: breakdown: \"Mainstream - somewhere else\" is not one of SEN2's types of placement",
                "caseload.csv:6: breakdown: \"age 30\" is not an age (such as \"age 7\", \"Aged 7\", \"under 3\", \"age 2 and under\", \"age 20 and over\")",
                "caseload.csv:7: ehc_plans: -4: a count is never negative",
                "caseload.csv:8: number_hi: \"one\" is not a count (a whole number, or x, c, z or blank)",
            ]
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let file = HEADER.replace(",number_semh", "");
        let p = problems(file.as_bytes());
        assert_eq!(
            p,
            vec!["caseload.csv:1: number_semh: required column is missing from the header row"]
        );
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../seeds/reference/dfe")
                .join(name),
        )
        .unwrap()
    }

    /// A figure as the file publishes it, read with a plain CSV reader: the row of `la`,
    /// `period` and `breakdown`, column `column`.
    fn published(file: &str, la: &str, period: &str, breakdown: &str, column: &str) -> i64 {
        let bytes = fixture(file);
        let mut reader = csv::Reader::from_reader(&bytes[3..]); // after the byte-order mark
        let headers = reader.headers().unwrap().clone();
        let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
        reader
            .records()
            .map(Result::unwrap)
            .find(|r| {
                &r[col("old_la_code")] == la
                    && &r[col("time_period")] == period
                    && &r[col("breakdown")] == breakdown
            })
            .map(|r| r[col(column)].parse().unwrap())
            .unwrap()
    }

    fn activity(parsed: &Parsed, la: &str, y: i32) -> Vec<ActivityInput> {
        parsed
            .commands
            .iter()
            .find_map(|c| match c {
                Command::RecordActivity {
                    authority,
                    year,
                    cells,
                } if authority.as_str() == la && *year == y => Some(cells.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no activity for {la} in {y}"))
    }

    /// The count of `measure` for all ages, needs, kinds and reasons (or the given `reason`).
    fn count(
        cells: &[ActivityInput],
        measure: ActivityMeasure,
        reason: Option<CeaseReason>,
    ) -> i64 {
        cells
            .iter()
            .find(|c| {
                c.measure == measure
                    && c.age.is_none()
                    && c.need.is_none()
                    && c.kind.is_none()
                    && c.reason == reason
            })
            .and_then(|c| c.count)
            .unwrap()
    }

    #[test]
    fn every_file_of_the_release_is_read_for_every_authority_in_it() {
        for (file, what, periods) in [
            ("sen_needs_all_plans.csv", "caseload", 1),
            ("sen_need_newplans.csv", "new plans", 1),
            ("requests.csv", "requests for assessment", 6),
            ("assessments.csv", "assessments", 6),
            ("timeliness_20_week.csv", "20-week timeliness", 6),
            ("ceased_plans.csv", "ceased plans", 3),
            ("annual_reviews.csv", "annual reviews", 1),
        ] {
            let parsed = dfe_ehcp::parse(file, &fixture(file), &pan_lancashire())
                .unwrap_or_else(|p| panic!("{file}: {p:?}"));
            // The caseload file also gives England's January total.
            let england = usize::from(what == "caseload");
            assert_eq!(
                parsed.commands.len(),
                3 * periods + england,
                "{file}: one command per authority and period"
            );
            assert!(
                parsed.notes[0].contains(what),
                "{file} read as {:?}",
                parsed.notes[0]
            );
        }
    }

    #[test]
    fn activity_files_give_the_published_counts() {
        let state = pan_lancashire();
        let parse = |f: &str| dfe_ehcp::parse(f, &fixture(f), &state).unwrap();

        let new_plans = parse("sen_need_newplans.csv");
        let lancs = activity(&new_plans, "888", 2024);
        assert_eq!(count(&lancs, ActivityMeasure::NewPlans, None), 1_821);
        let asd = lancs
            .iter()
            .find(|c| c.need == Some(PrimaryNeed::Asd) && c.age.is_none() && c.kind.is_none())
            .unwrap();
        assert_eq!(asd.count, Some(581), "new plans for autism in 2024");
        assert!(
            lancs.iter().any(|c| c.age == Some((20, 25))),
            "\"age 20 and over\" is the band 20-25"
        );

        let ceased = parse("ceased_plans.csv");
        for la in ["888", "889", "890"] {
            for year in 2022..=2024 {
                let cells = activity(&ceased, la, year);
                let total = count(&cells, ActivityMeasure::PlansCeased, None);
                assert_eq!(
                    total,
                    published(
                        "ceased_plans.csv",
                        la,
                        &year.to_string(),
                        "All ceased EHC plans",
                        "total_ceased"
                    )
                );
                let by_reason: i64 = CeaseReason::ALL
                    .iter()
                    .filter_map(|r| {
                        cells
                            .iter()
                            .find(|c| c.reason == Some(*r) && c.age.is_none() && c.kind.is_none())
                            .and_then(|c| c.count)
                    })
                    .sum();
                assert_eq!(by_reason, total, "{la} {year}: reasons add up to the total");
            }
        }
        assert_eq!(
            count(
                &activity(&ceased, "888", 2024),
                ActivityMeasure::PlansCeased,
                None
            ),
            1_002
        );

        let timeliness = parse("timeliness_20_week.csv");
        let lancs = activity(&timeliness, "888", 2024);
        assert_eq!(count(&lancs, ActivityMeasure::PlansIssued, None), 1_720);
        assert_eq!(
            count(&lancs, ActivityMeasure::PlansIssuedWithin20Weeks, None),
            298
        );

        let requests = parse("requests.csv");
        for la in ["888", "889", "890"] {
            assert_eq!(
                count(
                    &activity(&requests, la, 2023),
                    ActivityMeasure::RequestsReceived,
                    None
                ),
                published(
                    "requests.csv",
                    la,
                    "2023",
                    "All requests for EHC needs assessments",
                    "requests_received_in_year"
                )
            );
        }
        let reviews = parse("annual_reviews.csv");
        assert_eq!(
            count(
                &activity(&reviews, "888", 2024),
                ActivityMeasure::ReviewsDue,
                None
            ),
            published(
                "annual_reviews.csv",
                "888",
                "2024",
                "All annual reviews",
                "review_expected"
            )
        );
    }

    const CEASED: &str = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,new_la_code,old_la_code,la_name,breakdown_topic,breakdown,max_age,needs_met,he,employ,transfer,no_engage,moved_outside_eng,deceased,not_rec,other,total_ceased\n";
    const LA_2024: &str = "2024,Calendar year,Local authority,E92000001,England,E12000002,North West,E06000009,890,Blackpool";

    #[test]
    fn malformed_activity_files_report_every_problem() {
        let file = format!(
            "\u{feff}{CEASED}\
             {LA_2024},All ceased EHC plans,All ceased EHC plans,4,6,1,17,82,55,5,0,0,0,170\n\
             {LA_2024},All ceased EHC plans,All ceased EHC plans,4,6,1,17,82,55,5,0,0,0,170\n\
             2024-13,Calendar year,Local authority,E92000001,England,E12000002,North West,E06000009,890,Blackpool,Age plan ceased,age 16,0,0,0,0,0,0,0,0,0,0,1\n\
             {LA_2024},Type of placement,Special - somewhere,0,0,0,0,0,0,0,0,0,0,1\n\
             {LA_2024},Age plan ceased,age 17,0,-2,0,0,0,0,0,0,0,0,1\n\
             {LA_2024},Colour of plan,Blue,0,0,0,0,0,0,0,0,0,0,1\n\
             {LA_2024},Age plan ceased,\"age 18,0,0,0,0,0,0,0,0,0,0,1\n"
        );
        let p: Vec<String> = dfe_ehcp::parse("ceased.csv", file.as_bytes(), &pan_lancashire())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        // A broken quote swallows the rest of the file: the reader reports it at the line
        // where it opened, before anything else is checked.
        assert_eq!(
            p,
            vec![
                "ceased.csv:8: the row has 12 fields but the header has 23 (a stray comma or an unclosed quote?)"
            ]
        );

        let without_quote: String = file
            .lines()
            .filter(|l| !l.contains("\"age 18"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let p: Vec<String> =
            dfe_ehcp::parse("ceased.csv", without_quote.as_bytes(), &pan_lancashire())
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(
            p,
            vec![
                "ceased.csv:3: breakdown: duplicate row: the same authority, period and breakdown as line 2",
                "ceased.csv:4: time_period: \"2024-13\" is not a calendar year (such as 2024, or 202425 for 2024)",
                "ceased.csv:5: breakdown: \"Special - somewhere\" is not one of SEN2's types of placement",
                "ceased.csv:6: needs_met: -2: a count is never negative",
                "ceased.csv:7: breakdown_topic: \"Colour of plan\" is not a breakdown of DfE's EHC plans files",
            ]
        );

        let missing = CEASED.replace(",not_rec", "");
        let p: Vec<String> = dfe_ehcp::parse("ceased.csv", missing.as_bytes(), &pan_lancashire())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            p,
            vec!["ceased.csv:1: not_rec: required column is missing from the header row"]
        );
    }

    #[test]
    fn a_file_that_is_no_dfe_layout_is_refused_whole() {
        let p: Vec<String> = dfe_ehcp::parse("x.csv", b"a,b\n1,2\n", &pan_lancashire())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("x.csv:1: not a DfE EHC plans file"),
            "{p:?}"
        );
    }
}

mod own_layouts {
    use super::*;
    use chrono::NaiveDate;
    use placeledger_import::{children, settings};

    fn problems_of(r: Result<Parsed, Vec<placeledger_import::Problem>>) -> Vec<String> {
        r.unwrap_err().iter().map(ToString::to_string).collect()
    }

    const SETTINGS: &str = "urn,name,la_code,district,kind,facility,phase,low_age,high_age,designated_needs,opened_on,closed_on,capacity_from,net_capacity,commissioned_year,commissioned_places\n";

    #[test]
    fn a_settings_file_opens_settings_and_records_capacity_and_places() {
        // A byte-order mark, CRLF, a quoted name with a comma, columns in another order.
        let file = "\u{feff}name,urn,la_code,district,kind,facility,phase,low_age,high_age,designated_needs,opened_on,capacity_from,net_capacity,commissioned_year,commissioned_places\r\n\
            \"Hollins, Pendle (synthetic)\",119001,888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,2015-09-01,R=30;Y1=30;Y2=30,,\r\n\
            \"Hollins, Pendle (synthetic)\",119001,888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,2020-09-01,R=60;Y1=60;Y2=60,,\r\n\
            Brookside ASD Base (synthetic),119002,888,E07000122,mainstream_academy,sen_unit,primary,4,11,ASD,2021-09-01,,,2025/26,ASD=12;any=2\r\n";
        let parsed = settings::parse("settings.csv", file.as_bytes(), &pan_lancashire()).unwrap();
        let kinds: Vec<&str> = parsed
            .commands
            .iter()
            .map(|c| match c {
                Command::OpenSetting(_) => "open",
                Command::SetNetCapacity { .. } => "capacity",
                Command::CommissionPlaces { .. } => "places",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["open", "capacity", "capacity", "open", "places"]);
        assert_eq!(parsed.lines, [2, 2, 3, 4, 4]);
        let Command::OpenSetting(s) = &parsed.commands[0] else {
            unreachable!()
        };
        assert_eq!(s.name, "Hollins, Pendle (synthetic)");
        let Command::CommissionPlaces { places, year, .. } = &parsed.commands[4] else {
            unreachable!()
        };
        assert_eq!(year.to_string(), "2025/26");
        assert_eq!(places, &vec![(Some(PrimaryNeed::Asd), 12), (None, 2)]);
    }

    #[test]
    fn a_malformed_settings_file_reports_every_problem() {
        let file = format!(
            "{SETTINGS}\
             119001,A (synthetic),888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,,2015-09-01,R=30,,\n\
             119001,A (synthetic),888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,,2015-09-01,R=31,,\n\
             119002,B (synthetic),888,E07000122,grammar,,primary,4,11,,2012-09-01,,,,,\n\
             119003,C (synthetic),888,E07000122,mainstream_academy,,primary,4,11,,2025-02-30,,,,,\n\
             119004,D (synthetic),888,E07000122,mainstream_academy,,primary,4,11,XYZ,2012-09-01,,2015-09-01,R=thirty,,\n"
        );
        assert_eq!(
            problems_of(settings::parse(
                "settings.csv",
                file.as_bytes(),
                &pan_lancashire()
            )),
            vec![
                "settings.csv:3: capacity_from: duplicate row: 119001's capacity from 2015-09-01 is already given on line 2",
                "settings.csv:4: kind: setting kind \"grammar\" is not valid: is not one of: mainstream_la_maintained mainstream_academy mainstream_free_school mainstream_independent special_la_maintained special_academy_free special_non_maintained special_independent ap_pru_la_maintained ap_pru_academy ap_pru_free_school general_fe_tertiary_college specialist_post_16_institution early_years ",
                "settings.csv:5: opened_on: \"2025-02-30\" is not a date (YYYY-MM-DD, a real day)",
                "settings.csv:6: designated_needs: primary need \"XYZ\" is not valid: is not one of: ASD SLCN SEMH MLD SLD PMLD SPLD HI VI MSI PD OTH NSA ",
                "settings.csv:6: net_capacity: \"thirty\" is not a whole number",
            ]
        );
        let missing = SETTINGS.replace("kind,", "");
        assert_eq!(
            problems_of(settings::parse(
                "settings.csv",
                missing.as_bytes(),
                &pan_lancashire()
            )),
            vec!["settings.csv:1: kind: required column is missing from the header row"]
        );
        let broken = format!("{SETTINGS}119001,\"A (synthetic),888,E07000122\n");
        let p = problems_of(settings::parse(
            "settings.csv",
            broken.as_bytes(),
            &pan_lancashire(),
        ));
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("settings.csv:2: "), "{p:?}");
    }

    const CHILDREN: &str = "child_id,la_code,born,district,requested_on,decided_on,plan_issued_on,primary_need,secondary_needs,transferred_in_from,originally_issued_on,placement_urn,facility,educated_elsewhere,placement_start,placement_end,placement_end_reason,ceased_on,cease_reason\n";

    /// Pan-Lancashire with one school, for placements.
    fn with_school() -> State {
        let mut state = pan_lancashire();
        let school = decide(
            &state,
            &Command::OpenSetting(OpenSetting {
                urn: Urn::parse("119001").unwrap(),
                name: "A (synthetic)".into(),
                authority: AuthorityCode::parse("888").unwrap(),
                district: GssCode::parse("E07000122").unwrap(),
                planning_area: None,
                kind: SettingKind::MainstreamAcademy,
                phase: Phase::Primary,
                low_age: 4,
                high_age: 11,
                facility: None,
                designated_needs: vec![],
                on: NaiveDate::from_ymd_opt(2010, 9, 1).unwrap(),
            }),
        )
        .unwrap();
        for e in school {
            state = evolve(state, &e);
        }
        state
    }

    #[test]
    fn a_children_file_moves_each_childs_history_in() {
        let file = format!(
            "{CHILDREN}\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,SLCN;SEMH,,,119001,,,2020-06-01,2021-08-31,phase_transfer,2023-03-31,needs_met\n\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,SLCN;SEMH,,,,,elective_home_education,2021-09-01,,,2023-03-31,needs_met\n\
             LA888-0002,888,2012-11,E07000117,,,2022-04-01,SEMH,,Cumberland,2019-06-15,,,,,,,,\n"
        );
        let parsed = children::parse("children.csv", file.as_bytes(), &with_school()).unwrap();
        let names: Vec<String> = parsed
            .commands
            .iter()
            .map(|c| {
                format!("{c:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "RegisterChild",
                "RequestAssessment",
                "DecideAssessment",
                "IssuePlan",
                "StartPlacement",
                "EndPlacement",
                "StartPlacement",
                "CeasePlan",
                "RegisterChild",
                "IssuePlan",
            ]
        );
        // Every command the file gives is accepted by the domain, in order.
        let mut state = with_school();
        for c in &parsed.commands {
            for e in decide(&state, c).unwrap() {
                state = evolve(state, &e);
            }
        }
        let transferred = &state.children[&ChildId::parse("LA888-0002").unwrap()];
        assert!(transferred.plan.is_some());
    }

    #[test]
    fn a_malformed_children_file_reports_every_problem() {
        let file = format!(
            "{CHILDREN}\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,,,,119001,,,2020-06-01,,,,\n\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,,,,119001,,,2020-06-01,,,,\n\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,,,,,,elective_home_education,2021-09-01,,,,\n\
             LA888-0002,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-31,ADHD,,,,,,,,,,,\n\
             LA888-0003,888,2015-13,E07000122,2020-01-10,2020-02-20,2020-05-31,ASD,,,,,,,,,,,\n\
             Jane Smith,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-31,ASD,,,,,,,,,,,\n\
             LA888-0004,888,2015-03,E07000122,,,2020-05-31,ASD,,,,,,,,,,,\n"
        );
        assert_eq!(
            problems_of(children::parse(
                "children.csv",
                file.as_bytes(),
                &with_school()
            )),
            vec![
                "children.csv:3: placement_start: duplicate row: LA888-0001's placement from 2020-06-01 is already on line 2",
                "children.csv:4: placement_start: LA888-0001's placement from 2021-09-01 overlaps the one from 2020-06-01 (line 2): a child has one placement at a time",
                "children.csv:5: primary_need: primary need \"ADHD\" is not valid: is not one of: ASD SLCN SEMH MLD SLD PMLD SPLD HI VI MSI PD OTH NSA ",
                "children.csv:6: born: month of birth \"2015-13\" is not valid: must be a real month, YYYY-MM",
                "children.csv:7: child_id: child id \"Jane Smith\" is not valid: may hold only letters, digits, '-' and '_'",
                "children.csv:8: requested_on: is required unless the plan was transferred in",
                "children.csv:8: decided_on: is required unless the plan was transferred in",
            ]
        );
        let bad_date = format!(
            "{CHILDREN}LA888-0005,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-02-30,ASD,,,,,,,,,,,\n"
        );
        assert_eq!(
            problems_of(children::parse(
                "children.csv",
                bad_date.as_bytes(),
                &with_school()
            )),
            vec![
                "children.csv:2: plan_issued_on: \"2020-02-30\" is not a date (YYYY-MM-DD, a real day)"
            ]
        );
        let broken = format!("{CHILDREN}LA888-0005,888,\"2015-03,E07000122\n");
        let p = problems_of(children::parse(
            "children.csv",
            broken.as_bytes(),
            &with_school(),
        ));
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("children.csv:2: "), "{p:?}");
        let missing = CHILDREN.replace("primary_need,", "");
        assert_eq!(
            problems_of(children::parse(
                "children.csv",
                missing.as_bytes(),
                &with_school()
            )),
            vec!["children.csv:1: primary_need: required column is missing from the header row"]
        );
    }
}

/// Blackpool's rows of the January 2025 DfE file, and copies of them as another authority's.
fn with_unregistered(copies: &[(&str, &str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../seeds/reference/dfe/sen_needs_all_plans.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let mut out = vec![lines.next().unwrap().to_owned()];
    let blackpool: Vec<&str> = lines.filter(|l| l.contains(",E06000009,890,")).collect();
    out.extend(blackpool.iter().map(|l| (*l).to_owned()));
    for (old, new, name) in copies {
        for l in &blackpool {
            out.push(l.replace(
                ",E06000009,890,Blackpool,",
                &format!(",{new},{old},{name},"),
            ));
        }
    }
    out.join("\n")
}

#[test]
fn a_dfe_file_naming_an_unregistered_authority_imports_nothing_and_says_which() {
    let file = with_unregistered(&[
        ("935", "E10000029", "Suffolk"),
        ("201", "E09000001", "City of London"),
    ]);
    let problems = dfe_ehcp::parse("sen.csv", file.as_bytes(), &pan_lancashire()).unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("authority 201 (City of London, E09000001)"),
        "{messages:#?}"
    );
    assert!(
        messages[1].contains("authority 935 (Suffolk, E10000029)"),
        "{messages:#?}"
    );
    assert!(
        messages.iter().all(|m| m.contains("--register")),
        "{messages:#?}"
    );
}

#[test]
fn with_register_the_file_s_authorities_are_registered_first() {
    let file = with_unregistered(&[
        ("935", "E10000029", "Suffolk"),
        ("201", "E09000001", "City of London"),
    ]);
    let table = placeledger_import::table::Table::read("sen.csv", file.as_bytes()).unwrap();
    let parsed = placeledger_import::Format::DfeEhcp
        .parse_with(
            &table,
            &pan_lancashire(),
            placeledger_import::Options { register: true },
        )
        .unwrap();
    // The authorities first (a unitary with its own single district), then the figures.
    let mut state = pan_lancashire();
    let mut registered = Vec::new();
    for c in &parsed.commands {
        let events = decide(&state, c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        for e in &events {
            if let Event::AuthorityRegistered { authority, .. } = e {
                registered.push(authority.as_str().to_owned());
            }
            state = evolve(state, e);
        }
    }
    assert_eq!(registered, vec!["201", "935"]);
    let london = AuthorityCode::parse("201").unwrap();
    assert!(state.districts.values().any(|d| d.authority == london));
    assert!(parsed.commands.iter().any(
        |c| matches!(c, Command::RecordCaseload { authority, .. } if authority.as_str() == "935")
    ));
    assert!(
        parsed
            .notes
            .iter()
            .any(|n| n.contains("registered 2 authorities"))
    );
}

fn england_lookup() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../seeds/reference/ons/lad25_ctyua25_england.csv"),
    )
    .unwrap()
}

#[test]
fn the_ons_lookup_registers_every_english_authority_with_its_districts() {
    use placeledger_import::geography;
    let parsed = geography::parse("lookup.csv", &england_lookup(), &State::default()).unwrap();
    let mut state = State::default();
    for c in &parsed.commands {
        for e in decide(&state, c).unwrap_or_else(|e| panic!("{c:?}: {e}")) {
            state = evolve(state, &e);
        }
    }
    assert_eq!(
        state.authorities.len(),
        153,
        "England's county and unitary authorities"
    );
    assert_eq!(state.districts.len(), 296);
    // Every authority has a district; a unitary authority is its own single district.
    for (code, a) in &state.authorities {
        assert!(
            state.districts.values().any(|d| &d.authority == code),
            "{code} has no district"
        );
        if !a.gss.as_str().starts_with("E10") {
            assert_eq!(state.districts[&a.gss].authority, *code);
        }
    }
    // DfE's codes: Lancashire's twelve districts under 888; the reorganised authorities under
    // their new codes; Buckinghamshire under its old one.
    let lancashire = AuthorityCode::parse("888").unwrap();
    assert_eq!(
        state
            .districts
            .values()
            .filter(|d| d.authority == lancashire)
            .count(),
        12
    );
    for (code, gss) in [
        ("838", "E06000059"),
        ("839", "E06000058"),
        ("940", "E06000061"),
        ("941", "E06000062"),
        ("942", "E06000063"),
        ("943", "E06000064"),
        ("825", "E06000060"),
        ("815", "E06000065"),
    ] {
        assert_eq!(
            state.authorities[&AuthorityCode::parse(code).unwrap()]
                .gss
                .as_str(),
            gss
        );
    }
    // The file again records nothing new; on pan-Lancashire, only the rest of England.
    let again = geography::parse("lookup.csv", &england_lookup(), &state).unwrap();
    assert!(again.commands.is_empty(), "{:?}", again.commands.first());
    let onto = geography::parse("lookup.csv", &england_lookup(), &pan_lancashire()).unwrap();
    assert!(!onto.commands.iter().any(|c| matches!(
        c,
        Command::RegisterAuthority { authority, .. } if authority.as_str() == "888"
    )));
    // DfE's files still print North Yorkshire's and Sheffield's former ONS codes.
    for (old, code) in [
        ("E10000023", "815"),
        ("E08000019", "373"),
        ("E10000002", "825"),
    ] {
        assert_eq!(
            geography::dfe_code_of(&GssCode::parse(old).unwrap()).map(|c| c.as_str().to_owned()),
            Some(code.to_owned())
        );
    }
}

#[test]
fn a_lookup_naming_an_authority_without_a_dfe_code_imports_nothing() {
    use placeledger_import::geography;
    let file = "LAD25CD,LAD25NM,CTYUA25CD,CTYUA25NM\nE07000999,Nowhere,E10000099,Nowhereshire\n";
    let problems = geography::parse("x.csv", file.as_bytes(), &State::default()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .to_string()
            .contains("E10000099 (Nowhereshire) has no DfE LA code")
    );
    let problems = geography::parse(
        "x.csv",
        b"code,name\nE06000001,Hartlepool\n",
        &State::default(),
    )
    .unwrap_err();
    assert!(problems[0].to_string().contains("LADyyCD"));
}

#[test]
fn a_totals_file_records_each_january_and_passes_over_retired_authorities() {
    let file = "time_period,geographic_level,old_la_code,new_la_code,la_name,total_plans,mainstream_total,special_total,source\n\
        202425,National,,E92000001,England,638745,,,DfE\n\
        202425,Regional,,E12000002,North West,90000,,,DfE\n\
        202425,Local authority,888,E10000017,Lancashire,12317,5000,,DfE\n\
        202324,Local authority,888,E10000017,Lancashire,11258,,,DfE\n\
        202223,Local authority,909,E10000006,Cumbria,3000,,,DfE\n";
    let parsed = dfe_ehcp::parse("totals.csv", file.as_bytes(), &pan_lancashire()).unwrap();
    let kinds: Vec<&str> = parsed
        .commands
        .iter()
        .map(|c| match c {
            Command::RecordNationalCaseload { .. } => "england",
            Command::RecordCaseload { .. } => "authority",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["england", "authority", "authority"]);
    assert!(
        parsed
            .notes
            .iter()
            .any(|n| n.contains("909 (1 rows; now 942 and 943)"))
    );
    assert!(
        parsed
            .notes
            .iter()
            .any(|n| n.contains("mainstream_total, special_total"))
    );
    // England's row is there for January 2025 but not for 2024: a warning names the
    // January and the fallback.
    let warning = parsed
        .notes
        .iter()
        .find(|n| n.starts_with("warning: no England"))
        .unwrap_or_else(|| panic!("{:?}", parsed.notes));
    assert!(warning.contains("January 2024:"), "{warning}");
    assert!(warning.contains("own trend, damped"), "{warning}");
    // A negative count is refused with its line.
    let bad = file.replace("11258", "-4");
    let problems = dfe_ehcp::parse("totals.csv", bad.as_bytes(), &pan_lancashire()).unwrap_err();
    assert_eq!(problems[0].line, 5);
}

/// Planning areas from Placeledger's CSV: registered in their districts; again, nothing new;
/// an unknown district or an area moved to another district is a problem, by line.
#[test]
fn planning_areas_are_registered_once_in_registered_districts() {
    use placeledger_import::planning_areas;
    let file = "planning_area,district,phase,name\n\
        8881001,E07000117,primary,Burnley primary\n\
        8881002,E07000117,secondary,Burnley secondary\n\
        BLP-P,E06000009,primary,Blackpool primary\n";
    let state = pan_lancashire();
    let parsed = planning_areas::parse("areas.csv", file.as_bytes(), &state).unwrap();
    assert_eq!(parsed.commands.len(), 3);
    assert_eq!(parsed.lines, [2, 3, 4]);
    assert!(matches!(
        &parsed.commands[1],
        Command::RegisterPlanningArea { phase: Phase::Secondary, name, .. } if name == "Burnley secondary"
    ));

    // Once recorded, the same file registers nothing and says so.
    let mut after = state.clone();
    for c in &parsed.commands {
        for e in decide(&after, c).unwrap() {
            after = evolve(after, &e);
        }
    }
    let again = planning_areas::parse("areas.csv", file.as_bytes(), &after).unwrap();
    assert!(again.commands.is_empty());
    assert!(
        again
            .notes
            .iter()
            .any(|n| n.contains("3 planning area(s) already registered"))
    );

    // Every problem, by line; nothing imported.
    let bad = "planning_area,district,phase,name\n\
        8881001,E07000118,primary,Burnley primary\n\
        X1,E09999999,primary,Nowhere\n\
        X2,E07000117,tertiary,Odd\n\
        X3,E07000117,primary,One\n\
        X3,E07000117,primary,Two\n";
    let problems = planning_areas::parse("areas.csv", bad.as_bytes(), &after).unwrap_err();
    let at: Vec<(u64, Option<&str>)> = problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        at,
        [
            (2, Some("planning_area")),
            (3, Some("district")),
            (4, Some("phase")),
            (6, Some("planning_area")),
        ],
        "{problems:?}"
    );
    assert!(
        problems[0]
            .message
            .contains("registered in district E07000117")
    );
    assert!(problems[1].message.contains("geography import"));
}
