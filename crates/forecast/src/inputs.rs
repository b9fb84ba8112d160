//! What a forecast is made from: the January history of plans, population, capacity, costs and
//! who shares places with whom. Built from the projections by `from_projections`, or by hand
//! in tests.

use std::collections::{BTreeMap, BTreeSet};

use placeledger_domain::{
    AuthorityCode, GssCode, Phase, PlanningAreaCode, PrimaryNeed, ProvisionKind,
};
use rust_decimal::Decimal;

use crate::kind::{AGES, PlaceKind};
use crate::mainstream::{Housing, MainstreamArea};

/// A child-level January cell: resident district, academic age, primary need.
pub type SendKey = (GssCode, u8, PrimaryNeed);

/// An authority and its districts (GSS code to name), in the order they are reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Authority {
    pub name: String,
    pub districts: BTreeMap<GssCode, String>,
}

/// A placement type's annual cost on record, and the authority's children in it on the
/// latest January.
pub type CostBasis = (ProvisionKind, Decimal, u32);

/// Children's placements counted by resident district, phase and kind of place.
pub type PlaceCell = (GssCode, Phase, PlaceKind);

/// January plans of an authority that records children: stocks and the flows between them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildHistory {
    /// Plans in force on each January census (by calendar year of the January).
    pub january: BTreeMap<i32, BTreeMap<SendKey, u32>>,
    /// Plans in force on January `t` that were newly issued since January `t-1` (not taken
    /// over from another authority), keyed as on January `t`.
    pub new_plans: BTreeMap<i32, BTreeMap<SendKey, u32>>,
    /// Plans in force on January `t-1` that ceased before January `t`, by academic age on
    /// January `t-1`; keyed by `t`.
    pub ceased: BTreeMap<i32, BTreeMap<u8, u32>>,
    /// Where the plans in force each January were placed, by phase, need and kind of place.
    pub placements: BTreeMap<i32, BTreeMap<(Phase, PrimaryNeed, PlaceKind), u32>>,
    /// Where the children of each January are placed, by resident district, phase and kind
    /// of place: `[in the authority, in another registered authority, elsewhere]` (the
    /// setting's location; a child not at a setting counts as in the authority). Children
    /// keep their placement until they leave their phase: the forecast meets them where they
    /// are.
    pub located: BTreeMap<i32, BTreeMap<PlaceCell, [u32; 3]>>,
    /// DfE's published Januaries after the last one the child-level log holds (the yearly
    /// release comes before the authority's children are brought up to date): the forecast
    /// starts from the latest, its children aged on a year and scaled to it.
    pub published: BTreeMap<i32, PublishedJanuary>,
}

/// A January as DfE published it: the total, and plans by age band `(from, to)` inclusive
/// where the release breaks them down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishedJanuary {
    pub total: u32,
    pub ages: BTreeMap<(u8, u8), u32>,
}

/// An authority known only by its SEN2 tables: totals per January, and whatever breakdowns
/// were published (each a separate table, as SEN2 publishes them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableHistory {
    pub totals: BTreeMap<i32, u32>,
    /// Plans by age band `(from, to)` inclusive.
    pub ages: BTreeMap<i32, BTreeMap<(u8, u8), u32>>,
    pub needs: BTreeMap<i32, BTreeMap<PrimaryNeed, u32>>,
    pub kinds: BTreeMap<i32, BTreeMap<PlaceKind, u32>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendHistory {
    Children(ChildHistory),
    Tables(TableHistory),
}

impl SendHistory {
    /// January plans per year: from the children, or the published totals.
    pub fn totals(&self) -> BTreeMap<i32, u32> {
        match self {
            SendHistory::Children(c) => c
                .january
                .iter()
                .map(|(y, cells)| (*y, cells.values().sum()))
                .chain(c.published.iter().map(|(y, p)| (*y, p.total)))
                .collect(),
            SendHistory::Tables(t) => t.totals.clone(),
        }
    }

    /// The same history with only the Januaries up to and including `last`.
    pub fn up_to(&self, last: i32) -> SendHistory {
        fn cut<V: Clone>(m: &BTreeMap<i32, V>, last: i32) -> BTreeMap<i32, V> {
            m.range(..=last).map(|(k, v)| (*k, v.clone())).collect()
        }
        match self {
            SendHistory::Children(c) => SendHistory::Children(ChildHistory {
                january: cut(&c.january, last),
                new_plans: cut(&c.new_plans, last),
                ceased: cut(&c.ceased, last),
                placements: cut(&c.placements, last),
                located: cut(&c.located, last),
                published: cut(&c.published, last),
            }),
            SendHistory::Tables(t) => SendHistory::Tables(TableHistory {
                totals: cut(&t.totals, last),
                ages: cut(&t.ages, last),
                needs: cut(&t.needs, last),
                kinds: cut(&t.kinds, last),
            }),
        }
    }
}

/// Resident population by area, mid-year and single year of age 0-25 (ONS estimates and
/// projections).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Population {
    pub by_area: BTreeMap<GssCode, BTreeMap<i32, [f64; AGES]>>,
}

