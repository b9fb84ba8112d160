//! The simulation: every run ages each authority's plans on a year at a time with its own
//! draw of incidence growth and yearly shocks, turns them into demand for places by the
//! placement mix, and meets that demand from in-authority places, then partners' spare
//! places, then independent and out-of-county places. Percentiles over the runs give the
//! ranges; a given seed always gives the same forecast.

use std::collections::{BTreeMap, BTreeSet};

use placeledger_domain::{AuthorityCode, GssCode, Phase, PrimaryNeed};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::inputs::Inputs;
use crate::kind::{AGES, PHASES, PlaceKind, phase_of};
use crate::model::{Flag, KINDS, Model, PH, Rates, Start, needs};
use crate::scenario::{Levers, step_mix, step_shares};

/// How to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The last January known; `None`: the latest January in the history.
    pub origin: Option<i32>,
    /// Years forecast after the origin (SEND: 10).
    pub horizon: u8,
    /// Years of flows the rates are estimated from.
    pub window: u8,
    /// Simulation runs behind each range.
    pub runs: u32,
    /// The seed of the runs: the same seed, the same forecast.
    pub seed: u64,
    /// How much of each year's trend in incidence (or, for a trend forecast, in plans)
    /// carries into the next: the growth of forecast year h is the trend times
    /// `damping^(h-1)`. 1 carries the trend on undamped; below 1 lets it fade (a damped
    /// trend, the usual guard against compounding a few years' growth for a decade).
    pub damping: f64,
    /// Whether runs draw shocks. Without, every run is the central path (for hand checks).
    pub noise: bool,
    /// Whether to report rows per place (false: only the caseload ranges, for back-tests).
    pub places: bool,
    /// The scenario's levers on demand and cost (its capacity levers are applied to the
    /// inputs beforehand).
    pub levers: Levers,
    /// The scenario's name, echoed in the forecast (`None`: the baseline).
    pub scenario: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            origin: None,
            horizon: 10,
            window: 3,
            runs: 1_000,
            seed: 2015,
            damping: 0.8,
            noise: true,
            places: true,
            levers: Levers::default(),
            scenario: None,
        }
    }
}

/// The 10th, 50th and 90th percentiles of a figure over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Range {
    pub p10: i64,
    pub p50: i64,
    pub p90: i64,
}

impl Range {
    pub fn exact(v: i64) -> Range {
        Range {
            p10: v,
            p50: v,
            p90: v,
        }
    }
}

/// One cell of the sufficiency forecast: a district's residents of one phase needing one kind
/// of place in one January (and, for specialist places, one primary need).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    /// `None`: all needs. Need rows break specialist demand down and carry no capacity.
    pub need: Option<PrimaryNeed>,
    pub demand: Range,
    /// Places in the district's settings (commissioned kinds only).
    pub capacity: Option<u32>,
    /// Capacity minus demand: negative is a deficit.
    pub surplus: Option<Range>,
    /// Surplus as a percentage of capacity, at the median.
    pub surplus_pct: Option<Decimal>,
    /// Demand met elsewhere in the resident authority.
    pub met_in_authority: Option<Range>,
    /// Demand met in partner authorities' spare places.
    pub met_by_partner: Option<Range>,
    /// Children in independent or out-of-county places: overflow beyond local and partner
    /// places, and (for the independent kind) everyone placed there.
    pub out_of_county: Range,
    /// Annual cost at the median, where the authority has recorded the costs.
    pub annual_cost: Option<Decimal>,
}

impl Row {
    pub fn is_deficit(&self) -> bool {
        self.surplus.is_some_and(|s| s.p50 < 0)
    }
}

/// A total over rows: exactly the sum of their medians.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    /// `None`: every authority in the forecast (pan-Lancashire).
    pub authority: Option<AuthorityCode>,
    pub year: i32,
    pub kind: PlaceKind,
    pub demand: i64,
    pub capacity: Option<i64>,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The scenario forecast (`None`: the baseline).
    pub scenario: Option<String>,
    /// The last January known.
    pub origin: i32,
    pub years: Vec<i32>,
    pub runs: u32,
    pub seed: u64,
    pub rows: Vec<Row>,
    pub totals: Vec<Total>,
    /// January plans per authority and year, with their ranges (the caseload forecast).
    pub caseload: BTreeMap<AuthorityCode, BTreeMap<i32, Range>>,
    pub flags: BTreeMap<AuthorityCode, BTreeSet<Flag>>,
    pub rates: BTreeMap<AuthorityCode, Rates>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("there is no January history to forecast from")]
    NoHistory,
    #[error(
        "a forecast needs at least one run, a horizon of 1 to 25 years and a damping from 0 to 1"
    )]
    BadOptions,
}

