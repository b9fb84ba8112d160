//! Given/when/then tests of every business rule. No database, milliseconds each.

mod harness;
mod rules;
