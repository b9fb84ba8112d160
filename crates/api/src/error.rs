//! The application's errors as GraphQL errors, each with a stable `extensions.code`: made
//! here, at the edge, and nowhere else.

use async_graphql::ErrorExtensions;
pub use placeledger_app::AppError;

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

/// The stable code of an application error.
pub fn code_of(e: &AppError) -> &'static str {
    e.code()
}

/// An application error as a GraphQL error: its message, `extensions.code`, and what a
/// client needs to act on it (the field at fault, a file's problems, the actual version).
fn extend(error: &AppError) -> async_graphql::Error {
    async_graphql::Error::new(error.to_string()).extend_with(|_, e| {
        e.set("code", code_of(error));
        match error {
            AppError::BadInput { field, .. } => e.set("field", field.as_str()),
            AppError::BadFile { problems } => {
                e.set("field", "input.content");
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
            AppError::Conflict {
                actual: Some(actual),
                ..
            } => e.set("actualVersion", *actual),
            _ => {}
        }
    })
}

/// What a resolver returns on failure: an [`AppError`] that becomes a GraphQL error with its
/// code. (A wrapper, because async-graphql turns anything `Display` into an error without
/// extensions.)
#[derive(Debug)]
pub struct Gql(pub AppError);

impl From<AppError> for Gql {
    fn from(e: AppError) -> Self {
        Gql(e)
    }
}

impl From<Gql> for async_graphql::Error {
    fn from(e: Gql) -> Self {
        extend(&e.0)
    }
}