/// The latest January any authority's history has.
pub fn latest_january(inputs: &Inputs) -> Option<i32> {
    inputs
        .send
        .values()
        .filter_map(|h| h.totals().keys().next_back().copied())
        .max()
}

struct Run {
    rng: ChaCha8Rng,
    /// Per authority: slope draw, incidence multiplier, stock (flow) or total (trend).
    slope: Vec<f64>,
    mult: Vec<f64>,
    stock: Vec<Vec<f64>>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Forecasts every authority in `inputs`.
pub fn forecast(inputs: &Inputs, options: &Options) -> Result<Forecast, ForecastError> {
    if options.runs == 0
        || options.horizon == 0
        || options.horizon > 25
        || !(0.0..=1.0).contains(&options.damping)
    {
        return Err(ForecastError::BadOptions);
    }
    let origin = options
        .origin
        .or_else(|| latest_january(inputs))
        .ok_or(ForecastError::NoHistory)?;
    let models: Vec<Model> = inputs
        .authorities
        .keys()
        .filter_map(|a| Model::estimate(inputs, a, origin, options.window, options.horizon))
        .collect();
    if models.is_empty() {
        return Err(ForecastError::NoHistory);
    }
    let nn = needs();
    let runs = options.runs as usize;
    let years: Vec<i32> = (1..=i32::from(options.horizon))
        .map(|h| origin + h)
        .collect();

    // Every district of every authority, in one list.
    let mut district_of: Vec<(usize, GssCode)> = Vec::new();
    let mut first_district = Vec::new();
    for (ai, m) in models.iter().enumerate() {
        first_district.push(district_of.len());
        for d in &m.districts {
            district_of.push((ai, d.clone()));
        }
    }
    let nd = district_of.len();
    let nc = PlaceKind::COMMISSIONED.len();
    let ns = PlaceKind::SPECIALIST.len();
    let provider_of: Vec<Vec<usize>> = models
        .iter()
        .map(|partner| {
            models
                .iter()
                .enumerate()
                .filter(|(_, provider)| {
                    inputs
                        .sharing
                        .contains(&(provider.authority.clone(), partner.authority.clone()))
                        && provider.authority != partner.authority
                })
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    // Places [gd][p][c] each year.
    let capacity: Vec<Vec<Option<u32>>> = years
        .iter()
        .map(|y| {
            let mut v = Vec::with_capacity(nd * PH * nc);
            for (_, d) in &district_of {
                for phase in PHASES {
                    for kind in PlaceKind::COMMISSIONED {
                        // No setting of the kind in the district: no places, not unknown.
                        v.push(Some(
                            inputs.places(&(d.clone(), kind, phase), *y).unwrap_or(0),
                        ));
                    }
                }
            }
            v
        })
        .collect();

    let mut state: Vec<Run> = (0..runs)
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream(r as u64);
            let slope = models
                .iter()
                .map(|m| {
                    if options.noise {
                        m.sigma_slope * normal(&mut rng)
                    } else {
                        0.0
                    }
                })
                .collect();
            let stock = models
                .iter()
                .map(|m| match &m.start {
                    // Plans held at the origin, then (second half) plans new since.
                    Start::Flow { stock, .. } => {
                        let mut v = stock.clone();
                        v.resize(stock.len() * 2, 0.0);
                        v
                    }
                    Start::Trend { total, .. } => vec![*total],
                })
                .collect();
            Run {
                rng,
                slope,
                mult: vec![1.0; models.len()],
                stock,
            }
        })
        .collect();

    // Samples of one year, cell-major: [cell * runs + run].
    let kind_cells = nd * PH * KINDS;
    let need_cells = nd * PH * nn * ns;
    let alloc_cells = nd * PH * nc;
    let mut kind_s = vec![0.0_f32; kind_cells * runs];
    let mut need_s = vec![0.0_f32; if options.places { need_cells * runs } else { 0 }];
    let mut auth_s = vec![0.0_f32; alloc_cells * runs];
    let mut partner_s = vec![0.0_f32; alloc_cells * runs];
    let mut over_s = vec![0.0_f32; alloc_cells * runs];
    let mut plans_s = vec![0.0_f32; models.len() * runs];

    let mut rows = Vec::new();
    let mut caseload: BTreeMap<AuthorityCode, BTreeMap<i32, Range>> = BTreeMap::new();
    let mut demand = vec![0.0; nd * PH * nn * KINDS];
    let mut next = Vec::new();
    let incidence: Vec<f64> = models
        .iter()
        .map(|m| options.levers.incidence_for(&m.authority))
        .collect();
    for (step, year) in years.iter().enumerate() {
        let mixes: Vec<(Vec<f64>, Vec<f64>)> = models
            .iter()
            .map(|m| match &m.start {
                Start::Flow { .. } => step_mix(&m.mix, &m.authority, &options.levers, step),
                Start::Trend { share, .. } => (
                    step_shares(
                        share,
                        m.districts.len(),
                        &m.authority,
                        &options.levers,
                        step,
                    ),
                    Vec::new(),
                ),
            })
            .collect();
        for (r, run) in state.iter_mut().enumerate() {
            demand.iter_mut().for_each(|x| *x = 0.0);
            for (ai, m) in models.iter().enumerate() {
                let shock = if options.noise {
                    m.sigma * normal(&mut run.rng)
                } else {
                    0.0
                };
                // The trend (with this run's slope) compounds, damped; a year's shock moves
                // only that year's new plans (they stay in the stock once issued).
                let fade = options.damping.powi(step as i32);
                run.mult[ai] *= ((m.growth + run.slope[ai]) * fade).exp();
                let mult = run.mult[ai] * shock.exp() * incidence[ai];
                let g0 = first_district[ai];
                match &m.start {
                    Start::Flow {
                        cont,
                        inc,
                        pop,
                        cont_sigma,
                        ..
                    } => {
                        let kk = if options.noise {
                            (cont_sigma * normal(&mut run.rng)).exp()
                        } else {
                            1.0
                        };
                        let (mix_old, mix_new) = &mixes[ai];
                        let stock = &run.stock[ai];
                        let half = stock.len() / 2;
                        let ndl = m.districts.len();
                        next.clear();
                        next.resize(stock.len(), 0.0);
                        let mut total = 0.0;
                        for d in 0..ndl {
                            for a in 0..AGES {
                                let persons =
                                    pop.as_ref().map_or(1.0, |p| p[(step * ndl + d) * AGES + a]);
                                let p = crate::kind::phase_index(phase_of(a)).unwrap_or(PH - 1);
                                for n in 0..nn {
                                    let i = (d * AGES + a) * nn + n;
                                    let (held, new) = if a == 0 {
                                        (0.0, 0.0)
                                    } else {
                                        let c = cont[(a - 1) * nn + n] * kk;
                                        (stock[i - nn] * c, stock[half + i - nn] * c)
                                    };
                                    let new = new + inc[i] * persons * mult;
                                    next[i] = held;
                                    next[half + i] = new;
                                    total += held + new;
                                    let base = (((g0 + d) * PH + p) * nn + n) * KINDS;
                                    let row = (a * nn + n) * KINDS;
                                    for k in 0..KINDS {
                                        demand[base + k] +=
                                            held * mix_old[row + k] + new * mix_new[row + k];
                                    }
                                }
                            }
                        }
                        std::mem::swap(&mut run.stock[ai], &mut next);
                        plans_s[ai * runs + r] = total as f32;
                    }
                    Start::Trend { .. } => {
                        // A trend forecast has no flows: its shocks are to the level and
                        // carry on (a random walk around the trend). An incidence lever
                        // scales its growth.
                        let growth = (m.growth + run.slope[ai]) * fade * incidence[ai];
                        run.stock[ai][0] *= (growth + shock).exp();
                        let share = &mixes[ai].0;
                        let t = run.stock[ai][0];
                        plans_s[ai * runs + r] = t as f32;
                        let ndl = m.districts.len();
                        if share.len() == ndl * PH * nn * KINDS {
                            for (i, s) in share.iter().enumerate() {
                                demand[g0 * PH * nn * KINDS + i] += t * s;
                            }
                        }
                    }
                }
            }
            if !options.places {
                continue;
            }
            // Demand by kind, and by need for specialist kinds.
            for gd in 0..nd {
                for p in 0..PH {
                    for k in 0..KINDS {
                        let v: f64 = (0..nn)
                            .map(|n| demand[((gd * PH + p) * nn + n) * KINDS + k])
                            .sum();
                        kind_s[((gd * PH + p) * KINDS + k) * runs + r] = v as f32;
                    }
                    for n in 0..nn {
                        for (si, k) in PlaceKind::SPECIALIST.iter().enumerate() {
                            need_s[(((gd * PH + p) * nn + n) * ns + si) * runs + r] =
                                demand[((gd * PH + p) * nn + n) * KINDS + k.index()] as f32;
                        }
                    }
                }
            }
            allocate(
                &models,
                &first_district,
                &provider_of,
                &capacity[step],
                runs,
                r,
                &kind_s,
                &mut auth_s,
                &mut partner_s,
                &mut over_s,
            );
        }

        for (ai, m) in models.iter().enumerate() {
            if m.flags.contains(&Flag::NoHistory) {
                continue;
            }
            caseload
                .entry(m.authority.clone())
                .or_default()
                .insert(*year, percentiles(&mut plans_s[ai * runs..(ai + 1) * runs]));
        }
        if !options.places {
            continue;
        }
        for (gd, (ai, district)) in district_of.iter().enumerate() {
            let m = &models[*ai];
            for (p, phase) in PHASES.iter().enumerate() {
                for kind in PlaceKind::ALL {
                    let k = kind.index();
                    let demand =
                        percentiles(&mut kind_s[((gd * PH + p) * KINDS + k) * runs..][..runs]);
                    let c = PlaceKind::COMMISSIONED.iter().position(|x| *x == kind);
                    let alloc = c.map(|c| {
                        let i = ((gd * PH + p) * nc + c) * runs;
                        (
                            capacity[step][(gd * PH + p) * nc + c],
                            percentiles(&mut auth_s[i..i + runs]),
                            percentiles(&mut partner_s[i..i + runs]),
                            percentiles(&mut over_s[i..i + runs]),
                        )
                    });
                    let cap = alloc.and_then(|a| a.0);
                    let out_of_county = match (kind, alloc) {
                        (PlaceKind::Independent, _) => demand,
                        (_, Some(a)) => a.3,
                        _ => Range::default(),
                    };
                    let cost = |k: PlaceKind| {
                        options
                            .levers
                            .cost(&m.authority, k, *year)
                            .or_else(|| inputs.costs.get(&(m.authority.clone(), k)).copied())
                    };
                    let annual_cost = match kind {
                        PlaceKind::Independent => cost(kind).map(|c| c * Decimal::from(demand.p50)),
                        _ if alloc.is_some() => {
                            let over = out_of_county.p50;
                            match (cost(kind), cost(PlaceKind::Independent)) {
                                (Some(c), Some(i)) => Some(
                                    c * Decimal::from(demand.p50 - over) + i * Decimal::from(over),
                                ),
                                _ => None,
                            }
                        }
                        _ => cost(kind).map(|c| c * Decimal::from(demand.p50)),
                    };
                    rows.push(Row {
                        authority: m.authority.clone(),
                        district: district.clone(),
                        year: *year,
                        phase: *phase,
                        kind,
                        need: None,
                        demand,
                        capacity: cap,
                        surplus: cap.map(|c| {
                            let c = i64::from(c);
                            Range {
                                p10: c - demand.p90,
                                p50: c - demand.p50,
                                p90: c - demand.p10,
                            }
                        }),
                        surplus_pct: cap.filter(|c| *c > 0).map(|c| {
                            (Decimal::from(i64::from(c) - demand.p50) * Decimal::from(100)
                                / Decimal::from(c))
                            .round_dp(1)
                        }),
                        met_in_authority: alloc.map(|a| a.1),
                        met_by_partner: alloc.map(|a| a.2),
                        out_of_county,
                        annual_cost,
                    });
                }
                for (n, need) in PrimaryNeed::ALL.iter().enumerate() {
                    for (si, kind) in PlaceKind::SPECIALIST.iter().enumerate() {
                        let i = (((gd * PH + p) * nn + n) * ns + si) * runs;
                        let demand = percentiles(&mut need_s[i..i + runs]);
                        if demand == Range::default() {
                            continue;
                        }
                        rows.push(Row {
                            authority: m.authority.clone(),
                            district: district.clone(),
                            year: *year,
                            phase: *phase,
                            kind: *kind,
                            need: Some(*need),
                            demand,
                            capacity: None,
                            surplus: None,
                            surplus_pct: None,
                            met_in_authority: None,
                            met_by_partner: None,
                            out_of_county: if *kind == PlaceKind::Independent {
                                demand
                            } else {
                                Range::default()
                            },
                            annual_cost: options
                                .levers
                                .cost(&m.authority, *kind, *year)
                                .or_else(|| {
                                    inputs.costs.get(&(m.authority.clone(), *kind)).copied()
                                })
                                .map(|c| c * Decimal::from(demand.p50)),
                        });
                    }
                }
            }
        }
    }
    let totals = totals(&rows);
    Ok(Forecast {
        scenario: options.scenario.clone(),
        origin,
        years,
        runs: options.runs,
        seed: options.seed,
        rows,
        totals,
        caseload,
        flags: models
            .iter()
            .map(|m| (m.authority.clone(), m.flags.clone()))
            .collect(),
        rates: models
            .iter()
            .map(|m| (m.authority.clone(), m.rates.clone()))
            .collect(),
    })
}

/// Meets one run's demand for commissioned kinds: the district's own places, then spare
/// places elsewhere in the authority (shared in proportion to what is unmet), then partner
/// authorities' spare places (likewise), and the rest overflows.
// Dense arrays indexed by authority and district read more plainly as index loops.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn allocate(
    models: &[Model],
    first_district: &[usize],
    provider_of: &[Vec<usize>],
    capacity: &[Option<u32>],
    runs: usize,
    r: usize,
    kind_s: &[f32],
    auth_s: &mut [f32],
    partner_s: &mut [f32],
    over_s: &mut [f32],
) {
    let nc = PlaceKind::COMMISSIONED.len();
    let nd = capacity.len() / (PH * nc);
    for p in 0..PH {
        for (c, kind) in PlaceKind::COMMISSIONED.iter().enumerate() {
            let cell = |gd: usize| (gd * PH + p) * nc + c;
            let mut unmet = vec![0.0_f64; nd];
            let mut spare = vec![0.0_f64; nd];
            for gd in 0..nd {
                let want = f64::from(kind_s[((gd * PH + p) * KINDS + kind.index()) * runs + r]);
                let have = f64::from(capacity[cell(gd)].unwrap_or(0));
                let met = want.min(have);
                unmet[gd] = want - met;
                spare[gd] = have - met;
                auth_s[cell(gd) * runs + r] = 0.0;
                partner_s[cell(gd) * runs + r] = 0.0;
            }
            let span =
                |ai: usize| first_district[ai]..first_district[ai] + models[ai].districts.len();
            // Elsewhere in the authority.
            let mut auth_spare = vec![0.0; models.len()];
            for ai in 0..models.len() {
                let want: f64 = span(ai).map(|d| unmet[d]).sum();
                let have: f64 = span(ai).map(|d| spare[d]).sum();
                let take = want.min(have);
                if want > 0.0 {
                    for d in span(ai) {
                        let got = unmet[d] * take / want;
                        unmet[d] -= got;
                        auth_s[cell(d) * runs + r] = got as f32;
                    }
                }
                auth_spare[ai] = have - take;
            }
            // Partners' spare places, provider by provider.
            for provider in 0..models.len() {
                if auth_spare[provider] <= 0.0 {
                    continue;
                }
                let asking: Vec<usize> = (0..models.len())
                    .filter(|a| provider_of[*a].contains(&provider))
                    .collect();
                let want: f64 = asking.iter().flat_map(|a| span(*a)).map(|d| unmet[d]).sum();
                if want <= 0.0 {
                    continue;
                }
                let take = want.min(auth_spare[provider]);
                auth_spare[provider] -= take;
                for a in &asking {
                    for d in span(*a) {
                        let got = unmet[d] * take / want;
                        unmet[d] -= got;
                        partner_s[cell(d) * runs + r] += got as f32;
                    }
                }
            }
            for gd in 0..nd {
                over_s[cell(gd) * runs + r] = unmet[gd] as f32;
            }
        }
    }
}

