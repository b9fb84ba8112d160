//! Children with plans: a stock-flow simulation per authority and year, calibrated so each
//! January's caseload, each year's new and ceased plans, and January 2025's mix of needs,
//! ages and placements agree with DfE's figures; then each child's commands.
//!
//! Per authority and calendar year: plans reaching 25 cease; a few children move between
//! the three authorities; the published number of plans cease (by the published reasons,
//! the older reasons only for the over-16s), chosen where the caseload has more children of
//! an age than January 2025's profile wants; the published number of new plans are issued
//! at the published ages when plans start; and plans taken over from other authorities
//! (transfers in, not new plans) make up the rest of the published January total, at the
//! ages still short of the profile. Placements are drawn per phase from a need x stage x
//! kind table fitted to the published need x age and need x placement tables.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Days, NaiveDate};
use placeledger_domain::{
    AcademicYear, ActivityMeasure, AssessmentDecision, CeaseReason, ChildId, Command, Elsewhere,
    GssCode, NewHome, PlacedAt, PlacementEndReason, PrimaryNeed, ProvisionKind, ReviewOutcome,
    TransferIn, YearMonth,
};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::SeedError;
use crate::generate::{HISTORY_END, Population, Timeline, census_day, date};
use crate::geography::Geography;
use crate::ipf;
use crate::reference::Reference;
use crate::settings::{SettingPlan, choose};

/// The placements a child can have: SEN2's types as Placeledger records them.
const KINDS: &[ProvisionKind] = &[
    ProvisionKind::MainstreamMaintained,
    ProvisionKind::MainstreamMaintainedRp,
    ProvisionKind::MainstreamMaintainedUnit,
    ProvisionKind::MainstreamAcademy,
    ProvisionKind::MainstreamAcademyRp,
    ProvisionKind::MainstreamAcademyUnit,
    ProvisionKind::MainstreamFree,
    ProvisionKind::MainstreamFreeRp,
    ProvisionKind::MainstreamFreeUnit,
    ProvisionKind::MainstreamIndependent,
    ProvisionKind::SpecialMaintained,
    ProvisionKind::SpecialAcademyFree,
    ProvisionKind::SpecialIndependent,
    ProvisionKind::SpecialNonMaintained,
    ProvisionKind::ApMaintained,
    ProvisionKind::ApAcademy,
    ProvisionKind::ApFree,
    ProvisionKind::FeCollege,
    ProvisionKind::SpecialistPost16,
    ProvisionKind::ElectiveHomeEducation,
    ProvisionKind::OtherArrangementsLa,
    ProvisionKind::OtherArrangementsParents,
    ProvisionKind::NotInEducation,
    ProvisionKind::NonMaintainedEarlyYears,
    ProvisionKind::NotRecorded,
];

/// SEN2 placement types Placeledger records as a near one (same group in every table).
fn recorded_as(kind: ProvisionKind) -> ProvisionKind {
    use ProvisionKind as K;
    match kind {
        K::UkrlpProvider => K::FeCollege,
        K::OnlineProvider
        | K::WelshEstablishment
        | K::OtherPlacementSettings
        | K::OtherSchoolsAndEstablishments => K::OtherArrangementsLa,
        K::NotInEducationCompulsoryAge
        | K::NotInEducationNoticeToCease
        | K::NotInEducationOther => K::NotInEducation,
        other => other,
    }
}

/// Phase stage by academic age: early years, primary, secondary, 16-18, 19-25.
pub fn stage(age: i32) -> usize {
    match age {
        ..=3 => 0,
        4..=10 => 1,
        11..=15 => 2,
        16..=18 => 3,
        _ => 4,
    }
}

const STAGES: usize = 5;

fn allowed(stage: usize, kind: ProvisionKind) -> bool {
    use ProvisionKind as K;
    let mainstream_plain = matches!(
        kind,
        K::MainstreamMaintained | K::MainstreamAcademy | K::MainstreamFree
    );
    let mainstream = mainstream_plain
        || matches!(
            kind,
            K::MainstreamMaintainedRp
                | K::MainstreamMaintainedUnit
                | K::MainstreamAcademyRp
                | K::MainstreamAcademyUnit
                | K::MainstreamFreeRp
                | K::MainstreamFreeUnit
                | K::MainstreamIndependent
        );
    let special = matches!(
        kind,
        K::SpecialMaintained
            | K::SpecialAcademyFree
            | K::SpecialIndependent
            | K::SpecialNonMaintained
    );
    let ap = matches!(kind, K::ApMaintained | K::ApAcademy | K::ApFree);
    let fe = matches!(kind, K::FeCollege | K::SpecialistPost16);
    let anywhere = matches!(
        kind,
        K::OtherArrangementsLa | K::OtherArrangementsParents | K::NotRecorded
    );
    match stage {
        0 => {
            mainstream_plain
                || matches!(kind, K::SpecialMaintained | K::SpecialAcademyFree)
                || kind == K::NonMaintainedEarlyYears
                || anywhere
        }
        1 | 2 => {
            mainstream
                || special
                || ap
                || anywhere
                || matches!(kind, K::ElectiveHomeEducation | K::NotInEducation)
        }
        3 => {
            mainstream
                || special
                || ap
                || fe
                || anywhere
                || matches!(kind, K::ElectiveHomeEducation | K::NotInEducation)
        }
        _ => special || fe || anywhere || kind == K::NotInEducation,
    }
}

