//! Events: what has happened, in the planners' words. Their serde form is the stored form.
//!
//! The enum is internally tagged by `type`, so the JSON reads well in SQL. The schema
//! version of each type lives beside the payload in the store (see `placeledger-codec`);
//! changing a variant's fields means a new version and an upcaster, never an edit in place.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::{
    AcademicYear, ActivityMeasure, AgeBand, AgeGroup, AssessmentDecision, AuthorityCode,
    CeaseReason, ChildId, Elsewhere, Facility, FundingStatus, GssCode, Money, Ncy, Phase,
    PlacementEndReason, PlanningAreaCode, PopulationBasis, PrimaryNeed, ProvisionKind,
    ReviewOutcome, ScenarioId, SettingKind, SharedData, Urn, YearMonth,
};

/// Where a child lives after moving home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to")]
pub enum NewHome {
    /// A registered district. If it belongs to another registered authority, that authority
    /// takes the plan over (a transfer between authorities, not a new plan).
    District { district: GssCode },
    /// Somewhere outside every registered authority: the child transfers out.
    OutsideArea { authority: String },
}

/// Where a placement is: a setting (possibly in a facility inside it), or educated elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "at")]
pub enum PlacedAt {
    Setting {
        urn: Urn,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facility: Option<Facility>,
    },
    Elsewhere {
        elsewhere: Elsewhere,
    },
}

/// A plan taken over from another authority keeps its original issue date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferIn {
    pub from_authority: String,
    pub originally_issued_on: NaiveDate,
}

/// Net capacity of one year group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NcyCount {
    pub ncy: Ncy,
    pub count: u32,
}

/// Places commissioned for one designated need (`None`: any need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedPlaces {
    pub need: Option<PrimaryNeed>,
    pub places: u32,
}

/// Pupils yielded per new dwelling, for one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseYield {
    pub phase: Phase,
    pub per_dwelling: Decimal,
}

/// One cell of an SEN2 caseload table: plans in force in January. A dimension that is `None`
/// means "all" (the cell is not broken down by it). `plans` is `None` when the publisher
/// suppressed or did not have the figure: unknown, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseloadCell {
    pub age: Option<AgeBand>,
    pub need: Option<PrimaryNeed>,
    pub kind: Option<ProvisionKind>,
    pub plans: Option<u32>,
}

/// One count of an SEN2 activity table (a calendar year's flow): what it counts, broken
/// down by age band, need, kind of placement or cease reason (`None`: all).
/// `count` is `None` when the publisher suppressed or did not have the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityCell {
    pub measure: ActivityMeasure,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<AgeBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<PrimaryNeed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProvisionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CeaseReason>,
    pub count: Option<u32>,
}

/// One change a scenario makes to the forecast's inputs or assumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "lever", rename_all = "snake_case")]
pub enum Lever {
    /// New commissioned places of a kind in a district from a date (a new special school,
    /// resourced provision or unit), for the ages it serves.
    OpenPlaces {
        district: GssCode,
        kind: ProvisionKind,
        low_age: u8,
        high_age: u8,
        from: NaiveDate,
        places: Vec<NeedPlaces>,
    },
    /// An existing setting's commissioned places change by `change` from a date (an
    /// expansion, or fewer places when negative).
    ChangePlaces {
        urn: Urn,
        from: NaiveDate,
        change: i32,
    },
    /// An existing setting closes on a date: its places go.
    CloseSetting { urn: Urn, on: NaiveDate },
    /// `percent` of the new plans of a need and age band go to a kind of place other than
    /// where today's placement mix would send them (e.g. to resourced provision).
    ShiftNewPlans {
        need: PrimaryNeed,
        ages: AgeBand,
        to: ProvisionKind,
        percent: Decimal,
    },
    /// New plans are `multiplier` times what the trend gives (1.1: a tenth more), for one
    /// authority or all.
    IncidenceMultiplier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<AuthorityCode>,
        multiplier: Decimal,
    },
    /// `percent` of the children who would be placed in independent special schools after a
    /// phase transfer (into Y7 or post-16) are placed in the authority's special schools.
    ReduceOutOfCountyAtTransfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<AuthorityCode>,
        percent: Decimal,
    },
    /// The annual cost of a kind of place for an authority from a date.
    ChangeCost {
        authority: AuthorityCode,
        kind: ProvisionKind,
        from: NaiveDate,
        annual_cost: Money,
    },
}

