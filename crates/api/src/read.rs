//! The read models the API answers from: every projection, folded to one position and kept
//! there as events commit (on this node or another), and the forecasts made from them.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use placeledger_capacity::Capacity;
use placeledger_caseload::{Caseload, census_day};
use placeledger_costs::Costs;
use placeledger_domain::GssCode;
use placeledger_domain::{Event, ScenarioId};
use placeledger_forecast::from_projections::{Projections, ScenarioError, apply_scenario, inputs};
use placeledger_forecast::{Backtest, Forecast, ForecastError, Inputs, Options, Row};
use placeledger_mainstream::Mainstream;
use placeledger_placements::Placements;
use placeledger_projection::Projection;
use placeledger_runner::RunnerError;
use placeledger_scenarios::Scenarios;
use placeledger_sharing::Sharing;
use placeledger_store::{EventStore, Pages, StoreError, subscribe};
use tokio::sync::watch;

/// Every projection, folded to `position`.
#[derive(Debug, Clone, Default)]
pub struct ReadModels {
    pub position: u64,
    /// The position of the last event that can change the forecast's inputs: every event
    /// but a scenario's own (a lever changes a scenario, not the data under it).
    pub inputs_position: u64,
    pub caseload: Caseload,
    pub capacity: Capacity,
    pub mainstream: Mainstream,
    pub costs: Costs,
    pub sharing: Sharing,
    pub scenarios: Scenarios,
    pub placements: Placements,
}

/// Tells the caller how far each projection has come: `(name, position, head)`.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("decoding the event at position {position}")]
    Decode {
        position: u64,
        #[source]
        source: placeledger_codec::CodecError,
    },
}

async fn run<P: Projection>(
    store: &Arc<dyn EventStore>,
    progress: Progress<'_>,
) -> Result<(P, u64), RunnerError> {
    let run = placeledger_runner::catch_up::<P>(store, |p, h| progress(P::NAME, p, h)).await?;
    Ok((run.projection, run.position))
}

impl ReadModels {
    /// Brings every projection up to the head from its saved checkpoint (saving as it goes,
    /// so the next start is quick), then levels them at one position.
    pub async fn load(
        store: &Arc<dyn EventStore>,
        progress: Progress<'_>,
    ) -> Result<Self, ReadError> {
        let (caseload, p0) = run::<Caseload>(store, progress).await?;
        let (capacity, p1) = run::<Capacity>(store, progress).await?;
        let (mainstream, p2) = run::<Mainstream>(store, progress).await?;
        let (costs, p3) = run::<Costs>(store, progress).await?;
        let (sharing, p4) = run::<Sharing>(store, progress).await?;
        let (scenarios, p5) = run::<Scenarios>(store, progress).await?;
        let (placements, p6) = run::<Placements>(store, progress).await?;
        let at = [p0, p1, p2, p3, p4, p5, p6];
        let mut models = ReadModels {
            position: at.iter().copied().min().unwrap_or(0),
            // Not known without reading the log: the first inputs made are cached at `top`.
            inputs_position: at.iter().copied().max().unwrap_or(0),
            caseload,
            capacity,
            mainstream,
            costs,
            sharing,
            scenarios,
            placements,
        };
        // Those that stopped earlier fold what the others have already seen.
        let mut from = models.position;
        let top = at.iter().copied().max().unwrap_or(0);
        let mut pages = Pages::new(store, from, 5_000);
        while from < top
            && let Some(batch) = pages.next().await?
        {
            for stored in batch.iter().filter(|e| e.position <= top) {
                let event = decode(stored)?;
                models.apply_where(&event, |i| stored.position > at[i]);
            }
            from = batch.last().map_or(top, |e| e.position);
        }
        models.position = top;
        Ok(models)
    }

    fn apply_where(&mut self, event: &Event, mut behind: impl FnMut(usize) -> bool) {
        if behind(0) {
            self.caseload.apply(event);
        }
        if behind(1) {
            self.capacity.apply(event);
        }
        if behind(2) {
            self.mainstream.apply(event);
        }
        if behind(3) {
            self.costs.apply(event);
        }
        if behind(4) {
            self.sharing.apply(event);
        }
        if behind(5) {
            self.scenarios.apply(event);
        }
        if behind(6) {
            self.placements.apply(event);
        }
    }

    /// Folds one event into every projection.
    pub fn apply(&mut self, position: u64, event: &Event) {
        self.apply_where(event, |_| true);
        self.position = position;
        if !matches!(
            event,
            Event::ScenarioCreated { .. }
                | Event::ScenarioLeverAdded { .. }
                | Event::ScenarioLeverRemoved { .. }
        ) {
            self.inputs_position = position;
        }
    }

