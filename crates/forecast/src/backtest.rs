//! The back-test: forecasts made from past origins, with only what was known then, against
//! the January caseloads that followed; beside two naive baselines a planner could make on a
//! calculator. A model that cannot beat them is not worth its complexity.

use std::collections::BTreeMap;

use placeledger_domain::AuthorityCode;
use serde::Serialize;

use crate::engine::{Options, forecast};
use crate::inputs::Inputs;

/// Years of growth the compound-growth baseline carries forward, at most (fewer where the
/// history is shorter); the linear trend is fitted to one more January.
pub const BASELINE_YEARS: i32 = 3;
/// Januaries an authority needs up to an origin to be scored from it: every method then has
/// at least two years of growth to go on.
pub const MIN_JANUARIES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The forecast engine (its median).
    Model,
    /// The last January carried forward.
    LastValue,
    /// The compound growth of the last three years (two where only three Januaries are
    /// known) continued.
    CompoundGrowth,
    /// A straight line fitted (least squares) to the last four Januaries (or three), carried
    /// on.
    LinearTrend,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Model,
        Method::LastValue,
        Method::CompoundGrowth,
        Method::LinearTrend,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Method::Model => "model",
            Method::LastValue => "last_value",
            Method::CompoundGrowth => "compound_growth",
            Method::LinearTrend => "linear_trend",
        }
    }
}

/// The least-squares line through `points` (year, plans), evaluated at `year`; `None` with
/// fewer than two points.
fn linear_trend(points: &[(i32, f64)], year: i32) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|(t, _)| f64::from(*t)).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| *y).sum::<f64>() / n;
    let sxx: f64 = points
        .iter()
        .map(|(t, _)| (f64::from(*t) - mean_t).powi(2))
        .sum();
    let sxy: f64 = points
        .iter()
        .map(|(t, y)| (f64::from(*t) - mean_t) * (y - mean_y))
        .sum();
    let slope = sxy / sxx;
    Some((mean_y + slope * (f64::from(year) - mean_t)).max(0.0))
}

/// The errors of one method at one horizon, pooled over every authority and origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    pub horizon: u8,
    pub method: Method,
    /// Forecasts scored (authority x origin).
    pub forecasts: usize,
    pub authorities: usize,
    /// Mean absolute percentage error.
    pub mape: f64,
    /// Median absolute percentage error.
    pub median_ape: f64,
    /// Mean signed percentage error: negative is under-forecasting.
    pub bias: f64,
    /// Share of actuals inside P10-P90 (the model only).
    pub coverage: Option<f64>,
    /// The spread of the misses (the model only): half the log distance between the 10th
    /// and 90th percentiles of ln(actual / forecast), in standard normal units. The ranges
    /// are sized on it (`NATIONAL_SPREAD`).
    pub spread: Option<f64>,
}

/// The 10th-90th percentile spread of log misses, in standard normal units.
fn spread_of(rs: &[&BacktestRow]) -> Option<f64> {
    let mut logs: Vec<f64> = rs
        .iter()
        .filter(|r| r.forecast > 0.0 && r.actual > 0)
        .map(|r| (f64::from(r.actual) / r.forecast).ln())
        .collect();
    if logs.len() < 2 {
        return None;
    }
    logs.sort_by(f64::total_cmp);
    let at = |q: f64| logs[(q * (logs.len() - 1) as f64).round() as usize];
    Some((at(0.9) - at(0.1)) / (2.0 * 1.281_551_565_5))
}

/// Every method's errors per horizon, pooled over authorities and origins (`origins`: only
/// these origins, if given).
pub fn pooled(b: &Backtest, origins: Option<&[i32]>) -> Vec<Pooled> {
    let mut groups: BTreeMap<(u8, Method), Vec<&BacktestRow>> = BTreeMap::new();
    for r in b
        .rows
        .iter()
        .filter(|r| origins.is_none_or(|o| o.contains(&r.origin)))
    {
        groups.entry((r.horizon, r.method)).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|((horizon, method), rs)| {
            let n = rs.len() as f64;
            let mut ape: Vec<f64> = rs.iter().map(|r| r.error_pct.abs()).collect();
            ape.sort_by(f64::total_cmp);
            let median_ape = match ape.len() {
                0 => 0.0,
                l if l % 2 == 1 => ape[l / 2],
                l => (ape[l / 2 - 1] + ape[l / 2]) / 2.0,
            };
            let inside: Vec<bool> = rs.iter().filter_map(|r| r.inside).collect();
            let authorities: std::collections::BTreeSet<&AuthorityCode> =
                rs.iter().map(|r| &r.authority).collect();
            Pooled {
                horizon,
                method,
                forecasts: rs.len(),
                authorities: authorities.len(),
                mape: ape.iter().sum::<f64>() / n,
                median_ape,
                bias: rs.iter().map(|r| r.error_pct).sum::<f64>() / n,
                coverage: (!inside.is_empty())
                    .then(|| inside.iter().filter(|b| **b).count() as f64 / inside.len() as f64),
                spread: (method == Method::Model).then(|| spread_of(&rs)).flatten(),
            }
        })
        .collect()
}

/// One forecast of one January from one origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestRow {
    pub authority: AuthorityCode,
    /// The last January the forecast saw (and everything known by then): a forecast from
    /// origin 2025 forecasts January 2026 one year ahead.
    pub origin: i32,
    pub horizon: u8,
    /// The January forecast.
    pub year: i32,
    pub method: Method,
    pub forecast: f64,
    pub actual: u32,
    /// (forecast - actual) / actual, in per cent.
    pub error_pct: f64,
    /// The model's P10 and P90 (the baselines have no range).
    pub p10: Option<f64>,
    pub p90: Option<f64>,
    /// Whether the actual fell inside P10-P90 (the model only).
    pub inside: Option<bool>,
}

