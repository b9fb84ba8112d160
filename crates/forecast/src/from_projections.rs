//! Forecast inputs from the read models: caseload (children or SEN2 tables), capacity,
//! mainstream (geography and population) and costs. Pure: it reads folded state only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use placeledger_capacity::Capacity;
use placeledger_caseload::{Caseload, census_day};
use placeledger_costs::Costs;
use placeledger_domain::{AcademicYear, AuthorityCode, Lever, ProvisionKind, Urn};
use placeledger_mainstream::Mainstream;
use rust_decimal::Decimal;

use crate::inputs::{Authority, CapacityKey, ChildHistory, Inputs, SendHistory, TableHistory};
use crate::kind::{AGES, MAX_AGE, PHASES, PlaceKind, phase_of};
use crate::mainstream::{Housing, MainstreamArea};
use crate::scenario::{Levers, Shift};

/// The read models a forecast is made from.
#[derive(Debug, Clone, Copy)]
pub struct Projections<'a> {
    pub caseload: &'a Caseload,
    pub capacity: &'a Capacity,
    pub mainstream: &'a Mainstream,
    pub costs: &'a Costs,
}

/// Years of capacity worked out beyond the last January: the longest horizon.
const AHEAD: i32 = 25;

/// Builds forecast inputs from the projections. `sharing` lists `(provider, partner)` pairs.
pub fn inputs(p: Projections<'_>, sharing: BTreeSet<(AuthorityCode, AuthorityCode)>) -> Inputs {
    let authorities = authorities_of(p);
    let januaries = januaries_of(p);
    let mut children = child_histories(p, &januaries, &authorities);
    start_where_the_log_is_whole(p, &mut children, &januaries);
    published_after_the_log(p, &mut children);
    let mut send = BTreeMap::new();
    for code in authorities.keys() {
        if let Some(h) = children.remove(code) {
            send.insert(code.clone(), SendHistory::Children(h));
        } else if let Some(tables) = p.caseload.published(code) {
            send.insert(code.clone(), SendHistory::Tables(tables_of(tables)));
        }
    }

    let population = population_of(p, &authorities);
    let table_years: Vec<i32> = send.values().flat_map(|h| h.totals().into_keys()).collect();
    // The Januaries known, child-level or as tables.
    let known = || januaries.iter().chain(&table_years).copied();
    let last_january = known().max().unwrap_or(2015);
    let first_january = known().min().unwrap_or(last_january);
    let placed = placed_today(p, &januaries);
    let age_profile = age_profile_of(&placed);
    let capacity = capacity_of(p, &authorities, &age_profile, first_january, last_january);
    let mix = placement_mix(&placed);
    let on_record = p.costs.on(NaiveDate::MAX);
    let cost_basis = cost_basis_of(&on_record, &mix);
    let costs = costs_of(on_record, &mix);
    let (mainstream, housing) = mainstream_inputs(p, &authorities);
    Inputs {
        authorities,
        send,
        population,
        capacity,
        costs,
        cost_basis,
        price_base: p
            .costs
            .price_dates()
            .into_iter()
            .map(|(a, d)| {
                let y = chrono::Datelike::year(&d);
                (
                    a,
                    if chrono::Datelike::month(&d) >= 4 {
                        y
                    } else {
                        y - 1
                    },
                )
            })
            .collect(),
        sharing,
        mainstream,
        housing,
        england: p.caseload.national(),
        age_profile,
    }
}

/// The authorities with districts, by code.
fn authorities_of(p: Projections<'_>) -> BTreeMap<AuthorityCode, Authority> {
    p.mainstream
        .authorities()
        .iter()
        .filter(|(_, a)| !a.districts.is_empty())
        .map(|(code, a)| {
            (
                code.clone(),
                Authority {
                    name: a.name.clone(),
                    districts: a.districts.clone(),
                },
            )
        })
        .collect()
}

