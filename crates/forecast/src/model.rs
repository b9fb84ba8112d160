//! Estimating each authority's flows from its history: the stock-flow model where children
//! are recorded, its own trend where only the SEN2 tables are.

use std::collections::BTreeSet;

use placeledger_domain::{AuthorityCode, GssCode, PrimaryNeed};
use serde::Serialize;

use crate::inputs::{
    ChildHistory, Inputs, Population, PublishedJanuary, SendHistory, TableHistory,
};
use crate::kind::{AGES, MAX_AGE, PHASES, PlaceKind, phase_index, phase_of};

pub(crate) const KINDS: usize = PlaceKind::ALL.len();
pub(crate) const PH: usize = PHASES.len();

pub(crate) fn needs() -> usize {
    PrimaryNeed::ALL.len()
}

pub(crate) fn need_index(n: PrimaryNeed) -> usize {
    PrimaryNeed::ALL.iter().position(|x| *x == n).unwrap_or(0)
}

/// Which inputs were missing or thin, so the forecast is less sure than it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Known only by its SEN2 tables: forecast from its own trend, not from flows.
    NoChildLevelHistory,
    /// Fewer Januaries than the estimation window asks for.
    ShortHistory,
    /// No population for one or more districts: incidence is a count, not a rate.
    NoPopulation,
    /// No age breakdown: phases are split by population.
    NoAgeBreakdown,
    /// No need breakdown: every plan counts as need unknown.
    NoNeedBreakdown,
    /// No placement breakdown: every plan counts as educated elsewhere / not recorded.
    NoPlacementBreakdown,
    /// No January history at all: nothing to forecast from.
    NoHistory,
    /// The forecast starts from DfE's published January: the child-level log ends earlier,
    /// and its children were aged on with the model's own flows and scaled to the published
    /// total (and ages, where published).
    PublishedStart,
    /// No setting of the authority is on record: its places are not known, so no surplus,
    /// deficit or overflow out of the authority is worked out for it.
    NoSettings,
}

impl Flag {
    pub fn code(self) -> &'static str {
        match self {
            Flag::NoChildLevelHistory => "no_child_level_history",
            Flag::ShortHistory => "short_history",
            Flag::NoPopulation => "no_population",
            Flag::NoAgeBreakdown => "no_age_breakdown",
            Flag::NoNeedBreakdown => "no_need_breakdown",
            Flag::NoPlacementBreakdown => "no_placement_breakdown",
            Flag::NoHistory => "no_history",
            Flag::PublishedStart => "published_start",
            Flag::NoSettings => "no_settings",
        }
    }
}

/// The rates a forecast used for one authority, for the planner to see.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    /// `children` (stock-flow) or `trend` (the authority's own January totals).
    pub method: &'static str,
    /// New plans a year per 1,000 resident children and young people aged 0-25.
    pub incidence_per_1000: Option<f64>,
    /// Plans ceasing in a year per plan in force.
    pub cessation: Option<f64>,
    /// Net transfers in (and need changes) a year per plan in force.
    pub net_transfers: Option<f64>,
    /// Annual growth carried forward: of incidence (stock-flow) or of plans (trend).
    pub growth: f64,
    /// Standard deviation of the yearly shocks the ranges draw.
    pub volatility: f64,
    /// Januaries the rates come from.
    pub from_januaries: Vec<i32>,
    /// Earlier Januaries this model was run from (with only what was known then) and
    /// checked against the Januaries that followed, to size the ranges.
    pub past_forecasts: usize,
    /// Their root mean square error per year ahead (log scale: 0.05 is about 5% a year).
    pub past_error_per_year: Option<f64>,
    /// England's growth in plans a year over the window (log scale), which the forecast
    /// total follows when it is known; `None` where England's Januaries are not recorded.
    pub england_growth: Option<f64>,
    /// The authority's momentum added to England's growth in the first year ahead (log
    /// scale; it fades by half a year after): 30% of how far its own growth in the year to
    /// the origin was above (or below) England's. `None` where either is unknown.
    pub momentum: Option<f64>,
}

/// How much of an authority's lead over England's growth in the year to the origin carries
/// into the first year ahead. Chosen on the national back-test (FORECAST.md): over every
/// English authority from origins 2021-2023, 0.3 with [`MOMENTUM_FADE`] 0.5 cut the one-year
/// error from 3.95% (England's growth alone) to 3.75%, and the three-year from 8.2% to 8.0%;
/// weights from 0.2 to 0.4 and fades from 0.3 to 0.7 do within 0.05 points as well.
pub const MOMENTUM_WEIGHT: f64 = 0.3;
/// How much of the momentum is left each further year ahead.
pub const MOMENTUM_FADE: f64 = 0.5;

