//! How one cell of the sufficiency forecast was made, for a planner to follow: the plans it
//! started from and the rates that carried them on, the residents they are drawn from, which
//! of the cell's children keep today's placement and which are new, the allocation steps that
//! placed its demand, the cost rate and the placement types behind it, and the sources.

use placeledger_domain::{AuthorityCode, GssCode, Phase, ProvisionKind};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::{Forecast, Options, Range, Row};
use crate::inputs::{Inputs, SendHistory};
use crate::kind::{AGES, PlaceKind, phase_index, phase_of};
use crate::mainstream::Warning;
use crate::model::{Flag, KINDS, Model, PH, Rates};
use crate::sim::prepare;

/// The cell asked about: a district's residents of one phase needing one kind of place in
/// one January (all needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellKey {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
}

/// One step of the allocation and the children (median) it placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationStep {
    pub step: &'static str,
    pub children: i64,
}

/// A placement type behind a kind's cost: its annual cost on record, and how many of the
/// authority's children it held on the latest January (the weight).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostType {
    pub provision: ProvisionKind,
    pub annual_cost: Decimal,
    pub children: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub row: Row,
    /// The January the forecast starts from, and the authority's plans then.
    pub origin: i32,
    pub plans_at_origin: Option<u32>,
    /// The authority's plans in the cell's January (the caseload forecast).
    pub plans_that_year: Option<Range>,
    /// Residents of the phase's ages in the district in the mid-year before the January.
    pub residents: Option<f64>,
    pub rates: Option<Rates>,
    /// Of the cell's demand (central path, median-scaled): children keeping today's
    /// placement in the authority, in another authority and elsewhere; and new plans and
    /// phase transfers.
    pub keeping_in_authority: Option<f64>,
    pub keeping_with_partner: Option<f64>,
    pub keeping_outside: Option<f64>,
    pub new_or_transferring: Option<f64>,
    /// How the demand was met, in order (commissioned kinds).
    pub allocation: Vec<AllocationStep>,
    /// The annual cost of a place (a scenario's where it sets one), the cost of a place
    /// found out of county where it differs, and the placement types behind the rate.
    pub cost_per_place: Option<Decimal>,
    pub overflow_cost_per_place: Option<Decimal>,
    pub cost_types: Vec<CostType>,
    pub sources: Vec<String>,
    pub warnings: Vec<Warning>,
}

