//! The caseload: plans in force on each January census, by authority, district of residence,
//! single year of academic age, primary need and kind of placement.
//!
//! Built from child-level events where an authority records them, and kept beside the SEN2
//! tables an authority is known by only (`CaseloadRecorded`): [`Caseload::january`] answers
//! from children, [`Caseload::published`] gives the tables as recorded.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, CaseloadCell, ChildId, Event, GssCode, NewHome, PlacedAt,
    PrimaryNeed, ProvisionKind, Urn, YearMonth,
};
use placeledger_projection::Projection;
use serde::{Deserialize, Serialize};

/// One child's plan over time: only what a January count needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub born: Option<YearMonth>,
    /// Where the child lives from each date on: authority and district (`None` outside).
    pub homes: Vec<(NaiveDate, Option<(AuthorityCode, GssCode)>)>,
    pub needs: Vec<(NaiveDate, PrimaryNeed)>,
    pub issued: Option<NaiveDate>,
    /// The plan was taken over from another authority (not a new plan).
    #[serde(default)]
    pub transferred_in: bool,
    pub ceased: Option<NaiveDate>,
    /// Placements: start, end (inclusive), the kind they count as, and the authority of the
    /// setting (`None`: educated elsewhere, not at a setting).
    pub placements: Vec<(
        NaiveDate,
        Option<NaiveDate>,
        ProvisionKind,
        Option<AuthorityCode>,
    )>,
    /// The request for assessment the plan answered (the last one before it was issued): the
    /// 20-week clock starts here.
    #[serde(default)]
    pub requested: Option<NaiveDate>,
}

impl Line {
    fn at<T: Clone>(list: &[(NaiveDate, T)], on: NaiveDate) -> Option<T> {
        list.iter()
            .rev()
            .find(|(d, _)| *d <= on)
            .map(|(_, v)| v.clone())
    }

    /// In force on `on`: issued on or before it, not ceased on or before it.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.issued.is_some_and(|d| d <= on) && self.ceased.is_none_or(|d| on < d)
    }

    pub fn home_on(&self, on: NaiveDate) -> Option<(AuthorityCode, GssCode)> {
        Self::at(&self.homes, on).flatten()
    }

    pub fn need_on(&self, on: NaiveDate) -> Option<PrimaryNeed> {
        Self::at(&self.needs, on)
    }

    /// The kind of the placement open on `on`; `NotRecorded` when there is none.
    pub fn kind_on(&self, on: NaiveDate) -> ProvisionKind {
        self.placements
            .iter()
            .rev()
            .find(|(s, e, _, _)| *s <= on && e.is_none_or(|e| on <= e))
            .map_or(ProvisionKind::NotRecorded, |p| p.2)
    }

    /// The placement open on `on`: its kind and its setting's authority.
    pub fn placement_on(&self, on: NaiveDate) -> Option<(ProvisionKind, Option<&AuthorityCode>)> {
        self.placements
            .iter()
            .rev()
            .find(|(s, e, _, _)| *s <= on && e.is_none_or(|e| on <= e))
            .map(|p| (p.2, p.3.as_ref()))
    }
}

/// A cell of a January caseload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub age: i32,
    pub need: PrimaryNeed,
    pub kind: ProvisionKind,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Caseload {
    districts: BTreeMap<GssCode, AuthorityCode>,
    /// Each setting's kind of provision and authority.
    settings: BTreeMap<Urn, (ProvisionKind, AuthorityCode)>,
    children: BTreeMap<ChildId, Line>,
    /// SEN2 tables as recorded, per authority and census (the latest recording wins).
    published: BTreeMap<AuthorityCode, BTreeMap<AcademicYear, Vec<CaseloadCell>>>,
    /// England's plans per census, as recorded (the latest recording wins).
    #[serde(default)]
    national: BTreeMap<AcademicYear, u32>,
}

