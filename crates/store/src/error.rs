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
}

impl StoreError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
