//! The generator: from the reference figures and a seed, every command of the history, in
//! the order things happened.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AgeGroup, AuthorityCode, CaseloadInput, Command, GssCode, Ncy, Phase,
    PopulationBasis, SettingKind, SharedData,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;

use crate::SeedError;
use crate::children::Children;
use crate::geography::Geography;
use crate::reference::Reference;
use crate::settings::{Builder, Place, SettingPlan};

/// The seed of `make run`'s and the tests' history.
pub const DEFAULT_SEED: u64 = 2015;

/// The history ends on the January 2026 census.
pub const HISTORY_END: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 15) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A calendar date the generator knows to exist.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The January census day of `year`.
pub fn census_day(year: i32) -> NaiveDate {
    date(year, 1, 15)
}

/// Population by area, mid-year and single year of age: ONS's 2022-based projection, and
/// for the years before 2022 the same cohorts read back (a child aged 5 in 2020 is the
/// projection's 7-year-old of 2022) while they are of school age in 2022 (17 at most). An
/// older cohort of 2022 holds the students and young workers who moved in at 18 or later
/// (Lancaster's and Preston's universities double their 18-21s): read back, they would be
/// taken for children who were never there, so an earlier year takes 2022's figure for the
/// same age.
/// The oldest age in 2022 a cohort is read back from (see [`Population`]).
const LAST_READ_BACK_AGE: i32 = 17;

#[derive(Debug, Clone, Default)]
pub struct Population {
    persons: HashMap<(GssCode, i32, i32), f64>,
}

impl Population {
    fn from_commands(commands: &[Command]) -> Population {
        let mut persons = HashMap::new();
        for c in commands {
            if let Command::RecordPopulation {
                area,
                year,
                age: AgeGroup::Single(age),
                persons: p,
                ..
            } = c
            {
                let p: f64 = p.to_string().parse().unwrap_or(0.0);
                persons.insert((area.clone(), *year, i32::from(*age)), p);
            }
        }
        Population { persons }
    }

    pub fn get(&self, area: &GssCode, year: i32, age: i32) -> f64 {
        let (year, age) = match year {
            y if y < 2022 && age + 2022 - y <= LAST_READ_BACK_AGE => (2022, age + 2022 - y),
            y if y < 2022 => (2022, age),
            y => (y, age),
        };
        self.persons
            .get(&(area.clone(), year, age))
            .copied()
            .unwrap_or(0.0)
    }

    /// Persons aged `from..=to`.
    pub fn range(&self, area: &GssCode, year: i32, from: i32, to: i32) -> f64 {
        (from..=to).map(|a| self.get(area, year, a)).sum()
    }
}

/// Commands with the date they happened, kept in the order they were made for ties.
#[derive(Debug, Default)]
pub struct Timeline {
    items: Vec<(NaiveDate, u64, Command)>,
}

impl Timeline {
    pub fn push(&mut self, on: NaiveDate, command: Command) {
        let seq = self.items.len() as u64;
        self.items.push((on, seq, command));
    }

    fn into_commands(mut self) -> Vec<Command> {
        self.items.sort_by_key(|a| (a.0, a.1));
        self.items.into_iter().map(|(_, _, c)| c).collect()
    }
}

fn money(pounds: f64) -> Decimal {
    Decimal::from(pounds.round() as i64)
}

/// What one run of the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A whole history (pan-Lancashire): its geography and England's totals included.
    Whole,
    /// One authority of the national history, the `index`th of England's: England's geography
    /// and totals are recorded once, before every authority ([`national_prologue`]), and its
    /// settings are numbered from a range of its own so no two authorities share a URN.
    Authority { index: usize },
}

/// How many URNs (and UKPRNs) each authority of the national history may number its
/// settings from.
const NUMBERS_PER_AUTHORITY: u32 = 5_000;

/// Every command of the seeded history, in date order.
pub fn generate(
    reference: &Reference,
    geography: &Geography,
    seed: u64,
) -> Result<Vec<Command>, SeedError> {
    generate_part(reference, geography, seed, Part::Whole)
}

/// What the national history records before any authority's: England's authorities,
/// districts and planning areas, and England's January totals.
pub fn national_prologue(
    reference: &Reference,
    england: &Geography,
) -> Result<Vec<Command>, SeedError> {
    let mut out = england.commands()?;
    for (year, plans) in &reference.england {
        out.push(Command::RecordNationalCaseload {
            census: AcademicYear::new(year - 1).map_err(|e| SeedError::Reference(e.to_string()))?,
            plans: i64::from(*plans),
        });
    }
    Ok(out)
}

