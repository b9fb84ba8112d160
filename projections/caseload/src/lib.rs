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
    /// Placements: start, end (inclusive), and the kind they count as.
    pub placements: Vec<(NaiveDate, Option<NaiveDate>, ProvisionKind)>,
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
            .find(|(s, e, _)| *s <= on && e.is_none_or(|e| on <= e))
            .map_or(ProvisionKind::NotRecorded, |p| p.2)
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
    settings: BTreeMap<Urn, ProvisionKind>,
    children: BTreeMap<ChildId, Line>,
    /// SEN2 tables as recorded, per authority and census (the latest recording wins).
    published: BTreeMap<AuthorityCode, BTreeMap<AcademicYear, Vec<CaseloadCell>>>,
}

/// The January census day of `year` (mid-January, when the SEN2 and school censuses count).
pub fn census_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 15).unwrap_or(NaiveDate::MIN)
}

impl Projection for Caseload {
    const NAME: &'static str = "caseload";
    const VERSION: u32 = 2;

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
                kind,
                facility,
                ..
            } => {
                self.settings
                    .insert(*urn, ProvisionKind::at_setting(*kind, *facility));
            }
            Event::SettingConvertedToAcademy { urn, new_urn, .. } => {
                if let Some(kind) = self.settings.get(urn).copied() {
                    self.settings.insert(*new_urn, kind.academy_counterpart());
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
                let kind = match placed_at {
                    PlacedAt::Setting { urn, .. } => self
                        .settings
                        .get(urn)
                        .copied()
                        .unwrap_or(ProvisionKind::NotRecorded),
                    PlacedAt::Elsewhere { elsewhere } => ProvisionKind::elsewhere(*elsewhere),
                };
                self.children
                    .entry(child.clone())
                    .or_default()
                    .placements
                    .push((*started_on, None, kind));
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
                self.published
                    .entry(authority.clone())
                    .or_default()
                    .insert(*census, cells.clone());
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

    /// The SEN2 tables recorded for `authority`, by census.
    pub fn published(
        &self,
        authority: &AuthorityCode,
    ) -> Option<&BTreeMap<AcademicYear, Vec<CaseloadCell>>> {
        self.published.get(authority)
    }
}