/// The Januaries the child-level log covers: from the January after the first plan issued
/// to the last January on or before the last date it records.
fn januaries_of(p: Projections<'_>) -> Vec<i32> {
    let last_date = p
        .caseload
        .children()
        .values()
        .flat_map(|l| {
            l.issued
                .into_iter()
                .chain(l.ceased)
                .chain(l.homes.iter().map(|h| h.0))
                .chain(l.placements.iter().map(|pl| pl.0))
        })
        .max();
    let first_year = p
        .caseload
        .children()
        .values()
        .filter_map(|l| l.issued)
        .min()
        .map(|d| chrono::Datelike::year(&d) + 1);
    match (first_year, last_date) {
        (Some(first), Some(last)) => (first..=chrono::Datelike::year(&last))
            .filter(|y| census_day(*y) <= last)
            .collect(),
        _ => Vec::new(),
    }
}

/// Each authority's child-level history per January: plans in force by district, age and
/// need, the new plans since the January before, ceased plans, placements.
fn child_histories(
    p: Projections<'_>,
    januaries: &[i32],
    registered: &BTreeMap<AuthorityCode, Authority>,
) -> BTreeMap<AuthorityCode, ChildHistory> {
    let mut children: BTreeMap<AuthorityCode, ChildHistory> = BTreeMap::new();
    for line in p.caseload.children().values() {
        let Some(born) = line.born else { continue };
        for y in januaries {
            let on = census_day(*y);
            let age = |y: i32| {
                AcademicYear::new(y - 1)
                    .ok()
                    .map(|ay| born.academic_age(ay))
                    .filter(|a| (0..=MAX_AGE as i32).contains(a))
                    .and_then(|a| u8::try_from(a).ok())
            };
            if line.in_force(on)
                && let (Some((authority, district)), Some(need), Some(a)) =
                    (line.home_on(on), line.need_on(on), age(*y))
            {
                let h = children.entry(authority.clone()).or_default();
                let key = (district, a, need);
                *h.january
                    .entry(*y)
                    .or_default()
                    .entry(key.clone())
                    .or_insert(0) += 1;
                let before = census_day(y - 1);
                if !line.transferred_in && line.issued.is_some_and(|d| d > before) {
                    *h.new_plans
                        .entry(*y)
                        .or_default()
                        .entry(key.clone())
                        .or_insert(0) += 1;
                }
                let phase = phase_of(usize::from(a));
                let (kind, setting_authority) = line
                    .placement_on(on)
                    .unwrap_or((ProvisionKind::NotRecorded, None));
                let kind = PlaceKind::of(kind);
                *h.placements
                    .entry(*y)
                    .or_default()
                    .entry((phase, need, kind))
                    .or_insert(0) += 1;
                let location = match setting_authority {
                    None => 0,
                    Some(s) if *s == authority => 0,
                    Some(s) if registered.contains_key(s) => 1,
                    Some(_) => 2,
                };
                h.located
                    .entry(*y)
                    .or_default()
                    .entry((key.0.clone(), phase, kind))
                    .or_insert([0; 3])[location] += 1;
            }
            // Ceased since last January, counted where and at the age it was then.
            let before = census_day(y - 1);
            if line.in_force(before)
                && line.ceased.is_some_and(|c| c <= on)
                && let (Some((authority, _)), Some(a)) = (line.home_on(before), age(y - 1))
            {
                *children
                    .entry(authority)
                    .or_default()
                    .ceased
                    .entry(*y)
                    .or_default()
                    .entry(a)
                    .or_insert(0) += 1;
            }
        }
    }
    children
}

