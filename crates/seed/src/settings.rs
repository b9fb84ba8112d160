//! The synthetic settings: how many of each kind, where, and which one a placement goes to.

use chrono::NaiveDate;
use placeledger_domain::{
    AuthorityCode, Facility, GssCode, OpenSetting, Phase, PrimaryNeed, ProvisionKind, SettingKind,
    Urn,
};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::SeedError;
use crate::generate::{Population, date};
use crate::geography::Geography;
use crate::reference::Reference;

/// Where a setting is, as the sharing agreement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In one of the three partner authorities (index into `Geography::partners`).
    Partner(usize),
    /// Outside pan-Lancashire.
    Outside,
}

#[derive(Debug, Clone)]
pub struct SettingPlan {
    pub urn: Urn,
    pub name: String,
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub place: Place,
    pub kind: SettingKind,
    pub facility: Option<Facility>,
    pub provision: ProvisionKind,
    pub phase: Phase,
    pub low: u8,
    pub high: u8,
    pub needs: Vec<PrimaryNeed>,
    pub opened: NaiveDate,
    pub closed: Option<NaiveDate>,
    /// Relative size among settings of its kind in its district (pupils, placements).
    pub weight: f64,
}

impl SettingPlan {
    pub fn command(&self) -> OpenSetting {
        OpenSetting {
            urn: self.urn,
            name: self.name.clone(),
            authority: self.authority.clone(),
            district: self.district.clone(),
            planning_area: match self.phase {
                Phase::Primary | Phase::Secondary => {
                    Geography::planning_area(&self.district, self.phase).ok()
                }
                _ => None,
            },
            kind: self.kind,
            phase: self.phase,
            low_age: i64::from(self.low),
            high_age: i64::from(self.high),
            facility: self.facility,
            designated_needs: self.needs.clone(),
            on: self.opened,
        }
    }

    /// A mainstream school on the January census (not a facility, not independent).
    pub fn on_census(&self) -> bool {
        self.facility.is_none()
            && matches!(
                self.kind,
                SettingKind::MainstreamMaintained
                    | SettingKind::MainstreamAcademy
                    | SettingKind::MainstreamFree
            )
    }

    fn serves(&self, stage: usize, age: i32) -> bool {
        let age = u8::try_from(age.max(0)).unwrap_or(0);
        match self.phase {
            Phase::Primary => stage <= 1,
            Phase::Secondary => (2..=3).contains(&stage) && age <= self.high,
            Phase::Post16 => stage >= 3,
            _ => age + 1 >= self.low && age <= self.high.max(19),
        }
    }

    fn is_open(&self, on: NaiveDate) -> bool {
        self.opened <= on && self.closed.is_none_or(|c| on < c)
    }
}

const FIRST: &[&str] = &[
    "Alder", "Beck", "Brook", "Clough", "Dale", "Fell", "Garth", "Holme", "Ings", "Lea", "Moss",
    "Nab", "Pike", "Rigg", "Scar", "Thwaite", "Wold", "Hollin", "Ash", "Birch", "Rowan", "Hazel",
    "Willow", "Heron", "Kestrel", "Curlew", "Lapwing", "Plover", "Otter", "Badger", "Bracken",
    "Heather", "Gorse", "Bramble", "Thistle", "Linnet",
];
const SECOND: &[&str] = &[
    "Bank", "Field", "Lane", "Meadow", "Hill", "Side", "Gate", "Croft", "View", "Green", "Brow",
    "Mount", "Park", "Vale", "Row", "Edge",
];

fn urn(n: u32) -> Result<Urn, SeedError> {
    Urn::parse(&format!("{n:06}")).map_err(|e| SeedError::Reference(e.to_string()))
}

/// Builds every setting of the seeds.
pub struct Builder<'a> {
    rng: &'a mut ChaCha8Rng,
    geography: &'a Geography,
    next_urn: u32,
    next_ukprn: u32,
    pub settings: Vec<SettingPlan>,
}

impl<'a> Builder<'a> {
    pub fn new(rng: &'a mut ChaCha8Rng, geography: &'a Geography) -> Self {
        Builder {
            rng,
            geography,
            next_urn: 900_001,
            next_ukprn: 19_000_001,
            settings: Vec::new(),
        }
    }

    /// Numbers settings from `urn` (schools) and `ukprn` (colleges) instead.
    pub fn numbered_from(mut self, urn: u32, ukprn: u32) -> Self {
        self.next_urn = urn;
        self.next_ukprn = ukprn;
        self
    }

