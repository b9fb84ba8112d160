//! The application: Placeledger's use cases, free of any transport. The API (GraphQL over
//! HTTP), the `placeledger` command and the benchmarks all call these; none of them is
//! reached any other way.
//!
//! - [`read`]: every projection, declared once, folded to one position; run by name;
//!   [`live`]: those read models followed as events commit, and forecasts cached by basis.
//! - [`commands`]: the command step and the import step (one path for every writer).
//! - [`access`]: roles, the caller, who may read or record what; [`disclosure`]: exactly
//!   what a partner may be shown.
//! - [`tokens`] and [`storage`]: bearer tokens and the audit log, in tables of their own.
//! - [`service`]: the read use cases a node serves; [`error`]: what went wrong.

pub mod access;
pub mod commands;
pub mod disclosure;
pub mod error;
pub mod live;
pub mod read;
pub mod service;
pub mod storage;
pub mod tokens;

pub use access::{Role, Viewer};
pub use error::AppError;
pub use live::Live;
pub use read::{PROJECTIONS, ReadModels};
pub use service::Service;
pub use storage::Backend;
