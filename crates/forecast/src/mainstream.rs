//! The mainstream pupil forecast per planning area: the classic DfE method. Reception from
//! resident 4-year-olds times a take-up ratio; each cohort rolls on by its cohort survival
//! ratio (the average of the last years' ratio of NCY g+1 to NCY g the year before); Y7 from
//! the district's Y6 by a transfer ratio, Y12 from Y11 likewise; housing completions add
//! their pupil yield on top. Horizon 5 years for primary, 7 for secondary. Ranges come from
//! seeded runs that shock the intake and survival ratios as much as they have moved.

use std::collections::BTreeMap;

use placeledger_domain::{AuthorityCode, GssCode, Phase, PlanningAreaCode};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::Range;
use crate::inputs::Inputs;

/// Surplus below this share of capacity is too little headroom.
pub const HEADROOM_PCT: i64 = 2;
/// Surplus above this share of capacity is a large surplus.
pub const LARGE_SURPLUS_PCT: i64 = 10;

/// One planning area's history: January rolls and net capacity by NCY offset (R = 0).
#[derive(Debug, Clone, PartialEq)]
pub struct MainstreamArea {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub phase: Phase,
    pub name: String,
    pub rolls: BTreeMap<i32, BTreeMap<i8, u32>>,
    pub capacity: BTreeMap<i32, BTreeMap<i8, u32>>,
}

/// A district's housing completions per year and pupils yielded per dwelling by phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Housing {
    pub dwellings: BTreeMap<i32, u32>,
    pub yield_per_dwelling: BTreeMap<Phase, f64>,
}

/// What a planner flags about a mainstream cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Headroom {
    Deficit,
    /// Surplus under [`HEADROOM_PCT`] of capacity.
    BelowHeadroom,
    Sufficient,
    /// Surplus over [`LARGE_SURPLUS_PCT`] of capacity.
    LargeSurplus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MainstreamRow {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub planning_area: PlanningAreaCode,
    pub phase: Phase,
    pub year: i32,
    pub pupils: Range,
    pub net_capacity: Option<u32>,
    pub surplus: Option<Range>,
    pub surplus_pct: Option<Decimal>,
    pub headroom: Option<Headroom>,
    /// Pupils from housing completed after the origin, included in `pupils` (median path).
    pub from_housing: i64,
}

/// NCY offsets of each phase's year groups.
fn grades(phase: Phase) -> std::ops::RangeInclusive<i8> {
    match phase {
        Phase::Secondary => 7..=13,
        _ => 0..=6,
    }
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0 && num > 0.0).then(|| num / den)
}

fn sd_of_logs(v: &[f64]) -> f64 {
    let logs: Vec<f64> = v.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect();
    if logs.len() < 2 {
        return 0.02;
    }
    let m = logs.iter().sum::<f64>() / logs.len() as f64;
    (logs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (logs.len() - 1) as f64)
        .sqrt()
        .max(0.005)
}

struct Model {
    /// Intake ratio (Reception per resident 4-year-old, or Y7 per district Y6) and its
    /// spread.
    intake: f64,
    intake_sd: f64,
    /// Survival ratio g -> g+1 (index g - first grade), and the spread of its yearly mean.
    survival: Vec<f64>,
    survival_sd: f64,
}