fn elsewhere(kind: ProvisionKind) -> Option<Elsewhere> {
    match kind {
        ProvisionKind::ElectiveHomeEducation => Some(Elsewhere::ElectiveHomeEducation),
        ProvisionKind::OtherArrangementsLa => Some(Elsewhere::OtherArrangementsLa),
        ProvisionKind::OtherArrangementsParents => Some(Elsewhere::OtherArrangementsParents),
        ProvisionKind::NotInEducation => Some(Elsewhere::NotInEducation),
        ProvisionKind::NonMaintainedEarlyYears => Some(Elsewhere::NonMaintainedEarlyYears),
        _ => None,
    }
}

/// Where plans of other authorities come from when taken over.
const ELSEWHERE_LAS: &[&str] = &[
    "Cumberland",
    "Wigan",
    "Bolton",
    "Sefton",
    "Bradford",
    "Kirklees",
    "Manchester",
    "Liverpool",
    "Calderdale",
    "North Yorkshire",
    "Westmorland and Furness",
    "Birmingham",
];

/// What one authority's children look like.
struct Model {
    code: String,
    districts: Vec<(GssCode, f64)>,
    /// January 2025 plans by academic age (share).
    profile: [f64; 26],
    /// Ages when plans start (share).
    new_ages: [f64; 26],
    /// Need by age: weights per need (in `PrimaryNeed::ALL` order), per age.
    need_by_age: Vec<Vec<f64>>,
    /// Placement weights per need, stage and kind (in `KINDS` order).
    kind_by: Vec<Vec<Vec<f64>>>,
    /// Cease reasons and their shares.
    reasons: Vec<(CeaseReason, f64)>,
    ceased_rate: f64,
}

#[derive(Debug, Clone)]
struct Kid {
    la: usize,
    district: GssCode,
    born: YearMonth,
    need: PrimaryNeed,
    registered: NaiveDate,
    requested: NaiveDate,
    decided: NaiveDate,
    issued: NaiveDate,
    transfer_in: Option<(String, NaiveDate)>,
    ceased: Option<(NaiveDate, CeaseReason)>,
    moves: Vec<(NaiveDate, usize, GssCode)>,
}

impl Kid {
    /// The authority (index) and district the child lives in on `on`.
    fn home_on(&self, on: NaiveDate) -> (usize, GssCode) {
        self.moves
            .iter()
            .rev()
            .find(|(d, _, _)| *d <= on)
            .map_or((self.la, self.district.clone()), |(_, la, d)| {
                (*la, d.clone())
            })
    }
}

#[derive(Debug, Clone)]
struct Refusal {
    la: usize,
    district: GssCode,
    born: YearMonth,
    requested: NaiveDate,
}

pub struct Children<'a> {
    rng: &'a mut ChaCha8Rng,
    reference: &'a Reference,
    geography: &'a Geography,
    settings: &'a [SettingPlan],
    by_kind: HashMap<ProvisionKind, Vec<usize>>,
    models: Vec<Model>,
    kids: Vec<Kid>,
    active: Vec<Vec<usize>>,
    refusals: Vec<Refusal>,
    /// The placements of the January 2025 caseload, dealt out per authority, need and stage.
    bags_2025: HashMap<(usize, usize, usize), Vec<ProvisionKind>>,
}

/// `n` shared out in proportion to `weights`, by largest remainder: the counts add up to
/// `n` and each is within one of its exact share.
fn quotas(weights: &[f64], n: usize) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let short = n.saturating_sub(out.iter().sum());
    for &i in order.iter().take(short) {
        out[i] += 1;
    }
    out
}

/// Shuffles `v` in place (Fisher-Yates).
fn shuffle<T>(rng: &mut ChaCha8Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let mut roll = rng.random_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len() - 1
}