#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// Stock-flow: stock `[d][a][n]`, continuation `[a][n]` (age a to a+1), incidence
    /// `[d][a][n]` per person (or per year without population), population `[step][d][a]`.
    Flow {
        stock: Vec<f64>,
        cont: Vec<f64>,
        inc: Vec<f64>,
        pop: Option<Vec<f64>>,
        cont_sigma: f64,
    },
    /// Trend: the last total and each cell's share `[d][p][n][k]`.
    Trend { total: f64, share: Vec<f64> },
}

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub authority: AuthorityCode,
    pub districts: Vec<GssCode>,
    pub start: Start,
    /// Placement mix `[p][n][k]` (stock-flow only).
    pub mix: Vec<f64>,
    /// Where today's children of each district, phase and kind are placed `[d][p][k]`:
    /// shares in the authority, in another registered authority, and elsewhere (see
    /// [`located_shares`]).
    pub located: Vec<[f64; 3]>,
    pub growth: f64,
    pub sigma: f64,
    pub sigma_slope: f64,
    /// England's growth a year (log scale): the forecast total grows at this rate (plus the
    /// authority's momentum), and the authority's own flows decide how the plans fall by
    /// district, age, need and kind.
    pub control: Option<f64>,
    /// The authority's own momentum (log scale): [`MOMENTUM_WEIGHT`] of how far its growth in
    /// the year to the origin beat England's, added to England's growth in the first year
    /// ahead and fading by [`MOMENTUM_FADE`] a year after. 0 without both growths.
    pub momentum: f64,
    pub flags: BTreeSet<Flag>,
    pub rates: Rates,
}

fn ols_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// Standard deviation of the year-on-year changes of `logs` around their mean, if there are
/// at least two changes.
fn change_sd(logs: &[f64]) -> Option<f64> {
    let d: Vec<f64> = logs.windows(2).map(|w| w[1] - w[0]).collect();
    if d.len() < 2 {
        return None;
    }
    let m = d.iter().sum::<f64>() / d.len() as f64;
    let v = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64;
    Some(v.sqrt())
}

const MIN_SIGMA: f64 = 0.03;
const DEFAULT_SIGMA: f64 = 0.10;
/// Ranges of a trend-only forecast are this much wider: it knows less.
const TREND_WIDEN: f64 = 1.5;

impl Model {
    /// Estimates the model of `authority` from its history up to January `origin`, with
    /// `window` years of flows, for `horizon` years.
    pub fn estimate(
        inputs: &Inputs,
        population: &Population,
        authority: &AuthorityCode,
        origin: i32,
        window: u8,
        horizon: u8,
    ) -> Option<Model> {
        let districts: Vec<GssCode> = inputs
            .authorities
            .get(authority)?
            .districts
            .keys()
            .cloned()
            .collect();
        if districts.is_empty() {
            return None;
        }
        let mut flags = BTreeSet::new();
        if !inputs
            .capacity
            .keys()
            .any(|(d, _, _)| districts.binary_search(d).is_ok())
        {
            flags.insert(Flag::NoSettings);
        }
        // An authority with no plans on record still has places others may use.
        let model = match inputs.send.get(authority) {
            None => None,
            Some(history @ SendHistory::Children(c)) => {
                match flow(
                    population, &districts, c, origin, window, horizon, &mut flags,
                ) {
                    Some(m) => Some(m),
                    None => {
                        flags.insert(Flag::ShortHistory);
                        let totals = history.totals();
                        let share = child_shares(c, &districts, origin);
                        trend(&totals, share, origin, window, &mut flags)
                    }
                }
            }
            Some(SendHistory::Tables(t)) => {
                flags.insert(Flag::NoChildLevelHistory);
                let share = table_shares(population, t, &districts, origin, &mut flags);
                trend(&t.totals, share, origin, window, &mut flags)
            }
        };
        let Some((mut start, mix, growth, mut sigma, mut rates)) = model else {
            flags.insert(Flag::NoHistory);
            return Some(Model {
                authority: authority.clone(),
                districts,
                start: Start::Trend {
                    total: 0.0,
                    share: vec![0.0; 1],
                },
                mix: Vec::new(),
                located: Vec::new(),
                growth: 0.0,
                sigma: 0.0,
                sigma_slope: 0.0,
                control: None,
                momentum: 0.0,
                flags,
                rates: Rates {
                    method: "none",
                    ..Rates::default()
                },
            });
        };
        let mut sigma_slope = sigma / f64::from(window.max(1)).sqrt();
        let control = england_growth(&inputs.england, origin, window);
        rates.england_growth = control;
        let own_totals = inputs
            .send
            .get(authority)
            .map(SendHistory::totals)
            .unwrap_or_default();
        let momentum = control.and_then(|_| {
            let own = year_growth(&own_totals, origin)?;
            let england = year_growth(&inputs.england, origin)?;
            Some(MOMENTUM_WEIGHT * (own - england))
        });
        rates.momentum = momentum;
        // Following England, what is uncertain is how far the authority's plans drift from
        // England's path: sized by how far its yearly growth has strayed from England's. The
        // drift is a random walk of the whole caseload (a stock-flow model's continuation
        // shock; a trend's level shock, wider as before), around a growth that may itself
        // differ from England's by about the drift over the years known.
        if control.is_some()
            && let Some((drift, years)) = drift_from_england(&own_totals, &inputs.england, origin)
        {
            let drift = drift.max(MIN_SIGMA / 2.0);
            sigma_slope = drift / (years as f64).sqrt();
            match &mut start {
                Start::Flow { cont_sigma, .. } => {
                    *cont_sigma = drift;
                    sigma = 0.0;
                }
                Start::Trend { .. } => sigma = drift * TREND_WIDEN,
            }
            rates.volatility = drift;
        }
        let located = match inputs.send.get(authority) {
            Some(SendHistory::Children(c)) => located_shares(c, &districts, origin),
            _ => located_shares(&ChildHistory::default(), &districts, origin),
        };
        Some(Model {
            authority: authority.clone(),
            districts,
            start,
            mix,
            located,
            growth,
            sigma,
            sigma_slope,
            control,
            momentum: momentum.unwrap_or(0.0),
            flags,
            rates,
        })
    }
}

