//! The synthetic pan-Lancashire history: what Placeledger's own tests, `make run` and the
//! forecast back-test start from.
//!
//! [`generate`] writes, from a fixed RNG seed, the commands that build the history from 2015
//! to January 2026: geography, settings (named `(synthetic)` so no one mistakes them for real
//! schools), children with pseudonymous ids and their plans, placements, reviews, moves and
//! cessations, January census rolls, population, births, housing and placement costs. It is
//! calibrated to the real DfE and ONS figures in `seeds/reference/` ([`Reference`]), and
//! [`check`] compares what a history holds with those figures, tolerance by tolerance.
//!
//! Pure and synchronous: the caller records the commands through the ledger.

pub mod check;
mod children;
pub mod generate;
pub mod geography;
mod ipf;
pub mod reference;
mod settings;

use std::path::PathBuf;

pub use check::{Comparison, Observed, check, render};
pub use generate::{DEFAULT_SEED, HISTORY_END, generate, generate_authority, national_prologue};
pub use geography::Geography;
pub use reference::{Reference, ReferenceFiles};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("reading {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("the reference figures are unusable: {0}")]
    Reference(String),
    #[error("the generator made a command the domain refuses (a bug in the generator): {0}")]
    Invalid(String),
}
