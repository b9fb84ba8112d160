//! The GraphQL API on axum: GraphQL and HTTP only. Every resolver checks its arguments' shape
//! and calls the application (`placeledger-app`), whose errors become stable
//! `extensions.code`s here.
//!
//! - [`context`]: what resolvers share, and the schema with its limits.
//! - [`query`]: the planners' queries, partners' shared data and the county's measures;
//!   [`mutation`]: the domain's commands and imports; [`subscription`]: live queries.
//! - [`error`]: application errors as GraphQL errors; [`limit`]: per-token rate limits.
//! - [`http`]: the axum router (GraphQL over HTTP, WebSocket, GraphiQL, health, metrics).

pub mod audit;
pub mod context;
pub mod error;
pub mod http;
pub mod limit;
pub mod mutation;
pub mod query;
pub mod shape;
pub mod subscription;
pub mod web;

pub use context::{PlaceledgerSchema, Services, build, sdl};
