//! Importers on real and malformed files: every problem reported, where it is.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use placeledger_domain::*;
use placeledger_import::{dfe_ehcp, ons_snpp};

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
        .join("../../tests/fixtures/import/ons-snpp-2022-persons-pan-lancs-ages-0-25.csv");
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
            .join("../../tests/fixtures/import/dfe/sen_needs_all_plans.csv");
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

    fn cells(parsed: &placeledger_import::Parsed, la: &str) -> Vec<CaseloadInput> {
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
        assert_eq!(parsed.commands.len(), 3, "one caseload per authority");
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
                "caseload.csv:6: breakdown: \"age 30\" is not an age (\"under 3\", or \"age 3\" to \"age 25\")",
                "caseload.csv:7: ehc_plans: -4: a count of plans is never negative",
                "caseload.csv:8: number_hi: \"one\" is not a count (a whole number, or x, c, z or blank)",
            ]
        );
    }

    #[test]
    fn a_missing_column_is_named_and_other_files_are_refused_by_name() {
        let file = HEADER.replace(",number_semh", "");
        let p = problems(file.as_bytes());
        assert_eq!(
            p,
            vec!["caseload.csv:1: number_semh: required column is missing from the header row"]
        );
        let requests = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/import/dfe/requests.csv"),
        )
        .unwrap();
        let p = problems(&requests);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("requests for assessment file"), "{p:?}");
    }
}
