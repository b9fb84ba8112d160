//! The read models a server answers from: every projection, folded to one position and kept
//! there as events commit (on this node or another), and the forecasts made from them, made
//! once per basis and cached.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use placeledger_domain::{GssCode, ScenarioId};
use placeledger_forecast::from_projections::ScenarioError;
use placeledger_forecast::{Backtest, Forecast, ForecastError, Inputs, Options, Row};
use placeledger_store::{EventStore, subscribe};
use tokio::sync::watch;

use crate::read::{ReadError, ReadModels};

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

    /// The indices of one district's rows in `forecast.rows`, in order.
    pub fn indices_in(&self, district: &GssCode) -> &[usize] {
        self.by_district.get(district).map_or(&[], Vec::as_slice)
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

    /// `models`, kept up to date from now on: a task follows the log on `store` (see
    /// [`Live::follow`]) for as long as the runtime runs.
    pub fn following(models: ReadModels, store: Arc<dyn EventStore>) -> Self {
        let live = Live::new(models);
        tokio::spawn(live.clone().follow(store));
        live
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
                        let e = placeledger_codec::decode_at(s.stored_form())?;
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
        // A scenario's other authorities are the baseline's: made (or found) first, before
        // this forecast takes its turn.
        let baseline = match scenario {
            Some(_) => Some(Box::pin(self.forecast(None)).await?),
            None => None,
        };
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
            let f = models.forecast_on(
                inputs,
                scenario.as_ref(),
                &Options::default(),
                // Made from these very read models, or made again here.
                baseline
                    .as_ref()
                    .filter(|b| b.position == models.position)
                    .map(|b| &b.forecast),
            )?;
            Ok::<_, ScenarioRunError>(Made::new(f, position))
        })
        .await
        .map_err(|e| ScenarioRunError::Internal(e.to_string()))??;
        let made = Arc::new(made);
        if let Ok(mut c) = self.forecasts.write() {
            c.insert(key, (basis, made.clone()));
        }
        Ok(made)
    }

    /// The forecast of `scenario` at `prices`: the cached one at the price base, or one made
    /// for the request (with its own baseline at the same prices), one at a time.
    pub async fn forecast_priced(
        &self,
        scenario: Option<&ScenarioId>,
        prices: &placeledger_forecast::Prices,
    ) -> Result<Arc<Made>, ScenarioRunError> {
        if prices.is_default() {
            return self.forecast(scenario).await;
        }
        let _making = self.making.lock().await;
        let models = self.now();
        models.basis(scenario)?;
        let position = models.position;
        let (live, scenario, prices) = (self.clone(), scenario.cloned(), prices.clone());
        let made = tokio::task::spawn_blocking(move || {
            let inputs = (*live.inputs(&models)).clone();
            let options = Options {
                inflation: prices.inflation,
                transport: prices.transport,
                ..Options::default()
            };
            let f = models.forecast_on(inputs, scenario.as_ref(), &options, None)?;
            Ok::<_, ScenarioRunError>(Made::new(f, position))
        })
        .await
        .map_err(|e| ScenarioRunError::Internal(e.to_string()))??;
        Ok(Arc::new(made))
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
