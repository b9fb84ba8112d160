//! The read side: every projection, declared once in [`read_models!`], folded to one
//! position. Catch-up, rebuild, status and the API's levelled snapshot all iterate that one
//! list.

use std::collections::BTreeSet;
use std::sync::Arc;

use placeledger_capacity::Capacity;
use placeledger_caseload::{Caseload, census_day};
use placeledger_costs::Costs;
use placeledger_domain::{AuthorityCode, Event, GssCode, ScenarioId};
use placeledger_forecast::from_projections::{Projections, apply_scenario, inputs};
use placeledger_forecast::{Forecast, Inputs, Options};
use placeledger_mainstream::Mainstream;
use placeledger_placements::Placements;
use placeledger_projection::Projection;
use placeledger_runner::RunnerError;
use placeledger_scenarios::Scenarios;
use placeledger_sharing::Sharing;
use placeledger_store::{EventStore, Pages, StoreError};

use crate::live::{Basis, ScenarioRunError};

/// Tells the caller how far each projection has come: `(name, position, head)`.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] placeledger_codec::StoredDecodeError),
    #[error("there is no projection {name:?}; the projections are: {}", PROJECTIONS.join(", "))]
    NoSuchProjection { name: String },
}

/// How a projection is brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From its saved checkpoint (rebuilt if the saved state is of another shape).
    CatchUp,
    /// From position 0, whatever is saved.
    Rebuild,
}

/// What one run of one projection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionRun {
    pub name: &'static str,
    /// Where it started (0 for a rebuild) and the position it has folded to.
    pub from: u64,
    pub position: u64,
    /// Whether a saved state was set aside (another shape version, or unreadable).
    pub rebuilt: bool,
}

async fn run_one<P: Projection>(
    store: &Arc<dyn EventStore>,
    mode: Mode,
    progress: Progress<'_>,
) -> Result<(P, ProjectionRun), RunnerError> {
    let tick = |p, h| progress(P::NAME, p, h);
    let run = match mode {
        Mode::CatchUp => placeledger_runner::catch_up::<P>(store, tick).await?,
        Mode::Rebuild => placeledger_runner::rebuild::<P>(store, tick).await?,
    };
    let report = ProjectionRun {
        name: P::NAME,
        from: run.from,
        position: run.position,
        rebuilt: run.rebuilt,
    };
    Ok((run.projection, report))
}

/// Declares the read models once: the struct with a field per projection, the list of their
/// names, loading them levelled at one position, running one by name, and folding an event
/// into each.
macro_rules! read_models {
    ($($field:ident: $ty:ty),+ $(,)?) => {
        /// Every projection, folded to `position`.
        #[derive(Debug, Clone, Default)]
        pub struct ReadModels {
            pub position: u64,
            /// The position of the last event that can change the forecast's inputs: every
            /// event but a scenario's own (a lever changes a scenario, not the data under it).
            pub inputs_position: u64,
            $(pub $field: $ty,)+
        }

        /// Every projection's name, in the order they are brought up to date.
        pub const PROJECTIONS: &[&str] = &[$(<$ty as Projection>::NAME),+];

        /// Brings the projection `name` up to date (or rebuilds it), saving its checkpoint.
        pub async fn run_projection(
            store: &Arc<dyn EventStore>,
            name: &str,
            mode: Mode,
            progress: Progress<'_>,
        ) -> Result<ProjectionRun, ReadError> {
            $(
                if name == <$ty as Projection>::NAME {
                    return Ok(run_one::<$ty>(store, mode, progress).await?.1);
                }
            )+
            Err(ReadError::NoSuchProjection { name: name.to_owned() })
        }

        impl ReadModels {
            /// Brings every projection up to the head from its saved checkpoint (saving as it
            /// goes, so the next start is quick), then levels them at one position.
            pub async fn load(
                store: &Arc<dyn EventStore>,
                progress: Progress<'_>,
            ) -> Result<Self, ReadError> {
                let mut at = Vec::new();
                $(
                    let ($field, run) = run_one::<$ty>(store, Mode::CatchUp, progress).await?;
                    at.push(run.position);
                )+
                let mut models = ReadModels { position: 0, inputs_position: 0, $($field,)+ };
                models.level(store, &at).await?;
                Ok(models)
            }

            /// Folds `event` into the projections `behind(i)` says have not seen it (`i` in
            /// the order of [`PROJECTIONS`]).
            fn apply_where(&mut self, event: &Event, mut behind: impl FnMut(usize) -> bool) {
                let mut i = 0;
                $(
                    if behind(i) {
                        self.$field.apply(event);
                    }
                    i += 1;
                )+
                let _ = i;
            }
        }
    };
}