/// Growth in the year to January `year` (log scale), where both Januaries are known.
fn year_growth(totals: &std::collections::BTreeMap<i32, u32>, year: i32) -> Option<f64> {
    let (now, before) = (*totals.get(&year)?, *totals.get(&(year - 1))?);
    (now > 0 && before > 0).then(|| (f64::from(now) / f64::from(before)).ln())
}

type Estimate = (Start, Vec<f64>, f64, f64, Rates);

/// The root mean square of the authority's yearly growth in plans less England's (log
/// scale), over the consecutive Januaries up to `origin` where both are known, and how many
/// years that is; `None` with fewer than two.
fn drift_from_england(
    totals: &std::collections::BTreeMap<i32, u32>,
    england: &std::collections::BTreeMap<i32, u32>,
    origin: i32,
) -> Option<(f64, usize)> {
    let d: Vec<f64> = totals
        .range(..=origin)
        .filter_map(|(y, _)| Some(year_growth(totals, *y)? - year_growth(england, *y)?))
        .collect();
    (d.len() >= 2).then(|| {
        (
            (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt(),
            d.len(),
        )
    })
}

/// England's growth in plans a year (log scale) over the `window` years to January `origin`:
/// the slope of a straight line through the logs of the Januaries published by then (a
/// missing year is passed over). `None` without two Januaries in the window, or when the
/// latest is more than a year before the origin (too stale to stand for the years ahead).
pub(crate) fn england_growth(
    england: &std::collections::BTreeMap<i32, u32>,
    origin: i32,
    window: u8,
) -> Option<f64> {
    let (last, _) = england.range(..=origin).next_back()?;
    if *last < origin - 1 {
        return None;
    }
    let points: Vec<(f64, f64)> = england
        .range(last - i32::from(window.max(1))..=*last)
        .filter(|(_, n)| **n > 0)
        .map(|(y, n)| (f64::from(*y), f64::from(*n).ln()))
        .collect();
    (points.len() >= 2).then(|| ols_slope(&points).clamp(-0.2, 0.3))
}

fn dist_index(districts: &[GssCode], d: &GssCode) -> Option<usize> {
    districts.iter().position(|x| x == d)
}

/// Population `[d][a]` in mid-`year`, if every district has it.
fn pop_of(population: &Population, districts: &[GssCode], year: i32) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(districts.len() * AGES);
    for d in districts {
        out.extend_from_slice(&population.at(d, year)?);
    }
    Some(out)
}

/// The cells of an authority's plans: district x age x need, `[d][a][n]`.
struct Grid<'a> {
    districts: &'a [GssCode],
    nn: usize,
}

