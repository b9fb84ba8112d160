//! [`forecast_with`] in named steps: the set-up (each authority's model from its history and
//! population, the districts, who shares with whom, the places), then each year the flows
//! (every run's plans), the ranges (sized on the track record, centred on the central
//! path), the demand for each kind of place, its allocation, and the rows with their costs.

use std::collections::BTreeMap;

use placeledger_domain::{AuthorityCode, GssCode, PrimaryNeed};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rust_decimal::Decimal;

use super::{
    CALIBRATION_PRIOR, Forecast, ForecastError, Options, RUN_BLOCK, Range, Row, RunBuffers,
    TrackRecord, allocate, central_path, joined, latest_january, log_spread, mainstream_totals,
    median_of, national_spread, normal, percentiles, totals, track_records,
};
use crate::inputs::{Inputs, Population};
use crate::kind::{PHASES, PlaceKind};
use crate::mainstream::forecast_mainstream;
use crate::model::{Flag, KINDS, Model, PH, Start, needs};
use crate::sim::{Prep, prepare};

/// [`super::forecast`] with the SEND models reading `population` in place of the inputs' own
/// (a track record's forecast from an earlier January sees the population published by then,
/// without a copy of the rest of the inputs).
pub(super) fn forecast_with(
    inputs: &Inputs,
    population: &Population,
    options: &Options,
) -> Result<Forecast, ForecastError> {
    let setup = Setup::new(inputs, population, options)?;
    let mut samples = Samples::new(&setup);
    let mut rows = Vec::new();
    let mut caseload: BTreeMap<AuthorityCode, BTreeMap<i32, Range>> = BTreeMap::new();
    for step in 0..setup.years.len() {
        for ai in 0..setup.models.len() {
            samples.advance_runs(&setup, ai, step);
            samples.size_on_track_record(&setup, ai, step);
            samples.centre_on_path(&setup, ai, step);
        }
        if options.places {
            samples.demand(&setup, step);
            samples.allocate(&setup, step);
        }
        samples.record_caseload(&setup, step, &mut caseload);
        if options.places {
            rows.extend(samples.rows(&setup, step));
        }
    }
    Ok(setup.finish(rows, caseload))
}

/// A run's own draws: per authority, its random stream, this run's slope, the running trend
/// multiplier, and each term's weight.
struct Run {
    rngs: Vec<ChaCha8Rng>,
    slope: Vec<f64>,
    mult: Vec<f64>,
    weights: Vec<Vec<f64>>,
}

/// What every year of the forecast is made from.
struct Setup<'a> {
    inputs: &'a Inputs,
    options: &'a Options,
    origin: i32,
    years: Vec<i32>,
    models: Vec<Model>,
    records: Vec<Option<TrackRecord>>,
    runs: usize,
    threads: usize,
    /// Every district of every authority, in one list, with its authority's index; and
    /// where each authority's districts start in it.
    district_of: Vec<(usize, GssCode)>,
    first_district: Vec<usize>,
    /// Who may use each provider's spare places.
    partners_of: Vec<Vec<usize>>,
    /// Places `[gd][p][c]` each year.
    capacity: Vec<Vec<Option<u32>>>,
    /// The share of each commissioned cell's demand `[gd][p][c]` each year that is children
    /// keeping today's placement: in the authority, in another authority, elsewhere.
    kept: Vec<Vec<[f32; 3]>>,
    incidence: Vec<f64>,
    preps: Vec<Prep>,
    /// Each authority's central path: the weight of each year's new plans.
    paths: Vec<Vec<f64>>,
}

