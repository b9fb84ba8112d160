//! Data-sharing agreements: which authority shares which aggregates with which partner, from
//! when and until when. The API checks a partner's reads against it; the forecast lets a
//! partner use an authority's spare places only where it says so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use placeledger_domain::{AuthorityCode, Event, SharedData};
use placeledger_projection::Projection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub authority: AuthorityCode,
    pub partner: AuthorityCode,
    pub shares: Vec<SharedData>,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

impl Agreement {
    /// In force on `on`: from its first day, up to (not including) its end.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.from <= on && self.until.is_none_or(|u| on < u)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    /// The latest agreement between each (sharing authority, partner), keyed
    /// `"{authority}>{partner}"` so the saved state is plain JSON.
    agreements: BTreeMap<String, Agreement>,
}

fn key(authority: &AuthorityCode, partner: &AuthorityCode) -> String {
    format!("{authority}>{partner}")
}

impl Projection for Sharing {
    const NAME: &'static str = "sharing";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &Event) {
        match event {
            Event::DataSharingAgreed {
                authority,
                partner,
                shares,
                from,
                until,
            } => {
                self.agreements.insert(
                    key(authority, partner),
                    Agreement {
                        authority: authority.clone(),
                        partner: partner.clone(),
                        shares: shares.clone(),
                        from: *from,
                        until: *until,
                    },
                );
            }
            Event::DataSharingEnded {
                authority,
                partner,
                ended_on,
            } => {
                if let Some(a) = self.agreements.get_mut(&key(authority, partner)) {
                    a.until = Some(*ended_on);
                }
            }
            _ => {}
        }
    }
}

impl Sharing {
    pub fn agreements(&self) -> impl Iterator<Item = &Agreement> {
        self.agreements.values()
    }

    /// Whether `authority` shares `data` with `partner` on `on`.
    pub fn shares(
        &self,
        authority: &AuthorityCode,
        partner: &AuthorityCode,
        data: SharedData,
        on: NaiveDate,
    ) -> bool {
        self.agreements
            .get(&key(authority, partner))
            .is_some_and(|a| a.in_force(on) && a.shares.contains(&data))
    }

    /// `(provider, partner)` pairs where the provider lets the partner use its spare places
    /// on `on`.
    pub fn spare_places(&self, on: NaiveDate) -> BTreeSet<(AuthorityCode, AuthorityCode)> {
        self.agreements
            .values()
            .filter(|a| a.in_force(on) && a.shares.contains(&SharedData::SparePlaces))
            .map(|a| (a.authority.clone(), a.partner.clone()))
            .collect()
    }
}
