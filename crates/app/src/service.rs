//! The use cases a node serves, free of any transport: the API's resolvers and the CLI call
//! these. Each checks who is asking first, reads one snapshot, and audits what a partner
//! reads or is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, ChildId, Event, GssCode, Phase, PlanningAreaCode, PrimaryNeed,
    ScenarioId, SettingKind, SharedData, Urn,
};
use placeledger_forecast::{CellKey, Explanation, Flag, MainstreamRow, PlaceKind, Row, Total};
use placeledger_placements::GroupBy;
use placeledger_store::{EventStore, StoredEvent, StreamId};

use crate::access::{Role, Sight, Viewer, may_read, may_see_shared};
use crate::commands::Commands;
use crate::disclosure::{self, PlacementSummary, Publication, SharedPlaceData};
use crate::error::AppError;
use crate::live::{Live, Made, ScenarioRunError};
use crate::read::ReadModels;
use crate::storage::{AccessStore, AuditEntry, Backend, StoredPublication};

/// Whose track record a back-test answers for.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackScope {
    Authority(AuthorityCode),
    /// Every authority in the store, pooled (over these origins only, if given).
    All {
        origins: Option<Vec<i32>>,
    },
}

/// One method's errors at one horizon: one authority's over its origins, or pooled.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRecordLine {
    /// `None`: pooled over every authority.
    pub authority: Option<AuthorityCode>,
    pub horizon: u8,
    pub method: placeledger_forecast::Method,
    /// The origins (last Januaries seen) the errors come from.
    pub origins: Vec<i32>,
    /// Forecasts scored.
    pub forecasts: usize,
    pub authorities: usize,
    pub mape: f64,
    /// Pooled lines only.
    pub median_ape: Option<f64>,
    pub bias: f64,
    pub coverage: Option<f64>,
    /// The spread of the model's misses the ranges are sized on (pooled lines only).
    pub spread: Option<f64>,
}

/// Everything a node's use cases share.
#[derive(Debug, Clone)]
pub struct Service {
    pub store: Arc<dyn EventStore>,
    pub access: Arc<dyn AccessStore>,
    pub live: Live,
    pub commands: Commands,
    pub publisher: Arc<Publisher>,
}

/// How often authorities' figures are republished to partners, and this node's copy of the
/// current publications (the stored ones are the truth; see [`disclosure`]).
#[derive(Debug)]
pub struct Publisher {
    every: Duration,
    current: Mutex<HashMap<AuthorityCode, Arc<Publication>>>,
    making: tokio::sync::Mutex<()>,
}

impl Publisher {
    /// The default period: a day (publications start at midnight UTC).
    pub const DAILY: Duration = Duration::from_secs(86_400);

    pub fn new(every: Duration) -> Self {
        Publisher {
            every: every.max(Duration::from_secs(1)),
            current: Mutex::new(HashMap::new()),
            making: tokio::sync::Mutex::new(()),
        }
    }

    fn seconds(&self) -> i64 {
        i64::try_from(self.every.as_secs()).unwrap_or(i64::MAX)
    }

    /// The publication period now: whole periods since 1970-01-01T00:00Z.
    pub fn period_now(&self) -> i64 {
        chrono::Utc::now().timestamp().div_euclid(self.seconds())
    }

    /// How long until the next period starts.
    pub fn until_next(&self) -> Duration {
        let now = chrono::Utc::now();
        let next = (now.timestamp().div_euclid(self.seconds()) + 1) * self.seconds();
        let ms = (next * 1000 - now.timestamp_millis()).max(1);
        Duration::from_millis(u64::try_from(ms).unwrap_or(1))
    }

    fn cached(&self, a: &AuthorityCode, period: i64) -> Option<Arc<Publication>> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.get(a).filter(|p| p.period == period).cloned()
    }

    fn keep(&self, p: Arc<Publication>) {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.insert(p.authority.clone(), p);
    }
}

