//! Value types, validated at construction.
//!
//! Every type here has private fields and a `parse` (or `new`) constructor that
//! rejects bad input with a [`ValueError`] naming what was wrong. Once a value
//! exists it is valid, so the rest of the domain never re-checks it.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A value that could not be constructed: which kind of value, the input, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {input:?} is not valid: {reason}")]
pub struct ValueError {
    pub kind: &'static str,
    pub input: String,
    pub reason: &'static str,
}

impl ValueError {
    fn new(kind: &'static str, input: impl Into<String>, reason: &'static str) -> Self {
        Self {
            kind,
            input: input.into(),
            reason,
        }
    }
}

/// Implements `Display`, `FromStr` and string serde for a type with `parse` and `as_str`.
macro_rules! string_value {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                Self::parse(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A local authority's three-digit DfE LA code, such as `888` (Lancashire).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorityCode(String);

impl AuthorityCode {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new(
                "authority code",
                s,
                "must be the three-digit DfE LA code, such as 888",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_value!(AuthorityCode);

/// A GSS area code (ONS): a letter for the nation, then eight digits, such as `E07000117`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GssCode(String);

impl GssCode {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 9
            && matches!(b[0], b'E' | b'W' | b'S' | b'N')
            && b[1..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(ValueError::new(
                "GSS code",
                s,
                "must be a nation letter (E, W, S or N) and eight digits, such as E07000117",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_value!(GssCode);

/// A planning area's code: the DfE-approved code or the authority's own, 1-32 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanningAreaCode(String);

impl PlanningAreaCode {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ValueError::new(
                "planning area code",
                s,
                "must be 1-32 letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_value!(PlanningAreaCode);

/// A setting's unique reference: a six-digit URN, or an eight-digit UKPRN for colleges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Urn(u32);

impl Urn {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let digits = s.bytes().all(|b| b.is_ascii_digit());
        let ok = digits && (s.len() == 6 || (s.len() == 8 && s.starts_with('1')));
        match s.parse::<u32>() {
            Ok(n) if ok => Ok(Self(n)),
            _ => Err(ValueError::new(
                "URN",
                s,
                "must be a six-digit URN or an eight-digit UKPRN starting with 1",
            )),
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}
impl FromStr for Urn {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}
impl Serialize for Urn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Urn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A child's pseudonymous id, as the owning authority's case-management system exports it.
///
/// It is never a name: 6-64 letters, digits, `-` or `_`, with at least one digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChildId(String);

impl ChildId {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.len() < 6 || s.len() > 64 {
            return Err(ValueError::new(
                "child id",
                s,
                "must be 6-64 characters long",
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValueError::new(
                "child id",
                s,
                "may hold only letters, digits, '-' and '_'",
            ));
        }
        if !s.bytes().any(|b| b.is_ascii_digit()) {
            return Err(ValueError::new(
                "child id",
                s,
                "must contain a digit: a pseudonymous id, never a name",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_value!(ChildId);

/// A scenario's id: 1-64 lower-case letters, digits and `-`, starting with a letter, so a
/// planner can type it (`more-rp-places-2027`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScenarioId(String);

impl ScenarioId {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return Err(ValueError::new(
                "scenario id",
                s,
                "must be 1-64 characters long",
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase())
            || !s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ValueError::new(
                "scenario id",
                s,
                "may hold only lower-case letters, digits and '-', starting with a letter",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_value!(ScenarioId);

/// National curriculum year: nursery (`N1`, `N2`), reception (`R`), then `Y1` to `Y14`.
///
/// Stored as the offset from reception: N1 = -2, N2 = -1, R = 0, Y1 = 1 ... Y14 = 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ncy(i8);

impl Ncy {
    pub const RECEPTION: Ncy = Ncy(0);

    pub fn new(offset: i8) -> Result<Self, ValueError> {
        if (-2..=14).contains(&offset) {
            Ok(Self(offset))
        } else {
            Err(ValueError::new(
                "NCY",
                offset.to_string(),
                "must be between N1 (-2) and Y14 (14)",
            ))
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim().to_ascii_uppercase();
        let offset = match t.as_str() {
            "N1" => Some(-2),
            "N2" => Some(-1),
            "R" | "RECEPTION" => Some(0),
            _ => t
                .strip_prefix('Y')
                .unwrap_or(&t)
                .parse::<i8>()
                .ok()
                .filter(|n| (1..=14).contains(n)),
        };
        offset
            .map(Self)
            .ok_or_else(|| ValueError::new("NCY", s, "must be N1, N2, R or Y1 to Y14"))
    }

    pub fn offset(self) -> i8 {
        self.0
    }

    /// The year group a child born in `born` is in during `year`, by academic age (age on
    /// 31 August at the start of the year): age 4 is reception. `None` outside N1..Y14.
    pub fn expected(born: YearMonth, year: AcademicYear) -> Option<Ncy> {
        let age = born.academic_age(year);
        Ncy::new(i8::try_from(age - 4).ok()?).ok()
    }

    pub fn all() -> impl Iterator<Item = Ncy> {
        (-2..=14).map(Ncy)
    }
}

impl fmt::Display for Ncy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            -2 => f.write_str("N1"),
            -1 => f.write_str("N2"),
            0 => f.write_str("R"),
            n => write!(f, "Y{n}"),
        }
    }
}
impl FromStr for Ncy {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}
impl Serialize for Ncy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Ncy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An academic year, named by the calendar year it starts in: `2025` is 2025/26
/// (1 September 2025 to 31 August 2026; its January census is January 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AcademicYear(i32);

impl AcademicYear {
    pub fn new(start: i32) -> Result<Self, ValueError> {
        if (1990..=2100).contains(&start) {
            Ok(Self(start))
        } else {
            Err(ValueError::new(
                "academic year",
                start.to_string(),
                "must start between 1990 and 2100",
            ))
        }
    }

    /// Accepts `2025/26`, `2025-26` and DfE's `202526`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        let bad = || {
            ValueError::new(
                "academic year",
                t,
                "must look like 2025/26, 2025-26 or 202526",
            )
        };
        let (start, end) = match t.len() {
            7 if matches!(t.as_bytes()[4], b'/' | b'-') => (&t[..4], &t[5..]),
            6 => (&t[..4], &t[4..]),
            _ => return Err(bad()),
        };
        let start: i32 = start.parse().map_err(|_| bad())?;
        let end: i32 = end.parse().map_err(|_| bad())?;
        if (start + 1) % 100 != end {
            return Err(bad());
        }
        Self::new(start).map_err(|_| bad())
    }

    /// The academic year a date falls in (years start on 1 September).
    pub fn containing(date: NaiveDate) -> Self {
        Self(if date.month() >= 9 {
            date.year()
        } else {
            date.year() - 1
        })
    }

    pub fn start_year(self) -> i32 {
        self.0
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 9, 1).unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:02}", self.0, (self.0 + 1) % 100)
    }
}
impl FromStr for AcademicYear {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}
impl Serialize for AcademicYear {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for AcademicYear {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A month of birth. Placeledger never holds a full date of birth (data minimisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Result<Self, ValueError> {
        if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(ValueError::new(
                "month of birth",
                format!("{year}-{month:02}"),
                "must be a real month, YYYY-MM",
            ));
        }
        Ok(Self { year, month })
    }

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        let bad = || ValueError::new("month of birth", t, "must be YYYY-MM");
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Self::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?)
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Age on 31 August at the start of `year` (academic age).
    pub fn academic_age(self, year: AcademicYear) -> i32 {
        year.start_year() - self.year - i32::from(self.month > 8)
    }

    /// The first day on which the child is certainly 26: the first day of the month after
    /// their 26th birthday month. Events on or after it are "after the child is 25".
    pub fn aged_out_from(self) -> NaiveDate {
        let (y, m) = if self.month == 12 {
            (self.year + 27, 1)
        } else {
            (self.year + 26, self.month + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}
impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Generates a closed code list (a national reference list, not local data) with its codes.
macro_rules! code_list {
    ($(#[$meta:meta])* $ty:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $ty {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($ty::$variant => $code),+ }
            }
            pub fn parse(s: &str) -> Result<Self, ValueError> {
                let t = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code().eq_ignore_ascii_case(t))
                    .ok_or_else(|| ValueError::new($kind, t, concat!("is not one of: ", $($code, " "),+)))
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
        impl FromStr for $ty {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                Self::parse(s)
            }
        }
    };
}

code_list!(
    /// Primary (or secondary) type of need, by the SEN2 codes.
    PrimaryNeed, "primary need", {
        Asd => "ASD",
        Slcn => "SLCN",
        Semh => "SEMH",
        Mld => "MLD",
        Sld => "SLD",
        Pmld => "PMLD",
        Spld => "SPLD",
        Hi => "HI",
        Vi => "VI",
        Msi => "MSI",
        Pd => "PD",
        Oth => "OTH",
        Unknown => "NSA",
    }
);

code_list!(
    /// What kind of setting a school or college is (its governance and purpose).
    SettingKind, "setting kind", {
        MainstreamMaintained => "mainstream_la_maintained",
        MainstreamAcademy => "mainstream_academy",
        MainstreamFree => "mainstream_free_school",
        MainstreamIndependent => "mainstream_independent",
        SpecialMaintained => "special_la_maintained",
        SpecialAcademyFree => "special_academy_free",
        SpecialNonMaintained => "special_non_maintained",
        SpecialIndependent => "special_independent",
        ApMaintained => "ap_pru_la_maintained",
        ApAcademy => "ap_pru_academy",
        ApFree => "ap_pru_free_school",
        FeCollege => "general_fe_tertiary_college",
        SpecialistPost16 => "specialist_post_16_institution",
        EarlyYears => "early_years",
    }
);

impl SettingKind {
    pub fn is_mainstream(self) -> bool {
        matches!(
            self,
            Self::MainstreamMaintained
                | Self::MainstreamAcademy
                | Self::MainstreamFree
                | Self::MainstreamIndependent
        )
    }

    /// The kind a maintained setting becomes on converting to an academy, if it can convert.
    pub fn academy_counterpart(self) -> Option<SettingKind> {
        match self {
            Self::MainstreamMaintained => Some(Self::MainstreamAcademy),
            Self::SpecialMaintained => Some(Self::SpecialAcademyFree),
            Self::ApMaintained => Some(Self::ApAcademy),
            _ => None,
        }
    }
}

code_list!(
    /// A specialist facility inside a mainstream school, with its own commissioned places.
    Facility, "facility", {
        ResourcedProvision => "resourced_provision",
        SenUnit => "sen_unit",
    }
);

code_list!(
    /// Where a child with a plan is educated when not at a setting (SEN2 "educated elsewhere").
    Elsewhere, "educated elsewhere", {
        ElectiveHomeEducation => "elective_home_education",
        OtherArrangementsLa => "other_arrangements_la",
        OtherArrangementsParents => "other_arrangements_parents",
        NotInEducation => "neet",
        NonMaintainedEarlyYears => "nm_early_years",
    }
);

code_list!(
    /// Kind of provision a placement counts as: SEN2's placement types, the reference list.
    ProvisionKind, "provision kind", {
        MainstreamMaintained => "mainstream_la_maintained",
        MainstreamMaintainedRp => "mainstream_la_maintained_resourced_provision",
        MainstreamMaintainedUnit => "mainstream_la_maintained_senunit",
        MainstreamAcademy => "mainstream_academy",
        MainstreamAcademyRp => "mainstream_academy_resourced_provision",
        MainstreamAcademyUnit => "mainstream_academy_senunit",
        MainstreamFree => "mainstream_free_school",
        MainstreamFreeRp => "mainstream_free_school_resourced_provision",
        MainstreamFreeUnit => "mainstream_free_school_senunit",
        MainstreamIndependent => "mainstream_independent",
        SpecialMaintained => "special_la_maintained",
        SpecialAcademyFree => "special_academy_free",
        SpecialIndependent => "special_independent",
        SpecialNonMaintained => "special_non_maintained",
        ApAcademy => "ap_pru_academy",
        ApFree => "ap_pru_free_school",
        ApMaintained => "ap_pru_la_maintained",
        FeCollege => "general_fe_tertiary_colleges",
        SpecialistPost16 => "specialist_post_16_institutions",
        UkrlpProvider => "ukrlp_provider",
        ElectiveHomeEducation => "elective_home_education",
        OtherArrangementsLa => "other_arrangements_la",
        OtherArrangementsParents => "other_arrangements_parents",
        NotInEducation => "neet",
        NotInEducationCompulsoryAge => "not_in_education_compulsory_school_age",
        NotInEducationNoticeToCease => "not_in_education_notice_to_cease",
        NotInEducationOther => "not_in_education_other",
        OnlineProvider => "online_provider",
        WelshEstablishment => "welsh_establishment",
        OtherPlacementSettings => "other_placement_settings",
        OtherSchoolsAndEstablishments => "other_schools_and_establishments",
        NonMaintainedEarlyYears => "nm_early_years",
        NotRecorded => "placement_unknown",
        /// Awaiting provision (SEN2 to January 2022; not collected since).
        AwaitingProvision => "awaiting_provision",
        /// Permanently excluded (SEN2 to January 2022; not collected since).
        PermanentlyExcluded => "permanently_excluded",
    }
);

impl ProvisionKind {
    /// The provision a placement at a setting of `kind` counts as, in its `facility` if any.
    pub fn at_setting(kind: SettingKind, facility: Option<Facility>) -> ProvisionKind {
        use Facility::{ResourcedProvision as Rp, SenUnit as Unit};
        match (kind, facility) {
            (SettingKind::MainstreamMaintained, None) => Self::MainstreamMaintained,
            (SettingKind::MainstreamMaintained, Some(Rp)) => Self::MainstreamMaintainedRp,
            (SettingKind::MainstreamMaintained, Some(Unit)) => Self::MainstreamMaintainedUnit,
            (SettingKind::MainstreamAcademy, Some(Rp)) => Self::MainstreamAcademyRp,
            (SettingKind::MainstreamAcademy, Some(Unit)) => Self::MainstreamAcademyUnit,
            (SettingKind::MainstreamFree, Some(Rp)) => Self::MainstreamFreeRp,
            (SettingKind::MainstreamFree, Some(Unit)) => Self::MainstreamFreeUnit,
            (SettingKind::MainstreamAcademy, None) => Self::MainstreamAcademy,
            (SettingKind::MainstreamFree, None) => Self::MainstreamFree,
            (SettingKind::MainstreamIndependent, _) => Self::MainstreamIndependent,
            (SettingKind::SpecialMaintained, _) => Self::SpecialMaintained,
            (SettingKind::SpecialAcademyFree, _) => Self::SpecialAcademyFree,
            (SettingKind::SpecialNonMaintained, _) => Self::SpecialNonMaintained,
            (SettingKind::SpecialIndependent, _) => Self::SpecialIndependent,
            (SettingKind::ApMaintained, _) => Self::ApMaintained,
            (SettingKind::ApAcademy, _) => Self::ApAcademy,
            (SettingKind::ApFree, _) => Self::ApFree,
            (SettingKind::FeCollege, _) => Self::FeCollege,
            (SettingKind::SpecialistPost16, _) => Self::SpecialistPost16,
            (SettingKind::EarlyYears, _) => Self::NonMaintainedEarlyYears,
        }
    }

    pub fn elsewhere(e: Elsewhere) -> ProvisionKind {
        match e {
            Elsewhere::ElectiveHomeEducation => Self::ElectiveHomeEducation,
            Elsewhere::OtherArrangementsLa => Self::OtherArrangementsLa,
            Elsewhere::OtherArrangementsParents => Self::OtherArrangementsParents,
            Elsewhere::NotInEducation => Self::NotInEducation,
            Elsewhere::NonMaintainedEarlyYears => Self::NonMaintainedEarlyYears,
        }
    }

    /// The kind a placement counts as once its maintained setting converts to an academy
    /// (same building, same places); other kinds stay as they are.
    pub fn academy_counterpart(self) -> ProvisionKind {
        match self {
            Self::MainstreamMaintained => Self::MainstreamAcademy,
            Self::MainstreamMaintainedRp => Self::MainstreamAcademyRp,
            Self::MainstreamMaintainedUnit => Self::MainstreamAcademyUnit,
            Self::SpecialMaintained => Self::SpecialAcademyFree,
            Self::ApMaintained => Self::ApAcademy,
            other => other,
        }
    }

    /// Independent and non-maintained special schools together: "INMSS".
    pub fn is_inmss(self) -> bool {
        matches!(self, Self::SpecialIndependent | Self::SpecialNonMaintained)
    }
}

code_list!(
    /// Phase of education a setting serves.
    Phase, "phase", {
        Nursery => "nursery",
        Primary => "primary",
        Middle => "middle",
        Secondary => "secondary",
        AllThrough => "all_through",
        Post16 => "post_16",
    }
);

code_list!(
    /// Why a plan ceased: the SEN2 reasons.
    CeaseReason, "cease reason", {
        ReachedAgeLimit => "reached_25",
        NeedsMet => "needs_met",
        HigherEducation => "moved_to_higher_education",
        Employment => "moved_to_employment",
        TransferredToAnotherLa => "transferred_to_another_la",
        NoLongerInEducation => "no_longer_in_education",
        MovedAbroad => "moved_abroad",
        /// Moved to Wales, Scotland, Northern Ireland or abroad (SEN2 since 2022).
        MovedOutsideEngland => "moved_outside_england",
        Died => "died",
        Other => "other",
        /// The authority did not record why (SEN2's "not recorded").
        NotRecorded => "not_recorded",
    }
);

code_list!(
    /// What an activity count counts: SEN2's flows through the front door (requests,
    /// assessments), new plans and their timeliness, cessations and annual reviews.
    ActivityMeasure, "activity measure", {
        RequestsReceived => "requests_received",
        RequestsAgreed => "requests_agreed",
        RequestsRefused => "requests_refused",
        RequestsUndecided => "requests_undecided",
        RequestsWithdrawn => "requests_withdrawn",
        RequestsDecidedWithin6Weeks => "requests_decided_within_6_weeks",
        RequestsDecidedOver6Weeks => "requests_decided_over_6_weeks",
        Assessments => "assessments",
        AssessmentsPlanIssued => "assessments_plan_issued",
        AssessmentsPlanNotIssued => "assessments_plan_not_issued",
        AssessmentsUndecided => "assessments_undecided",
        AssessmentsWithdrawn => "assessments_withdrawn",
        AssessmentsDecidedInTime => "assessments_decided_in_time",
        AssessmentsDecidedLate => "assessments_decided_late",
        PlansIssued => "plans_issued",
        PlansIssuedWithin20Weeks => "plans_issued_within_20_weeks",
        PlansIssuedExExceptions => "plans_issued_excluding_exceptions",
        PlansIssuedWithin20WeeksExExceptions => "plans_issued_within_20_weeks_excluding_exceptions",
        PlansIssued20WeeksToAYear => "plans_issued_20_weeks_to_a_year",
        PlansIssuedOverAYear => "plans_issued_over_a_year",
        NewPlans => "new_plans",
        PlansCeased => "plans_ceased",
        ReviewPlans => "review_plans",
        ReviewsDue => "reviews_due",
        ReviewsNotDue => "reviews_not_due",
        ReviewMeetingsHeld => "review_meetings_held",
        ReviewMeetingsNotHeld => "review_meetings_not_held",
        ReviewOutcomeAmend => "review_outcome_amend",
        ReviewOutcomeCease => "review_outcome_cease",
        ReviewOutcomeMaintain => "review_outcome_maintain",
        ReviewDecidedWithin4Weeks => "review_decided_within_4_weeks",
        ReviewDecidedOver4Weeks => "review_decided_over_4_weeks",
    }
);

code_list!(
    /// Why a placement ended.
    PlacementEndReason, "placement end reason", {
        PhaseTransfer => "phase_transfer",
        MovedSetting => "moved_setting",
        MovedHome => "moved_home",
        SettingClosed => "setting_closed",
        PlanCeased => "plan_ceased",
        Excluded => "excluded",
        Other => "other",
    }
);

code_list!(
    /// The outcome recorded at an annual review.
    ReviewOutcome, "review outcome", {
        Maintain => "maintain",
        Amend => "amend",
        Cease => "cease",
    }
);

code_list!(
    /// Whether the authority agreed to carry out an EHC needs assessment.
    AssessmentDecision, "assessment decision", {
        Assess => "assess",
        DoNotAssess => "do_not_assess",
    }
);

code_list!(
    /// What one authority shares with a partner under a data-sharing agreement. All of it is
    /// aggregate: no agreement ever shares child-level records.
    SharedData, "shared data", {
        Placements => "placements",
        Capacity => "capacity",
        Caseload => "caseload",
        Sufficiency => "sufficiency",
        /// The partner may place its children in this authority's spare commissioned places.
        SparePlaces => "spare_places",
    }
);

code_list!(
    /// How final a funding figure is: DfE's final allocation or the council's outturn; a
    /// provisional allocation or a budget; a council's own forecast; or an estimate (its
    /// source says how it was made).
    FundingStatus, "funding status", {
        Final => "final",
        Provisional => "provisional",
        Forecast => "forecast",
        Estimate => "estimate",
    }
);

code_list!(
    /// Whether a population figure is an estimate (mid-year) or a projection.
    PopulationBasis, "population basis", {
        Estimate => "estimate",
        Projection => "projection",
    }
);

/// A population age group: a single year of age, `90 and over`, or all ages (ONS's rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "group", content = "age")]
pub enum AgeGroup {
    Single(u8),
    NinetyAndOver,
    AllAges,
}

impl AgeGroup {
    pub fn single(age: i64) -> Result<Self, ValueError> {
        match u8::try_from(age) {
            Ok(a) if a < 90 => Ok(Self::Single(a)),
            _ => Err(ValueError::new(
                "age",
                age.to_string(),
                "a single year of age must be 0-89 (use 90 and over)",
            )),
        }
    }
}

/// A band of ages within a plan's span (0 to 25), as SEN2 tables publish them: a single year
/// (`age 7`) or a band (`under 3` is 0 to 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AgeBand {
    from: u8,
    to: u8,
}

impl AgeBand {
    pub fn new(from: i64, to: i64) -> Result<Self, ValueError> {
        let bad = |reason| ValueError::new("age band", format!("{from}-{to}"), reason);
        let from = u8::try_from(from).map_err(|_| bad("ages are 0 to 25"))?;
        let to = u8::try_from(to).map_err(|_| bad("ages are 0 to 25"))?;
        if to > 25 {
            return Err(bad("ages are 0 to 25: plans end at 25"));
        }
        if from > to {
            return Err(bad("the band starts after it ends"));
        }
        Ok(Self { from, to })
    }

    pub fn single(age: i64) -> Result<Self, ValueError> {
        Self::new(age, age)
    }

    pub fn from(self) -> u8 {
        self.from
    }

    pub fn to(self) -> u8 {
        self.to
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// An amount of money in pounds, never negative, to the penny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    pub fn new(amount: Decimal) -> Result<Self, ValueError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(ValueError::new(
                "money",
                amount.to_string(),
                "must not be negative",
            ));
        }
        if amount.normalize().scale() > 2 {
            return Err(ValueError::new(
                "money",
                amount.to_string(),
                "must be in whole pence (at most 2 decimal places)",
            ));
        }
        Ok(Self(amount))
    }
    pub fn amount(self) -> Decimal {
        self.0
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let amount = <Decimal as Deserialize>::deserialize(d)?;
        Self::new(amount).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "£{:.2}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_reject() {
        assert!(AuthorityCode::parse("888").is_ok());
        assert!(AuthorityCode::parse("88").is_err());
        assert!(GssCode::parse("E07000117").is_ok());
        assert!(GssCode::parse("X07000117").is_err());
        assert!(GssCode::parse("E0700011").is_err());
        assert_eq!(Urn::parse("119384").map(Urn::get), Ok(119384));
        assert_eq!(
            Urn::parse("012345").map(|u| u.to_string()),
            Ok("012345".into())
        );
        assert!(Urn::parse("10001234").is_ok());
        assert!(Urn::parse("20001234").is_err());
        assert!(Urn::parse("12a456").is_err());
        assert!(ChildId::parse("LCC-000123").is_ok());
        assert!(ChildId::parse("JohnSmith").is_err(), "names are not ids");
        assert!(ChildId::parse("abc 123").is_err());
    }

    #[test]
    fn ncy_round_trips_and_follows_academic_age() {
        for n in Ncy::all() {
            assert_eq!(Ncy::parse(&n.to_string()), Ok(n));
        }
        assert!(Ncy::parse("Y15").is_err());
        // Born March 2019: age 4 on 31 August 2023, so reception in 2023/24.
        let born = YearMonth::new(2019, 3).unwrap();
        let y = AcademicYear::new(2023).unwrap();
        assert_eq!(Ncy::expected(born, y), Some(Ncy::RECEPTION));
        // Born October 2018: age 4 on 31 August 2023 too (turns 5 in October 2023).
        let born = YearMonth::new(2018, 10).unwrap();
        assert_eq!(Ncy::expected(born, y), Some(Ncy::RECEPTION));
        // Born August 2018: 5 on 31 August 2023, so year 1.
        let born = YearMonth::new(2018, 8).unwrap();
        assert_eq!(Ncy::expected(born, y).map(Ncy::offset), Some(1));
    }

    #[test]
    fn academic_year_formats() {
        let y = AcademicYear::parse("2025/26").unwrap();
        assert_eq!(y.to_string(), "2025/26");
        assert_eq!(AcademicYear::parse("202526"), Ok(y));
        assert_eq!(AcademicYear::parse("2025-26"), Ok(y));
        assert!(AcademicYear::parse("2025/27").is_err());
        assert_eq!(
            AcademicYear::containing(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()),
            y
        );
    }

    #[test]
    fn money_is_never_negative_and_in_pence() {
        assert!(Money::new(Decimal::new(6500000, 0)).is_ok());
        assert!(Money::new(Decimal::new(-1, 0)).is_err());
        assert!(Money::new(Decimal::new(1001, 3)).is_err());
        assert!(
            Money::new(Decimal::new(1000, 3)).is_ok(),
            "1.000 is whole pence"
        );
    }

    #[test]
    fn codes_are_sen2() {
        assert_eq!(PrimaryNeed::parse("semh"), Ok(PrimaryNeed::Semh));
        assert!(PrimaryNeed::parse("XYZ").is_err());
        assert_eq!(
            ProvisionKind::at_setting(
                SettingKind::MainstreamAcademy,
                Some(Facility::ResourcedProvision)
            ),
            ProvisionKind::MainstreamAcademyRp
        );
        assert!(ProvisionKind::SpecialIndependent.is_inmss());
    }
}