/// The history of England's `index`th authority (in `england.partners`' order), generated as
/// pan-Lancashire's is, from its own random stream (`seed` and the authority's code): the
/// same authority gets the same history whichever others are generated. Its out-of-county
/// settings are in the authorities beside it in the list.
pub fn generate_authority(
    reference: &Reference,
    england: &Geography,
    index: usize,
    seed: u64,
) -> Result<Vec<Command>, SeedError> {
    let n = england.partners.len();
    let (la, gss, name) = england
        .partners
        .get(index)
        .cloned()
        .ok_or_else(|| SeedError::Reference(format!("no authority {index} in England")))?;
    let outside = [1, 2, n - 1, n - 2]
        .into_iter()
        .map(|d| (index + d) % n)
        .filter(|&j| j != index)
        .filter_map(|j| {
            let (la, _, name) = &england.partners[j];
            let district = england.areas.iter().find(|a| &a.authority == la)?;
            Some((la.clone(), district.gss.clone(), name.clone()))
        })
        .collect();
    let geography = Geography {
        partners: vec![(la.clone(), gss, name)],
        outside,
        areas: england
            .areas
            .iter()
            .filter(|a| a.authority == la)
            .cloned()
            .collect(),
    };
    let code: u64 = la.as_str().parse().unwrap_or(0);
    let stream = seed.wrapping_mul(1_000).wrapping_add(code);
    generate_part(reference, &geography, stream, Part::Authority { index })
}

fn generate_part(
    reference: &Reference,
    geography: &Geography,
    seed: u64,
    part: Part,
) -> Result<Vec<Command>, SeedError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut timeline = Timeline::default();
    if part == Part::Whole {
        for c in geography.commands()? {
            timeline.push(date(1990, 1, 1), c);
        }
    }
    // The pan-Lancashire data-sharing agreement: each partner shares its aggregates and lets
    // the others use its spare commissioned places (synthetic date).
    for (a, _, _) in &geography.partners {
        for (p, _, _) in &geography.partners {
            if a != p {
                timeline.push(
                    date(2024, 4, 1),
                    Command::AgreeDataSharing {
                        authority: a.clone(),
                        partner: p.clone(),
                        shares: SharedData::ALL.to_vec(),
                        from: date(2024, 4, 1),
                        until: None,
                    },
                );
            }
        }
    }
    // The published SEN2 January totals (the figures the history is calibrated to), as an
    // authority would import them: one table a year, published in June.
    for ((la, year), (plans, _)) in &reference.plans {
        let Some((authority, _, _)) = geography.partners.iter().find(|p| p.0.as_str() == la) else {
            continue;
        };
        timeline.push(
            date(*year, 6, 30),
            Command::RecordCaseload {
                authority: authority.clone(),
                census: AcademicYear::new(year - 1)
                    .map_err(|e| SeedError::Reference(e.to_string()))?,
                cells: vec![CaseloadInput {
                    age: None,
                    need: None,
                    kind: None,
                    plans: Some(i64::from(*plans)),
                }],
            },
        );
    }
    // England's January totals, recorded as an administrator would import them (the
    // forecasts follow England's trend).
    let england_totals = if part == Part::Whole {
        &reference.england
    } else {
        &BTreeMap::new()
    };
    for (year, plans) in england_totals {
        timeline.push(
            date(*year, 6, 30),
            Command::RecordNationalCaseload {
                census: AcademicYear::new(year - 1)
                    .map_err(|e| SeedError::Reference(e.to_string()))?,
                plans: i64::from(*plans),
            },
        );
    }
    // High Needs Block allocations and DSG balances, as a finance officer would import them
    // (at the start of each financial year).
    for c in &reference.high_needs {
        if let Command::RecordHighNeedsFunding {
            financial_year,
            authority,
            ..
        } = c
            && geography.partner_index(authority).is_some()
        {
            timeline.push(date(*financial_year, 4, 1), c.clone());
        }
    }
    let population = Population::from_commands(&reference.population);

    // Population: the ONS projection as published (June 2025), and the cohorts read back
    // for 2015-2021 as estimates, so a back-test from 2019 has a population to work with.
    for c in &reference.population {
        if let Command::RecordPopulation { area, .. } = c
            && geography.areas.iter().any(|a| &a.gss == area)
        {
            timeline.push(date(2025, 6, 24), c.clone());
        }
    }
    for area in &geography.areas {
        for year in 2015..2022 {
            for age in 0..=25 {
                let persons = population.get(&area.gss, year, age);
                timeline.push(
                    date(year + 1, 6, 25),
                    Command::RecordPopulation {
                        area: area.gss.clone(),
                        year,
                        age: AgeGroup::Single(u8::try_from(age).unwrap_or(0)),
                        persons: Decimal::from_f64_retain(persons)
                            .unwrap_or_default()
                            .round_dp(1),
                        basis: PopulationBasis::Estimate,
                        release: "synthetic back-estimate from ONS 2022-based SNPP cohorts".into(),
                    },
                );
            }
        }
        // Births of the year: the cohort aged 0 at the following mid-year.
        for year in 2010..=2024 {
            let births = population.get(&area.gss, year + 1, 0).round() as i64;
            timeline.push(
                date(year + 1, 8, 1),
                Command::RecordBirths {
                    area: area.gss.clone(),
                    year,
                    births,
                },
            );
        }
        let households = population.range(&area.gss, 2022, 0, 25) * 0.011;
        for year in 2015..=2025 {
            timeline.push(
                date(year + 1, 4, 30),
                Command::RecordHousingCompletions {
                    planning_area: Geography::planning_area(&area.gss, Phase::Primary)?,
                    year,
                    dwellings: (households * rng.random_range(0.7..1.3)).round() as i64,
                    pupil_yield: vec![
                        (Phase::Primary, Decimal::new(25, 2)),
                        (Phase::Secondary, Decimal::new(15, 2)),
                    ],
                },
            );
        }
    }

    let mut builder = Builder::new(&mut rng, geography);
    if let Part::Authority { index } = part {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        builder = builder.numbered_from(
            100_001 + index * NUMBERS_PER_AUTHORITY,
            10_000_001 + index * NUMBERS_PER_AUTHORITY,
        );
    }
    let settings = builder.build(reference, &population)?;
    for s in &settings {
        timeline.push(s.opened, Command::OpenSetting(s.command()));
        if let Some(closed) = s.closed {
            timeline.push(
                closed,
                Command::CloseSetting {
                    urn: s.urn,
                    on: closed,
                },
            );
        }
    }
    costs(&mut timeline, geography, reference);
    rolls(&mut timeline, &mut rng, reference, &population, &settings)?;

    let mut children = Children::new(&mut rng, reference, geography, &population, &settings)?;
    children.simulate()?;
    let occupancy = children.emit(&mut timeline)?;
    commission(&mut timeline, &mut rng, &settings, &occupancy);
    Ok(timeline.into_commands())
}

