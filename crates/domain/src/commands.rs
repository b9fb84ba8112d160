//! Commands: what someone asks Placeledger to record. Time and ids arrive inside them.
//!
//! Identifiers are already-parsed value types (the edge parses them and reports its own
//! field names). Counts arrive as `i64` exactly as a person or a file gave them, so the
//! domain can refuse a negative count with the field that held it.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::events::{Lever, NewHome, PlacedAt, TransferIn};
use crate::values::{
    AcademicYear, ActivityMeasure, AgeGroup, AssessmentDecision, AuthorityCode, CeaseReason,
    ChildId, Facility, GssCode, Ncy, Phase, PlacementEndReason, PlanningAreaCode, PopulationBasis,
    PrimaryNeed, ProvisionKind, ReviewOutcome, ScenarioId, SettingKind, SharedData, Urn, YearMonth,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    RegisterAuthority {
        authority: AuthorityCode,
        gss: GssCode,
        name: String,
    },
    RegisterDistrict {
        district: GssCode,
        authority: AuthorityCode,
        name: String,
    },
    RegisterPlanningArea {
        planning_area: PlanningAreaCode,
        district: GssCode,
        phase: Phase,
        name: String,
    },
    OpenSetting(OpenSetting),
    CloseSetting {
        urn: Urn,
        on: NaiveDate,
    },
    ConvertToAcademy {
        urn: Urn,
        new_urn: Urn,
        new_name: String,
        on: NaiveDate,
    },
    SetNetCapacity {
        urn: Urn,
        from: NaiveDate,
        capacity: Vec<(Ncy, i64)>,
    },
    CommissionPlaces {
        urn: Urn,
        year: AcademicYear,
        places: Vec<(Option<PrimaryNeed>, i64)>,
    },
    SetPlacementCost {
        authority: AuthorityCode,
        kind: ProvisionKind,
        from: NaiveDate,
        annual_cost: Decimal,
    },
    RegisterChild {
        child: ChildId,
        authority: AuthorityCode,
        born: YearMonth,
        district: GssCode,
        on: NaiveDate,
    },
    MoveHome {
        child: ChildId,
        on: NaiveDate,
        home: NewHome,
    },
    RequestAssessment {
        child: ChildId,
        on: NaiveDate,
    },
    DecideAssessment {
        child: ChildId,
        on: NaiveDate,
        decision: AssessmentDecision,
    },
    IssuePlan {
        child: ChildId,
        on: NaiveDate,
        primary_need: PrimaryNeed,
        secondary_needs: Vec<PrimaryNeed>,
        transfer_in: Option<TransferIn>,
    },
    HoldAnnualReview {
        child: ChildId,
        on: NaiveDate,
        outcome: ReviewOutcome,
    },
    ChangePrimaryNeed {
        child: ChildId,
        on: NaiveDate,
        primary_need: PrimaryNeed,
    },
    CeasePlan {
        child: ChildId,
        on: NaiveDate,
        reason: CeaseReason,
    },
    StartPlacement {
        child: ChildId,
        on: NaiveDate,
        placed_at: PlacedAt,
    },
    EndPlacement {
        child: ChildId,
        on: NaiveDate,
        reason: PlacementEndReason,
    },
    RecordCensusRoll {
        urn: Urn,
        census: AcademicYear,
        rolls: Vec<(Ncy, i64)>,
    },
    RecordPopulation {
        area: GssCode,
        year: i32,
        age: AgeGroup,
        persons: Decimal,
        basis: PopulationBasis,
        release: String,
    },
    RecordBirths {
        area: GssCode,
        year: i32,
        births: i64,
    },
    RecordHousingCompletions {
        planning_area: PlanningAreaCode,
        year: i32,
        dwellings: i64,
        pupil_yield: Vec<(Phase, Decimal)>,
    },
    RecordCaseload {
        authority: AuthorityCode,
        census: AcademicYear,
        cells: Vec<CaseloadInput>,
    },
    RecordActivity {
        authority: AuthorityCode,
        year: i32,
        cells: Vec<ActivityInput>,
    },
    /// `authority` agrees to share `shares` with `partner` from a date (until a date).
    AgreeDataSharing {
        authority: AuthorityCode,
        partner: AuthorityCode,
        shares: Vec<SharedData>,
        from: NaiveDate,
        until: Option<NaiveDate>,
    },
    EndDataSharing {
        authority: AuthorityCode,
        partner: AuthorityCode,
        on: NaiveDate,
    },
    CreateScenario {
        scenario: ScenarioId,
        name: String,
        author: String,
        authority: AuthorityCode,
        base: Option<ScenarioId>,
        on: NaiveDate,
    },
    AddScenarioLever {
        scenario: ScenarioId,
        lever: Lever,
    },
    RemoveScenarioLever {
        scenario: ScenarioId,
        index: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenSetting {
    pub urn: Urn,
    pub name: String,
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub planning_area: Option<PlanningAreaCode>,
    pub kind: SettingKind,
    pub phase: Phase,
    pub low_age: i64,
    pub high_age: i64,
    pub facility: Option<Facility>,
    pub designated_needs: Vec<PrimaryNeed>,
    pub on: NaiveDate,
}

/// One caseload cell as given: an age band `(from, to)` (`None`: all ages), and the count,
/// `None` when the source suppressed it or did not have it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseloadInput {
    pub age: Option<(i64, i64)>,
    pub need: Option<PrimaryNeed>,
    pub kind: Option<ProvisionKind>,
    pub plans: Option<i64>,
}

/// One activity count as given (see [`crate::events::ActivityCell`]); `count` is `None`
/// when the source suppressed it or did not have it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivityInput {
    pub measure: ActivityMeasure,
    pub age: Option<(i64, i64)>,
    pub need: Option<PrimaryNeed>,
    pub kind: Option<ProvisionKind>,
    pub reason: Option<CeaseReason>,
    pub count: Option<i64>,
}
