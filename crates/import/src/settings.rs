//! Settings with their capacity and commissioned places, in Placeledger's own CSV layout (see
//! the README, "The settings file"): one row per setting, or several rows for a setting whose
//! net capacity changes from a date or whose places are commissioned year by year.
//!
//! A setting not yet in Placeledger is opened; one already there is left as it is (its
//! identity columns must agree with what is recorded); a `closed_on` not yet recorded closes
//! it. Capacity and commissioned places are recorded from every row that has them, with ids
//! derived from the content, so importing the same file again records nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, Command, Facility, GssCode, Ncy, OpenSetting, Phase,
    PlanningAreaCode, PrimaryNeed, SettingKind, State, Urn,
};

use crate::table::{Cells, Table, date, list, value, whole};
use crate::{Parsed, Problem};

const REQUIRED: &[&str] = &[
    "urn",
    "name",
    "la_code",
    "district",
    "kind",
    "phase",
    "low_age",
    "high_age",
    "opened_on",
];
const OPTIONAL: &[&str] = &[
    "planning_area",
    "facility",
    "designated_needs",
    "closed_on",
    "capacity_from",
    "net_capacity",
    "commissioned_year",
    "commissioned_places",
];

/// `R=30;Y1=30`: net capacity per year group.
fn capacity(text: &str) -> Result<Vec<(Ncy, i64)>, String> {
    list(text)
        .map(|pair| {
            let (ncy, n) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not NCY=count (such as R=30;Y1=30)"))?;
            Ok((
                Ncy::parse(ncy).map_err(|e| e.to_string())?,
                whole(n.trim())?,
            ))
        })
        .collect()
}

/// `ASD=12;SEMH=8;any=4`: places per designated need (`any`: for any need).
fn places(text: &str) -> Result<Vec<(Option<PrimaryNeed>, i64)>, String> {
    list(text)
        .map(|pair| {
            let (need, n) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not NEED=places (such as ASD=12;any=4)"))?;
            let need = match need.trim() {
                n if n.eq_ignore_ascii_case("any") => None,
                n => Some(PrimaryNeed::parse(n).map_err(|e| e.to_string())?),
            };
            Ok((need, whole(n.trim())?))
        })
        .collect()
}

