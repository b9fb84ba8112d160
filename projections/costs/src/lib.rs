//! Costs: the annual cost of a place of each kind of provision, per authority, from the date
//! each was set; and each authority's High Needs Block allocations and DSG balances by
//! financial year. Money is `Decimal`, never floating point.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{AuthorityCode, Event, FundingStatus, ProvisionKind};
use placeledger_projection::Projection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Per authority and kind: the cost from each date on.
    schedule: BTreeMap<AuthorityCode, BTreeMap<ProvisionKind, BTreeMap<NaiveDate, Decimal>>>,
    /// Per authority and financial year (2025: April 2025 to March 2026): its High Needs
    /// funding figures.
    #[serde(default)]
    funding: BTreeMap<AuthorityCode, BTreeMap<i32, FundingYear>>,
}

/// One funding figure: the amount, how final it is and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingFigure {
    pub amount: Decimal,
    pub status: FundingStatus,
    pub source: String,
}

/// An authority's High Needs funding figures for one financial year.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingYear {
    /// The High Needs Block allocation.
    pub allocation: Option<FundingFigure>,
    /// The cumulative DSG balance on 31 March at the year's end (negative: a deficit).
    pub dsg_balance: Option<FundingFigure>,
}

impl Projection for Costs {
    const NAME: &'static str = "costs";
    /// v2: High Needs funding (allocations and DSG balances).
    const VERSION: u32 = 2;

    fn apply(&mut self, event: &Event) {
        match event {
            Event::PlacementCostSet {
                authority,
                kind,
                from,
                annual_cost,
            } => {
                self.schedule
                    .entry(authority.clone())
                    .or_default()
                    .entry(*kind)
                    .or_default()
                    .insert(*from, annual_cost.amount());
            }
            Event::HighNeedsFundingRecorded {
                authority,
                financial_year,
                allocation,
                dsg_balance,
                status,
                source,
            } => {
                let year = self
                    .funding
                    .entry(authority.clone())
                    .or_default()
                    .entry(*financial_year)
                    .or_default();
                let figure = |amount: Decimal| FundingFigure {
                    amount,
                    status: *status,
                    source: source.clone(),
                };
                if let Some(a) = allocation {
                    year.allocation = Some(figure(a.amount()));
                }
                if let Some(b) = dsg_balance {
                    year.dsg_balance = Some(figure(*b));
                }
            }
            _ => {}
        }
    }
}

impl Costs {
    /// `authority`'s High Needs funding figures per financial year (empty: none on record).
    pub fn funding(&self, authority: &AuthorityCode) -> BTreeMap<i32, FundingYear> {
        self.funding.get(authority).cloned().unwrap_or_default()
    }
}

impl Costs {
    /// The annual cost of a place of `kind` for `authority` in force on `on`.
    pub fn annual_cost(
        &self,
        authority: &AuthorityCode,
        kind: ProvisionKind,
        on: NaiveDate,
    ) -> Option<Decimal> {
        self.schedule
            .get(authority)?
            .get(&kind)?
            .range(..=on)
            .next_back()
            .map(|(_, c)| *c)
    }

    /// Every cost in force on `on`, per authority and kind.
    /// The date the latest cost of each authority took effect from: the price base of its
    /// costs.
    pub fn price_dates(&self) -> BTreeMap<AuthorityCode, NaiveDate> {
        self.schedule
            .iter()
            .filter_map(|(a, kinds)| {
                let latest = kinds.values().filter_map(|d| d.keys().next_back()).max()?;
                Some((a.clone(), *latest))
            })
            .collect()
    }

    pub fn on(&self, on: NaiveDate) -> BTreeMap<(AuthorityCode, ProvisionKind), Decimal> {
        let mut out = BTreeMap::new();
        for (authority, kinds) in &self.schedule {
            for (kind, dated) in kinds {
                if let Some((_, c)) = dated.range(..=on).next_back() {
                    out.insert((authority.clone(), *kind), *c);
                }
            }
        }
        out
    }
}

/// The annual cost of current placements, per paying (resident) authority and kind: how many
/// are placed and, where the authority has a cost on record on `on`, what they cost a year.
pub type PlacementCosts = BTreeMap<(AuthorityCode, ProvisionKind), (u32, Option<Decimal>)>;

impl Costs {
    /// Prices `placed` (resident authority and kind of each current placement) at the costs
    /// in force on `on`.
    pub fn annual_cost_of(
        &self,
        placed: impl IntoIterator<Item = (AuthorityCode, ProvisionKind)>,
        on: NaiveDate,
    ) -> PlacementCosts {
        let mut out: PlacementCosts = BTreeMap::new();
        for (authority, kind) in placed {
            let cost = self.annual_cost(&authority, kind, on);
            let e = out
                .entry((authority, kind))
                .or_insert((0, Some(Decimal::ZERO)));
            e.0 += 1;
            e.1 = match (e.1, cost) {
                (Some(sum), Some(c)) => Some(sum + c),
                _ => None,
            };
        }
        out
    }
}
