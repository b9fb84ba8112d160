//! Scenarios: named sets of levers on the forecast, each owned by an authority and built on a
//! base scenario's levers if it has one.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{AuthorityCode, Event, Lever, ScenarioId};
use placeledger_projection::Projection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub author: String,
    pub authority: AuthorityCode,
    pub base: Option<ScenarioId>,
    pub created_on: NaiveDate,
    /// Its own levers, in the order added.
    pub levers: Vec<Lever>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scenarios {
    scenarios: BTreeMap<ScenarioId, Scenario>,
}

impl Projection for Scenarios {
    const NAME: &'static str = "scenarios";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &Event) {
        match event {
            Event::ScenarioCreated {
                scenario,
                name,
                author,
                authority,
                base,
                created_on,
            } => {
                self.scenarios.insert(
                    scenario.clone(),
                    Scenario {
                        name: name.clone(),
                        author: author.clone(),
                        authority: authority.clone(),
                        base: base.clone(),
                        created_on: *created_on,
                        levers: Vec::new(),
                    },
                );
            }
            Event::ScenarioLeverAdded { scenario, lever } => {
                if let Some(s) = self.scenarios.get_mut(scenario) {
                    s.levers.push(lever.clone());
                }
            }
            Event::ScenarioLeverRemoved { scenario, index } => {
                if let Some(s) = self.scenarios.get_mut(scenario) {
                    let i = *index as usize;
                    if i < s.levers.len() {
                        s.levers.remove(i);
                    }
                }
            }
            _ => {}
        }
    }
}

impl Scenarios {
    pub fn get(&self, id: &ScenarioId) -> Option<&Scenario> {
        self.scenarios.get(id)
    }

    pub fn all(&self) -> &BTreeMap<ScenarioId, Scenario> {
        &self.scenarios
    }

    /// Every lever a scenario applies: its base's (recursively) first, then its own. `None`
    /// if there is no such scenario.
    pub fn levers(&self, id: &ScenarioId) -> Option<Vec<Lever>> {
        let mut chain = Vec::new();
        let mut next = Some(id.clone());
        while let Some(current) = next {
            if chain.contains(&current) {
                break; // the domain forbids cycles; a stored one cannot loop us
            }
            let s = self.scenarios.get(&current)?;
            next = s.base.clone();
            chain.push(current);
        }
        Some(
            chain
                .iter()
                .rev()
                .filter_map(|c| self.scenarios.get(c))
                .flat_map(|s| s.levers.iter().cloned())
                .collect(),
        )
    }
}