/// Errors over every origin, per authority, horizon and method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub authority: AuthorityCode,
    pub horizon: u8,
    pub method: Method,
    pub origins: usize,
    /// Mean absolute percentage error.
    pub mape: f64,
    /// Mean signed percentage error: positive is over-forecasting.
    pub bias: f64,
    /// Share of actuals inside P10-P90 (the model only).
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub horizon: u8,
    pub origins: Vec<i32>,
    pub rows: Vec<BacktestRow>,
    pub summary: Vec<Summary>,
}

/// Back-tests every origin (the last January a forecast may see) from which a forecast can be
/// checked at least one year ahead, for every authority with enough history up to it: that
/// January and [`MIN_JANUARIES`] in all from the [`BASELINE_YEARS`] before it.
pub fn backtest(inputs: &Inputs, horizon: u8, options: &Options) -> Backtest {
    let actuals: BTreeMap<AuthorityCode, BTreeMap<i32, u32>> = inputs
        .send
        .iter()
        .map(|(a, h)| (a.clone(), h.totals()))
        .collect();
    let first = actuals
        .values()
        .filter_map(|t| t.keys().next().copied())
        .min();
    let last = actuals
        .values()
        .filter_map(|t| t.keys().next_back().copied())
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        return Backtest {
            horizon,
            origins: Vec::new(),
            rows: Vec::new(),
            summary: Vec::new(),
        };
    };
    let mut rows = Vec::new();
    let mut origins = Vec::new();
    for origin in (first + MIN_JANUARIES as i32 - 1)..last {
        let known = inputs.before(origin + 1);
        let options = Options {
            origin: Some(origin),
            horizon,
            places: false,
            ..options.clone()
        };
        let Ok(f) = forecast(&known, &options) else {
            continue;
        };
        let mut used = false;
        for (authority, totals) in &actuals {
            let Some(base) = totals.get(&origin) else {
                continue;
            };
            let recent: Vec<(i32, f64)> = totals
                .range(origin - BASELINE_YEARS..=origin)
                .map(|(y, v)| (*y, f64::from(*v)))
                .collect();
            if recent.len() < MIN_JANUARIES {
                continue;
            }
            // The earliest of the last three years' Januaries known.
            let Some((back_year, back)) = totals.range(origin - BASELINE_YEARS..origin).next()
            else {
                continue;
            };
            let growth = (f64::from(*base) / f64::from((*back).max(1)))
                .powf(1.0 / f64::from(origin - back_year));
            let Some(model) = f.caseload.get(authority) else {
                continue;
            };
            for h in 1..=horizon {
                let year = origin + i32::from(h);
                let Some(actual) = totals.get(&year) else {
                    continue;
                };
                let Some(range) = model.get(&year) else {
                    continue;
                };
                used = true;
                for method in Method::ALL {
                    let value = match method {
                        Method::Model => range.p50 as f64,
                        Method::LastValue => f64::from(*base),
                        Method::CompoundGrowth => f64::from(*base) * growth.powi(i32::from(h)),
                        Method::LinearTrend => {
                            linear_trend(&recent, year).unwrap_or(f64::from(*base))
                        }
                    };
                    let actual_f = f64::from(*actual).max(1.0);
                    rows.push(BacktestRow {
                        authority: authority.clone(),
                        origin,
                        horizon: h,
                        year,
                        method,
                        forecast: value,
                        actual: *actual,
                        error_pct: (value - actual_f) / actual_f * 100.0,
                        p10: (method == Method::Model).then_some(range.p10 as f64),
                        p90: (method == Method::Model).then_some(range.p90 as f64),
                        inside: (method == Method::Model).then(|| {
                            range.p10 <= i64::from(*actual) && i64::from(*actual) <= range.p90
                        }),
                    });
                }
            }
        }
        if used {
            origins.push(origin);
        }
    }
    let mut groups: BTreeMap<(AuthorityCode, u8, Method), Vec<&BacktestRow>> = BTreeMap::new();
    for r in &rows {
        groups
            .entry((r.authority.clone(), r.horizon, r.method))
            .or_default()
            .push(r);
    }
    let summary = groups
        .into_iter()
        .map(|((authority, horizon, method), rs)| {
            let n = rs.len() as f64;
            let inside: Vec<bool> = rs.iter().filter_map(|r| r.inside).collect();
            Summary {
                authority,
                horizon,
                method,
                origins: rs.len(),
                mape: rs.iter().map(|r| r.error_pct.abs()).sum::<f64>() / n,
                bias: rs.iter().map(|r| r.error_pct).sum::<f64>() / n,
                coverage: (!inside.is_empty())
                    .then(|| inside.iter().filter(|b| **b).count() as f64 / inside.len() as f64),
            }
        })
        .collect();
    Backtest {
        horizon,
        origins,
        rows,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::linear_trend;

    #[test]
    fn the_linear_trend_carries_the_fitted_line_on() {
        let points = [(2019, 100.0), (2020, 110.0), (2021, 120.0), (2022, 130.0)];
        assert!((linear_trend(&points, 2024).unwrap() - 150.0).abs() < 1e-9);
        // Noisy points: the least-squares line, not the last two.
        let noisy = [(2019, 100.0), (2020, 130.0), (2021, 110.0), (2022, 140.0)];
        assert!((linear_trend(&noisy, 2023).unwrap() - 145.0).abs() < 1e-9);
        assert_eq!(linear_trend(&points[..1], 2023), None);
    }
}