    fn name(&mut self, what: &str) -> String {
        let a = FIRST[self.rng.random_range(0..FIRST.len())];
        let b = SECOND[self.rng.random_range(0..SECOND.len())];
        format!("{a} {b} {what} (synthetic)")
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        place: Place,
        district: &GssCode,
        kind: SettingKind,
        facility: Option<Facility>,
        phase: Phase,
        (low, high): (u8, u8),
        what: &str,
        needs: Vec<PrimaryNeed>,
    ) -> Result<usize, SeedError> {
        let college = matches!(kind, SettingKind::FeCollege | SettingKind::SpecialistPost16);
        let urn = if college {
            self.next_ukprn += 1;
            urn(self.next_ukprn - 1)?
        } else {
            self.next_urn += 1;
            urn(self.next_urn - 1)?
        };
        let authority = match place {
            Place::Partner(i) => self.geography.partners[i].0.clone(),
            Place::Outside => self
                .geography
                .outside
                .iter()
                .find(|(_, g, _)| g == district)
                .map(|(a, _, _)| a.clone())
                .ok_or_else(|| SeedError::Reference(format!("no authority for {district}")))?,
        };
        let name = self.name(what);
        let weight = self.rng.random_range(0.5..1.5);
        self.settings.push(SettingPlan {
            urn,
            name,
            authority,
            district: district.clone(),
            place,
            kind,
            facility,
            provision: ProvisionKind::at_setting(kind, facility),
            phase,
            low,
            high,
            needs,
            opened: date(1990, 9, 1),
            closed: None,
            weight,
        });
        Ok(self.settings.len() - 1)
    }

    /// Every setting: sized so the January 2025 placements of each kind fit, and Lancashire
    /// has its 628 schools.
    pub fn build(
        mut self,
        reference: &Reference,
        population: &Population,
    ) -> Result<Vec<SettingPlan>, SeedError> {
        let geography = self.geography;
        let schools = reference
            .mainstream
            .get(&(geography.partners[0].0.to_string(), "schools".to_owned()))
            .map_or(628.0, |(n, _, _)| f64::from(*n));
        let lancs_pop: f64 = geography
            .areas
            .iter()
            .filter(|a| a.authority == geography.partners[0].0)
            .map(|a| population.range(&a.gss, 2022, 4, 15))
            .sum();
        let mut elsewhere = OutOfCounty::default();
        for (i, (la, _, _)) in geography.partners.iter().enumerate() {
            let count = |k: ProvisionKind| {
                f64::from(
                    reference
                        .total_2025(la.as_str(), None, Some(k))
                        .unwrap_or(0),
                )
            };
            let areas: Vec<GssCode> = geography
                .areas
                .iter()
                .filter(|a| &a.authority == la)
                .map(|a| a.gss.clone())
                .collect();
            let la_pop: f64 = areas.iter().map(|g| population.range(g, 2022, 4, 15)).sum();
            let place = Place::Partner(i);
            let specialist = self.special_schools_and_ap(place, &areas, &count)?;
            let state_schools = (schools * la_pop / lancs_pop).round() as usize;
            let mainstream = state_schools.saturating_sub(specialist).max(2);
            self.mainstream_schools(place, i, &areas, population, mainstream)?;
            self.facilities(place, &areas, &count)?;
            self.independent_and_colleges(place, &areas, &count, &mut elsewhere)?;
        }
        self.out_of_county(&elsewhere)?;
        self.changes_over_the_years()?;
        Ok(self.settings)
    }

    /// A district of `areas` at random.
    fn pick(&mut self, areas: &[GssCode]) -> GssCode {
        areas[self.rng.random_range(0..areas.len())].clone()
    }

