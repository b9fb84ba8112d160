//! The place sufficiency forecast: pure (no I/O, no clock), fed by the projections.
//!
//! - [`inputs`]: what a forecast is made from.
//! - [`model`]: each authority's rates, from children where they are recorded (stock-flow by
//!   district, single year of age and need) or from its SEN2 totals (its own trend).
//! - [`engine`]: the seeded simulation, placement mix, capacity allocation, ranges and totals.
//! - [`backtest`]: forecasts from past origins against what happened, beside naive baselines.

pub mod backtest;
pub mod capital;
pub mod engine;
pub mod explain;
pub mod from_projections;
pub mod high_needs;
pub mod inputs;
pub mod kind;
pub mod mainstream;
pub mod model;
pub mod scenario;
mod sim;

pub use backtest::{Backtest, BacktestRow, Method, Pooled, backtest, pooled};
pub use capital::{CapitalCost, CapitalItem, CapitalRate, capital_cost, capital_rates};
pub use engine::{
    Forecast, ForecastError, MainstreamTotal, Options, Prices, Range, Row, Total, forecast,
    latest_january,
};
pub use explain::{CellKey, Explanation, explain};
pub use high_needs::{Basis, HighNeeds, HighNeedsYear, high_needs, high_needs_with};
pub use inputs::{
    Authority, ChildHistory, Inputs, Population, PublishedJanuary, SendHistory, TableHistory,
};
pub use kind::{Location, PHASES, PlaceKind, phase_of};
pub use mainstream::{
    Headroom, Housing, MainstreamArea, MainstreamRow, Warning, forecast_mainstream,
};
pub use model::{Flag, Rates};
pub use scenario::{CellChange, Comparison, Levers, Shift, compare};
