//! Importers: files in their published (or documented) layouts, read into domain commands.
//!
//! Each importer reads a whole file first and reports **every** problem as
//! `file:line: column: what is wrong`; a file with any problem imports nothing. A valid file
//! becomes a list of [`Command`]s, each with the line it came from, which the caller checks
//! against the ledger (more problems, by line) and then records in one transaction with ids
//! derived from the content, so importing the same file again records nothing.
//!
//! This crate is synchronous and does no I/O beyond the bytes it is handed.

pub mod children;
pub mod dfe_ehcp;
pub mod geography;
pub mod high_needs;
pub mod ons_snpp;
pub mod planning_areas;
pub mod settings;
pub mod table;

use std::fmt;

use placeledger_domain::{Command, State};
use uuid::Uuid;

/// The layouts Placeledger imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// ONS sub-national population projections, persons, wide layout.
    OnsSnpp,
    /// DfE "Education, health and care plans" open data: caseload, new plans, requests,
    /// assessments, 20-week timeliness, ceased plans or annual reviews.
    DfeEhcp,
    /// Children with plans and placements, Placeledger's layout.
    Children,
    /// Settings with capacity and commissioned places, Placeledger's layout.
    Settings,
    /// High Needs Block allocations and DSG balances, Placeledger's layout.
    HighNeeds,
    /// ONS's local authority district to county and unitary authority lookup.
    Geography,
    /// Planning areas (mainstream place planning), Placeledger's layout.
    PlanningAreas,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::OnsSnpp,
        Format::DfeEhcp,
        Format::Children,
        Format::Settings,
        Format::HighNeeds,
        Format::Geography,
        Format::PlanningAreas,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::OnsSnpp => "ons-snpp",
            Format::DfeEhcp => "dfe-ehcp",
            Format::Children => "children",
            Format::Settings => "settings",
            Format::HighNeeds => "high-needs",
            Format::Geography => "geography",
            Format::PlanningAreas => "planning-areas",
        }
    }

    /// The namespace of the importer's content-derived event ids: the same row imported
    /// again gets the same id, so the store recognises it and records nothing (whether it
    /// came through the CLI or the API).
    pub fn namespace(self) -> Uuid {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("placeledger:import:{}", self.name()).as_bytes(),
        )
    }

    /// Reads a table in this layout into commands, checked row by row against `state`.
    pub fn parse(self, table: &table::Table, state: &State) -> Result<Parsed, Vec<Problem>> {
        self.parse_with(table, state, Options::default())
    }

    /// [`Format::parse`] with `options`.
    pub fn parse_with(
        self,
        table: &table::Table,
        state: &State,
        options: Options,
    ) -> Result<Parsed, Vec<Problem>> {
        match self {
            Format::OnsSnpp => ons_snpp::parse_table(table, state),
            Format::DfeEhcp => dfe_ehcp::parse_table_with(table, state, options),
            Format::Children => children::parse_table(table, state),
            Format::Settings => settings::parse_table(table, state),
            Format::HighNeeds => high_needs::parse_table(table, state),
            Format::Geography => geography::parse_table(table, state),
            Format::PlanningAreas => planning_areas::parse_table(table, state),
        }
    }
}

/// How an import treats what it cannot place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Register the authorities a DfE file names that Placeledger does not hold yet, from the
    /// file's own codes and names (a unitary authority as its own single district), instead
    /// of refusing the file.
    pub register: bool,
}

/// One thing wrong with a file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}:{}: {}: {}", self.file, self.line, c, self.message),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// What a valid file says: the commands, the line each came from, and notes for the person
/// importing it (rows deliberately passed over, with why).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub lines: Vec<u64>,
    pub rows: usize,
    pub notes: Vec<String>,
}

impl Parsed {
    /// The problem a refused command makes, reported at its line.
    pub fn problem_at(
        &self,
        file: &str,
        index: usize,
        column: Option<String>,
        message: String,
    ) -> Problem {
        Problem {
            file: file.to_owned(),
            line: self.lines.get(index).copied().unwrap_or(0),
            column,
            message,
        }
    }
}