impl Grid<'_> {
    fn cell(&self, d: usize, a: usize, n: usize) -> usize {
        (d * AGES + a) * self.nn + n
    }

    /// A January's (or a year's new) plans as a dense vector of cells.
    fn dense(&self, m: &std::collections::BTreeMap<crate::inputs::SendKey, u32>) -> Vec<f64> {
        let mut v = vec![0.0; self.districts.len() * AGES * self.nn];
        for ((d, a, n), count) in m {
            if let Some(d) = dist_index(self.districts, d)
                && usize::from(*a) < AGES
            {
                v[self.cell(d, usize::from(*a), need_index(*n))] += f64::from(*count);
            }
        }
        v
    }
}

/// The flows of the window's years, summed: continuation (`k_num / k_den` by age and need),
/// new plans by age and need against the population by age, by district, and in all.
struct Sums {
    k_num: Vec<f64>,
    k_den: Vec<f64>,
    inc_num: Vec<f64>,
    inc_den: Vec<f64>,
    d_new: Vec<f64>,
    d_pop: Vec<f64>,
    inc_count: Vec<f64>,
    ceased: f64,
    stock_before: f64,
    new_total: f64,
}

impl Sums {
    fn over(
        grid: &Grid<'_>,
        c: &ChildHistory,
        population: &Population,
        in_window: &[i32],
        has_pop: bool,
    ) -> Sums {
        let (districts, nd, nn) = (grid.districts, grid.districts.len(), grid.nn);
        let cell = |d, a, n| grid.cell(d, a, n);
        let dense = |m| grid.dense(m);
        let mut k_num = vec![0.0; AGES * nn];
        let mut k_den = vec![0.0; AGES * nn];
        let mut inc_num = vec![0.0; AGES * nn];
        let mut inc_den = vec![0.0; AGES];
        let mut d_new = vec![0.0; nd];
        let mut d_pop = vec![0.0; nd];
        let mut inc_count = vec![0.0; nd * AGES * nn];
        let mut ceased = 0.0;
        let mut stock_before = 0.0;
        let mut new_total = 0.0;
        for t in in_window {
            let now = dense(&c.january[t]);
            let before = dense(&c.january[&(t - 1)]);
            let new = dense(&c.new_plans[t]);
            let pop = if has_pop {
                pop_of(population, districts, t - 1)
            } else {
                None
            };
            for d in 0..nd {
                for a in 0..AGES {
                    for n in 0..nn {
                        let i = cell(d, a, n);
                        if a < MAX_AGE {
                            let next = cell(d, a + 1, n);
                            k_num[a * nn + n] += now[next] - new[next];
                            k_den[a * nn + n] += before[i];
                        }
                        inc_num[a * nn + n] += new[i];
                        inc_count[i] += new[i] / in_window.len() as f64;
                        d_new[d] += new[i];
                        stock_before += before[i];
                        new_total += new[i];
                    }
                    if let Some(p) = &pop {
                        inc_den[a] += p[d * AGES + a];
                        d_pop[d] += p[d * AGES + a];
                    }
                }
            }
            ceased += c
                .ceased
                .get(t)
                .map_or(0.0, |m| m.values().map(|v| f64::from(*v)).sum());
        }
        Sums {
            k_num,
            k_den,
            inc_num,
            inc_den,
            d_new,
            d_pop,
            inc_count,
            ceased,
            stock_before,
            new_total,
        }
    }

    /// Continuation a -> a+1 by need, pooled over districts and window; thin cells fall back
    /// to the age's figure across needs.
    fn continuation(&self, nn: usize) -> Vec<f64> {
        let (k_num, k_den) = (&self.k_num, &self.k_den);
        // (see above)
        // the age's figure across needs.
        let mut cont = vec![0.0; AGES * nn];
        for a in 0..MAX_AGE {
            let num_a: f64 = (0..nn).map(|n| k_num[a * nn + n]).sum();
            let den_a: f64 = (0..nn).map(|n| k_den[a * nn + n]).sum();
            let age_k = if den_a >= 10.0 { num_a / den_a } else { 1.0 };
            for n in 0..nn {
                let (num, den) = (k_num[a * nn + n], k_den[a * nn + n]);
                cont[a * nn + n] = if den >= 10.0 { num / den } else { age_k }.clamp(0.0, 1.5);
            }
        }
        cont
    }

