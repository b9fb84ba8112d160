//! The real figures the seeds are calibrated to and checked against, read from
//! `seeds/reference/` (copies of the DfE and ONS files, each with its source).
//!
//! The DfE files are read by the DfE importer itself, so the seeds see the published figures
//! exactly as an import would record them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use placeledger_domain::{
    AcademicYear, ActivityInput, ActivityMeasure, AuthorityCode, CaseloadInput, CeaseReason,
    Command, PrimaryNeed, ProvisionKind,
};
use placeledger_import::{dfe_ehcp, high_needs, ons_snpp};

use crate::SeedError;
use crate::geography::Geography;

/// A file of `seeds/reference/`, built in: its name there and its bytes.
macro_rules! built_in {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../seeds/reference/",
                $name
            )),
        )
    };
}

/// The January census of a calendar year: `2025` is the census of 2024/25.
pub fn census(january: i32) -> Result<AcademicYear, SeedError> {
    AcademicYear::new(january - 1).map_err(|e| SeedError::Reference(e.to_string()))
}

/// What the seeds must look like, per authority (`888`, `889`, `890`).
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// January plans per authority and census year (2015-2025), with the row's source.
    pub plans: BTreeMap<(String, i32), (u32, String)>,
    /// January 2026 plans per authority, from DfE's 2026 release (`dfe-2026/caseload.csv`,
    /// read by the DfE importer): the children's history is calibrated to them, while the
    /// published tables the seed records stop at January 2025 (the 2026 file is imported as
    /// each year's release is: README, "The January refresh").
    pub plans_2026: BTreeMap<String, u32>,
    /// England's January plans per census year (a year not retrieved is absent).
    pub england: BTreeMap<i32, u32>,
    /// January 2025 caseload cells per authority, as imported from `sen_needs_all_plans`.
    pub caseload_2025: BTreeMap<String, Vec<CaseloadInput>>,
    /// Activity per authority and calendar year, as imported from the DfE activity files.
    pub activity: BTreeMap<(String, i32), Vec<ActivityInput>>,
    /// Mainstream figures per authority and measure (`schools`, `pupils`), with the January.
    pub mainstream: BTreeMap<(String, String), (u32, i32, String)>,
    /// The ONS projection as `RecordPopulation` commands.
    pub population: Vec<Command>,
    /// High Needs Block allocations and DSG balances (`high_needs.csv`), as imported.
    pub high_needs: Vec<Command>,
    /// The annual cost of a place of each kind at the 2025-26 price base, the growth a year
    /// that back-casts it, and where it comes from (`unit_costs.csv`).
    pub unit_costs: Vec<UnitCost>,
}

/// One row of `unit_costs.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCost {
    pub kind: ProvisionKind,
    /// Pounds a year at the 2025-26 price base.
    pub annual_cost: f64,
    pub growth: f64,
    /// `published`, `derived` or `illustrative`.
    pub basis: String,
    pub source: String,
}

impl Reference {
    /// Reads the reference figures from `files` (the copies built into the binary, or a
    /// directory laid out as `seeds/reference`). `geography` says which authorities exist.
    pub fn load(files: &ReferenceFiles, geography: &Geography) -> Result<Reference, SeedError> {
        let state = geography.state()?;
        let mut reference = Reference::default();
        reference.read_plans(files, "ehcp_caseload_jan2015_2025_pan_lancs.csv")?;
        reference.read_england(files, "england_ehcp_totals_jan2015_2025.csv")?;
        reference.read_mainstream(files, "mainstream.csv")?;
        reference.read_dfe(
            files,
            &[
                "dfe/sen_needs_all_plans.csv",
                "dfe/sen_need_newplans.csv",
                "dfe/timeliness_20_week.csv",
                "dfe/ceased_plans.csv",
                "dfe/requests.csv",
            ],
            &state,
        )?;
        let (ons, bytes) = files.read("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv")?;
        reference.population = ons_snpp::parse(&ons.display().to_string(), &bytes, &state)
            .map_err(problems)?
            .commands;
        reference.read_unit_costs(files, "unit_costs.csv")?;
        let (release, bytes) = files.read("dfe-2026/caseload.csv")?;
        let parsed =
            dfe_ehcp::parse(&release.display().to_string(), &bytes, &state).map_err(problems)?;
        for command in parsed.commands {
            if let Command::RecordCaseload {
                authority,
                census: c,
                cells,
            } = command
                && c == census(2026)?
                && let Some(total) = cells
                    .iter()
                    .find(|x| x.age.is_none() && x.need.is_none() && x.kind.is_none())
                    .and_then(|x| x.plans)
            {
                let total = u32::try_from(total)
                    .map_err(|_| SeedError::Reference(format!("{}: {total}", release.display())))?;
                reference.plans_2026.insert(authority.to_string(), total);
            }
        }
        let (funding, bytes) = files.read("high_needs.csv")?;
        reference.high_needs = high_needs::parse(&funding.display().to_string(), &bytes, &state)
            .map_err(problems)?
            .commands;
        Ok(reference)
    }

