//! Mutations: the domain's commands, one field each, and the import of files.
//!
//! Every mutation parses its input into a [`Command`] (a malformed value is
//! `BAD_USER_INPUT` naming the input field), checks who answers for what it records
//! ([`Command::responsible`]) against the caller's token, and hands it to the node's
//! [`Ledger`], which decides it in the domain and appends its event, or nothing. An optional
//! `expectedVersion` is checked by the ledger at the version it appends at, so a write from
//! another node in between is a `CONFLICT` with the actual version, never a lost update. The
//! answer leaves once this node's read models show the write (read your writes).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use placeledger_app::commands::Quiet;
use placeledger_domain::{
    AcademicYear, AssessmentDecision, AuthorityCode, CeaseReason, ChildId, Command, Elsewhere,
    Facility, GssCode, Ncy, NewHome, OpenSetting, Phase, PlacedAt, PlacementEndReason,
    PlanningAreaCode, PrimaryNeed, ProvisionKind, ReviewOutcome, ScenarioId, SettingKind,
    SharedData, TransferIn, Urn, ValueError, YearMonth,
};
use placeledger_import::Format;
use rust_decimal::Decimal;

use crate::context::{services, viewer};
use crate::error::{AppError as ApiError, Gql};

#[derive(Debug)]
pub struct Mutation;

/// What a command recorded.
#[derive(Debug, SimpleObject)]
pub struct Recorded {
    /// The stream the command wrote to and its version after the write: the
    /// `expectedVersion` of the next change to it.
    pub stream: String,
    pub version: u64,
    /// The event position of the write; a subscription message carrying this position or a
    /// later one reflects it.
    pub position: u64,
    /// The event recorded, e.g. `PlanIssued`.
    pub event_type: String,
}

/// What an import recorded.
#[derive(Debug, SimpleObject)]
pub struct Imported {
    pub format: ImportFormat,
    /// Data rows read, and the facts (commands) they made.
    pub rows: u64,
    pub facts: u64,
    /// Events written now, and facts found already stored (a file imported again records
    /// nothing new).
    pub new_events: u64,
    pub already_stored: u64,
    /// The position of the last event in the store after the import.
    pub position: u64,
    /// Rows deliberately passed over, with why.
    pub notes: Vec<String>,
}

/// The layouts the importers read (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ImportFormat {
    /// ONS sub-national population projections, persons, wide layout.
    OnsSnpp,
    /// DfE "Education, health and care plans" open data tables.
    DfeEhcp,
    /// Children with plans and placements, Placeledger's layout.
    Children,
    /// Settings with capacity and commissioned places, Placeledger's layout.
    Settings,
    /// High Needs Block allocations and DSG balances, Placeledger's layout.
    HighNeeds,
    /// ONS's local authority district to county and unitary authority lookup.
    Geography,
    /// Planning areas (planning_area, district, phase, name), Placeledger's layout.
    PlanningAreas,
}

impl From<ImportFormat> for Format {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::OnsSnpp => Format::OnsSnpp,
            ImportFormat::DfeEhcp => Format::DfeEhcp,
            ImportFormat::Children => Format::Children,
            ImportFormat::Settings => Format::Settings,
            ImportFormat::HighNeeds => Format::HighNeeds,
            ImportFormat::Geography => Format::Geography,
            ImportFormat::PlanningAreas => Format::PlanningAreas,
        }
    }
}

// ---- inputs -------------------------------------------------------------------------------
// Codes are the national reference lists' own (SEN2 need and placement codes, DfE LA codes,
// ONS GSS codes), as strings: a code not on the list is BAD_USER_INPUT naming the field and
// listing the codes that are.

