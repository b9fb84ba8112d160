//! Hostile input: whatever bytes arrive, an importer answers with the commands of a valid file
//! or with problems that name a line of the file; it never panics. Each format is tried with
//! arbitrary bytes and with a valid file of its own damaged at random: bytes replaced, lines
//! duplicated or cut, a byte-order mark, CRLF, invalid UTF-8, negative counts, future dates,
//! unknown codes and SQL-looking strings spliced in.

use placeledger_import::table::Table;
use placeledger_import::{Format, Parsed, Problem};
use proptest::prelude::*;

use crate::pan_lancashire;

fn valid(format: Format) -> String {
    let dfe = |name: &str| {
        String::from_utf8(
            std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../seeds/reference/dfe")
                    .join(name),
            )
            .unwrap(),
        )
        .unwrap()
    };
    match format {
        Format::OnsSnpp => String::from_utf8(crate::sample()).unwrap(),
        // The header and Blackpool's rows of a DfE file.
        Format::DfeEhcp => dfe("sen_needs_all_plans.csv")
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || l.contains("E06000009"))
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Settings => "urn,name,la_code,district,kind,facility,phase,low_age,high_age,designated_needs,opened_on,closed_on,capacity_from,net_capacity,commissioned_year,commissioned_places\n\
            119001,Hollins (synthetic),888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,,2015-09-01,R=30;Y1=30;Y2=30,,\n\
            119002,Brookside ASD Base (synthetic),888,E07000122,mainstream_academy,sen_unit,primary,4,11,ASD,2021-09-01,,,,2025/26,ASD=12;any=2\n".to_owned(),
        Format::Geography => "LAD25CD,LAD25NM,LAD25NMW,CTYUA25CD,CTYUA25NM,CTYUA25NMW,ObjectId\n\
            E06000001,Hartlepool,,E06000001,Hartlepool,,1\n\
            E07000008,Cambridge,,E10000003,Cambridgeshire,,81\n\
            W06000001,Isle of Anglesey,Ynys Môn,W06000001,Isle of Anglesey,Ynys Môn,340\n".to_owned(),
        Format::PlanningAreas => "planning_area,district,phase,name\n\
            8881001,E07000117,primary,Burnley primary\n\
            BLP-S,E06000009,secondary,Blackpool secondary\n".to_owned(),
        Format::HighNeeds => "la_code,financial_year,hnb_allocation,dsg_balance,status,source\n\
            888,2024-25,208960000,,estimate,England's high needs funding times Lancashire's share of England's plans\n\
            890,2025-26,,-4200000.50,forecast,\"Schools Forum, 9 December 2025\"\n".to_owned(),
        Format::Children => "child_id,la_code,born,district,requested_on,decided_on,plan_issued_on,primary_need,secondary_needs,transferred_in_from,originally_issued_on,placement_urn,facility,educated_elsewhere,placement_start,placement_end,placement_end_reason,ceased_on,cease_reason\n\
            LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,SLCN;SEMH,,,,,elective_home_education,2020-06-01,,,,\n\
            LA888-0002,888,2012-11,E07000117,,,2022-04-01,SEMH,,Cumberland,2019-06-15,,,,,,,,\n".to_owned(),
    }
}

/// Reads and parses `bytes` as `format`; checks what any answer must be.
fn check(format: Format, bytes: &[u8]) -> Result<(), TestCaseError> {
    let file = "hostile.csv";
    let lines = 1 + bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let answer: Result<Parsed, Vec<Problem>> =
        Table::read(file, bytes).and_then(|t| format.parse(&t, &pan_lancashire()));
    match answer {
        Ok(parsed) => {
            prop_assert_eq!(parsed.commands.len(), parsed.lines.len());
            for line in parsed.lines {
                prop_assert!(
                    (2..=lines).contains(&line),
                    "a command from line {line} of {lines}"
                );
            }
        }
        Err(problems) => {
            prop_assert!(!problems.is_empty(), "refused without a problem");
            for p in problems {
                prop_assert!(p.line <= lines, "{p} is past the last line ({lines})");
                prop_assert!(!p.message.trim().is_empty(), "{p} says nothing");
                prop_assert_eq!(&p.file, file);
            }
        }
    }
    Ok(())
}

fn format() -> impl Strategy<Value = Format> {
    prop::sample::select(Format::ALL.to_vec())
}