/// `n` of `items`, without replacement, each chosen with probability growing with its weight
/// (Efraimidis and Spirakis).
fn sample(rng: &mut ChaCha8Rng, items: &[usize], weights: &[f64], n: usize) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize)> = items
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(&i, &w)| {
            let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
            (u.ln() / w, i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    keyed.into_iter().take(n).map(|(_, i)| i).collect()
}

/// A day in calendar year `y` between February and mid-December: after the January census,
/// before the next.
fn day_in(rng: &mut ChaCha8Rng, y: i32) -> NaiveDate {
    date(y, 2, 1) + Days::new(rng.random_range(0..320))
}

fn normalise(v: &mut [f64]) {
    let sum: f64 = v.iter().sum();
    if sum > 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

impl<'a> Children<'a> {
    pub fn new(
        rng: &'a mut ChaCha8Rng,
        reference: &'a Reference,
        geography: &'a Geography,
        population: &Population,
        settings: &'a [SettingPlan],
    ) -> Result<Self, SeedError> {
        let mut by_kind: HashMap<ProvisionKind, Vec<usize>> = HashMap::new();
        for (j, s) in settings.iter().enumerate() {
            by_kind.entry(s.provision).or_default().push(j);
        }
        let mut models = Vec::new();
        for (la, _, _) in &geography.partners {
            models.push(model(reference, geography, population, la.as_str())?);
        }
        Ok(Children {
            rng,
            reference,
            geography,
            settings,
            by_kind,
            active: vec![Vec::new(); models.len()],
            models,
            kids: Vec::new(),
            refusals: Vec::new(),
            bags_2025: HashMap::new(),
        })
    }

    fn target(&self, la: usize, year: i32) -> f64 {
        let code = &self.models[la].code;
        match self.reference.plans_known(code, year) {
            Some(n) => f64::from(n),
            None => {
                // Beyond the published series: the last year's growth once more.
                let last = self.reference.plans(code, 2025).map_or(0.0, f64::from);
                let before = self.reference.plans(code, 2024).map_or(last, f64::from);
                (last * last / before.max(1.0)).round()
            }
        }
    }

    fn activity(&self, la: usize, year: i32, m: ActivityMeasure) -> Option<f64> {
        self.reference
            .activity(&self.models[la].code, year, m, None)
            .map(f64::from)
    }

    fn age_next(&self, k: usize, year: i32) -> i32 {
        AcademicYear::new(year).map_or(0, |ay| self.kids[k].born.academic_age(ay))
    }

    fn district(&mut self, la: usize) -> GssCode {
        let weights: Vec<f64> = self.models[la].districts.iter().map(|d| d.1).collect();
        let i = pick(self.rng, &weights);
        self.models[la].districts[i].0.clone()
    }

    /// A primary need for a child who is `age` at the January census of `year`, drawn from
    /// January 2025's mix at the age the child is (or would be) then: a plan's need is
    /// recorded once, and the 2025 caseload is the published one.
    fn need(&mut self, la: usize, age: i32, year: i32) -> PrimaryNeed {
        let age = (age + 2025 - year).clamp(0, 25) as usize;
        let i = pick(self.rng, &self.models[la].need_by_age[age].clone());
        PrimaryNeed::ALL[i]
    }

    fn born(&mut self, academic_start: i32, age: i32) -> Result<YearMonth, SeedError> {
        let month = self.rng.random_range(1..=12u32);
        let year = academic_start - age - i32::from(month > 8);
        YearMonth::new(year, month).map_err(|e| SeedError::Invalid(e.to_string()))
    }

    /// A child whose plan is issued on `issued` after a request `lag` days earlier.
    fn new_kid(
        &mut self,
        la: usize,
        born: YearMonth,
        issued: NaiveDate,
        lag: u64,
        need: PrimaryNeed,
    ) -> usize {
        let earliest = born.first_day() + Days::new(30);
        let requested = (issued - Days::new(lag)).max(earliest).min(issued);
        let registered = (requested - Days::new(self.rng.random_range(0..30))).max(earliest);
        let span = (issued - requested).num_days().max(1);
        let decided = requested + Days::new(self.rng.random_range(0..span.min(112)) as u64);
        let district = self.district(la);
        self.kids.push(Kid {
            la,
            district,
            born,
            need,
            registered: registered.min(requested),
            requested,
            decided: decided.min(issued),
            issued,
            transfer_in: None,
            ceased: None,
            moves: Vec::new(),
        });
        self.kids.len() - 1
    }

    fn lag(&mut self, la: usize, year: i32) -> u64 {
        let within = match (
            self.activity(la, year, ActivityMeasure::PlansIssuedWithin20Weeks),
            self.activity(la, year, ActivityMeasure::PlansIssued),
        ) {
            (Some(w), Some(n)) if n > 0.0 => w / n,
            _ => 0.6,
        };
        if self.rng.random_range(0.0..1.0) < within {
            self.rng.random_range(63..=140)
        } else {
            self.rng.random_range(141..=400)
        }
    }

    /// Runs 2015 to January 2026.
    pub fn simulate(&mut self) -> Result<(), SeedError> {
        // The caseload of January 2015, with plans (and statements) issued before it.
        for la in 0..self.models.len() {
            let n = self.target(la, 2015) as usize;
            for _ in 0..n {
                let age = pick(self.rng, &self.models[la].profile) as i32;
                let born = self.born(2014, age)?;
                let need = self.need(la, age, 2015);
                let held = self.rng.random_range(30..=(age.clamp(1, 10) * 365).max(60)) as u64;
                let issued = (census_day(2015) - Days::new(held))
                    .max(born.first_day() + Days::new(200))
                    .min(census_day(2015) - Days::new(1));
                let lag = self.rng.random_range(70..=300);
                let k = self.new_kid(la, born, issued, lag, need);
                self.active[la].push(k);
            }
        }
        for year in 2015..=2025 {
            self.year(year)?;
        }
        self.settle_2025();
        Ok(())
    }

    /// The authority a child's plan belongs to on `on`.
    fn authority_on(&self, k: usize, on: NaiveDate) -> usize {
        self.kids[k].home_on(on).0
    }

    /// The January 2025 caseload gets exactly the published mix: needs are dealt out per
    /// authority and age from the published need x age table, and the placements the
    /// caseload holds that day from the fitted need x stage x kind table. (Children not in
    /// that caseload keep their drawn needs and placements.)
    fn settle_2025(&mut self) {
        let on = census_day(2025);
        let Ok(year) = AcademicYear::new(2024) else {
            return;
        };
        let mut groups: BTreeMap<(usize, i32), Vec<usize>> = BTreeMap::new();
        for k in 0..self.kids.len() {
            let kid = &self.kids[k];
            let in_force = kid.issued <= on && kid.ceased.is_none_or(|c| on < c.0);
            if in_force {
                let age = kid.born.academic_age(year).clamp(0, 25);
                groups
                    .entry((self.authority_on(k, on), age))
                    .or_default()
                    .push(k);
            }
        }
        let mut by_need: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
        for ((la, age), mut ks) in groups {
            shuffle(self.rng, &mut ks);
            let counts = quotas(&self.models[la].need_by_age[age as usize], ks.len());
            let mut it = ks.into_iter();
            for (n, &count) in counts.iter().enumerate() {
                for k in it.by_ref().take(count) {
                    self.kids[k].need = PrimaryNeed::ALL[n];
                    *by_need.entry((la, n, stage(age))).or_default() += 1;
                }
            }
        }
        for ((la, n, st), count) in by_need {
            let counts = quotas(&self.models[la].kind_by[n][st], count);
            let mut bag: Vec<ProvisionKind> = counts
                .iter()
                .enumerate()
                .flat_map(|(i, &c)| std::iter::repeat_n(KINDS[i], c))
                .collect();
            shuffle(self.rng, &mut bag);
            self.bags_2025.insert((la, n, st), bag);
        }
    }

    fn year(&mut self, y: i32) -> Result<(), SeedError> {
        let (forced, incoming, moved) = self.reaching_25_and_moving(y);
        for la in 0..self.models.len() {
            let mut active: Vec<usize> = self.active[la]
                .iter()
                .copied()
                .filter(|k| !moved.contains(k))
                .collect();
            let forced_set: HashSet<usize> = forced[la].iter().copied().collect();
            for &k in &forced[la] {
                let out = self.kids[k].born.aged_out_from();
                let on = (out - Days::new(1 + self.rng.random_range(0..60)))
                    .max(date(y, 2, 1))
                    .min(date(y, 12, 20))
                    .min(out - Days::new(1))
                    // A plan taken over in its last months is not ceased before it arrived.
                    .max(self.kids[k].issued + Days::new(1));
                self.kids[k].ceased = Some((on, CeaseReason::ReachedAgeLimit));
            }
            active.retain(|k| !forced_set.contains(k));
            active.extend(incoming[la].iter().copied());
            let arrived: HashSet<usize> = incoming[la].iter().copied().collect();

            let (ceased, issued) = self.ceased_and_issued(la, y);
            self.cease_plans(
                la,
                y,
                &mut active,
                &arrived,
                forced[la].len(),
                ceased,
                issued,
            );
            self.issue_new_plans(la, y, &mut active, issued)?;
            self.make_up_the_total(la, y, &mut active, &arrived)?;
            self.refuse_requests(la, y, issued)?;
            self.active[la] = active;
        }
        Ok(())
    }

    /// Pass 1 of a year: plans reaching 25 (by authority), and moves between the three
    /// authorities (the children arriving in each, and every child who moved).
    #[allow(clippy::type_complexity)]
    fn reaching_25_and_moving(
        &mut self,
        y: i32,
    ) -> (Vec<Vec<usize>>, Vec<Vec<usize>>, HashSet<usize>) {
        let next = census_day(y + 1);
        let las = self.models.len();
        let mut forced: Vec<Vec<usize>> = vec![Vec::new(); las];
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); las];
        let mut moved: HashSet<usize> = HashSet::new();
        let limit = next + Days::new(20);
        for (la, forced_here) in forced.iter_mut().enumerate() {
            let active = self.active[la].clone();
            *forced_here = active
                .iter()
                .copied()
                .filter(|&k| self.kids[k].born.aged_out_from() <= limit)
                .collect();
            let forced_set: HashSet<usize> = forced_here.iter().copied().collect();
            let movers: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&k| !forced_set.contains(&k) && (5..=15).contains(&self.age_next(k, y)))
                .collect();
            // Moves between the partners (pan-Lancashire's three); an authority of the
            // national history is generated on its own, and its children stay in it.
            let n = if self.models.len() == 3 {
                (active.len() as f64 * 0.004).round() as usize
            } else {
                0
            };
            let ones = vec![1.0; movers.len()];
            for k in sample(self.rng, &movers, &ones, n) {
                let to = match la {
                    0 => 1 + self.rng.random_range(0..2usize),
                    _ if self.rng.random_range(0.0..1.0) < 0.8 => 0,
                    1 => 2,
                    _ => 1,
                };
                let district = self.district(to);
                let on = day_in(self.rng, y);
                self.kids[k].moves.push((on, to, district));
                incoming[to].push(k);
                moved.insert(k);
            }
        }
        (forced, incoming, moved)
    }

    /// How many of authority `la`'s plans cease and how many are issued in year `y`: the
    /// published figures where there are some, else from the January totals and the rate
    /// plans cease at.
    fn ceased_and_issued(&self, la: usize, y: i32) -> (usize, usize) {
        let t0 = self.target(la, y);
        let t1 = self.target(la, y + 1);
        let growth = t1 - t0;
        let rate = self.models[la].ceased_rate;
        let issued_known = self.activity(la, y, ActivityMeasure::PlansIssued);
        let ceased_known = self
            .reference
            .activity(&self.models[la].code, y, ActivityMeasure::PlansCeased, None)
            .map(f64::from);
        let (ceased, issued) = match (ceased_known, issued_known) {
            (Some(c), Some(i)) => (c, i),
            (None, Some(i)) => ((rate * t0).max(i - growth + 0.05 * i), i),
            (Some(c), None) => (c, ((growth + c) * 0.88).max(0.0)),
            (None, None) => {
                let c = rate * t0;
                (c, ((growth + c) * 0.88).max(0.0))
            }
        };
        (ceased.round() as usize, issued.round() as usize)
    }

    /// The plans that cease in year `y` besides those reaching 25 (`forced` of them), by
    /// reason, taken where the caseload has more children of an age than the profile wants.
    #[allow(clippy::too_many_arguments)]
    fn cease_plans(
        &mut self,
        la: usize,
        y: i32,
        active: &mut Vec<usize>,
        arrived: &HashSet<usize>,
        forced: usize,
        ceased: usize,
        issued: usize,
    ) {
        let t1 = self.target(la, y + 1);
        let rest = ceased.saturating_sub(forced);
        // Where the caseload has more children of an age than the profile wants.
        let stock = self.stock_by_age(active, y);
        let model = &self.models[la];
        let mut newcomers = [0.0f64; 26];
        for a in 0..25 {
            newcomers[a + 1] += model.new_ages[a] * issued as f64 * 0.6;
            newcomers[a] += model.new_ages[a] * issued as f64 * 0.4;
        }
        let weight_at: Vec<f64> = (0..26)
            .map(|a| {
                let excess = stock[a] - t1 * model.profile[a] + newcomers[a];
                if stock[a] > 0.0 {
                    8.0 * excess.max(0.0) / stock[a] + 0.02
                } else {
                    0.0
                }
            })
            .collect();
        let reasons = model.reasons.clone();
        // Reasons by the youngest age they fit: reaching the age limit only at 20 and
        // over, higher education, employment and leaving education at 17 and over.
        let min_age = |r: CeaseReason| match r {
            CeaseReason::ReachedAgeLimit => 20,
            CeaseReason::HigherEducation
            | CeaseReason::Employment
            | CeaseReason::NoLongerInEducation => 17,
            _ => 0,
        };
        let share_of = |floor: i32| -> f64 {
            reasons
                .iter()
                .filter(|(r, _)| min_age(*r) == floor)
                .map(|x| x.1)
                .sum()
        };
        let at_limit = ((ceased as f64 * share_of(20)).round() as usize).saturating_sub(forced);
        let older = ((ceased as f64 * share_of(17)).round() as usize).min(rest);
        let at_limit = at_limit.min(rest - older);
        let plan = [(20, at_limit), (17, older), (0, rest - older - at_limit)];
        let mut ceasing: HashSet<usize> = HashSet::new();
        for (floor, n) in plan {
            let pool: Vec<usize> = active
                .iter()
                .copied()
                .filter(|k| !arrived.contains(k) && !ceasing.contains(k))
                .filter(|&k| self.age_next(k, y) >= floor)
                .collect();
            let weights: Vec<f64> = pool
                .iter()
                .map(|&k| weight_at[self.age_next(k, y).clamp(0, 25) as usize])
                .collect();
            let group: Vec<&(CeaseReason, f64)> = reasons
                .iter()
                .filter(|(r, _)| min_age(*r) == floor)
                .collect();
            let shares: Vec<f64> = group.iter().map(|x| x.1).collect();
            for k in sample(self.rng, &pool, &weights, n) {
                let reason = group
                    .get(pick(self.rng, &shares))
                    .map_or(CeaseReason::Other, |x| x.0);
                let on = day_in(self.rng, y);
                self.kids[k].ceased = Some((on, reason));
                ceasing.insert(k);
            }
        }
        active.retain(|k| !ceasing.contains(k));
    }

    /// New plans: half at the ages plans start, half where the caseload is short of
    /// January's profile (the published ages are of one year only).
    fn issue_new_plans(
        &mut self,
        la: usize,
        y: i32,
        active: &mut Vec<usize>,
        issued: usize,
    ) -> Result<(), SeedError> {
        let t1 = self.target(la, y + 1);
        let new_ages = self.models[la].new_ages;
        let stock = self.stock_by_age(active, y);
        let profile = self.models[la].profile;
        let mut deficit: Vec<f64> = (0..26)
            .map(|a| (t1 * profile[a] - stock[a]).max(0.0))
            .collect();
        deficit[0] = 0.0;
        let mut usual = [0.0f64; 26];
        for a in 0..25 {
            usual[a + 1] += new_ages[a] * 0.6;
            usual[a] += new_ages[a] * 0.4;
        }
        usual[0] = 0.0;
        for _ in 0..issued {
            let short: f64 = deficit.iter().sum();
            let weights: Vec<f64> = (0..26)
                .map(|a| {
                    0.5 * usual[a]
                        + if short > 0.0 {
                            0.5 * deficit[a] / short
                        } else {
                            0.5 * usual[a]
                        }
                })
                .collect();
            let age_next = pick(self.rng, &weights).max(1) as i32;
            deficit[age_next as usize] = (deficit[age_next as usize] - 1.0).max(0.0);
            let born = self.born(y, age_next)?;
            let on = (day_in(self.rng, y) + Days::new(self.rng.random_range(0..14)))
                .max(born.first_day() + Days::new(120));
            let need = self.need(la, age_next, y + 1);
            let lag = self.lag(la, y);
            let k = self.new_kid(la, born, on, lag, need);
            active.push(k);
        }

        Ok(())
    }

    /// Plans taken over from other authorities make up the January total, at the ages the
    /// caseload is short of; more than the total, and the surplus transfer out.
    fn make_up_the_total(
        &mut self,
        la: usize,
        y: i32,
        active: &mut Vec<usize>,
        arrived: &HashSet<usize>,
    ) -> Result<(), SeedError> {
        let t1 = self.target(la, y + 1);
        let short = t1.round() as i64 - active.len() as i64;
        if short > 0 {
            let stock = self.stock_by_age(active, y);
            let profile = self.models[la].profile;
            let mut deficit: Vec<f64> = (0..26)
                .map(|a| (t1 * profile[a] - stock[a]).max(0.0) + 0.01 * t1 * profile[a])
                .collect();
            deficit[0] = 0.0;
            for _ in 0..short {
                let age = pick(self.rng, &deficit) as i32;
                deficit[age as usize] = (deficit[age as usize] - 1.0).max(0.01);
                let born = self.born(y, age)?;
                let need = self.need(la, age, y + 1);
                let on = day_in(self.rng, y).max(born.first_day() + Days::new(60));
                let original = (on - Days::new(self.rng.random_range(30..1500)))
                    .max(born.first_day() + Days::new(30))
                    .min(on);
                let from = ELSEWHERE_LAS[self.rng.random_range(0..ELSEWHERE_LAS.len())];
                let district = self.district(la);
                self.kids.push(Kid {
                    la,
                    district,
                    born,
                    need,
                    registered: on,
                    requested: on,
                    decided: on,
                    issued: on,
                    transfer_in: Some((from.to_owned(), original)),
                    ceased: None,
                    moves: Vec::new(),
                });
                active.push(self.kids.len() - 1);
            }
        } else if short < 0 {
            // More than the total: the surplus transfer out to other authorities.
            let eligible: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&k| self.kids[k].issued < census_day(y) && !arrived.contains(&k))
                .collect();
            let ones = vec![1.0; eligible.len()];
            let leaving = sample(self.rng, &eligible, &ones, (-short) as usize);
            let out: HashSet<usize> = leaving.iter().copied().collect();
            for &k in &leaving {
                let on = day_in(self.rng, y);
                self.kids[k].ceased = Some((on, CeaseReason::TransferredToAnotherLa));
            }
            active.retain(|k| !out.contains(k));
        }

        Ok(())
    }

    /// Requests refused: children assessed for, but not given, a plan.
    fn refuse_requests(&mut self, la: usize, y: i32, issued: usize) -> Result<(), SeedError> {
        let new_ages = self.models[la].new_ages;
        let refused = self
            .activity(la, y, ActivityMeasure::RequestsRefused)
            .unwrap_or(issued as f64 * 0.3)
            .round() as usize;
        for _ in 0..refused {
            let on = day_in(self.rng, y);
            let start = AcademicYear::containing(on).start_year();
            let age = pick(self.rng, &new_ages).max(1) as i32;
            let born = self.born(start, age)?;
            let district = self.district(la);
            self.refusals.push(Refusal {
                la,
                district,
                born,
                requested: on.max(born.first_day() + Days::new(30)),
            });
        }
        Ok(())
    }

    /// The `active` children by the age they will be next January (25 and over in the last).
    fn stock_by_age(&self, active: &[usize], y: i32) -> [f64; 26] {
        let mut stock = [0.0f64; 26];
        for &k in active {
            stock[self.age_next(k, y).clamp(0, 25) as usize] += 1.0;
        }
        stock
    }

    fn child_id(&self, la: usize, n: usize) -> Result<ChildId, SeedError> {
        ChildId::parse(&format!("SYN-{}-{n:06}", self.models[la].code))
            .map_err(|e| SeedError::Invalid(e.to_string()))
    }

    /// Every child's commands, onto `timeline`. Returns the October occupancy of each setting
    /// by academic year, for commissioning.
    pub fn emit(
        &mut self,
        timeline: &mut Timeline,
    ) -> Result<BTreeMap<(usize, i32), u32>, SeedError> {
        let mut occupancy: BTreeMap<(usize, i32), u32> = BTreeMap::new();
        let authority = |i: usize| self.geography.partners[i].0.clone();
        let kids = std::mem::take(&mut self.kids);
        for (n, kid) in kids.iter().enumerate() {
            // A plan that would start after the child's 25th year (a 25-year-old drawn late
            // in the year; it happens in a few authorities of the national history) is not
            // made: the domain refuses it, and so would a council.
            if kid.registered.max(kid.issued) >= kid.born.aged_out_from() {
                continue;
            }
            let child = self.child_id(kid.la, n)?;
            let mut out: Vec<(NaiveDate, u8, Command)> = Vec::new();
            out.push((
                kid.registered,
                0,
                Command::RegisterChild {
                    child: child.clone(),
                    authority: authority(kid.la),
                    born: kid.born,
                    district: kid.district.clone(),
                    on: kid.registered,
                },
            ));
            let transfer_in = match &kid.transfer_in {
                Some((from, original)) => Some(TransferIn {
                    from_authority: from.clone(),
                    originally_issued_on: *original,
                }),
                None => {
                    out.push((
                        kid.requested,
                        1,
                        Command::RequestAssessment {
                            child: child.clone(),
                            on: kid.requested,
                        },
                    ));
                    out.push((
                        kid.decided,
                        2,
                        Command::DecideAssessment {
                            child: child.clone(),
                            on: kid.decided,
                            decision: AssessmentDecision::Assess,
                        },
                    ));
                    None
                }
            };
            out.push((
                kid.issued,
                3,
                Command::IssuePlan {
                    child: child.clone(),
                    on: kid.issued,
                    primary_need: kid.need,
                    secondary_needs: Vec::new(),
                    transfer_in,
                },
            ));
            for (on, _, district) in &kid.moves {
                out.push((
                    *on,
                    4,
                    Command::MoveHome {
                        child: child.clone(),
                        on: *on,
                        home: NewHome::District {
                            district: district.clone(),
                        },
                    },
                ));
            }
            let end = kid.ceased.map_or(HISTORY_END, |c| c.0);
            self.placements(kid, &child, end, &mut out, &mut occupancy);
            let mut k = 1;
            loop {
                let on = kid.issued + Days::new(365 * k + self.rng.random_range(0..20));
                if on + Days::new(3) >= end {
                    break;
                }
                let outcome = if self.rng.random_range(0.0..1.0) < 0.35 {
                    ReviewOutcome::Amend
                } else {
                    ReviewOutcome::Maintain
                };
                out.push((
                    on,
                    7,
                    Command::HoldAnnualReview {
                        child: child.clone(),
                        on,
                        outcome,
                    },
                ));
                k += 1;
            }
            if let Some((on, reason)) = kid.ceased {
                out.push((
                    on,
                    8,
                    Command::CeasePlan {
                        child: child.clone(),
                        on,
                        reason,
                    },
                ));
            }
            out.sort_by_key(|(d, rank, _)| (*d, *rank));
            for (on, _, c) in out {
                timeline.push(on, c);
            }
        }
        self.kids = kids;
        let refusals = std::mem::take(&mut self.refusals);
        for (n, r) in refusals.iter().enumerate() {
            let child = ChildId::parse(&format!("SYN-{}-R{n:06}", self.models[r.la].code))
                .map_err(|e| SeedError::Invalid(e.to_string()))?;
            let decided = r.requested + Days::new(self.rng.random_range(35..=60));
            if r.requested >= r.born.aged_out_from() {
                continue;
            }
            timeline.push(
                r.requested,
                Command::RegisterChild {
                    child: child.clone(),
                    authority: authority(r.la),
                    born: r.born,
                    district: r.district.clone(),
                    on: r.requested,
                },
            );
            timeline.push(
                r.requested,
                Command::RequestAssessment {
                    child: child.clone(),
                    on: r.requested,
                },
            );
            if decided < HISTORY_END {
                timeline.push(
                    decided,
                    Command::DecideAssessment {
                        child,
                        on: decided,
                        decision: AssessmentDecision::DoNotAssess,
                    },
                );
            }
        }
        Ok(occupancy)
    }

    /// The child's placements: one per phase stage, drawn for its need, from the first weeks
    /// of the plan until it ceases.
    fn placements(
        &mut self,
        kid: &Kid,
        child: &ChildId,
        end: NaiveDate,
        out: &mut Vec<(NaiveDate, u8, Command)>,
        occupancy: &mut BTreeMap<(usize, i32), u32>,
    ) {
        let first = kid.issued + Days::new(self.rng.random_range(0..21));
        if first + Days::new(2) >= end {
            return;
        }
        let age_in = |d: NaiveDate| kid.born.academic_age(AcademicYear::containing(d));
        // Segment boundaries: every 1 September on which the stage changes.
        let mut starts = vec![first];
        let mut y = AcademicYear::containing(first).start_year() + 1;
        while date(y, 9, 1) < end {
            let b = date(y, 9, 1);
            let before = stage(age_in(b - Days::new(1)));
            if stage(age_in(b)) != before {
                starts.push(b);
            }
            y += 1;
        }
        for (i, &start) in starts.iter().enumerate() {
            let stop = starts.get(i + 1).copied().unwrap_or(end);
            if (stop - start).num_days() < 2 {
                continue;
            }
            let (la, district) = kid.home_on(start);
            let age = age_in(start);
            let st = stage(age);
            let need = PrimaryNeed::ALL
                .iter()
                .position(|n| *n == kid.need)
                .unwrap_or(0);
            let c25 = census_day(2025);
            let in_2025 = start <= c25 && c25 < stop && kid.issued <= c25 && c25 < end;
            let dealt = if in_2025 {
                let la_2025 = kid.home_on(c25).0;
                self.bags_2025
                    .get_mut(&(la_2025, need, st))
                    .and_then(Vec::pop)
            } else {
                None
            };
            let kind = match dealt {
                Some(kind) => kind,
                None => KINDS[pick(self.rng, &self.models[la].kind_by[need][st])],
            };
            let placed_at = if let Some(e) = elsewhere(kind) {
                Some((PlacedAt::Elsewhere { elsewhere: e }, None))
            } else if kind == ProvisionKind::NotRecorded {
                None
            } else {
                choose(
                    self.rng,
                    self.settings,
                    &self.by_kind,
                    kind,
                    la,
                    &district,
                    st,
                    age,
                    start,
                )
                .map(|j| {
                    let s = &self.settings[j];
                    (
                        PlacedAt::Setting {
                            urn: s.urn,
                            facility: s.facility,
                        },
                        Some(j),
                    )
                })
            };
            let Some((placed_at, setting)) = placed_at else {
                continue;
            };
            out.push((
                start,
                6,
                Command::StartPlacement {
                    child: child.clone(),
                    on: start,
                    placed_at,
                },
            ));
            if stop < end {
                let on = stop - Days::new(1);
                out.push((
                    on,
                    5,
                    Command::EndPlacement {
                        child: child.clone(),
                        on,
                        reason: PlacementEndReason::PhaseTransfer,
                    },
                ));
            }
            if let Some(j) = setting {
                let until = stop.min(end);
                for year in start.year() - 1..=until.year() {
                    let october = date(year, 10, 1);
                    if start <= october && october < until {
                        *occupancy.entry((j, year)).or_default() += 1;
                    }
                }
            }
        }
    }
}

