//! The seed check: what a history holds, measured the way DfE and the council count, next to
//! the real figures, each with its tolerance.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use placeledger_domain::{
    AcademicYear, ActivityMeasure, AuthorityCode, CeaseReason, ChildId, Event, Facility, GssCode,
    NewHome, PlacedAt, PrimaryNeed, ProvisionKind, SettingKind, Urn, YearMonth,
};

use crate::generate::census_day;
use crate::reference::Reference;

/// One line of the check.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub measure: String,
    pub authority: String,
    pub period: String,
    pub seeded: f64,
    pub real: f64,
    /// `seeded - real`, in the measure's unit (percentage points for shares).
    pub difference: f64,
    pub tolerance: Tolerance,
    pub ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Relative: |seeded - real| <= this share of real.
    Relative(f64),
    /// Absolute, in percentage points.
    Points(f64),
}

impl Tolerance {
    fn holds(self, seeded: f64, real: f64) -> bool {
        match self {
            Tolerance::Relative(r) => (seeded - real).abs() <= r * real.abs() + 1e-9,
            Tolerance::Points(p) => (seeded - real).abs() <= p + 1e-9,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Line {
    born: Option<YearMonth>,
    /// The authority from each date on.
    authority: Vec<(NaiveDate, AuthorityCode)>,
    need: Vec<(NaiveDate, PrimaryNeed)>,
    issued: Option<(NaiveDate, bool)>,
    ceased: Option<(NaiveDate, CeaseReason)>,
    /// Placements: start, end, and the kind they count as.
    placements: Vec<(NaiveDate, Option<NaiveDate>, ProvisionKind)>,
}

impl Line {
    fn authority_on(&self, on: NaiveDate) -> Option<&AuthorityCode> {
        self.authority
            .iter()
            .rev()
            .find(|(d, _)| *d <= on)
            .map(|(_, a)| a)
    }

    fn in_force(&self, on: NaiveDate) -> bool {
        matches!(self.issued, Some((d, _)) if d <= on) && self.ceased.is_none_or(|(d, _)| on < d)
    }

    fn need_on(&self, on: NaiveDate) -> Option<PrimaryNeed> {
        self.need
            .iter()
            .rev()
            .find(|(d, _)| *d <= on)
            .map(|(_, n)| *n)
    }

    fn kind_on(&self, on: NaiveDate) -> ProvisionKind {
        self.placements
            .iter()
            .find(|(s, e, _)| *s <= on && e.is_none_or(|e| on <= e))
            .map_or(ProvisionKind::NotRecorded, |p| p.2)
    }
}

/// What a history holds, folded from its events.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    lines: HashMap<ChildId, Line>,
    districts: HashMap<GssCode, AuthorityCode>,
    settings: HashMap<
        Urn,
        (
            AuthorityCode,
            SettingKind,
            Option<Facility>,
            ProvisionKind,
            NaiveDate,
        ),
    >,
    closed: HashMap<Urn, NaiveDate>,
    /// Pupils on roll per setting and January.
    rolls: HashMap<(Urn, i32), u64>,
}

impl Observed {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Observed {
        let mut o = Observed::default();
        for e in events {
            o.apply(e);
        }
        o
    }

    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::DistrictRegistered {
                district,
                authority,
                ..
            } => {
                self.districts.insert(district.clone(), authority.clone());
            }
            Event::SettingOpened {
                urn,
                authority,
                kind,
                facility,
                opened_on,
                ..
            } => {
                self.settings.insert(
                    *urn,
                    (
                        authority.clone(),
                        *kind,
                        *facility,
                        ProvisionKind::at_setting(*kind, *facility),
                        *opened_on,
                    ),
                );
            }
            Event::SettingClosed { urn, closed_on } => {
                self.closed.insert(*urn, *closed_on);
            }
            Event::CensusRollRecorded { urn, census, rolls } => {
                let pupils = rolls.iter().map(|r| u64::from(r.count)).sum();
                self.rolls.insert((*urn, census.start_year() + 1), pupils);
            }
            Event::ChildRegistered {
                child,
                authority,
                born,
                registered_on,
                ..
            } => {
                let line = self.lines.entry(child.clone()).or_default();
                line.born = Some(*born);
                line.authority.push((*registered_on, authority.clone()));
            }
            Event::ChildMovedHome {
                child,
                moved_on,
                home: NewHome::District { district },
            } => {
                if let Some(a) = self.districts.get(district).cloned() {
                    let line = self.lines.entry(child.clone()).or_default();
                    line.authority.push((*moved_on, a));
                }
            }
            Event::PlanIssued {
                child,
                issued_on,
                primary_need,
                transfer_in,
                ..
            } => {
                let line = self.lines.entry(child.clone()).or_default();
                line.issued = Some((*issued_on, transfer_in.is_some()));
                line.need.push((*issued_on, *primary_need));
            }
            Event::PrimaryNeedChanged {
                child,
                changed_on,
                primary_need,
            } => {
                let line = self.lines.entry(child.clone()).or_default();
                line.need.push((*changed_on, *primary_need));
            }
            Event::PlanCeased {
                child,
                ceased_on,
                reason,
            } => {
                let line = self.lines.entry(child.clone()).or_default();
                line.ceased = Some((*ceased_on, *reason));
                if let Some(open) = line.placements.iter_mut().find(|p| p.1.is_none()) {
                    open.1 = Some(*ceased_on);
                }
            }
            Event::PlacementStarted {
                child,
                started_on,
                placed_at,
            } => {
                let kind = match placed_at {
                    PlacedAt::Setting { urn, .. } => self
                        .settings
                        .get(urn)
                        .map_or(ProvisionKind::NotRecorded, |s| s.3),
                    PlacedAt::Elsewhere { elsewhere } => ProvisionKind::elsewhere(*elsewhere),
                };
                let line = self.lines.entry(child.clone()).or_default();
                line.placements.push((*started_on, None, kind));
            }
            Event::PlacementEnded {
                child, ended_on, ..
            } => {
                let line = self.lines.entry(child.clone()).or_default();
                if let Some(open) = line.placements.iter_mut().find(|p| p.1.is_none()) {
                    open.1 = Some(*ended_on);
                }
            }
            _ => {}
        }
    }