/// A log that began part-way through history holds only the children whose plans were
/// still open when it began: each authority's history is cut to the Januaries it holds whole.
fn start_where_the_log_is_whole(
    p: Projections<'_>,
    children: &mut BTreeMap<AuthorityCode, ChildHistory>,
    januaries: &[i32],
) {
    // A log that began part-way through history holds only the children whose plans were
    // still open when it began: the Januaries before that undercount. Where SEN2 totals are
    // recorded too, the history starts at the first January the children add up to within
    // 5% of the published total; otherwise at the first January after plans are first seen
    // to cease (between January t-1 and t, so the log was running by January t).
    for (authority, h) in children.iter_mut() {
        let published: BTreeMap<i32, u32> = p
            .caseload
            .published(authority)
            .map(|t| tables_of(t).totals)
            .unwrap_or_default();
        let agrees = |y: &i32, cells: &BTreeMap<crate::inputs::SendKey, u32>| {
            published.get(y).is_some_and(|n| {
                let ours: u32 = cells.values().sum();
                f64::from(ours.abs_diff(*n)) <= 0.05 * f64::from(*n)
            })
        };
        let first = if published.is_empty() {
            h.ceased
                .iter()
                .find(|(_, by_age)| by_age.values().any(|n| *n > 0))
                .map(|(y, _)| *y)
        } else {
            h.january
                .iter()
                .find(|(y, c)| agrees(y, c))
                .map(|(y, _)| *y)
        };
        if let Some(first) = first {
            h.january.retain(|y, _| *y >= first);
            h.new_plans.retain(|y, _| *y >= first);
            h.placements.retain(|y, _| *y >= first);
            h.located.retain(|y, _| *y >= first);
            h.ceased.retain(|y, _| *y > first);
        }
        // Every January has an entry, even an empty one, so a year of no new plans is a zero.
        for y in januaries.iter().filter(|y| first.is_none_or(|f| **y >= f)) {
            h.new_plans.entry(*y).or_default();
            h.january.entry(*y).or_default();
        }
    }
}

/// DfE's Januaries after the last one each authority's child-level log holds.
fn published_after_the_log(
    p: Projections<'_>,
    children: &mut BTreeMap<AuthorityCode, ChildHistory>,
) {
    for (authority, h) in children.iter_mut() {
        let Some(last) = h.january.keys().next_back().copied() else {
            continue;
        };
        let Some(tables) = p.caseload.published(authority).map(tables_of) else {
            continue;
        };
        for (y, total) in tables.totals.range(last + 1..) {
            h.published.insert(
                *y,
                crate::inputs::PublishedJanuary {
                    total: *total,
                    ages: tables.ages.get(y).cloned().unwrap_or_default(),
                },
            );
        }
    }
}

/// Population by district, year and single year of age.
fn population_of(
    p: Projections<'_>,
    authorities: &BTreeMap<AuthorityCode, Authority>,
) -> crate::inputs::Population {
    let mut population = crate::inputs::Population::default();
    for a in authorities.values() {
        for d in a.districts.keys() {
            for (year, ages) in p.mainstream.population().get(d).into_iter().flatten() {
                for (age, persons) in &ages.single {
                    if usize::from(*age) < AGES {
                        let v: f64 = persons.persons.try_into().unwrap_or(0.0);
                        population.insert(d, *year, usize::from(*age), v);
                    }
                }
            }
        }
    }

    population
}

/// Commissioned places by district, kind and phase, each January from `first` to `AHEAD`
/// years after `last`: a setting's places shared over the phases of the ages it takes, in
/// proportion to the authority's children of those ages in that kind of place.
fn capacity_of(
    p: Projections<'_>,
    authorities: &BTreeMap<AuthorityCode, Authority>,
    profile: &BTreeMap<(AuthorityCode, PlaceKind), [f64; AGES]>,
    first_january: i32,
    last_january: i32,
) -> BTreeMap<
    (
        placeledger_domain::GssCode,
        PlaceKind,
        placeledger_domain::Phase,
    ),
    BTreeMap<i32, u32>,
> {
    let mut capacity: BTreeMap<_, BTreeMap<i32, u32>> = BTreeMap::new();
    for setting in p.capacity.settings().values() {
        let kind = PlaceKind::of(setting.provision());
        if !PlaceKind::COMMISSIONED.contains(&kind) {
            continue;
        }
        let authority = authorities
            .iter()
            .find(|(_, a)| a.districts.contains_key(&setting.district))
            .map(|(code, _)| code.clone());
        let shares = phase_shares(
            setting.low_age,
            setting.high_age,
            authority.and_then(|a| profile.get(&(a, kind))),
        );
        for y in first_january..=last_january + AHEAD {
            let Ok(year) = AcademicYear::new(y - 1) else {
                continue;
            };
            let places = if setting.open_on(census_day(y)) {
                setting.commissioned_places(year).unwrap_or(0)
            } else {
                0
            };
            for (phase, share) in PHASES.iter().zip(shares) {
                if share > 0.0 {
                    let entry = capacity
                        .entry((setting.district.clone(), kind, *phase))
                        .or_default()
                        .entry(y)
                        .or_insert(0);
                    *entry += (f64::from(places) * share).round() as u32;
                }
            }
        }
    }

    capacity
}

