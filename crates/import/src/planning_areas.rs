//! Planning areas in Placeledger's own CSV layout (see the README, "The planning areas
//! file"): the groups of schools an authority plans mainstream places by, one row per area
//! and phase, each in one district.
//!
//! ```text
//! planning_area,district,phase,name
//! 8881001,E07000117,primary,Burnley primary (8881001: the DfE-approved code)
//! ```

use std::collections::HashMap;

use placeledger_domain::{Command, GssCode, Phase, PlanningAreaCode, State};

use crate::table::{Cells, Table, value};
use crate::{Parsed, Problem};

const REQUIRED: &[&str] = &["planning_area", "district", "phase", "name"];

/// Reads a planning areas file against what Placeledger already holds.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read. An area already registered in the same district
/// and phase is passed over (importing the file again records nothing); one registered
/// elsewhere, or a district not registered, is a problem.
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    let columns = table.columns(REQUIRED, &[])?;
    let mut problems = Vec::new();
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    let mut seen: HashMap<PlanningAreaCode, u64> = HashMap::new();
    let mut already = 0;
    for row in &table.rows {
        let mut c = Cells::new(table, row, &columns);
        let area = c.required("planning_area", |t| value(PlanningAreaCode::parse(t)));
        let district = c.required("district", |t| value(GssCode::parse(t)));
        let phase = c.required("phase", |t| value(Phase::parse(t)));
        let name = c.required("name", |t| Ok(t.to_owned()));
        if let Some(d) = &district
            && !state.districts.contains_key(d)
        {
            c.problem(
                "district",
                format!("district {d} is not registered: run `placeledger geography import` first"),
            );
        }
        let (Some(area), Some(district), Some(phase), Some(name)) = (area, district, phase, name)
        else {
            problems.append(&mut c.problems);
            continue;
        };
        if let Some(line) = seen.insert(area.clone(), row.line) {
            c.problem(
                "planning_area",
                format!("duplicate row: planning area {area} is already given on line {line}"),
            );
        } else if let Some(held) = state.planning_areas.get(&area) {
            if held.district == district {
                already += 1;
            } else {
                c.problem(
                    "planning_area",
                    format!(
                        "planning area {area} is registered in district {}, not {district}",
                        held.district
                    ),
                );
            }
        } else if c.problems.is_empty() {
            parsed.commands.push(Command::RegisterPlanningArea {
                planning_area: area,
                district,
                phase,
                name,
            });
            parsed.lines.push(row.line);
        }
        problems.append(&mut c.problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if already > 0 {
        parsed
            .notes
            .push(format!("{already} planning area(s) already registered"));
    }
    Ok(parsed)
}
