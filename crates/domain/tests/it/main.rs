//! Given/when/then tests of every business rule. No database, milliseconds each.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod harness;
mod rules;
mod sharing_and_scenarios;