/// What a caller narrows a list of districts' figures to (`None`: all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Narrowing {
    pub authority: Option<AuthorityCode>,
    pub district: Option<GssCode>,
    pub phase: Option<Phase>,
    pub need: Option<PrimaryNeed>,
}

/// One stored event of a stream (as stored: position, version, type, when, who) and the
/// event itself, decoded to the current version of its type.
pub type HistoryEntry = (StoredEvent, Event);

/// The sufficiency forecast a caller asks for: narrowed (the authority required unless the
/// caller is an administrator), of a kind of place, some years, a scenario (`None`: the
/// baseline).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForecastQuery {
    pub narrowing: Narrowing,
    pub kind: Option<PlaceKind>,
    pub years: Option<Vec<i32>>,
    pub scenario: Option<ScenarioId>,
    /// Inflation and transport (default: the price base, no transport).
    pub prices: placeledger_forecast::Prices,
}

/// The mainstream forecast narrowed to an authority, district, phase and years.
#[derive(Debug, Clone, Default)]
pub struct MainstreamQuery {
    pub narrowing: Narrowing,
    pub planning_area: Option<PlanningAreaCode>,
    pub years: Option<Vec<i32>>,
}

/// The mainstream rows a caller asked for, and the read models they are named from.
#[derive(Debug)]
pub struct MainstreamAnswer {
    pub origin: i32,
    pub rows: Vec<MainstreamRow>,
    pub models: Arc<ReadModels>,
}

/// The part of a forecast a caller asked for: its rows (read in place from the cached
/// forecast), totals and flags, and the read models it is shown with.
#[derive(Debug)]
pub struct ForecastAnswer {
    pub forecast: Arc<Made>,
    pub models: Arc<ReadModels>,
    rows: Vec<usize>,
    pub totals: Vec<Total>,
    /// Plans in force per authority asked for and January: their ranges.
    pub caseload: Vec<(AuthorityCode, i32, placeledger_forecast::Range)>,
    pub flags: Vec<(AuthorityCode, Flag)>,
}

impl ForecastAnswer {
    /// The rows asked for, in the forecast's order.
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter_map(|i| self.forecast.forecast.rows.get(*i))
    }

    /// The event position the answer reflects (the forecast may have been made later).
    pub fn position(&self) -> u64 {
        self.forecast.position.max(self.models.position)
    }
}

/// The settings a caller asks for: narrowed (no authority: the caller's own; administrators:
/// every authority; the need: settings designated for it), of a kind, as at a date, closed
/// ones too or not.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsQuery {
    pub narrowing: Narrowing,
    pub kind: Option<SettingKind>,
    pub on: NaiveDate,
    pub include_closed: bool,
}

/// A page of settings in URN order, with the read models they are read from.
#[derive(Debug)]
pub struct SettingsPage {
    pub models: Arc<ReadModels>,
    pub urns: Vec<Urn>,
    /// Whether more settings match after the page.
    pub has_next: bool,
}

impl Service {
    /// The use cases of a node on `backend`, answering from `live`.
    pub fn new(backend: Backend, live: Live) -> Self {
        Service {
            commands: Commands::new(backend.events.clone(), Some(live.clone())),
            store: backend.events,
            access: backend.access,
            live,
            publisher: Arc::new(Publisher::new(Publisher::DAILY)),
        }
    }

    /// The same, republishing partners' figures every `every` instead of daily.
    #[must_use]
    pub fn publishing_every(mut self, every: Duration) -> Self {
        self.publisher = Arc::new(Publisher::new(every));
        self
    }