    /// The reference figures of every English authority, for the national synthetic history:
    /// plans in force each January 2019-2025, the January 2025 caseload and the flows (new
    /// plans, requests, ceased plans) from `national/` (DfE's files for every authority),
    /// England's totals, unit costs and Lancashire's mainstream figures as for the seed.
    ///
    /// What the files do not hold is made up, and says so where it is recorded:
    /// - plans in a January the national file lacks (2015-2018, and an authority's years
    ///   before it existed) are back-cast from its nearest known January by England's totals;
    /// - population: ONS's projection for the pan-Lancashire areas; every other district gets
    ///   pan-Lancashire's age profile scaled by its authority's January 2025 plans and split
    ///   evenly over the authority's districts (release: "synthetic proxy ...");
    /// - mainstream schools and pupils: Lancashire's, scaled by that population.
    pub fn load_national(
        files: &ReferenceFiles,
        england: &Geography,
    ) -> Result<Reference, SeedError> {
        let state = england.state()?;
        let mut reference = Reference::default();
        reference.read_england(files, "england_ehcp_totals_jan2015_2025.csv")?;
        reference.read_mainstream(files, "mainstream.csv")?;
        reference.read_unit_costs(files, "unit_costs.csv")?;
        reference.read_plans(files, "ehcp_caseload_jan2015_2025_pan_lancs.csv")?;
        reference.plans.retain(|(_, year), _| *year < 2019);
        reference.read_national_plans(
            files,
            "national/ehcp_plans_in_force_all_las.csv",
            england,
        )?;
        reference.back_cast_plans(england);
        // The flows of 2019-2024 name authorities that have since been replaced (Cumbria,
        // Northamptonshire, Poole, Bournemouth): registered for reading only, their rows are
        // read and left unused (their successors' histories start from their own figures).
        let mut readable = state.clone();
        let codes = rows(files, "la_codes.csv")?;
        for row in &codes.rows {
            if codes.field(row, "successors")?.is_empty() {
                continue;
            }
            let register = Command::RegisterAuthority {
                authority: AuthorityCode::parse(&codes.field(row, "la_code")?)
                    .map_err(|e| SeedError::Reference(e.to_string()))?,
                gss: placeledger_domain::GssCode::parse(&codes.field(row, "gss")?)
                    .map_err(|e| SeedError::Reference(e.to_string()))?,
                name: codes.field(row, "name")?,
            };
            for e in placeledger_domain::decide(&readable, &register)
                .map_err(|e| SeedError::Reference(e.to_string()))?
            {
                readable = placeledger_domain::evolve(readable, &e);
            }
        }
        reference.read_dfe(
            files,
            &[
                "national/sen_needs_all_plans.csv",
                "national/sen_need_newplans.csv",
                "national/ceased_plans.csv",
                "national/requests.csv",
            ],
            &readable,
        )?;
        let (ons, bytes) = files.read("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv")?;
        let lancs = Geography::pan_lancashire()?;
        let ons = ons_snpp::parse(&ons.display().to_string(), &bytes, &lancs.state()?)
            .map_err(problems)?
            .commands;
        reference.population = proxy_population(&ons, &reference, england, &lancs);
        reference.proxy_mainstream(england, &lancs);
        let (funding, bytes) = files.read("high_needs.csv")?;
        reference.high_needs = high_needs::parse(&funding.display().to_string(), &bytes, &state)
            .map_err(problems)?
            .commands;
        Ok(reference)
    }