    /// The forecast inputs. Partners may use each other's spare places where an agreement in
    /// force on the first forecast January says so.
    pub fn inputs(&self) -> Inputs {
        let mut inputs = inputs(
            Projections {
                caseload: &self.caseload,
                capacity: &self.capacity,
                mainstream: &self.mainstream,
                costs: &self.costs,
            },
            BTreeSet::new(),
        );
        if let Some(last) = placeledger_forecast::latest_january(&inputs) {
            inputs.sharing = self.sharing.spare_places(census_day(last + 1));
        }
        inputs
    }

    /// What the forecast of `scenario` is made from at this position.
    pub fn basis(&self, scenario: Option<&ScenarioId>) -> Result<Basis, ScenarioRunError> {
        let levers = scenario
            .map(|id| {
                self.scenarios
                    .levers(id)
                    .ok_or_else(|| ScenarioRunError::NotFound(id.to_string()))
            })
            .transpose()?;
        Ok(Basis {
            inputs_position: self.inputs_position,
            levers,
        })
    }

    /// The inputs and options of `scenario` (`None`: the baseline).
    pub fn scenario(
        &self,
        scenario: Option<&ScenarioId>,
        options: &Options,
    ) -> Result<(Inputs, Options), ScenarioRunError> {
        self.scenario_on(self.inputs(), scenario, options)
    }