    /// Plans in force on the January census of `year`, per authority.
    fn caseload(&self, year: i32) -> impl Iterator<Item = (&AuthorityCode, &Line)> {
        let on = census_day(year);
        self.lines
            .values()
            .filter(move |l| l.in_force(on))
            .filter_map(move |l| l.authority_on(on).map(|a| (a, l)))
    }

    pub fn plans(&self, la: &str, year: i32) -> usize {
        self.caseload(year)
            .filter(|(a, _)| a.as_str() == la)
            .count()
    }

    /// Plans issued (new, not taken over) or ceased in calendar `year`, per authority.
    fn flows(&self, la: &str, year: i32, ceased: bool) -> Vec<&Line> {
        self.lines
            .values()
            .filter(|l| {
                let on = if ceased {
                    l.ceased.map(|c| c.0)
                } else {
                    l.issued.filter(|(_, transfer)| !transfer).map(|i| i.0)
                };
                on.is_some_and(|d| {
                    d.year() == year && l.authority_on(d).is_some_and(|a| a.as_str() == la)
                })
            })
            .collect()
    }

    /// Lancashire's schools open on the January census of `year`, as the council counts
    /// them: mainstream, special and AP schools it maintains or that are academies.
    fn schools(&self, la: &str, year: i32) -> usize {
        let on = census_day(year);
        self.settings
            .iter()
            .filter(|(urn, (a, kind, facility, _, opened))| {
                a.as_str() == la
                    && facility.is_none()
                    && *opened <= on
                    && self.closed.get(urn).is_none_or(|c| on < *c)
                    && matches!(
                        kind,
                        SettingKind::MainstreamMaintained
                            | SettingKind::MainstreamAcademy
                            | SettingKind::MainstreamFree
                            | SettingKind::SpecialMaintained
                            | SettingKind::SpecialAcademyFree
                            | SettingKind::ApMaintained
                            | SettingKind::ApAcademy
                            | SettingKind::ApFree
                    )
            })
            .count()
    }

