//! The GraphQL schema: queries for planners, commands as mutations, and the shared data
//! partners may see. Resolvers check the viewer first and turn library errors into
//! [`ApiError`]s here, at the edge.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{
    ComplexObject, Context, InputObject, MergedObject, Object, Schema, SimpleObject, Subscription,
};
use chrono::{NaiveDate, Utc};
use futures::Stream;
use placeledger_domain::{AuthorityCode, GssCode, Phase, PrimaryNeed, ScenarioId, SharedData};
use placeledger_forecast::PlaceKind;
use placeledger_ledger::{Ledger, LedgerError};
use placeledger_store::{AuditEntry, EventStore, StoreError};
use rust_decimal::Decimal;
use tokio::sync::Mutex;

use crate::auth::{Role, Viewer};
use crate::error::{ApiError, Gql};
use crate::mutation::Mutation;
use crate::read::{Live, ScenarioRunError};
use crate::suppress;

pub type PlaceledgerSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Query depth and complexity limits: deep or enormous queries are refused before they run.
pub const MAX_DEPTH: usize = 10;
pub const MAX_COMPLEXITY: usize = 2_000;

/// What every resolver shares.
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Arc<dyn EventStore>,
    pub live: Live,
    /// One writer per node: commands are decided on the ledger's folded state.
    pub ledger: Arc<Mutex<Option<Ledger>>>,
    /// A district's forecast rows as served, per scenario, made once per position and
    /// shared by every subscriber of that district.
    pub district_rows: Arc<std::sync::Mutex<DistrictRows>>,
    rows_making: Arc<Mutex<()>>,
}

type DistrictRows =
    std::collections::HashMap<(Option<ScenarioId>, GssCode), (u64, Arc<Vec<ForecastRow>>)>;

impl Services {
    pub fn new(store: Arc<dyn EventStore>, live: Live) -> Self {
        Services {
            store,
            live,
            ledger: Arc::new(Mutex::new(None)),
            district_rows: Arc::default(),
            rows_making: Arc::default(),
        }
    }

    /// A district's rows as served, from the scenario's current forecast, and the position
    /// that forecast reflects (it may be later than `models`'s: a message is labelled with
    /// what it shows). Made once per forecast for every subscriber of the district.
    async fn district_rows(
        &self,
        scenario: Option<&ScenarioId>,
        district: &GssCode,
        models: &crate::read::ReadModels,
    ) -> Result<(u64, Arc<Vec<ForecastRow>>), ScenarioRunError> {
        let key = (scenario.cloned(), district.clone());
        let f = self.live.forecast(scenario).await?;
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
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(s) = services {
        builder = builder.data(s);
    }
    builder.finish()
}

/// The schema as SDL: what `schema/graphql/schema.graphql` holds.
pub fn sdl() -> String {
    build(None).sdl()
}

pub(crate) fn viewer<'a>(ctx: &'a Context<'_>) -> Result<&'a Viewer, ApiError> {
    ctx.data_opt::<Viewer>().ok_or(ApiError::Unauthenticated)
}

pub(crate) fn services<'a>(ctx: &'a Context<'_>) -> Result<&'a Services, ApiError> {
    ctx.data_opt::<Services>().ok_or(ApiError::Internal)
}

fn authority(field: &str, s: &str) -> Result<AuthorityCode, ApiError> {
    AuthorityCode::parse(s).map_err(|e| ApiError::bad_input(field, e))
}

/// The authority's own data: admins, and planners and analysts of that authority.
pub(crate) fn may_read(v: &Viewer, a: &AuthorityCode) -> Result<(), ApiError> {
    if v.reads(a) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} token for {} may not read {a}'s own data",
            v.role.code(),
            v.authority
                .as_ref()
                .map_or("no authority", AuthorityCode::as_str)
        )))
    }
}

fn scenario_error(e: ScenarioRunError) -> ApiError {
    match e {
        ScenarioRunError::NotFound(_) => ApiError::NotFound(e.to_string()),
        ScenarioRunError::Scenario(_) => ApiError::bad_input("scenario", &e),
        ScenarioRunError::Forecast(_) | ScenarioRunError::Internal(_) => ApiError::internal(&e),
    }
}

pub(crate) fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Refused { error, .. } if error.is_not_found() => {
            ApiError::NotFound(error.to_string())
        }
        LedgerError::Refused { error, .. } => ApiError::BadInput {
            field: error.field().to_owned(),
            reason: error.to_string(),
        },
        LedgerError::Store(StoreError::Conflict {
            stream,
            expected,
            actual,
        }) => ApiError::Conflict {
            stream,
            expected: match expected {
                placeledger_store::ExpectedVersion::Exact(v) => v,
                _ => 0,
            },
            actual,
        },
        LedgerError::Store(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, "a command met the database unavailable");
            ApiError::Unavailable
        }
        LedgerError::OutcomeUnknown(e) => {
            tracing::error!(error = %e, "an append's outcome is unknown");
            ApiError::OutcomeUnknown
        }
        other => ApiError::internal(&other),
    }
}

/// The query root: the planners' queries, and the county's measures.
#[derive(Debug, Default, MergedObject)]
pub struct Query(PlanningQuery, crate::measures::MeasuresQuery);

#[derive(Debug, Default)]
pub struct PlanningQuery;

/// The caller, as its token says.
#[derive(Debug, SimpleObject)]
pub struct ViewerInfo {
    pub role: Role,
    /// The DfE LA code the token acts for (none for admin).
    pub authority: Option<String>,
}

#[derive(Debug, SimpleObject)]
pub struct District {
    /// ONS GSS code, e.g. E07000123 (Preston).
    pub code: String,
    pub name: String,
    /// The district's school place planning areas (mainstream places are planned in them).
    pub planning_areas: Vec<PlanningArea>,
}

#[derive(Debug, SimpleObject)]
pub struct PlanningArea {
    /// The authority's own code for the area.
    pub code: String,
    pub name: String,
    /// The phase the area plans places for (`primary`, `secondary`).
    pub phase: String,
}