    /// New plans per resident by district, age and need (a district factor times the
    /// authority's rate by age and need); without population, the window's mean count.
    fn incidence(&self, grid: &Grid<'_>, has_pop: bool) -> Vec<f64> {
        let (nd, nn) = (grid.districts.len(), grid.nn);
        let cell = |d, a, n| grid.cell(d, a, n);
        let (inc_num, inc_den, d_new, d_pop, new_total) = (
            &self.inc_num,
            &self.inc_den,
            &self.d_new,
            &self.d_pop,
            self.new_total,
        );
        let mut inc = vec![0.0; nd * AGES * nn];
        let pop_total: f64 = d_pop.iter().sum();
        if has_pop {
            let auth_rate = if pop_total > 0.0 {
                new_total / pop_total
            } else {
                0.0
            };
            for d in 0..nd {
                let factor = if d_pop[d] > 0.0 && auth_rate > 0.0 {
                    (d_new[d] / d_pop[d]) / auth_rate
                } else {
                    1.0
                };
                for a in 0..AGES {
                    for n in 0..nn {
                        if inc_den[a] > 0.0 {
                            inc[cell(d, a, n)] = inc_num[a * nn + n] / inc_den[a] * factor;
                        }
                    }
                }
            }
        } else {
            inc = self.inc_count.clone();
        }
        inc
    }
}