    /// `a`'s publication for the current period: this node's copy, or the stored one, or
    /// (the first node to ask in the period) made now from the read models and stored.
    pub async fn publication(&self, a: &AuthorityCode) -> Result<Arc<Publication>, AppError> {
        let period = self.publisher.period_now();
        if let Some(p) = self.publisher.cached(a, period) {
            return Ok(p);
        }
        let _making = self.publisher.making.lock().await;
        if let Some(p) = self.publisher.cached(a, period) {
            return Ok(p);
        }
        let stored = match self.access.publication(a, Some(period)).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let previous = self
                    .access
                    .publication(a, None)
                    .await
                    .map_err(|e| AppError::internal(&e))?
                    .map(|s| decode(&s))
                    .transpose()?;
                let models = self.live.now();
                let f = self.live.forecast(None).await.ok();
                let p = disclosure::publish(
                    &models,
                    f.as_deref().map(|m| &m.forecast),
                    a,
                    period,
                    previous.as_ref(),
                    this_year(),
                );
                let body = serde_json::to_string(&p).map_err(|e| AppError::internal(&e))?;
                self.access
                    .insert_publication(&StoredPublication {
                        authority: a.clone(),
                        period,
                        position: p.position,
                        body,
                    })
                    .await
                    .map_err(|e| AppError::internal(&e))?;
                tracing::info!(
                    authority = %a, period, position = p.position, withheld = p.withheld,
                    secondary = p.secondary, "published figures to partners"
                );
                // Another node may have stored the period first: serve what is stored.
                self.access
                    .publication(a, Some(period))
                    .await
                    .map_err(|e| AppError::internal(&e))?
                    .ok_or(AppError::Internal)?
            }
            Err(e) => return Err(AppError::internal(&e)),
        };
        let p = Arc::new(decode(&stored)?);
        self.publisher.keep(p.clone());
        Ok(p)
    }

    /// Writes a partner's read of `a`'s shared data to the audit log (other roles read their
    /// own), with what was asked (`arguments`).
    pub async fn audit(
        &self,
        v: &Viewer,
        field: &str,
        a: &AuthorityCode,
        arguments: &str,
    ) -> Result<(), AppError> {
        self.audit_outcome(v, field, a.as_str(), arguments, "read")
            .await
    }

    /// Writes a partner's refused request to the audit log, then gives back the refusal.
    pub async fn refused(
        &self,
        v: &Viewer,
        field: &str,
        subject: &str,
        arguments: &str,
        e: AppError,
    ) -> AppError {
        let outcome = format!("refused: {}", e.code());
        match self
            .audit_outcome(v, field, subject, arguments, &outcome)
            .await
        {
            Ok(()) => e,
            Err(audit) => audit,
        }
    }

    /// Writes a partner's refused request to the audit log, by the code it was given.
    pub async fn audit_refusal(
        &self,
        v: &Viewer,
        field: &str,
        subject: &str,
        arguments: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let outcome = format!("refused: {code}");
        self.audit_outcome(v, field, subject, arguments, &outcome)
            .await
    }

    async fn audit_outcome(
        &self,
        v: &Viewer,
        field: &str,
        subject: &str,
        arguments: &str,
        outcome: &str,
    ) -> Result<(), AppError> {
        if v.role != Role::Partner {
            return Ok(());
        }
        self.access
            .record_audit(&AuditEntry {
                token_id: v.token_id.clone(),
                role: v.role.code().to_owned(),
                authority: v.authority.as_ref().map(|x| x.as_str().to_owned()),
                field: field.to_owned(),
                subjects: subject.to_owned(),
                arguments: arguments.to_owned(),
                outcome: outcome.to_owned(),
            })
            .await
            .map_err(|e| AppError::internal(&e))
    }

    /// `a`'s current placements grouped `by`: its own readers see every count, live; a
    /// partner its agreement shares placements with sees the current publication's table of
    /// that grouping (audited as `field`, refusals too).
    pub async fn placement_summary(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        by: GroupBy,
        field: &str,
    ) -> Result<PlacementSummary, AppError> {
        let args = format!("groupBy={}", disclosure::cube::name(by));
        match self.placement_summary_of(v, a, by).await {
            Ok(s) => {
                self.audit(v, field, a, &args).await?;
                Ok(s)
            }
            Err(e) => Err(self.refused(v, field, a.as_str(), &args, e).await),
        }
    }

    async fn placement_summary_of(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        by: GroupBy,
    ) -> Result<PlacementSummary, AppError> {
        let models = self.live.now();
        let what = SharedData::Placements;
        match may_see_shared(v, &models.sharing, a, what, disclosure::today())? {
            Sight::Own => Ok(disclosure::placement_summary(&models, a, by, this_year())),
            Sight::Partner => self
                .publication(a)
                .await?
                .placement_summary(by)
                .ok_or_else(unpublished),
        }
    }

    /// [`Service::placement_summary`] again for an authority's own reader's subscription, on
    /// later read models: access is checked again (`None`: it has ended), not audited.
    pub fn placement_summary_again(
        &self,
        v: &Viewer,
        models: &ReadModels,
        a: &AuthorityCode,
        by: GroupBy,
    ) -> Option<PlacementSummary> {
        let what = SharedData::Placements;
        match may_see_shared(v, &models.sharing, a, what, disclosure::today()).ok()? {
            Sight::Own => Some(disclosure::placement_summary(models, a, by, this_year())),
            Sight::Partner => None,
        }
    }

    /// A partner's next message of a subscription to `a`'s published `what`: access checked
    /// again (`Err`: refused, audited as `field`), then the current publication.
    pub async fn published_again(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        what: SharedData,
        field: &str,
    ) -> Result<Arc<Publication>, AppError> {
        let models = self.live.now();
        if let Err(e) = may_see_shared(v, &models.sharing, a, what, disclosure::today()) {
            return Err(self.refused(v, field, a.as_str(), "", e).await);
        }
        self.publication(a).await
    }

    /// What `a` shares with the caller's authority under their agreement: its sufficiency
    /// forecast by district, phase, kind and year (medians), protected: for a partner, the
    /// current publication's. Every partner read and refusal is audited as `field`.
    pub async fn shared_place_data(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        field: &str,
    ) -> Result<SharedPlaceData, AppError> {
        match self.shared_place_data_of(v, a).await {
            Ok(s) => {
                self.audit(v, field, a, "").await?;
                Ok(s)
            }
            Err(e) => Err(self.refused(v, field, a.as_str(), "", e).await),
        }
    }

    async fn shared_place_data_of(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
    ) -> Result<SharedPlaceData, AppError> {
        let models = self.live.now();
        let what = SharedData::Sufficiency;
        match may_see_shared(v, &models.sharing, a, what, disclosure::today())? {
            Sight::Partner => self
                .publication(a)
                .await?
                .shared
                .clone()
                .ok_or(AppError::Unavailable),
            Sight::Own => {
                let f = self.live.forecast(None).await.map_err(scenario_error)?;
                let position = models.position.max(f.position);
                let none = std::collections::BTreeMap::new();
                Ok(disclosure::shared_place_data(&f, &models, a, position, &none).0)
            }
        }
    }

    /// [`Service::shared_place_data`] again for an authority's own reader's subscription:
    /// access checked again, not audited; `None` when access has ended or the forecast failed.
    pub async fn shared_place_data_again(
        &self,
        v: &Viewer,
        models: &ReadModels,
        a: &AuthorityCode,
    ) -> Option<SharedPlaceData> {
        let what = SharedData::Sufficiency;
        match may_see_shared(v, &models.sharing, a, what, disclosure::today()).ok()? {
            Sight::Own => {
                let f = self.live.forecast(None).await.ok()?;
                let position = models.position.max(f.position);
                let none = std::collections::BTreeMap::new();
                Some(disclosure::shared_place_data(&f, models, a, position, &none).0)
            }
            Sight::Partner => None,
        }
    }

    /// A partner may subscribe to `a`'s shared data if it could read it now; the start of a
    /// subscription is audited as `field`.
    pub async fn may_subscribe(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        what: SharedData,
        field: &str,
    ) -> Result<Sight, AppError> {
        match may_see_shared(v, &self.live.now().sharing, a, what, disclosure::today()) {
            Ok(sight) => {
                self.audit(v, field, a, "subscribe").await?;
                Ok(sight)
            }
            Err(e) => Err(self.refused(v, field, a.as_str(), "subscribe", e).await),
        }
    }

    /// The sufficiency forecast narrowed by `q`: an authority's own readers see it (admins:
    /// any, or every authority), of the baseline or of a scenario of an authority they read.
    pub async fn forecast(
        &self,
        v: &Viewer,
        q: &ForecastQuery,
    ) -> Result<ForecastAnswer, AppError> {
        let n = &q.narrowing;
        may_read_forecast(v, n.authority.as_ref())?;
        let models = self.live.now();
        known_authority(&models, n.authority.as_ref())?;
        readable_scenario(v, &models, q.scenario.as_ref())?;
        let made = self
            .live
            .forecast_priced(q.scenario.as_ref(), &q.prices)
            .await
            .map_err(scenario_error)?;
        let year = |y: i32| q.years.as_ref().is_none_or(|ys| ys.contains(&y));
        let authority = |a: &AuthorityCode| n.authority.as_ref().is_none_or(|o| o == a);
        let candidates: Vec<usize> = match &n.district {
            Some(d) => made.indices_in(d).to_vec(),
            None => (0..made.forecast.rows.len()).collect(),
        };
        let rows = candidates
            .into_iter()
            .filter(|i| {
                made.forecast.rows.get(*i).is_some_and(|r| {
                    authority(&r.authority)
                        && n.district.as_ref().is_none_or(|d| d == &r.district)
                        && n.phase.is_none_or(|p| p == r.phase)
                        && q.kind.is_none_or(|k| k == r.kind)
                        && n.need.is_none_or(|n| Some(n) == r.need)
                        && year(r.year)
                })
            })
            .collect();
        let totals = made
            .forecast
            .totals
            .iter()
            .filter(|t| match (&n.authority, &t.authority) {
                (Some(o), Some(a)) => o == a,
                (Some(_), None) => false,
                (None, _) => true,
            })
            .filter(|t| q.kind.is_none_or(|k| k == t.kind) && year(t.year))
            .cloned()
            .collect();
        let flags = made
            .forecast
            .flags
            .iter()
            .filter(|(a, _)| authority(a))
            .flat_map(|(a, fl)| fl.iter().map(|f| (a.clone(), *f)))
            .collect();
        let caseload = made
            .forecast
            .caseload
            .iter()
            .filter(|(a, _)| authority(a))
            .flat_map(|(a, years)| {
                years
                    .iter()
                    .filter(|(y, _)| year(**y))
                    .map(|(y, r)| (a.clone(), *y, *r))
            })
            .collect();
        Ok(ForecastAnswer {
            forecast: made,
            models,
            rows,
            totals,
            caseload,
            flags,
        })
    }

    /// How one cell of the sufficiency forecast (of the baseline, or of `scenario`) was made:
    /// an authority's own readers may ask (admins: any).
    pub async fn explain_forecast_cell(
        &self,
        v: &Viewer,
        key: &CellKey,
        scenario: Option<&ScenarioId>,
    ) -> Result<(Explanation, Arc<ReadModels>), AppError> {
        may_read_forecast(v, Some(&key.authority))?;
        let models = self.live.now();
        readable_scenario(v, &models, scenario)?;
        let made = self.live.forecast(scenario).await.map_err(scenario_error)?;
        let inputs = (*self.live.inputs(&models)).clone();
        let (inputs, options) = models
            .scenario_on(inputs, scenario, &placeledger_forecast::Options::default())
            .map_err(scenario_error)?;
        let explanation = placeledger_forecast::explain(&made.forecast, &inputs, &options, key)
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "the forecast has no cell for {} in {} in January {}, {} {} places",
                    key.authority,
                    key.district,
                    key.year,
                    key.phase.code(),
                    key.kind
                ))
            })?;
        Ok((explanation, models))
    }

    /// The mainstream pupil forecast per planning area narrowed by `q` (the baseline's):
    /// an authority's own readers see it (admins: any, or every authority).
    pub async fn mainstream_forecast(
        &self,
        v: &Viewer,
        q: &MainstreamQuery,
    ) -> Result<MainstreamAnswer, AppError> {
        let n = &q.narrowing;
        may_read_forecast(v, n.authority.as_ref())?;
        let models = self.live.now();
        known_authority(&models, n.authority.as_ref())?;
        let made = self.live.forecast(None).await.map_err(scenario_error)?;
        let mainstream = &made.forecast.mainstream;
        let origin = mainstream
            .iter()
            .map(|r| r.year - 1)
            .min()
            .unwrap_or(made.forecast.origin);
        let rows = mainstream
            .iter()
            .filter(|r| {
                n.authority.as_ref().is_none_or(|a| a == &r.authority)
                    && n.district.as_ref().is_none_or(|d| d == &r.district)
                    && n.phase.is_none_or(|p| p == r.phase)
                    && q.planning_area
                        .as_ref()
                        .is_none_or(|p| p == &r.planning_area)
                    && q.years.as_ref().is_none_or(|ys| ys.contains(&r.year))
            })
            .cloned()
            .collect();
        Ok(MainstreamAnswer {
            origin,
            rows,
            models,
        })
    }

    /// The forecast's track record over `horizon` years (see [`TrackScope`]): for one
    /// authority, its errors per horizon and method over every origin; for all, the errors
    /// pooled over every authority in the store (aggregates of published January totals: any
    /// reader but a partner, whose agreement shares only its partners' projections).
    pub async fn backtest(
        &self,
        v: &Viewer,
        scope: &TrackScope,
        horizon: u8,
    ) -> Result<Vec<TrackRecordLine>, AppError> {
        match scope {
            TrackScope::Authority(a) => may_read(v, a)?,
            TrackScope::All { .. } if v.role == Role::Partner => {
                return Err(AppError::Forbidden(
                    "a partner token reads only what its data-sharing agreements share, not \
                     the track record over every authority"
                        .into(),
                ));
            }
            TrackScope::All { .. } => {}
        }
        let b = self.live.backtest(horizon).await.map_err(scenario_error)?;
        match scope {
            TrackScope::Authority(a) => Ok(b
                .summary
                .iter()
                .filter(|x| &x.authority == a)
                .map(|x| TrackRecordLine {
                    authority: Some(x.authority.clone()),
                    horizon: x.horizon,
                    method: x.method,
                    origins: b
                        .rows
                        .iter()
                        .filter(|r| {
                            &r.authority == a && r.horizon == x.horizon && r.method == x.method
                        })
                        .map(|r| r.origin)
                        .collect(),
                    forecasts: x.origins,
                    authorities: 1,
                    mape: x.mape,
                    median_ape: None,
                    bias: x.bias,
                    coverage: x.coverage,
                    spread: None,
                })
                .collect()),
            TrackScope::All { origins } => {
                if let Some(o) = origins.iter().flatten().find(|o| !b.origins.contains(o)) {
                    return Err(AppError::bad_input(
                        "origins",
                        format!(
                            "{o} cannot be back-tested; the origins with enough history are {:?}",
                            b.origins
                        ),
                    ));
                }
                let chosen = origins.clone().unwrap_or_else(|| b.origins.clone());
                Ok(placeledger_forecast::pooled(&b, Some(&chosen))
                    .into_iter()
                    .map(|p| TrackRecordLine {
                        authority: None,
                        horizon: p.horizon,
                        method: p.method,
                        origins: chosen.clone(),
                        forecasts: p.forecasts,
                        authorities: p.authorities,
                        mape: p.mape,
                        median_ape: Some(p.median_ape),
                        bias: p.bias,
                        coverage: p.coverage,
                        spread: p.spread,
                    })
                    .collect())
            }
        }
    }

    /// The forecasts the back-test scored for authority `a`: every origin, horizon and
    /// method, each beside the January that came (and the model's P10-P90), in origin, year
    /// and method order. The same rows as `forecast backtest --csv`.
    pub async fn backtest_forecasts(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        horizon: u8,
    ) -> Result<Vec<placeledger_forecast::BacktestRow>, AppError> {
        may_read(v, a)?;
        let models = self.live.now();
        known_authority(&models, Some(a))?;
        let b = self.live.backtest(horizon).await.map_err(scenario_error)?;
        let mut rows: Vec<_> = b
            .rows
            .iter()
            .filter(|r| &r.authority == a)
            .cloned()
            .collect();
        rows.sort_by_key(|r| (r.origin, r.year, r.method));
        Ok(rows)
    }

    /// The High Needs Block view of each authority the caller asks for (admins: every
    /// authority in the forecast when none is named): spend per financial year from the
    /// forecast (of the baseline, or of `scenario`, at `prices`), the allocation (one carried
    /// forward grown by `allocation_growth` a year) and the DSG balance.
    pub async fn high_needs(
        &self,
        v: &Viewer,
        authority: Option<&AuthorityCode>,
        scenario: Option<&ScenarioId>,
        prices: &placeledger_forecast::Prices,
        allocation_growth: f64,
    ) -> Result<(Vec<placeledger_forecast::HighNeeds>, Arc<ReadModels>), AppError> {
        if !(-0.2..=0.5).contains(&allocation_growth) {
            return Err(AppError::bad_input(
                "allocationGrowthPercent",
                format!(
                    "{}%: must be from -20 to 50 percent a year",
                    allocation_growth * 100.0
                ),
            ));
        }
        may_read_forecast(v, authority)?;
        let models = self.live.now();
        known_authority(&models, authority)?;
        readable_scenario(v, &models, scenario)?;
        let made = self
            .live
            .forecast_priced(scenario, prices)
            .await
            .map_err(scenario_error)?;
        let authorities: Vec<AuthorityCode> = match authority {
            Some(a) => vec![a.clone()],
            None => made.forecast.caseload.keys().cloned().collect(),
        };
        let views = authorities
            .iter()
            .map(|a| {
                placeledger_forecast::high_needs_with(
                    &made.forecast,
                    a,
                    &models.costs.funding(a),
                    allocation_growth,
                )
            })
            .collect();
        Ok((views, models))
    }

    /// The settings `q` selects, in URN order, `first` of them after `after`: the caller's
    /// own authority's (administrators: any).
    pub fn settings(
        &self,
        v: &Viewer,
        q: &SettingsQuery,
        after: Option<Urn>,
        first: usize,
    ) -> Result<SettingsPage, AppError> {
        let n = &q.narrowing;
        let only = match (&n.authority, v.role) {
            (Some(a), _) => Some(a.clone()),
            (None, Role::Admin) => None,
            (None, _) => v.authority.clone(),
        };
        match &only {
            Some(a) => may_read(v, a)?,
            None if v.role != Role::Admin => return Err(AppError::Unauthenticated),
            None => {}
        }
        let models = self.live.now();
        let mut matching = models
            .capacity
            .settings()
            .iter()
            .filter(|(urn, _)| after.is_none_or(|a| **urn > a))
            .filter(|(_, s)| only.as_ref().is_none_or(|a| a == &s.authority))
            .filter(|(_, s)| n.district.as_ref().is_none_or(|d| d == &s.district))
            .filter(|(_, s)| q.kind.is_none_or(|k| k == s.kind))
            .filter(|(_, s)| n.need.is_none_or(|n| s.designated_needs.contains(&n)))
            .filter(|(_, s)| n.phase.is_none_or(|p| p == s.phase))
            .filter(|(_, s)| q.include_closed || s.open_on(q.on))
            .map(|(urn, _)| *urn);
        let urns: Vec<Urn> = matching.by_ref().take(first).collect();
        let has_next = matching.next().is_some();
        Ok(SettingsPage {
            models,
            urns,
            has_next,
        })
    }

    /// A child's events, oldest first: the child's current home authority only (admins: any).
    /// Not found and not yours look the same: an id tells nothing.
    pub async fn child_history(
        &self,
        v: &Viewer,
        child: &ChildId,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        let models = self.live.now();
        let line = models.caseload.children().get(child);
        let home = line.and_then(|l| l.homes.last().and_then(|(_, h)| h.clone()));
        match (&home, v.role) {
            (_, Role::Admin) if line.is_some() => {}
            (Some((a, _)), _) if v.reads(a) => {}
            _ => {
                return Err(AppError::NotFound(format!(
                    "there is no child {child} you may see"
                )));
            }
        }
        self.history(&format!("child-{child}")).await
    }

    /// A setting's events, oldest first (the setting's authority only; admins: any).
    pub async fn setting_history(
        &self,
        v: &Viewer,
        urn: Urn,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        let models = self.live.now();
        let setting = models
            .capacity
            .setting(urn)
            .ok_or_else(|| AppError::NotFound(format!("there is no setting {urn}")))?;
        may_read(v, &setting.authority)?;
        self.history(&format!("setting-{urn}")).await
    }

    /// Every event of `stream`, decoded to the current version of its type.
    async fn history(&self, stream: &str) -> Result<Vec<HistoryEntry>, AppError> {
        let id = StreamId::parse(stream).map_err(|e| AppError::internal(&e))?;
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self
                .store
                .read_stream(&id, after, 1_000)
                .await
                .map_err(|e| AppError::internal(&e))?;
            let Some(last) = batch.last().map(|e| e.stream_version) else {
                break;
            };
            for e in batch {
                let event = placeledger_codec::decode_at(e.stored_form())
                    .map_err(|err| AppError::internal(&err))?;
                out.push((e, event));
            }
            after = last;
        }
        Ok(out)
    }
}