#[derive(Debug, SimpleObject)]
pub struct AuthorityInfo {
    /// DfE LA code, e.g. 888 (Lancashire).
    pub code: String,
    pub name: String,
    pub districts: Vec<District>,
}

/// P10 / P50 / P90 of a figure over the forecast's runs.
#[derive(Debug, SimpleObject, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub p10: i64,
    pub p50: i64,
    pub p90: i64,
}

impl From<placeledger_forecast::Range> for Range {
    fn from(r: placeledger_forecast::Range) -> Self {
        Range {
            p10: r.p10,
            p50: r.p50,
            p90: r.p90,
        }
    }
}

/// One cell of the sufficiency forecast.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
#[graphql(complex)]
pub struct ForecastRow {
    pub authority: String,
    pub district: String,
    pub district_name: String,
    /// The January the figures are for.
    pub year: i32,
    pub phase: String,
    /// mainstream, resourced_provision, special, independent, alternative_provision,
    /// post_16 or elsewhere.
    pub kind: String,
    /// SEN2 primary need code; none: all needs.
    pub need: Option<String>,
    pub demand: Range,
    /// Places in the district's settings (commissioned kinds).
    pub capacity: Option<u32>,
    /// Capacity minus demand; negative is a deficit.
    pub surplus: Option<Range>,
    /// Surplus as a percentage of capacity, at the median.
    pub surplus_pct: Option<Decimal>,
    pub met_in_authority: Option<Range>,
    pub met_by_partner: Option<Range>,
    pub out_of_county: Range,
    /// Annual cost at the median, in pounds.
    pub annual_cost: Option<Decimal>,
}

impl ForecastRow {
    fn of(r: &placeledger_forecast::Row, models: &crate::read::ReadModels) -> ForecastRow {
        ForecastRow {
            authority: r.authority.as_str().to_owned(),
            district: r.district.as_str().to_owned(),
            district_name: district_name(models, &r.authority, &r.district),
            year: r.year,
            phase: r.phase.code().to_owned(),
            kind: r.kind.code().to_owned(),
            need: r.need.map(|n| n.code().to_owned()),
            demand: r.demand.into(),
            capacity: r.capacity,
            surplus: r.surplus.map(Into::into),
            surplus_pct: r.surplus_pct,
            met_in_authority: r.met_in_authority.map(Into::into),
            met_by_partner: r.met_by_partner.map(Into::into),
            out_of_county: r.out_of_county.into(),
            annual_cost: r.annual_cost,
        }
    }
}

#[ComplexObject]
impl ForecastRow {
    /// The median demand exceeds the places.
    async fn deficit(&self) -> bool {
        self.surplus.is_some_and(|s| s.p50 < 0)
    }
}

#[derive(Debug, SimpleObject)]
pub struct ForecastTotal {
    /// None: pan-Lancashire (every authority in the store).
    pub authority: Option<String>,
    pub year: i32,
    pub kind: String,
    pub demand: i64,
    pub capacity: Option<i64>,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
}

#[derive(Debug, SimpleObject)]
pub struct ForecastFlag {
    pub authority: String,
    /// e.g. no_child_level_history, no_population.
    pub flag: String,
}

#[derive(Debug, SimpleObject)]
pub struct ForecastResult {
    /// None: the baseline.
    pub scenario: Option<String>,
    /// The last January the forecast starts from.
    pub origin: i32,
    pub years: Vec<i32>,
    pub runs: u32,
    pub seed: u64,
    /// The event position the forecast reflects.
    pub position: u64,
    pub rows: Vec<ForecastRow>,
    pub totals: Vec<ForecastTotal>,
    pub flags: Vec<ForecastFlag>,
}

/// Narrows the sufficiency forecast. Codes as in the forecast rows.
#[derive(Debug, InputObject, Default)]
pub struct ForecastFilter {
    /// DfE LA code; required unless the token is admin.
    pub authority: Option<String>,
    /// GSS code of the district.
    pub district: Option<String>,
    pub phase: Option<String>,
    pub kind: Option<String>,
    pub need: Option<String>,
    pub years: Option<Vec<i32>>,
    /// A scenario id; none: the baseline.
    pub scenario: Option<String>,
}

#[derive(Debug, SimpleObject)]
pub struct CaseloadYear {
    /// The January census year.
    pub year: i32,
    /// Plans in force on the census day (child-level records, or SEN2 totals).
    pub plans: i64,
}

/// A partner's view of one cell of another authority's sufficiency forecast: counts of 1-4
/// are withheld (null), with a second cell withheld where a total would give one away.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct SharedCell {
    pub district: String,
    pub district_name: String,
    pub year: i32,
    pub phase: String,
    pub kind: String,
    /// Children needing this kind of place (median).
    pub demand: Option<i64>,
    /// Places in the district's settings of this kind.
    pub capacity: Option<i64>,
    /// True where any figure of this cell is withheld.
    pub suppressed: bool,
}

#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct SharedTotal {
    pub year: i32,
    pub phase: String,
    pub kind: String,
    pub demand: Option<i64>,
    pub capacity: Option<i64>,
}

/// What an authority shares with a partner under their agreement: aggregates only.
#[derive(Debug, SimpleObject)]
pub struct SharedPlaceData {
    pub authority: String,
    pub position: u64,
    pub cells: Vec<SharedCell>,
    pub totals: Vec<SharedTotal>,
}

/// A setting as at a date: what it is, its places and who is in them.
#[derive(Debug, SimpleObject)]
pub struct SettingInfo {
    pub urn: String,
    pub name: String,
    pub authority: String,
    pub district: String,
    pub planning_area: Option<String>,
    /// The setting kind code, e.g. special_la_maintained.
    pub kind: String,
    /// The kind of place it provides (facility included), e.g. special_la_maintained.
    pub provision: String,
    pub phase: String,
    pub low_age: i32,
    pub high_age: i32,
    pub designated_needs: Vec<String>,
    pub open: bool,
    /// Net capacity (mainstream), summed over NCYs.
    pub net_capacity: Option<i64>,
    /// Places commissioned for the academic year (specialist settings and facilities).
    pub commissioned_places: Option<i64>,
    /// Commissioned places, or net capacity for mainstream.
    pub places: Option<i64>,
    /// Census roll (mainstream) or children with plans placed here.
    pub occupancy: i64,
    /// Places minus occupancy; negative: over capacity.
    pub vacancies: Option<i64>,
}