/// How much continuation jumps about: the spread of its yearly log over every year of flows.
fn continuation_spread(grid: &Grid<'_>, c: &ChildHistory, pairs: &[i32]) -> f64 {
    let (nd, nn) = (grid.districts.len(), grid.nn);
    let cell = |d, a, n| grid.cell(d, a, n);
    let dense = |m| grid.dense(m);
    // Continuation jumps about less; its own spread from every year of flows.
    let cont_logs: Vec<f64> = pairs
        .iter()
        .filter_map(|t| {
            let now = dense(&c.january[t]);
            let before = dense(&c.january[&(t - 1)]);
            let new = dense(&c.new_plans[t]);
            let (mut num, mut den) = (0.0, 0.0);
            for d in 0..nd {
                for a in 0..MAX_AGE {
                    for n in 0..nn {
                        num += now[cell(d, a + 1, n)] - new[cell(d, a + 1, n)];
                        den += before[cell(d, a, n)];
                    }
                }
            }
            (num > 0.0 && den > 0.0).then(|| (num / den).ln())
        })
        .collect();
    {
        let n = cont_logs.len();
        if n >= 2 {
            let m = cont_logs.iter().sum::<f64>() / n as f64;
            (cont_logs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.02
        }
    }
    .max(0.01)
}

fn flow(
    population: &Population,
    districts: &[GssCode],
    c: &ChildHistory,
    origin: i32,
    window: u8,
    horizon: u8,
    flags: &mut BTreeSet<Flag>,
) -> Option<Estimate> {
    let grid = Grid {
        districts,
        nn: needs(),
    };
    let (nd, nn) = (districts.len(), grid.nn);
    let dense = |m| grid.dense(m);
    // The flows are estimated up to the last January the log holds (`known`); a January
    // after it is DfE's published figure, which the stock is brought up to below.
    let (known, stock) = c
        .january
        .range(..=origin)
        .next_back()
        .map(|(y, cells)| (*y, dense(cells)))?;
    let published = c.published.get(&origin).filter(|_| known < origin);
    if known < origin && published.is_none() {
        return None;
    }
    // Every January with the one before it and its new plans: a year of flows.
    let pairs: Vec<i32> = c
        .january
        .keys()
        .copied()
        .filter(|t| *t <= known && c.january.contains_key(&(t - 1)) && c.new_plans.contains_key(t))
        .collect();
    let in_window: Vec<i32> = pairs
        .iter()
        .copied()
        .filter(|t| *t > known - i32::from(window))
        .collect();
    if in_window.is_empty() {
        return None;
    }
    if in_window.len() < usize::from(window) {
        flags.insert(Flag::ShortHistory);
    }
    let has_pop = in_window
        .iter()
        .all(|t| pop_of(population, districts, t - 1).is_some())
        && (1..=i32::from(horizon))
            .all(|h| pop_of(population, districts, origin + h - 1).is_some());
    if !has_pop {
        flags.insert(Flag::NoPopulation);
    }

    let sums = Sums::over(&grid, c, population, &in_window, has_pop);
    let cont = sums.continuation(nn);
    let mut inc = sums.incidence(&grid, has_pop);
    let (pop_total, new_total) = (sums.d_pop.iter().sum::<f64>(), sums.new_total);
    let pop = if has_pop {
        let mut v = Vec::with_capacity(usize::from(horizon) * nd * AGES);
        for h in 1..=i32::from(horizon) {
            v.extend(pop_of(population, districts, origin + h - 1)?);
        }
        Some(v)
    } else {
        None
    };

    // Growth of incidence over the window, and how much it jumps about (all years known).
    let rate = |t: i32| -> Option<f64> {
        let new: f64 = c.new_plans.get(&t)?.values().map(|v| f64::from(*v)).sum();
        let base = if has_pop {
            pop_of(population, districts, t - 1)?.iter().sum::<f64>()
        } else {
            1.0
        };
        (new > 0.0 && base > 0.0).then(|| (new / base).ln())
    };
    let window_points: Vec<(f64, f64)> = in_window
        .iter()
        .filter_map(|t| rate(*t).map(|r| (f64::from(*t), r)))
        .collect();
    let growth = ols_slope(&window_points).clamp(-0.2, 0.3);
    // The incidence above is the window's average, which stands for its middle year: carry
    // it along the trend to the origin, or a rising incidence starts a year behind.
    let middle = in_window.iter().map(|t| f64::from(*t)).sum::<f64>() / in_window.len() as f64;
    let to_origin = (growth * (f64::from(origin) - middle)).exp();
    for x in &mut inc {
        *x *= to_origin;
    }
    let all_logs: Vec<f64> = pairs.iter().filter_map(|t| rate(*t)).collect();
    let sigma = change_sd(&all_logs).unwrap_or(DEFAULT_SIGMA).max(MIN_SIGMA);
    let cont_sigma = continuation_spread(&grid, c, &pairs);
    let mix = child_mix(c, known);
    let stock = match published {
        Some(p) => {
            flags.insert(Flag::PublishedStart);
            let mut held = stock;
            for y in known + 1..=origin {
                let persons = pop_of(population, districts, y - 1).filter(|_| has_pop);
                let trend = (growth * f64::from(y - origin)).exp();
                held = aged_on(&grid, &held, &cont, &inc, persons.as_deref(), trend);
            }
            scaled_to(&grid, held, p)
        }
        None => stock,
    };
    let cessation = (sums.stock_before > 0.0).then(|| sums.ceased / sums.stock_before);
    let k_total: f64 = sums.k_num.iter().sum::<f64>() / sums.k_den.iter().sum::<f64>().max(1.0);
    let rates = Rates {
        method: "stock_flow",
        incidence_per_1000: (has_pop && pop_total > 0.0).then(|| new_total / pop_total * 1000.0),
        cessation,
        net_transfers: cessation.map(|c| k_total - (1.0 - c)),
        growth,
        volatility: sigma,
        from_januaries: in_window.clone(),
        ..Rates::default()
    };
    Some((
        Start::Flow {
            stock,
            cont,
            inc,
            pop,
            cont_sigma,
        },
        mix,
        growth,
        sigma,
        rates,
    ))
}

/// The plans `held` a January on: each continues from age a to a+1 at its rate, and new
/// plans enter at the incidence (per person where `persons` is known) times `trend`.
fn aged_on(
    grid: &Grid<'_>,
    held: &[f64],
    cont: &[f64],
    inc: &[f64],
    persons: Option<&[f64]>,
    trend: f64,
) -> Vec<f64> {
    let nn = grid.nn;
    let mut out = vec![0.0; held.len()];
    for d in 0..grid.districts.len() {
        for a in 0..AGES {
            let people = persons.map_or(1.0, |p| p[d * AGES + a]);
            for n in 0..nn {
                let i = grid.cell(d, a, n);
                let carried = if a > 0 {
                    held[grid.cell(d, a - 1, n)] * cont[(a - 1) * nn + n]
                } else {
                    0.0
                };
                out[i] = carried + inc[i] * people * trend;
            }
        }
    }
    out
}

/// `stock` scaled to a published January: each published age band to its count (single
/// ages before bands, so a band over them only corrects what is left), then the whole to
/// the published total (plans of unknown age, or ages not published).
fn scaled_to(grid: &Grid<'_>, mut stock: Vec<f64>, published: &PublishedJanuary) -> Vec<f64> {
    let nn = grid.nn;
    let mut bands: Vec<(&(u8, u8), &u32)> = published.ages.iter().collect();
    bands.sort_by_key(|((from, to), _)| to - from);
    for ((from, to), n) in bands {
        let ages = usize::from(*from)..=usize::from(*to).min(AGES - 1);
        let cells = |d: usize| {
            ages.clone()
                .flat_map(move |a| (0..nn).map(move |x| grid.cell(d, a, x)))
        };
        let ours: f64 = (0..grid.districts.len())
            .flat_map(cells)
            .map(|i| stock[i])
            .sum();
        if ours > 0.0 {
            let f = f64::from(*n) / ours;
            for i in (0..grid.districts.len()).flat_map(cells) {
                stock[i] *= f;
            }
        }
    }
    let ours: f64 = stock.iter().sum();
    if ours > 0.0 {
        let f = f64::from(published.total) / ours;
        for x in &mut stock {
            *x *= f;
        }
    }
    stock
}

/// The share of each kind of place `[p][n][k]` among the plans of each phase and need on the
/// January `origin` (or the latest before). Thin cells use the phase's mix across needs.
fn child_mix(c: &ChildHistory, origin: i32) -> Vec<f64> {
    let nn = needs();
    let mut counts = vec![0.0; PH * nn * KINDS];
    if let Some((_, m)) = c.placements.range(..=origin).next_back() {
        for ((phase, need, kind), n) in m {
            if let Some(p) = phase_index(*phase) {
                counts[(p * nn + need_index(*need)) * KINDS + kind.index()] += f64::from(*n);
            }
        }
    }
    let mut mix = vec![0.0; PH * nn * KINDS];
    for p in 0..PH {
        let mut phase = [0.0; KINDS];
        for n in 0..nn {
            for k in 0..KINDS {
                phase[k] += counts[(p * nn + n) * KINDS + k];
            }
        }
        let phase_total: f64 = phase.iter().sum();
        for n in 0..nn {
            let row = &counts[(p * nn + n) * KINDS..(p * nn + n + 1) * KINDS];
            let total: f64 = row.iter().sum();
            for k in 0..KINDS {
                mix[(p * nn + n) * KINDS + k] = if total >= 5.0 {
                    row[k] / total
                } else if phase_total > 0.0 {
                    phase[k] / phase_total
                } else if k == PlaceKind::Elsewhere.index() {
                    1.0
                } else {
                    0.0
                };
            }
        }
    }
    mix
}

/// Each cell's share `[d][p][n][k]` of the January `origin` (or latest) caseload, for a
/// trend forecast of an authority whose children are known but whose flows are not.
/// Where the children of each district, phase and kind are placed on the latest January up
/// to `origin` `[d][p][k]`: shares in the authority, in another registered authority, and
/// elsewhere. A cell with no children counts as in the authority, except independent and
/// non-maintained special schools, whose places count as elsewhere (as before locations were
/// recorded): an authority known only from its tables has them all there.
pub(crate) fn located_shares(
    c: &ChildHistory,
    districts: &[GssCode],
    origin: i32,
) -> Vec<[f64; 3]> {
    let mut out: Vec<[f64; 3]> = (0..districts.len() * PH * KINDS)
        .map(|i| {
            if i % KINDS == PlaceKind::Independent.index() {
                [0.0, 0.0, 1.0]
            } else {
                [1.0, 0.0, 0.0]
            }
        })
        .collect();
    let Some((_, cells)) = c.located.range(..=origin).next_back() else {
        return out;
    };
    for ((district, phase, kind), n) in cells {
        let (Some(d), Some(p)) = (dist_index(districts, district), phase_index(*phase)) else {
            continue;
        };
        let all: u32 = n.iter().sum();
        if all > 0 {
            out[(d * PH + p) * KINDS + kind.index()] = n.map(|x| f64::from(x) / f64::from(all));
        }
    }
    out
}

fn child_shares(c: &ChildHistory, districts: &[GssCode], origin: i32) -> Vec<f64> {
    let nn = needs();
    let mix = child_mix(c, origin);
    let mut share = vec![0.0; districts.len() * PH * nn * KINDS];
    if let Some((_, m)) = c.january.range(..=origin).next_back() {
        let total: f64 = m.values().map(|v| f64::from(*v)).sum::<f64>().max(1.0);
        for ((d, a, n), count) in m {
            let (Some(d), Some(p)) = (
                dist_index(districts, d),
                phase_index(phase_of(usize::from(*a))),
            ) else {
                continue;
            };
            let n = need_index(*n);
            for k in 0..KINDS {
                share[((d * PH + p) * nn + n) * KINDS + k] +=
                    f64::from(*count) / total * mix[(p * nn + n) * KINDS + k];
            }
        }
    }
    share
}

/// Each cell's share `[d][p][n][k]` from the SEN2 tables: districts by population, phases
/// by the age table, needs and kinds by theirs (independent margins: SEN2 publishes them
/// separately).
fn table_shares(
    population: &Population,
    t: &TableHistory,
    districts: &[GssCode],
    origin: i32,
    flags: &mut BTreeSet<Flag>,
) -> Vec<f64> {
    let nd = districts.len();
    let nn = needs();
    let pop = pop_of(population, districts, origin - 1);
    let district_share: Vec<f64> = match &pop {
        Some(p) => {
            let per: Vec<f64> = (0..nd)
                .map(|d| p[d * AGES..(d + 1) * AGES].iter().sum())
                .collect();
            let total: f64 = per.iter().sum();
            per.iter()
                .map(|x| {
                    if total > 0.0 {
                        x / total
                    } else {
                        1.0 / nd as f64
                    }
                })
                .collect()
        }
        None => {
            flags.insert(Flag::NoPopulation);
            vec![1.0 / nd as f64; nd]
        }
    };
    let mut phase_share = [0.0; PH];
    if let Some((_, bands)) = t.ages.range(..=origin).next_back() {
        for ((from, to), n) in bands {
            let to = (*to).min(MAX_AGE as u8);
            if *from > to {
                continue;
            }
            let width = f64::from(to - from + 1);
            for a in *from..=to {
                if let Some(p) = phase_index(phase_of(usize::from(a))) {
                    phase_share[p] += f64::from(*n) / width;
                }
            }
        }
    } else {
        flags.insert(Flag::NoAgeBreakdown);
        // School and college ages by population, else evenly over 4-19.
        for a in 4..=19 {
            let w = pop
                .as_ref()
                .map_or(1.0, |p| (0..nd).map(|d| p[d * AGES + a]).sum());
            if let Some(p) = phase_index(phase_of(a)) {
                phase_share[p] += w;
            }
        }
    }
    normalise(&mut phase_share);
    let mut need_share = vec![0.0; nn];
    match t.needs.range(..=origin).next_back() {
        Some((_, m)) => {
            for (n, c) in m {
                need_share[need_index(*n)] += f64::from(*c);
            }
        }
        None => {
            flags.insert(Flag::NoNeedBreakdown);
            need_share[need_index(PrimaryNeed::Unknown)] = 1.0;
        }
    }
    normalise(&mut need_share);
    let mut kind_share = [0.0; KINDS];
    match t.kinds.range(..=origin).next_back() {
        Some((_, m)) => {
            for (k, c) in m {
                kind_share[k.index()] += f64::from(*c);
            }
        }
        None => {
            flags.insert(Flag::NoPlacementBreakdown);
            kind_share[PlaceKind::Elsewhere.index()] = 1.0;
        }
    }
    normalise(&mut kind_share);
    let mut share = vec![0.0; nd * PH * nn * KINDS];
    for d in 0..nd {
        for p in 0..PH {
            for n in 0..nn {
                for k in 0..KINDS {
                    share[((d * PH + p) * nn + n) * KINDS + k] =
                        district_share[d] * phase_share[p] * need_share[n] * kind_share[k];
                }
            }
        }
    }
    share
}

fn normalise(v: &mut [f64]) {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        for x in v.iter_mut() {
            *x /= total;
        }
    }
}