impl<'a> Setup<'a> {
    /// The population and history step: each authority's model, its track record, the
    /// districts and partners, the places, and the central paths.
    fn new(
        inputs: &'a Inputs,
        population: &Population,
        options: &'a Options,
    ) -> Result<Self, ForecastError> {
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
            .filter_map(|a| {
                Model::estimate(
                    inputs,
                    population,
                    a,
                    origin,
                    options.window,
                    options.horizon,
                )
            })
            .collect();
        if models.is_empty() {
            return Err(ForecastError::NoHistory);
        }
        let records: Vec<Option<TrackRecord>> = if options.calibrate && options.noise {
            let mut all = track_records(inputs, origin, options);
            models.iter().map(|m| all.remove(&m.authority)).collect()
        } else {
            vec![None; models.len()]
        };
        let years: Vec<i32> = (1..=i32::from(options.horizon))
            .map(|h| origin + h)
            .collect();
        let mut district_of: Vec<(usize, GssCode)> = Vec::new();
        let mut first_district = Vec::new();
        for (ai, m) in models.iter().enumerate() {
            first_district.push(district_of.len());
            for d in &m.districts {
                district_of.push((ai, d.clone()));
            }
        }
        let partners_of = partners_of(inputs, &models);
        let capacity = capacity(inputs, &models, options, &years, &district_of);
        let incidence: Vec<f64> = models
            .iter()
            .map(|m| options.levers.incidence_for(&m.authority))
            .collect();
        let preps: Vec<Prep> = models
            .iter()
            .zip(&incidence)
            .map(|(m, f)| prepare(m, &options.levers, years.len(), *f, options.places))
            .collect();
        let paths: Vec<Vec<f64>> = models
            .iter()
            .zip(&preps)
            .map(|(m, prep)| central_path(m, prep, options, years.len()))
            .collect();
        let kept = kept(&models, &preps, years.len());
        Ok(Setup {
            inputs,
            options,
            origin,
            years,
            models,
            records,
            runs: options.runs as usize,
            threads: options.threads(),
            district_of,
            first_district,
            partners_of,
            capacity,
            kept,
            incidence,
            preps,
            paths,
        })
    }

    /// Districts in all.
    fn nd(&self) -> usize {
        self.district_of.len()
    }

    /// The annual cost of a place of kind `k` for authority `a` in `year`: a scenario's
    /// cost first, else the authority's.
    /// Home-to-school transport for each child is added (where set), and inflation from the
    /// authority's price base to the January's financial year.
    fn cost(&self, a: &AuthorityCode, k: PlaceKind, year: i32) -> Option<Decimal> {
        let place = self
            .options
            .levers
            .cost(a, k, year)
            .or_else(|| self.inputs.costs.get(&(a.clone(), k)).copied())?;
        let transport = self
            .options
            .transport
            .iter()
            .filter(|(kind, _)| *kind == k)
            .map(|(_, c)| *c)
            .sum::<Decimal>();
        Some((place + transport) * self.inflated(a, year))
    }

    /// What a pound at `a`'s price base is worth in the financial year of January `year`.
    fn inflated(&self, a: &AuthorityCode, year: i32) -> Decimal {
        let years = self
            .inputs
            .price_base
            .get(a)
            .map_or(0, |base| (year - 1 - base).max(0));
        if self.options.inflation == 0.0 || years == 0 {
            return Decimal::ONE;
        }
        Decimal::try_from((1.0 + self.options.inflation).powi(years)).unwrap_or(Decimal::ONE)
    }

    /// The forecast from its rows and caseload ranges: totals, the mainstream forecast, each
    /// authority's flags and rates.
    fn finish(
        self,
        rows: Vec<Row>,
        caseload: BTreeMap<AuthorityCode, BTreeMap<i32, Range>>,
    ) -> Forecast {
        let (inputs, options, origin) = (self.inputs, self.options, self.origin);
        let totals = totals(&rows);
        let mainstream = if options.places {
            let rolls_origin = inputs
                .mainstream
                .values()
                .filter_map(|a| a.rolls.range(..=origin + 1).next_back().map(|(y, _)| *y))
                .max();
            rolls_origin.map_or_else(Vec::new, |o| {
                forecast_mainstream(
                    inputs,
                    o,
                    options.window,
                    options.runs,
                    options.seed,
                    options.noise,
                )
            })
        } else {
            Vec::new()
        };
        let mainstream_totals = mainstream_totals(&mainstream);
        Forecast {
            scenario: options.scenario.clone(),
            mainstream,
            mainstream_totals,
            origin,
            years: self.years,
            runs: options.runs,
            seed: options.seed,
            rows,
            totals,
            caseload,
            flags: self
                .models
                .iter()
                .map(|m| (m.authority.clone(), m.flags.clone()))
                .collect(),
            rates: self
                .models
                .iter()
                .zip(&self.records)
                .map(|(m, record)| {
                    let mut rates = m.rates.clone();
                    if let Some(r) = record {
                        rates.past_forecasts = r.origins;
                        rates.past_error_per_year = Some(r.per_year);
                    }
                    (m.authority.clone(), rates)
                })
                .collect(),
        }
    }
}

