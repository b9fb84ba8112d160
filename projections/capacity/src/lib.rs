//! Capacity: every setting with where it is, what kind it is and its places over time, so
//! "as at date D" is answered: net capacity by NCY (mainstream), commissioned places by
//! designated need per academic year (special schools, resourced provisions, units, AP), and
//! January census rolls.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, Event, Facility, GssCode, NcyCount, NeedPlaces, Phase,
    PlanningAreaCode, PrimaryNeed, ProvisionKind, SettingKind, Urn,
};
use placeledger_projection::Projection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub name: String,
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub planning_area: Option<PlanningAreaCode>,
    pub kind: SettingKind,
    pub facility: Option<Facility>,
    pub phase: Phase,
    pub low_age: u8,
    pub high_age: u8,
    pub designated_needs: Vec<PrimaryNeed>,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    /// Net capacity by NCY from each date on (the latest on or before a date applies).
    pub net_capacity: Vec<(NaiveDate, Vec<NcyCount>)>,
    /// Commissioned places per academic year (by its starting calendar year).
    pub commissioned: BTreeMap<i32, Vec<NeedPlaces>>,
    /// January census rolls by NCY, per census (academic year's starting calendar year).
    pub rolls: BTreeMap<i32, Vec<NcyCount>>,
}

impl Setting {
    /// The kind of provision a placement here counts as.
    pub fn provision(&self) -> ProvisionKind {
        ProvisionKind::at_setting(self.kind, self.facility)
    }

    pub fn open_on(&self, on: NaiveDate) -> bool {
        self.opened_on <= on && self.closed_on.is_none_or(|c| on < c)
    }

    /// Net capacity in force on `on`: the latest figure set from that date or before.
    pub fn net_capacity_on(&self, on: NaiveDate) -> Option<&[NcyCount]> {
        self.net_capacity
            .iter()
            .filter(|(from, _)| *from <= on)
            .max_by_key(|(from, _)| *from)
            .map(|(_, c)| c.as_slice())
    }

    /// Places commissioned for `year`, by need; the latest earlier year's where `year` has
    /// none recorded yet (commissioning rolls on until changed).
    pub fn commissioned_in(&self, year: AcademicYear) -> Option<&[NeedPlaces]> {
        self.commissioned
            .range(..=year.start_year())
            .next_back()
            .map(|(_, p)| p.as_slice())
    }

    /// Total places commissioned for `year`, if any are.
    pub fn commissioned_places(&self, year: AcademicYear) -> Option<u32> {
        self.commissioned_in(year)
            .map(|p| p.iter().map(|n| n.places).sum())
    }

    /// The census roll of `census`, summed over NCYs.
    pub fn roll(&self, census: AcademicYear) -> Option<u32> {
        self.rolls
            .get(&census.start_year())
            .map(|r| r.iter().map(|n| n.count).sum())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    settings: BTreeMap<Urn, Setting>,
}

impl Projection for Capacity {
    const NAME: &'static str = "capacity";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &Event) {
        match event {
            Event::SettingOpened {
                urn,
                name,
                authority,
                district,
                planning_area,
                kind,
                phase,
                low_age,
                high_age,
                facility,
                designated_needs,
                opened_on,
            } => {
                self.settings.insert(
                    *urn,
                    Setting {
                        name: name.clone(),
                        authority: authority.clone(),
                        district: district.clone(),
                        planning_area: planning_area.clone(),
                        kind: *kind,
                        facility: *facility,
                        phase: *phase,
                        low_age: *low_age,
                        high_age: *high_age,
                        designated_needs: designated_needs.clone(),
                        opened_on: *opened_on,
                        closed_on: None,
                        net_capacity: Vec::new(),
                        commissioned: BTreeMap::new(),
                        rolls: BTreeMap::new(),
                    },
                );
            }
            Event::SettingClosed { urn, closed_on } => {
                if let Some(s) = self.settings.get_mut(urn) {
                    s.closed_on = Some(*closed_on);
                }
            }
            Event::SettingConvertedToAcademy {
                urn,
                new_urn,
                new_name,
                converted_on,
            } => {
                if let Some(old) = self.settings.get_mut(urn) {
                    old.closed_on = Some(*converted_on);
                    // Same building, same places: the academy carries them on.
                    let mut academy = old.clone();
                    academy.name = new_name.clone();
                    academy.kind = old.kind.academy_counterpart().unwrap_or(old.kind);
                    academy.opened_on = *converted_on;
                    academy.closed_on = None;
                    academy.rolls.clear();
                    self.settings.insert(*new_urn, academy);
                }
            }
            Event::NetCapacitySet {
                urn,
                from,
                capacity,
            } => {
                if let Some(s) = self.settings.get_mut(urn) {
                    s.net_capacity.retain(|(f, _)| f != from);
                    s.net_capacity.push((*from, capacity.clone()));
                }
            }
            Event::PlacesCommissioned { urn, year, places } => {
                if let Some(s) = self.settings.get_mut(urn) {
                    s.commissioned.insert(year.start_year(), places.clone());
                }
            }
            Event::CensusRollRecorded { urn, census, rolls } => {
                if let Some(s) = self.settings.get_mut(urn) {
                    s.rolls.insert(census.start_year(), rolls.clone());
                }
            }
            _ => {}
        }
    }
}

impl Capacity {
    pub fn settings(&self) -> &BTreeMap<Urn, Setting> {
        &self.settings
    }

    pub fn setting(&self, urn: Urn) -> Option<&Setting> {
        self.settings.get(&urn)
    }

    /// Settings open on `on`.
    pub fn open_on(&self, on: NaiveDate) -> impl Iterator<Item = (&Urn, &Setting)> {
        self.settings.iter().filter(move |(_, s)| s.open_on(on))
    }
}
