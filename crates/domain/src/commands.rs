//! Commands: what someone asks Placeledger to record. Time and ids arrive inside them.
//!
//! Identifiers are already-parsed value types (the edge parses them and reports its own
//! field names). Counts arrive as `i64` exactly as a person or a file gave them, so the
//! domain can refuse a negative count with the field that held it.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::events::{Lever, NewHome, PlacedAt, TransferIn};
use crate::state::State;
use crate::values::{
    AcademicYear, ActivityMeasure, AgeGroup, AssessmentDecision, AuthorityCode, CeaseReason,
    ChildId, Facility, FundingStatus, GssCode, Ncy, Phase, PlacementEndReason, PlanningAreaCode,
    PopulationBasis, PrimaryNeed, ProvisionKind, ReviewOutcome, ScenarioId, SettingKind,
    SharedData, Urn, YearMonth,
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
    /// An authority's High Needs Block allocation for a financial year and/or its
    /// cumulative DSG balance at the year's end (negative: a deficit), with how final they
    /// are and their source.
    RecordHighNeedsFunding {
        authority: AuthorityCode,
        financial_year: i32,
        allocation: Option<Decimal>,
        dsg_balance: Option<Decimal>,
        status: FundingStatus,
        source: String,
    },
    /// England's plans on a January census, as DfE publishes it.
    RecordNationalCaseload {
        census: AcademicYear,
        plans: i64,
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

/// Which authority answers for what a command records: who may ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Responsible {
    /// The authority whose child, setting, scenario, costs or figures these are.
    Authority(AuthorityCode),
    /// The subject (a child, setting, district or scenario) is not in the state: the command
    /// will be refused as unknown whoever asks.
    Unknown,
    /// Reference data no single authority owns (an authority itself, a region's figures):
    /// recorded by administrators only.
    Nobody,
}

impl Command {
    /// The child a lifecycle command is about (`RegisterChild` included).
    pub fn child(&self) -> Option<&ChildId> {
        use Command::*;
        match self {
            RegisterChild { child, .. }
            | MoveHome { child, .. }
            | RequestAssessment { child, .. }
            | DecideAssessment { child, .. }
            | IssuePlan { child, .. }
            | HoldAnnualReview { child, .. }
            | ChangePrimaryNeed { child, .. }
            | CeasePlan { child, .. }
            | StartPlacement { child, .. }
            | EndPlacement { child, .. } => Some(child),
            _ => None,
        }
    }

    /// The stream the command's events are recorded on (ceasing a plan may also end the
    /// child's placement: both on the child's stream).
    pub fn stream_id(&self) -> String {
        use Command::*;
        match self {
            RegisterAuthority { authority, .. } => format!("authority-{authority}"),
            RegisterDistrict { district, .. } => format!("district-{district}"),
            RegisterPlanningArea { planning_area, .. } => format!("planning-area-{planning_area}"),
            OpenSetting(o) => format!("setting-{}", o.urn),
            CloseSetting { urn, .. }
            | ConvertToAcademy { urn, .. }
            | SetNetCapacity { urn, .. }
            | CommissionPlaces { urn, .. }
            | RecordCensusRoll { urn, .. } => format!("setting-{urn}"),
            SetPlacementCost { authority, .. } => format!("costs-{authority}"),
            RegisterChild { child, .. }
            | MoveHome { child, .. }
            | RequestAssessment { child, .. }
            | DecideAssessment { child, .. }
            | IssuePlan { child, .. }
            | HoldAnnualReview { child, .. }
            | ChangePrimaryNeed { child, .. }
            | CeasePlan { child, .. }
            | StartPlacement { child, .. }
            | EndPlacement { child, .. } => format!("child-{child}"),
            RecordPopulation { area, .. } | RecordBirths { area, .. } => {
                format!("population-{area}")
            }
            RecordHousingCompletions { planning_area, .. } => format!("housing-{planning_area}"),
            RecordCaseload { authority, .. } => format!("caseload-{authority}"),
            RecordActivity { authority, .. } => format!("activity-{authority}"),
            RecordHighNeedsFunding { authority, .. } => format!("high-needs-{authority}"),
            RecordNationalCaseload { .. } => "caseload-england".to_owned(),
            AgreeDataSharing { authority, .. } | EndDataSharing { authority, .. } => {
                format!("sharing-{authority}")
            }
            CreateScenario { scenario, .. }
            | AddScenarioLever { scenario, .. }
            | RemoveScenarioLever { scenario, .. } => format!("scenario-{scenario}"),
        }
    }

    /// The authority that answers for what the command records, as `state` knows it: the
    /// child's current authority, the setting's, the scenario's owner, the district's.
    pub fn responsible(&self, state: &State) -> Responsible {
        use Command::*;
        let of = |a: Option<&AuthorityCode>| match a {
            Some(a) => Responsible::Authority(a.clone()),
            None => Responsible::Unknown,
        };
        let of_district = |d: &GssCode| state.districts.get(d).map(|d| &d.authority);
        match self {
            RegisterAuthority { .. } | RecordNationalCaseload { .. } => Responsible::Nobody,
            RegisterDistrict { authority, .. }
            | SetPlacementCost { authority, .. }
            | RegisterChild { authority, .. }
            | RecordCaseload { authority, .. }
            | RecordActivity { authority, .. }
            | RecordHighNeedsFunding { authority, .. }
            | AgreeDataSharing { authority, .. }
            | EndDataSharing { authority, .. }
            | CreateScenario { authority, .. } => Responsible::Authority(authority.clone()),
            OpenSetting(o) => Responsible::Authority(o.authority.clone()),
            RegisterPlanningArea { district, .. } => of(of_district(district)),
            CloseSetting { urn, .. }
            | ConvertToAcademy { urn, .. }
            | SetNetCapacity { urn, .. }
            | CommissionPlaces { urn, .. }
            | RecordCensusRoll { urn, .. } => of(state.settings.get(urn).map(|s| &s.authority)),
            MoveHome { .. }
            | RequestAssessment { .. }
            | DecideAssessment { .. }
            | IssuePlan { .. }
            | HoldAnnualReview { .. }
            | ChangePrimaryNeed { .. }
            | CeasePlan { .. }
            | StartPlacement { .. }
            | EndPlacement { .. } => of(self
                .child()
                .and_then(|c| state.children.get(c))
                .map(|c| &c.authority)),
            RecordPopulation { area, .. } | RecordBirths { area, .. } => {
                if let Some(a) = of_district(area) {
                    Responsible::Authority(a.clone())
                } else if let Some((a, _)) = state.authorities.iter().find(|(_, a)| &a.gss == area)
                {
                    Responsible::Authority(a.clone())
                } else {
                    Responsible::Nobody
                }
            }
            RecordHousingCompletions { planning_area, .. } => of(state
                .planning_areas
                .get(planning_area)
                .and_then(|p| of_district(&p.district))),
            AddScenarioLever { scenario, .. } | RemoveScenarioLever { scenario, .. } => {
                of(state.scenarios.get(scenario).map(|(a, _)| a))
            }
        }
    }
}