/// Everything that can happen in Placeledger. One variant per fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    // --- geography ---
    AuthorityRegistered {
        authority: AuthorityCode,
        gss: GssCode,
        name: String,
    },
    DistrictRegistered {
        district: GssCode,
        authority: AuthorityCode,
        name: String,
    },
    PlanningAreaRegistered {
        planning_area: PlanningAreaCode,
        district: GssCode,
        phase: Phase,
        name: String,
    },

    // --- settings ---
    SettingOpened {
        urn: Urn,
        name: String,
        authority: AuthorityCode,
        district: GssCode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        planning_area: Option<PlanningAreaCode>,
        kind: SettingKind,
        phase: Phase,
        low_age: u8,
        high_age: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facility: Option<Facility>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        designated_needs: Vec<PrimaryNeed>,
        opened_on: NaiveDate,
    },
    SettingClosed {
        urn: Urn,
        closed_on: NaiveDate,
    },
    /// The maintained setting `urn` closes and reopens as an academy under `new_urn`,
    /// same building, same places.
    SettingConvertedToAcademy {
        urn: Urn,
        new_urn: Urn,
        new_name: String,
        converted_on: NaiveDate,
    },
    NetCapacitySet {
        urn: Urn,
        from: NaiveDate,
        capacity: Vec<NcyCount>,
    },
    PlacesCommissioned {
        urn: Urn,
        year: AcademicYear,
        places: Vec<NeedPlaces>,
    },
    PlacementCostSet {
        authority: AuthorityCode,
        kind: ProvisionKind,
        from: NaiveDate,
        annual_cost: Money,
    },

    // --- children and plans ---
    ChildRegistered {
        child: ChildId,
        authority: AuthorityCode,
        born: YearMonth,
        district: GssCode,
        registered_on: NaiveDate,
    },
    ChildMovedHome {
        child: ChildId,
        moved_on: NaiveDate,
        #[serde(flatten)]
        home: NewHome,
    },
    AssessmentRequested {
        child: ChildId,
        requested_on: NaiveDate,
    },
    AssessmentDecided {
        child: ChildId,
        decided_on: NaiveDate,
        decision: AssessmentDecision,
    },
    PlanIssued {
        child: ChildId,
        issued_on: NaiveDate,
        primary_need: PrimaryNeed,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secondary_needs: Vec<PrimaryNeed>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer_in: Option<TransferIn>,
    },
    AnnualReviewHeld {
        child: ChildId,
        held_on: NaiveDate,
        outcome: ReviewOutcome,
    },
    PrimaryNeedChanged {
        child: ChildId,
        changed_on: NaiveDate,
        primary_need: PrimaryNeed,
    },
    PlanCeased {
        child: ChildId,
        ceased_on: NaiveDate,
        reason: CeaseReason,
    },
    PlacementStarted {
        child: ChildId,
        started_on: NaiveDate,
        #[serde(flatten)]
        placed_at: PlacedAt,
    },
    PlacementEnded {
        child: ChildId,
        ended_on: NaiveDate,
        reason: PlacementEndReason,
    },

    // --- aggregates ---
    CensusRollRecorded {
        urn: Urn,
        /// The January census, named by its academic year (2025/26 is January 2026).
        census: AcademicYear,
        rolls: Vec<NcyCount>,
    },
    PopulationRecorded {
        area: GssCode,
        year: i32,
        age: AgeGroup,
        persons: Decimal,
        basis: PopulationBasis,
        /// The ONS release, such as "2022-based SNPP" or "MYE 2023".
        release: String,
    },
    BirthsRecorded {
        area: GssCode,
        year: i32,
        births: u32,
    },
    HousingCompletionsRecorded {
        planning_area: PlanningAreaCode,
        year: i32,
        dwellings: u32,
        pupil_yield: Vec<PhaseYield>,
    },
    CaseloadRecorded {
        authority: AuthorityCode,
        census: AcademicYear,
        cells: Vec<CaseloadCell>,
    },
    /// England's plans in force on a January census (DfE's national figure): the trend the
    /// authorities' forecasts follow. A later figure for the same census replaces it.
    NationalCaseloadRecorded {
        census: AcademicYear,
        plans: u32,
    },
    /// An authority's High Needs Block allocation for a financial year (`financial_year` 2025
    /// is April 2025 to March 2026) and/or its cumulative DSG balance at that year's end
    /// (negative: a deficit), how final they are and where they come from. A later record
    /// for the same year replaces the figures it carries and keeps the others.
    HighNeedsFundingRecorded {
        authority: AuthorityCode,
        financial_year: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allocation: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dsg_balance: Option<Decimal>,
        status: FundingStatus,
        source: String,
    },
    /// Counts of one calendar year's activity for an authority, from SEN2 tables.
    ActivityRecorded {
        authority: AuthorityCode,
        year: i32,
        cells: Vec<ActivityCell>,
    },

    // --- sharing ---
    /// `authority` shares `shares` with `partner` from `from` (until `until`, if set). A new
    /// agreement between the same two replaces the last.
    DataSharingAgreed {
        authority: AuthorityCode,
        partner: AuthorityCode,
        shares: Vec<SharedData>,
        from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<NaiveDate>,
    },
    DataSharingEnded {
        authority: AuthorityCode,
        partner: AuthorityCode,
        ended_on: NaiveDate,
    },

    // --- scenarios ---
    /// A named set of levers on the forecast, owned by an authority, built on a base
    /// scenario's levers if it has one.
    ScenarioCreated {
        scenario: ScenarioId,
        name: String,
        author: String,
        authority: AuthorityCode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<ScenarioId>,
        created_on: NaiveDate,
    },
    ScenarioLeverAdded {
        scenario: ScenarioId,
        lever: Lever,
    },
    /// The lever at `index` (counting from 0, in the order added) is taken off.
    ScenarioLeverRemoved {
        scenario: ScenarioId,
        index: u32,
    },
}