/// Who may read the forecast of `authority` (`None`: every authority's): its own readers;
/// every authority's, administrators only.
pub fn may_read_forecast(v: &Viewer, authority: Option<&AuthorityCode>) -> Result<(), AppError> {
    match (authority, v.role) {
        (Some(a), _) => may_read(v, a),
        (None, Role::Admin) => Ok(()),
        (None, _) => Err(AppError::Forbidden(
            "give filter.authority: only admin tokens may read every authority".into(),
        )),
    }
}

/// A partner asked for a grouping the cube does not publish.
fn unpublished() -> AppError {
    let names: Vec<String> = disclosure::cube::TABLES
        .iter()
        .map(|t| disclosure::cube::name(*t))
        .collect();
    AppError::bad_input(
        "groupBy",
        format!(
            "partners are published placements grouped by {} only",
            names.join(", ")
        ),
    )
}

/// A stored publication, decoded.
fn decode(s: &StoredPublication) -> Result<Publication, AppError> {
    serde_json::from_str(&s.body).map_err(|e| AppError::internal(&e))
}

/// The academic year of today: placements are counted as they stand now.
fn this_year() -> AcademicYear {
    AcademicYear::containing(disclosure::today())
}

/// A scenario run's error as the caller sees it.
/// An authority asked about by name must be in the store.
fn known_authority(models: &ReadModels, a: Option<&AuthorityCode>) -> Result<(), AppError> {
    match a {
        Some(a) if !models.mainstream.authorities().contains_key(a) => Err(AppError::NotFound(
            format!("there is no authority {a} in the store"),
        )),
        _ => Ok(()),
    }
}

/// A scenario asked about must be one `v` may read: another authority's is reported exactly
/// as one that does not exist.
pub fn readable_scenario(
    v: &Viewer,
    models: &ReadModels,
    scenario: Option<&ScenarioId>,
) -> Result<(), AppError> {
    let Some(id) = scenario else { return Ok(()) };
    let unknown = || AppError::NotFound(format!("there is no scenario {id}"));
    let sc = models.scenarios.get(id).ok_or_else(unknown)?;
    may_read(v, &sc.authority).map_err(|_| unknown())
}

pub fn scenario_error(e: ScenarioRunError) -> AppError {
    match e {
        ScenarioRunError::NotFound(_) => AppError::NotFound(e.to_string()),
        ScenarioRunError::Scenario(_) => AppError::bad_input("scenario", &e),
        ScenarioRunError::Forecast(_) | ScenarioRunError::Internal(_) => AppError::internal(&e),
    }
}