/// The measures the county watches, for one authority or district and one January: stocks
/// are plans in force on the census day, flows (new plans and their timeliness) are those of
/// the calendar year before it, as SEN2 reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measures {
    /// Plans in force on the census day.
    pub plans: u32,
    /// Placed in a state-funded mainstream school (maintained, academy or free school,
    /// including its resourced provision or SEN unit).
    pub in_mainstream: u32,
    /// Placed in an independent or non-maintained special school (INMSS).
    pub independent_special: u32,
    /// Placed at a setting of another authority, by kind of provision (for pricing).
    pub out_of_authority: BTreeMap<ProvisionKind, u32>,
    /// Plans in force by primary need.
    pub by_need: BTreeMap<PrimaryNeed, u32>,
    /// New plans issued in the calendar year before (plans taken over from another authority
    /// are not new), and those issued within 20 weeks of the request.
    pub new_plans: u32,
    pub new_plans_within_20_weeks: u32,
}

/// An authority's measures for one January from its published SEN2 tables (no children
/// recorded): what the tables hold, and `None` for what they do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedMeasures {
    pub plans: u32,
    pub in_mainstream: Option<u32>,
    pub independent_special: Option<u32>,
    pub by_need: BTreeMap<PrimaryNeed, u32>,
}

/// Days in 20 weeks: the statutory limit from request to final plan.
pub const TWENTY_WEEKS: i64 = 140;

impl Measures {
    /// Adds another area's measures (a district's into its authority's).
    pub fn add(&mut self, other: &Measures) {
        self.plans += other.plans;
        self.in_mainstream += other.in_mainstream;
        self.independent_special += other.independent_special;
        for (k, n) in &other.out_of_authority {
            *self.out_of_authority.entry(*k).or_insert(0) += n;
        }
        for (k, n) in &other.by_need {
            *self.by_need.entry(*k).or_insert(0) += n;
        }
        self.new_plans += other.new_plans;
        self.new_plans_within_20_weeks += other.new_plans_within_20_weeks;
    }
}

/// State-funded mainstream, with or without a specialist facility.
pub fn is_state_mainstream(kind: ProvisionKind) -> bool {
    use ProvisionKind::*;
    matches!(
        kind,
        MainstreamMaintained
            | MainstreamMaintainedRp
            | MainstreamMaintainedUnit
            | MainstreamAcademy
            | MainstreamAcademyRp
            | MainstreamAcademyUnit
            | MainstreamFree
            | MainstreamFreeRp
            | MainstreamFreeUnit
    )
}

/// The January census day of `year` (mid-January, when the SEN2 and school censuses count).
pub fn census_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 15).unwrap_or(NaiveDate::MIN)
}

impl Projection for Caseload {
    const NAME: &'static str = "caseload";
    // 4: a census recorded again keeps the tables it does not bring.
    const VERSION: u32 = 4;

