//! Disclosure control: exactly what a partner authority may be shown, made here and nowhere
//! else.
//!
//! A partner never reads the live read models. Once per publication period (a day by
//! default) an authority's **publication** is made: a fixed set of placement tables (the
//! cube, [`cube::TABLES`]) and its shared sufficiency figures, protected together by primary
//! and secondary cell suppression audited over every table and every published total at once
//! ([`protect`]), and stored ([`crate::storage`]) so that every node serves the same figures
//! for the whole period. A cell therefore has one published value in every answer, whatever
//! grouping it was asked in and in what order. A cell whose value differs by 1-4 from the
//! value last published for it is sensitive too, so two publications side by side do not show
//! a child arriving or leaving.
//!
//! An authority's own readers see their own figures live and in full.

pub mod cube;
pub mod protect;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{AcademicYear, AuthorityCode, GssCode, Phase};
use placeledger_forecast::{Forecast, PlaceKind};
use placeledger_placements::{Group, GroupBy};
use serde::{Deserialize, Serialize};

use crate::read::ReadModels;
use cube::PublishedTable;
use protect::{Cells, Relation};

/// A count as published to a partner: the value, or `None` where it is withheld.
pub type Published = Option<i64>;

/// Whether a count is small enough to identify children: 1 to 4.
pub fn is_small(v: i64) -> bool {
    (1..=4).contains(&v)
}

/// An authority's current placements, as the caller may see them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementSummary {
    pub authority: AuthorityCode,
    pub position: u64,
    /// Each group (dimensions not grouped by are `None`) and its count as published.
    pub cells: Vec<(Group, Published)>,
    pub total: Published,
    /// Other authorities' residents placed in this authority's settings.
    pub imports: Published,
    /// This authority's residents placed in other authorities' settings.
    pub exports: Published,
    /// Whether small numbers were withheld (partners).
    pub suppressed: bool,
}

/// `a`'s current placements (in `year`) grouped by `by` (always within `a`, its resident
/// authority), live and in full: what its own readers see.
pub fn placement_summary(
    models: &ReadModels,
    a: &AuthorityCode,
    by: GroupBy,
    year: AcademicYear,
) -> PlacementSummary {
    let group = GroupBy {
        authority: true,
        ..by
    };
    let cells: Vec<(Group, Published)> = models
        .placements
        .summary(group, year)
        .into_iter()
        .filter(|(g, _)| g.authority.as_ref() == Some(a))
        .map(|(g, n)| (g, Some(i64::from(n))))
        .collect();
    let (imports, exports) = models
        .placements
        .imports_and_exports()
        .get(a)
        .map_or((0, 0), |(i, e)| (i64::from(*i), i64::from(*e)));
    PlacementSummary {
        authority: a.clone(),
        position: models.position,
        total: Some(cells.iter().filter_map(|(_, n)| *n).sum()),
        cells,
        imports: Some(imports),
        exports: Some(exports),
        suppressed: false,
    }
}

/// A partner's view of one cell of another authority's sufficiency forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedCell {
    pub district: GssCode,
    pub district_name: String,
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    /// Children needing this kind of place (median).
    pub demand: Published,
    /// Places in the district's settings of this kind.
    pub capacity: Published,
}

impl SharedCell {
    /// True where any figure of this cell is withheld.
    pub fn suppressed(&self) -> bool {
        self.demand.is_none() || self.capacity.is_none()
    }
}

/// The authority's total of one (year, phase, kind) over its districts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedTotal {
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    pub demand: Published,
    pub capacity: Published,
}

/// What an authority shares with a partner under their agreement: aggregates only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedPlaceData {
    pub authority: AuthorityCode,
    /// The event position the figures reflect.
    pub position: u64,
    pub cells: Vec<SharedCell>,
    pub totals: Vec<SharedTotal>,
}

