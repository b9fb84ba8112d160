//! Placements: where each child with a plan is placed now, counted by resident authority and
//! district, setting, kind of provision, primary need, NCY and location class (in the
//! resident authority, in a partner authority, or outside), with each authority's imports
//! (other authorities' residents in its settings) and exports (its residents in others').
//! The state holds only what is current: one line per child.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use placeledger_domain::{
    AcademicYear, AuthorityCode, ChildId, Event, GssCode, Ncy, NewHome, PlacedAt, PrimaryNeed,
    ProvisionKind, Urn, YearMonth,
};
use placeledger_projection::Projection;
use serde::{Deserialize, Serialize};

/// Where a placement is, seen from the child's resident authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationClass {
    /// A setting of the resident authority.
    InAuthority,
    /// A setting of an authority the resident authority has a data-sharing agreement with
    /// (pan-Lancashire).
    Partner,
    /// A setting anywhere else.
    Outside,
    /// Educated elsewhere: not at a setting.
    NotAtSetting,
}

impl LocationClass {
    pub fn code(self) -> &'static str {
        match self {
            LocationClass::InAuthority => "in_authority",
            LocationClass::Partner => "partner",
            LocationClass::Outside => "outside",
            LocationClass::NotAtSetting => "not_at_setting",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SettingAt {
    authority: AuthorityCode,
    district: GssCode,
    provision: ProvisionKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Child {
    born: Option<YearMonth>,
    home: Option<(AuthorityCode, GssCode)>,
    need: Option<PrimaryNeed>,
    plan: bool,
    placed: Option<(NaiveDate, PlacedAt)>,
}

/// One current placement, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement<'a> {
    pub child: &'a ChildId,
    pub resident_authority: &'a AuthorityCode,
    pub resident_district: &'a GssCode,
    pub urn: Option<Urn>,
    pub setting_authority: Option<&'a AuthorityCode>,
    pub kind: ProvisionKind,
    pub need: Option<PrimaryNeed>,
    pub born: Option<YearMonth>,
    pub since: NaiveDate,
    pub location: LocationClass,
}

impl Placement<'_> {
    /// The NCY the child is expected in during `year`.
    pub fn ncy(&self, year: AcademicYear) -> Option<Ncy> {
        Ncy::expected(self.born?, year)
    }
}

/// A cell of a placement summary. Dimensions a summary does not group by are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Group {
    pub authority: Option<AuthorityCode>,
    pub district: Option<GssCode>,
    pub kind: Option<ProvisionKind>,
    pub need: Option<PrimaryNeed>,
    pub ncy: Option<Ncy>,
    pub location: Option<LocationClass>,
}

/// What to group a summary by.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct GroupBy {
    pub authority: bool,
    pub district: bool,
    pub kind: bool,
    pub need: bool,
    pub ncy: bool,
    pub location: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Placements {
    districts: BTreeMap<GssCode, AuthorityCode>,
    settings: BTreeMap<Urn, SettingAt>,
    children: BTreeMap<ChildId, Child>,
    /// Pairs of authorities with a data-sharing agreement, as "{a}>{b}" (either way round
    /// makes them partners).
    partners: BTreeSet<String>,
}

