//! The application's errors: what went wrong in words a caller can act on. The API gives each
//! kind a stable `extensions.code`; the CLI prints it.

use placeledger_import::Problem;
use placeledger_ledger::LedgerError;
use placeledger_store::{ExpectedVersion, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
    /// A file with problems: every one of them, by line.
    #[error("{} problem(s) in the file; nothing was imported", problems.len())]
    BadFile { problems: Vec<Problem> },
    #[error("{0}")]
    NotFound(String),
    /// `actual`: the stream's version, when the caller may see it (`None`: a stream of
    /// another authority's, whose version is not told).
    #[error("{}", conflict_message(stream, *expected, *actual))]
    Conflict {
        stream: String,
        expected: u64,
        actual: Option<u64>,
    },
    #[error("a bearer token is needed: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// The cause is logged, not shown.
    #[error("something went wrong on our side; it has been logged")]
    Internal,
    /// The database does not answer: nothing was recorded, try again.
    #[error("the database does not answer; nothing was recorded: try again shortly")]
    Unavailable,
    /// The database went away while the change was being recorded and did not come back in
    /// time: it may or may not be stored.
    #[error(
        "the database went away while recording the change: it may or may not be stored; read it back before trying again"
    )]
    OutcomeUnknown,
}

fn conflict_message(stream: &str, expected: u64, actual: Option<u64>) -> String {
    match actual {
        Some(actual) => format!("{stream} is at version {actual}, not the expected {expected}"),
        None if expected == 0 => format!("{stream} is already taken: choose another id"),
        None => format!("{stream} is not at the expected version {expected}"),
    }
}

impl AppError {
    /// The stable code a caller can branch on (GraphQL `extensions.code`, the audit log).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadInput { .. } | AppError::BadFile { .. } => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Internal => "INTERNAL",
            AppError::Unavailable | AppError::OutcomeUnknown => "UNAVAILABLE",
        }
    }

    pub fn bad_input(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        AppError::BadInput {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// Logs `cause` with its whole chain and returns the error a caller sees.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut chain = cause.to_string();
        let mut next = cause.source();
        while let Some(e) = next {
            chain.push_str(": ");
            chain.push_str(&e.to_string());
            next = e.source();
        }
        tracing::error!(error = %chain, "internal error");
        AppError::Internal
    }
}

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Refused { error, .. } if error.is_not_found() => {
                AppError::NotFound(error.to_string())
            }
            LedgerError::Refused { error, .. } => AppError::BadInput {
                field: error.field().to_owned(),
                reason: error.to_string(),
            },
            LedgerError::Store(StoreError::Conflict {
                stream,
                expected,
                actual,
            }) => AppError::Conflict {
                stream,
                expected: match expected {
                    ExpectedVersion::Exact(v) => v,
                    _ => 0,
                },
                actual: Some(actual),
            },
            LedgerError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "a command met the database unavailable");
                AppError::Unavailable
            }
            LedgerError::OutcomeUnknown(e) => {
                tracing::error!(error = %e, "an append's outcome is unknown");
                AppError::OutcomeUnknown
            }
            other => AppError::internal(&other),
        }
    }
}