    /// Special schools and AP of one authority; returns how many settings that is (they
    /// count towards its state schools).
    fn special_schools_and_ap(
        &mut self,
        place: Place,
        areas: &[GssCode],
        count: &dyn Fn(ProvisionKind) -> f64,
    ) -> Result<usize, SeedError> {
        // Special schools, AP, and the authority's share of the state-school count.
        let special_m = (count(ProvisionKind::SpecialMaintained) / 100.0).ceil() as usize;
        let special_a = (count(ProvisionKind::SpecialAcademyFree) / 100.0).ceil() as usize;
        let needs = [
            PrimaryNeed::Asd,
            PrimaryNeed::Sld,
            PrimaryNeed::Semh,
            PrimaryNeed::Mld,
            PrimaryNeed::Pmld,
        ];
        for (n, kind) in [
            (special_m, SettingKind::SpecialMaintained),
            (special_a, SettingKind::SpecialAcademyFree),
        ] {
            for j in 0..n {
                let d = areas[j % areas.len()].clone();
                let need = needs[self.rng.random_range(0..needs.len())];
                self.add(
                    place,
                    &d,
                    kind,
                    None,
                    Phase::AllThrough,
                    (2, 19),
                    "Special School",
                    vec![need],
                )?;
            }
        }
        let mut ap = 0;
        for (kind, k) in [
            (SettingKind::ApMaintained, ProvisionKind::ApMaintained),
            (SettingKind::ApAcademy, ProvisionKind::ApAcademy),
            (SettingKind::ApFree, ProvisionKind::ApFree),
        ] {
            let n = (count(k) / 30.0).ceil() as usize;
            for j in 0..n {
                let d = areas[j % areas.len()].clone();
                self.add(
                    place,
                    &d,
                    kind,
                    None,
                    Phase::AllThrough,
                    (5, 16),
                    "Learning Centre",
                    vec![],
                )?;
                ap += 1;
            }
        }
        Ok(special_m + special_a + ap)
    }

    /// Mainstream primary and secondary schools of one authority (`i`: its place in the
    /// geography), at least one per district, the rest by population.
    fn mainstream_schools(
        &mut self,
        place: Place,
        i: usize,
        areas: &[GssCode],
        population: &Population,
        mainstream: usize,
    ) -> Result<(), SeedError> {
        let secondary = ((mainstream as f64) * 0.14).round().max(1.0) as usize;
        let primary = mainstream - secondary;
        let shares: &[(SettingKind, f64)] = match i {
            0 => &[
                (SettingKind::MainstreamMaintained, 0.62),
                (SettingKind::MainstreamAcademy, 0.34),
                (SettingKind::MainstreamFree, 0.04),
            ],
            _ => &[
                (SettingKind::MainstreamMaintained, 0.5),
                (SettingKind::MainstreamAcademy, 0.42),
                (SettingKind::MainstreamFree, 0.08),
            ],
        };
        for (phase, n, ages) in [
            (Phase::Primary, primary, (4u8, 10u8)),
            (Phase::Secondary, secondary, (11, 15)),
        ] {
            let weights: Vec<f64> = areas
                .iter()
                .map(|g| population.range(g, 2022, i32::from(ages.0), i32::from(ages.1)))
                .collect();
            let total: f64 = weights.iter().sum();
            // At least one school per district; the rest by population.
            let mut per: Vec<usize> = weights
                .iter()
                .map(|w| ((w / total) * n as f64).round().max(1.0) as usize)
                .collect();
            while per.iter().sum::<usize>() > n && per.iter().any(|&p| p > 1) {
                let j = (0..per.len()).max_by_key(|&j| per[j]).unwrap_or(0);
                per[j] -= 1;
            }
            while per.iter().sum::<usize>() < n {
                let j = self.rng.random_range(0..per.len());
                per[j] += 1;
            }
            for (d, &count) in areas.iter().zip(&per) {
                for j in 0..count {
                    let roll: f64 = self.rng.random_range(0.0..1.0);
                    let mut acc = 0.0;
                    let mut kind = shares[0].0;
                    for &(k, s) in shares {
                        acc += s;
                        if roll < acc {
                            kind = k;
                            break;
                        }
                    }
                    // Every district has at least one maintained school of each phase.
                    if j == 0 {
                        kind = SettingKind::MainstreamMaintained;
                    }
                    let (low, high, what) = match phase {
                        Phase::Primary if self.rng.random_range(0.0..1.0) < 0.3 => {
                            (3, 11, "Primary School")
                        }
                        Phase::Primary => (4, 11, "Primary School"),
                        _ if self.rng.random_range(0.0..1.0) < 0.5 => (11, 18, "High School"),
                        _ => (11, 16, "High School"),
                    };
                    self.add(place, d, kind, None, phase, (low, high), what, vec![])?;
                }
            }
        }
        Ok(())
    }

