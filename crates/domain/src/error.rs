//! Why a command was refused. Every variant names the field that was wrong.

use chrono::NaiveDate;

use crate::values::{ChildId, Urn, ValueError, YearMonth};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },

    #[error("{field}: must not be negative (got {value})")]
    Negative { field: String, value: i64 },

    #[error("{field}: unknown {what} {id}")]
    Unknown {
        field: &'static str,
        what: &'static str,
        id: String,
    },

    #[error("{field}: {what} {id} already exists")]
    AlreadyExists {
        field: &'static str,
        what: &'static str,
        id: String,
    },

    #[error("district: {district} belongs to authority {belongs_to}, not {authority}")]
    DistrictOutsideAuthority {
        district: String,
        authority: String,
        belongs_to: String,
    },

    #[error("{field}: {date} is before the child was born ({born})")]
    BeforeBirth {
        field: &'static str,
        date: NaiveDate,
        born: YearMonth,
    },

    #[error("{field}: {date} is after the child's 25th year (born {born}); plans end at 25")]
    AfterAge25 {
        field: &'static str,
        date: NaiveDate,
        born: YearMonth,
    },

    #[error("{field}: {date} is before {earlier_event} on {earlier}")]
    OutOfOrder {
        field: &'static str,
        date: NaiveDate,
        earlier_event: &'static str,
        earlier: NaiveDate,
    },

    #[error("child: {child} has no issued plan in force on {on}")]
    NoActivePlan { child: ChildId, on: NaiveDate },

    #[error("child: {child} already has a plan, issued on {issued_on}; a plan is issued once")]
    PlanAlreadyIssued {
        child: ChildId,
        issued_on: NaiveDate,
    },

    #[error("child: {child}'s plan was already ceased on {ceased_on}; a plan is ceased once")]
    PlanAlreadyCeased {
        child: ChildId,
        ceased_on: NaiveDate,
    },

    #[error("child: {child} has no agreement to assess; a new plan follows a decision to assess")]
    NoDecisionToAssess { child: ChildId },

    #[error("child: {child} has no assessment request awaiting a decision")]
    NoPendingRequest { child: ChildId },

    #[error("child: {child} already has a request awaiting a decision (made {requested_on})")]
    RequestPending {
        child: ChildId,
        requested_on: NaiveDate,
    },

    #[error("child: {child} already has an open placement since {since}; end it first")]
    PlacementAlreadyOpen { child: ChildId, since: NaiveDate },

    #[error("child: {child} has no open placement")]
    NoOpenPlacement { child: ChildId },

    #[error("urn: setting {urn} is not open on {on}")]
    SettingNotOpen { urn: Urn, on: NaiveDate },

    #[error("child: {child} has moved outside every registered authority")]
    ChildOutsideArea { child: ChildId },
}

impl DomainError {
    /// The command field the error is about, as the API and importers report it.
    pub fn field(&self) -> &str {
        use DomainError::*;
        match self {
            Invalid { field, .. } | Negative { field, .. } => field,
            Unknown { field, .. }
            | AlreadyExists { field, .. }
            | BeforeBirth { field, .. }
            | AfterAge25 { field, .. }
            | OutOfOrder { field, .. } => field,
            DistrictOutsideAuthority { .. } => "district",
            SettingNotOpen { .. } => "urn",
            NoActivePlan { .. }
            | PlanAlreadyIssued { .. }
            | PlanAlreadyCeased { .. }
            | NoDecisionToAssess { .. }
            | NoPendingRequest { .. }
            | RequestPending { .. }
            | PlacementAlreadyOpen { .. }
            | NoOpenPlacement { .. }
            | ChildOutsideArea { .. } => "child",
        }
    }

    /// True when the command refers to something that does not exist (an API's NOT_FOUND).
    pub fn is_not_found(&self) -> bool {
        matches!(self, DomainError::Unknown { .. })
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown(field: &'static str, what: &'static str, id: impl ToString) -> Self {
        DomainError::Unknown {
            field,
            what,
            id: id.to_string(),
        }
    }

    pub(crate) fn exists(field: &'static str, what: &'static str, id: impl ToString) -> Self {
        DomainError::AlreadyExists {
            field,
            what,
            id: id.to_string(),
        }
    }
}

impl DomainError {
    /// A value that failed to parse, reported against the command field that held it.
    pub fn from_value(field: impl Into<String>, e: ValueError) -> Self {
        DomainError::Invalid {
            field: field.into(),
            reason: e.to_string(),
        }
    }
}