fn trend(
    totals: &std::collections::BTreeMap<i32, u32>,
    share: Vec<f64>,
    origin: i32,
    window: u8,
    flags: &mut BTreeSet<Flag>,
) -> Option<Estimate> {
    let (last_year, last) = totals.range(..=origin).next_back()?;
    let from = origin - i32::from(window);
    let points: Vec<(f64, f64)> = totals
        .range(from..=origin)
        .filter(|(_, v)| **v > 0)
        .map(|(y, v)| (f64::from(*y), f64::from(*v).ln()))
        .collect();
    if points.len() <= usize::from(window) {
        flags.insert(Flag::ShortHistory);
    }
    let growth = ols_slope(&points).clamp(-0.2, 0.3);
    let logs: Vec<f64> = totals
        .range(..=origin)
        .filter(|(_, v)| **v > 0)
        .map(|(_, v)| f64::from(*v).ln())
        .collect();
    let sigma = change_sd(&logs).unwrap_or(DEFAULT_SIGMA).max(MIN_SIGMA) * TREND_WIDEN;
    // A total older than the origin is carried forward to it first.
    let total = f64::from(*last) * (growth * f64::from(origin - last_year)).exp();
    let rates = Rates {
        method: "trend",
        incidence_per_1000: None,
        cessation: None,
        net_transfers: None,
        growth,
        volatility: sigma,
        from_januaries: totals.range(from..=origin).map(|(y, _)| *y).collect(),
        ..Rates::default()
    };
    Some((
        Start::Trend { total, share },
        Vec::new(),
        growth,
        sigma,
        rates,
    ))
}