/// `a`'s sufficiency by district x phase x kind x year (all needs, medians), each (year,
/// phase, kind) a line of districts with its total, protected as a partner sees it
/// ([`protect`]), labelled with the event `position` it reflects. `last`: the values last
/// published (a change of 1-4 since is withheld too); returns the data and the values
/// published now.
pub fn shared_place_data(
    f: &Forecast,
    models: &ReadModels,
    a: &AuthorityCode,
    position: u64,
    last: &BTreeMap<String, i64>,
) -> (SharedPlaceData, BTreeMap<String, i64>) {
    /// (year, phase, kind) -> district -> (demand, capacity)
    type Groups = BTreeMap<(i32, Phase, PlaceKind), BTreeMap<GssCode, (i64, i64)>>;
    let mut groups = Groups::new();
    for r in f
        .rows
        .iter()
        .filter(|r| &r.authority == a && r.need.is_none())
    {
        let cell = groups
            .entry((r.year, r.phase, r.kind))
            .or_default()
            .entry(r.district.clone())
            .or_default();
        cell.0 += r.demand.p50;
        cell.1 += i64::from(r.capacity.unwrap_or(0));
    }
    // Each figure protected over all its years at once: a cell withheld in one year is
    // withheld in every year (a district's figure is often the same next year, so publishing
    // it in one year would give it away in another), until the pattern holds.
    let build = |figure: &str, forced: &std::collections::BTreeSet<String>| {
        let mut lines = Lines::default();
        for ((year, phase, kind), districts) in &groups {
            let across = format!("{figure}|{}|{}", phase.code(), kind.code());
            lines.line(
                a,
                &format!("{figure}|{year}|{}|{}", phase.code(), kind.code()),
                &across,
                districts.iter().map(|(d, c)| {
                    let v = if figure == "demand" { c.0 } else { c.1 };
                    (d.as_str(), v)
                }),
                last,
                forced,
            );
        }
        lines
    };
    let (demand, demand_out) = protect_across_years(|f| build("demand", f));
    let (capacity, capacity_out) = protect_across_years(|f| build("capacity", f));
    let mut published = last.clone();
    let mut shown = |lines: &Lines, withheld: &[bool], i: usize| -> Published {
        let v = (!withheld[i]).then_some(lines.cells.values[i]);
        if let Some(v) = v {
            published.insert(lines.names[i].clone(), v);
        }
        v
    };
    let mut cells = Vec::new();
    let mut totals = Vec::new();
    let mut i = 0;
    for ((year, phase, kind), districts) in groups {
        for d in districts.keys() {
            cells.push(SharedCell {
                district: d.clone(),
                district_name: models.district_name(a, d),
                year,
                phase,
                kind,
                demand: shown(&demand, &demand_out, i),
                capacity: shown(&capacity, &capacity_out, i),
            });
            i += 1;
        }
        totals.push(SharedTotal {
            year,
            phase,
            kind,
            demand: shown(&demand, &demand_out, i),
            capacity: shown(&capacity, &capacity_out, i),
        });
        i += 1;
    }
    (
        SharedPlaceData {
            authority: a.clone(),
            position,
            cells,
            totals,
        },
        published,
    )
}

/// Lines of cells, each with its total after its cells, to protect together.
#[derive(Debug, Default)]
struct Lines {
    cells: Cells,
    names: Vec<String>,
    /// Each cell's name without its year: the same cell in every year.
    across: Vec<String>,
}

impl Lines {
    /// Adds a line: its cells by district and its total. `forced`: cells (by `across` name)
    /// withheld whatever their value, because they are withheld in another year.
    fn line<'a>(
        &mut self,
        a: &AuthorityCode,
        line: &str,
        across: &str,
        values: impl Iterator<Item = (&'a str, i64)>,
        last: &BTreeMap<String, i64>,
        forced: &std::collections::BTreeSet<String>,
    ) {
        let mut parts = Vec::new();
        let mut sum = 0;
        let add = |me: &mut Self, name: String, across: String, v: i64, level| {
            let moved = last.get(&name).is_some_and(|l| is_small((v - l).abs()));
            let sensitive = is_small(v) || moved || forced.contains(&across);
            // Keyed by the year-free name: the same second cells are chosen every year.
            let i = me.cells.push(v, sensitive, level, cube::key(a, &across));
            me.names.push(name);
            me.across.push(across);
            i
        };
        for (district, v) in values {
            sum += v;
            let name = format!("shared|{line}|{district}");
            parts.push(add(self, name, format!("{across}|{district}"), v, 1));
        }
        let total = add(
            self,
            format!("shared|{line}|total"),
            format!("{across}|total"),
            sum,
            0,
        );
        self.cells.relations.push(Relation { total, parts });
    }
}

