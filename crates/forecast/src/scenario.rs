//! Scenario levers as the engine applies them, and the comparison of two forecasts.
//!
//! Capacity levers (open, expand, close) change the inputs' places before a forecast (see
//! `from_projections::apply_scenario`); the rest change how the engine turns plans into
//! demand and cost: [`Levers`].

use std::collections::BTreeMap;

use placeledger_domain::{AuthorityCode, GssCode, Phase, PrimaryNeed};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::{Forecast, Row};
use crate::kind::{AGES, PlaceKind, phase_index, phase_of};
use crate::model::{KINDS, PH, need_index, needs};

/// `share` of the new plans of `need` at academic ages `from_age..=to_age` go to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub need: PrimaryNeed,
    pub from_age: u8,
    pub to_age: u8,
    pub to: PlaceKind,
    /// 0 to 1.
    pub share: f64,
}

/// The levers that change the engine's arithmetic (not its inputs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Levers {
    /// The authority whose scenario these are: the levers move only its cells (a lever for
    /// "all" authorities means all of its own; see [`Forecast::scoped_to`]). `None`: levers
    /// made by hand for every authority (tests).
    pub owner: Option<AuthorityCode>,
    /// Multipliers on new plans, for one authority or (`None`) all.
    pub incidence: Vec<(Option<AuthorityCode>, f64)>,
    pub shifts: Vec<Shift>,
    /// Share (0 to 1) of those bound for independent special schools after a phase
    /// transfer who go to the authority's special schools instead.
    pub transfer: Vec<(Option<AuthorityCode>, f64)>,
    /// Annual cost of a kind of place for an authority from a January on.
    pub costs: Vec<(AuthorityCode, PlaceKind, i32, Decimal)>,
}

impl Levers {
    /// Whether a lever for `x` (`None`: every authority the levers may touch) moves
    /// authority `a`.
    fn touches(&self, x: Option<&AuthorityCode>, a: &AuthorityCode) -> bool {
        x.or(self.owner.as_ref()).is_none_or(|x| x == a)
    }

    pub(crate) fn incidence_for(&self, a: &AuthorityCode) -> f64 {
        self.incidence
            .iter()
            .filter(|(x, _)| self.touches(x.as_ref(), a))
            .map(|(_, m)| *m)
            .product()
    }

    pub(crate) fn transfer_for(&self, a: &AuthorityCode) -> f64 {
        // Several reductions compound: 50% then 50% leaves a quarter.
        1.0 - self
            .transfer
            .iter()
            .filter(|(x, _)| self.touches(x.as_ref(), a))
            .map(|(_, s)| 1.0 - s.clamp(0.0, 1.0))
            .product::<f64>()
    }

    /// The cost scenario levers set for January `year`, if any.
    pub(crate) fn cost(&self, a: &AuthorityCode, k: PlaceKind, year: i32) -> Option<Decimal> {
        self.costs
            .iter()
            .filter(|(x, kind, from, _)| x == a && *kind == k && *from <= year)
            .max_by_key(|(_, _, from, _)| *from)
            .map(|(_, _, _, c)| *c)
    }
}

/// Whether a child of academic age `a` in forecast year `step` (0: the first) has passed a
/// phase transfer (into Y7 at 11, into post-16 at 16) since the origin.
fn transferred(a: usize, step: usize) -> bool {
    ((11..=15).contains(&a) && a - 11 <= step) || ((16..AGES).contains(&a) && a - 16 <= step)
}

fn move_share(row: &mut [f64], from: PlaceKind, to: PlaceKind, share: f64) {
    let moved = row[from.index()] * share;
    row[from.index()] -= moved;
    row[to.index()] += moved;
}

fn shift_row(row: &mut [f64], to: PlaceKind, share: f64) {
    for x in row.iter_mut() {
        *x *= 1.0 - share;
    }
    row[to.index()] += share;
}