/// How the cell `key` of `forecast` was made, from the `inputs` and `options` it was made
/// with; `None` if the forecast has no such cell.
pub fn explain(
    forecast: &Forecast,
    inputs: &Inputs,
    options: &Options,
    key: &CellKey,
) -> Option<Explanation> {
    let row = forecast
        .rows
        .iter()
        .find(|r| {
            r.authority == key.authority
                && r.district == key.district
                && r.year == key.year
                && r.phase == key.phase
                && r.kind == key.kind
                && r.need.is_none()
        })?
        .clone();
    let p = phase_index(key.phase)?;
    let ages: Vec<usize> = (0..AGES).filter(|a| phase_of(*a) == key.phase).collect();
    let residents = inputs
        .population
        .at(&key.district, key.year - 1)
        .map(|pop| ages.iter().map(|a| pop[*a]).sum());
    let history = inputs.send.get(&key.authority);
    let plans_at_origin = history.and_then(|h| h.totals().get(&forecast.origin).copied());
    // The model again, as the engine made it: where the cell's children are placed today,
    // and how much of its demand is children held since the origin and still in the phase.
    let model = Model::estimate(
        inputs,
        &inputs.population,
        &key.authority,
        forecast.origin,
        options.window,
        options.horizon,
    );
    let step = usize::try_from(key.year - forecast.origin - 1).ok();
    let (mut keeping, mut new_or_transferring) = (None, None);
    if let (Some(m), Some(step)) = (&model, step)
        && let Some(d) = m.districts.iter().position(|x| x == &key.district)
    {
        let prep = prepare(
            m,
            &options.levers,
            step + 1,
            options.levers.incidence_for(&key.authority),
            true,
        );
        let i = (d * PH + p) * KINDS + key.kind.index();
        if let (Some(stay), Some(all)) =
            (prep.stayers_central.get(step), prep.kind_central.get(step))
            && all[i] > 0.0
        {
            let share = (stay[i] / all[i]).min(1.0);
            let demand = row.demand.p50 as f64;
            let at = m.located.get(i).copied().unwrap_or([1.0, 0.0, 0.0]);
            keeping = Some(at.map(|x| x * share * demand));
            new_or_transferring = Some((1.0 - share) * demand);
        }
    }
    // Medians of parts do not add up to the median of the whole: the steps are the partner
    // and out-of-county medians, the district's places (never more than it has), and the
    // rest in the authority, so that they add up to the demand.
    let allocation = match (row.met_by_partner, row.capacity) {
        (Some(partner), Some(places)) => {
            let out = row.out_of_county.p50;
            let in_authority = (row.demand.p50 - partner.p50 - out).max(0);
            let in_district = in_authority.min(i64::from(places));
            vec![
                AllocationStep {
                    step: "in the district's places",
                    children: in_district,
                },
                AllocationStep {
                    step: "elsewhere in the authority (including children kept over its places)",
                    children: in_authority - in_district,
                },
                AllocationStep {
                    step: "in partner authorities",
                    children: partner.p50,
                },
                AllocationStep {
                    step: "out of county",
                    children: out,
                },
            ]
        }
        _ => Vec::new(),
    };
    let cost_per_place = options
        .levers
        .cost(&key.authority, key.kind, key.year)
        .or_else(|| {
            inputs
                .costs
                .get(&(key.authority.clone(), key.kind))
                .copied()
        });
    let overflow_cost_per_place = (key.kind == PlaceKind::Special)
        .then(|| {
            options
                .levers
                .cost(&key.authority, PlaceKind::Independent, key.year)
                .or_else(|| {
                    inputs
                        .costs
                        .get(&(key.authority.clone(), PlaceKind::Independent))
                        .copied()
                })
        })
        .flatten();
    let cost_types = inputs
        .cost_basis
        .get(&(key.authority.clone(), key.kind))
        .map(|types| {
            types
                .iter()
                .map(|(provision, annual_cost, children)| CostType {
                    provision: *provision,
                    annual_cost: *annual_cost,
                    children: *children,
                })
                .collect()
        })
        .unwrap_or_default();
    let flags = forecast.flags.get(&key.authority);
    let has = |f: Flag| flags.is_some_and(|x| x.contains(&f));
    let mut sources = Vec::new();
    match history {
        Some(SendHistory::Children(c)) => {
            let last = c.january.keys().next_back().copied();
            sources.push(format!(
                "plans: the children recorded in Placeledger (child-level events){}",
                last.map_or_else(String::new, |y| format!(", to January {y}"))
            ));
            if has(Flag::PublishedStart) {
                sources.push(format!(
                    "January {}: DfE, Education, health and care plans (SEN2), as published",
                    forecast.origin
                ));
            }
        }
        Some(SendHistory::Tables(_)) => sources.push(
            "plans: DfE, Education, health and care plans (SEN2) tables, as published".into(),
        ),
        None => {}
    }
    if forecast
        .rates
        .get(&key.authority)
        .is_some_and(|r| r.england_growth.is_some())
    {
        sources.push(
            "growth: England's plans each January, DfE Education, health and care plans".into(),
        );
    }
    if residents.is_some() {
        sources.push(
            "residents: ONS population estimates and projections as recorded (single years of \
             age)"
                .into(),
        );
    }
    if row.capacity.is_some() {
        sources.push(
            "places: commissioned places recorded for the district's settings, shared over the \
             phases of their ages by today's children"
                .into(),
        );
    }
    if cost_per_place.is_some() {
        sources.push(
            "costs: the authority's annual cost per placement type on record, weighted by its \
             children in each on the latest January"
                .into(),
        );
    }
    let mut warnings = row.warnings();
    warnings.extend(forecast.authority_warnings(&key.authority));
    Some(Explanation {
        origin: forecast.origin,
        plans_at_origin,
        plans_that_year: forecast
            .caseload
            .get(&key.authority)
            .and_then(|y| y.get(&key.year))
            .copied(),
        residents,
        rates: forecast.rates.get(&key.authority).cloned(),
        keeping_in_authority: keeping.map(|k| k[0]),
        keeping_with_partner: keeping.map(|k| k[1]),
        keeping_outside: keeping.map(|k| k[2]),
        new_or_transferring,
        allocation,
        cost_per_place,
        overflow_cost_per_place,
        cost_types,
        sources,
        warnings,
        row,
    })
}