/// Annual placement costs per authority and kind, from April each year: the 2025-26 costs
/// of `unit_costs.csv`, back-cast by each row's growth a year.
fn costs(timeline: &mut Timeline, geography: &Geography, reference: &Reference) {
    for (i, (la, _, _)) in geography.partners.iter().enumerate() {
        // The unitaries pay a little more per place than the county (illustrative).
        let local = [1.0, 1.04, 1.06][i.min(2)];
        for year in 2015..=2025 {
            for unit in &reference.unit_costs {
                let cost = unit.annual_cost * local / (1.0 + unit.growth).powi(2025 - year);
                timeline.push(
                    date(year, 4, 1),
                    Command::SetPlacementCost {
                        authority: la.clone(),
                        kind: unit.kind,
                        from: date(year, 4, 1),
                        annual_cost: money(cost),
                    },
                );
            }
        }
    }
}

/// January census rolls of every mainstream school, 2015-2026, and net capacity: each
/// district's children of each age, times the share in state schools, spread over its
/// schools by size. The share is set so Lancashire has its published pupil count.
fn rolls(
    timeline: &mut Timeline,
    rng: &mut ChaCha8Rng,
    reference: &Reference,
    population: &Population,
    settings: &[SettingPlan],
) -> Result<(), SeedError> {
    const NURSERY: f64 = 0.55;
    const SIXTH_FORM: f64 = 0.42;
    // The first partner's published pupils (Lancashire's; an authority of the national
    // history has its own proxy, see `Reference::load_national`).
    let first = settings
        .iter()
        .find_map(|s| match s.place {
            Place::Partner(0) => Some(s.authority.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    let (pupils, january) = reference
        .mainstream
        .get(&(first, "pupils".to_owned()))
        .map_or((177_000.0, 2022), |(n, y, _)| (f64::from(*n), *y));

    // The rolls of `year` at take-up 1, per school and NCY.
    let raw = |year: i32| -> BTreeMap<(usize, i8), f64> {
        let census = census_day(year);
        let mut out = BTreeMap::new();
        let mut weight: HashMap<(GssCode, i8), f64> = HashMap::new();
        let covers = |s: &SettingPlan, ncy: i8| -> bool {
            let age = i32::from(ncy) + 4;
            s.on_census()
                && s.opened <= census
                && s.closed.is_none_or(|c| census < c)
                && age >= i32::from(s.low)
                && age < i32::from(s.high)
        };
        for s in settings {
            for ncy in -1..=13 {
                if covers(s, ncy) {
                    *weight.entry((s.district.clone(), ncy)).or_default() += s.weight;
                }
            }
        }
        for (j, s) in settings.iter().enumerate() {
            for ncy in -1..=13 {
                if !covers(s, ncy) {
                    continue;
                }
                let take = match ncy {
                    -1 => NURSERY,
                    12 | 13 => SIXTH_FORM,
                    _ => 1.0,
                };
                let share = s.weight / weight[&(s.district.clone(), ncy)];
                let pop = population.get(&s.district, year - 1, i32::from(ncy) + 4);
                out.insert((j, ncy), pop * take * share);
            }
        }
        out
    };
    // Take-up of compulsory-age places in state schools, fitted to the published count.
    let lancashire = |j: usize| settings[j].place == Place::Partner(0);
    let at = raw(january);
    let compulsory: f64 = at
        .iter()
        .filter(|((j, n), _)| lancashire(*j) && (0..=11).contains(n))
        .map(|(_, v)| v)
        .sum();
    let other: f64 = at
        .iter()
        .filter(|((j, n), _)| lancashire(*j) && !(0..=11).contains(n))
        .map(|(_, v)| v)
        .sum();
    let take_up = ((pupils - other) / compulsory).clamp(0.5, 1.0);

    let mut peak: BTreeMap<(usize, i8), u32> = BTreeMap::new();
    for year in 2015..=2026 {
        let mut by_school: BTreeMap<usize, Vec<(Ncy, i64)>> = BTreeMap::new();
        for ((j, ncy), v) in raw(year) {
            let v = if (0..=11).contains(&ncy) {
                v * take_up
            } else {
                v
            };
            let n = v.round() as i64;
            let ncy_value = Ncy::new(ncy).map_err(|e| SeedError::Reference(e.to_string()))?;
            by_school.entry(j).or_default().push((ncy_value, n));
            let p = peak.entry((j, ncy)).or_default();
            *p = (*p).max(u32::try_from(n).unwrap_or(0));
        }
        for (j, rolls) in by_school {
            timeline.push(
                census_day(year) + chrono::Days::new(30),
                Command::RecordCensusRoll {
                    urn: settings[j].urn,
                    census: AcademicYear::new(year - 1)
                        .map_err(|e| SeedError::Reference(e.to_string()))?,
                    rolls,
                },
            );
        }
    }
    // Net capacity: a little above each year group's peak roll; a few schools expand in 2019.
    let mut capacity: BTreeMap<usize, Vec<(Ncy, i64)>> = BTreeMap::new();
    for ((j, ncy), p) in peak {
        let ncy = Ncy::new(ncy).map_err(|e| SeedError::Reference(e.to_string()))?;
        let headroom = rng.random_range(1.0..1.15);
        capacity
            .entry(j)
            .or_default()
            .push((ncy, (f64::from(p) * headroom).ceil() as i64));
    }
    for (j, cap) in capacity {
        let s = &settings[j];
        timeline.push(
            date(2015, 9, 1),
            Command::SetNetCapacity {
                urn: s.urn,
                from: date(2015, 9, 1),
                capacity: cap.clone(),
            },
        );
        if rng.random_range(0.0..1.0) < 0.06 && s.closed.is_none() {
            timeline.push(
                date(2019, 9, 1),
                Command::SetNetCapacity {
                    urn: s.urn,
                    from: date(2019, 9, 1),
                    capacity: cap.iter().map(|&(n, c)| (n, c + 15)).collect(),
                },
            );
        }
    }
    Ok(())
}

/// Places commissioned in special schools, resourced provisions, units and AP for each
/// academic year: the October occupancy with some headroom (or not quite enough).
fn commission(
    timeline: &mut Timeline,
    rng: &mut ChaCha8Rng,
    settings: &[SettingPlan],
    occupancy: &BTreeMap<(usize, i32), u32>,
) {
    for (j, s) in settings.iter().enumerate() {
        let commissioned = s.facility.is_some()
            || matches!(
                s.kind,
                SettingKind::SpecialMaintained
                    | SettingKind::SpecialAcademyFree
                    | SettingKind::ApMaintained
                    | SettingKind::ApAcademy
                    | SettingKind::ApFree
            );
        if !commissioned || s.place == Place::Outside {
            continue;
        }
        for year in 2015..=2025 {
            if s.opened > date(year + 1, 8, 31) || s.closed.is_some_and(|c| c <= date(year, 9, 1)) {
                continue;
            }
            let occupied = occupancy.get(&(j, year)).copied().unwrap_or(0);
            let places = (f64::from(occupied) * rng.random_range(0.94..1.10)).ceil() as i64;
            let Ok(academic) = AcademicYear::new(year) else {
                continue;
            };
            let need = s.needs.first().copied();
            timeline.push(
                date(year, 7, 1).max(s.opened),
                Command::CommissionPlaces {
                    urn: s.urn,
                    year: academic,
                    places: vec![(need, places.max(1))],
                },
            );
        }
    }
}

/// The authority code of partner `i`.
pub fn authority(geography: &Geography, i: usize) -> AuthorityCode {
    geography.partners[i].0.clone()
}