/// The placement mix by age and need `[a][n][k]` in forecast year `step`: for plans held at
/// the origin (`.0`) and for plans new since (`.1`, which the shifts also move).
pub(crate) fn step_mix(
    mix: &[f64],
    authority: &AuthorityCode,
    levers: &Levers,
    step: usize,
) -> (Vec<f64>, Vec<f64>) {
    let nn = needs();
    let mut old = vec![0.0; AGES * nn * KINDS];
    for a in 0..AGES {
        let p = phase_index(phase_of(a)).unwrap_or(PH - 1);
        for n in 0..nn {
            old[(a * nn + n) * KINDS..(a * nn + n + 1) * KINDS]
                .copy_from_slice(&mix[(p * nn + n) * KINDS..(p * nn + n + 1) * KINDS]);
        }
    }
    let r = levers.transfer_for(authority);
    if r > 0.0 {
        for a in (0..AGES).filter(|a| transferred(*a, step)) {
            for n in 0..nn {
                let row = &mut old[(a * nn + n) * KINDS..(a * nn + n + 1) * KINDS];
                move_share(row, PlaceKind::Independent, PlaceKind::Special, r);
            }
        }
    }
    let mut new = old.clone();
    for s in levers
        .shifts
        .iter()
        .filter(|_| levers.touches(None, authority))
    {
        let n = need_index(s.need);
        for a in usize::from(s.from_age)..=usize::from(s.to_age).min(AGES - 1) {
            shift_row(
                &mut new[(a * nn + n) * KINDS..(a * nn + n + 1) * KINDS],
                s.to,
                s.share.clamp(0.0, 1.0),
            );
        }
    }
    (old, new)
}

/// A trend forecast's cell shares `[d][p][n][k]` in forecast year `step`, with the levers
/// applied at the granularity it has: a phase's share moves in proportion to the ages of
/// the phase a shift covers, or that have passed a transfer.
pub(crate) fn step_shares(
    share: &[f64],
    districts: usize,
    authority: &AuthorityCode,
    levers: &Levers,
    step: usize,
) -> Vec<f64> {
    let nn = needs();
    let mut out = share.to_vec();
    if out.len() != districts * PH * nn * KINDS {
        return out;
    }
    let ages_of = |p: usize| (0..AGES).filter(move |a| phase_index(phase_of(*a)) == Some(p));
    let r = levers.transfer_for(authority);
    for d in 0..districts {
        for p in 0..PH {
            let in_phase = ages_of(p).count() as f64;
            let passed = ages_of(p).filter(|a| transferred(*a, step)).count() as f64;
            for n in 0..nn {
                let i = ((d * PH + p) * nn + n) * KINDS;
                let total: f64 = out[i..i + KINDS].iter().sum();
                if total <= 0.0 {
                    continue;
                }
                let mut row: Vec<f64> = out[i..i + KINDS].iter().map(|x| x / total).collect();
                if r > 0.0 && passed > 0.0 {
                    move_share(
                        &mut row,
                        PlaceKind::Independent,
                        PlaceKind::Special,
                        r * passed / in_phase,
                    );
                }
                for s in levers
                    .shifts
                    .iter()
                    .filter(|s| need_index(s.need) == n && levers.touches(None, authority))
                {
                    let covered = ages_of(p)
                        .filter(|a| (usize::from(s.from_age)..=usize::from(s.to_age)).contains(a))
                        .count() as f64;
                    if covered > 0.0 {
                        shift_row(&mut row, s.to, s.share.clamp(0.0, 1.0) * covered / in_phase);
                    }
                }
                for (k, x) in row.iter().enumerate() {
                    out[i + k] = x * total;
                }
            }
        }
    }
    out
}

/// One cell's change from one forecast to another (other minus base, at the median).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellChange {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    pub need: Option<PrimaryNeed>,
    pub demand: i64,
    pub capacity: i64,
    pub surplus: i64,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
    /// Whether the cell turns from a deficit to a surplus (or back).
    pub deficit_before: bool,
    pub deficit_after: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base: Option<String>,
    pub other: Option<String>,
    /// Every cell that differs.
    pub changes: Vec<CellChange>,
    /// The difference in annual cost per year, and over the whole horizon (cells without a
    /// recorded cost left out).
    pub cost_by_year: BTreeMap<i32, Decimal>,
    pub total_cost: Decimal,
}

type Key = (
    AuthorityCode,
    GssCode,
    i32,
    Phase,
    PlaceKind,
    Option<PrimaryNeed>,
);

