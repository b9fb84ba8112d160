//! The placement tables an authority publishes to its partners: a fixed cube of groupings,
//! protected together (see [`super::protect`]).

use std::collections::BTreeMap;

use placeledger_domain::AuthorityCode;
use placeledger_placements::{Group, GroupBy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::protect::{Cells, Relation, protect};
use super::{Published, is_small};

const fn by(district: bool, kind: bool, need: bool, ncy: bool, location: bool) -> GroupBy {
    GroupBy {
        authority: false,
        district,
        kind,
        need,
        ncy,
        location,
    }
}

/// The groupings published to partners: the total; each of district, kind, need, NCY and
/// location; district x kind, district x need, kind x need and kind x location. Other
/// groupings are not published (a partner asking for one is told which are).
pub const TABLES: [GroupBy; 10] = [
    by(false, false, false, false, false),
    by(true, false, false, false, false),
    by(false, true, false, false, false),
    by(false, false, true, false, false),
    by(false, false, false, true, false),
    by(false, false, false, false, true),
    by(true, true, false, false, false),
    by(true, false, true, false, false),
    by(false, true, true, false, false),
    by(false, true, false, false, true),
];

/// The dimensions of a grouping, in the API's words, e.g. `district+kind` (`total`: none).
pub fn name(g: GroupBy) -> String {
    let names: Vec<&str> = [
        (g.district, "district"),
        (g.kind, "kind"),
        (g.need, "need"),
        (g.ncy, "ncy"),
        (g.location, "location"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.then_some(n))
    .collect();
    if names.is_empty() {
        "total".to_owned()
    } else {
        names.join("+")
    }
}

fn dims(g: GroupBy) -> usize {
    [g.district, g.kind, g.need, g.ncy, g.location]
        .into_iter()
        .filter(|x| *x)
        .count()
}

/// Whether `fine` is `coarse` with one more dimension.
fn one_finer(coarse: GroupBy, fine: GroupBy) -> bool {
    let c = [
        coarse.district,
        coarse.kind,
        coarse.need,
        coarse.ncy,
        coarse.location,
    ];
    let f = [fine.district, fine.kind, fine.need, fine.ncy, fine.location];
    c.iter().zip(&f).all(|(c, f)| !c || *f) && dims(fine) == dims(coarse) + 1
}

/// `g` seen at grouping `by` (the dimensions it does not group by cleared).
pub fn project(g: &Group, by: GroupBy) -> Group {
    Group {
        authority: g.authority.clone(),
        district: g.district.clone().filter(|_| by.district),
        kind: g.kind.filter(|_| by.kind),
        need: g.need.filter(|_| by.need),
        ncy: g.ncy.filter(|_| by.ncy),
        location: g.location.filter(|_| by.location),
    }
}

/// A cell's name, stable across publications: its grouping and its values.
pub fn cell_name(table: GroupBy, g: &Group) -> String {
    let v = |o: Option<String>| o.unwrap_or_else(|| "-".to_owned());
    let mut parts = vec![name(table)];
    if table.district {
        parts.push(v(g.district.as_ref().map(|x| x.as_str().to_owned())));
    }
    if table.kind {
        parts.push(v(g.kind.map(|x| x.code().to_owned())));
    }
    if table.need {
        parts.push(v(g.need.map(|x| x.code().to_owned())));
    }
    if table.ncy {
        parts.push(v(g.ncy.map(|x| x.to_string())));
    }
    if table.location {
        parts.push(v(g.location.map(|x| x.code().to_owned())));
    }
    parts.join("|")
}

/// A stable key from a cell's name and its authority (the secondary-cell order).
pub(crate) fn key(a: &AuthorityCode, name: &str) -> u64 {
    let digest = Sha256::digest(format!("{a}/{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// One published table of the cube.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedTable {
    pub by: GroupBy,
    pub cells: Vec<(Group, Published)>,
}

/// The cube protected: every table of [`TABLES`] as published, and the last value published
/// for each cell by name, this publication included (what the next one compares against).
#[derive(Debug, Clone, PartialEq)]
pub struct Protected {
    pub tables: Vec<PublishedTable>,
    pub published: BTreeMap<String, i64>,
    /// How many cells were withheld, and how many of them for protection only (secondary).
    pub withheld: usize,
    pub secondary: usize,
}

/// Protects `a`'s cube, made from its finest counts (`fine`: every dimension grouped).
/// Sensitive (primary): counts of 1-4, and counts that differ by 1-4 from the value last
/// published for the same cell (`last`), so a pair of publications does not reveal a small
/// change (a child's arrival or departure).
pub fn protect_cube(
    a: &AuthorityCode,
    fine: &BTreeMap<Group, u32>,
    last: &BTreeMap<String, i64>,
) -> Protected {
    let mut cells = Cells::default();
    // Per table: each cell's group and index.
    let mut index: Vec<BTreeMap<Group, usize>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for table in TABLES {
        let mut counts: BTreeMap<Group, i64> = BTreeMap::new();
        for (g, n) in fine {
            *counts.entry(project(g, table)).or_default() += i64::from(*n);
        }
        let mut at = BTreeMap::new();
        for (g, v) in counts {
            let n = cell_name(table, &g);
            let changed_a_little = last.get(&n).is_some_and(|l| is_small((v - l).abs()));
            let level = u8::try_from(dims(table)).unwrap_or(u8::MAX);
            let i = cells.push(v, is_small(v) || changed_a_little, level, key(a, &n));
            names.push(n);
            at.insert(g, i);
        }
        index.push(at);
    }
    for (ci, coarse) in TABLES.iter().enumerate() {
        for (fi, finer) in TABLES.iter().enumerate() {
            if !one_finer(*coarse, *finer) {
                continue;
            }
            let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (g, i) in &index[fi] {
                if let Some(t) = index[ci].get(&project(g, *coarse)) {
                    parts.entry(*t).or_default().push(*i);
                }
            }
            for (total, parts) in parts {
                cells.relations.push(Relation { total, parts });
            }
        }
    }
    let withheld = protect(&cells);
    // The last value published for every cell ever published: withheld cells keep theirs;
    // a cell no longer present is published as 0 (absent cells are zeros).
    let present: std::collections::BTreeSet<&String> = names.iter().collect();
    let mut published: BTreeMap<String, i64> = last
        .iter()
        .map(|(n, v)| (n.clone(), if present.contains(n) { *v } else { 0 }))
        .collect();
    let tables = TABLES
        .iter()
        .zip(index)
        .map(|(by, at)| PublishedTable {
            by: *by,
            cells: at
                .into_iter()
                .map(|(g, i)| {
                    let shown = (!withheld[i]).then_some(cells.values[i]);
                    if let Some(v) = shown {
                        published.insert(names[i].clone(), v);
                    }
                    (g, shown)
                })
                .collect(),
        })
        .collect();
    let count = withheld.iter().filter(|w| **w).count();
    let primary = cells.sensitive.iter().filter(|s| **s).count();
    Protected {
        tables,
        published,
        withheld: count,
        secondary: count - primary,
    }
}
