//! The API's errors and their stable `extensions.code`, made at the edge from the libraries'
//! typed errors.

use async_graphql::ErrorExtensions;

/// Stable codes a client can branch on.
pub mod code {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const INTERNAL: &str = "INTERNAL";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
    /// A file with problems: every one of them, by line.
    #[error("{field}: {} problem(s) in the file; nothing was imported", problems.len())]
    BadFile {
        field: String,
        problems: Vec<FileProblem>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{stream} is at version {actual}, not the expected {expected}")]
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
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

impl ApiError {
    pub fn bad_input(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        ApiError::BadInput {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// Logs `cause` and returns the error a client sees.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut chain = cause.to_string();
        let mut next = cause.source();
        while let Some(e) = next {
            chain.push_str(": ");
            chain.push_str(&e.to_string());
            next = e.source();
        }
        tracing::error!(error = %chain, "internal error");
        ApiError::Internal
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadInput { .. } | ApiError::BadFile { .. } => code::BAD_USER_INPUT,
            ApiError::NotFound(_) => code::NOT_FOUND,
            ApiError::Conflict { .. } => code::CONFLICT,
            ApiError::Unauthenticated => code::UNAUTHENTICATED,
            ApiError::Forbidden(_) => code::FORBIDDEN,
            ApiError::Internal => code::INTERNAL,
            ApiError::Unavailable | ApiError::OutcomeUnknown => code::UNAVAILABLE,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| {
            e.set("code", self.code());
            match self {
                ApiError::BadInput { field, .. } => e.set("field", field.as_str()),
                ApiError::BadFile { field, problems } => {
                    e.set("field", field.as_str());
                    let list: Vec<async_graphql::Value> = problems
                        .iter()
                        .map(|p| {
                            let mut m = async_graphql::indexmap::IndexMap::new();
                            m.insert(async_graphql::Name::new("line"), p.line.into());
                            m.insert(
                                async_graphql::Name::new("column"),
                                p.column
                                    .clone()
                                    .map_or(async_graphql::Value::Null, Into::into),
                            );
                            m.insert(
                                async_graphql::Name::new("message"),
                                p.message.clone().into(),
                            );
                            async_graphql::Value::Object(m)
                        })
                        .collect();
                    e.set("problems", async_graphql::Value::List(list));
                }
                ApiError::Conflict { actual, .. } => e.set("actualVersion", *actual),
                _ => {}
            }
        })
    }
}

/// One problem with an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// What a resolver returns on failure: an [`ApiError`] that becomes a GraphQL error with its
/// code. (A wrapper, because async-graphql turns anything `Display` into an error without
/// extensions.)
#[derive(Debug)]
pub struct Gql(pub ApiError);

impl From<ApiError> for Gql {
    fn from(e: ApiError) -> Self {
        Gql(e)
    }
}

impl From<Gql> for async_graphql::Error {
    fn from(e: Gql) -> Self {
        e.0.extend()
    }
}
