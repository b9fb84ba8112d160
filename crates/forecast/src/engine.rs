//! The simulation: every run ages each authority's plans on a year at a time with its own
//! draw of incidence growth and yearly shocks, turns them into demand for places by the
//! placement mix, and meets that demand from in-authority places, then partners' spare
//! places, then independent and out-of-county places. Percentiles over the runs give the
//! ranges; a given seed always gives the same forecast.

use std::collections::{BTreeMap, BTreeSet};

use placeledger_domain::{AuthorityCode, GssCode, Phase, PrimaryNeed};
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::inputs::Inputs;
use crate::kind::{Location, PlaceKind};
use crate::mainstream::{MainstreamRow, Warning};
use crate::model::{Flag, Model, PH, Rates, Start};
use crate::scenario::Levers;
use crate::sim::{Prep, prepare};

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
    /// trend, the usual guard against compounding a few years' growth for a decade). It
    /// damps the authority's own trend only: England's, where followed, is a decade of
    /// steady growth, not a few noisy years, and damping it under-forecast every origin of
    /// the back-test (bias -12% at 5 years with 0.8).
    pub damping: f64,
    /// Whether runs draw shocks. Without, every run is the central path (for hand checks).
    pub noise: bool,
    /// Whether to report rows per place (false: only the caseload ranges, for back-tests).
    pub places: bool,
    /// Threads to work on (0: one per core). The forecast is the same for any number.
    pub threads: usize,
    /// Whether to size the ranges by the model's own track record: the model is run from
    /// each earlier January with only what was known then, and where its past errors were
    /// wider (or narrower) than its simulated spread, the spread is scaled towards them.
    pub calibrate: bool,
    /// The scenario's levers on demand and cost (its capacity levers are applied to the
    /// inputs beforehand).
    pub levers: Levers,
    /// The scenario's name, echoed in the forecast (`None`: the baseline).
    pub scenario: Option<String>,
    /// Inflation a year on every cost (0.03: 3%), from each authority's price base (the
    /// financial year of its latest cost on record) to the financial year of each January.
    /// 0: costs stay at the price base.
    pub inflation: f64,
    /// Home-to-school transport a year per child placed in a kind of place, at the price
    /// base, added to the kind's cost.
    pub transport: Vec<(PlaceKind, Decimal)>,
}

impl Options {
    /// The threads to work on: as asked, else one per core.
    fn threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
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
            calibrate: true,
            threads: 0,
            levers: Levers::default(),
            scenario: None,
            inflation: 0.0,
            transport: Vec::new(),
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
    /// Demand met elsewhere in the resident authority (children keeping a place there, and
    /// new demand in other districts' spare places).
    pub met_in_authority: Option<Range>,
    /// Demand met in partner authorities: children keeping a place there, and new demand in
    /// their spare places.
    pub met_by_partner: Option<Range>,
    /// Children placed outside the authority: those who are today and stay, and new demand
    /// that found no place in the authority or a partner; for independent and non-maintained
    /// special schools, those outside the authority (as today's children are).
    pub out_of_county: Range,
    /// Annual cost at the median, where the authority has recorded the costs.
    pub annual_cost: Option<Decimal>,
}

impl Row {
    pub fn is_deficit(&self) -> bool {
        self.surplus.is_some_and(|s| s.p50 < 0)
    }

    /// The row's children (medians) by where their places are.
    pub fn by_location(&self) -> [(Location, i64); 3] {
        Location::split(
            self.demand.p50,
            self.met_by_partner.map_or(0, |r| r.p50),
            self.out_of_county.p50,
        )
    }

    /// What makes the row worth a look: a deficit, or more than a quarter of the places
    /// spare (commissioned kinds, all needs).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        if let Some(s) = self.surplus.filter(|s| s.p50 < 0) {
            out.push(Warning {
                code: "deficit",
                message: format!("{} more children than places (median)", -s.p50),
            });
        }
        if let Some(p) = self
            .surplus_pct
            .filter(|p| *p > Decimal::from(crate::mainstream::SURPLUS_WARNING_PCT))
        {
            out.push(Warning {
                code: "surplus_over_25_percent",
                message: format!("{p}% of places are spare: more than a quarter"),
            });
        }
        out
    }
}