/// Narrows the settings. Codes as in the settings.
#[derive(Debug, InputObject, Default)]
pub struct SettingsFilter {
    pub authority: Option<String>,
    pub district: Option<String>,
    /// A setting kind code, e.g. special_academy_free.
    pub kind: Option<String>,
    /// Settings designated for this primary need.
    pub need: Option<String>,
    pub phase: Option<String>,
    /// The date the figures are for (default: today).
    pub on: Option<NaiveDate>,
    /// Include settings closed on that date (default: no).
    #[graphql(default)]
    pub include_closed: bool,
}

/// One stored event, as it is now read (older schema versions upcast).
#[derive(Debug, SimpleObject)]
pub struct HistoryEvent {
    pub position: u64,
    pub version: u64,
    /// The event type, e.g. PlanIssued.
    pub r#type: String,
    pub recorded_at: chrono::DateTime<Utc>,
    /// Who recorded it (a token id, an importer, the seed).
    pub actor: Option<String>,
    pub event: async_graphql::Json<serde_json::Value>,
}

/// What a placement summary can be broken down by (always within one resident authority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum PlacementDimension {
    District,
    Kind,
    Need,
    Ncy,
    Location,
}

/// One cell of a placement summary: current placements of the authority's residents.
/// Dimensions not grouped by are null.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct PlacementCell {
    pub district: Option<String>,
    /// SEN2 placement type code.
    pub kind: Option<String>,
    pub need: Option<String>,
    pub ncy: Option<String>,
    /// in_authority, partner, outside or not_at_setting.
    pub location: Option<String>,
    /// Withheld (null) for a partner where it is 1-4 or would give one away.
    pub count: Option<i64>,
}

/// An authority's current placements, as the caller may see them.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct PlacementSummary {
    pub authority: String,
    pub position: u64,
    pub cells: Vec<PlacementCell>,
    pub total: Option<i64>,
    /// Other authorities' residents placed in this authority's settings.
    pub imports: Option<i64>,
    /// This authority's residents placed in other authorities' settings.
    pub exports: Option<i64>,
    /// Whether small numbers were withheld (partners).
    pub suppressed: bool,
}

/// A named set of levers on the forecast.
#[derive(Debug, SimpleObject)]
pub struct ScenarioInfo {
    pub id: String,
    pub name: String,
    pub author: String,
    pub authority: String,
    /// The scenario whose levers apply first.
    pub base: Option<String>,
    pub created_on: NaiveDate,
    /// Its own levers, in order, in their JSON form.
    pub levers: Vec<async_graphql::Json<serde_json::Value>>,
}

/// One cell that differs between two scenarios: after minus before.
#[derive(Debug, SimpleObject)]
pub struct CellDifference {
    pub district: String,
    pub year: i32,
    pub phase: String,
    pub kind: String,
    pub need: Option<String>,
    pub demand: i64,
    pub capacity: i64,
    pub surplus: i64,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
    pub deficit_before: bool,
    pub deficit_after: bool,
}

#[derive(Debug, SimpleObject)]
pub struct YearCost {
    pub year: i32,
    pub annual_cost: Decimal,
}

/// `scenario` against `against` (none: the baseline).
#[derive(Debug, SimpleObject)]
pub struct ScenarioComparison {
    pub scenario: String,
    pub against: Option<String>,
    pub position: u64,
    pub changes: Vec<CellDifference>,
    pub cost_by_year: Vec<YearCost>,
    /// The difference in cost over the whole horizon.
    pub total_cost: Decimal,
}

/// The forecast's track record for one authority and horizon, beside the naive baselines.
#[derive(Debug, SimpleObject)]
pub struct BacktestLine {
    pub authority: String,
    /// Years ahead of the forecast's origin.
    pub horizon: i32,
    /// model, last_value or compound_growth.
    pub method: String,
    pub origins: i32,
    /// Mean absolute % error over the origins.
    pub mape: f64,
    /// Mean signed % error.
    pub bias: f64,
    /// Share of actuals inside P10-P90 (model only).
    pub coverage: Option<f64>,
}

fn district_name(models: &crate::read::ReadModels, a: &AuthorityCode, d: &GssCode) -> String {
    models
        .mainstream
        .authorities()
        .get(a)
        .and_then(|x| x.districts.get(d))
        .cloned()
        .unwrap_or_else(|| d.as_str().to_owned())
}

fn parse_opt<T>(
    field: &str,
    v: Option<&String>,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    v.map(|s| parse(s).ok_or_else(|| ApiError::bad_input(field, format!("{s:?} is not a {what}"))))
        .transpose()
}