/// For each authority, the authorities whose spare places it may use (as a partner).
fn partners_of(inputs: &Inputs, models: &[Model]) -> Vec<Vec<usize>> {
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
    (0..models.len())
        .map(|provider| {
            (0..models.len())
                .filter(|a| provider_of[*a].contains(&provider))
                .collect()
        })
        .collect()
}

/// Per year, the share of each commissioned cell's demand `[gd][p][c]` that is children
/// keeping today's placement (`[in the authority, in another authority, elsewhere]`): the
/// central path's demand of plans held since the origin and still in the phase they were
/// in then, over the cell's whole demand, split as today's children of the cell are placed.
/// Empty for a caseload-only forecast.
fn kept(models: &[Model], preps: &[Prep], years: usize) -> Vec<Vec<[f32; 3]>> {
    (0..years)
        .map(|step| {
            let mut v = Vec::new();
            for (m, prep) in models.iter().zip(preps) {
                let (Some(stay), Some(all)) =
                    (prep.stayers_central.get(step), prep.kind_central.get(step))
                else {
                    v.extend(std::iter::repeat_n(
                        [0.0; 3],
                        m.districts.len() * PH * PlaceKind::COMMISSIONED.len(),
                    ));
                    continue;
                };
                for d in 0..m.districts.len() {
                    for p in 0..PH {
                        for kind in PlaceKind::COMMISSIONED {
                            let i = (d * PH + p) * KINDS + kind.index();
                            let share = if all[i] > 0.0 {
                                (stay[i] / all[i]).min(1.0)
                            } else {
                                0.0
                            };
                            let at = m.located.get(i).copied().unwrap_or([1.0, 0.0, 0.0]);
                            v.push(at.map(|x| (x * share) as f32));
                        }
                    }
                }
            }
            v
        })
        .collect()
}

/// Places `[gd][p][c]` each year. (A caseload-only forecast meets no demand: it needs none.)
fn capacity(
    inputs: &Inputs,
    models: &[Model],
    options: &Options,
    years: &[i32],
    district_of: &[(usize, GssCode)],
) -> Vec<Vec<Option<u32>>> {
    let nc = PlaceKind::COMMISSIONED.len();
    years
        .iter()
        .filter(|_| options.places)
        .map(|y| {
            let mut v = Vec::with_capacity(district_of.len() * PH * nc);
            for (ai, d) in district_of {
                for phase in PHASES {
                    for kind in PlaceKind::COMMISSIONED {
                        // No setting of the kind in the district: no places, not unknown;
                        // but no setting of the authority at all: unknown.
                        v.push(
                            (!models[*ai].flags.contains(&Flag::NoSettings))
                                .then(|| inputs.places(&(d.clone(), kind, phase), *y).unwrap_or(0)),
                        );
                    }
                }
            }
            v
        })
        .collect()
}

/// The runs' own state and one year's samples.
struct Samples {
    state: Vec<Run>,
    /// One year's samples, cell-major: `[cell * runs + run]`.
    kind_s: Vec<f32>,
    auth_s: Vec<f32>,
    partner_s: Vec<f32>,
    over_s: Vec<f32>,
    plans_s: Vec<f32>,
    /// Each authority's term weights this year, term-major: `[term * runs + run]`.
    weights_t: Vec<Vec<f64>>,
    /// Each allocating thread's runs' cells, run-major.
    runs_per_thread: usize,
    run_buffers: Vec<RunBuffers>,
    /// The central path's term weights per authority, and the calibrated spread so far (it
    /// never narrows from one year to the next).
    central: Vec<Vec<f64>>,
    spread_before: Vec<f64>,
}

/// An authority's starting weights: one term for its flows, or its January total.
fn start_weights(models: &[Model]) -> Vec<Vec<f64>> {
    models
        .iter()
        .map(|m| match &m.start {
            Start::Flow { .. } => vec![1.0],
            Start::Trend { total, .. } => vec![*total],
        })
        .collect()
}