impl Forecast {
    /// What makes an authority's whole forecast doubtful, from how it was made.
    pub fn authority_warnings(&self, authority: &AuthorityCode) -> Vec<Warning> {
        let flags = self.flags.get(authority);
        let has = |f: Flag| flags.is_some_and(|x| x.contains(&f));
        let mut out = Vec::new();
        let follows_england = self
            .rates
            .get(authority)
            .is_some_and(|r| r.england_growth.is_some());
        if has(Flag::NoChildLevelHistory) && follows_england {
            out.push(Warning {
                code: "england_growth_only",
                message: "known only from DfE's tables: its total grows at England's rate, \
                          not from its own children's flows"
                    .into(),
            });
        }
        let has_history = self
            .rates
            .get(authority)
            .is_some_and(|r| r.method != "none" && !r.method.is_empty());
        if has_history && !follows_england {
            out.push(Warning {
                code: "england_growth_missing",
                message: "England's Januaries up to the origin are not on record: the total \
                          follows the authority's own trend, damped, not England's growth \
                          (on the national back-test about twice the error three years \
                          ahead); import a DfE file with England's row"
                    .into(),
            });
        }
        if has(Flag::ShortHistory) {
            out.push(Warning {
                code: "short_history",
                message: "fewer Januaries of flows than the estimation window asks for".into(),
            });
        }
        if has(Flag::NoPopulation) {
            out.push(Warning {
                code: "no_population",
                message: "no population for some districts: new plans are a count, not a rate"
                    .into(),
            });
        }
        if has(Flag::NoSettings) {
            out.push(Warning {
                code: "capacity_missing",
                message: "no settings on record: its places are not known, so its rows show \
                          demand without capacity, surplus or deficit, and only the children \
                          known to be placed elsewhere as out of county"
                    .into(),
            });
        }
        if has(Flag::PublishedStart) {
            out.push(Warning {
                code: "published_start",
                message: format!(
                    "starts from DfE's published January {}: the children on record end \
                     earlier and were aged on and scaled to it",
                    self.origin
                ),
            });
        }
        out
    }
}

/// Mainstream pupils and places summed over planning areas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MainstreamTotal {
    pub authority: Option<AuthorityCode>,
    pub phase: Phase,
    pub year: i32,
    pub pupils: i64,
    pub net_capacity: i64,
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
    /// Met in partner authorities (sum of the rows' medians).
    pub met_by_partner: i64,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
}

