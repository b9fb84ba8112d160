//! The back-test: forecasts made from past origins, with only what was known then, against
//! the January caseloads that followed; beside two naive baselines a planner could make on a
//! calculator. A model that cannot beat them is not worth its complexity.

use std::collections::BTreeMap;

use placeledger_domain::AuthorityCode;
use serde::Serialize;

use crate::engine::{Options, forecast};
use crate::inputs::Inputs;

/// Years of growth the compound-growth baseline carries forward.
pub const BASELINE_YEARS: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The forecast engine (its median).
    Model,
    /// The last January carried forward.
    LastValue,
    /// The last three years' compound growth continued.
    CompoundGrowth,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Model, Method::LastValue, Method::CompoundGrowth];

    pub fn code(self) -> &'static str {
        match self {
            Method::Model => "model",
            Method::LastValue => "last_value",
            Method::CompoundGrowth => "compound_growth",
        }
    }
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
/// January, and the one [`BASELINE_YEARS`] before it.
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
    for origin in (first + BASELINE_YEARS)..last {
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
            let (Some(base), Some(back)) =
                (totals.get(&origin), totals.get(&(origin - BASELINE_YEARS)))
            else {
                continue;
            };
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
                let growth = (f64::from(*base) / f64::from((*back).max(1)))
                    .powf(1.0 / f64::from(BASELINE_YEARS));
                for method in Method::ALL {
                    let value = match method {
                        Method::Model => range.p50 as f64,
                        Method::LastValue => f64::from(*base),
                        Method::CompoundGrowth => f64::from(*base) * growth.powi(i32::from(h)),
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