#[Object]
impl PlanningQuery {
    /// Who the token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerInfo, Gql> {
        let v = viewer(ctx)?;
        Ok(ViewerInfo {
            role: v.role,
            authority: v.authority.as_ref().map(|a| a.as_str().to_owned()),
        })
    }

    /// The authorities in the store, their districts and planning areas (public geography).
    async fn authorities(&self, ctx: &Context<'_>) -> Result<Vec<AuthorityInfo>, Gql> {
        viewer(ctx)?;
        let models = services(ctx)?.live.now();
        Ok(models
            .mainstream
            .authorities()
            .iter()
            .map(|(code, a)| AuthorityInfo {
                code: code.as_str().to_owned(),
                name: a.name.clone(),
                districts: a
                    .districts
                    .iter()
                    .map(|(d, name)| District {
                        code: d.as_str().to_owned(),
                        name: name.clone(),
                        planning_areas: models
                            .mainstream
                            .planning_areas()
                            .iter()
                            .filter(|(_, (district, _, _))| district == d)
                            .map(|(code, (_, phase, name))| PlanningArea {
                                code: code.as_str().to_owned(),
                                name: name.clone(),
                                phase: phase.code().to_owned(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// January plans per census year of one authority (its own data).
    async fn caseload_history(
        &self,
        ctx: &Context<'_>,
        authority: String,
    ) -> Result<Vec<CaseloadYear>, Gql> {
        let v = viewer(ctx)?;
        let a = self::authority("authority", &authority)?;
        may_read(v, &a)?;
        let live = &services(ctx)?.live;
        let inputs = live.inputs(&live.now());
        let history = inputs
            .send
            .get(&a)
            .ok_or_else(|| ApiError::NotFound(format!("there is no SEN history for {a}")))?;
        Ok(history
            .totals()
            .into_iter()
            .map(|(year, plans)| CaseloadYear {
                year,
                plans: i64::from(plans),
            })
            .collect())
    }

    /// The place sufficiency forecast: rows district x year x phase x kind (x need for
    /// specialist places), with P10 / P50 / P90, capacity, surplus or deficit and cost.
    async fn forecast(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: ForecastFilter,
    ) -> Result<ForecastResult, Gql> {
        let v = viewer(ctx)?;
        let only = filter
            .authority
            .as_deref()
            .map(|s| authority("filter.authority", s))
            .transpose()?;
        match (&only, v.role) {
            (Some(a), _) => may_read(v, a)?,
            (None, Role::Admin) => {}
            (None, _) => {
                return Err(ApiError::Forbidden(
                    "give filter.authority: only admin tokens may read every authority".into(),
                )
                .into());
            }
        }
        let district = filter
            .district
            .as_deref()
            .map(|d| GssCode::parse(d).map_err(|e| ApiError::bad_input("filter.district", e)))
            .transpose()?;
        let phase = parse_opt(
            "filter.phase",
            filter.phase.as_ref(),
            |s| Phase::parse(s).ok(),
            "phase",
        )?;
        let kind = parse_opt(
            "filter.kind",
            filter.kind.as_ref(),
            PlaceKind::parse,
            "kind of place",
        )?;
        let need = parse_opt(
            "filter.need",
            filter.need.as_ref(),
            |s| PrimaryNeed::parse(s).ok(),
            "primary need",
        )?;
        let scenario = filter
            .scenario
            .as_deref()
            .map(|s| ScenarioId::parse(s).map_err(|e| ApiError::bad_input("filter.scenario", e)))
            .transpose()?;
        let s = services(ctx)?;
        let models = s.live.now();
        if let Some(a) = &only
            && !models.mainstream.authorities().contains_key(a)
        {
            return Err(
                ApiError::NotFound(format!("there is no authority {a} in the store")).into(),
            );
        }
        if let Some(id) = &scenario {
            let sc = models
                .scenarios
                .get(id)
                .ok_or_else(|| ApiError::NotFound(format!("there is no scenario {id}")))?;
            may_read(v, &sc.authority)?;
        }
        let f = s
            .live
            .forecast(scenario.as_ref())
            .await
            .map_err(scenario_error)?;
        let keep_a = |a: &AuthorityCode| only.as_ref().is_none_or(|o| o == a);
        let candidates: Box<dyn Iterator<Item = &placeledger_forecast::Row>> = match &district {
            Some(d) => Box::new(f.rows_in(d)),
            None => Box::new(f.rows.iter()),
        };
        let rows = candidates
            .filter(|r| keep_a(&r.authority))
            .filter(|r| district.as_ref().is_none_or(|d| d == &r.district))
            .filter(|r| phase.is_none_or(|p| p == r.phase))
            .filter(|r| kind.is_none_or(|k| k == r.kind))
            .filter(|r| need.is_none_or(|n| Some(n) == r.need))
            .filter(|r| filter.years.as_ref().is_none_or(|y| y.contains(&r.year)))
            .map(|r| ForecastRow::of(r, &models))
            .collect();
        let totals = f
            .totals
            .iter()
            .filter(|t| match (&only, &t.authority) {
                (Some(o), Some(a)) => o == a,
                (Some(_), None) => false,
                (None, _) => true,
            })
            .filter(|t| kind.is_none_or(|k| k == t.kind))
            .filter(|t| filter.years.as_ref().is_none_or(|y| y.contains(&t.year)))
            .map(|t| ForecastTotal {
                authority: t.authority.as_ref().map(|a| a.as_str().to_owned()),
                year: t.year,
                kind: t.kind.code().to_owned(),
                demand: t.demand,
                capacity: t.capacity,
                out_of_county: t.out_of_county,
                annual_cost: t.annual_cost,
            })
            .collect();
        let flags = f
            .flags
            .iter()
            .filter(|(a, _)| keep_a(a))
            .flat_map(|(a, fl)| {
                fl.iter().map(|x| ForecastFlag {
                    authority: a.as_str().to_owned(),
                    flag: x.code().to_owned(),
                })
            })
            .collect();
        Ok(ForecastResult {
            scenario: f.scenario.clone(),
            origin: f.origin,
            years: f.years.clone(),
            runs: f.runs,
            seed: f.seed,
            position: f.position.max(models.position),
            rows,
            totals,
            flags,
        })
    }

    /// Settings with their places, occupancy and vacancies as at a date, filtered, in URN
    /// order, a page at a time (Relay cursor connection; at most 100 a page). Own authority
    /// (admins: any); geography and places are read from one snapshot, so a page of 100 is
    /// no more work than one.
    async fn settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: SettingsFilter,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<Connection<String, SettingInfo>, Gql> {
        use placeledger_domain::{SettingKind, Urn};
        let v = viewer(ctx)?;
        let only = match (filter.authority.as_deref(), v.role) {
            (Some(a), _) => Some(authority("filter.authority", a)?),
            (None, Role::Admin) => None,
            (None, _) => v.authority.clone(),
        };
        match &only {
            Some(a) => may_read(v, a)?,
            None if v.role != Role::Admin => return Err(ApiError::Unauthenticated.into()),
            None => {}
        }
        let district = filter
            .district
            .as_deref()
            .map(|d| GssCode::parse(d).map_err(|e| ApiError::bad_input("filter.district", e)))
            .transpose()?;
        let kind = parse_opt(
            "filter.kind",
            filter.kind.as_ref(),
            |s| SettingKind::parse(s).ok(),
            "setting kind",
        )?;
        let need = parse_opt(
            "filter.need",
            filter.need.as_ref(),
            |s| PrimaryNeed::parse(s).ok(),
            "primary need",
        )?;
        let phase = parse_opt(
            "filter.phase",
            filter.phase.as_ref(),
            |s| Phase::parse(s).ok(),
            "phase",
        )?;
        let first = usize::try_from(first.unwrap_or(50))
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_input("first", "must be 1 to 100"))?;
        let after = after
            .as_deref()
            .map(|c| {
                Urn::parse(c)
                    .map_err(|_| ApiError::bad_input("after", "not a cursor from this connection"))
            })
            .transpose()?;
        let on = filter.on.unwrap_or_else(|| Utc::now().date_naive());
        let year = placeledger_domain::AcademicYear::containing(on);
        let models = services(ctx)?.live.now();
        let mut matching = models
            .capacity
            .settings()
            .iter()
            .filter(|(urn, _)| after.is_none_or(|a| **urn > a))
            .filter(|(_, s)| only.as_ref().is_none_or(|a| a == &s.authority))
            .filter(|(_, s)| district.as_ref().is_none_or(|d| d == &s.district))
            .filter(|(_, s)| kind.is_none_or(|k| k == s.kind))
            .filter(|(_, s)| need.is_none_or(|n| s.designated_needs.contains(&n)))
            .filter(|(_, s)| phase.is_none_or(|p| p == s.phase))
            .filter(|(_, s)| filter.include_closed || s.open_on(on));
        let page: Vec<_> = matching.by_ref().take(first).collect();
        let has_next = matching.next().is_some();
        let mut connection = Connection::new(after.is_some(), has_next);
        for (urn, s) in page {
            let node = SettingInfo {
                urn: urn.to_string(),
                name: s.name.clone(),
                authority: s.authority.as_str().to_owned(),
                district: s.district.as_str().to_owned(),
                planning_area: s.planning_area.as_ref().map(ToString::to_string),
                kind: s.kind.code().to_owned(),
                provision: s.provision().code().to_owned(),
                phase: s.phase.code().to_owned(),
                low_age: i32::from(s.low_age),
                high_age: i32::from(s.high_age),
                designated_needs: s
                    .designated_needs
                    .iter()
                    .map(|n| n.code().to_owned())
                    .collect(),
                open: s.open_on(on),
                net_capacity: s
                    .net_capacity_on(on)
                    .map(|c| c.iter().map(|n| i64::from(n.count)).sum()),
                commissioned_places: s.commissioned_places(year).map(i64::from),
                places: s.places_on(on).map(i64::from),
                occupancy: i64::from(s.occupancy_on(on)),
                vacancies: s.vacancies_on(on),
            };
            connection.edges.push(Edge::new(urn.to_string(), node));
        }
        Ok(connection)
    }

    /// A child's events, oldest first (the child's current home authority only; admins:
    /// any).
    async fn child_history(
        &self,
        ctx: &Context<'_>,
        child: String,
    ) -> Result<Vec<HistoryEvent>, Gql> {
        let v = viewer(ctx)?;
        let id = placeledger_domain::ChildId::parse(&child)
            .map_err(|e| ApiError::bad_input("child", e))?;
        let s = services(ctx)?;
        let models = s.live.now();
        let line = models.caseload.children().get(&id);
        let home = line.and_then(|l| l.homes.last().and_then(|(_, h)| h.clone()));
        match (&home, v.role) {
            (_, Role::Admin) if line.is_some() => {}
            (Some((a, _)), _) if v.reads(a) => {}
            // Not found and not yours look the same: an id tells nothing.
            _ => {
                return Err(
                    ApiError::NotFound(format!("there is no child {id} you may see")).into(),
                );
            }
        }
        Ok(history(s, &format!("child-{id}")).await?)
    }

    /// A setting's events, oldest first (the setting's authority only; admins: any).
    async fn setting_history(
        &self,
        ctx: &Context<'_>,
        urn: String,
    ) -> Result<Vec<HistoryEvent>, Gql> {
        let v = viewer(ctx)?;
        let u = placeledger_domain::Urn::parse(&urn).map_err(|e| ApiError::bad_input("urn", e))?;
        let s = services(ctx)?;
        let models = s.live.now();
        let setting = models
            .capacity
            .setting(u)
            .ok_or_else(|| ApiError::NotFound(format!("there is no setting {u}")))?;
        may_read(v, &setting.authority)?;
        Ok(history(s, &format!("setting-{u}")).await?)
    }

    /// An authority's current placements by any of district, kind, need, NCY and location
    /// class, with imports and exports. Its own readers see every count; a partner its
    /// agreement shares placements with sees them with small numbers withheld (audited).
    async fn placement_summary(
        &self,
        ctx: &Context<'_>,
        authority: String,
        group_by: Vec<PlacementDimension>,
    ) -> Result<PlacementSummary, Gql> {
        let v = viewer(ctx)?;
        let a = self::authority("authority", &authority)?;
        let s = services(ctx)?;
        let models = s.live.now();
        let suppress_small = placements_allowed(v, &models.sharing, &a)?;
        audit(s, v, "placementSummary", &a).await?;
        Ok(placement_summary(&models, &a, &group_by, suppress_small))
    }

    /// The scenarios of an authority (own authority; admins: all, or one).
    async fn scenarios(
        &self,
        ctx: &Context<'_>,
        authority: Option<String>,
    ) -> Result<Vec<ScenarioInfo>, Gql> {
        let v = viewer(ctx)?;
        let only = authority
            .as_deref()
            .map(|a| self::authority("authority", a))
            .transpose()?;
        let only = match (only, v.role) {
            (Some(a), _) => {
                may_read(v, &a)?;
                Some(a)
            }
            (None, Role::Admin) => None,
            (None, _) => {
                let own = v.authority.clone().ok_or(ApiError::Unauthenticated)?;
                may_read(v, &own)?;
                Some(own)
            }
        };
        let models = services(ctx)?.live.now();
        Ok(models
            .scenarios
            .all()
            .iter()
            .filter(|(_, s)| only.as_ref().is_none_or(|a| a == &s.authority))
            .map(|(id, s)| ScenarioInfo {
                id: id.to_string(),
                name: s.name.clone(),
                author: s.author.clone(),
                authority: s.authority.as_str().to_owned(),
                base: s.base.as_ref().map(ToString::to_string),
                created_on: s.created_on,
                levers: s
                    .levers
                    .iter()
                    .map(|l| async_graphql::Json(serde_json::to_value(l).unwrap_or_default()))
                    .collect(),
            })
            .collect())
    }

    /// Runs `scenario` and `against` (none: the baseline) and gives every cell that differs
    /// and the difference in cost per year and over the horizon.
    async fn compare_scenarios(
        &self,
        ctx: &Context<'_>,
        scenario: String,
        against: Option<String>,
    ) -> Result<ScenarioComparison, Gql> {
        let v = viewer(ctx)?;
        let s = services(ctx)?;
        let models = s.live.now();
        let mut ids = Vec::new();
        for (field, name) in [("scenario", Some(&scenario)), ("against", against.as_ref())] {
            let Some(name) = name else {
                ids.push(None);
                continue;
            };
            let id = ScenarioId::parse(name).map_err(|e| ApiError::bad_input(field, e))?;
            let sc = models
                .scenarios
                .get(&id)
                .ok_or_else(|| ApiError::NotFound(format!("there is no scenario {id}")))?;
            may_read(v, &sc.authority)?;
            ids.push(Some(id));
        }
        let other = s
            .live
            .forecast(ids[0].as_ref())
            .await
            .map_err(scenario_error)?;
        let base = s
            .live
            .forecast(ids[1].as_ref())
            .await
            .map_err(scenario_error)?;
        let c = placeledger_forecast::compare(&base, &other);
        Ok(ScenarioComparison {
            scenario,
            against,
            position: models.position,
            changes: c
                .changes
                .iter()
                .map(|x| CellDifference {
                    district: x.district.as_str().to_owned(),
                    year: x.year,
                    phase: x.phase.code().to_owned(),
                    kind: x.kind.code().to_owned(),
                    need: x.need.map(|n| n.code().to_owned()),
                    demand: x.demand,
                    capacity: x.capacity,
                    surplus: x.surplus,
                    out_of_county: x.out_of_county,
                    annual_cost: x.annual_cost,
                    deficit_before: x.deficit_before,
                    deficit_after: x.deficit_after,
                })
                .collect(),
            cost_by_year: c
                .cost_by_year
                .iter()
                .map(|(year, cost)| YearCost {
                    year: *year,
                    annual_cost: *cost,
                })
                .collect(),
            total_cost: c.total_cost,
        })
    }

    /// The forecast's back-test for an authority: from every origin with enough history,
    /// forecast vs actual January caseload, MAPE and bias per horizon, beside the
    /// last-value and compound-growth baselines, and how often the actual fell inside
    /// P10-P90. Own authority (admins: any).
    async fn backtest(
        &self,
        ctx: &Context<'_>,
        authority: String,
        #[graphql(default = 5, validator(minimum = 1, maximum = 10))] horizon: i32,
    ) -> Result<Vec<BacktestLine>, Gql> {
        let v = viewer(ctx)?;
        let a = self::authority("authority", &authority)?;
        may_read(v, &a)?;
        let s = services(ctx)?;
        let b = s
            .live
            .backtest(u8::try_from(horizon).unwrap_or(5))
            .await
            .map_err(scenario_error)?;
        Ok(b.summary
            .iter()
            .filter(|x| x.authority == a)
            .map(|x| BacktestLine {
                authority: x.authority.as_str().to_owned(),
                horizon: i32::from(x.horizon),
                method: x.method.code().to_owned(),
                origins: i32::try_from(x.origins).unwrap_or(i32::MAX),
                mape: x.mape,
                bias: x.bias,
                coverage: x.coverage,
            })
            .collect())
    }

    /// What `authority` shares with the caller's authority under their data-sharing
    /// agreement: its sufficiency forecast by district, phase, kind and year (medians), small
    /// numbers withheld. Partner tokens only see authorities whose agreement names them;
    /// every read is audited.
    async fn shared_place_data(
        &self,
        ctx: &Context<'_>,
        authority: String,
    ) -> Result<SharedPlaceData, Gql> {
        let v = viewer(ctx)?;
        let a = self::authority("authority", &authority)?;
        let s = services(ctx)?;
        let models = s.live.now();
        let today = Utc::now().date_naive();
        shared_allowed(v, &models.sharing, &a, today)?;
        let f = s.live.forecast(None).await.map_err(scenario_error)?;
        let data = shared(&f, &models, &a);
        audit(s, v, "sharedPlaceData", &a).await?;
        Ok(SharedPlaceData {
            authority: a.as_str().to_owned(),
            position: models.position,
            ..data
        })
    }
}

/// Who may see `a`'s placement summary: its own readers in full, a partner its agreement
/// shares `placements` with (suppressed). `Ok(true)` when small numbers must be withheld.
fn placements_allowed(
    v: &Viewer,
    sharing: &placeledger_sharing::Sharing,
    a: &AuthorityCode,
) -> Result<bool, ApiError> {
    if v.reads(a) {
        return Ok(false);
    }
    let today = Utc::now().date_naive();
    let shares = v.role == Role::Partner
        && v.authority
            .as_ref()
            .is_some_and(|p| sharing.shares(a, p, SharedData::Placements, today));
    if shares {
        Ok(true)
    } else {
        Err(ApiError::Forbidden(format!(
            "{a} does not share its placements with this token's authority"
        )))
    }
}

fn placement_summary(
    models: &crate::read::ReadModels,
    a: &AuthorityCode,
    by: &[PlacementDimension],
    suppress_small: bool,
) -> PlacementSummary {
    use placeledger_placements::GroupBy;
    let has = |d| by.contains(&d);
    let group = GroupBy {
        authority: true,
        district: has(PlacementDimension::District),
        kind: has(PlacementDimension::Kind),
        need: has(PlacementDimension::Need),
        ncy: has(PlacementDimension::Ncy),
        location: has(PlacementDimension::Location),
    };
    let year = placeledger_domain::AcademicYear::containing(Utc::now().date_naive());
    let summary: Vec<_> = models
        .placements
        .summary(group, year)
        .into_iter()
        .filter(|(g, _)| g.authority.as_ref() == Some(a))
        .collect();
    let counts: Vec<i64> = summary.iter().map(|(_, n)| i64::from(*n)).collect();
    let (published, total) = if suppress_small {
        suppress::group(&counts)
    } else {
        (
            counts.iter().map(|c| Some(*c)).collect(),
            Some(counts.iter().sum()),
        )
    };
    let (imports, exports) = models
        .placements
        .imports_and_exports()
        .get(a)
        .map_or((0, 0), |(i, e)| (i64::from(*i), i64::from(*e)));
    let small = |v: i64| {
        if suppress_small && suppress::is_small(v) {
            None
        } else {
            Some(v)
        }
    };
    PlacementSummary {
        authority: a.as_str().to_owned(),
        position: models.position,
        cells: summary
            .iter()
            .zip(published)
            .map(|((g, _), count)| PlacementCell {
                district: g.district.as_ref().map(|d| d.as_str().to_owned()),
                kind: g.kind.map(|k| k.code().to_owned()),
                need: g.need.map(|n| n.code().to_owned()),
                ncy: g.ncy.map(|n| n.to_string()),
                location: g.location.map(|l| l.code().to_owned()),
                count,
            })
            .collect(),
        total,
        imports: small(imports),
        exports: small(exports),
        suppressed: suppress_small,
    }
}

/// Every event of `stream`, decoded to the current version of its type.
async fn history(s: &Services, stream: &str) -> Result<Vec<HistoryEvent>, ApiError> {
    let id = placeledger_store::StreamId::parse(stream).map_err(|e| ApiError::internal(&e))?;
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let batch = s
            .store
            .read_stream(&id, after, 1_000)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let Some(last) = batch.last().map(|e| e.stream_version) else {
            break;
        };
        for e in batch {
            let event = placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload)
                .map_err(|err| ApiError::internal(&err))?;
            out.push(HistoryEvent {
                position: e.position,
                version: e.stream_version,
                r#type: e.event_type.clone(),
                recorded_at: e.recorded_at,
                actor: e.metadata.actor.clone(),
                event: async_graphql::Json(
                    serde_json::to_value(&event).map_err(|err| ApiError::internal(&err))?,
                ),
            });
        }
        after = last;
    }
    Ok(out)
}

/// Writes a partner's read of `a`'s shared data to the audit log (other roles read their own).
async fn audit(s: &Services, v: &Viewer, field: &str, a: &AuthorityCode) -> Result<(), ApiError> {
    if v.role != Role::Partner {
        return Ok(());
    }
    s.store
        .record_audit(&AuditEntry {
            token_id: v.token_id.clone(),
            role: v.role.code().to_owned(),
            authority: v.authority.as_ref().map(|x| x.as_str().to_owned()),
            field: field.to_owned(),
            subjects: a.as_str().to_owned(),
        })
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// A partner may see `a`'s shared sufficiency if `a` shares it with the partner's authority
/// today; admins, and `a`'s own planners and analysts, may too.
fn shared_allowed(
    v: &Viewer,
    sharing: &placeledger_sharing::Sharing,
    a: &AuthorityCode,
    today: NaiveDate,
) -> Result<(), ApiError> {
    if v.reads(a) {
        return Ok(());
    }
    let shares = v.role == Role::Partner
        && v.authority
            .as_ref()
            .is_some_and(|p| sharing.shares(a, p, SharedData::Sufficiency, today));
    if shares {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{a} does not share its sufficiency data with this token's authority"
        )))
    }
}

/// `a`'s sufficiency by district x phase x kind x year (all needs, medians), suppressed
/// as a partner sees it.
fn shared(
    f: &placeledger_forecast::Forecast,
    models: &crate::read::ReadModels,
    a: &AuthorityCode,
) -> SharedPlaceData {
    use std::collections::BTreeMap;
    /// (year, phase, kind) -> district -> (demand, capacity)
    type Groups = BTreeMap<(i32, Phase, PlaceKind), BTreeMap<GssCode, (i64, i64)>>;
    let mut groups = Groups::new();
    for r in f
        .rows
        .iter()
        .filter(|r| &r.authority == a && r.need.is_none())
    {
        let cell = groups
            .entry((r.year, r.phase, r.kind))
            .or_default()
            .entry(r.district.clone())
            .or_default();
        cell.0 += r.demand.p50;
        cell.1 += i64::from(r.capacity.unwrap_or(0));
    }
    let mut cells = Vec::new();
    let mut totals = Vec::new();
    for ((year, phase, kind), districts) in groups {
        let demand: Vec<i64> = districts.values().map(|c| c.0).collect();
        let capacity: Vec<i64> = districts.values().map(|c| c.1).collect();
        let (demand_out, demand_total) = suppress::group(&demand);
        let (capacity_out, capacity_total) = suppress::group(&capacity);
        for (i, d) in districts.keys().enumerate() {
            cells.push(SharedCell {
                district: d.as_str().to_owned(),
                district_name: district_name(models, a, d),
                year,
                phase: phase.code().to_owned(),
                kind: kind.code().to_owned(),
                demand: demand_out[i],
                capacity: capacity_out[i],
                suppressed: demand_out[i].is_none() || capacity_out[i].is_none(),
            });
        }
        totals.push(SharedTotal {
            year,
            phase: phase.code().to_owned(),
            kind: kind.code().to_owned(),
            demand: demand_total,
            capacity: capacity_total,
        });
    }
    SharedPlaceData {
        authority: a.as_str().to_owned(),
        position: 0,
        cells,
        totals,
    }
}

/// The subscription root.
#[derive(Debug)]
pub struct SubscriptionRoot;

/// A district's sufficiency under one scenario, as it changes.
#[derive(Debug, SimpleObject)]
#[graphql(complex)]
pub struct SufficiencyUpdate {
    /// The event position the rows reflect.
    pub position: u64,
    pub district: String,
    /// None: the baseline.
    pub scenario: Option<String>,
    /// The district's rows, shared by every subscriber's message (made once per position).
    #[graphql(skip)]
    pub shared_rows: Arc<Vec<ForecastRow>>,
}

#[ComplexObject]
impl SufficiencyUpdate {
    async fn rows(&self) -> &[ForecastRow] {
        &self.shared_rows
    }
}

#[Subscription]
impl SubscriptionRoot {
    /// An authority's placement summary (as the query `placementSummary` gives it), now and
    /// again whenever placements change; each message carries its position; reconnect
    /// with `fromPosition` to get only what changed since.
    async fn placements_changed(
        &self,
        ctx: &Context<'_>,
        authority: String,
        group_by: Vec<PlacementDimension>,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = PlacementSummary> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = self::authority("authority", &authority)?;
        let s = services(ctx)?.clone();
        placements_allowed(&v, &s.live.now().sharing, &a)?;
        audit(&s, &v, "placementsChanged (subscription)", &a).await?;
        let live = s.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (v, a, by) = (v.clone(), a.clone(), group_by.clone());
            async move {
                // Access is checked again: an agreement may have ended.
                let suppress_small = placements_allowed(&v, &models.sharing, &a).ok()?;
                let summary = placement_summary(&models, &a, &by, suppress_small);
                let key = (
                    summary.cells.clone(),
                    summary.total,
                    summary.imports,
                    summary.exports,
                );
                Some((key, summary))
            }
        }))
    }

    /// A district's sufficiency forecast under a scenario (none: the baseline), now and
    /// again whenever events change it: a lever added on any node, capacity recorded, a
    /// placement started. Each message carries the position it reflects; reconnect with
    /// `fromPosition` to get only what changed since. Own authority only (admins: any).
    async fn sufficiency_changed(
        &self,
        ctx: &Context<'_>,
        district: String,
        scenario: Option<String>,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = SufficiencyUpdate> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let d = GssCode::parse(&district).map_err(|e| ApiError::bad_input("district", e))?;
        let scenario = scenario
            .as_deref()
            .map(|x| ScenarioId::parse(x).map_err(|e| ApiError::bad_input("scenario", e)))
            .transpose()?;
        let s = services(ctx)?.clone();
        let models = s.live.now();
        let owner = models
            .mainstream
            .authorities()
            .iter()
            .find(|(_, a)| a.districts.contains_key(&d))
            .map(|(code, _)| code.clone())
            .ok_or_else(|| ApiError::NotFound(format!("there is no district {d} in the store")))?;
        may_read(&v, &owner)?;
        if let Some(id) = &scenario {
            let sc = models
                .scenarios
                .get(id)
                .ok_or_else(|| ApiError::NotFound(format!("there is no scenario {id}")))?;
            may_read(&v, &sc.authority)?;
        }
        let live = s.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, d, scenario) = (s.clone(), d.clone(), scenario.clone());
            async move {
                let (position, rows) =
                    s.district_rows(scenario.as_ref(), &d, &models).await.ok()?;
                let message = SufficiencyUpdate {
                    position,
                    district: d.as_str().to_owned(),
                    scenario: scenario.as_ref().map(ToString::to_string),
                    shared_rows: rows.clone(),
                };
                Some((rows, message))
            }
        }))
    }

    /// `authority`'s shared place data (as the query `sharedPlaceData` gives it), now and
    /// again each time the events change it. Each message carries the event position it
    /// reflects; a client that reconnects with `fromPosition` (the last position it
    /// received) gets the data again only if it has changed since. The same access rules
    /// and suppression as the query; a partner's subscription is audited once, when it
    /// starts.
    async fn shared_place_data(
        &self,
        ctx: &Context<'_>,
        authority: String,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = SharedPlaceData> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = self::authority("authority", &authority)?;
        let s = services(ctx)?.clone();
        let today = Utc::now().date_naive();
        shared_allowed(&v, &s.live.now().sharing, &a, today)?;
        audit(&s, &v, "sharedPlaceData (subscription)", &a).await?;
        let live = s.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, v, a) = (s.clone(), v.clone(), a.clone());
            async move {
                // Access is checked again: an agreement may have ended.
                let today = Utc::now().date_naive();
                shared_allowed(&v, &models.sharing, &a, today).ok()?;
                let f = s.live.forecast(None).await.ok()?;
                let data = shared(&f, &models, &a);
                let message = SharedPlaceData {
                    authority: a.as_str().to_owned(),
                    // What it shows: the forecast may have been made at a later position.
                    position: models.position.max(f.position),
                    ..data
                };
                Some(((message.cells.clone(), message.totals.clone()), message))
            }
        }))
    }
}