/// A stable key of an authority for its random stream (FNV-1a of its code: the same on every
/// machine and Rust version, unlike the standard hasher).
fn stream_key(authority: &AuthorityCode) -> u64 {
    authority
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Samples {
    fn new(s: &Setup<'_>) -> Self {
        let (models, options, runs) = (&s.models, s.options, s.runs);
        let state: Vec<Run> = (0..runs)
            .map(|r| {
                // Each authority draws from its own stream (the seed and its code), so its
                // ranges are the same whichever other authorities are forecast with it.
                let mut rngs: Vec<ChaCha8Rng> = models
                    .iter()
                    .map(|m| {
                        let mut rng =
                            ChaCha8Rng::seed_from_u64(options.seed ^ stream_key(&m.authority));
                        rng.set_stream(r as u64);
                        rng
                    })
                    .collect();
                let slope = models
                    .iter()
                    .zip(&mut rngs)
                    .map(|(m, rng)| {
                        if options.noise {
                            m.sigma_slope * normal(rng)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                Run {
                    rngs,
                    slope,
                    mult: vec![1.0; models.len()],
                    weights: start_weights(models),
                }
            })
            .collect();
        let nc = PlaceKind::COMMISSIONED.len();
        let kind_cells = s.nd() * PH * KINDS;
        let alloc_cells = s.nd() * PH * nc;
        let runs_per_thread = runs.div_ceil(s.threads).div_ceil(RUN_BLOCK) * RUN_BLOCK;
        let run_buffers: Vec<RunBuffers> = (0..runs.div_ceil(runs_per_thread))
            .map(|t| {
                let n = runs_per_thread.min(runs - t * runs_per_thread);
                let len = if options.places { n * alloc_cells } else { 0 };
                RunBuffers {
                    kind: vec![0.0; len],
                    auth: vec![0.0; len],
                    partner: vec![0.0; len],
                    over: vec![0.0; len],
                }
            })
            .collect();
        Samples {
            state,
            kind_s: vec![0.0_f32; kind_cells * runs],
            auth_s: vec![0.0_f32; alloc_cells * runs],
            partner_s: vec![0.0_f32; alloc_cells * runs],
            over_s: vec![0.0_f32; alloc_cells * runs],
            plans_s: vec![0.0_f32; models.len() * runs],
            weights_t: vec![Vec::new(); models.len()],
            runs_per_thread,
            run_buffers,
            central: start_weights(models),
            spread_before: vec![0.0_f64; models.len()],
        }
    }

    /// The flows: every run of authority `ai` takes the year's step of its plans (a shock
    /// to the year's new plans, or to the level of a trend), and the central path its own.
    fn advance_runs(&mut self, s: &Setup<'_>, ai: usize, step: usize) {
        let (m, options, runs) = (&s.models[ai], s.options, s.runs);
        let fade = options.damping.powi(step as i32);
        let terms = s.preps[ai].plan_terms[step].len();
        let weights_t = &mut self.weights_t[ai];
        weights_t.clear();
        weights_t.resize(terms * runs, 0.0);
        for (r, run) in self.state.iter_mut().enumerate() {
            let shock = if options.noise {
                m.sigma * normal(&mut run.rngs[ai])
            } else {
                0.0
            };
            let weights = &mut run.weights[ai];
            match &m.start {
                Start::Flow { cont_sigma, .. } => {
                    let kk = if options.noise {
                        (cont_sigma * normal(&mut run.rngs[ai])).exp()
                    } else {
                        1.0
                    };
                    // This run's slope compounds around the central path, damped; a year's
                    // shock moves only that year's new plans (they stay once issued).
                    run.mult[ai] *= (run.slope[ai] * fade).exp();
                    for w in weights.iter_mut() {
                        *w *= kk;
                    }
                    weights.push(s.paths[ai][step] * run.mult[ai] * shock.exp());
                }
                Start::Trend { .. } => {
                    // No flows: shocks are to the level and carry on (a random walk around
                    // the trend). An incidence lever scales its growth.
                    let growth = (s.paths[ai][step] + run.slope[ai] * fade) * s.incidence[ai];
                    weights[0] *= (growth + shock).exp();
                }
            }
            let plans: f64 = weights
                .iter()
                .zip(&s.preps[ai].plan_terms[step])
                .map(|(w, p)| w * p)
                .sum();
            self.plans_s[ai * runs + r] = plans as f32;
            for (j, w) in weights.iter().enumerate() {
                weights_t[j * runs + r] = *w;
            }
        }
        // The central path's weights: no slope, no shocks.
        match &m.start {
            Start::Flow { .. } => self.central[ai].push(s.paths[ai][step]),
            Start::Trend { .. } => {
                self.central[ai][0] *= (s.paths[ai][step] * s.incidence[ai]).exp();
            }
        }
    }

    /// The ranges, sized on the record: the spread of the plans (in logs) is moved to the
    /// national record's spread at that many years ahead ([`national_spread`]), weighed
    /// with the authority's own past forecasts' errors where it has them (each of its past
    /// forecasts counts once, the national record [`CALIBRATION_PRIOR`] times). Every run's
    /// distance from the central path is scaled to get there; the spread never narrows from
    /// one year to the next.
    fn size_on_track_record(&mut self, s: &Setup<'_>, ai: usize, step: usize) {
        let runs = s.runs;
        if !(s.options.calibrate && s.options.noise) {
            return;
        }
        let Some(own) = log_spread(&self.plans_s[ai * runs..(ai + 1) * runs]) else {
            return;
        };
        let national = national_spread(step + 1);
        let (n, past) = s.records[ai].map_or((0.0, 0.0), |record| {
            (record.origins as f64, record.per_year * (step + 1) as f64)
        });
        let target = ((n * past * past + CALIBRATION_PRIOR * national * national)
            / (n + CALIBRATION_PRIOR))
            .sqrt()
            .max(self.spread_before[ai]);
        self.spread_before[ai] = target;
        let scale = target / own;
        let plan_terms = &s.preps[ai].plan_terms[step];
        for r in 0..runs {
            let mut plans = 0.0;
            for (j, c) in self.central[ai].iter().enumerate() {
                let w = &mut self.weights_t[ai][j * runs + r];
                if *c > 0.0 && *w > 0.0 {
                    *w = c * (*w / c).powf(scale);
                }
                plans += *w * plan_terms[j];
            }
            self.plans_s[ai * runs + r] = plans as f32;
        }
    }

    /// The runs spread around the central path, and their median is it: a sum of terms each
    /// shocked up or down by the same factor lies above the path more often than below,
    /// which would lift the median a little more every year.
    fn centre_on_path(&mut self, s: &Setup<'_>, ai: usize, step: usize) {
        let runs = s.runs;
        let plan_terms = &s.preps[ai].plan_terms[step];
        let path: f64 = self.central[ai]
            .iter()
            .zip(plan_terms)
            .map(|(w, p)| w * p)
            .sum();
        let samples = &mut self.plans_s[ai * runs..(ai + 1) * runs];
        if let Some(median) = median_of(samples)
            && median > 0.0
            && path > 0.0
        {
            let by = path / median;
            samples
                .iter_mut()
                .for_each(|x| *x = (f64::from(*x) * by) as f32);
            self.weights_t[ai].iter_mut().for_each(|w| *w *= by);
        }
    }

    /// The demand of every cell in every run: a weighted sum of the year's terms. Each
    /// authority's cells stand alone; groups of authorities go to the cores.
    fn demand(&mut self, s: &Setup<'_>, step: usize) {
        let (models, runs) = (&s.models, s.runs);
        let per = models.len().div_ceil(s.threads).max(1);
        let (preps, weights_t) = (&s.preps, &self.weights_t);
        let kind_s = &mut self.kind_s;
        std::thread::scope(|scope| {
            let mut rest = &mut kind_s[..];
            let mut parts = Vec::new();
            for group in (0..models.len()).collect::<Vec<_>>().chunks(per) {
                let cells: usize = group
                    .iter()
                    .map(|ai| models[*ai].districts.len() * PH * KINDS)
                    .sum();
                let (mine, others) = std::mem::take(&mut rest).split_at_mut(cells * runs);
                rest = others;
                let group = group.to_vec();
                parts.push(scope.spawn(move || {
                    let mut at = 0;
                    for ai in group {
                        let len = models[ai].districts.len() * PH * KINDS;
                        for cell in 0..len {
                            let out = &mut mine[(at + cell) * runs..(at + cell + 1) * runs];
                            out.iter_mut().for_each(|x| *x = 0.0);
                            for (j, term) in preps[ai].kind_terms[step].chunks(len).enumerate() {
                                let t = term[cell];
                                if t == 0.0 {
                                    continue;
                                }
                                let w = &weights_t[ai][j * runs..(j + 1) * runs];
                                for (o, w) in out.iter_mut().zip(w) {
                                    *o += (t * w) as f32;
                                }
                            }
                        }
                        at += len;
                    }
                }));
            }
            parts.into_iter().for_each(joined);
        });
    }

    /// The allocation: every run is met on its own, so the runs are shared out over the
    /// cores; each thread copies its runs' cells out a block of runs at a time (the samples
    /// are stored cell by cell: one run's cells straight from them would touch a new cache
    /// line per cell), and the answers are copied back the same way.
    fn allocate(&mut self, s: &Setup<'_>, step: usize) {
        let (runs, runs_per_thread) = (s.runs, self.runs_per_thread);
        let nc = PlaceKind::COMMISSIONED.len();
        let nd = s.nd();
        let alloc_cells = nd * PH * nc;
        let cap = &s.capacity[step];
        let kept = &s.kept[step];
        let kind_s = &self.kind_s;
        let (models, first_district, partners_of) = (&s.models, &s.first_district, &s.partners_of);
        std::thread::scope(|scope| {
            let mut parts = Vec::new();
            for (t, buf) in self.run_buffers.iter_mut().enumerate() {
                let first = t * runs_per_thread;
                let last = (first + runs_per_thread).min(runs);
                if first >= last {
                    break;
                }
                parts.push(scope.spawn(move || {
                    for block_first in (first..last).step_by(RUN_BLOCK) {
                        let block = RUN_BLOCK.min(last - block_first);
                        for gd in 0..nd {
                            for p in 0..PH {
                                for (c, k) in PlaceKind::COMMISSIONED.iter().enumerate() {
                                    let cell = (gd * PH + p) * nc + c;
                                    let from =
                                        ((gd * PH + p) * KINDS + k.index()) * runs + block_first;
                                    for (b, v) in kind_s[from..from + block].iter().enumerate() {
                                        buf.kind[(block_first - first + b) * alloc_cells + cell] =
                                            *v;
                                    }
                                }
                            }
                        }
                    }
                    for r in 0..last - first {
                        let at = r * alloc_cells..(r + 1) * alloc_cells;
                        allocate(
                            models,
                            first_district,
                            partners_of,
                            cap,
                            kept,
                            &buf.kind[at.clone()],
                            &mut buf.auth[at.clone()],
                            &mut buf.partner[at.clone()],
                            &mut buf.over[at],
                        );
                    }
                }));
            }
            parts.into_iter().for_each(joined);
        });
        for (t, buf) in self.run_buffers.iter().enumerate() {
            let first = t * runs_per_thread;
            let last = (first + runs_per_thread).min(runs);
            for block_first in (first.min(last)..last).step_by(RUN_BLOCK) {
                let block = RUN_BLOCK.min(last - block_first);
                for cell in 0..alloc_cells {
                    let to = cell * runs + block_first;
                    for b in 0..block {
                        let i = (block_first - first + b) * alloc_cells + cell;
                        self.auth_s[to + b] = buf.auth[i];
                        self.partner_s[to + b] = buf.partner[i];
                        self.over_s[to + b] = buf.over[i];
                    }
                }
            }
        }
    }

    /// Each authority's plans in force this year, as a range over the runs.
    fn record_caseload(
        &mut self,
        s: &Setup<'_>,
        step: usize,
        caseload: &mut BTreeMap<AuthorityCode, BTreeMap<i32, Range>>,
    ) {
        let runs = s.runs;
        for (ai, m) in s.models.iter().enumerate() {
            if m.flags.contains(&Flag::NoHistory) {
                continue;
            }
            caseload.entry(m.authority.clone()).or_default().insert(
                s.years[step],
                percentiles(&mut self.plans_s[ai * runs..(ai + 1) * runs]),
            );
        }
    }

    /// The rows: each district's from its own samples, the districts shared out over the
    /// cores (the rows come back in the same order, whatever the number of threads).
    fn rows(&mut self, s: &Setup<'_>, step: usize) -> Vec<Row> {
        let nd = s.nd();
        let nc = PlaceKind::COMMISSIONED.len();
        let runs = s.runs;
        let per = nd.div_ceil(s.threads);
        let kind_len = PH * KINDS * runs;
        let alloc_len = PH * nc * runs;
        let mut rows = Vec::new();
        std::thread::scope(|scope| {
            let mut kind_rest = &mut self.kind_s[..];
            let mut auth_rest = &mut self.auth_s[..];
            let mut partner_rest = &mut self.partner_s[..];
            let mut over_rest = &mut self.over_s[..];
            let mut parts = Vec::new();
            for from in (0..nd).step_by(per.max(1)) {
                let to = (from + per).min(nd);
                let n = to - from;
                let (kind, rest) = std::mem::take(&mut kind_rest).split_at_mut(n * kind_len);
                kind_rest = rest;
                let (auth, rest) = std::mem::take(&mut auth_rest).split_at_mut(n * alloc_len);
                auth_rest = rest;
                let (partner, rest) = std::mem::take(&mut partner_rest).split_at_mut(n * alloc_len);
                partner_rest = rest;
                let (over, rest) = std::mem::take(&mut over_rest).split_at_mut(n * alloc_len);
                over_rest = rest;
                parts.push(scope.spawn(move || {
                    let mut rows = Vec::new();
                    for gd in from..to {
                        let d = gd - from;
                        let cells = DistrictSamples {
                            kind: &mut kind[d * kind_len..(d + 1) * kind_len],
                            auth: &mut auth[d * alloc_len..(d + 1) * alloc_len],
                            partner: &mut partner[d * alloc_len..(d + 1) * alloc_len],
                            over: &mut over[d * alloc_len..(d + 1) * alloc_len],
                        };
                        s.district_rows(step, gd, cells, &mut rows);
                    }
                    rows
                }));
            }
            rows.extend(parts.into_iter().flat_map(joined));
        });
        rows
    }
}

/// One district's samples of one year: demand by phase and kind, and where the commissioned
/// kinds were met, `[p][c][run]`.
struct DistrictSamples<'s> {
    kind: &'s mut [f32],
    auth: &'s mut [f32],
    partner: &'s mut [f32],
    over: &'s mut [f32],
}

impl Setup<'_> {
    /// The rows of district `gd` for one year: a row per phase and kind of place with its
    /// demand, places, where it was met and its cost, then the specialist kinds' rows by
    /// primary need.
    fn district_rows(
        &self,
        step: usize,
        gd: usize,
        cells: DistrictSamples<'_>,
        rows: &mut Vec<Row>,
    ) {
        let runs = self.runs;
        let nc = PlaceKind::COMMISSIONED.len();
        let (ai, district) = &self.district_of[gd];
        let m = &self.models[*ai];
        let year = self.years[step];
        for (p, phase) in PHASES.iter().enumerate() {
            let mut by_kind = [Range::default(); KINDS];
            for kind in PlaceKind::ALL {
                let k = kind.index();
                let i = (p * KINDS + k) * runs;
                let demand = percentiles(&mut cells.kind[i..i + runs]);
                by_kind[k] = demand;
                let c = PlaceKind::COMMISSIONED.iter().position(|x| *x == kind);
                let alloc = c.map(|c| {
                    let at = (p * nc + c) * runs..(p * nc + c + 1) * runs;
                    (
                        self.capacity[step][(gd * PH + p) * nc + c],
                        percentiles(&mut cells.auth[at.clone()]),
                        percentiles(&mut cells.partner[at.clone()]),
                        percentiles(&mut cells.over[at]),
                    )
                });
                let cap = alloc.and_then(|a| a.0);
                let out_of_county = match (kind, alloc) {
                    (PlaceKind::Independent, _) => self.outside(gd, p, demand),
                    (_, Some(a)) => a.3,
                    _ => Range::default(),
                };
                rows.push(Row {
                    authority: m.authority.clone(),
                    district: district.clone(),
                    year,
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
                    annual_cost: self.annual_cost(
                        &m.authority,
                        kind,
                        year,
                        demand,
                        alloc.is_some().then_some(out_of_county),
                    ),
                });
            }
            self.need_rows(step, gd, p, &by_kind, rows);
        }
    }

    /// The part of district `gd`'s demand for independent and non-maintained special school
    /// places in phase `p` that is outside the authority: as today's children of the cell
    /// are placed (an independent special school inside the authority is not out of county).
    fn outside(&self, gd: usize, p: usize, demand: Range) -> Range {
        let (ai, _) = &self.district_of[gd];
        let local = gd - self.first_district[*ai];
        let [_, other, elsewhere] = self.models[*ai]
            .located
            .get((local * PH + p) * KINDS + PlaceKind::Independent.index())
            .copied()
            .unwrap_or([0.0, 0.0, 1.0]);
        let of = |v: i64| (v as f64 * (other + elsewhere)).round() as i64;
        Range {
            p10: of(demand.p10),
            p50: of(demand.p50),
            p90: of(demand.p90),
        }
    }

    /// The costing: what the median demand for a kind costs a year, to the penny. Demand of
    /// a commissioned kind that found no place in the authority or a partner (`over`) is
    /// placed elsewhere: a special-school place in an independent or non-maintained special
    /// school, at that rate (the usual way out); a resourced-provision or AP place in
    /// another authority's, at its own kind's rate (a shift into resourced provision is a
    /// resourced-provision cost, never an independent school's).
    fn annual_cost(
        &self,
        a: &AuthorityCode,
        kind: PlaceKind,
        year: i32,
        demand: Range,
        over: Option<Range>,
    ) -> Option<Decimal> {
        let cost = |k| self.cost(a, k, year);
        let whole = |c: Decimal| Some((c * Decimal::from(demand.p50)).round_dp(2));
        match (kind, over) {
            (PlaceKind::Special, Some(over)) if over.p50 > 0 => {
                let over = over.p50;
                match (cost(kind), cost(PlaceKind::Independent)) {
                    (Some(c), Some(i)) => Some(
                        (c * Decimal::from(demand.p50 - over) + i * Decimal::from(over))
                            .round_dp(2),
                    ),
                    _ => None,
                }
            }
            _ => cost(kind).and_then(whole),
        }
    }

    /// Need rows of district `gd`, phase `p`: the kind's range split by the need's share of
    /// it on the central path (the need mix of a cell barely moves between runs).
    fn need_rows(
        &self,
        step: usize,
        gd: usize,
        p: usize,
        by_kind: &[Range; KINDS],
        rows: &mut Vec<Row>,
    ) {
        let (nn, ns) = (needs(), PlaceKind::SPECIALIST.len());
        let (ai, district) = &self.district_of[gd];
        let m = &self.models[*ai];
        let local = gd - self.first_district[*ai];
        let prep = &self.preps[*ai];
        let year = self.years[step];
        for (n, need) in PrimaryNeed::ALL.iter().enumerate() {
            for (si, kind) in PlaceKind::SPECIALIST.iter().enumerate() {
                let whole = prep.kind_central[step][(local * PH + p) * KINDS + kind.index()];
                let part = prep.need_central[step][((local * PH + p) * nn + n) * ns + si];
                if whole <= 0.0 || part <= 0.0 {
                    continue;
                }
                let share = part / whole;
                let of = |v: i64| (v as f64 * share).round() as i64;
                let whole_range = by_kind[kind.index()];
                let demand = Range {
                    p10: of(whole_range.p10),
                    p50: of(whole_range.p50),
                    p90: of(whole_range.p90),
                };
                if demand == Range::default() {
                    continue;
                }
                rows.push(Row {
                    authority: m.authority.clone(),
                    district: district.clone(),
                    year,
                    phase: PHASES[p],
                    kind: *kind,
                    need: Some(*need),
                    demand,
                    capacity: None,
                    surplus: None,
                    surplus_pct: None,
                    met_in_authority: None,
                    met_by_partner: None,
                    out_of_county: if *kind == PlaceKind::Independent {
                        self.outside(gd, p, demand)
                    } else {
                        Range::default()
                    },
                    annual_cost: self
                        .cost(&m.authority, *kind, year)
                        .map(|c| (c * Decimal::from(demand.p50)).round_dp(2)),
                });
            }
        }
    }
}
