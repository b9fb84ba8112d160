//! Capacity: every setting with where it is, what kind it is and its places over time, so
//! "as at date D" is answered: net capacity by NCY (mainstream), commissioned places by
//! designated need per academic year (special schools, resourced provisions, units, AP),
//! January census rolls, and the placements of children with plans, so occupancy and
//! vacancies are answered for any date.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, ChildId, Event, Facility, GssCode, NcyCount, NeedPlaces, Phase,
    PlacedAt, PlanningAreaCode, PrimaryNeed, ProvisionKind, SettingKind, Urn,
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
    /// Placements of children with plans here: start and end (inclusive; open if `None`).
    #[serde(default)]
    pub placements: Vec<(NaiveDate, Option<NaiveDate>)>,
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

    /// Children with plans placed here on `on`.
    pub fn placed_on(&self, on: NaiveDate) -> u32 {
        let n = self
            .placements
            .iter()
            .filter(|(s, e)| *s <= on && e.is_none_or(|e| on <= e))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Places the setting has on `on`: commissioned places for the academic year (special
    /// schools, resourced provisions, units, AP), else net capacity (mainstream).
    pub fn places_on(&self, on: NaiveDate) -> Option<u32> {
        if !self.open_on(on) {
            return Some(0);
        }
        if self.kind.is_mainstream() && self.facility.is_none() {
            self.net_capacity_on(on)
                .map(|c| c.iter().map(|n| n.count).sum())
        } else {
            self.commissioned_places(AcademicYear::containing(on))
        }
    }

    /// Who is there on `on`: the January census roll of that academic year for a mainstream
    /// school (it counts every pupil), else the children with plans placed here.
    pub fn occupancy_on(&self, on: NaiveDate) -> u32 {
        if self.kind.is_mainstream() && self.facility.is_none() {
            self.roll(AcademicYear::containing(on)).unwrap_or(0)
        } else {
            self.placed_on(on)
        }
    }

    /// Places minus occupancy on `on` (negative: over capacity), where places are known.
    pub fn vacancies_on(&self, on: NaiveDate) -> Option<i64> {
        self.places_on(on)
            .map(|p| i64::from(p) - i64::from(self.occupancy_on(on)))
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
    /// Each child's open placement: the setting and the index of its line there.
    open: BTreeMap<ChildId, (Urn, usize)>,
}

impl Projection for Capacity {
    const NAME: &'static str = "capacity";
    const VERSION: u32 = 2;

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
                        placements: Vec::new(),
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
                    academy.placements.clear();
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
            Event::PlacementStarted {
                child,
                started_on,
                placed_at: PlacedAt::Setting { urn, .. },
            } => {
                self.close(child, *started_on);
                if let Some(s) = self.settings.get_mut(urn) {
                    s.placements.push((*started_on, None));
                    self.open
                        .insert(child.clone(), (*urn, s.placements.len() - 1));
                }
            }
            Event::PlacementStarted {
                child, started_on, ..
            } => self.close(child, *started_on),
            Event::PlacementEnded {
                child, ended_on, ..
            } => self.close(child, *ended_on),
            Event::PlanCeased {
                child, ceased_on, ..
            } => self.close(child, *ceased_on),
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
    /// Ends `child`'s open placement, if it has one, on `on`.
    fn close(&mut self, child: &ChildId, on: NaiveDate) {
        if let Some((urn, i)) = self.open.remove(child)
            && let Some(line) = self
                .settings
                .get_mut(&urn)
                .and_then(|s| s.placements.get_mut(i))
        {
            line.1 = Some(on);
        }
    }

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
