//! Mainstream planning data, which is aggregate only, and the planning geography it hangs on
//! (authorities, districts, planning areas): January census rolls by school and NCY
//! (with each school's planning area and district), resident population by area, year and
//! age (ONS estimates and projections), births, and housing completions with pupil yields.

use std::collections::BTreeMap;

use placeledger_domain::{
    AgeGroup, AuthorityCode, Event, GssCode, NcyCount, Phase, PhaseYield, PlanningAreaCode,
    PopulationBasis, Urn,
};
use placeledger_projection::Projection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A mainstream school's place in the planning geography.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub district: GssCode,
    pub planning_area: Option<PlanningAreaCode>,
    pub phase: Phase,
}

/// One population figure and whether it is an estimate or a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persons {
    pub persons: Decimal,
    pub basis: PopulationBasis,
}

/// An authority and its districts, by GSS code, with names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub name: String,
    pub districts: BTreeMap<GssCode, String>,
}

/// One area's population in one mid-year: single years of age, and ONS's other groups
/// (`90 and over`, `All ages`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AreaYear {
    pub single: BTreeMap<u8, Persons>,
    pub groups: Vec<(AgeGroup, Persons)>,
}

impl AreaYear {
    pub fn get(&self, age: &AgeGroup) -> Option<&Persons> {
        match age {
            AgeGroup::Single(a) => self.single.get(a),
            other => self.groups.iter().find(|(g, _)| g == other).map(|(_, p)| p),
        }
    }

    fn insert(&mut self, age: AgeGroup, persons: Persons) {
        match age {
            AgeGroup::Single(a) => {
                self.single.insert(a, persons);
            }
            other => {
                self.groups.retain(|(g, _)| *g != other);
                self.groups.push((other, persons));
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mainstream {
    /// The planning geography: authorities and their districts, and planning areas.
    authorities: BTreeMap<AuthorityCode, Authority>,
    planning_areas: BTreeMap<PlanningAreaCode, (GssCode, Phase, String)>,
    schools: BTreeMap<Urn, School>,
    /// Rolls by school and census (academic year's starting calendar year).
    rolls: BTreeMap<Urn, BTreeMap<i32, Vec<NcyCount>>>,
    /// Population by area, mid-year and age group. An estimate replaces a projection of the
    /// same year; the latest recording of the same basis wins.
    population: BTreeMap<GssCode, BTreeMap<i32, AreaYear>>,
    births: BTreeMap<GssCode, BTreeMap<i32, u32>>,
    housing: BTreeMap<PlanningAreaCode, BTreeMap<i32, (u32, Vec<PhaseYield>)>>,
}

impl Projection for Mainstream {
    const NAME: &'static str = "mainstream";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &Event) {
        match event {
            Event::AuthorityRegistered {
                authority, name, ..
            } => {
                self.authorities.entry(authority.clone()).or_default().name = name.clone();
            }
            Event::DistrictRegistered {
                district,
                authority,
                name,
            } => {
                self.authorities
                    .entry(authority.clone())
                    .or_default()
                    .districts
                    .insert(district.clone(), name.clone());
            }
            Event::PlanningAreaRegistered {
                planning_area,
                district,
                phase,
                name,
            } => {
                self.planning_areas.insert(
                    planning_area.clone(),
                    (district.clone(), *phase, name.clone()),
                );
            }
            Event::SettingOpened {
                urn,
                district,
                planning_area,
                kind,
                facility: None,
                phase,
                ..
            } if kind.is_mainstream() => {
                self.schools.insert(
                    *urn,
                    School {
                        district: district.clone(),
                        planning_area: planning_area.clone(),
                        phase: *phase,
                    },
                );
            }
            Event::SettingConvertedToAcademy { urn, new_urn, .. } => {
                if let Some(s) = self.schools.get(urn).cloned() {
                    self.schools.insert(*new_urn, s);
                }
            }
            Event::CensusRollRecorded { urn, census, rolls } if self.schools.contains_key(urn) => {
                self.rolls
                    .entry(*urn)
                    .or_default()
                    .insert(census.start_year(), rolls.clone());
            }
            Event::PopulationRecorded {
                area,
                year,
                age,
                persons,
                basis,
                ..
            } => {
                let slot = self
                    .population
                    .entry(area.clone())
                    .or_default()
                    .entry(*year)
                    .or_default();
                let keep_estimate = matches!(
                    (slot.get(age), basis),
                    (Some(p), PopulationBasis::Projection) if p.basis == PopulationBasis::Estimate
                );
                if !keep_estimate {
                    slot.insert(
                        *age,
                        Persons {
                            persons: *persons,
                            basis: *basis,
                        },
                    );
                }
            }
            Event::BirthsRecorded { area, year, births } => {
                self.births
                    .entry(area.clone())
                    .or_default()
                    .insert(*year, *births);
            }
            Event::HousingCompletionsRecorded {
                planning_area,
                year,
                dwellings,
                pupil_yield,
            } => {
                self.housing
                    .entry(planning_area.clone())
                    .or_default()
                    .insert(*year, (*dwellings, pupil_yield.clone()));
            }
            _ => {}
        }
    }
}

impl Mainstream {
    /// Every registered authority with its districts.
    pub fn authorities(&self) -> &BTreeMap<AuthorityCode, Authority> {
        &self.authorities
    }

    /// Planning areas: district, phase and name.
    pub fn planning_areas(&self) -> &BTreeMap<PlanningAreaCode, (GssCode, Phase, String)> {
        &self.planning_areas
    }

    pub fn schools(&self) -> &BTreeMap<Urn, School> {
        &self.schools
    }

    /// January rolls by NCY offset, summed over the schools of `planning_area`, per census.
    pub fn planning_area_rolls(
        &self,
        planning_area: &PlanningAreaCode,
    ) -> BTreeMap<i32, BTreeMap<i8, u32>> {
        let mut out: BTreeMap<i32, BTreeMap<i8, u32>> = BTreeMap::new();
        for (urn, school) in &self.schools {
            if school.planning_area.as_ref() != Some(planning_area) {
                continue;
            }
            for (census, rolls) in self.rolls.get(urn).into_iter().flatten() {
                for r in rolls {
                    *out.entry(*census)
                        .or_default()
                        .entry(r.ncy.offset())
                        .or_insert(0) += r.count;
                }
            }
        }
        out
    }

    /// Rolls of one school per census.
    pub fn school_rolls(&self, urn: Urn) -> Option<&BTreeMap<i32, Vec<NcyCount>>> {
        self.rolls.get(&urn)
    }

    /// Population of `area` in mid-`year` at single year of `age`.
    pub fn persons(&self, area: &GssCode, year: i32, age: u8) -> Option<Decimal> {
        self.population
            .get(area)?
            .get(&year)?
            .get(&AgeGroup::Single(age))
            .map(|p| p.persons)
    }

    /// Every area's population by year and age group.
    pub fn population(&self) -> &BTreeMap<GssCode, BTreeMap<i32, AreaYear>> {
        &self.population
    }

    pub fn births(&self, area: &GssCode) -> Option<&BTreeMap<i32, u32>> {
        self.births.get(area)
    }

    pub fn housing(
        &self,
        planning_area: &PlanningAreaCode,
    ) -> Option<&BTreeMap<i32, (u32, Vec<PhaseYield>)>> {
        self.housing.get(planning_area)
    }
}
