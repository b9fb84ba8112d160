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
    /// `primary` (Reception to Year 6), `secondary` (Years 7 to 11) or `post_16` (a
    /// secondary area's sixth forms, Years 12 and 13), as the DfE SCAP return counts them.
    pub phase: Phase,
    pub year: i32,
    pub pupils: Range,
    /// The intake year group: Reception (primary) or Year 7 (secondary); none for sixth
    /// forms.
    pub intake: Option<Range>,
    /// Net capacity of the same year groups.
    pub net_capacity: Option<u32>,
    pub surplus: Option<Range>,
    pub surplus_pct: Option<Decimal>,
    pub headroom: Option<Headroom>,
    /// Pupils from housing completed after the origin, included in `pupils` (median path).
    pub from_housing: i64,
    /// What makes the figure doubtful or worth a look (codes in [`Warning`]).
    pub warnings: Vec<Warning>,
}

/// A data-quality warning on a figure: a stable code and what it means here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// Surplus above this share of capacity is worth a warning (a quarter of places empty).
pub const SURPLUS_WARNING_PCT: i64 = 25;
/// A roll moving more than this share in a year is worth a warning.
pub const ROLL_MOVE_WARNING_PCT: f64 = 10.0;
/// Cohort survival outside this band is worth a warning.
pub const SURVIVAL_BAND: (f64, f64) = (0.9, 1.1);

/// NCY offsets of each phase's year groups (a secondary area's sixth forms included: they
/// are reported apart, see [`bands`]).
fn grades(phase: Phase) -> std::ops::RangeInclusive<i8> {
    match phase {
        Phase::Secondary => 7..=13,
        _ => 0..=6,
    }
}