    fn apply(&mut self, event: &Event) {
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
                ..
            } => {
                self.settings.insert(
                    *urn,
                    (
                        ProvisionKind::at_setting(*kind, *facility),
                        authority.clone(),
                    ),
                );
            }
            Event::SettingConvertedToAcademy { urn, new_urn, .. } => {
                if let Some((kind, authority)) = self.settings.get(urn).cloned() {
                    self.settings
                        .insert(*new_urn, (kind.academy_counterpart(), authority));
                }
            }
            Event::AssessmentRequested {
                child,
                requested_on,
            } => {
                let line = self.children.entry(child.clone()).or_default();
                if line.issued.is_none() {
                    line.requested = Some(*requested_on);
                }
            }
            Event::ChildRegistered {
                child,
                authority,
                born,
                district,
                registered_on,
            } => {
                let line = self.children.entry(child.clone()).or_default();
                line.born = Some(*born);
                line.homes
                    .push((*registered_on, Some((authority.clone(), district.clone()))));
            }
            Event::ChildMovedHome {
                child,
                moved_on,
                home,
            } => {
                let home = match home {
                    NewHome::District { district } => self
                        .districts
                        .get(district)
                        .map(|a| (a.clone(), district.clone())),
                    NewHome::OutsideArea { .. } => None,
                };
                self.children
                    .entry(child.clone())
                    .or_default()
                    .homes
                    .push((*moved_on, home));
            }
            Event::PlanIssued {
                child,
                issued_on,
                primary_need,
                transfer_in,
                ..
            } => {
                let line = self.children.entry(child.clone()).or_default();
                line.issued = Some(*issued_on);
                line.transferred_in = transfer_in.is_some();
                line.needs.push((*issued_on, *primary_need));
            }
            Event::PrimaryNeedChanged {
                child,
                changed_on,
                primary_need,
            } => {
                self.children
                    .entry(child.clone())
                    .or_default()
                    .needs
                    .push((*changed_on, *primary_need));
            }
            Event::PlanCeased {
                child, ceased_on, ..
            } => {
                let line = self.children.entry(child.clone()).or_default();
                line.ceased = Some(*ceased_on);
                if let Some(open) = line.placements.iter_mut().find(|p| p.1.is_none()) {
                    open.1 = Some(*ceased_on);
                }
            }
            Event::PlacementStarted {
                child,
                started_on,
                placed_at,
            } => {
                let (kind, at) = match placed_at {
                    PlacedAt::Setting { urn, .. } => match self.settings.get(urn) {
                        Some((kind, authority)) => (*kind, Some(authority.clone())),
                        None => (ProvisionKind::NotRecorded, None),
                    },
                    PlacedAt::Elsewhere { elsewhere } => {
                        (ProvisionKind::elsewhere(*elsewhere), None)
                    }
                };
                self.children
                    .entry(child.clone())
                    .or_default()
                    .placements
                    .push((*started_on, None, kind, at));
            }
            Event::PlacementEnded {
                child, ended_on, ..
            } => {
                let line = self.children.entry(child.clone()).or_default();
                if let Some(open) = line.placements.iter_mut().find(|p| p.1.is_none()) {
                    open.1 = Some(*ended_on);
                }
            }
            Event::CaseloadRecorded {
                authority,
                census,
                cells,
            } => {
                // Each breakdown is a table of its own (by age, by need, by placement, by age
                // and placement...): a census recorded again replaces the tables it brings
                // and keeps the others, so DfE's caseload time series (by age and placement)
                // updates a census without losing its need table from the older files.
                let shape =
                    |c: &CaseloadCell| (c.age.is_some(), c.need.is_some(), c.kind.is_some());
                let brought: Vec<_> = cells.iter().map(shape).collect();
                let table = self
                    .published
                    .entry(authority.clone())
                    .or_default()
                    .entry(*census)
                    .or_default();
                table.retain(|c| !brought.contains(&shape(c)));
                table.extend(cells.iter().cloned());
            }
            Event::NationalCaseloadRecorded { census, plans } => {
                self.national.insert(*census, *plans);
            }
            _ => {}
        }
    }
}

impl Caseload {
    /// Every child's line, by id.
    pub fn children(&self) -> &BTreeMap<ChildId, Line> {
        &self.children
    }

    /// Plans in force on the January census of `year`, counted from child-level events, per
    /// authority, district, academic age, need and kind. Children living outside every
    /// registered authority that day are not in any authority's caseload.
    pub fn january(&self, year: i32) -> BTreeMap<Cell, u32> {
        let on = census_day(year);
        let Ok(academic) = AcademicYear::new(year - 1) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for line in self.children.values().filter(|l| l.in_force(on)) {
            let (Some((authority, district)), Some(born), Some(need)) =
                (line.home_on(on), line.born, line.need_on(on))
            else {
                continue;
            };
            let cell = Cell {
                authority,
                district,
                age: born.academic_age(academic),
                need,
                kind: line.kind_on(on),
            };
            *out.entry(cell).or_insert(0) += 1;
        }
        out
    }

    /// January plans per authority from child-level events.
    pub fn totals(&self, year: i32) -> BTreeMap<AuthorityCode, u32> {
        let mut out = BTreeMap::new();
        for (cell, n) in self.january(year) {
            *out.entry(cell.authority).or_insert(0) += n;
        }
        out
    }