fn key(r: &Row) -> Key {
    (
        r.authority.clone(),
        r.district.clone(),
        r.year,
        r.phase,
        r.kind,
        r.need,
    )
}

/// What `other` changes against `base`, cell by cell and in total cost.
pub fn compare(base: &Forecast, other: &Forecast) -> Comparison {
    let before: BTreeMap<Key, &Row> = base.rows.iter().map(|r| (key(r), r)).collect();
    let after: BTreeMap<Key, &Row> = other.rows.iter().map(|r| (key(r), r)).collect();
    let mut keys: Vec<&Key> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changes = Vec::new();
    let mut cost_by_year: BTreeMap<i32, Decimal> = BTreeMap::new();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let f = |r: Option<&&Row>, g: fn(&Row) -> i64| r.map_or(0, |r| g(r));
        let cost = |r: Option<&&Row>| r.and_then(|r| r.annual_cost).unwrap_or(Decimal::ZERO);
        let change = CellChange {
            authority: k.0.clone(),
            district: k.1.clone(),
            year: k.2,
            phase: k.3,
            kind: k.4,
            need: k.5,
            demand: f(a, |r| r.demand.p50) - f(b, |r| r.demand.p50),
            capacity: f(a, |r| i64::from(r.capacity.unwrap_or(0)))
                - f(b, |r| i64::from(r.capacity.unwrap_or(0))),
            surplus: f(a, |r| r.surplus.map_or(0, |s| s.p50))
                - f(b, |r| r.surplus.map_or(0, |s| s.p50)),
            out_of_county: f(a, |r| r.out_of_county.p50) - f(b, |r| r.out_of_county.p50),
            annual_cost: match (a.and_then(|r| r.annual_cost), b.and_then(|r| r.annual_cost)) {
                (None, None) => None,
                _ => Some(cost(a) - cost(b)),
            },
            deficit_before: b.is_some_and(|r| r.is_deficit()),
            deficit_after: a.is_some_and(|r| r.is_deficit()),
        };
        if k.5.is_none()
            && let Some(c) = change.annual_cost
        {
            *cost_by_year.entry(k.2).or_default() += c;
        }
        let differs = change.demand != 0
            || change.capacity != 0
            || change.surplus != 0
            || change.out_of_county != 0
            || change.annual_cost.is_some_and(|c| !c.is_zero());
        if differs {
            changes.push(change);
        }
    }
    let total_cost = cost_by_year.values().copied().sum();
    Comparison {
        base: base.scenario.clone(),
        other: other.scenario.clone(),
        changes,
        cost_by_year,
        total_cost,
    }
}

impl Forecast {
    /// The forecast of a scenario owned by `owner`, with every other authority's cells taken
    /// from `baseline`: a scenario is one authority's plan, and cannot change another
    /// authority's forecast. (In the scenario's own run the authorities still share spare
    /// places under their agreements, so the owner's use of partners' places is worked out
    /// with the owner's new demand; what that would do to a partner's own children is not
    /// the owner's to decide and is left at the baseline.) Rows keep the engine's order:
    /// year, then authority, then district.
    pub fn scoped_to(mut self, owner: &AuthorityCode, baseline: &Forecast) -> Forecast {
        let mut rows: Vec<Row> = std::mem::take(&mut self.rows)
            .into_iter()
            .filter(|r| &r.authority == owner)
            .chain(
                baseline
                    .rows
                    .iter()
                    .filter(|r| &r.authority != owner)
                    .cloned(),
            )
            .collect();
        // Stable: within a year and authority the rows keep their own order.
        rows.sort_by(|a, b| (a.year, &a.authority).cmp(&(b.year, &b.authority)));
        self.rows = rows;
        self.totals = crate::engine::totals(&self.rows);
        for (a, years) in &baseline.caseload {
            if a != owner {
                self.caseload.insert(a.clone(), years.clone());
            }
        }
        for (a, flags) in &baseline.flags {
            if a != owner {
                self.flags.insert(a.clone(), flags.clone());
            }
        }
        for (a, rates) in &baseline.rates {
            if a != owner {
                self.rates.insert(a.clone(), rates.clone());
            }
        }
        // Mainstream places move with no lever: every authority's are the baseline's already.
        self
    }
}