/// The year groups reported apart: Reception-Y6, or Y7-Y11 and the sixth form Y12-Y13.
fn bands(phase: Phase) -> Vec<(Phase, std::ops::RangeInclusive<i8>)> {
    match phase {
        Phase::Secondary => vec![(Phase::Secondary, 7..=11), (Phase::Post16, 12..=13)],
        _ => vec![(Phase::Primary, 0..=6)],
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
        let bands = bands(area.phase);
        // Per band, year and run: pupils; and the intake year group's.
        let mut samples = vec![vec![vec![0.0_f32; runs as usize]; h_max]; bands.len()];
        let mut intake = vec![vec![0.0_f32; runs as usize]; h_max];
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
                // Housing's pupils are of compulsory school age: the first band's.
                let housing_pupils = per_year_dwellings * per_dwelling * (h + 1) as f64;
                for (b, (_, grades)) in bands.iter().enumerate() {
                    let in_band: f64 = g
                        .iter()
                        .zip(&cohort)
                        .filter(|(x, _)| grades.contains(x))
                        .map(|(_, v)| v)
                        .sum();
                    let extra = if b == 0 { housing_pupils } else { 0.0 };
                    samples[b][h][r] = (in_band + extra) as f32;
                }
                intake[h][r] = cohort[0] as f32;
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
        let intake: Vec<Range> = intake
            .into_iter()
            .map(|mut s| crate::engine::percentiles_of(&mut s))
            .collect();
        for (b, ((phase, grades), samples)) in bands.into_iter().zip(samples).enumerate() {
            let band: Vec<i8> = grades.collect();
            let warnings = band_warnings(area, &band, &g, &model, origin);
            rows.extend(area_rows(
                code,
                area,
                Band {
                    phase,
                    grades: &band,
                    intake: (b == 0).then_some(&intake[..]),
                    warnings,
                },
                origin,
                samples,
                if b == 0 {
                    per_year_dwellings * per_dwelling
                } else {
                    0.0
                },
            ));
        }
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

/// One band of an area's year groups, as reported.
struct Band<'a> {
    phase: Phase,
    grades: &'a [i8],
    /// The intake year group's range each year (the first band only).
    intake: Option<&'a [Range]>,
    /// What holds for every year of the band (the rolls and ratios it was made from).
    warnings: Vec<Warning>,
}

/// The warnings that hold for a band whatever the year: capacity missing, a roll that moved
/// more than [`ROLL_MOVE_WARNING_PCT`] in the last year, cohort survival inside the band
/// outside [`SURVIVAL_BAND`].
fn band_warnings(
    area: &MainstreamArea,
    band: &[i8],
    g: &[i8],
    model: &Model,
    origin: i32,
) -> Vec<Warning> {
    let mut out = Vec::new();
    let sum = |by: &BTreeMap<i8, u32>| -> u32 {
        band.iter().map(|x| by.get(x).copied().unwrap_or(0)).sum()
    };
    let capacity = area
        .capacity
        .range(..=origin)
        .next_back()
        .map(|(_, c)| sum(c));
    if capacity.unwrap_or(0) == 0 {
        out.push(Warning {
            code: "capacity_missing",
            message: "no net capacity is recorded for these year groups".into(),
        });
    }
    if let (Some(now), Some(before)) = (area.rolls.get(&origin), area.rolls.get(&(origin - 1))) {
        let (now, before) = (f64::from(sum(now)), f64::from(sum(before)));
        if before > 0.0 {
            let moved = (now - before) / before * 100.0;
            if moved.abs() > ROLL_MOVE_WARNING_PCT {
                out.push(Warning {
                    code: "roll_moved_over_10_percent",
                    message: format!(
                        "the roll moved {moved:+.1}% from January {} to January {origin}",
                        origin - 1
                    ),
                });
            }
        }
    }
    let outside: Vec<String> = g
        .windows(2)
        .zip(&model.survival)
        .filter(|(pair, _)| band.contains(&pair[0]) && band.contains(&pair[1]))
        .filter(|(_, s)| !(SURVIVAL_BAND.0..=SURVIVAL_BAND.1).contains(*s))
        .map(|(pair, s)| format!("{} to {}: {s:.2}", ncy_name(pair[0]), ncy_name(pair[1])))
        .collect();
    if !outside.is_empty() {
        out.push(Warning {
            code: "survival_outside_0_9_1_1",
            message: format!("cohort survival outside 0.9-1.1 ({})", outside.join(", ")),
        });
    }
    out
}

/// A year group's name: R, Y1 ... Y13.
fn ncy_name(offset: i8) -> String {
    if offset == 0 {
        "R".into()
    } else {
        format!("Y{offset}")
    }
}

/// A band's rows, a year at a time: pupils (P10-P50-P90 over the runs' `samples`, with
/// `housing_per_year` pupils from new housing added each year), the intake, net capacity,
/// surplus, headroom and warnings.
fn area_rows(
    code: &PlanningAreaCode,
    area: &MainstreamArea,
    band: Band<'_>,
    origin: i32,
    samples: Vec<Vec<f32>>,
    housing_per_year: f64,
) -> Vec<MainstreamRow> {
    let g = band.grades;
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
            .or(capacity)
            .filter(|c| *c > 0);
        let surplus = capacity.map(|c| {
            let c = i64::from(c);
            Range {
                p10: c - pupils.p90,
                p50: c - pupils.p50,
                p90: c - pupils.p10,
            }
        });
        let pct = capacity.map(|c| {
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
        let mut warnings = band.warnings.clone();
        if let Some(p) = pct.filter(|p| *p > Decimal::from(SURPLUS_WARNING_PCT)) {
            warnings.push(Warning {
                code: "surplus_over_25_percent",
                message: format!("{p}% of places are spare: more than a quarter"),
            });
        }
        if let Some(s) = surplus.filter(|s| s.p50 < 0) {
            warnings.push(Warning {
                code: "deficit",
                message: format!("{} more pupils than places (median)", -s.p50),
            });
        }
        rows.push(MainstreamRow {
            authority: area.authority.clone(),
            district: area.district.clone(),
            planning_area: code.clone(),
            phase: band.phase,
            year,
            pupils,
            intake: band.intake.and_then(|i| i.get(h).copied()),
            net_capacity: capacity,
            surplus,
            surplus_pct: pct,
            headroom,
            from_housing: (housing_per_year * (h + 1) as f64).round() as i64,
            warnings,
        });
    }
    rows
}