/// One authority's model, from the reference figures.
fn model(
    reference: &Reference,
    geography: &Geography,
    population: &Population,
    la: &str,
) -> Result<Model, SeedError> {
    let districts: Vec<(GssCode, f64)> = geography
        .areas
        .iter()
        .filter(|a| a.authority.as_str() == la)
        .map(|a| (a.gss.clone(), population.range(&a.gss, 2022, 0, 19)))
        .collect();
    let mut profile = reference.age_profile_2025(la);
    profile[0] = 0.0;
    normalise(&mut profile);
    let mut new_ages = reference.new_plan_ages(la);
    new_ages[0] = 0.0;
    if new_ages.iter().sum::<f64>() <= 0.0 {
        new_ages = profile;
    }
    normalise(&mut new_ages);

    let needs = PrimaryNeed::ALL.len();
    let by_age = reference.need_by_age_2025(la);
    let mut pooled = vec![0.0; needs];
    let mut need_by_age = vec![vec![0.0; needs]; 26];
    for ((age, need), v) in &by_age {
        let n = PrimaryNeed::ALL.iter().position(|x| x == need).unwrap_or(0);
        need_by_age[*age][n] += v;
        pooled[n] += v;
    }
    for row in &mut need_by_age {
        if row.iter().sum::<f64>() < 20.0 {
            // Too few children of that age to say: the mix of all ages.
            let total: f64 = row.iter().sum();
            for (r, p) in row.iter_mut().zip(&pooled) {
                *r += p * (20.0 - total) / pooled.iter().sum::<f64>().max(1.0);
            }
        }
    }

    // Need x stage from need x age; need x kind from need x placement.
    let mut by_stage = vec![vec![0.0; STAGES]; needs];
    for ((age, need), v) in &by_age {
        let n = PrimaryNeed::ALL.iter().position(|x| x == need).unwrap_or(0);
        by_stage[n][stage(*age as i32)] += v;
    }
    let mut by_kind = vec![vec![0.0; KINDS.len()]; needs];
    for ((need, kind), v) in reference.need_by_kind_2025(la) {
        let n = PrimaryNeed::ALL
            .iter()
            .position(|x| *x == need)
            .unwrap_or(0);
        if let Some(k) = KINDS.iter().position(|x| *x == recorded_as(kind)) {
            by_kind[n][k] += v;
        }
    }
    let allowed: Vec<Vec<bool>> = (0..STAGES)
        .map(|s| KINDS.iter().map(|k| allowed(s, *k)).collect())
        .collect();
    let mut kind_by = ipf::fit(&by_stage, &by_kind, &allowed, 60);
    // A need too rare to say anything at a stage takes the stage's mix over all needs.
    for s in 0..STAGES {
        let pooled: Vec<f64> = (0..KINDS.len())
            .map(|k| (0..needs).map(|n| kind_by[n][s][k]).sum())
            .collect();
        for need in kind_by.iter_mut() {
            if need[s].iter().sum::<f64>() <= 0.0 {
                need[s] = if pooled.iter().sum::<f64>() > 0.0 {
                    pooled.clone()
                } else {
                    KINDS
                        .iter()
                        .map(|k| f64::from(u8::from(*k == ProvisionKind::NotRecorded)))
                        .collect()
                };
            }
        }
    }

    let mut reasons: BTreeMap<CeaseReason, f64> = BTreeMap::new();
    let mut ceased = 0.0;
    let mut caseload = 0.0;
    for year in 2022..=2024 {
        if let Some(total) = reference.activity(la, year, ActivityMeasure::PlansCeased, None) {
            ceased += f64::from(total);
            caseload += reference.plans(la, year).map_or(0.0, f64::from);
        }
        for r in CeaseReason::ALL {
            if let Some(n) = reference.activity(la, year, ActivityMeasure::PlansCeased, Some(*r)) {
                *reasons.entry(*r).or_default() += f64::from(n);
            }
        }
    }
    let total: f64 = reasons.values().sum();
    let reasons = reasons
        .into_iter()
        .map(|(r, n)| (r, if total > 0.0 { n / total } else { 0.0 }))
        .collect();
    Ok(Model {
        code: la.to_owned(),
        districts,
        profile,
        new_ages,
        need_by_age,
        kind_by,
        reasons,
        ceased_rate: if caseload > 0.0 {
            ceased / caseload
        } else {
            0.07
        },
    })
}