/// Reads a settings file against what Placeledger already holds.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read (the CLI reads it with a progress bar).
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    let columns = table.columns(REQUIRED, OPTIONAL)?;
    let mut problems = Vec::new();
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    // The first row of each URN: its identity, which later rows must repeat.
    let mut first: HashMap<Urn, (u64, OpenSetting, Option<NaiveDate>)> = HashMap::new();
    let mut seen_capacity: HashMap<(Urn, NaiveDate), u64> = HashMap::new();
    let mut seen_places: HashMap<(Urn, AcademicYear), u64> = HashMap::new();
    let mut already = 0;
    for row in &table.rows {
        let mut c = Cells::new(table, row, &columns);
        let urn = c.required("urn", |t| value(Urn::parse(t)));
        let name = c.required("name", |t| Ok(t.to_owned()));
        let authority = c.required("la_code", |t| value(AuthorityCode::parse(t)));
        let district = c.required("district", |t| value(GssCode::parse(t)));
        let planning_area = c.optional("planning_area", |t| value(PlanningAreaCode::parse(t)));
        let kind = c.required("kind", |t| value(SettingKind::parse(t)));
        let facility = c.optional("facility", |t| value(Facility::parse(t)));
        let phase = c.required("phase", |t| value(Phase::parse(t)));
        let low = c.required("low_age", whole);
        let high = c.required("high_age", whole);
        let needs = c.optional("designated_needs", |t| {
            list(t).map(|n| value(PrimaryNeed::parse(n))).collect()
        });
        let opened = c.required("opened_on", date);
        let closed = c.optional("closed_on", date);
        let capacity_from = c.optional("capacity_from", date);
        let capacity = c.optional("net_capacity", capacity);
        let year = c.optional("commissioned_year", |t| value(AcademicYear::parse(t)));
        let places = c.optional("commissioned_places", places);
        match (&capacity_from, &capacity) {
            (Some(None), Some(Some(_))) => {
                c.problem("capacity_from", "is required with net_capacity".into());
            }
            (Some(Some(_)), Some(None)) => {
                c.problem("net_capacity", "is required with capacity_from".into());
            }
            _ => {}
        }
        match (&year, &places) {
            (Some(None), Some(Some(_))) => {
                c.problem(
                    "commissioned_year",
                    "is required with commissioned_places".into(),
                );
            }
            (Some(Some(_)), Some(None)) => {
                c.problem(
                    "commissioned_places",
                    "is required with commissioned_year".into(),
                );
            }
            _ => {}
        }
        let fields = (
            urn,
            name,
            authority,
            district,
            planning_area,
            kind,
            facility,
            phase,
            low,
            high,
            needs,
            opened,
            closed,
        );
        let (
            Some(urn),
            Some(name),
            Some(authority),
            Some(district),
            Some(planning_area),
            Some(kind),
            Some(facility),
            Some(phase),
            Some(low),
            Some(high),
            Some(needs),
            Some(opened),
            Some(closed),
        ) = fields
        else {
            problems.append(&mut c.problems);
            continue;
        };
        let setting = OpenSetting {
            urn,
            name,
            authority,
            district,
            planning_area,
            kind,
            phase,
            low_age: low,
            high_age: high,
            facility,
            designated_needs: needs.unwrap_or_default(),
            on: opened,
        };
        match first.get(&urn) {
            Some((line, earlier, earlier_closed)) => {
                if earlier != &setting || earlier_closed != &closed {
                    c.problem(
                        "urn",
                        format!("{urn} is described differently on line {line}: the rows of one setting repeat its name, place, kind, ages and dates"),
                    );
                }
            }
            None => {
                first.insert(urn, (row.line, setting.clone(), closed));
                match state.settings.get(&urn) {
                    None => {
                        parsed.commands.push(Command::OpenSetting(setting.clone()));
                        parsed.lines.push(row.line);
                    }
                    Some(s) => {
                        if s.authority != setting.authority
                            || s.district != setting.district
                            || s.kind != setting.kind
                            || s.facility != setting.facility
                            || s.opened_on != setting.on
                        {
                            c.problem("urn", format!("setting {urn} is already recorded with another authority, district, kind, facility or opening date; changing a setting is a command, not an import"));
                        } else {
                            already += 1;
                        }
                    }
                }
                if let Some(on) = closed
                    && state.settings.get(&urn).and_then(|s| s.closed_on) != Some(on)
                {
                    parsed.commands.push(Command::CloseSetting { urn, on });
                    parsed.lines.push(row.line);
                }
            }
        }
        if let (Some(Some(from)), Some(Some(capacity))) = (capacity_from, capacity) {
            if let Some(line) = seen_capacity.insert((urn, from), row.line) {
                c.problem("capacity_from", format!("duplicate row: {urn}'s capacity from {from} is already given on line {line}"));
            } else {
                parsed.commands.push(Command::SetNetCapacity {
                    urn,
                    from,
                    capacity,
                });
                parsed.lines.push(row.line);
            }
        }
        if let (Some(Some(year)), Some(Some(places))) = (year, places) {
            if let Some(line) = seen_places.insert((urn, year), row.line) {
                c.problem(
                    "commissioned_year",
                    format!(
                        "duplicate row: {urn}'s places for {year} are already given on line {line}"
                    ),
                );
            } else {
                parsed
                    .commands
                    .push(Command::CommissionPlaces { urn, year, places });
                parsed.lines.push(row.line);
            }
        }
        problems.append(&mut c.problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if already > 0 {
        parsed.notes.push(format!(
            "{already} settings were already recorded: left as they are (their capacity and places are recorded if new)"
        ));
    }
    Ok(parsed)
}