impl Projection for Placements {
    const NAME: &'static str = "placements";
    const VERSION: u32 = 1;

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
                district,
                kind,
                facility,
                ..
            } => {
                self.settings.insert(
                    *urn,
                    SettingAt {
                        authority: authority.clone(),
                        district: district.clone(),
                        provision: ProvisionKind::at_setting(*kind, *facility),
                    },
                );
            }
            Event::SettingConvertedToAcademy { urn, new_urn, .. } => {
                if let Some(s) = self.settings.get(urn).cloned() {
                    let provision = s.provision.academy_counterpart();
                    self.settings.insert(*new_urn, SettingAt { provision, ..s });
                }
            }
            Event::DataSharingAgreed {
                authority, partner, ..
            } => {
                self.partners.insert(format!("{authority}>{partner}"));
            }
            Event::ChildRegistered {
                child,
                authority,
                born,
                district,
                ..
            } => {
                let c = self.children.entry(child.clone()).or_default();
                c.born = Some(*born);
                c.home = Some((authority.clone(), district.clone()));
            }
            Event::ChildMovedHome { child, home, .. } => {
                let home = match home {
                    NewHome::District { district } => self
                        .districts
                        .get(district)
                        .map(|a| (a.clone(), district.clone())),
                    NewHome::OutsideArea { .. } => None,
                };
                self.children.entry(child.clone()).or_default().home = home;
            }
            Event::PlanIssued {
                child,
                primary_need,
                ..
            } => {
                let c = self.children.entry(child.clone()).or_default();
                c.plan = true;
                c.need = Some(*primary_need);
            }
            Event::PrimaryNeedChanged {
                child,
                primary_need,
                ..
            } => {
                self.children.entry(child.clone()).or_default().need = Some(*primary_need);
            }
            Event::PlanCeased { child, .. } => {
                let c = self.children.entry(child.clone()).or_default();
                c.plan = false;
                c.placed = None;
            }
            Event::PlacementStarted {
                child,
                started_on,
                placed_at,
            } => {
                self.children.entry(child.clone()).or_default().placed =
                    Some((*started_on, *placed_at));
            }
            Event::PlacementEnded { child, .. } => {
                self.children.entry(child.clone()).or_default().placed = None;
            }
            _ => {}
        }
    }
}

impl Placements {
    fn partners(&self, a: &AuthorityCode, b: &AuthorityCode) -> bool {
        self.partners.contains(&format!("{a}>{b}")) || self.partners.contains(&format!("{b}>{a}"))
    }

    /// Every child with a plan in force and a current placement, resolved.
    pub fn current(&self) -> impl Iterator<Item = Placement<'_>> {
        self.children.iter().filter_map(|(child, c)| {
            let (since, at) = c.placed?;
            if !c.plan {
                return None;
            }
            let (authority, district) = c.home.as_ref()?;
            let (urn, setting, kind) = match at {
                PlacedAt::Setting { urn, .. } => {
                    let s = self.settings.get(&urn);
                    (
                        Some(urn),
                        s,
                        s.map_or(ProvisionKind::NotRecorded, |s| s.provision),
                    )
                }
                PlacedAt::Elsewhere { elsewhere } => {
                    (None, None, ProvisionKind::elsewhere(elsewhere))
                }
            };
            let location = match (urn, setting) {
                (None, _) => LocationClass::NotAtSetting,
                (Some(_), Some(s)) if &s.authority == authority => LocationClass::InAuthority,
                (Some(_), Some(s)) if self.partners(&s.authority, authority) => {
                    LocationClass::Partner
                }
                (Some(_), _) => LocationClass::Outside,
            };
            Some(Placement {
                child,
                resident_authority: authority,
                resident_district: district,
                urn,
                setting_authority: setting.map(|s| &s.authority),
                kind,
                need: c.need,
                born: c.born,
                since,
                location,
            })
        })
    }

    /// Current placements counted by the dimensions `by` names; NCY as expected in `year`.
    pub fn summary(&self, by: GroupBy, year: AcademicYear) -> BTreeMap<Group, u32> {
        let mut out = BTreeMap::new();
        for p in self.current() {
            let g = Group {
                authority: by.authority.then(|| p.resident_authority.clone()),
                district: by.district.then(|| p.resident_district.clone()),
                kind: by.kind.then_some(p.kind),
                need: if by.need { p.need } else { None },
                ncy: if by.ncy { p.ncy(year) } else { None },
                location: by.location.then_some(p.location),
            };
            *out.entry(g).or_insert(0) += 1;
        }
        out
    }

    /// Per authority: imports (other authorities' residents in its settings) and exports
    /// (its residents in other authorities' settings).
    pub fn imports_and_exports(&self) -> BTreeMap<AuthorityCode, (u32, u32)> {
        let mut out: BTreeMap<AuthorityCode, (u32, u32)> = BTreeMap::new();
        for p in self.current() {
            let Some(at) = p.setting_authority else {
                continue;
            };
            if at != p.resident_authority {
                out.entry(at.clone()).or_default().0 += 1;
                out.entry(p.resident_authority.clone()).or_default().1 += 1;
            }
        }
        out
    }
}