impl Population {
    pub fn insert(&mut self, area: &GssCode, year: i32, age: usize, persons: f64) {
        if age < AGES {
            self.by_area
                .entry(area.clone())
                .or_default()
                .entry(year)
                .or_insert([0.0; AGES])[age] = persons;
        }
    }

    /// The population of `area` in mid-`year`. After the last year recorded, each cohort
    /// ages on a year at a time (the youngest age is held): a projection made only from what
    /// was known then. `None` before the first year or for an unknown area.
    pub fn at(&self, area: &GssCode, year: i32) -> Option<[f64; AGES]> {
        let years = self.by_area.get(area)?;
        if let Some(p) = years.get(&year) {
            return Some(*p);
        }
        let (last, p) = years.range(..year).next_back()?;
        let mut p = *p;
        for _ in *last..year {
            for a in (1..AGES).rev() {
                p[a] = p[a - 1];
            }
        }
        Some(p)
    }

    /// The same population with only the years up to and including `last`.
    pub fn up_to(&self, last: i32) -> Population {
        Population {
            by_area: self
                .by_area
                .iter()
                .map(|(a, ys)| {
                    (
                        a.clone(),
                        ys.range(..=last).map(|(y, p)| (*y, *p)).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// Places of one kind and phase in one district, each January.
pub type CapacityKey = (GssCode, PlaceKind, Phase);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub authorities: BTreeMap<AuthorityCode, Authority>,
    pub send: BTreeMap<AuthorityCode, SendHistory>,
    pub population: Population,
    /// Places available on each January (net capacity for mainstream, commissioned places
    /// for the rest), by district of the setting. A year after the last one recorded keeps
    /// the last figure.
    pub capacity: BTreeMap<CapacityKey, BTreeMap<i32, u32>>,
    /// Annual cost of a place of each kind, per authority.
    pub costs: BTreeMap<(AuthorityCode, PlaceKind), Decimal>,
    /// What each kind's cost is made from: the placement types' annual costs on record and
    /// the authority's children in each on the latest January (the weights).
    pub cost_basis: BTreeMap<(AuthorityCode, PlaceKind), Vec<CostBasis>>,
    /// The price base of each authority's costs: the financial year (by its starting
    /// calendar year: 2025 is 2025-26) of the latest cost on record.
    pub price_base: BTreeMap<AuthorityCode, i32>,
    /// `(provider, partner)`: `provider` lets `partner` place children in its spare
    /// commissioned places (the sharing agreement).
    pub sharing: BTreeSet<(AuthorityCode, AuthorityCode)>,
    /// Mainstream planning areas: rolls and net capacity by NCY.
    pub mainstream: BTreeMap<PlanningAreaCode, MainstreamArea>,
    /// Housing completions and pupil yields by district.
    pub housing: BTreeMap<GssCode, Housing>,
    /// England's plans each January (DfE's national figure): the trend every authority's
    /// forecast total follows where it is known (see [`crate::model`]).
    pub england: BTreeMap<i32, u32>,
    /// An authority's children in each kind of place by academic age on the latest January:
    /// how a setting's places are shared over the phases of the ages it takes (an all-through
    /// special school's places go where its children are, not evenly over its ages).
    pub age_profile: BTreeMap<(AuthorityCode, PlaceKind), [f64; AGES]>,
}

impl Inputs {
    /// What was known before 1 January `origin`: Januaries up to `origin - 1`, population up
    /// to mid-`origin - 1` (aged on after that). Capacity and costs are kept: they are plans
    /// the authority had made.
    pub fn before(&self, origin: i32) -> Inputs {
        Inputs {
            authorities: self.authorities.clone(),
            send: self
                .send
                .iter()
                .map(|(a, h)| (a.clone(), h.up_to(origin - 1)))
                .collect(),
            population: self.population.up_to(origin - 1),
            capacity: self.capacity.clone(),
            costs: self.costs.clone(),
            cost_basis: self.cost_basis.clone(),
            price_base: self.price_base.clone(),
            sharing: self.sharing.clone(),
            mainstream: self
                .mainstream
                .iter()
                .map(|(k, a)| {
                    let mut a = a.clone();
                    a.rolls.retain(|y, _| *y < origin);
                    (k.clone(), a)
                })
                .collect(),
            housing: self
                .housing
                .iter()
                .map(|(k, h)| {
                    let mut h = h.clone();
                    h.dwellings.retain(|y, _| *y < origin);
                    (k.clone(), h)
                })
                .collect(),
            england: self
                .england
                .range(..origin)
                .map(|(y, n)| (*y, *n))
                .collect(),
            age_profile: self.age_profile.clone(),
        }
    }

    /// Places of `key` on January `year`: the figure for that year, else the latest before.
    pub fn places(&self, key: &CapacityKey, year: i32) -> Option<u32> {
        self.capacity
            .get(key)?
            .range(..=year)
            .next_back()
            .map(|(_, n)| *n)
    }
}
