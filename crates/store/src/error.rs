use crate::types::ExpectedVersion;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream's version is not what the writer expected. Nothing was written.
    #[error("stream {stream}: expected version {expected:?}, but it is at {actual}")]
    Conflict {
        stream: String,
        expected: ExpectedVersion,
        actual: u64,
    },

    /// Some of the append's event ids are already stored and some are not (or they are in
    /// another stream): it is neither a retry nor a new append. Nothing was written.
    #[error("stream {stream}: some event ids of this append are already stored elsewhere")]
    IdempotencyMismatch { stream: String },

    /// The input is wrong; `field` says where. Nothing was written.
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// Holds only the URL's scheme: a URL may carry a password.
    #[error("unsupported database URL scheme {0:?}: use sqlite:PATH or postgres://...")]
    UnsupportedUrl(String),

    #[error("database error")]
    Database(#[from] sqlx::Error),

    #[error("could not apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("stored row is malformed: {0}")]
    Corrupt(String),

    /// A read was cancelled before it answered (the runtime is shutting down).
    #[error("the read was cancelled")]
    Cancelled,
}

impl StoreError {
    /// The request never reached the database (no connection could be had): whatever it
    /// asked for did not happen.
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
        )
    }

    /// The database could not be reached or went away (connection refused or lost, pool
    /// timed out, server shutting down): a condition that passes, unlike a refusal.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_unavailable(e))
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Whether a database error means the database could not be reached or went away (connection
/// refused or lost, pool timed out, server shutting down): a condition that passes, unlike a
/// refusal. For the application's own tables beside the events, too.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server is shutting
        // down, crashed, or not yet accepting connections).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}
