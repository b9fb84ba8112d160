//! What every resolver shares: the application's use cases for this node, the caller, and a
//! cache of forecast rows as served; and the schema built with its limits.

use std::sync::Arc;

use async_graphql::{Context, Schema};
use placeledger_app::live::ScenarioRunError;
use placeledger_app::{ReadModels, Service};
use placeledger_domain::{AuthorityCode, GssCode, ScenarioId};
use tokio::sync::Mutex;

use crate::error::AppError;
use crate::mutation::Mutation;
use crate::query::{ForecastRow, Query};
use crate::subscription::SubscriptionRoot;

pub use placeledger_app::Viewer;

pub type PlaceledgerSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Query depth and complexity limits: deep or enormous queries are refused before they run.
pub const MAX_DEPTH: usize = 10;
pub const MAX_COMPLEXITY: usize = 2_000;

/// What every resolver shares.
#[derive(Debug, Clone)]
pub struct Services {
    /// The application's use cases on this node.
    pub app: Service,
    /// A district's forecast rows as served, per scenario, made once per position and
    /// shared by every subscriber of that district.
    district_rows: Arc<std::sync::Mutex<DistrictRows>>,
    rows_making: Arc<Mutex<()>>,
}

type DistrictRows =
    std::collections::HashMap<(Option<ScenarioId>, GssCode), (u64, Arc<Vec<ForecastRow>>)>;

impl Services {
    pub fn new(app: Service) -> Self {
        Services {
            app,
            district_rows: Arc::default(),
            rows_making: Arc::default(),
        }
    }

    /// A district's rows as served, from the scenario's current forecast, and the position
    /// that forecast reflects (it may be later than `models`'s: a message is labelled with
    /// what it shows). Made once per forecast for every subscriber of the district.
    pub(crate) async fn district_rows(
        &self,
        scenario: Option<&ScenarioId>,
        district: &GssCode,
        models: &ReadModels,
    ) -> Result<(u64, Arc<Vec<ForecastRow>>), ScenarioRunError> {
        let key = (scenario.cloned(), district.clone());
        let f = self.app.live.forecast(scenario).await?;
        let cached = || {
            self.district_rows.lock().ok().and_then(|c| {
                c.get(&key)
                    .filter(|(at, _)| *at == f.position)
                    .map(|(_, rows)| rows.clone())
            })
        };
        // Made at a later position, or at an earlier one with the same basis: it shows the
        // later of the two.
        let shows = f.position.max(models.position);
        if let Some(rows) = cached() {
            return Ok((shows, rows));
        }
        // Every subscriber of the district wakes at once: one makes the rows, the rest find
        // them made.
        let _making = self.rows_making.lock().await;
        if let Some(rows) = cached() {
            return Ok((shows, rows));
        }
        let rows = Arc::new(
            f.rows_in(district)
                .map(|r| ForecastRow::of(r, models))
                .collect::<Vec<_>>(),
        );
        if let Ok(mut c) = self.district_rows.lock() {
            c.insert(key.clone(), (f.position, rows.clone()));
        }
        Ok((shows, rows))
    }
}

/// Builds the schema with its limits. The data (services) is added per server; an empty
/// schema still prints its SDL.
pub fn build(services: Option<Services>) -> PlaceledgerSchema {
    let mut builder = Schema::build(Query::default(), Mutation, SubscriptionRoot)
        .extension(crate::audit::PartnerRefusals)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(s) = services {
        builder = builder.data(s);
    }
    builder.finish()
}

/// The same schema without the depth and complexity limits, for introspection alone (what
/// GraphiQL and code generators ask is deeper than any query; it is served to signed-in
/// callers only).
pub fn build_for_introspection(services: Option<Services>) -> PlaceledgerSchema {
    let mut builder = Schema::build(Query::default(), Mutation, SubscriptionRoot);
    if let Some(s) = services {
        builder = builder.data(s);
    }
    builder.finish()
}

/// The schema as SDL: what `schema/graphql/schema.graphql` holds.
pub fn sdl() -> String {
    build(None).sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

pub(crate) fn viewer<'a>(ctx: &'a Context<'_>) -> Result<&'a Viewer, AppError> {
    ctx.data_opt::<Viewer>().ok_or(AppError::Unauthenticated)
}

pub(crate) fn services<'a>(ctx: &'a Context<'_>) -> Result<&'a Services, AppError> {
    ctx.data_opt::<Services>().ok_or(AppError::Internal)
}

/// An authority code argument.
pub(crate) fn authority_code(field: &str, s: &str) -> Result<AuthorityCode, AppError> {
    AuthorityCode::parse(s).map_err(|e| AppError::bad_input(field, e))
}

#[cfg(test)]
mod tests {
    /// The schema file clients generate their code from is the schema the server serves.
    #[test]
    fn the_schema_file_is_the_served_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schema/graphql/schema.graphql"
        );
        let file = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            file == super::sdl(),
            "schema/graphql/schema.graphql differs from the served schema: run `make schema`"
        );
    }
}