    /// The measures for the January of `year`, per authority and district of residence
    /// (on the census day for stocks; at the plan's issue for new plans).
    pub fn measures(&self, year: i32) -> BTreeMap<(AuthorityCode, GssCode), Measures> {
        let on = census_day(year);
        let flows = (
            NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(NaiveDate::MIN),
            NaiveDate::from_ymd_opt(year - 1, 12, 31).unwrap_or(NaiveDate::MIN),
        );
        let mut out: BTreeMap<(AuthorityCode, GssCode), Measures> = BTreeMap::new();
        for line in self.children.values() {
            if line.in_force(on)
                && let (Some((authority, district)), Some(need)) =
                    (line.home_on(on), line.need_on(on))
            {
                let placement = line.placement_on(on);
                let m = out.entry((authority.clone(), district)).or_default();
                m.plans += 1;
                *m.by_need.entry(need).or_insert(0) += 1;
                if let Some((kind, at)) = placement {
                    m.in_mainstream += u32::from(is_state_mainstream(kind));
                    m.independent_special += u32::from(kind.is_inmss());
                    if at.is_some_and(|a| *a != authority) {
                        *m.out_of_authority.entry(kind).or_insert(0) += 1;
                    }
                }
            }
            if let Some(issued) = line.issued
                && !line.transferred_in
                && flows.0 <= issued
                && issued <= flows.1
                && let Some((authority, district)) = line.home_on(issued)
            {
                let m = out.entry((authority, district)).or_default();
                m.new_plans += 1;
                let in_time = line
                    .requested
                    .is_some_and(|r| (issued - r).num_days() <= TWENTY_WEEKS);
                m.new_plans_within_20_weeks += u32::from(in_time);
            }
        }
        out
    }

    /// The SEN2 tables recorded for `authority`, by census.
    pub fn published(
        &self,
        authority: &AuthorityCode,
    ) -> Option<&BTreeMap<AcademicYear, Vec<CaseloadCell>>> {
        self.published.get(authority)
    }

    /// `authority`'s measures for the January of `year` from its published SEN2 tables, if
    /// it has them: the total, the need table, and the shares in mainstream and in INMSS
    /// where the placement table was published (`None` where not). Placements out of the
    /// authority and new plans are not in the caseload tables.
    pub fn published_measures(
        &self,
        authority: &AuthorityCode,
        year: i32,
    ) -> Option<PublishedMeasures> {
        let census = AcademicYear::new(year - 1).ok()?;
        let cells = self.published.get(authority)?.get(&census)?;
        let plans = cells
            .iter()
            .find(|c| c.age.is_none() && c.need.is_none() && c.kind.is_none())
            .and_then(|c| c.plans)?;
        let kinds: Vec<(ProvisionKind, u32)> = cells
            .iter()
            .filter(|c| c.age.is_none() && c.need.is_none())
            .filter_map(|c| Some((c.kind?, c.plans?)))
            .collect();
        let by_kind = |f: fn(ProvisionKind) -> bool| {
            (!kinds.is_empty()).then(|| kinds.iter().filter(|(k, _)| f(*k)).map(|(_, n)| n).sum())
        };
        Some(PublishedMeasures {
            plans,
            in_mainstream: by_kind(is_state_mainstream),
            independent_special: by_kind(ProvisionKind::is_inmss),
            by_need: cells
                .iter()
                .filter(|c| c.age.is_none() && c.kind.is_none())
                .filter_map(|c| Some((c.need?, c.plans?)))
                .collect(),
        })
    }

    /// England's plans in force on each January census, by calendar year of the January.
    /// The authorities with published tables.
    pub fn published_authorities(&self) -> impl Iterator<Item = &AuthorityCode> {
        self.published.keys()
    }

    pub fn national(&self) -> BTreeMap<i32, u32> {
        self.national
            .iter()
            .map(|(census, plans)| (census.start_year() + 1, *plans))
            .collect()
    }
}