/// The annual cost of a place of each kind for each authority: the costs of the placement
/// types the kind covers, weighted by how many of the authority's children each type holds
/// (`mix`, the latest January): post-16 is mostly further education at about GBP 10k, with
/// a few specialist post-16 places at about GBP 56k, not the plain average of the two. Where
/// the authority has no child in any costed type of the kind, the types count alike. The
/// weighted rate is kept unrounded so that the kind's cost of today's children is exactly
/// the sum over the types (rows round to the penny).
pub fn costs_of(
    on_record: BTreeMap<(AuthorityCode, ProvisionKind), Decimal>,
    mix: &BTreeMap<(AuthorityCode, ProvisionKind), u32>,
) -> BTreeMap<(AuthorityCode, PlaceKind), Decimal> {
    // Per authority and kind: the children-weighted sum and its children, and the plain
    // sum and its types.
    let mut sums: BTreeMap<(AuthorityCode, PlaceKind), (Decimal, u32, Decimal, u32)> =
        BTreeMap::new();
    for ((authority, kind), cost) in on_record {
        let n = mix.get(&(authority.clone(), kind)).copied().unwrap_or(0);
        let e = sums.entry((authority, PlaceKind::of(kind))).or_insert((
            Decimal::ZERO,
            0,
            Decimal::ZERO,
            0,
        ));
        e.0 += cost * Decimal::from(n);
        e.1 += n;
        e.2 += cost;
        e.3 += 1;
    }
    sums.into_iter()
        .map(|(k, (weighted, children, plain, types))| {
            let rate = if children > 0 {
                weighted / Decimal::from(children)
            } else {
                plain / Decimal::from(types)
            };
            (k, rate.normalize())
        })
        .collect()
}

/// What each kind's cost is made from: its placement types' costs on record and the children
/// in each (see [`costs_of`]).
fn cost_basis_of(
    on_record: &BTreeMap<(AuthorityCode, ProvisionKind), Decimal>,
    mix: &BTreeMap<(AuthorityCode, ProvisionKind), u32>,
) -> BTreeMap<(AuthorityCode, PlaceKind), Vec<crate::inputs::CostBasis>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for ((authority, kind), cost) in on_record {
        let n = mix.get(&(authority.clone(), *kind)).copied().unwrap_or(0);
        out.entry((authority.clone(), PlaceKind::of(*kind)))
            .or_default()
            .push((*kind, *cost, n));
    }
    out
}

/// Each authority's children in one type of placement on the latest January: in all, and by
/// academic age where known.
#[derive(Default)]
struct Placed {
    all: u32,
    by_age: [f64; AGES],
}

