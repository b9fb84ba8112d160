//! High Needs funding in Placeledger's own CSV layout (see the README, "The high needs file"):
//! one row per authority and financial year, with the High Needs Block allocation, the
//! cumulative DSG balance at the year's end (negative: a deficit), or both; how final they
//! are; and where they come from.
//!
//! ```text
//! la_code,financial_year,hnb_allocation,dsg_balance,status,source
//! 888,2025-26,,-98500000,forecast,"Quarter 3 monitoring, cabinet 5 February 2026"
//! ```

use std::collections::HashMap;

use placeledger_domain::{AuthorityCode, Command, FundingStatus, State};
use rust_decimal::Decimal;

use crate::table::{Cells, Table, value};
use crate::{Parsed, Problem};

const REQUIRED: &[&str] = &["la_code", "financial_year", "status", "source"];
const OPTIONAL: &[&str] = &["hnb_allocation", "dsg_balance"];

/// `2025-26` (or `2025`): the financial year by its first calendar year.
fn financial_year(text: &str) -> Result<i32, String> {
    let bad = || format!("{text:?} is not a financial year such as 2025-26");
    let (first, second) = match text.split_once(['-', '/']) {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (text.trim(), None),
    };
    let year: i32 = first.parse().map_err(|_| bad())?;
    if let Some(next) = second {
        let next: i32 = next.parse().map_err(|_| bad())?;
        let matches = match next {
            0..=99 => next == (year + 1).rem_euclid(100),
            _ => next == year + 1,
        };
        if !matches {
            return Err(format!(
                "{text:?}: a financial year runs April to March, so {year} is followed by {}",
                year + 1
            ));
        }
    }
    Ok(year)
}

/// Pounds, such as `210500000` or `-171410000.00` (no currency sign, no thousands commas).
fn pounds(text: &str) -> Result<Decimal, String> {
    text.trim().parse::<Decimal>().map_err(|_| {
        format!("{text:?} is not an amount in pounds such as 210500000 or -171410000.00")
    })
}

/// Reads a high needs file against what Placeledger already holds.
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
    let mut seen: HashMap<(AuthorityCode, i32), u64> = HashMap::new();
    for row in &table.rows {
        let mut c = Cells::new(table, row, &columns);
        let authority = c.required("la_code", |t| value(AuthorityCode::parse(t)));
        let year = c.required("financial_year", financial_year);
        let allocation = c.optional("hnb_allocation", pounds);
        let balance = c.optional("dsg_balance", pounds);
        let status = c.required("status", |t| value(FundingStatus::parse(t)));
        let source = c.required("source", |t| Ok(t.to_owned()));
        if let Some(a) = &authority
            && !state.authorities.contains_key(a)
        {
            c.problem(
                "la_code",
                format!("authority {a} is not registered: register it before its funding"),
            );
        }
        if let (Some(None), Some(None)) = (&allocation, &balance) {
            c.problem(
                "hnb_allocation",
                "give an allocation, a DSG balance or both".into(),
            );
        }
        let (
            Some(authority),
            Some(year),
            Some(allocation),
            Some(balance),
            Some(status),
            Some(source),
        ) = (authority, year, allocation, balance, status, source)
        else {
            problems.append(&mut c.problems);
            continue;
        };
        if let Some(line) = seen.insert((authority.clone(), year), row.line) {
            c.problem(
                "financial_year",
                format!("duplicate row: {authority}'s {year} is already given on line {line}"),
            );
        } else if c.problems.is_empty() {
            parsed.commands.push(Command::RecordHighNeedsFunding {
                authority,
                financial_year: year,
                allocation,
                dsg_balance: balance,
                status,
                source,
            });
            parsed.lines.push(row.line);
        }
        problems.append(&mut c.problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::financial_year;

    #[test]
    fn financial_years_read_as_councils_write_them() {
        assert_eq!(financial_year("2025-26"), Ok(2025));
        assert_eq!(financial_year("2025/26"), Ok(2025));
        assert_eq!(financial_year("2025-2026"), Ok(2025));
        assert_eq!(financial_year("2025"), Ok(2025));
        assert_eq!(financial_year("1999-00"), Ok(1999));
        assert!(financial_year("2025-27").is_err());
        assert!(financial_year("twenty").is_err());
    }
}