read_models! {
    caseload: Caseload,
    capacity: Capacity,
    mainstream: Mainstream,
    costs: Costs,
    sharing: Sharing,
    scenarios: Scenarios,
    placements: Placements,
}

impl ReadModels {
    /// Levels projections that stopped at the positions `at` (in [`PROJECTIONS`] order): those
    /// behind fold what the others have already seen.
    async fn level(&mut self, store: &Arc<dyn EventStore>, at: &[u64]) -> Result<(), ReadError> {
        let top = at.iter().copied().max().unwrap_or(0);
        let mut from = at.iter().copied().min().unwrap_or(0);
        let mut pages = Pages::new(store, from, 5_000);
        while from < top
            && let Some(batch) = pages.next().await?
        {
            for stored in batch.iter().filter(|e| e.position <= top) {
                let event = placeledger_codec::decode_at(stored.stored_form())?;
                self.apply_where(&event, |i| at.get(i).is_some_and(|a| stored.position > *a));
            }
            from = batch.last().map_or(top, |e| e.position);
        }
        self.position = top;
        // Not known without reading the log: the first inputs made are cached at `top`.
        self.inputs_position = top;
        Ok(())
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

    /// A district's name as its authority registered it (its code if unknown).
    pub fn district_name(&self, a: &AuthorityCode, d: &GssCode) -> String {
        self.mainstream
            .authorities()
            .get(a)
            .and_then(|x| x.districts.get(d))
            .cloned()
            .unwrap_or_else(|| d.as_str().to_owned())
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

    /// The capital cost of the places `scenario` adds, less that of the places `against`
    /// adds (its base, or another scenario), at the rates in `seeds/reference`.
    pub fn capital_cost(
        &self,
        scenario: &ScenarioId,
        against: Option<&ScenarioId>,
    ) -> placeledger_forecast::CapitalCost {
        let rates = placeledger_forecast::capital_rates();
        let of = |id: &ScenarioId| {
            self.scenarios
                .levers(id)
                .map(|l| placeledger_forecast::capital_cost(&l, &self.capacity, &rates))
                .unwrap_or_default()
        };
        let mut cost = of(scenario);
        if let Some(base) = against {
            cost.total -= of(base).total;
        }
        cost
    }

    /// The forecast of `scenario` (`None`: the baseline) on `inputs` made from these read
    /// models. A scenario is its authority's: every other authority's cells are the
    /// baseline's ([`Forecast::scoped_to`]), taken from `baseline` when it is given (made with
    /// the same options) and made here when not.
    pub fn forecast_on(
        &self,
        inputs: Inputs,
        scenario: Option<&ScenarioId>,
        options: &Options,
        baseline: Option<&Forecast>,
    ) -> Result<Forecast, ScenarioRunError> {
        let Some(id) = scenario else {
            return Ok(placeledger_forecast::forecast(&inputs, options)?);
        };
        let made;
        let baseline = match baseline {
            Some(b) => b,
            None => {
                made = placeledger_forecast::forecast(&inputs, options)?;
                &made
            }
        };
        let (inputs, options) = self.scenario_on(inputs, Some(id), options)?;
        let f = placeledger_forecast::forecast(&inputs, &options)?;
        Ok(match &options.levers.owner {
            Some(owner) => f.scoped_to(owner, baseline),
            None => f,
        })
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
        let (Some(owner), Some(levers)) = (
            self.scenarios.get(id).map(|s| s.authority.clone()),
            self.scenarios.levers(id),
        ) else {
            return Err(ScenarioRunError::NotFound(id.to_string()));
        };
        let levers = apply_scenario(&mut inputs, &self.capacity, &owner, &levers)?;
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
