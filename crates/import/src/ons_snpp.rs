//! ONS sub-national population projections, persons, in ONS's published wide layout:
//! `AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2022, 2023, ...`, one row per area and age
//! group (`0`..`89`, `90 and over`, `All ages`), one column per projection year.
//!
//! Every area and age row becomes one `RecordPopulation` per year, with the projection's
//! release named from its base year (`ONS 2022-based SNPP`). The published file covers every
//! area in England: rows for areas Placeledger has not registered are passed over and counted
//! in the notes (a malformed area code is a problem, not passed over).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use placeledger_domain::{AgeGroup, Command, GssCode, PopulationBasis, State};
use rust_decimal::Decimal;

use crate::table::Table;
use crate::{Parsed, Problem};

/// Reads an ONS SNPP persons file. `state` says which areas are registered.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read (the CLI reads it with a progress bar).
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    let file = table.file.as_str();
    let mut problems = Vec::new();
    let area_col = table.column("AREA_CODE").map_err(|p| problems.push(p)).ok();
    let age_col = table.column("AGE_GROUP").map_err(|p| problems.push(p)).ok();
    let component_col = table.find("COMPONENT");
    let sex_col = table.find("SEX");
    let years: Vec<(usize, i32)> = table
        .headers()
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let y: i32 = h.parse().ok().filter(|_| h.len() == 4)?;
            (1990..=2100).contains(&y).then_some((i, y))
        })
        .collect();
    if years.is_empty() {
        problems.push(Problem {
            file: file.to_owned(),
            line: 1,
            column: None,
            message: "no projection year columns (such as 2022) in the header row".into(),
        });
    }
    let (Some(area_col), Some(age_col)) = (area_col, age_col) else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let base_year = years.iter().map(|&(_, y)| y).min().unwrap_or_default();
    let release = format!("ONS {base_year}-based SNPP");
    let known = |area: &GssCode| {
        state.districts.contains_key(area) || state.authorities.values().any(|a| &a.gss == area)
    };

    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    let mut seen: HashMap<(GssCode, AgeGroup), u64> = HashMap::new();
    let mut passed_over: BTreeMap<String, usize> = BTreeMap::new();
    for row in &table.rows {
        let field = |i: usize| row.fields.get(i).unwrap_or_default();
        if let Some(c) = component_col
            && !field(c).eq_ignore_ascii_case("population")
        {
            problems.push(table.problem(
                row.line,
                "COMPONENT",
                format!("{:?}: this importer reads population rows only", field(c)),
            ));
            continue;
        }
        if let Some(c) = sex_col
            && !field(c).eq_ignore_ascii_case("persons")
        {
            problems.push(table.problem(
                row.line,
                "SEX",
                format!(
                    "{:?}: this importer reads the persons file (males and females together)",
                    field(c)
                ),
            ));
            continue;
        }
        let area = match GssCode::parse(field(area_col)) {
            Ok(a) => a,
            Err(e) => {
                problems.push(table.problem(row.line, "AREA_CODE", e.to_string()));
                continue;
            }
        };
        let age = match age_group(field(age_col)) {
            Ok(a) => a,
            Err(message) => {
                problems.push(table.problem(row.line, "AGE_GROUP", message));
                continue;
            }
        };
        if let Some(first) = seen.insert((area.clone(), age), row.line) {
            problems.push(table.problem(
                row.line,
                "AGE_GROUP",
                format!(
                    "duplicate row: {area} {} is also on line {first}",
                    field(age_col)
                ),
            ));
            continue;
        }
        let mut values = Vec::with_capacity(years.len());
        for &(col, year) in &years {
            let text = field(col);
            match Decimal::from_str(text) {
                Ok(v) if v.is_sign_negative() && !v.is_zero() => problems.push(table.problem(
                    row.line,
                    &year.to_string(),
                    format!("{text}: a population is never negative"),
                )),
                Ok(v) => values.push((year, v)),
                Err(_) => problems.push(table.problem(
                    row.line,
                    &year.to_string(),
                    format!("{text:?} is not a number of persons"),
                )),
            }
        }
        if !known(&area) {
            *passed_over.entry(area.to_string()).or_default() += 1;
            continue;
        }
        for (year, persons) in values {
            parsed.commands.push(Command::RecordPopulation {
                area: area.clone(),
                year,
                age,
                persons,
                basis: PopulationBasis::Projection,
                release: release.clone(),
            });
            parsed.lines.push(row.line);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !passed_over.is_empty() {
        let rows: usize = passed_over.values().sum();
        let areas: Vec<&str> = passed_over.keys().map(String::as_str).collect();
        parsed.notes.push(format!(
            "passed over {rows} rows for {} areas not registered in Placeledger: {}",
            areas.len(),
            areas.join(", ")
        ));
    }
    Ok(parsed)
}

fn age_group(text: &str) -> Result<AgeGroup, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("90 and over") || t == "90+" {
        return Ok(AgeGroup::NinetyAndOver);
    }
    if t.eq_ignore_ascii_case("all ages") {
        return Ok(AgeGroup::AllAges);
    }
    let age: i64 = t
        .parse()
        .map_err(|_| format!("{t:?} is not an age (0 to 89, \"90 and over\" or \"All ages\")"))?;
    AgeGroup::single(age).map_err(|e| e.to_string())
}