/// Each authority's children by type of placement on the latest January: counted from
/// children where the authority records them, else from its latest published tables (the
/// placement table, and DfE's age x placement table where the release has one).
fn placed_today(
    p: Projections<'_>,
    januaries: &[i32],
) -> BTreeMap<(AuthorityCode, ProvisionKind), Placed> {
    let mut out: BTreeMap<(AuthorityCode, ProvisionKind), Placed> = BTreeMap::new();
    if let Some(last) = januaries.iter().max() {
        for (cell, n) in p.caseload.january(*last) {
            let placed = out.entry((cell.authority, cell.kind)).or_default();
            placed.all += n;
            if let Ok(a) = usize::try_from(cell.age)
                && a < AGES
            {
                placed.by_age[a] += f64::from(n);
            }
        }
    }
    let counted: BTreeSet<AuthorityCode> = out.keys().map(|(a, _)| a.clone()).collect();
    for authority in p
        .caseload
        .published_authorities()
        .filter(|a| !counted.contains(*a))
    {
        let Some((_, cells)) = p
            .caseload
            .published(authority)
            .and_then(|t| t.iter().next_back())
        else {
            continue;
        };
        for c in cells {
            let (None, Some(kind), Some(n)) = (c.need, c.kind, c.plans) else {
                continue;
            };
            let placed = out.entry((authority.clone(), kind)).or_default();
            match c.age {
                None => placed.all += n,
                Some(band) if band.from() == band.to() && usize::from(band.from()) < AGES => {
                    placed.by_age[usize::from(band.from())] += f64::from(n);
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// How many of each authority's children each placement type holds on the latest January.
fn placement_mix(
    placed: &BTreeMap<(AuthorityCode, ProvisionKind), Placed>,
) -> BTreeMap<(AuthorityCode, ProvisionKind), u32> {
    placed.iter().map(|(k, p)| (k.clone(), p.all)).collect()
}

/// Planning areas with their January rolls and net capacity by NCY, and housing by district.
fn mainstream_inputs(
    p: Projections<'_>,
    authorities: &BTreeMap<AuthorityCode, Authority>,
) -> (
    BTreeMap<placeledger_domain::PlanningAreaCode, MainstreamArea>,
    BTreeMap<placeledger_domain::GssCode, Housing>,
) {
    let authority_of = |d: &placeledger_domain::GssCode| {
        authorities
            .iter()
            .find(|(_, a)| a.districts.contains_key(d))
            .map(|(code, _)| code.clone())
    };
    let mut areas = BTreeMap::new();
    for (code, (district, phase, name)) in p.mainstream.planning_areas() {
        let Some(authority) = authority_of(district) else {
            continue;
        };
        let rolls: BTreeMap<i32, BTreeMap<i8, u32>> = p
            .mainstream
            .planning_area_rolls(code)
            .into_iter()
            .map(|(start, by)| (start + 1, by))
            .collect();
        let (Some(first), Some(last)) = (
            rolls.keys().next().copied(),
            rolls.keys().next_back().copied(),
        ) else {
            continue;
        };
        let mut capacity: BTreeMap<i32, BTreeMap<i8, u32>> = BTreeMap::new();
        for s in p.capacity.settings().values().filter(|s| {
            s.planning_area.as_ref() == Some(code) && s.kind.is_mainstream() && s.facility.is_none()
        }) {
            for y in first..=last + 7 {
                let on = census_day(y);
                if !s.open_on(on) {
                    continue;
                }
                for n in s.net_capacity_on(on).unwrap_or_default() {
                    *capacity
                        .entry(y)
                        .or_default()
                        .entry(n.ncy.offset())
                        .or_insert(0) += n.count;
                }
            }
        }
        areas.insert(
            code.clone(),
            MainstreamArea {
                authority,
                district: district.clone(),
                phase: *phase,
                name: name.clone(),
                rolls,
                capacity,
            },
        );
    }
    let mut housing: BTreeMap<placeledger_domain::GssCode, Housing> = BTreeMap::new();
    for (code, (district, _, _)) in p.mainstream.planning_areas() {
        for (year, (dwellings, yields)) in p.mainstream.housing(code).into_iter().flatten() {
            let h = housing.entry(district.clone()).or_default();
            *h.dwellings.entry(*year).or_insert(0) += dwellings;
            for y in yields {
                h.yield_per_dwelling
                    .insert(y.phase, y.per_dwelling.try_into().unwrap_or(0.0));
            }
        }
    }
    (areas, housing)
}

/// The share of a setting's places in each reported phase: its ages (`low..=high`) weighted
/// by `profile`, the authority's children of each age in that kind of place (where there are
/// any at those ages; else the ages count alike). No phase gets places for ages the setting
/// does not take, and an all-through special school's places go mostly where its pupils are,
/// not a sixth of them to a nursery phase no child with a plan is in.
fn phase_shares(low: u8, high: u8, profile: Option<&[f64; AGES]>) -> [f64; PHASES.len()] {
    let mut shares = [0.0; PHASES.len()];
    let high = usize::from(high).min(MAX_AGE);
    let low = usize::from(low);
    if low > high {
        shares[1] = 1.0;
        return shares;
    }
    let weighted = profile.filter(|p| p[low..=high].iter().sum::<f64>() > 0.0);
    let weight = |a: usize| weighted.map_or(1.0, |p| p[a]);
    let whole: f64 = (low..=high).map(weight).sum();
    for a in low..=high {
        let p = PHASES
            .iter()
            .position(|p| *p == phase_of(a))
            .unwrap_or(PHASES.len() - 1);
        shares[p] += weight(a) / whole;
    }
    shares
}

/// Each authority's children in each kind of place by academic age on the latest January.
fn age_profile_of(
    placed: &BTreeMap<(AuthorityCode, ProvisionKind), Placed>,
) -> BTreeMap<(AuthorityCode, PlaceKind), [f64; AGES]> {
    let mut out: BTreeMap<(AuthorityCode, PlaceKind), [f64; AGES]> = BTreeMap::new();
    for ((authority, kind), p) in placed {
        let profile = out
            .entry((authority.clone(), PlaceKind::of(*kind)))
            .or_insert([0.0; AGES]);
        for (x, n) in profile.iter_mut().zip(p.by_age) {
            *x += n;
        }
    }
    out
}

fn tables_of(
    tables: &BTreeMap<AcademicYear, Vec<placeledger_domain::CaseloadCell>>,
) -> TableHistory {
    let mut t = TableHistory::default();
    for (census, cells) in tables {
        let y = census.start_year() + 1;
        for c in cells {
            let Some(n) = c.plans else { continue };
            match (c.age, c.need, c.kind) {
                (None, None, None) => {
                    t.totals.insert(y, n);
                }
                (Some(band), None, None) => {
                    *t.ages
                        .entry(y)
                        .or_default()
                        .entry((band.from(), band.to()))
                        .or_insert(0) += n;
                }
                (None, Some(need), None) => {
                    *t.needs.entry(y).or_default().entry(need).or_insert(0) += n;
                }
                (None, None, Some(kind)) => {
                    *t.kinds
                        .entry(y)
                        .or_default()
                        .entry(PlaceKind::of(kind))
                        .or_insert(0) += n;
                }
                _ => {}
            }
        }
    }
    t
}

/// The first January census on or after `date`.
fn first_january_from(date: NaiveDate) -> i32 {
    let y = chrono::Datelike::year(&date);
    if census_day(y) >= date { y } else { y + 1 }
}

/// Adds `amount(year)` places to `key` for every January from `from` on (never below 0).
fn add_places(inputs: &mut Inputs, key: &CapacityKey, from: i32, amount: impl Fn(i32) -> f64) {
    let years: Vec<(i32, u32)> = (from..=from + AHEAD)
        .map(|y| (y, inputs.places(key, y).unwrap_or(0)))
        .collect();
    let entry = inputs.capacity.entry(key.clone()).or_default();
    for (y, base) in years {
        let v = (f64::from(base) + amount(y)).round().max(0.0);
        entry.insert(y, v as u32);
    }
}

/// Applies the `levers` of a scenario of authority `owner` (its base's first, as
/// `Scenarios::levers` lists them): capacity levers change `inputs`' places now; the others
/// come back as engine [`Levers`], scoped to `owner`. A lever naming a setting the capacity
/// projection does not know is an error. A capacity lever in another authority (the domain
/// refuses them now; a scenario recorded before it did may hold one) changes nothing.
pub fn apply_scenario(
    inputs: &mut Inputs,
    capacity: &Capacity,
    owner: &AuthorityCode,
    levers: &[Lever],
) -> Result<Levers, ScenarioError> {
    let mut out = Levers {
        owner: Some(owner.clone()),
        ..Levers::default()
    };
    let own: BTreeSet<placeledger_domain::GssCode> = inputs
        .authorities
        .get(owner)
        .map(|a| a.districts.keys().cloned().collect())
        .unwrap_or_default();
    let pct = |p: Decimal| -> f64 { (p / Decimal::ONE_HUNDRED).try_into().unwrap_or(0.0) };
    for lever in levers {
        let district = match lever {
            Lever::OpenPlaces { district, .. } => Some(district),
            Lever::ChangePlaces { urn, .. } | Lever::CloseSetting { urn, .. } => Some(
                &capacity
                    .setting(*urn)
                    .ok_or(ScenarioError::UnknownSetting(*urn))?
                    .district,
            ),
            _ => None,
        };
        if district.is_some_and(|d| !own.contains(d)) {
            continue;
        }
        match lever {
            Lever::OpenPlaces {
                district,
                kind,
                low_age,
                high_age,
                from,
                places,
            } => {
                let total: u32 = places.iter().map(|p| p.places).sum();
                let kind = PlaceKind::of(*kind);
                let profile = inputs.age_profile.get(&(owner.clone(), kind)).copied();
                for (phase, share) in
                    PHASES
                        .iter()
                        .zip(phase_shares(*low_age, *high_age, profile.as_ref()))
                {
                    if share > 0.0 {
                        add_places(
                            inputs,
                            &(district.clone(), kind, *phase),
                            first_january_from(*from),
                            |_| f64::from(total) * share,
                        );
                    }
                }
            }
            Lever::ChangePlaces { urn, from, change } => {
                let s = capacity
                    .setting(*urn)
                    .ok_or(ScenarioError::UnknownSetting(*urn))?;
                let kind = PlaceKind::of(s.provision());
                let profile = inputs.age_profile.get(&(owner.clone(), kind)).copied();
                for (phase, share) in
                    PHASES
                        .iter()
                        .zip(phase_shares(s.low_age, s.high_age, profile.as_ref()))
                {
                    if share > 0.0 {
                        add_places(
                            inputs,
                            &(s.district.clone(), kind, *phase),
                            first_january_from(*from),
                            |_| f64::from(*change) * share,
                        );
                    }
                }
            }
            Lever::CloseSetting { urn, on } => {
                let s = capacity
                    .setting(*urn)
                    .ok_or(ScenarioError::UnknownSetting(*urn))?;
                let kind = PlaceKind::of(s.provision());
                let its_places = |y: i32| -> f64 {
                    AcademicYear::new(y - 1)
                        .ok()
                        .filter(|_| s.open_on(census_day(y)))
                        .and_then(|ay| s.commissioned_places(ay))
                        .map_or(0.0, f64::from)
                };
                let profile = inputs.age_profile.get(&(owner.clone(), kind)).copied();
                for (phase, share) in
                    PHASES
                        .iter()
                        .zip(phase_shares(s.low_age, s.high_age, profile.as_ref()))
                {
                    if share > 0.0 {
                        add_places(
                            inputs,
                            &(s.district.clone(), kind, *phase),
                            first_january_from(*on),
                            |y| -its_places(y) * share,
                        );
                    }
                }
            }
            Lever::ShiftNewPlans {
                need,
                ages,
                to,
                percent,
            } => out.shifts.push(Shift {
                need: *need,
                from_age: ages.from(),
                to_age: ages.to(),
                to: PlaceKind::of(*to),
                share: pct(*percent),
            }),
            Lever::IncidenceMultiplier {
                authority,
                multiplier,
            } => out
                .incidence
                .push((authority.clone(), (*multiplier).try_into().unwrap_or(1.0))),
            Lever::ReduceOutOfCountyAtTransfer { authority, percent } => {
                out.transfer.push((authority.clone(), pct(*percent)));
            }
            Lever::ChangeCost {
                authority,
                kind,
                from,
                annual_cost,
            } => out.costs.push((
                authority.clone(),
                PlaceKind::of(*kind),
                first_january_from(*from),
                annual_cost.amount(),
            )),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("the scenario names setting {0}, which is not on record")]
    UnknownSetting(Urn),
}