/// Protects lines made by `build` so that a cell withheld in any year is withheld in all:
/// builds, protects, forces what was withheld, and again until nothing new is withheld.
fn protect_across_years(
    build: impl Fn(&std::collections::BTreeSet<String>) -> Lines,
) -> (Lines, Vec<bool>) {
    let mut forced = std::collections::BTreeSet::new();
    loop {
        let lines = build(&forced);
        let withheld = protect::protect(&lines.cells);
        let before = forced.len();
        for (i, w) in withheld.iter().enumerate() {
            if *w {
                forced.insert(lines.across[i].clone());
            }
        }
        if forced.len() == before {
            return (lines, withheld);
        }
    }
}

/// Everything an authority shows its partners for one publication period: the placement
/// cube and the shared sufficiency figures, protected, with the values published so far
/// (for the next period's comparison). Stored as JSON, served by every node unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    pub authority: AuthorityCode,
    pub period: i64,
    /// The event position the figures reflect.
    pub position: u64,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub placements: Vec<PublishedTable>,
    /// `None` when the forecast could not be made.
    pub shared: Option<SharedPlaceData>,
    /// The last value published for each cell, by name (placements and shared figures).
    pub last_placements: BTreeMap<String, i64>,
    pub last_shared: BTreeMap<String, i64>,
    /// Cells withheld in the placement cube, and how many of them only to protect others.
    pub withheld: usize,
    pub secondary: usize,
}

impl Publication {
    /// The table grouped `by` (authority aside), if it is one the cube publishes.
    pub fn table(&self, by: GroupBy) -> Option<&PublishedTable> {
        let by = GroupBy {
            authority: false,
            ..by
        };
        self.placements.iter().find(|t| t.by == by)
    }

    /// The placement summary grouped `by` as published: `None` if the cube has no such table.
    pub fn placement_summary(&self, by: GroupBy) -> Option<PlacementSummary> {
        let table = self.table(by)?;
        let total = self
            .table(GroupBy::default())
            .and_then(|t| t.cells.first())
            .and_then(|(_, v)| *v);
        Some(PlacementSummary {
            authority: self.authority.clone(),
            position: self.position,
            cells: table.cells.clone(),
            total,
            // A partner knows its own children among another authority's imports and
            // exports: subtracting them would show the rest, so neither is published.
            imports: None,
            exports: None,
            suppressed: true,
        })
    }
}

/// Makes `a`'s publication for `period` from the read models (and the baseline forecast, if
/// there is one), comparing with the previous publication.
pub fn publish(
    models: &ReadModels,
    forecast: Option<&Forecast>,
    a: &AuthorityCode,
    period: i64,
    previous: Option<&Publication>,
    year: AcademicYear,
) -> Publication {
    let all = GroupBy {
        authority: true,
        district: true,
        kind: true,
        need: true,
        ncy: true,
        location: true,
    };
    let fine: BTreeMap<Group, u32> = models
        .placements
        .summary(all, year)
        .into_iter()
        .filter(|(g, _)| g.authority.as_ref() == Some(a))
        .collect();
    let empty = BTreeMap::new();
    let cube = cube::protect_cube(a, &fine, previous.map_or(&empty, |p| &p.last_placements));
    let last_shared = previous.map_or(&empty, |p| &p.last_shared);
    let (shared, last_shared) = match forecast {
        Some(f) => {
            let (data, published) = shared_place_data(f, models, a, models.position, last_shared);
            (Some(data), published)
        }
        None => (None, last_shared.clone()),
    };
    Publication {
        authority: a.clone(),
        period,
        position: models.position,
        published_at: chrono::Utc::now(),
        placements: cube.tables,
        shared,
        last_placements: cube.published,
        last_shared,
        withheld: cube.withheld,
        secondary: cube.secondary,
    }
}

/// The date access to shared data is judged on.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}