#[derive(Debug, InputObject)]
pub struct RegisterAuthorityInput {
    /// DfE LA code (three digits), e.g. `935`.
    pub authority: String,
    /// ONS code of the county or unitary authority, e.g. `E10000029`.
    pub gss: String,
    pub name: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct RegisterDistrictInput {
    /// ONS code of the district, e.g. `E07000200`.
    pub district: String,
    /// DfE LA code of its authority.
    pub authority: String,
    pub name: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct RegisterPlanningAreaInput {
    /// The DfE-approved code or the authority's own: 1-32 letters, digits, `-` or `_`.
    pub planning_area: String,
    /// ONS code of the district it lies in.
    pub district: String,
    /// `primary` or `secondary`.
    pub phase: String,
    pub name: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct RegisterChildInput {
    /// The pseudonymous id the authority gives the child (never a name or UPN).
    pub child: String,
    pub authority: String,
    /// Month of birth, `YYYY-MM`.
    pub born: String,
    /// Resident district (ONS GSS code).
    pub district: String,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct MoveHomeInput {
    pub child: String,
    pub on: NaiveDate,
    /// The new resident district; one of a district in another registered authority moves
    /// the plan to it (a transfer, not a new plan).
    pub district: Option<String>,
    /// Or the authority (outside every registered one) the child moves to: a transfer out.
    pub outside_authority: Option<String>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct ChildDateInput {
    pub child: String,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct DecideAssessmentInput {
    pub child: String,
    pub on: NaiveDate,
    /// `assess` or `do_not_assess`.
    pub decision: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct TransferInInput {
    /// The authority the plan comes from (a DfE LA code or a name).
    pub from_authority: String,
    /// The plan keeps its original date.
    pub originally_issued_on: NaiveDate,
}

#[derive(Debug, InputObject)]
pub struct IssuePlanInput {
    pub child: String,
    pub on: NaiveDate,
    /// SEN2 code: ASD, SLCN, SEMH, MLD, SLD, PMLD, SPLD, HI, VI, MSI, PD, OTH, NSA.
    pub primary_need: String,
    #[graphql(default)]
    pub secondary_needs: Vec<String>,
    /// A plan taken over from another authority (no assessment here; not a new plan).
    pub transfer_in: Option<TransferInInput>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct AnnualReviewInput {
    pub child: String,
    pub on: NaiveDate,
    /// `maintain`, `amend` or `cease`.
    pub outcome: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct ChangePrimaryNeedInput {
    pub child: String,
    pub on: NaiveDate,
    pub primary_need: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct CeasePlanInput {
    pub child: String,
    pub on: NaiveDate,
    /// SEN2 reason, e.g. `needs_met`, `transferred_to_another_la`, `reached_25`.
    pub reason: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct StartPlacementInput {
    pub child: String,
    pub on: NaiveDate,
    /// The setting (URN), and the facility in it if the place is in one
    /// (`resourced_provision`, `sen_unit`) ...
    pub urn: Option<String>,
    pub facility: Option<String>,
    /// ... or where the child is educated instead, e.g. `elective_home_education`.
    pub elsewhere: Option<String>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct EndPlacementInput {
    pub child: String,
    pub on: NaiveDate,
    /// e.g. `phase_transfer`, `moved_setting`, `excluded`.
    pub reason: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct OpenSettingInput {
    pub urn: String,
    pub name: String,
    pub authority: String,
    pub district: String,
    pub planning_area: Option<String>,
    /// e.g. `special_la_maintained`, `mainstream_academy`.
    pub kind: String,
    /// e.g. `primary`, `all_through`.
    pub phase: String,
    pub low_age: i64,
    pub high_age: i64,
    pub facility: Option<String>,
    #[graphql(default)]
    pub designated_needs: Vec<String>,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct CloseSettingInput {
    pub urn: String,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct ConvertToAcademyInput {
    pub urn: String,
    /// The academy's new URN (same building, same places).
    pub new_urn: String,
    pub new_name: String,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

/// A count for one year group: `ncy` is `N1`, `N2`, `R`, `1` .. `14` (or `Y7`).
#[derive(Debug, InputObject)]
pub struct NcyCountInput {
    pub ncy: String,
    pub count: i64,
}

#[derive(Debug, InputObject)]
pub struct SetNetCapacityInput {
    pub urn: String,
    pub from: NaiveDate,
    pub capacity: Vec<NcyCountInput>,
    pub expected_version: Option<u64>,
}

/// Places for one designated need (none: any need).
#[derive(Debug, InputObject)]
pub struct NeedPlacesInput {
    pub need: Option<String>,
    pub places: i64,
}

#[derive(Debug, InputObject)]
pub struct CommissionPlacesInput {
    pub urn: String,
    /// The academic year, e.g. `2026/27`.
    pub year: String,
    pub places: Vec<NeedPlacesInput>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct RecordCensusRollInput {
    pub urn: String,
    /// The academic year whose January census this is, e.g. `2025/26` (January 2026).
    pub census: String,
    pub rolls: Vec<NcyCountInput>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct SetPlacementCostInput {
    pub authority: String,
    /// SEN2 placement type, e.g. `special_independent`.
    pub kind: String,
    pub from: NaiveDate,
    /// GBP a year per placement.
    pub annual_cost: Decimal,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct AgreeDataSharingInput {
    /// The authority that shares.
    pub authority: String,
    /// The authority it shares with.
    pub partner: String,
    /// What it shares: `placements`, `capacity`, `caseload`, `sufficiency`, `spare_places`
    /// (all aggregate; no agreement shares child-level records).
    pub shares: Vec<String>,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct EndDataSharingInput {
    pub authority: String,
    pub partner: String,
    pub on: NaiveDate,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct CreateScenarioInput {
    /// Lower-case letters, digits and hyphens, e.g. `preston-rp-2027`.
    pub id: String,
    pub name: String,
    /// DfE LA code of the authority that owns the scenario.
    pub authority: String,
    /// A scenario whose levers this one builds on.
    pub base: Option<String>,
    /// The scenario's date (default: today).
    pub on: Option<NaiveDate>,
}

#[derive(Debug, InputObject)]
pub struct AddLeverInput {
    pub scenario: String,
    /// The lever in its JSON form, e.g. `{"lever": "incidence_multiplier", "multiplier": "1.1"}`
    /// (every lever is in the README).
    pub lever: async_graphql::Json<serde_json::Value>,
    /// The scenario stream's version the change was made against; a stale one is refused
    /// with CONFLICT and the actual version.
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct RemoveLeverInput {
    pub scenario: String,
    /// The lever's index in the scenario's list, from 0 (as `scenarios` lists them).
    pub index: u32,
    pub expected_version: Option<u64>,
}

#[derive(Debug, InputObject)]
pub struct ImportInput {
    pub format: ImportFormat,
    /// The file's text (CSV, as published; a byte-order mark and CRLF are fine).
    pub content: String,
    /// The file's name, used in problem reports (default: the format's name).
    pub file_name: Option<String>,
    /// Register the authorities a DfE file names that are not registered yet, from the
    /// file's codes and names (administrators). Without it such a file imports nothing.
    #[graphql(default)]
    pub register: bool,
}

// ---- parsing ------------------------------------------------------------------------------

/// Parses one value with the domain's parser, naming the input field when it is wrong.
fn val<T>(
    field: &str,
    s: &str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<T, ApiError> {
    parse(s).map_err(|e| ApiError::bad_input(field, e))
}

fn opt<T>(
    field: &str,
    s: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, ApiError> {
    s.map(|s| val(field, s, parse)).transpose()
}

fn child(s: &str) -> Result<ChildId, ApiError> {
    val("input.child", s, ChildId::parse)
}

fn urn(field: &str, s: &str) -> Result<Urn, ApiError> {
    val(field, s, Urn::parse)
}

fn need(field: &str, s: &str) -> Result<PrimaryNeed, ApiError> {
    val(field, s, PrimaryNeed::parse)
}

fn authority(field: &str, s: &str) -> Result<AuthorityCode, ApiError> {
    val(field, s, AuthorityCode::parse)
}

fn ncy_counts(field: &str, counts: &[NcyCountInput]) -> Result<Vec<(Ncy, i64)>, ApiError> {
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok((
                val(&format!("{field}[{i}].ncy"), &c.ncy, Ncy::parse)?,
                c.count,
            ))
        })
        .collect()
}

fn one_of<T>(field: &str, a: Option<T>, b: Option<T>, what: &str) -> Result<T, ApiError> {
    match (a, b) {
        (Some(x), None) | (None, Some(x)) => Ok(x),
        _ => Err(ApiError::bad_input(
            field,
            format!("give exactly one of {what}"),
        )),
    }
}

// ---- executing ----------------------------------------------------------------------------

impl Mutation {
    /// Records `command` through the application's command step.
    async fn execute(
        ctx: &Context<'_>,
        command: Command,
        expected: Option<u64>,
    ) -> Result<Recorded, Gql> {
        let v = viewer(ctx)?;
        let s = services(ctx)?;
        let r = s
            .app
            .commands
            .record(v, format!("api:{}", v.token_id), command, expected)
            .await?;
        Ok(Recorded {
            stream: r.stream,
            version: r.version,
            position: r.position,
            event_type: r.event_type,
        })
    }
}

#[Object]
impl Mutation {
    /// Registers a county or unitary authority under its DfE LA code, with its ONS code and
    /// name (administrators: an authority is reference data no authority owns).
    async fn register_authority(
        &self,
        ctx: &Context<'_>,
        input: RegisterAuthorityInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RegisterAuthority {
            authority: authority("input.authority", &input.authority)?,
            gss: val("input.gss", &input.gss, GssCode::parse)?,
            name: input.name,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Registers a district (its ONS code and name) of an authority: administrators, or the
    /// authority's planners.
    async fn register_district(
        &self,
        ctx: &Context<'_>,
        input: RegisterDistrictInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RegisterDistrict {
            district: val("input.district", &input.district, GssCode::parse)?,
            authority: authority("input.authority", &input.authority)?,
            name: input.name,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Registers a planning area (a group of schools mainstream places are planned by, of
    /// one phase) in a district: administrators, or the district's authority's planners.
    async fn register_planning_area(
        &self,
        ctx: &Context<'_>,
        input: RegisterPlanningAreaInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RegisterPlanningArea {
            planning_area: val(
                "input.planningArea",
                &input.planning_area,
                PlanningAreaCode::parse,
            )?,
            district: val("input.district", &input.district, GssCode::parse)?,
            phase: val("input.phase", &input.phase, Phase::parse)?,
            name: input.name,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Registers a child (a pseudonymous id) living in a district of the authority.
    async fn register_child(
        &self,
        ctx: &Context<'_>,
        input: RegisterChildInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RegisterChild {
            child: child(&input.child)?,
            authority: authority("input.authority", &input.authority)?,
            born: val("input.born", &input.born, YearMonth::parse)?,
            district: val("input.district", &input.district, GssCode::parse)?,
            on: input.on,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The child moves home: to another district (of this or another registered authority,
    /// which then takes the plan over), or out of every registered authority.
    async fn move_home(&self, ctx: &Context<'_>, input: MoveHomeInput) -> Result<Recorded, Gql> {
        let home = one_of(
            "input.district",
            opt("input.district", input.district.as_deref(), GssCode::parse)?
                .map(|district| NewHome::District { district }),
            input
                .outside_authority
                .map(|authority| NewHome::OutsideArea { authority }),
            "district and outsideAuthority",
        )?;
        let command = Command::MoveHome {
            child: child(&input.child)?,
            on: input.on,
            home,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A request for an EHC needs assessment is received.
    async fn request_assessment(
        &self,
        ctx: &Context<'_>,
        input: ChildDateInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RequestAssessment {
            child: child(&input.child)?,
            on: input.on,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The decision whether to assess (due within 6 weeks of the request).
    async fn decide_assessment(
        &self,
        ctx: &Context<'_>,
        input: DecideAssessmentInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::DecideAssessment {
            child: child(&input.child)?,
            on: input.on,
            decision: val("input.decision", &input.decision, AssessmentDecision::parse)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The final EHC plan is issued (due within 20 weeks of the request), or a plan is taken
    /// over from another authority.
    async fn issue_plan(&self, ctx: &Context<'_>, input: IssuePlanInput) -> Result<Recorded, Gql> {
        let secondary_needs = input
            .secondary_needs
            .iter()
            .enumerate()
            .map(|(i, n)| need(&format!("input.secondaryNeeds[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command::IssuePlan {
            child: child(&input.child)?,
            on: input.on,
            primary_need: need("input.primaryNeed", &input.primary_need)?,
            secondary_needs,
            transfer_in: input.transfer_in.map(|t| TransferIn {
                from_authority: t.from_authority,
                originally_issued_on: t.originally_issued_on,
            }),
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// An annual review is held: the plan is maintained, amended or to cease.
    async fn hold_annual_review(
        &self,
        ctx: &Context<'_>,
        input: AnnualReviewInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::HoldAnnualReview {
            child: child(&input.child)?,
            on: input.on,
            outcome: val("input.outcome", &input.outcome, ReviewOutcome::parse)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The plan's primary need changes.
    async fn change_primary_need(
        &self,
        ctx: &Context<'_>,
        input: ChangePrimaryNeedInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::ChangePrimaryNeed {
            child: child(&input.child)?,
            on: input.on,
            primary_need: need("input.primaryNeed", &input.primary_need)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The plan ceases, for a SEN2 reason (an open placement ends with it).
    async fn cease_plan(&self, ctx: &Context<'_>, input: CeasePlanInput) -> Result<Recorded, Gql> {
        let command = Command::CeasePlan {
            child: child(&input.child)?,
            on: input.on,
            reason: val("input.reason", &input.reason, CeaseReason::parse)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A placement starts: at a setting (in a facility of it), or educated elsewhere.
    async fn start_placement(
        &self,
        ctx: &Context<'_>,
        input: StartPlacementInput,
    ) -> Result<Recorded, Gql> {
        let at_setting = match input.urn.as_deref() {
            Some(u) => Some(PlacedAt::Setting {
                urn: urn("input.urn", u)?,
                facility: opt("input.facility", input.facility.as_deref(), Facility::parse)?,
            }),
            None => None,
        };
        let elsewhere = opt(
            "input.elsewhere",
            input.elsewhere.as_deref(),
            Elsewhere::parse,
        )?
        .map(|elsewhere| PlacedAt::Elsewhere { elsewhere });
        let command = Command::StartPlacement {
            child: child(&input.child)?,
            on: input.on,
            placed_at: one_of("input.urn", at_setting, elsewhere, "urn and elsewhere")?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The open placement ends.
    async fn end_placement(
        &self,
        ctx: &Context<'_>,
        input: EndPlacementInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::EndPlacement {
            child: child(&input.child)?,
            on: input.on,
            reason: val("input.reason", &input.reason, PlacementEndReason::parse)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A setting opens (a new school, special school, resourced provision or unit).
    async fn open_setting(
        &self,
        ctx: &Context<'_>,
        input: OpenSettingInput,
    ) -> Result<Recorded, Gql> {
        let designated_needs = input
            .designated_needs
            .iter()
            .enumerate()
            .map(|(i, n)| need(&format!("input.designatedNeeds[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command::OpenSetting(OpenSetting {
            urn: urn("input.urn", &input.urn)?,
            name: input.name,
            authority: authority("input.authority", &input.authority)?,
            district: val("input.district", &input.district, GssCode::parse)?,
            planning_area: opt(
                "input.planningArea",
                input.planning_area.as_deref(),
                PlanningAreaCode::parse,
            )?,
            kind: val("input.kind", &input.kind, SettingKind::parse)?,
            phase: val("input.phase", &input.phase, Phase::parse)?,
            low_age: input.low_age,
            high_age: input.high_age,
            facility: opt("input.facility", input.facility.as_deref(), Facility::parse)?,
            designated_needs,
            on: input.on,
        });
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A setting closes on a date (its places go).
    async fn close_setting(
        &self,
        ctx: &Context<'_>,
        input: CloseSettingInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::CloseSetting {
            urn: urn("input.urn", &input.urn)?,
            on: input.on,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A maintained setting converts to an academy: a new URN, the same building and places.
    async fn convert_to_academy(
        &self,
        ctx: &Context<'_>,
        input: ConvertToAcademyInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::ConvertToAcademy {
            urn: urn("input.urn", &input.urn)?,
            new_urn: urn("input.newUrn", &input.new_urn)?,
            new_name: input.new_name,
            on: input.on,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A setting's net capacity per year group from a date.
    async fn set_net_capacity(
        &self,
        ctx: &Context<'_>,
        input: SetNetCapacityInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::SetNetCapacity {
            urn: urn("input.urn", &input.urn)?,
            from: input.from,
            capacity: ncy_counts("input.capacity", &input.capacity)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Places commissioned at a special school, resourced provision or unit for an academic
    /// year, by designated need.
    async fn commission_places(
        &self,
        ctx: &Context<'_>,
        input: CommissionPlacesInput,
    ) -> Result<Recorded, Gql> {
        let places = input
            .places
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let field = format!("input.places[{i}].need");
                Ok((
                    opt(&field, p.need.as_deref(), PrimaryNeed::parse)?,
                    p.places,
                ))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let command = Command::CommissionPlaces {
            urn: urn("input.urn", &input.urn)?,
            year: val("input.year", &input.year, AcademicYear::parse)?,
            places,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// A setting's January census roll per year group.
    async fn record_census_roll(
        &self,
        ctx: &Context<'_>,
        input: RecordCensusRollInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RecordCensusRoll {
            urn: urn("input.urn", &input.urn)?,
            census: val("input.census", &input.census, AcademicYear::parse)?,
            rolls: ncy_counts("input.rolls", &input.rolls)?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The annual cost of a placement of a kind for an authority, from a date.
    async fn set_placement_cost(
        &self,
        ctx: &Context<'_>,
        input: SetPlacementCostInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::SetPlacementCost {
            authority: authority("input.authority", &input.authority)?,
            kind: val("input.kind", &input.kind, ProvisionKind::parse)?,
            from: input.from,
            annual_cost: input.annual_cost,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The authority agrees to share aggregates with a partner authority (its planners, and
    /// admins).
    async fn agree_data_sharing(
        &self,
        ctx: &Context<'_>,
        input: AgreeDataSharingInput,
    ) -> Result<Recorded, Gql> {
        let shares = input
            .shares
            .iter()
            .enumerate()
            .map(|(i, x)| val(&format!("input.shares[{i}]"), x, SharedData::parse))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command::AgreeDataSharing {
            authority: authority("input.authority", &input.authority)?,
            partner: authority("input.partner", &input.partner)?,
            shares,
            from: input.from,
            until: input.until,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// The authority stops sharing with a partner from a date.
    async fn end_data_sharing(
        &self,
        ctx: &Context<'_>,
        input: EndDataSharingInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::EndDataSharing {
            authority: authority("input.authority", &input.authority)?,
            partner: authority("input.partner", &input.partner)?,
            on: input.on,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Creates a scenario owned by an authority (planners of that authority, and admins).
    async fn create_scenario(
        &self,
        ctx: &Context<'_>,
        input: CreateScenarioInput,
    ) -> Result<Recorded, Gql> {
        let v = viewer(ctx)?;
        let command = Command::CreateScenario {
            scenario: val("input.id", &input.id, ScenarioId::parse)?,
            name: input.name,
            author: v.token_id.clone(),
            authority: authority("input.authority", &input.authority)?,
            base: opt("input.base", input.base.as_deref(), ScenarioId::parse)?,
            on: input.on.unwrap_or_else(|| Utc::now().date_naive()),
        };
        // A scenario id is taken once: creating it again is a conflict, not a second scenario.
        Self::execute(ctx, command, Some(0)).await
    }

    /// Adds a lever to a scenario of the caller's authority.
    async fn add_scenario_lever(
        &self,
        ctx: &Context<'_>,
        input: AddLeverInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::AddScenarioLever {
            scenario: val("input.scenario", &input.scenario, ScenarioId::parse)?,
            lever: serde_json::from_value(input.lever.0)
                .map_err(|e| ApiError::bad_input("input.lever", e))?,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Removes a scenario's lever by its index.
    async fn remove_scenario_lever(
        &self,
        ctx: &Context<'_>,
        input: RemoveLeverInput,
    ) -> Result<Recorded, Gql> {
        let command = Command::RemoveScenarioLever {
            scenario: val("input.scenario", &input.scenario, ScenarioId::parse)?,
            index: input.index,
        };
        Self::execute(ctx, command, input.expected_version).await
    }

    /// Imports a file in one of the importers' layouts, as `placeledger import` does: every
    /// row is checked first; a file with any problem imports nothing and the error lists
    /// every problem (`extensions.problems`: line, column, message). A valid file is recorded
    /// in one transaction with ids derived from its content, so importing it again records
    /// nothing. Planners may import only facts of their own authority.
    async fn import_file(&self, ctx: &Context<'_>, input: ImportInput) -> Result<Imported, Gql> {
        let v = viewer(ctx)?;
        let s = services(ctx)?;
        let format = Format::from(input.format);
        let file = input.file_name.unwrap_or_else(|| format.name().to_owned());
        let actor = format!("api:{}:import:{}", v.token_id, format.name());
        let imported = s
            .app
            .commands
            .import_file(
                v,
                actor,
                placeledger_app::commands::ImportFile {
                    format,
                    options: placeledger_import::Options {
                        register: input.register,
                    },
                    file: &file,
                    bytes: input.content.as_bytes(),
                },
                &Quiet,
            )
            .await?;
        Ok(Imported {
            format: input.format,
            rows: imported.rows,
            facts: imported.facts,
            new_events: imported.new_events,
            already_stored: imported.already_stored,
            position: imported.position,
            notes: imported.notes,
        })
    }
}