/// P10, P50 and P90 of `samples` (reordered in place), rounded to whole children.
fn percentiles(samples: &mut [f32]) -> Range {
    if samples.is_empty() {
        return Range::default();
    }
    samples.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| {
        let i = (q * (samples.len() - 1) as f64).round() as usize;
        f64::from(samples[i]).round() as i64
    };
    Range {
        p10: at(0.1),
        p50: at(0.5),
        p90: at(0.9),
    }
}

/// Totals per authority and for all authorities, per year and kind: sums of the rows'
/// medians (need rows are a breakdown, not added again).
pub fn totals(rows: &[Row]) -> Vec<Total> {
    let mut sums: BTreeMap<(Option<AuthorityCode>, i32, PlaceKind), Total> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.need.is_none()) {
        for authority in [Some(row.authority.clone()), None] {
            let t = sums
                .entry((authority.clone(), row.year, row.kind))
                .or_insert_with(|| Total {
                    authority,
                    year: row.year,
                    kind: row.kind,
                    demand: 0,
                    capacity: None,
                    out_of_county: 0,
                    annual_cost: Some(Decimal::ZERO),
                });
            t.demand += row.demand.p50;
            t.out_of_county += row.out_of_county.p50;
            if let Some(c) = row.capacity {
                *t.capacity.get_or_insert(0) += i64::from(c);
            }
            t.annual_cost = match (t.annual_cost, row.annual_cost) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
    }
    sums.into_values().collect()
}