/// The stream every subscription is: the answer now (unless the client's `from` position is
/// already current), then again each time the read models move and the answer changes — a new
/// position that changes nothing sends nothing. `answer` gives what is compared and the
/// message; the stream ends when it gives `None` (access withdrawn, a forecast failed), when
/// the server stops, or when the client leaves (the stream is dropped; nothing was spawned).
fn on_change<K, M, F, Fut>(
    live: Live,
    from: Option<u64>,
    answer: F,
) -> impl Stream<Item = M> + Send + 'static
where
    K: PartialEq + Send + 'static,
    M: Send + 'static,
    F: Fn(Arc<crate::read::ReadModels>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<(K, M)>> + Send,
{
    let rx = live.watch();
    let sent = from.unwrap_or(0);
    let last: Option<K> = None;
    futures::stream::unfold(
        (live, answer, rx, sent, last),
        |(live, answer, mut rx, mut sent, mut last)| async move {
            loop {
                let models = live.now();
                if models.position > sent || (sent == 0 && last.is_none()) {
                    sent = models.position;
                    let (key, message) = answer(models).await?;
                    if last.as_ref() != Some(&key) {
                        last = Some(key);
                        return Some((message, (live, answer, rx, sent, last)));
                    }
                    continue;
                }
                rx.changed().await.ok()?;
            }
        },
    )
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