    /// The DfE files `names` as the importer reads them: the January 2025 caseload and the
    /// activity per authority and year.
    fn read_dfe(
        &mut self,
        files: &ReferenceFiles,
        names: &[&str],
        state: &placeledger_domain::State,
    ) -> Result<(), SeedError> {
        for file in names {
            let (path, bytes) = files.read(file)?;
            let parsed =
                dfe_ehcp::parse(&path.display().to_string(), &bytes, state).map_err(problems)?;
            for command in parsed.commands {
                match command {
                    Command::RecordCaseload {
                        authority,
                        census: c,
                        cells,
                    } if c == census(2025)? => {
                        self.caseload_2025.insert(authority.to_string(), cells);
                    }
                    Command::RecordActivity {
                        authority,
                        year,
                        cells,
                    } => {
                        self.activity
                            .entry((authority.to_string(), year))
                            .or_default()
                            .extend(cells);
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// `national/ehcp_plans_in_force_all_las.csv`: plans in force per authority and January,
    /// for the authorities of `england` (a retired code's rows are left out: its successors
    /// are back-cast from their own first January).
    fn read_national_plans(
        &mut self,
        files: &ReferenceFiles,
        name: &str,
        england: &Geography,
    ) -> Result<(), SeedError> {
        let t = rows(files, name)?;
        for row in &t.rows {
            if t.field(row, "geographic_level")? != "Local authority" {
                continue;
            }
            let la = t.field(row, "old_la_code")?;
            if !england.partners.iter().any(|p| p.0.as_str() == la) {
                continue;
            }
            let period = t.field(row, "time_period")?;
            let january: i32 = period
                .get(..4)
                .and_then(|y| y.parse().ok())
                .map(|y: i32| y + 1)
                .ok_or_else(|| {
                    SeedError::Reference(format!("{}: time_period {period:?}", t.path.display()))
                })?;
            let plans: u32 = t.number(row, "total_plans")?;
            self.plans
                .insert((la, january), (plans, t.field(row, "source")?));
        }
        Ok(())
    }

    /// Fills every authority's Januaries 2015-2025 that no file gives: its nearest known
    /// January scaled by England's totals (2017, not retrieved, taken between 2016 and 2018).
    fn back_cast_plans(&mut self, england: &Geography) {
        let mut totals: BTreeMap<i32, f64> = self
            .england
            .iter()
            .map(|(y, n)| (*y, f64::from(*n)))
            .collect();
        if let (Some(a), Some(b)) = (totals.get(&2016), totals.get(&2018)) {
            let between = (a * b).sqrt();
            totals.entry(2017).or_insert(between);
        }
        for (la, _, _) in &england.partners {
            let la = la.to_string();
            let known: Vec<(i32, u32)> = (2015..=2025)
                .filter_map(|y| self.plans(&la, y).map(|n| (y, n)))
                .collect();
            for year in 2015..=2025 {
                if self.plans(&la, year).is_some() {
                    continue;
                }
                let Some(&(from, n)) = known.iter().min_by_key(|(k, _)| ((k - year).abs(), -k))
                else {
                    continue;
                };
                let (Some(at), Some(base)) = (totals.get(&year), totals.get(&from)) else {
                    continue;
                };
                let plans = (f64::from(n) * at / base).round() as u32;
                self.plans.insert(
                    (la.clone(), year),
                    (
                        plans,
                        format!("synthetic: back-cast from January {from} by England's totals"),
                    ),
                );
            }
        }
    }

    /// Lancashire's mainstream schools and pupils, scaled to each authority by its
    /// population aged 4-15 in 2022 (proxy or ONS: see [`Reference::load_national`]).
    fn proxy_mainstream(&mut self, england: &Geography, lancs: &Geography) {
        let mut children: BTreeMap<String, f64> = BTreeMap::new();
        for c in &self.population {
            if let Command::RecordPopulation {
                area,
                year: 2022,
                age: placeledger_domain::AgeGroup::Single(age),
                persons,
                ..
            } = c
                && (4..=15).contains(age)
                && let Some(a) = england.areas.iter().find(|a| &a.gss == area)
            {
                *children.entry(a.authority.to_string()).or_default() +=
                    persons.to_string().parse::<f64>().unwrap_or(0.0);
            }
        }
        let lancashire = lancs.partners[0].0.to_string();
        let Some(&base) = children.get(&lancashire) else {
            return;
        };
        for measure in ["schools", "pupils"] {
            let Some((n, january, _)) = self
                .mainstream
                .get(&(lancashire.clone(), measure.to_owned()))
                .cloned()
            else {
                continue;
            };
            for (la, c) in &children {
                if la == &lancashire {
                    continue;
                }
                let scaled = (f64::from(n) * c / base).round().max(1.0) as u32;
                self.mainstream.insert(
                    (la.clone(), measure.to_owned()),
                    (
                        scaled,
                        january,
                        "synthetic proxy: Lancashire's figure scaled by population aged 4-15"
                            .into(),
                    ),
                );
            }
        }
    }

    fn read_plans(&mut self, files: &ReferenceFiles, name: &str) -> Result<(), SeedError> {
        let t = rows(files, name)?;
        for row in &t.rows {
            let year: i32 = t.number(row, "january_year")?;
            let plans: u32 = t.number(row, "ehcp_plus_statements_total")?;
            self.plans.insert(
                (t.field(row, "la_code")?, year),
                (plans, t.field(row, "source")?),
            );
        }
        Ok(())
    }

    fn read_unit_costs(&mut self, files: &ReferenceFiles, name: &str) -> Result<(), SeedError> {
        let t = rows(files, name)?;
        let path = &t.path;
        for row in &t.rows {
            let code = t.field(row, "provision_kind")?;
            let kind = ProvisionKind::parse(&code)
                .map_err(|e| SeedError::Reference(format!("{}: {e}", path.display())))?;
            let price_year = t.field(row, "price_year")?;
            if price_year != "2025-26" {
                return Err(SeedError::Reference(format!(
                    "{}: {code}: the seed's price base is 2025-26, not {price_year}",
                    path.display()
                )));
            }
            self.unit_costs.push(UnitCost {
                kind,
                annual_cost: t.number(row, "annual_cost")?,
                growth: t.number(row, "growth_a_year")?,
                basis: t.field(row, "basis")?,
                source: t.field(row, "source")?,
            });
        }
        Ok(())
    }

    fn read_england(&mut self, files: &ReferenceFiles, name: &str) -> Result<(), SeedError> {
        let t = rows(files, name)?;
        for row in &t.rows {
            // 2017's figure was not retrieved: its cell is empty.
            if t.field(row, "england_ehcp_plus_statements")?.is_empty() {
                continue;
            }
            self.england.insert(
                t.number(row, "january_year")?,
                t.number(row, "england_ehcp_plus_statements")?,
            );
        }
        Ok(())
    }

    fn read_mainstream(&mut self, files: &ReferenceFiles, name: &str) -> Result<(), SeedError> {
        let t = rows(files, name)?;
        let path = &t.path;
        for row in &t.rows {
            let as_at = t.field(row, "as_at")?;
            let january = as_at.trim_start_matches("Jan ").parse().map_err(|_| {
                SeedError::Reference(format!("{}: as_at {as_at:?}", path.display()))
            })?;
            self.mainstream.insert(
                (t.field(row, "la_code")?, t.field(row, "measure")?),
                (t.number(row, "value")?, january, t.field(row, "source")?),
            );
        }
        Ok(())
    }

    /// January plans for `la` in `year`.
    pub fn plans(&self, la: &str, year: i32) -> Option<u32> {
        self.plans.get(&(la.to_owned(), year)).map(|(n, _)| *n)
    }

    /// January plans for `la` in `year`, January 2026 included (DfE's 2026 release).
    pub fn plans_known(&self, la: &str, year: i32) -> Option<u32> {
        match year {
            2026 => self.plans_2026.get(la).copied(),
            _ => self.plans(la, year),
        }
    }

    /// An activity count for all ages, needs and kinds (`reason` as given).
    pub fn activity(
        &self,
        la: &str,
        year: i32,
        measure: ActivityMeasure,
        reason: Option<CeaseReason>,
    ) -> Option<u32> {
        self.activity
            .get(&(la.to_owned(), year))?
            .iter()
            .find(|c| {
                c.measure == measure
                    && c.age.is_none()
                    && c.need.is_none()
                    && c.kind.is_none()
                    && c.reason == reason
            })
            .and_then(|c| c.count)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// January 2025 cells of `la` matching the filter, as (age, need, kind, count); unknown
    /// counts are left out.
    pub fn cells_2025(&self, la: &str) -> impl Iterator<Item = &CaseloadInput> {
        self.caseload_2025
            .get(la)
            .into_iter()
            .flatten()
            .filter(|c| c.plans.is_some())
    }

    /// January 2025 plans of `la` by single year of age: the band "under 3" is spread over
    /// ages 1 and 2 (a plan before the first birthday is rare).
    pub fn age_profile_2025(&self, la: &str) -> [f64; 26] {
        let mut out = [0.0; 26];
        for c in self.cells_2025(la) {
            if let (Some((from, to)), None, None, Some(n)) = (c.age, c.need, c.kind, c.plans) {
                spread(&mut out, from, to, n as f64);
            }
        }
        out
    }

    /// January 2025 plans of `la` by single year of age and need.
    pub fn need_by_age_2025(&self, la: &str) -> BTreeMap<(usize, PrimaryNeed), f64> {
        let mut out = BTreeMap::new();
        for c in self.cells_2025(la) {
            if let (Some((from, to)), Some(need), None, Some(n)) = (c.age, c.need, c.kind, c.plans)
            {
                let mut ages = [0.0; 26];
                spread(&mut ages, from, to, n as f64);
                for (age, v) in ages.iter().enumerate() {
                    *out.entry((age, need)).or_insert(0.0) += v;
                }
            }
        }
        out
    }

    /// January 2025 plans of `la` by need and type of placement.
    pub fn need_by_kind_2025(&self, la: &str) -> BTreeMap<(PrimaryNeed, ProvisionKind), f64> {
        let mut out = BTreeMap::new();
        for c in self.cells_2025(la) {
            if let (None, Some(need), Some(kind), Some(n)) = (c.age, c.need, c.kind, c.plans) {
                *out.entry((need, kind)).or_insert(0.0) += n as f64;
            }
        }
        out
    }

    /// A January 2025 total of `la`: all plans, or of one need, or of one kind.
    pub fn total_2025(
        &self,
        la: &str,
        need: Option<PrimaryNeed>,
        kind: Option<ProvisionKind>,
    ) -> Option<u32> {
        self.cells_2025(la)
            .find(|c| c.age.is_none() && c.need == need && c.kind == kind)
            .and_then(|c| c.plans)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// Ages when plans started in 2024 for `la` (all needs), by single year.
    pub fn new_plan_ages(&self, la: &str) -> [f64; 26] {
        let mut out = [0.0; 26];
        for c in self
            .activity
            .get(&(la.to_owned(), 2024))
            .into_iter()
            .flatten()
        {
            if let (ActivityMeasure::NewPlans, Some((from, to)), None, None, Some(n)) =
                (c.measure, c.age, c.need, c.kind, c.count)
            {
                spread(&mut out, from, to, n as f64);
            }
        }
        out
    }

    /// The authorities the reference covers.
    pub fn authorities(&self) -> Vec<AuthorityCode> {
        self.caseload_2025
            .keys()
            .filter_map(|la| AuthorityCode::parse(la).ok())
            .collect()
    }
}

/// The population of every district of `england`: ONS's projection (`ons`) for the
/// pan-Lancashire areas; elsewhere pan-Lancashire's profile by year and age, scaled by the
/// authority's January 2025 plans against pan-Lancashire's and split evenly over its districts.
fn proxy_population(
    ons: &[Command],
    reference: &Reference,
    england: &Geography,
    lancs: &Geography,
) -> Vec<Command> {
    use placeledger_domain::{AgeGroup, PopulationBasis};
    use rust_decimal::Decimal;
    let mut profile: BTreeMap<(i32, u8), f64> = BTreeMap::new();
    for c in ons {
        if let Command::RecordPopulation {
            year,
            age: AgeGroup::Single(age),
            persons,
            ..
        } = c
        {
            *profile.entry((*year, *age)).or_default() +=
                persons.to_string().parse::<f64>().unwrap_or(0.0);
        }
    }
    let lancs_plans: f64 = lancs
        .partners
        .iter()
        .filter_map(|p| reference.plans(p.0.as_str(), 2025))
        .map(f64::from)
        .sum();
    let mut out: Vec<Command> = ons.to_vec();
    for (la, _, name) in &england.partners {
        if lancs.partner_index(la).is_some() {
            continue;
        }
        let districts: Vec<&crate::geography::Area> = england
            .areas
            .iter()
            .filter(|a| &a.authority == la)
            .collect();
        let plans = reference.plans(la.as_str(), 2025).map_or(0.0, f64::from);
        if districts.is_empty() || lancs_plans <= 0.0 {
            continue;
        }
        let scale = plans / lancs_plans / districts.len() as f64;
        for area in districts {
            for (&(year, age), &persons) in &profile {
                out.push(Command::RecordPopulation {
                    area: area.gss.clone(),
                    year,
                    age: AgeGroup::Single(age),
                    persons: Decimal::from_f64_retain(persons * scale)
                        .unwrap_or_default()
                        .round_dp(1),
                    basis: PopulationBasis::Projection,
                    release: format!(
                        "synthetic proxy: pan-Lancashire's ONS 2022-based SNPP age profile \
                         scaled by {name}'s January 2025 plans (no ONS projection for it in \
                         seeds/reference)"
                    ),
                });
            }
        }
    }
    out
}

/// Adds `n` to ages `from..=to`: a single year as is; "under 3" over ages 1 and 2 (1:3);
/// "20 and over" tapering off to 25.
fn spread(out: &mut [f64; 26], from: i64, to: i64, n: f64) {
    let (from, to) = (from.clamp(0, 25) as usize, to.clamp(0, 25) as usize);
    if from == to {
        out[from] += n;
    } else if from == 0 {
        out[1.min(to)] += n * 0.25;
        out[2.min(to)] += n * 0.75;
    } else {
        let weights: Vec<f64> = (from..=to)
            .map(|a| 0.5f64.powi((a - from) as i32))
            .collect();
        let sum: f64 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            out[from + i] += n * w / sum;
        }
    }
}

/// Where the reference figures are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceFiles {
    /// The copies of `seeds/reference/` built into the binary: `seed load` and `seed check`
    /// need no checkout.
    BuiltIn,
    /// A directory laid out as `seeds/reference/` (a newer release to try, say).
    Dir(PathBuf),
}

/// Every reference file the seeds read, as built in.
const BUILT_IN: &[(&str, &[u8])] = &[
    built_in!("ehcp_caseload_jan2015_2025_pan_lancs.csv"),
    built_in!("england_ehcp_totals_jan2015_2025.csv"),
    built_in!("mainstream.csv"),
    built_in!("dfe/sen_needs_all_plans.csv"),
    built_in!("dfe/sen_need_newplans.csv"),
    built_in!("dfe/timeliness_20_week.csv"),
    built_in!("dfe/ceased_plans.csv"),
    built_in!("dfe/requests.csv"),
    built_in!("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv"),
    built_in!("unit_costs.csv"),
    built_in!("dfe-2026/caseload.csv"),
    built_in!("high_needs.csv"),
];

impl ReferenceFiles {
    /// The file `name` (a path under `seeds/reference/`): the path it is known by in
    /// messages, and its bytes.
    pub fn read(&self, name: &str) -> Result<(PathBuf, Cow<'static, [u8]>), SeedError> {
        match self {
            ReferenceFiles::BuiltIn => {
                let (_, bytes) = BUILT_IN
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| SeedError::Reference(format!("{name} is not built in")))?;
                Ok((
                    PathBuf::from(format!("seeds/reference/{name} (built in)")),
                    Cow::Borrowed(*bytes),
                ))
            }
            ReferenceFiles::Dir(dir) => {
                let path = dir.join(name);
                let bytes = std::fs::read(&path).map_err(|e| SeedError::Io(path.clone(), e))?;
                Ok((path, Cow::Owned(bytes)))
            }
        }
    }
}

fn problems(p: Vec<placeledger_import::Problem>) -> SeedError {
    SeedError::Reference(
        p.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// A small CSV file read whole: its header and rows.
struct Rows {
    path: PathBuf,
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

fn rows(files: &ReferenceFiles, name: &str) -> Result<Rows, SeedError> {
    let (path, bytes) = files.read(name)?;
    let bad = |e: csv::Error| SeedError::Reference(format!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let headers = reader.headers().map_err(bad)?.clone();
    let rows = reader.records().collect::<Result<_, _>>().map_err(bad)?;
    Ok(Rows {
        path,
        headers,
        rows,
    })
}

impl Rows {
    fn field(&self, row: &csv::StringRecord, name: &str) -> Result<String, SeedError> {
        let i = self.headers.iter().position(|c| c == name).ok_or_else(|| {
            SeedError::Reference(format!("{}: no column {name}", self.path.display()))
        })?;
        Ok(row.get(i).unwrap_or_default().to_owned())
    }

    fn number<T: std::str::FromStr>(
        &self,
        row: &csv::StringRecord,
        name: &str,
    ) -> Result<T, SeedError> {
        let text = self.field(row, name)?;
        text.parse().map_err(|_| {
            SeedError::Reference(format!(
                "{}: {name} {text:?} is not a number",
                self.path.display()
            ))
        })
    }
}