/// Forecasts every planning area in `inputs.mainstream` from January `origin`.
pub fn forecast_mainstream(
    inputs: &Inputs,
    origin: i32,
    window: u8,
    runs: u32,
    seed: u64,
    noise: bool,
) -> Vec<MainstreamRow> {
    let w = i32::from(window.clamp(3, 5));
    let horizon = |p: Phase| if p == Phase::Secondary { 7 } else { 5 };
    // Y6 of every district's primary areas, by January: what Y7 is drawn from.
    let mut district_y6: BTreeMap<(GssCode, i32), f64> = BTreeMap::new();
    for a in inputs
        .mainstream
        .values()
        .filter(|a| a.phase != Phase::Secondary)
    {
        for (y, by) in &a.rolls {
            *district_y6.entry((a.district.clone(), *y)).or_default() +=
                f64::from(by.get(&6).copied().unwrap_or(0));
        }
    }
    let pop4 = |d: &GssCode, year: i32| pop4(inputs, d, year);
    let mut primary_paths: BTreeMap<(GssCode, usize), Vec<f64>> = BTreeMap::new();
    let mut rows = Vec::new();
    // Primary first: secondary intake needs the districts' forecast Y6.
    let mut areas: Vec<(&PlanningAreaCode, &MainstreamArea)> = inputs.mainstream.iter().collect();
    areas.sort_by_key(|(_, a)| a.phase == Phase::Secondary);
    for (code, area) in areas {
        let g: Vec<i8> = grades(area.phase).collect();
        let Some(start) = area.rolls.get(&origin) else {
            continue;
        };
        let secondary = area.phase == Phase::Secondary;
        let model = Model::estimate(inputs, area, &g, origin, w, &district_y6);
        let (per_year_dwellings, per_dwelling) = housing_yield(inputs, area, origin);
        let h_max = horizon(area.phase);
        let mut samples = vec![vec![0.0_f32; runs as usize]; h_max];
        let mut y6_paths = vec![vec![0.0_f64; h_max]; runs as usize];
        for r in 0..runs as usize {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d61_696e_7374_7265);
            rng.set_stream(r as u64);
            let mut draw = |sd: f64| -> f64 {
                if noise {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    (sd * z).exp()
                } else {
                    1.0
                }
            };
            let mut cohort: Vec<f64> = g
                .iter()
                .map(|x| f64::from(start.get(x).copied().unwrap_or(0)))
                .collect();
            for h in 0..h_max {
                let year = origin + 1 + h as i32;
                let s_shock = draw(model.survival_sd);
                let i_shock = draw(model.intake_sd);
                let mut next = vec![0.0; cohort.len()];
                for k in 1..cohort.len() {
                    next[k] = cohort[k - 1] * model.survival[k - 1] * s_shock;
                }
                let base = if secondary {
                    primary_paths
                        .get(&(area.district.clone(), r))
                        .and_then(|p| if h == 0 { None } else { p.get(h - 1).copied() })
                        .or_else(|| district_y6.get(&(area.district.clone(), year - 1)).copied())
                } else {
                    pop4(&area.district, year - 1)
                };
                next[0] = match (base, model.intake.is_finite()) {
                    (Some(b), true) => b * model.intake * i_shock,
                    // No base or no ratio: the intake holds at the last one seen.
                    _ => cohort[0],
                };
                cohort = next;
                if !secondary {
                    y6_paths[r][h] = cohort[6];
                }
                let housing_pupils = per_year_dwellings * per_dwelling * (h + 1) as f64;
                samples[h][r] = (cohort.iter().sum::<f64>() + housing_pupils) as f32;
            }
        }
        if !secondary {
            for (r, path) in y6_paths.into_iter().enumerate() {
                let prior = primary_paths
                    .entry((area.district.clone(), r))
                    .or_insert_with(|| vec![0.0; path.len()]);
                for (p, v) in prior.iter_mut().zip(path) {
                    *p += v;
                }
            }
        }
        rows.extend(area_rows(
            code,
            area,
            &g,
            origin,
            samples,
            per_year_dwellings * per_dwelling,
        ));
    }
    rows.sort_by(|a, b| {
        (&a.authority, &a.district, a.phase, a.year).cmp(&(
            &b.authority,
            &b.district,
            b.phase,
            b.year,
        ))
    });
    rows
}

/// Four-year-olds in district `d` in `year`: what Reception is drawn from.
fn pop4(inputs: &Inputs, d: &GssCode, year: i32) -> Option<f64> {
    inputs.population.at(d, year).map(|p| p[4])
}