impl Event {
    /// The stream the event belongs to: the unit of optimistic concurrency.
    pub fn stream_id(&self) -> String {
        use Event::*;
        match self {
            AuthorityRegistered { authority, .. } => format!("authority-{authority}"),
            DistrictRegistered { district, .. } => format!("district-{district}"),
            PlanningAreaRegistered { planning_area, .. } => {
                format!("planning-area-{planning_area}")
            }
            SettingOpened { urn, .. }
            | SettingClosed { urn, .. }
            | SettingConvertedToAcademy { urn, .. }
            | NetCapacitySet { urn, .. }
            | PlacesCommissioned { urn, .. }
            | CensusRollRecorded { urn, .. } => format!("setting-{urn}"),
            PlacementCostSet { authority, .. } => format!("costs-{authority}"),
            ChildRegistered { child, .. }
            | ChildMovedHome { child, .. }
            | AssessmentRequested { child, .. }
            | AssessmentDecided { child, .. }
            | PlanIssued { child, .. }
            | AnnualReviewHeld { child, .. }
            | PrimaryNeedChanged { child, .. }
            | PlanCeased { child, .. }
            | PlacementStarted { child, .. }
            | PlacementEnded { child, .. } => format!("child-{child}"),
            PopulationRecorded { area, .. } | BirthsRecorded { area, .. } => {
                format!("population-{area}")
            }
            HousingCompletionsRecorded { planning_area, .. } => {
                format!("housing-{planning_area}")
            }
            CaseloadRecorded { authority, .. } => format!("caseload-{authority}"),
            ActivityRecorded { authority, .. } => format!("activity-{authority}"),
            HighNeedsFundingRecorded { authority, .. } => format!("high-needs-{authority}"),
            NationalCaseloadRecorded { .. } => "caseload-england".to_owned(),
            DataSharingAgreed { authority, .. } | DataSharingEnded { authority, .. } => {
                format!("sharing-{authority}")
            }
            ScenarioCreated { scenario, .. }
            | ScenarioLeverAdded { scenario, .. }
            | ScenarioLeverRemoved { scenario, .. } => format!("scenario-{scenario}"),
        }
    }
}
