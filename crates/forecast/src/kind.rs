//! The kinds of place a forecast plans for, and the phase a child's age falls in.

use placeledger_domain::{Phase, ProvisionKind};
use serde::{Deserialize, Serialize};

/// A kind of place, as a sufficiency plan groups SEN2's placement types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// Mainstream schools without a specialist facility (maintained, academy, free, independent).
    Mainstream,
    /// Resourced provisions and SEN units in mainstream schools.
    ResourcedProvision,
    /// Maintained, academy and free special schools.
    Special,
    /// Independent and non-maintained special schools (INMSS).
    Independent,
    /// Pupil referral units and AP academies.
    AlternativeProvision,
    /// General FE and tertiary colleges, sixth form colleges and other post-16 providers
    /// (UKRLP).
    FeCollege,
    /// Specialist post-16 institutions.
    SpecialistPost16,
    /// Educated elsewhere, not in education, or not recorded.
    Elsewhere,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 8] = [
        PlaceKind::Mainstream,
        PlaceKind::ResourcedProvision,
        PlaceKind::Special,
        PlaceKind::Independent,
        PlaceKind::AlternativeProvision,
        PlaceKind::FeCollege,
        PlaceKind::SpecialistPost16,
        PlaceKind::Elsewhere,
    ];
    /// The kinds whose places are commissioned locally and so can run out: demand beyond them
    /// overflows to independent and out-of-county places.
    pub const COMMISSIONED: [PlaceKind; 3] = [
        PlaceKind::ResourcedProvision,
        PlaceKind::Special,
        PlaceKind::AlternativeProvision,
    ];
    /// The specialist kinds a forecast breaks down by need.
    pub const SPECIALIST: [PlaceKind; 3] = [
        PlaceKind::ResourcedProvision,
        PlaceKind::Special,
        PlaceKind::Independent,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn code(self) -> &'static str {
        match self {
            PlaceKind::Mainstream => "mainstream",
            PlaceKind::ResourcedProvision => "resourced_provision",
            PlaceKind::Special => "special",
            PlaceKind::Independent => "independent",
            PlaceKind::AlternativeProvision => "alternative_provision",
            PlaceKind::FeCollege => "fe_college",
            PlaceKind::SpecialistPost16 => "specialist_post_16",
            PlaceKind::Elsewhere => "elsewhere",
        }
    }

    pub fn parse(s: &str) -> Option<PlaceKind> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }

    /// The sector: what the place is, whatever authority it is in (where it is is the
    /// [`Location`]).
    pub fn sector(self) -> &'static str {
        match self {
            PlaceKind::Mainstream => "mainstream",
            PlaceKind::ResourcedProvision => "resourced_provision_or_sen_unit",
            PlaceKind::Special => "state_special",
            PlaceKind::Independent => "independent_or_non_maintained_special",
            PlaceKind::AlternativeProvision => "alternative_provision",
            PlaceKind::FeCollege => "fe_or_sixth_form_college",
            PlaceKind::SpecialistPost16 => "specialist_post_16",
            PlaceKind::Elsewhere => "other",
        }
    }

    /// The kind of place a SEN2 placement type counts as.
    pub fn of(kind: ProvisionKind) -> PlaceKind {
        use ProvisionKind as P;
        match kind {
            P::MainstreamMaintained
            | P::MainstreamAcademy
            | P::MainstreamFree
            | P::MainstreamIndependent => PlaceKind::Mainstream,
            P::MainstreamMaintainedRp
            | P::MainstreamMaintainedUnit
            | P::MainstreamAcademyRp
            | P::MainstreamAcademyUnit
            | P::MainstreamFreeRp
            | P::MainstreamFreeUnit => PlaceKind::ResourcedProvision,
            P::SpecialMaintained | P::SpecialAcademyFree => PlaceKind::Special,
            P::SpecialIndependent | P::SpecialNonMaintained => PlaceKind::Independent,
            P::ApAcademy | P::ApFree | P::ApMaintained => PlaceKind::AlternativeProvision,
            P::FeCollege | P::UkrlpProvider => PlaceKind::FeCollege,
            P::SpecialistPost16 => PlaceKind::SpecialistPost16,
            _ => PlaceKind::Elsewhere,
        }
    }
}

impl std::fmt::Display for PlaceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The phases a forecast reports, in order.
pub const PHASES: [Phase; 4] = [
    Phase::Nursery,
    Phase::Primary,
    Phase::Secondary,
    Phase::Post16,
];

/// Oldest academic age a plan can be held at.
pub const MAX_AGE: usize = 25;
/// Academic ages 0..=25.
pub const AGES: usize = MAX_AGE + 1;

/// The phase a child of academic age `age` is in: nursery under 4, primary 4-10 (Reception to
/// Y6), secondary 11-15 (Y7-Y11), post-16 from 16.
pub fn phase_of(age: usize) -> Phase {
    match age {
        0..=3 => Phase::Nursery,
        4..=10 => Phase::Primary,
        11..=15 => Phase::Secondary,
        _ => Phase::Post16,
    }
}

/// The index of `phase` in [`PHASES`]; phases a forecast does not report (middle,
/// all-through) have none.
pub fn phase_index(phase: Phase) -> Option<usize> {
    PHASES.iter().position(|p| *p == phase)
}

/// Where a place is, whatever kind of place it is (what it is is the sector,
/// [`PlaceKind::sector`]): "out of county" means `Elsewhere` and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// In the authority the child lives in.
    OwnAuthority,
    /// In a partner authority under the data-sharing agreement.
    PartnerAuthority,
    /// Anywhere else: another authority, or no authority's place at all.
    Elsewhere,
}

impl Location {
    pub const ALL: [Location; 3] = [
        Location::OwnAuthority,
        Location::PartnerAuthority,
        Location::Elsewhere,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Location::OwnAuthority => "own_authority",
            Location::PartnerAuthority => "partner_authority",
            Location::Elsewhere => "elsewhere",
        }
    }

    /// Children (medians) of `demand` by location, given those met by partners and those
    /// placed out of the authority: the rest are in their own authority. The three add up to
    /// the demand: medians of parts need not, so where the partners' and the out-of-county
    /// medians are more than the demand's (a handful of children), the partners' is cut.
    pub fn split(demand: i64, partner: i64, elsewhere: i64) -> [(Location, i64); 3] {
        let demand = demand.max(0);
        let elsewhere = elsewhere.clamp(0, demand);
        let partner = partner.clamp(0, demand - elsewhere);
        [
            (Location::OwnAuthority, demand - partner - elsewhere),
            (Location::PartnerAuthority, partner),
            (Location::Elsewhere, elsewhere),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Location;

    #[test]
    fn a_location_split_adds_up_to_the_demand() {
        let n = |s: [(Location, i64); 3]| s.map(|(_, n)| n);
        assert_eq!(n(Location::split(10, 3, 2)), [5, 3, 2]);
        // Medians of parts: 1 with a partner and 1 out of county of a demand of 1.
        assert_eq!(n(Location::split(1, 1, 1)), [0, 0, 1]);
        assert_eq!(n(Location::split(0, 0, 0)), [0, 0, 0]);
    }
}
