//! Geography from ONS's "Local Authority District to County and Unitary Authority" lookup, in
//! its published layout (any year's: `LAD25CD`, `LAD25NM`, `CTYUA25CD`, `CTYUA25NM`, ...).
//! England's rows register each county or unitary authority, under its DfE LA code from
//! `seeds/reference/la_codes.csv` (compiled in), and each district; a unitary authority is its
//! own single district. Rows outside England are passed over and counted. What is already
//! registered is left as it is (and must agree).

use std::collections::{BTreeMap, HashMap};

use placeledger_domain::{AuthorityCode, Command, GssCode, State};

use crate::table::Table;
use crate::{Parsed, Problem};

/// DfE's LA codes with ONS's codes for the same authorities (current, and former ones DfE's
/// files still print), and the successors of retired codes.
const LA_CODES: &str = include_str!("../../../seeds/reference/la_codes.csv");

/// One authority of the code list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaCode {
    pub code: AuthorityCode,
    /// ONS's current county or unitary authority code.
    pub gss: GssCode,
    pub name: String,
    /// ONS codes DfE's files may still print for it.
    pub former_gss: Vec<GssCode>,
    /// For a retired code (an authority reorganised away), the authorities that took over.
    pub successors: Vec<AuthorityCode>,
}

/// The code list, as compiled in.
pub fn la_codes() -> Vec<LaCode> {
    let mut reader = csv::Reader::from_reader(LA_CODES.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let list = |i: usize| -> Vec<&str> {
                r.get(i)
                    .unwrap_or_default()
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            Some(LaCode {
                code: AuthorityCode::parse(r.get(0)?).ok()?,
                gss: GssCode::parse(r.get(1)?).ok()?,
                name: r.get(2)?.to_owned(),
                former_gss: list(3)
                    .into_iter()
                    .filter_map(|g| GssCode::parse(g).ok())
                    .collect(),
                successors: list(4)
                    .into_iter()
                    .filter_map(|c| AuthorityCode::parse(c).ok())
                    .collect(),
            })
        })
        .collect()
}

/// The DfE LA code of the authority ONS codes `gss` (current or former), if it is current.
pub fn dfe_code_of(gss: &GssCode) -> Option<AuthorityCode> {
    la_codes()
        .into_iter()
        .find(|c| c.successors.is_empty() && (&c.gss == gss || c.former_gss.contains(gss)))
        .map(|c| c.code)
}

/// The lookup's four columns, whatever year they are named for.
fn columns(table: &Table) -> Result<[usize; 4], Vec<Problem>> {
    let find = |prefix: &str, suffix: &str| {
        table.headers().iter().position(|h| {
            let h = h.trim().to_ascii_uppercase();
            h.len() == prefix.len() + 2 + suffix.len()
                && h.starts_with(prefix)
                && h.ends_with(suffix)
                && h[prefix.len()..prefix.len() + 2]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        })
    };
    match (
        find("LAD", "CD"),
        find("LAD", "NM"),
        find("CTYUA", "CD"),
        find("CTYUA", "NM"),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok([a, b, c, d]),
        _ => Err(vec![Problem {
            file: table.file.clone(),
            line: 1,
            column: None,
            message: "not ONS's local authority district to county and unitary authority \
                      lookup: it needs LADyyCD, LADyyNM, CTYUAyyCD and CTYUAyyNM columns \
                      (such as LAD25CD)"
                .into(),
        }]),
    }
}

/// Reads a lookup file against what Placeledger already holds.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read.
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    let [lad_cd, lad_nm, cty_cd, cty_nm] = columns(table)?;
    let codes: HashMap<GssCode, AuthorityCode> = la_codes()
        .into_iter()
        .filter(|c| c.successors.is_empty())
        .flat_map(|c| {
            let code = c.code.clone();
            std::iter::once(c.gss)
                .chain(c.former_gss)
                .map(move |g| (g, code.clone()))
        })
        .collect();
    let mut problems = Vec::new();
    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    let mut outside_england = 0;
    let mut already = 0;
    let mut districts_seen: HashMap<GssCode, u64> = HashMap::new();
    let mut authorities: BTreeMap<AuthorityCode, GssCode> = BTreeMap::new();
    let (mut new_authorities, mut new_districts) = (0, 0);
    for row in &table.rows {
        let field = |i: usize| row.fields.get(i).unwrap_or_default().trim();
        if !field(lad_cd).starts_with('E') {
            outside_england += 1;
            continue;
        }
        let code = |i: usize, column: &str, problems: &mut Vec<Problem>| {
            GssCode::parse(field(i))
                .map_err(|e| problems.push(table.problem(row.line, column, e.to_string())))
                .ok()
        };
        let (Some(lad), Some(cty)) = (
            code(lad_cd, &table.headers()[lad_cd], &mut problems),
            code(cty_cd, &table.headers()[cty_cd], &mut problems),
        ) else {
            continue;
        };
        let (lad_name, cty_name) = (field(lad_nm).to_owned(), field(cty_nm).to_owned());
        if let Some(first) = districts_seen.insert(lad.clone(), row.line) {
            problems.push(table.problem(
                row.line,
                &table.headers()[lad_cd],
                format!("duplicate row: district {lad} is already on line {first}"),
            ));
            continue;
        }
        let Some(authority) = codes.get(&cty).cloned() else {
            problems.push(table.problem(
                row.line,
                &table.headers()[cty_cd],
                format!(
                    "{cty} ({cty_name}) has no DfE LA code in Placeledger's list \
                     (seeds/reference/la_codes.csv): add it there"
                ),
            ));
            continue;
        };
        match state.authorities.get(&authority) {
            Some(a) if a.gss != cty => problems.push(table.problem(
                row.line,
                &table.headers()[cty_cd],
                format!(
                    "authority {authority} is registered with {}, not {cty}: changing an \
                     authority is not an import",
                    a.gss
                ),
            )),
            Some(_) => {}
            None => {
                if authorities.insert(authority.clone(), cty.clone()).is_none() {
                    parsed.commands.push(Command::RegisterAuthority {
                        authority: authority.clone(),
                        gss: cty.clone(),
                        name: cty_name.clone(),
                    });
                    parsed.lines.push(row.line);
                    new_authorities += 1;
                }
            }
        }
        match state.districts.get(&lad) {
            Some(d) if d.authority != authority => problems.push(table.problem(
                row.line,
                &table.headers()[lad_cd],
                format!(
                    "district {lad} is registered in authority {}, not {authority}",
                    d.authority
                ),
            )),
            Some(_) => already += 1,
            None => {
                parsed.commands.push(Command::RegisterDistrict {
                    district: lad,
                    authority,
                    name: lad_name,
                });
                parsed.lines.push(row.line);
                new_districts += 1;
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    parsed.notes.push(format!(
        "{new_authorities} authorities and {new_districts} districts to register; \
         {already} districts already registered"
    ));
    if outside_england > 0 {
        parsed.notes.push(format!(
            "passed over {outside_england} rows outside England (Placeledger plans English authorities)"
        ));
    }
    Ok(parsed)
}