impl Total {
    /// The total's children by where their places are.
    pub fn by_location(&self) -> [(Location, i64); 3] {
        Location::split(self.demand, self.met_by_partner, self.out_of_county)
    }
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
    /// Mainstream pupils against net capacity per planning area, phase and year.
    pub mainstream: Vec<MainstreamRow>,
    /// Mainstream totals per authority and for all (`None`), phase and year: sums of the
    /// areas' medians.
    pub mainstream_totals: Vec<MainstreamTotal>,
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

/// Past forecasts the national record counts for when it is weighed against an authority's
/// own: with few of its own, its ranges stay close to the national record's.
const CALIBRATION_PRIOR: f64 = 3.0;

/// How far the model's median missed 1, 2 and 3 years ahead, pooled over every English
/// authority's back-test from origins 2021-2024 (the published files in
/// seeds/reference/national/, `placeledger forecast backtest --all`, column "spread"): half
/// the log distance from the 10th to the 90th percentile of the misses, in standard
/// normal units. A range of the median times e^(+-1.28 x this) held 80% of the actuals.
/// A test in crates/cli works these out again from the files.
pub const NATIONAL_SPREAD: [f64; 3] = [0.043, 0.078, 0.095];

/// The national record's spread `years` ahead: beyond the three years measured it grows
/// with the square root of the years (as it did from two to three).
pub fn national_spread(years: usize) -> f64 {
    match years {
        0 => 0.0,
        1..=3 => NATIONAL_SPREAD[years - 1],
        _ => NATIONAL_SPREAD[2] * (years as f64 / 3.0).sqrt(),
    }
}
/// What a scoped thread returned; its panic, if it panicked, goes on in the caller.
fn joined<T>(part: std::thread::ScopedJoinHandle<'_, T>) -> T {
    part.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// One allocating thread's runs: demand by cell, and where it was met.
struct RunBuffers {
    kind: Vec<f32>,
    auth: Vec<f32>,
    partner: Vec<f32>,
    over: Vec<f32>,
}

/// Runs copied together (see the allocation step).
const RUN_BLOCK: usize = 64;
/// P90 of a standard normal: P10-P90 spans 2 x this many standard deviations.
const Z90: f64 = 1.281_551_565_5;

/// An authority's track record: how many earlier Januaries its model was run from, and the
/// root mean square of its log errors per year ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TrackRecord {
    origins: usize,
    per_year: f64,
}

/// Runs the model (its central path, no scenario) from every January before `origin` with
/// only what was known then, and compares each forecast January up to `origin` with what
/// happened. Errors are taken to grow in proportion to the years ahead (a trend that is off
/// compounds), so each is divided by its horizon before they are pooled. Forecasts the
/// model could only make from too short a history are left out: they are not the model
/// being sized.
fn track_records(
    inputs: &Inputs,
    origin: i32,
    options: &Options,
) -> BTreeMap<AuthorityCode, TrackRecord> {
    let actuals: BTreeMap<AuthorityCode, BTreeMap<i32, u32>> = inputs
        .send
        .iter()
        .map(|(a, h)| (a.clone(), h.totals()))
        .collect();
    let Some(first) = actuals
        .values()
        .filter_map(|t| t.keys().next().copied())
        .min()
    else {
        return BTreeMap::new();
    };
    // From an earlier January no model has its window of flows (or a trend its points):
    // those forecasts would be left out anyway.
    let pasts: Vec<i32> = ((first + i32::from(options.window))..origin).collect();
    let forecast_from = |past: i32| {
        let ahead = (origin - past).min(i32::from(options.horizon));
        let past_options = Options {
            origin: Some(past),
            horizon: u8::try_from(ahead).unwrap_or(1),
            runs: 1,
            noise: false,
            places: false,
            calibrate: false,
            levers: Levers::default(),
            scenario: None,
            ..options.clone()
        };
        // A model reads no January after its origin; the population is cut to what was
        // published then (and aged on). Places, costs and mainstream play no part.
        forecast_with(inputs, &inputs.population.up_to(past), &past_options).ok()
    };
    // Each earlier January's forecast stands alone: they are made on all the cores and
    // read in order.
    let threads = options.threads();
    let per = pasts.len().div_ceil(threads).max(1);
    let made: Vec<(i32, Forecast)> = std::thread::scope(|scope| {
        let parts: Vec<_> = pasts
            .chunks(per)
            .map(|chunk| {
                let forecast_from = &forecast_from;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|past| Some((*past, forecast_from(*past)?)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(joined).collect()
    });
    let mut errors: BTreeMap<AuthorityCode, (usize, Vec<f64>)> = BTreeMap::new();
    for (past, f) in made {
        for (authority, years) in &f.caseload {
            let short = f.flags.get(authority).is_some_and(|fl| {
                fl.contains(&Flag::ShortHistory) || fl.contains(&Flag::NoHistory)
            });
            let Some(actual) = actuals.get(authority).filter(|_| !short) else {
                continue;
            };
            let scaled: Vec<f64> = years
                .iter()
                .filter_map(|(year, range)| {
                    let got = f64::from(*actual.get(year)?);
                    (got > 0.0 && range.p50 > 0)
                        .then(|| (got / range.p50 as f64).ln() / f64::from(year - past))
                })
                .collect();
            if !scaled.is_empty() {
                let entry = errors.entry(authority.clone()).or_default();
                entry.0 += 1;
                entry.1.extend(scaled);
            }
        }
    }
    errors
        .into_iter()
        .map(|(a, (origins, e))| {
            let per_year = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
            (a, TrackRecord { origins, per_year })
        })
        .collect()
}

/// The median of `samples` (the upper one of an even number), if there are any.
fn median_of(samples: &[f32]) -> Option<f64> {
    let mut v: Vec<f32> = samples.to_vec();
    v.sort_unstable_by(f32::total_cmp);
    v.get(v.len() / 2).map(|x| f64::from(*x))
}

/// The spread (standard deviation of the log) implied by the P10-P90 range of `samples`.
fn log_spread(samples: &[f32]) -> Option<f64> {
    let mut v: Vec<f32> = samples.to_vec();
    v.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| f64::from(v[(q * (v.len() - 1) as f64).round() as usize]);
    let (p10, p90) = (at(0.1), at(0.9));
    (!v.is_empty() && p10 > 0.0 && p90 > p10).then(|| (p90 / p10).ln() / (2.0 * Z90))
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// An authority's central path, a figure per forecast year: for a stock-flow model the weight
/// of that year's new plans (1: as many as the window's rates give), for a trend its growth
/// that year (log scale).
///
/// Where England's growth is known the forecast total follows it: each year's new plans are
/// weighted so that the plans carried on from the years before, plus the new ones, make the
/// starting January grown at England's rate. The authority's own flows still decide who
/// those plans are (district, age, need) and how the plans already issued age and cease.
/// The weights come from the model without scenario levers, so a lever moves the forecast
/// away from that path, as it would without England. Otherwise the model's own trend carries
/// on, damped.
fn central_path(m: &Model, prep: &Prep, options: &Options, years: usize) -> Vec<f64> {
    let fade = |step: usize| options.damping.powi(step as i32);
    // England's growth plus the authority's momentum, fading.
    let followed = |g: f64, s: usize| g + m.momentum * crate::model::MOMENTUM_FADE.powi(s as i32);
    match (&m.start, m.control) {
        (Start::Trend { .. }, Some(g)) => (0..years).map(|s| followed(g, s)).collect(),
        (Start::Trend { .. }, None) => (0..years).map(|s| m.growth * fade(s)).collect(),
        (Start::Flow { .. }, None) => {
            let mut mult = 1.0;
            (0..years)
                .map(|s| {
                    mult *= (m.growth * fade(s)).exp();
                    mult
                })
                .collect()
        }
        (Start::Flow { stock, .. }, Some(g)) => {
            let base;
            let terms = if options.levers == Levers::default() {
                &prep.plan_terms
            } else {
                base = prepare(m, &Levers::default(), years, 1.0, false);
                &base.plan_terms
            };
            let start: f64 = stock.iter().sum();
            let mut weights = vec![1.0];
            let mut grown = 0.0;
            for (s, plans) in terms.iter().enumerate().take(years) {
                grown += followed(g, s);
                let target = start * grown.exp();
                let carried: f64 = weights.iter().zip(plans).map(|(w, p)| w * p).sum();
                let new = plans.get(s + 1).copied().unwrap_or(0.0);
                weights.push(if new > 0.0 {
                    ((target - carried) / new).max(0.0)
                } else {
                    0.0
                });
            }
            weights.split_off(1)
        }
    }
}

mod steps;

use steps::forecast_with;

/// Forecasts every authority in `inputs`.
pub fn forecast(inputs: &Inputs, options: &Options) -> Result<Forecast, ForecastError> {
    forecast_with(inputs, &inputs.population, options)
}

/// Meets one run's demand for commissioned kinds. Children keeping today's placement come
/// first (`kept`: the share of each cell's demand that is children still in the phase they
/// were in at the origin, in the authority, in another authority, elsewhere): those in the
/// authority are met there (from the district's places, then spare places elsewhere in the
/// authority, and where those run out they stay all the same, over the places), those in
/// another authority stay with the partner, and those elsewhere stay out of county. The
/// rest (new plans, phase transfers) is met from the district's places left, then spare
/// places elsewhere in the authority (shared in proportion to what is unmet), then partner
/// authorities' spare places (likewise), and the rest overflows. `demand` and the outputs
/// are `[gd][p][c]` for one run.
// Dense arrays indexed by authority and district read more plainly as index loops.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn allocate(
    models: &[Model],
    first_district: &[usize],
    partners_of: &[Vec<usize>],
    capacity: &[Option<u32>],
    kept: &[[f32; 3]],
    demand: &[f32],
    auth: &mut [f32],
    partner: &mut [f32],
    over: &mut [f32],
) {
    let nc = PlaceKind::COMMISSIONED.len();
    let nd = capacity.len() / (PH * nc);
    let mut unmet = vec![0.0_f64; nd];
    let mut spare = vec![0.0_f64; nd];
    // Children keeping a place in the authority that their district's places do not hold.
    let mut kept_beyond = vec![0.0_f64; nd];
    let mut auth_spare = vec![0.0; models.len()];
    let span = |ai: usize| first_district[ai]..first_district[ai] + models[ai].districts.len();
    for p in 0..PH {
        for c in 0..nc {
            let cell = |gd: usize| (gd * PH + p) * nc + c;
            for gd in 0..nd {
                let want = f64::from(demand[cell(gd)]);
                let [k_in, k_partner, k_out] = kept[cell(gd)].map(|x| want * f64::from(x));
                // Places not known (an authority with no settings on record): its demand is
                // taken as met where it is, and it has no spare places to offer.
                let known = capacity[cell(gd)].is_some();
                let mut have = capacity[cell(gd)].map_or(f64::INFINITY, f64::from);
                let held = k_in.min(have);
                have -= held;
                kept_beyond[gd] = k_in - held;
                let rest = (want - k_in - k_partner - k_out).max(0.0);
                let met = rest.min(have);
                unmet[gd] = rest - met;
                spare[gd] = if known { have - met } else { 0.0 };
                auth[cell(gd)] = 0.0;
                partner[cell(gd)] = k_partner as f32;
                over[cell(gd)] = k_out as f32;
            }
            // Elsewhere in the authority: the children already placed there first.
            for ai in 0..models.len() {
                let mut have: f64 = span(ai).map(|d| spare[d]).sum();
                let beyond: f64 = span(ai).map(|d| kept_beyond[d]).sum();
                have = (have - beyond).max(0.0);
                let want: f64 = span(ai).map(|d| unmet[d]).sum();
                let take = want.min(have);
                for d in span(ai) {
                    let got = if take > 0.0 {
                        unmet[d] * take / want
                    } else {
                        0.0
                    };
                    unmet[d] -= got;
                    auth[cell(d)] = (kept_beyond[d] + got) as f32;
                }
                auth_spare[ai] = have - take;
            }
            // Partners' spare places, provider by provider.
            for (provider, partners) in partners_of.iter().enumerate() {
                if partners.is_empty() || auth_spare[provider] <= 0.0 {
                    continue;
                }
                let want: f64 = partners
                    .iter()
                    .flat_map(|a| span(*a))
                    .map(|d| unmet[d])
                    .sum();
                if want <= 0.0 {
                    continue;
                }
                let take = want.min(auth_spare[provider]);
                auth_spare[provider] -= take;
                for a in partners {
                    for d in span(*a) {
                        let got = unmet[d] * take / want;
                        unmet[d] -= got;
                        partner[cell(d)] += got as f32;
                    }
                }
            }
            for gd in 0..nd {
                over[cell(gd)] += unmet[gd] as f32;
            }
        }
    }
}

pub(crate) fn percentiles_of(samples: &mut [f32]) -> Range {
    percentiles(samples)
}

/// P10, P50 and P90 of `samples` (reordered in place), rounded to whole children. Selection,
/// not a sort: each quantile is found in linear time.
fn percentiles(samples: &mut [f32]) -> Range {
    if samples.is_empty() {
        return Range::default();
    }
    // Many cells are the same in every run (no places of a kind, nothing unmet).
    let first = samples[0];
    if samples.iter().all(|x| *x == first) {
        return Range::exact(f64::from(first).round() as i64);
    }
    let n = samples.len();
    let index = |q: f64| (q * (n - 1) as f64).round() as usize;
    let (i10, i50, i90) = (index(0.1), index(0.5), index(0.9));
    let (below, p50, above) = samples.select_nth_unstable_by(i50, f32::total_cmp);
    let p50 = *p50;
    let p10 = if i10 == i50 {
        p50
    } else {
        *below.select_nth_unstable_by(i10, f32::total_cmp).1
    };
    let p90 = if i90 == i50 {
        p50
    } else {
        *above
            .select_nth_unstable_by(i90 - i50 - 1, f32::total_cmp)
            .1
    };
    let round = |x: f32| f64::from(x).round() as i64;
    Range {
        p10: round(p10),
        p50: round(p50),
        p90: round(p90),
    }
}

/// Mainstream totals per authority and for all, per phase and year.
pub fn mainstream_totals(rows: &[MainstreamRow]) -> Vec<MainstreamTotal> {
    let mut sums: BTreeMap<(Option<AuthorityCode>, Phase, i32), MainstreamTotal> = BTreeMap::new();
    for row in rows {
        for authority in [Some(row.authority.clone()), None] {
            let t = sums
                .entry((authority.clone(), row.phase, row.year))
                .or_insert_with(|| MainstreamTotal {
                    authority,
                    phase: row.phase,
                    year: row.year,
                    pupils: 0,
                    net_capacity: 0,
                });
            t.pupils += row.pupils.p50;
            t.net_capacity += i64::from(row.net_capacity.unwrap_or(0));
        }
    }
    sums.into_values().collect()
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
                    met_by_partner: 0,
                    out_of_county: 0,
                    annual_cost: Some(Decimal::ZERO),
                });
            t.demand += row.demand.p50;
            t.met_by_partner += row.met_by_partner.map_or(0, |r| r.p50);
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

/// The prices a finance officer sets for a forecast's costs: inflation a year from each
/// authority's price base, and home-to-school transport a year per child by kind of place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    /// A fraction a year (0.03 is 3%).
    pub inflation: f64,
    pub transport: Vec<(PlaceKind, Decimal)>,
}

impl Prices {
    /// Prices from an inflation rate in percent a year (-20 to 50) and transport costs per
    /// child (never negative, one per kind), or what is wrong with them, in words.
    pub fn new(inflation_pct: f64, transport: Vec<(PlaceKind, Decimal)>) -> Result<Prices, String> {
        if !(-20.0..=50.0).contains(&inflation_pct) {
            return Err(format!(
                "{inflation_pct}: inflation must be from -20 to 50 percent a year"
            ));
        }
        let mut seen = BTreeSet::new();
        for (kind, cost) in &transport {
            if cost.is_sign_negative() && !cost.is_zero() {
                return Err(format!("{cost}: a transport cost is never negative"));
            }
            if !seen.insert(*kind) {
                return Err(format!("transport for {kind} is given twice"));
            }
        }
        Ok(Prices {
            inflation: inflation_pct / 100.0,
            transport,
        })
    }

    /// No inflation and no transport: the forecast at the price base.
    pub fn is_default(&self) -> bool {
        self.inflation == 0.0 && self.transport.is_empty()
    }
}