/// Things a hostile or careless file holds.
fn nasty() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"-5".to_vec()),
        Just(b"-2147483649".to_vec()),
        Just(b"99999999999999999999999".to_vec()),
        Just(b"2099-12-31".to_vec()),
        Just(b"2025-02-30".to_vec()),
        Just(b"ZZZ".to_vec()),
        Just(b"E99999999".to_vec()),
        Just(b"'); DROP TABLE events; --".to_vec()),
        Just(b"\"unterminated".to_vec()),
        Just(b",,,,,,,,,,".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xFF\xFE\xC3\x28".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\0".to_vec()),
        Just("\u{202e}\u{1F600}".as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..16),
    ]
}

/// A damage done to a valid file.
#[derive(Debug, Clone)]
enum Damage {
    Splice {
        at: usize,
        with: Vec<u8>,
    },
    Replace {
        at: usize,
        len: usize,
        with: Vec<u8>,
    },
    DuplicateLine(usize),
    DropLine(usize),
    Truncate(usize),
    Crlf,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), nasty()).prop_map(|(at, with)| Damage::Splice { at, with }),
        (any::<usize>(), 1usize..12, nasty()).prop_map(|(at, len, with)| Damage::Replace {
            at,
            len,
            with
        }),
        any::<usize>().prop_map(Damage::DuplicateLine),
        any::<usize>().prop_map(Damage::DropLine),
        any::<usize>().prop_map(Damage::Truncate),
        Just(Damage::Crlf),
    ]
}

fn apply(file: &[u8], damage: &Damage) -> Vec<u8> {
    let mut out = file.to_vec();
    let n = out.len().max(1);
    let lines =
        |b: &[u8]| -> Vec<Vec<u8>> { b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect() };
    match damage {
        Damage::Splice { at, with } => {
            let at = at % n;
            out.splice(at..at, with.iter().copied());
        }
        Damage::Replace { at, len, with } => {
            let at = at % n;
            let end = (at + len).min(out.len());
            out.splice(at..end, with.iter().copied());
        }
        Damage::DuplicateLine(i) => {
            let mut ls = lines(&out);
            let k = i % ls.len();
            ls.insert(k, ls[k].clone());
            out = ls.join(&b'\n');
        }
        Damage::DropLine(i) => {
            let mut ls = lines(&out);
            ls.remove(i % ls.len());
            out = ls.join(&b'\n');
        }
        Damage::Truncate(at) => out.truncate(at % n),
        Damage::Crlf => out = lines(&out).join(&b"\r\n"[..]),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_are_answered_never_panicked_on(
        format in format(),
        bytes in prop::collection::vec(any::<u8>(), 0..2_000),
    ) {
        check(format, &bytes)?;
    }

    #[test]
    fn a_damaged_valid_file_is_answered_never_panicked_on(
        format in format(),
        damages in prop::collection::vec(damage(), 1..4),
    ) {
        let mut bytes = valid(format).into_bytes();
        for d in &damages {
            bytes = apply(&bytes, d);
        }
        check(format, &bytes)?;
    }
}

/// Each valid file really is valid, so the damaged ones start from something that imports.
#[test]
fn the_undamaged_files_import() {
    for format in Format::ALL {
        let bytes = valid(format).into_bytes();
        let parsed = Table::read("valid.csv", &bytes)
            .and_then(|t| format.parse(&t, &pan_lancashire()))
            .unwrap_or_else(|p| panic!("{}: {p:?}", format.name()));
        assert!(!parsed.commands.is_empty(), "{}", format.name());
    }
}

/// Repeated rows of a DfE table are one fact, and a 100 MB file of them is read row by row
/// without trouble (the same row each time: every one after the first is a duplicate).
#[test]
fn a_hundred_megabyte_file_is_read_and_its_duplicated_rows_are_refused_by_line() {
    let valid = valid(Format::OnsSnpp);
    let mut lines = valid.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let mut big = String::with_capacity(100 * 1024 * 1024 + row.len());
    big.push_str(header);
    big.push('\n');
    while big.len() < 100 * 1024 * 1024 {
        big.push_str(row);
        big.push('\n');
    }
    let problems = Table::read("big.csv", big.as_bytes())
        .and_then(|t| Format::OnsSnpp.parse(&t, &pan_lancashire()))
        .unwrap_err();
    // Every copy after the first is reported at its own line.
    assert!(problems.len() > 100_000, "{}", problems.len());
    assert_eq!(problems[0].line, 3, "{}", problems[0]);
    assert!(
        problems[0].message.contains("duplicate") || problems[0].message.contains("twice"),
        "{}",
        problems[0]
    );
}