impl Model {
    /// An area's intake ratio and cohort survival over the `w` Januaries to `origin`, with
    /// their yearly spread (`g`: the area's year groups; `district_y6`: Y6 by district and
    /// January, what a secondary area's Y7 is drawn from).
    fn estimate(
        inputs: &Inputs,
        area: &MainstreamArea,
        g: &[i8],
        origin: i32,
        w: i32,
        district_y6: &BTreeMap<(GssCode, i32), f64>,
    ) -> Model {
        let secondary = area.phase == Phase::Secondary;
        let years: Vec<i32> = (origin - w + 1..=origin).collect();
        // Intake ratio.
        let intakes: Vec<f64> = years
            .iter()
            .filter_map(|t| {
                let first = f64::from(area.rolls.get(t)?.get(&g[0]).copied().unwrap_or(0));
                let base = if secondary {
                    *district_y6.get(&(area.district.clone(), t - 1))?
                } else {
                    pop4(inputs, &area.district, t - 1)?
                };
                ratio(first, base)
            })
            .collect();
        let intake = if intakes.is_empty() {
            f64::NAN
        } else {
            intakes.iter().sum::<f64>() / intakes.len() as f64
        };
        // Survival ratios, and the yearly mean's spread.
        let mut survival = Vec::with_capacity(g.len() - 1);
        for pair in g.windows(2) {
            let (mut num, mut den) = (0.0, 0.0);
            for t in &years {
                if let (Some(now), Some(before)) = (area.rolls.get(t), area.rolls.get(&(t - 1))) {
                    num += f64::from(now.get(&pair[1]).copied().unwrap_or(0));
                    den += f64::from(before.get(&pair[0]).copied().unwrap_or(0));
                }
            }
            survival.push(ratio(num, den).unwrap_or(1.0));
        }
        let yearly: Vec<f64> = area
            .rolls
            .range(..=origin)
            .filter_map(|(t, now)| {
                let before = area.rolls.get(&(t - 1))?;
                let num: f64 = g[1..]
                    .iter()
                    .map(|x| f64::from(now.get(x).copied().unwrap_or(0)))
                    .sum();
                let den: f64 = g[..g.len() - 1]
                    .iter()
                    .map(|x| f64::from(before.get(x).copied().unwrap_or(0)))
                    .sum();
                ratio(num, den)
            })
            .collect();
        Model {
            intake,
            intake_sd: sd_of_logs(&intakes),
            survival,
            survival_sd: sd_of_logs(&yearly),
        }
    }
}

/// Pupils a year of new housing brings to an area: the district's dwellings a year (the
/// mean of the three years before `origin`) and the pupils per dwelling of the area's phase.
fn housing_yield(inputs: &Inputs, area: &MainstreamArea, origin: i32) -> (f64, f64) {
    let housing = inputs.housing.get(&area.district);
    let per_year_dwellings = housing.map_or(0.0, |h| {
        let recent: Vec<f64> = h
            .dwellings
            .range(origin - 3..origin)
            .map(|(_, d)| f64::from(*d))
            .collect();
        if recent.is_empty() {
            0.0
        } else {
            recent.iter().sum::<f64>() / recent.len() as f64
        }
    });
    let per_dwelling = housing
        .and_then(|h| h.yield_per_dwelling.get(&area.phase).copied())
        .unwrap_or(0.0);
    (per_year_dwellings, per_dwelling)
}

/// An area's rows, a year at a time: pupils (P10-P50-P90 over the runs' `samples`, with
/// `housing_per_year` pupils from new housing added each year), net capacity, surplus and
/// headroom.
fn area_rows(
    code: &PlanningAreaCode,
    area: &MainstreamArea,
    g: &[i8],
    origin: i32,
    samples: Vec<Vec<f32>>,
    housing_per_year: f64,
) -> Vec<MainstreamRow> {
    let mut rows = Vec::new();
    let capacity = area.capacity.range(..=origin).next_back().map(|(_, c)| {
        g.iter()
            .map(|x| c.get(x).copied().unwrap_or(0))
            .sum::<u32>()
    });
    for (h, mut s) in samples.into_iter().enumerate() {
        let pupils = crate::engine::percentiles_of(&mut s);
        let year = origin + 1 + h as i32;
        let capacity = area
            .capacity
            .range(..=year)
            .next_back()
            .map(|(_, c)| {
                g.iter()
                    .map(|x| c.get(x).copied().unwrap_or(0))
                    .sum::<u32>()
            })
            .or(capacity);
        let surplus = capacity.map(|c| {
            let c = i64::from(c);
            Range {
                p10: c - pupils.p90,
                p50: c - pupils.p50,
                p90: c - pupils.p10,
            }
        });
        let pct = capacity.filter(|c| *c > 0).map(|c| {
            (Decimal::from(i64::from(c) - pupils.p50) * Decimal::ONE_HUNDRED / Decimal::from(c))
                .round_dp(1)
        });
        let headroom = pct.map(|p| {
            if p < Decimal::ZERO {
                Headroom::Deficit
            } else if p < Decimal::from(HEADROOM_PCT) {
                Headroom::BelowHeadroom
            } else if p > Decimal::from(LARGE_SURPLUS_PCT) {
                Headroom::LargeSurplus
            } else {
                Headroom::Sufficient
            }
        });
        rows.push(MainstreamRow {
            authority: area.authority.clone(),
            district: area.district.clone(),
            planning_area: code.clone(),
            phase: area.phase,
            year,
            pupils,
            net_capacity: capacity,
            surplus,
            surplus_pct: pct,
            headroom,
            from_housing: (housing_per_year * (h + 1) as f64).round() as i64,
        });
    }
    rows
}
