//! Importers on real and malformed files: every problem reported, where it is.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use placeledger_domain::*;
use placeledger_import::ons_snpp;

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