    /// [`ReadModels::scenario`] on inputs already made from these read models.
    pub fn scenario_on(
        &self,
        mut inputs: Inputs,
        scenario: Option<&ScenarioId>,
        options: &Options,
    ) -> Result<(Inputs, Options), ScenarioRunError> {
        let Some(id) = scenario else {
            return Ok((inputs, options.clone()));
        };
        let levers = self
            .scenarios
            .levers(id)
            .ok_or_else(|| ScenarioRunError::NotFound(id.to_string()))?;
        let levers = apply_scenario(&mut inputs, &self.capacity, &levers)?;
        Ok((
            inputs,
            Options {
                levers,
                scenario: Some(id.to_string()),
                ..options.clone()
            },
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioRunError {
    #[error("there is no scenario {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    #[error("the forecast task failed: {0}")]
    Internal(String),
}

fn decode(stored: &placeledger_store::StoredEvent) -> Result<Event, ReadError> {
    placeledger_codec::decode(&stored.event_type, stored.schema_version, &stored.payload).map_err(
        |source| ReadError::Decode {
            position: stored.position,
            source,
        },
    )
}

/// A forecast as the API serves it: the forecast, and its rows indexed by district so a
/// district's query reads only its own rows.
#[derive(Debug)]
pub struct Made {
    pub forecast: Forecast,
    /// The read models' position the forecast was made at (it stays right for later
    /// positions with the same [`Basis`]).
    pub position: u64,
    by_district: HashMap<GssCode, Vec<usize>>,
}

impl Made {
    fn new(forecast: Forecast, position: u64) -> Self {
        let mut by_district: HashMap<GssCode, Vec<usize>> = HashMap::new();
        for (i, r) in forecast.rows.iter().enumerate() {
            by_district.entry(r.district.clone()).or_default().push(i);
        }
        Made {
            forecast,
            position,
            by_district,
        }
    }

    /// The rows of one district, in the forecast's order.
    pub fn rows_in<'a>(&'a self, district: &GssCode) -> impl Iterator<Item = &'a Row> + 'a {
        self.by_district
            .get(district)
            .into_iter()
            .flatten()
            .filter_map(|i| self.forecast.rows.get(*i))
    }
}

impl std::ops::Deref for Made {
    type Target = Forecast;
    fn deref(&self) -> &Forecast {
        &self.forecast
    }
}

/// What a forecast is made from: the position of the last event that changed the data under
/// it, and the scenario's levers (its bases' first; `None`: the baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub inputs_position: u64,
    pub levers: Option<Vec<placeledger_domain::Lever>>,
}

/// The last forecast of each scenario (`None`: the baseline), with its basis.
type ForecastCache = HashMap<Option<ScenarioId>, (Basis, Arc<Made>)>;

/// The last inputs made, with the inputs position they are of.
type InputsCache = Option<(u64, Arc<Inputs>)>;

/// The last back-test of each horizon, with the inputs position it is of.
type BacktestCache = HashMap<u8, (u64, Arc<Backtest>)>;

/// The read models shared by every request, kept up to date by [`Live::follow`].
#[derive(Debug, Clone)]
pub struct Live {
    models: Arc<RwLock<Arc<ReadModels>>>,
    position: watch::Sender<u64>,
    /// The last forecast of each scenario (`None`: the baseline) and the position it is of:
    /// read without waiting; `making` lets one request make a missing one while the others
    /// wait for it.
    forecasts: Arc<RwLock<ForecastCache>>,
    making: Arc<tokio::sync::Mutex<()>>,
    /// The last back-test per horizon and the position it is of.
    backtests: Arc<tokio::sync::Mutex<BacktestCache>>,
    /// The forecast inputs, made once per [`ReadModels::inputs_position`]: a scenario's lever
    /// does not make them again.
    inputs: Arc<RwLock<InputsCache>>,
}

impl Live {
    pub fn new(models: ReadModels) -> Self {
        let (position, _) = watch::channel(models.position);
        Self {
            models: Arc::new(RwLock::new(Arc::new(models))),
            position,
            forecasts: Arc::default(),
            making: Arc::default(),
            backtests: Arc::default(),
            inputs: Arc::default(),
        }
    }

    /// The forecast inputs of `models`, from the cache when no event since the last ones
    /// made could change them.
    pub fn inputs(&self, models: &ReadModels) -> Arc<Inputs> {
        if let Ok(c) = self.inputs.read()
            && let Some((at, inputs)) = c.as_ref()
            && *at == models.inputs_position
        {
            return inputs.clone();
        }
        let inputs = Arc::new(models.inputs());
        if let Ok(mut c) = self.inputs.write() {
            *c = Some((models.inputs_position, inputs.clone()));
        }
        inputs
    }

    /// The read models as of now: a snapshot that later events do not change.
    pub fn now(&self) -> Arc<ReadModels> {
        match self.models.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The position the read models have folded to; changes as events are folded.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.position.subscribe()
    }

    /// Waits until the read models have folded `position` (a write this node just made), for
    /// at most `limit`. `false` if they have not by then.
    pub async fn wait_for(&self, position: u64, limit: std::time::Duration) -> bool {
        let mut rx = self.watch();
        tokio::time::timeout(limit, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Folds every event committed after the read models' position, as it commits, until
    /// the store fails (then resumes from where it was after a pause). Never returns.
    pub async fn follow(self, store: Arc<dyn EventStore>) {
        loop {
            let from = self.now().position;
            let mut events = subscribe(store.clone(), from).ready_chunks(1_000);
            while let Some(chunk) = events.next().await {
                let mut next = (*self.now()).clone();
                let mut failed = false;
                for item in chunk {
                    match item.map_err(ReadError::from).and_then(|s| {
                        let e = decode(&s)?;
                        Ok((s.position, e))
                    }) {
                        Ok((position, event)) => next.apply(position, &event),
                        Err(e) => {
                            tracing::error!(error = %e, "following the event log");
                            failed = true;
                            break;
                        }
                    }
                }
                let position = next.position;
                match self.models.write() {
                    Ok(mut m) => *m = Arc::new(next),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
                }
                self.position.send_replace(position);
                if failed {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    /// The forecast of `scenario` as of the read models' position: made once per basis (the
    /// data under it and the scenario's levers), then served from memory. Another planner's
    /// scenario changing makes nothing again.
    pub async fn forecast(
        &self,
        scenario: Option<&ScenarioId>,
    ) -> Result<Arc<Made>, ScenarioRunError> {
        let key = scenario.cloned();
        let cached = |models: &ReadModels| -> Result<Option<Arc<Made>>, ScenarioRunError> {
            let basis = models.basis(scenario)?;
            Ok(self.forecasts.read().ok().and_then(|c| {
                c.get(&key)
                    .filter(|(b, _)| *b == basis)
                    .map(|(_, f)| f.clone())
            }))
        };
        if let Some(f) = cached(&self.now())? {
            return Ok(f);
        }
        // One forecast made at a time: concurrent requests for it wait, then find it made.
        let _making = self.making.lock().await;
        let models = self.now();
        if let Some(f) = cached(&models)? {
            return Ok(f);
        }
        let basis = models.basis(scenario)?;
        let position = models.position;
        let (live, scenario) = (self.clone(), scenario.cloned());
        let made = tokio::task::spawn_blocking(move || {
            let inputs = (*live.inputs(&models)).clone();
            let (inputs, options) =
                models.scenario_on(inputs, scenario.as_ref(), &Options::default())?;
            Ok::<_, ScenarioRunError>(Made::new(
                placeledger_forecast::forecast(&inputs, &options)?,
                position,
            ))
        })
        .await
        .map_err(|e| ScenarioRunError::Internal(e.to_string()))??;
        let made = Arc::new(made);
        if let Ok(mut c) = self.forecasts.write() {
            c.insert(key, (basis, made.clone()));
        }
        Ok(made)
    }

    /// The back-test over `horizon` years as of the read models' position (made once per
    /// position; it runs a forecast per origin).
    pub async fn backtest(&self, horizon: u8) -> Result<Arc<Backtest>, ScenarioRunError> {
        let mut cache = self.backtests.lock().await;
        let models = self.now();
        if let Some((at, b)) = cache.get(&horizon)
            && *at == models.inputs_position
        {
            return Ok(b.clone());
        }
        let inputs = self.inputs(&models);
        let b = tokio::task::spawn_blocking(move || {
            placeledger_forecast::backtest(&inputs, horizon, &Options::default())
        })
        .await
        .map_err(|e| ScenarioRunError::Internal(e.to_string()))?;
        let b = Arc::new(b);
        cache.insert(horizon, (models.inputs_position, b.clone()));
        Ok(b)
    }
}
