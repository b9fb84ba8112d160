//! The GraphQL API on axum: planners' queries and commands, scenario runs, and the shared,
//! suppressed aggregates partner authorities may see.
//!
//! - [`read`]: every projection folded to one position, followed live; forecasts cached per
//!   position.
//! - [`auth`]: bearer tokens (stored hashed), roles and what each may read and write.
//! - [`schema`]: the GraphQL schema's queries and subscriptions; [`mutation`]: the domain's
//!   commands and imports; [`measures`]: the measures the county watches; [`error`]: their
//!   stable `extensions.code`s.
//! - [`suppress`]: small-number suppression for partners; [`limit`]: per-token rate limits.
//! - [`http`]: the axum router (GraphQL over HTTP, WebSocket, GraphiQL, health, metrics).

pub mod auth;
pub mod error;
pub mod http;
pub mod limit;
pub mod measures;
pub mod mutation;
pub mod read;
pub mod schema;
pub mod suppress;

pub use read::{Live, ReadModels};
pub use schema::{PlaceledgerSchema, Services, build, sdl};