    /// Resourced provisions and SEN units of one authority, in schools of the matching
    /// governance.
    fn facilities(
        &mut self,
        place: Place,
        areas: &[GssCode],
        count: &dyn Fn(ProvisionKind) -> f64,
    ) -> Result<(), SeedError> {
        // Resourced provisions and SEN units, in schools of the matching governance.
        for (k, kind, facility) in [
            (
                ProvisionKind::MainstreamMaintainedRp,
                SettingKind::MainstreamMaintained,
                Facility::ResourcedProvision,
            ),
            (
                ProvisionKind::MainstreamMaintainedUnit,
                SettingKind::MainstreamMaintained,
                Facility::SenUnit,
            ),
            (
                ProvisionKind::MainstreamAcademyRp,
                SettingKind::MainstreamAcademy,
                Facility::ResourcedProvision,
            ),
            (
                ProvisionKind::MainstreamAcademyUnit,
                SettingKind::MainstreamAcademy,
                Facility::SenUnit,
            ),
            (
                ProvisionKind::MainstreamFreeRp,
                SettingKind::MainstreamFree,
                Facility::ResourcedProvision,
            ),
            (
                ProvisionKind::MainstreamFreeUnit,
                SettingKind::MainstreamFree,
                Facility::SenUnit,
            ),
        ] {
            let n = (count(k) / 12.0).ceil() as usize;
            let hosts: Vec<usize> = (0..self.settings.len())
                .filter(|&j| {
                    let s = &self.settings[j];
                    s.place == place && s.kind == kind && s.facility.is_none()
                })
                .collect();
            for j in 0..n {
                let host = if hosts.is_empty() {
                    None
                } else {
                    Some(self.settings[hosts[self.rng.random_range(0..hosts.len())]].clone())
                };
                let (d, phase, ages) = match &host {
                    Some(h) => (h.district.clone(), h.phase, (h.low, h.high)),
                    None if j % 2 == 0 => (self.pick(areas), Phase::Primary, (4, 11)),
                    None => (self.pick(areas), Phase::Secondary, (11, 16)),
                };
                let what = match facility {
                    Facility::ResourcedProvision => "Resourced Provision",
                    Facility::SenUnit => "SEN Unit",
                };
                let need = [
                    PrimaryNeed::Asd,
                    PrimaryNeed::Slcn,
                    PrimaryNeed::Semh,
                    PrimaryNeed::Hi,
                ][self.rng.random_range(0..4)];
                self.add(
                    place,
                    &d,
                    kind,
                    Some(facility),
                    phase,
                    ages,
                    what,
                    vec![need],
                )?;
            }
        }
        Ok(())
    }

    /// Independent mainstream, INMSS in the authority, colleges; what the authority places
    /// out of county is added to `elsewhere`.
    fn independent_and_colleges(
        &mut self,
        place: Place,
        areas: &[GssCode],
        count: &dyn Fn(ProvisionKind) -> f64,
        elsewhere: &mut OutOfCounty,
    ) -> Result<(), SeedError> {
        // Independent mainstream, INMSS in the authority, colleges.
        for _ in 0..(count(ProvisionKind::MainstreamIndependent) / 8.0).ceil() as usize {
            let d = self.pick(areas);
            self.add(
                place,
                &d,
                SettingKind::MainstreamIndependent,
                None,
                Phase::AllThrough,
                (4, 18),
                "Independent School",
                vec![],
            )?;
        }
        let inmss = count(ProvisionKind::SpecialIndependent);
        elsewhere.inmss += inmss * 0.55;
        for _ in 0..(inmss * 0.45 / 35.0).ceil() as usize {
            let d = self.pick(areas);
            self.add(
                place,
                &d,
                SettingKind::SpecialIndependent,
                None,
                Phase::AllThrough,
                (5, 19),
                "Independent Specialist School",
                vec![PrimaryNeed::Semh],
            )?;
        }
        let nm = count(ProvisionKind::SpecialNonMaintained);
        elsewhere.non_maintained += nm * 0.7;
        for _ in 0..(nm * 0.3 / 40.0).ceil() as usize {
            let d = self.pick(areas);
            self.add(
                place,
                &d,
                SettingKind::SpecialNonMaintained,
                None,
                Phase::AllThrough,
                (3, 19),
                "Non-maintained Special School",
                vec![PrimaryNeed::Hi],
            )?;
        }
        let fe = count(ProvisionKind::FeCollege) + count(ProvisionKind::UkrlpProvider);
        for j in 0..((fe / 250.0).ceil() as usize).max(1) {
            let d = areas[j % areas.len()].clone();
            self.add(
                place,
                &d,
                SettingKind::FeCollege,
                None,
                Phase::Post16,
                (16, 25),
                "College",
                vec![],
            )?;
        }
        let sp16 = count(ProvisionKind::SpecialistPost16);
        elsewhere.post16 += sp16 * 0.5;
        for _ in 0..(sp16 * 0.5 / 40.0).ceil() as usize {
            let d = self.pick(areas);
            self.add(
                place,
                &d,
                SettingKind::SpecialistPost16,
                None,
                Phase::Post16,
                (16, 25),
                "Specialist College",
                vec![],
            )?;
        }
        Ok(())
    }