    fn pupils(&self, la: &str, year: i32) -> u64 {
        self.rolls
            .iter()
            .filter(|((urn, y), _)| {
                *y == year && self.settings.get(urn).is_some_and(|s| s.0.as_str() == la)
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// The groups of SEN2 placement types the county's reports use.
pub fn group(kind: ProvisionKind) -> &'static str {
    use ProvisionKind as K;
    match kind {
        K::MainstreamMaintained
        | K::MainstreamAcademy
        | K::MainstreamFree
        | K::MainstreamIndependent => "mainstream",
        K::MainstreamMaintainedRp
        | K::MainstreamMaintainedUnit
        | K::MainstreamAcademyRp
        | K::MainstreamAcademyUnit
        | K::MainstreamFreeRp
        | K::MainstreamFreeUnit => "resourced provision / unit",
        K::SpecialMaintained => "special: maintained",
        K::SpecialAcademyFree => "special: academy/free",
        K::SpecialIndependent => "special: independent",
        K::SpecialNonMaintained => "special: non-maintained",
        K::ApMaintained | K::ApAcademy | K::ApFree => "alternative provision",
        K::FeCollege | K::SpecialistPost16 | K::UkrlpProvider => "further education",
        _ => "elsewhere or not recorded",
    }
}

fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// Compares `observed` with `reference`, per authority: every tolerance of the seeds.
pub fn check(reference: &Reference, observed: &Observed) -> Vec<Comparison> {
    let mut checks = Checks::default();
    for la in reference.authorities() {
        let la = la.as_str();
        checks.january_plans(reference, observed, la);
        // January 2025: placements, needs, ages.
        let stock: Vec<&Line> = observed
            .caseload(2025)
            .filter(|(a, _)| a.as_str() == la)
            .map(|(_, l)| l)
            .collect();
        checks.placements_and_needs(reference, la, &stock);
        if checks.ages(reference, la, &stock).is_none() {
            continue;
        }
        checks.flows(reference, observed, la);
        checks.mainstream(reference, observed, la);
    }
    checks.out
}

/// The comparisons made so far.
#[derive(Debug, Default)]
struct Checks {
    out: Vec<Comparison>,
}

impl Checks {
    fn push(
        &mut self,
        measure: &str,
        la: &str,
        period: String,
        seeded: f64,
        real: f64,
        tolerance: Tolerance,
    ) {
        self.out.push(Comparison {
            measure: measure.to_owned(),
            authority: la.to_owned(),
            period,
            seeded,
            real,
            difference: seeded - real,
            tolerance,
            ok: Tolerance::holds(tolerance, seeded, real),
        });
    }

    /// Plans in force each January, January 2026 (DfE's 2026 release) included.
    fn january_plans(&mut self, reference: &Reference, observed: &Observed, la: &str) {
        for year in 2015..=2026 {
            if let Some(real) = reference.plans_known(la, year) {
                self.push(
                    "January plans",
                    la,
                    format!("Jan {year}"),
                    observed.plans(la, year) as f64,
                    f64::from(real),
                    Tolerance::Relative(0.02),
                );
            }
        }
    }

    /// January 2025: where the plans are placed, and their primary needs.
    fn placements_and_needs(&mut self, reference: &Reference, la: &str, stock: &[&Line]) {
        let on = census_day(2025);
        let all = stock.len() as f64;
        let real_all = f64::from(reference.total_2025(la, None, None).unwrap_or(0));
        let mut seeded_groups: BTreeMap<&str, f64> = BTreeMap::new();
        let mut real_groups: BTreeMap<&str, f64> = BTreeMap::new();
        for l in stock {
            *seeded_groups.entry(group(l.kind_on(on))).or_default() += 1.0;
        }
        for c in reference.cells_2025(la) {
            if let (None, None, Some(kind), Some(n)) = (c.age, c.need, c.kind, c.plans) {
                *real_groups.entry(group(kind)).or_default() += n as f64;
            }
        }
        let real_placed: f64 = real_groups.values().sum();
        for (g, real) in &real_groups {
            self.push(
                &format!("Jan 2025 placement: {g} (%)"),
                la,
                "Jan 2025".into(),
                share(seeded_groups.get(g).copied().unwrap_or(0.0), all),
                share(*real, real_placed),
                Tolerance::Points(2.0),
            );
        }
        if la == "888" {
            let inmss = stock
                .iter()
                .filter(|l| l.kind_on(on) == ProvisionKind::SpecialIndependent)
                .count();
            self.push(
                "Jan 2025 plans in independent special schools",
                la,
                "Jan 2025".into(),
                inmss as f64,
                f64::from(
                    reference
                        .total_2025(la, None, Some(ProvisionKind::SpecialIndependent))
                        .unwrap_or(0),
                ),
                Tolerance::Relative(0.05),
            );
        }
        for need in PrimaryNeed::ALL {
            let Some(real) = reference.total_2025(la, Some(*need), None) else {
                continue;
            };
            let seeded = stock
                .iter()
                .filter(|l| l.need_on(on) == Some(*need))
                .count();
            self.push(
                &format!("Jan 2025 primary need: {need} (%)"),
                la,
                "Jan 2025".into(),
                share(seeded as f64, all),
                share(f64::from(real), real_all),
                Tolerance::Points(2.0),
            );
        }
    }

    /// January 2025: the plans' ages (`None` if the year cannot be made).
    fn ages(&mut self, reference: &Reference, la: &str, stock: &[&Line]) -> Option<()> {
        let all = stock.len() as f64;
        let mut real_ages = [0.0f64; 26];
        let mut under_3 = 0.0;
        for c in reference.cells_2025(la) {
            if let (Some((from, to)), None, None, Some(n)) = (c.age, c.need, c.kind, c.plans) {
                if from == to {
                    real_ages[from.clamp(0, 25) as usize] += n as f64;
                } else {
                    under_3 += n as f64;
                }
            }
        }
        let year = AcademicYear::new(2024).ok()?;
        let mut seeded_ages = [0.0f64; 26];
        for l in stock {
            if let Some(born) = l.born {
                seeded_ages[born.academic_age(year).clamp(0, 25) as usize] += 1.0;
            }
        }
        let real_aged: f64 = real_ages.iter().sum::<f64>() + under_3;
        self.push(
            "Jan 2025 age: under 3 (%)",
            la,
            "Jan 2025".into(),
            share(seeded_ages[..3].iter().sum(), all),
            share(under_3 + real_ages[..3].iter().sum::<f64>(), real_aged),
            Tolerance::Points(2.0),
        );
        for age in 3..26 {
            self.push(
                &format!("Jan 2025 age: {age} (%)"),
                la,
                "Jan 2025".into(),
                share(seeded_ages[age], all),
                share(real_ages[age], real_aged),
                Tolerance::Points(2.0),
            );
        }

        Some(())
    }

    /// Flows per calendar year, where DfE publishes them: plans issued, ceased, and why.
    fn flows(&mut self, reference: &Reference, observed: &Observed, la: &str) {
        // Flows per calendar year, where DfE publishes them.
        for year in 2019..=2024 {
            if let Some(real) = reference.activity(la, year, ActivityMeasure::PlansIssued, None) {
                self.push(
                    "new plans issued",
                    la,
                    year.to_string(),
                    observed.flows(la, year, false).len() as f64,
                    f64::from(real),
                    Tolerance::Relative(0.10),
                );
            }
        }
        let mut seeded_reasons: BTreeMap<CeaseReason, f64> = BTreeMap::new();
        let mut real_reasons: BTreeMap<CeaseReason, f64> = BTreeMap::new();
        for year in 2022..=2024 {
            let Some(real) = reference.activity(la, year, ActivityMeasure::PlansCeased, None)
            else {
                continue;
            };
            let ceased = observed.flows(la, year, true);
            self.push(
                "plans ceased",
                la,
                year.to_string(),
                ceased.len() as f64,
                f64::from(real),
                Tolerance::Relative(0.10),
            );
            for l in ceased {
                if let Some((_, r)) = l.ceased {
                    *seeded_reasons.entry(r).or_default() += 1.0;
                }
            }
            for r in CeaseReason::ALL {
                if let Some(n) =
                    reference.activity(la, year, ActivityMeasure::PlansCeased, Some(*r))
                {
                    *real_reasons.entry(*r).or_default() += f64::from(n);
                }
            }
        }
        let seeded_total: f64 = seeded_reasons.values().sum();
        let real_total: f64 = real_reasons.values().sum();
        for (r, real) in &real_reasons {
            self.push(
                &format!("ceased by reason: {r} (%)"),
                la,
                "2022-2024".into(),
                share(seeded_reasons.get(r).copied().unwrap_or(0.0), seeded_total),
                share(*real, real_total),
                Tolerance::Points(5.0),
            );
        }
    }

    /// State schools and pupils on roll.
    fn mainstream(&mut self, reference: &Reference, observed: &Observed, la: &str) {
        for (measure, label) in [("schools", "schools"), ("pupils", "pupils on roll")] {
            if let Some((real, january, _)) = reference
                .mainstream
                .get(&(la.to_owned(), measure.to_owned()))
            {
                let seeded = match measure {
                    "schools" => observed.schools(la, *january) as f64,
                    _ => observed.pupils(la, *january) as f64,
                };
                self.push(
                    &format!("state {label}"),
                    la,
                    format!("Jan {january}"),
                    seeded,
                    f64::from(*real),
                    Tolerance::Relative(0.02),
                );
            }
        }
    }
}

/// The comparison as a table a person reads: one line per figure, failures marked.
pub fn render(comparisons: &[Comparison]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<52} {:>4} {:>9} {:>10} {:>10} {:>9}  {:<9} result",
        "measure", "LA", "period", "seeded", "real", "diff", "tolerance"
    );
    for c in comparisons {
        let (tol, fmt) = match c.tolerance {
            Tolerance::Relative(r) => (format!("±{:.0}%", r * 100.0), 0),
            Tolerance::Points(p) => (format!("±{p:.0}pp"), 1),
        };
        let diff = match c.tolerance {
            Tolerance::Relative(_) if c.real != 0.0 => {
                format!("{:+.1}%", 100.0 * c.difference / c.real)
            }
            Tolerance::Relative(_) => format!("{:+.0}", c.difference),
            Tolerance::Points(_) => format!("{:+.1}pp", c.difference),
        };
        let _ = writeln!(
            s,
            "{:<52} {:>4} {:>9} {:>10.fmt$} {:>10.fmt$} {:>9}  {:<9} {}",
            c.measure,
            c.authority,
            c.period,
            c.seeded,
            c.real,
            diff,
            tol,
            if c.ok { "ok" } else { "OUT OF TOLERANCE" },
        );
    }
    let failed = comparisons.iter().filter(|c| !c.ok).count();
    let _ = writeln!(
        s,
        "{} figures checked: {} within tolerance, {failed} out of tolerance",
        comparisons.len(),
        comparisons.len() - failed
    );
    s
}