    /// Out of county: independent and non-maintained special schools and specialist
    /// colleges in the neighbouring authorities.
    fn out_of_county(&mut self, elsewhere: &OutOfCounty) -> Result<(), SeedError> {
        let outside: Vec<GssCode> = self
            .geography
            .outside
            .iter()
            .map(|(_, g, _)| g.clone())
            .collect();
        for (n, kind, what, need, ages, phase) in [
            (
                (elsewhere.inmss / 30.0).ceil() as usize,
                SettingKind::SpecialIndependent,
                "Independent Specialist School",
                PrimaryNeed::Semh,
                (5, 19),
                Phase::AllThrough,
            ),
            (
                (elsewhere.non_maintained / 40.0).ceil() as usize,
                SettingKind::SpecialNonMaintained,
                "Non-maintained Special School",
                PrimaryNeed::Sld,
                (3, 19),
                Phase::AllThrough,
            ),
            (
                (elsewhere.post16 / 40.0).ceil() as usize,
                SettingKind::SpecialistPost16,
                "Specialist College",
                PrimaryNeed::Asd,
                (16, 25),
                Phase::Post16,
            ),
        ] {
            for j in 0..n {
                let d = outside[j % outside.len()].clone();
                self.add(
                    Place::Outside,
                    &d,
                    kind,
                    None,
                    phase,
                    ages,
                    what,
                    vec![need],
                )?;
            }
        }
        Ok(())
    }

    /// Change over the years: a small Lancashire primary closes in August 2019; a new SEMH
    /// special free school opens in Lancashire in September 2020.
    fn changes_over_the_years(&mut self) -> Result<(), SeedError> {
        let closing = (0..self.settings.len())
            .filter(|&j| {
                let s = &self.settings[j];
                s.place == Place::Partner(0) && s.phase == Phase::Primary && s.on_census()
            })
            .min_by(|&a, &b| self.settings[a].weight.total_cmp(&self.settings[b].weight));
        if let Some(j) = closing {
            let district = self.settings[j].district.clone();
            // Keep the district served: the closing school is never its only primary.
            let others = self
                .settings
                .iter()
                .filter(|s| s.district == district && s.phase == Phase::Primary && s.on_census())
                .count();
            if others > 1 {
                self.settings[j].closed = Some(date(2019, 8, 31));
            }
        }
        let d = self.geography.areas[0].gss.clone();
        let j = self.add(
            Place::Partner(0),
            &d,
            SettingKind::SpecialAcademyFree,
            None,
            Phase::AllThrough,
            (9, 18),
            "SEMH Free School",
            vec![PrimaryNeed::Semh],
        )?;
        self.settings[j].opened = date(2020, 9, 1);
        Ok(())
    }
}

/// What the authorities place in settings out of county, by kind.
#[derive(Debug, Default)]
struct OutOfCounty {
    inmss: f64,
    non_maintained: f64,
    post16: f64,
}

/// Picks the setting of `kind` for a child of authority `la` living in `district`, at
/// `stage` and academic age `age`, starting on `on`.
#[allow(clippy::too_many_arguments)]
pub fn choose(
    rng: &mut ChaCha8Rng,
    settings: &[SettingPlan],
    by_kind: &std::collections::HashMap<ProvisionKind, Vec<usize>>,
    kind: ProvisionKind,
    la: usize,
    district: &GssCode,
    stage: usize,
    age: i32,
    on: NaiveDate,
) -> Option<usize> {
    let candidates = by_kind.get(&kind)?;
    let out_of_county = kind.is_inmss() || kind == ProvisionKind::SpecialistPost16;
    let weight = |s: &SettingPlan| -> f64 {
        if !s.is_open(on) || !s.serves(stage, age) {
            return 0.0;
        }
        let base = match s.place {
            Place::Partner(p) if p == la && &s.district == district => 12.0,
            Place::Partner(p) if p == la => 2.0,
            Place::Partner(_) => 0.3,
            Place::Outside if out_of_county => 5.0,
            Place::Outside => 0.0,
        };
        base * s.weight
    };
    let weights: Vec<f64> = candidates.iter().map(|&j| weight(&settings[j])).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        // No setting of the kind serves the age here: any open one of the kind will do.
        let open: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&j| settings[j].is_open(on))
            .collect();
        return (!open.is_empty()).then(|| open[rng.random_range(0..open.len())]);
    }
    let mut roll = rng.random_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return Some(candidates[i]);
        }
        roll -= w;
    }
    candidates.last().copied()
}
