//! The schema's object and input types, and how the application's answers become them.

use async_graphql::{ComplexObject, Enum, InputObject, Json, SimpleObject};
use chrono::{NaiveDate, Utc};
use placeledger_app::ReadModels;
use placeledger_app::disclosure;
use placeledger_app::service::{ForecastAnswer, HistoryEntry, TrackRecordLine};
use placeledger_capacity::Setting;
use placeledger_domain::{AcademicYear, Urn};
use placeledger_placements::GroupBy;
use rust_decimal::Decimal;

use crate::error::AppError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "placeledger_app::Role")]
pub enum Role {
    /// Everything, every authority.
    Admin,
    /// Reads and writes its own authority; runs scenarios.
    Planner,
    /// Reads its own authority.
    Analyst,
    /// Only the shared aggregates of authorities whose data-sharing agreement names it.
    Partner,
}

/// The caller, as its token says.
#[derive(Debug, SimpleObject)]
pub struct ViewerInfo {
    pub role: Role,
    /// The DfE LA code the token acts for (none for admin).
    pub authority: Option<String>,
}

#[derive(Debug, SimpleObject)]
pub struct District {
    /// ONS GSS code, e.g. E07000123 (Preston).
    pub code: String,
    pub name: String,
    /// The district's school place planning areas (mainstream places are planned in them).
    pub planning_areas: Vec<PlanningArea>,
}

#[derive(Debug, SimpleObject)]
pub struct PlanningArea {
    /// The authority's own code for the area.
    pub code: String,
    pub name: String,
    /// The phase the area plans places for (`primary`, `secondary`).
    pub phase: String,
}

#[derive(Debug, SimpleObject)]
pub struct AuthorityInfo {
    /// DfE LA code, e.g. 888 (Lancashire).
    pub code: String,
    pub name: String,
    pub districts: Vec<District>,
}

/// P10 / P50 / P90 of a figure over the forecast's runs.
#[derive(Debug, SimpleObject, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub p10: i64,
    pub p50: i64,
    pub p90: i64,
}

impl From<placeledger_forecast::Range> for Range {
    fn from(r: placeledger_forecast::Range) -> Self {
        Range {
            p10: r.p10,
            p50: r.p50,
            p90: r.p90,
        }
    }
}

/// One cell of the sufficiency forecast.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
#[graphql(complex)]
pub struct ForecastRow {
    pub authority: String,
    pub district: String,
    pub district_name: String,
    /// The January the figures are for.
    pub year: i32,
    pub phase: String,
    /// mainstream, resourced_provision, special, independent, alternative_provision,
    /// fe_college (FE, sixth form colleges, other post-16 providers), specialist_post_16 or
    /// elsewhere.
    pub kind: String,
    /// SEN2 primary need code; none: all needs.
    pub need: Option<String>,
    pub demand: Range,
    /// Places in the district's settings (commissioned kinds).
    pub capacity: Option<u32>,
    /// Capacity minus demand; negative is a deficit.
    pub surplus: Option<Range>,
    /// Surplus as a percentage of capacity, at the median.
    pub surplus_pct: Option<Decimal>,
    /// Demand met in the authority beyond the district's places: children keeping a place
    /// there (over the places if need be) and new demand in other districts' spare places.
    pub met_in_authority: Option<Range>,
    /// Demand met in partner authorities: children keeping a place there, and new demand in
    /// their spare places under a data-sharing agreement.
    pub met_by_partner: Option<Range>,
    /// Children placed outside the authority: those who are today and stay in their phase,
    /// and new demand that found no place in the authority or a partner. For independent and
    /// non-maintained special schools: those outside the authority, as today's children are.
    pub out_of_county: Range,
    /// The demand by where its places are (medians): `own_authority`, `partner_authority`,
    /// `elsewhere`. "Out of county" is `elsewhere` and nothing else.
    pub by_location: Vec<LocationCount>,
    /// What the places are (see `ForecastTotal.sector`), whatever authority they are in.
    pub sector: String,
    /// Annual cost at the median, in pounds.
    pub annual_cost: Option<Decimal>,
    /// `deficit`, or `surplus_over_25_percent` (more than a quarter of places spare).
    pub warnings: Vec<Warning>,
}

impl ForecastRow {
    pub(crate) fn of(r: &placeledger_forecast::Row, models: &ReadModels) -> ForecastRow {
        ForecastRow {
            authority: r.authority.as_str().to_owned(),
            district: r.district.as_str().to_owned(),
            district_name: models.district_name(&r.authority, &r.district),
            year: r.year,
            phase: r.phase.code().to_owned(),
            kind: r.kind.code().to_owned(),
            need: r.need.map(|n| n.code().to_owned()),
            demand: r.demand.into(),
            capacity: r.capacity,
            surplus: r.surplus.map(Into::into),
            surplus_pct: r.surplus_pct,
            met_in_authority: r.met_in_authority.map(Into::into),
            met_by_partner: r.met_by_partner.map(Into::into),
            out_of_county: r.out_of_county.into(),
            by_location: LocationCount::all(r.by_location()),
            sector: r.kind.sector().to_owned(),
            annual_cost: r.annual_cost,
            warnings: Warning::all(&r.warnings()),
        }
    }
}

#[ComplexObject]
impl ForecastRow {
    /// The median demand exceeds the places.
    async fn deficit(&self) -> bool {
        self.surplus.is_some_and(|s| s.p50 < 0)
    }
}

/// Children (medians) in one location: `own_authority`, `partner_authority` (under the
/// data-sharing agreement) or `elsewhere` (out of county: another authority, or none).
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct LocationCount {
    pub location: String,
    pub children: i64,
}

impl LocationCount {
    pub(crate) fn all(split: [(placeledger_forecast::Location, i64); 3]) -> Vec<LocationCount> {
        split
            .into_iter()
            .map(|(l, children)| LocationCount {
                location: l.code().to_owned(),
                children,
            })
            .collect()
    }
}

#[derive(Debug, SimpleObject)]
pub struct ForecastTotal {
    /// None: pan-Lancashire (every authority in the store).
    pub authority: Option<String>,
    pub year: i32,
    pub kind: String,
    /// What the places are: `mainstream`, `resourced_provision_or_sen_unit`, `state_special`,
    /// `independent_or_non_maintained_special`, `fe_or_sixth_form_college`,
    /// `specialist_post_16`, `alternative_provision` or `other`.
    pub sector: String,
    pub demand: i64,
    pub capacity: Option<i64>,
    pub out_of_county: i64,
    /// The demand by where its places are (own authority, partner authority, elsewhere).
    pub by_location: Vec<LocationCount>,
    pub annual_cost: Option<Decimal>,
}

#[derive(Debug, SimpleObject)]
pub struct ForecastFlag {
    pub authority: String,
    /// e.g. no_child_level_history, no_population.
    pub flag: String,
}

#[derive(Debug, SimpleObject)]
pub struct ForecastResult {
    /// None: the baseline.
    pub scenario: Option<String>,
    /// The last January the forecast starts from.
    pub origin: i32,
    pub years: Vec<i32>,
    pub runs: u32,
    pub seed: u64,
    /// The event position the forecast reflects.
    pub position: u64,
    pub rows: Vec<ForecastRow>,
    pub totals: Vec<ForecastTotal>,
    /// Plans in force each forecast January per authority, with their ranges.
    pub caseload: Vec<CaseloadForecast>,
    pub flags: Vec<ForecastFlag>,
    /// What makes an authority's whole forecast doubtful (England's growth alone, a short
    /// history, no population, a start from DfE's published January).
    pub warnings: Vec<AuthorityWarning>,
}

/// An authority's plans in force in one forecast January: P10 / P50 / P90 over the runs.
#[derive(Debug, SimpleObject)]
pub struct CaseloadForecast {
    pub authority: String,
    pub year: i32,
    pub plans: Range,
    /// What the forecast starts from: `recorded_children` (the children on record, their
    /// flows and placements) or `published_totals` (DfE's published January totals and
    /// breakdowns only: no children are recorded for the authority).
    pub basis: String,
}

/// Narrows the sufficiency forecast. Codes as in the forecast rows.
#[derive(Debug, InputObject, Default)]
pub struct ForecastFilter {
    /// DfE LA code; required unless the token is admin.
    pub authority: Option<String>,
    /// GSS code of the district.
    pub district: Option<String>,
    pub phase: Option<String>,
    pub kind: Option<String>,
    pub need: Option<String>,
    pub years: Option<Vec<i32>>,
    /// A scenario id; none: the baseline.
    pub scenario: Option<String>,
}

/// One cell of the sufficiency forecast (all needs).
#[derive(Debug, InputObject)]
pub struct ForecastCellInput {
    /// DfE LA code.
    pub authority: String,
    /// GSS code of the district.
    pub district: String,
    /// The January.
    pub year: i32,
    pub phase: String,
    /// mainstream, resourced_provision, special, independent, alternative_provision,
    /// fe_college (FE, sixth form colleges, other post-16 providers), specialist_post_16 or
    /// elsewhere.
    pub kind: String,
}

/// One step of the allocation and the children (median) it placed.
#[derive(Debug, SimpleObject)]
pub struct AllocationStep {
    pub step: String,
    pub children: i64,
}

/// A placement type behind a kind's cost: its annual cost on record and how many of the
/// authority's children it held on the latest January (the weight).
#[derive(Debug, SimpleObject)]
pub struct CostType {
    /// SEN2 placement type code.
    pub provision: String,
    pub annual_cost: Decimal,
    pub children: u32,
}

/// How one forecast cell was made.
#[derive(Debug, SimpleObject)]
pub struct ForecastExplanation {
    pub row: ForecastRow,
    /// The January the forecast starts from, and the authority's plans then.
    pub origin: i32,
    pub plans_at_origin: Option<u32>,
    /// The authority's plans in the cell's January (P10 / P50 / P90).
    pub plans_that_year: Option<Range>,
    /// Residents of the phase's ages in the district in the mid-year before the January.
    pub residents: Option<f64>,
    /// `stock_flow` (from the authority's children) or `trend` (from its totals).
    pub method: Option<String>,
    pub incidence_per_1000: Option<f64>,
    pub cessation: Option<f64>,
    pub net_transfers: Option<f64>,
    /// Growth a year carried forward (log scale), and England's where followed.
    pub growth: Option<f64>,
    pub england_growth: Option<f64>,
    pub rates_from_januaries: Vec<i32>,
    /// Of the cell's median demand: children keeping today's placement in the authority,
    /// with a partner, and outside; and new plans and phase transfers.
    pub keeping_in_authority: Option<f64>,
    pub keeping_with_partner: Option<f64>,
    pub keeping_outside: Option<f64>,
    pub new_or_transferring: Option<f64>,
    /// How the demand was met, in order (commissioned kinds).
    pub allocation: Vec<AllocationStep>,
    pub cost_per_place: Option<Decimal>,
    /// The cost of a special-school place found out of county (the independent rate).
    pub overflow_cost_per_place: Option<Decimal>,
    pub cost_types: Vec<CostType>,
    pub sources: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl ForecastExplanation {
    pub(crate) fn of(e: &placeledger_forecast::Explanation, models: &ReadModels) -> Self {
        let rates = e.rates.as_ref();
        ForecastExplanation {
            row: ForecastRow::of(&e.row, models),
            origin: e.origin,
            plans_at_origin: e.plans_at_origin,
            plans_that_year: e.plans_that_year.map(Into::into),
            residents: e.residents,
            method: rates.map(|r| r.method.to_owned()),
            incidence_per_1000: rates.and_then(|r| r.incidence_per_1000),
            cessation: rates.and_then(|r| r.cessation),
            net_transfers: rates.and_then(|r| r.net_transfers),
            growth: rates.map(|r| r.growth),
            england_growth: rates.and_then(|r| r.england_growth),
            rates_from_januaries: rates.map(|r| r.from_januaries.clone()).unwrap_or_default(),
            keeping_in_authority: e.keeping_in_authority,
            keeping_with_partner: e.keeping_with_partner,
            keeping_outside: e.keeping_outside,
            new_or_transferring: e.new_or_transferring,
            allocation: e
                .allocation
                .iter()
                .map(|s| AllocationStep {
                    step: s.step.to_owned(),
                    children: s.children,
                })
                .collect(),
            cost_per_place: e.cost_per_place.map(|c| c.round_dp(2)),
            overflow_cost_per_place: e.overflow_cost_per_place.map(|c| c.round_dp(2)),
            cost_types: e
                .cost_types
                .iter()
                .map(|c| CostType {
                    provision: c.provision.code().to_owned(),
                    annual_cost: c.annual_cost,
                    children: c.children,
                })
                .collect(),
            sources: e.sources.clone(),
            warnings: Warning::all(&e.warnings),
        }
    }
}

/// Narrows the mainstream forecast.
#[derive(Debug, InputObject, Default)]
pub struct MainstreamFilter {
    /// DfE LA code; required unless the token is admin.
    pub authority: Option<String>,
    /// GSS code of the district.
    pub district: Option<String>,
    /// Planning area code (such as `E07000121-secondary`).
    pub planning_area: Option<String>,
    /// `primary` (Reception-Y6), `secondary` (Y7-Y11) or `post_16` (sixth forms).
    pub phase: Option<String>,
    pub years: Option<Vec<i32>>,
}

/// A data-quality warning on a figure: a stable code (`surplus_over_25_percent`, `deficit`,
/// `capacity_missing`, `roll_moved_over_10_percent`, `survival_outside_0_9_1_1`;
/// for a whole authority `england_growth_only`, `short_history`, `no_population`,
/// `published_start`, `capacity_missing`, `england_growth_missing`) and what it means here.
#[derive(Debug, SimpleObject, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

impl Warning {
    pub(crate) fn all(warnings: &[placeledger_forecast::Warning]) -> Vec<Warning> {
        warnings
            .iter()
            .map(|w| Warning {
                code: w.code.to_owned(),
                message: w.message.clone(),
            })
            .collect()
    }
}

/// What makes an authority's whole forecast doubtful.
#[derive(Debug, SimpleObject)]
pub struct AuthorityWarning {
    pub authority: String,
    pub code: String,
    pub message: String,
}

/// One planning area's pupils against its places in one January, as the DfE SCAP return
/// counts them: Reception-Y6, Y7-Y11, and a secondary area's sixth forms apart.
#[derive(Debug, SimpleObject)]
pub struct MainstreamForecastRow {
    pub authority: String,
    pub district: String,
    pub district_name: String,
    pub planning_area: String,
    pub planning_area_name: String,
    /// `primary`, `secondary` (Y7-Y11) or `post_16` (sixth forms).
    pub phase: String,
    /// The January the figures are for.
    pub year: i32,
    pub pupils: Range,
    /// The intake year group: Reception (primary) or Year 7 (secondary); none for sixth
    /// forms.
    pub intake: Option<Range>,
    /// Net capacity of the same year groups.
    pub net_capacity: Option<u32>,
    /// Net capacity minus pupils; negative is a deficit.
    pub surplus: Option<Range>,
    pub surplus_pct: Option<Decimal>,
    /// `deficit`, `below_headroom` (under 2% spare), `sufficient`, `large_surplus` (over 10%).
    pub headroom: Option<String>,
    /// Pupils from housing completed after the origin, included in `pupils`.
    pub from_housing: i64,
    pub warnings: Vec<Warning>,
}

/// The mainstream pupil forecast per planning area.
#[derive(Debug, SimpleObject)]
pub struct MainstreamForecast {
    /// The last January of census rolls the forecast starts from.
    pub origin: i32,
    pub rows: Vec<MainstreamForecastRow>,
}

impl MainstreamForecast {
    pub fn of(answer: &placeledger_app::service::MainstreamAnswer) -> MainstreamForecast {
        let models = &answer.models;
        let areas = models.mainstream.planning_areas();
        MainstreamForecast {
            origin: answer.origin,
            rows: answer
                .rows
                .iter()
                .map(|r| MainstreamForecastRow {
                    authority: r.authority.to_string(),
                    district: r.district.to_string(),
                    district_name: models.district_name(&r.authority, &r.district),
                    planning_area: r.planning_area.to_string(),
                    planning_area_name: areas
                        .get(&r.planning_area)
                        .map_or_else(|| r.planning_area.to_string(), |a| a.2.clone()),
                    phase: r.phase.code().to_owned(),
                    year: r.year,
                    pupils: r.pupils.into(),
                    intake: r.intake.map(Into::into),
                    net_capacity: r.net_capacity,
                    surplus: r.surplus.map(Into::into),
                    surplus_pct: r.surplus_pct,
                    headroom: r.headroom.map(|h| {
                        serde_json::to_value(h)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    }),
                    from_housing: r.from_housing,
                    warnings: Warning::all(&r.warnings),
                })
                .collect(),
        }
    }
}

#[derive(Debug, SimpleObject)]
pub struct CaseloadYear {
    /// The January census year.
    pub year: i32,
    /// Plans in force on the census day (child-level records, or SEN2 totals).
    pub plans: i64,
}

/// A partner's view of one cell of another authority's sufficiency forecast: counts of 1-4
/// are withheld (null), with a second cell withheld where a total would give one away.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct SharedCell {
    pub district: String,
    pub district_name: String,
    pub year: i32,
    pub phase: String,
    pub kind: String,
    /// Children needing this kind of place (median).
    pub demand: Option<i64>,
    /// Places in the district's settings of this kind.
    pub capacity: Option<i64>,
    /// True where any figure of this cell is withheld.
    pub suppressed: bool,
}

#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct SharedTotal {
    pub year: i32,
    pub phase: String,
    pub kind: String,
    pub demand: Option<i64>,
    pub capacity: Option<i64>,
}

/// What an authority shares with a partner under their agreement: aggregates only.
#[derive(Debug, SimpleObject)]
pub struct SharedPlaceData {
    pub authority: String,
    pub position: u64,
    pub cells: Vec<SharedCell>,
    pub totals: Vec<SharedTotal>,
}

/// A setting as at a date: what it is, its places and who is in them.
#[derive(Debug, SimpleObject)]
pub struct SettingInfo {
    pub urn: String,
    pub name: String,
    pub authority: String,
    pub district: String,
    pub planning_area: Option<String>,
    /// The setting kind code, e.g. special_la_maintained.
    pub kind: String,
    /// The kind of place it provides (facility included), e.g. special_la_maintained.
    pub provision: String,
    pub phase: String,
    pub low_age: i32,
    pub high_age: i32,
    pub designated_needs: Vec<String>,
    pub open: bool,
    /// Net capacity (mainstream), summed over NCYs.
    pub net_capacity: Option<i64>,
    /// Places commissioned for the academic year (specialist settings and facilities).
    pub commissioned_places: Option<i64>,
    /// Commissioned places, or net capacity for mainstream.
    pub places: Option<i64>,
    /// Census roll (mainstream) or children with plans placed here.
    pub occupancy: i64,
    /// Places minus occupancy; negative: over capacity.
    pub vacancies: Option<i64>,
}

/// Narrows the settings. Codes as in the settings.
#[derive(Debug, InputObject, Default)]
pub struct SettingsFilter {
    pub authority: Option<String>,
    pub district: Option<String>,
    /// A setting kind code, e.g. special_academy_free.
    pub kind: Option<String>,
    /// Settings designated for this primary need.
    pub need: Option<String>,
    pub phase: Option<String>,
    /// The date the figures are for (default: today).
    pub on: Option<NaiveDate>,
    /// Include settings closed on that date (default: no).
    #[graphql(default)]
    pub include_closed: bool,
}

/// A moment: an RFC 3339 date and time with its offset, e.g. `2026-01-15T09:30:00+00:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// A moment: an RFC 3339 date and time with its offset, e.g. `2026-01-15T09:30:00+00:00`.
#[async_graphql::Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl async_graphql::ScalarType for DateTime {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    async_graphql::InputValueError::custom("not an RFC 3339 date and time")
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339())
    }
}

/// One stored event, as it is now read (older schema versions upcast).
#[derive(Debug, SimpleObject)]
pub struct HistoryEvent {
    pub position: u64,
    pub version: u64,
    /// The event type, e.g. PlanIssued.
    pub r#type: String,
    pub recorded_at: DateTime,
    /// Who recorded it (a token id, an importer, the seed).
    pub actor: Option<String>,
    pub event: Json<serde_json::Value>,
}

/// What a placement summary can be broken down by (always within one resident authority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PlacementDimension {
    District,
    Kind,
    Need,
    Ncy,
    Location,
}

/// One cell of a placement summary: current placements of the authority's residents.
/// Dimensions not grouped by are null.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct PlacementCell {
    pub district: Option<String>,
    /// SEN2 placement type code.
    pub kind: Option<String>,
    /// The sector the placement type is in (see `ForecastTotal.sector`), when grouped by kind.
    pub sector: Option<String>,
    pub need: Option<String>,
    pub ncy: Option<String>,
    /// Where the setting is: in_authority (own authority), partner (a partner authority),
    /// outside (elsewhere) or not_at_setting.
    pub location: Option<String>,
    /// Withheld (null) for a partner where it is 1-4 or would give one away.
    pub count: Option<i64>,
}

/// An authority's current placements, as the caller may see them.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct PlacementSummary {
    pub authority: String,
    pub position: u64,
    pub cells: Vec<PlacementCell>,
    pub total: Option<i64>,
    /// Other authorities' residents placed in this authority's settings.
    pub imports: Option<i64>,
    /// This authority's residents placed in other authorities' settings.
    pub exports: Option<i64>,
    /// Whether small numbers were withheld (partners).
    pub suppressed: bool,
}

/// A named set of levers on the forecast.
#[derive(Debug, SimpleObject)]
pub struct ScenarioInfo {
    pub id: String,
    pub name: String,
    pub author: String,
    pub authority: String,
    /// The scenario whose levers apply first.
    pub base: Option<String>,
    pub created_on: NaiveDate,
    /// Its own levers, in order, in their JSON form.
    pub levers: Vec<Json<serde_json::Value>>,
}

/// One cell that differs between two scenarios: after minus before.
#[derive(Debug, SimpleObject)]
pub struct CellDifference {
    pub district: String,
    pub year: i32,
    pub phase: String,
    pub kind: String,
    /// What the places are (see `ForecastTotal.sector`).
    pub sector: String,
    pub need: Option<String>,
    pub demand: i64,
    pub capacity: i64,
    pub surplus: i64,
    pub out_of_county: i64,
    pub annual_cost: Option<Decimal>,
    pub deficit_before: bool,
    pub deficit_after: bool,
}

#[derive(Debug, SimpleObject)]
pub struct YearCost {
    pub year: i32,
    pub annual_cost: Decimal,
}

/// `scenario` against `against` (none: the baseline).
#[derive(Debug, SimpleObject)]
pub struct ScenarioComparison {
    pub scenario: String,
    pub against: Option<String>,
    pub position: u64,
    pub changes: Vec<CellDifference>,
    pub cost_by_year: Vec<YearCost>,
    /// The difference in cost over the whole horizon.
    pub total_cost: Decimal,
    /// The capital cost of the places the scenario opens or adds (less those of the
    /// scenario it is compared against), at the cost per place on record.
    pub capital_cost: Decimal,
    pub capital_items: Vec<CapitalItem>,
}

/// New places a lever adds and what they cost to build.
#[derive(Debug, SimpleObject)]
pub struct CapitalItem {
    pub lever: String,
    pub kind: String,
    pub places: u32,
    /// None: no capital cost per place on record for this kind.
    pub per_place: Option<Decimal>,
    pub cost: Option<Decimal>,
    pub price_year: Option<String>,
    pub source: Option<String>,
}

/// Whose track record `backtest` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum BacktestScope {
    /// One authority's, over every origin.
    #[default]
    Authority,
    /// Every authority in the store, pooled.
    All,
}

/// The forecast's track record at one horizon by one method (the model or a baseline): one
/// authority's over its origins, or pooled over every authority.
#[derive(Debug, SimpleObject)]
pub struct BacktestLine {
    /// None: pooled over every authority.
    pub authority: Option<String>,
    /// Years ahead of the forecast's origin.
    pub horizon: i32,
    /// model, last_value, compound_growth or linear_trend.
    pub method: String,
    /// How many origins the errors come from.
    pub origins: i32,
    /// The origins (the last January each forecast saw).
    pub origin_years: Vec<i32>,
    /// Forecasts scored (authority x origin).
    pub forecasts: i32,
    pub authorities: i32,
    /// Mean absolute % error.
    pub mape: f64,
    /// Median absolute % error (pooled lines only).
    pub median_ape: Option<f64>,
    /// Mean signed % error: negative is too low.
    pub bias: f64,
    /// Share of actuals inside P10-P90 (model only).
    pub coverage: Option<f64>,
    /// The spread of the model's misses the ranges are sized on: half the log P10-P90
    /// distance in standard normal units (pooled model lines only).
    pub spread: Option<f64>,
}

impl From<TrackRecordLine> for BacktestLine {
    fn from(x: TrackRecordLine) -> Self {
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        BacktestLine {
            authority: x.authority.map(|a| a.as_str().to_owned()),
            horizon: i32::from(x.horizon),
            method: x.method.code().to_owned(),
            origins: count(x.origins.len()),
            origin_years: x.origins,
            forecasts: count(x.forecasts),
            authorities: count(x.authorities),
            mape: x.mape,
            median_ape: x.median_ape,
            bias: x.bias,
            coverage: x.coverage,
            spread: x.spread,
        }
    }
}

/// One forecast the back-test scored: made from `origin` (the last January it saw) for the
/// January `year`, `horizon` years ahead, by one method, beside what came.
#[derive(Debug, SimpleObject)]
pub struct BacktestForecast {
    pub origin: i32,
    pub horizon: i32,
    pub year: i32,
    /// model, last_value, compound_growth or linear_trend.
    pub method: String,
    /// Plans in force forecast (the model's median).
    pub forecast: f64,
    /// Plans in force that January (DfE's published figure where there is one).
    pub actual: i32,
    /// (forecast - actual) / actual, in per cent: negative is too low.
    pub error_percent: f64,
    /// The model's range (None for the baselines).
    pub p10: Option<f64>,
    pub p90: Option<f64>,
    /// Whether the actual fell inside P10-P90 (the model only).
    pub inside: Option<bool>,
}

impl From<placeledger_forecast::BacktestRow> for BacktestForecast {
    fn from(r: placeledger_forecast::BacktestRow) -> Self {
        BacktestForecast {
            origin: r.origin,
            horizon: i32::from(r.horizon),
            year: r.year,
            method: r.method.code().to_owned(),
            forecast: r.forecast,
            actual: i32::try_from(r.actual).unwrap_or(i32::MAX),
            error_percent: r.error_pct,
            p10: r.p10,
            p90: r.p90,
            inside: r.inside,
        }
    }
}

/// A summary broken down by `dimensions`.
pub(crate) fn grouping(dimensions: &[PlacementDimension]) -> GroupBy {
    let has = |d| dimensions.contains(&d);
    GroupBy {
        authority: false,
        district: has(PlacementDimension::District),
        kind: has(PlacementDimension::Kind),
        need: has(PlacementDimension::Need),
        ncy: has(PlacementDimension::Ncy),
        location: has(PlacementDimension::Location),
    }
}

impl From<disclosure::PlacementSummary> for PlacementSummary {
    fn from(s: disclosure::PlacementSummary) -> Self {
        PlacementSummary {
            authority: s.authority.as_str().to_owned(),
            position: s.position,
            cells: s
                .cells
                .into_iter()
                .map(|(g, count)| PlacementCell {
                    district: g.district.as_ref().map(|d| d.as_str().to_owned()),
                    kind: g.kind.map(|k| k.code().to_owned()),
                    sector: g
                        .kind
                        .map(|k| placeledger_forecast::PlaceKind::of(k).sector().to_owned()),
                    need: g.need.map(|n| n.code().to_owned()),
                    ncy: g.ncy.map(|n| n.to_string()),
                    location: g.location.map(|l| l.code().to_owned()),
                    count,
                })
                .collect(),
            total: s.total,
            imports: s.imports,
            exports: s.exports,
            suppressed: s.suppressed,
        }
    }
}

impl From<disclosure::SharedPlaceData> for SharedPlaceData {
    fn from(s: disclosure::SharedPlaceData) -> Self {
        SharedPlaceData {
            authority: s.authority.as_str().to_owned(),
            position: s.position,
            cells: s
                .cells
                .into_iter()
                .map(|c| SharedCell {
                    suppressed: c.suppressed(),
                    district: c.district.as_str().to_owned(),
                    district_name: c.district_name,
                    year: c.year,
                    phase: c.phase.code().to_owned(),
                    kind: c.kind.code().to_owned(),
                    demand: c.demand,
                    capacity: c.capacity,
                })
                .collect(),
            totals: s
                .totals
                .into_iter()
                .map(|t| SharedTotal {
                    year: t.year,
                    phase: t.phase.code().to_owned(),
                    kind: t.kind.code().to_owned(),
                    demand: t.demand,
                    capacity: t.capacity,
                })
                .collect(),
        }
    }
}

impl SettingInfo {
    /// Setting `urn` as at `on`: what it is, its places and who is in them.
    pub(crate) fn of(urn: Urn, s: &Setting, on: NaiveDate) -> SettingInfo {
        let year = AcademicYear::containing(on);
        SettingInfo {
            urn: urn.to_string(),
            name: s.name.clone(),
            authority: s.authority.as_str().to_owned(),
            district: s.district.as_str().to_owned(),
            planning_area: s.planning_area.as_ref().map(ToString::to_string),
            kind: s.kind.code().to_owned(),
            provision: s.provision().code().to_owned(),
            phase: s.phase.code().to_owned(),
            low_age: i32::from(s.low_age),
            high_age: i32::from(s.high_age),
            designated_needs: s
                .designated_needs
                .iter()
                .map(|n| n.code().to_owned())
                .collect(),
            open: s.open_on(on),
            net_capacity: s
                .net_capacity_on(on)
                .map(|c| c.iter().map(|n| i64::from(n.count)).sum()),
            commissioned_places: s.commissioned_places(year).map(i64::from),
            places: s.places_on(on).map(i64::from),
            occupancy: i64::from(s.occupancy_on(on)),
            vacancies: s.vacancies_on(on),
        }
    }
}

impl ForecastResult {
    /// The forecast a caller asked for, as served.
    pub(crate) fn of(answer: &ForecastAnswer) -> ForecastResult {
        let f = &answer.forecast;
        let caseload =
            answer
                .caseload
                .iter()
                .map(|(a, year, range)| CaseloadForecast {
                    authority: a.as_str().to_owned(),
                    year: *year,
                    plans: (*range).into(),
                    basis: if f.forecast.flags.get(a).is_some_and(|x| {
                        x.contains(&placeledger_forecast::Flag::NoChildLevelHistory)
                    }) {
                        "published_totals"
                    } else {
                        "recorded_children"
                    }
                    .to_owned(),
                })
                .collect();
        ForecastResult {
            caseload,
            scenario: f.scenario.clone(),
            origin: f.origin,
            years: f.years.clone(),
            runs: f.runs,
            seed: f.seed,
            position: answer.position(),
            rows: answer
                .rows()
                .map(|r| ForecastRow::of(r, &answer.models))
                .collect(),
            totals: answer
                .totals
                .iter()
                .map(|t| ForecastTotal {
                    authority: t.authority.as_ref().map(|a| a.as_str().to_owned()),
                    year: t.year,
                    kind: t.kind.code().to_owned(),
                    sector: t.kind.sector().to_owned(),
                    demand: t.demand,
                    capacity: t.capacity,
                    out_of_county: t.out_of_county,
                    by_location: LocationCount::all(t.by_location()),
                    annual_cost: t.annual_cost,
                })
                .collect(),
            flags: answer
                .flags
                .iter()
                .map(|(a, flag)| ForecastFlag {
                    authority: a.as_str().to_owned(),
                    flag: flag.code().to_owned(),
                })
                .collect(),
            warnings: answer
                .flags
                .iter()
                .map(|(a, _)| a)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .flat_map(|a| {
                    f.forecast
                        .authority_warnings(a)
                        .into_iter()
                        .map(|w| AuthorityWarning {
                            authority: a.as_str().to_owned(),
                            code: w.code.to_owned(),
                            message: w.message,
                        })
                })
                .collect(),
        }
    }
}

impl HistoryEvent {
    /// A stream's history as served.
    pub(crate) fn all(entries: Vec<HistoryEntry>) -> Result<Vec<HistoryEvent>, AppError> {
        entries.into_iter().map(HistoryEvent::of).collect()
    }

    pub(crate) fn of((stored, event): HistoryEntry) -> Result<HistoryEvent, AppError> {
        Ok(HistoryEvent {
            position: stored.position,
            version: stored.stream_version,
            r#type: stored.event_type,
            recorded_at: DateTime(stored.recorded_at),
            actor: stored.metadata.actor,
            event: Json(serde_json::to_value(&event).map_err(|err| AppError::internal(&err))?),
        })
    }
}

/// Where a High Needs figure comes from: `recorded` (with its status and source),
/// `carried_forward` (the latest allocation on record, in cash; `fromYear` says which),
/// `projected` (last year's balance, plus the allocation, less the spend) or `missing`.
#[derive(Debug, SimpleObject, Clone, PartialEq, Eq)]
pub struct FundingBasis {
    pub basis: String,
    /// `final`, `provisional`, `forecast` or `estimate`, when recorded.
    pub status: Option<String>,
    pub source: Option<String>,
    /// The financial year an allocation is carried forward from (2024: 2024-25).
    pub from_year: Option<i32>,
}

impl FundingBasis {
    fn of(b: &placeledger_forecast::Basis) -> FundingBasis {
        use placeledger_forecast::Basis;
        let plain = |basis: &str| FundingBasis {
            basis: basis.to_owned(),
            status: None,
            source: None,
            from_year: None,
        };
        match b {
            Basis::Recorded { status, source } => FundingBasis {
                status: Some(status.code().to_owned()),
                source: Some(source.clone()),
                ..plain("recorded")
            },
            Basis::CarriedForward { from_year } => FundingBasis {
                from_year: Some(*from_year),
                ..plain("carried_forward")
            },
            Basis::Projected => plain("projected"),
            Basis::Missing => plain("missing"),
        }
    }
}

/// One financial year (April to March) of an authority's High Needs Block view, in pounds.
#[derive(Debug, SimpleObject, Clone, PartialEq)]
pub struct HighNeedsYear {
    /// By its first calendar year: 2026 is April 2026 to March 2027.
    pub financial_year: i32,
    /// `2026-27`.
    pub label: String,
    /// The forecast's spend on placements of children with plans: 5/12 of one January's
    /// annual cost and 7/12 of the next (null when some kind of placement is unpriced).
    pub spend: Option<Decimal>,
    /// The High Needs Block allocation.
    pub allocation: Option<Decimal>,
    pub allocation_basis: FundingBasis,
    /// Allocation less spend: negative is an overspend.
    pub in_year: Option<Decimal>,
    /// The cumulative DSG balance on 31 March at the year's end: negative is a deficit.
    pub dsg_balance: Option<Decimal>,
    pub balance_basis: FundingBasis,
    /// `allocation_missing`, `allocation_carried_forward`, `allocation_estimated`,
    /// `dsg_balance_missing`, `spend_unpriced`, `overspend`.
    pub warnings: Vec<Warning>,
}

/// An authority's forecast high-needs spend against its High Needs Block allocation, and
/// its DSG balance, financial year by financial year.
#[derive(Debug, SimpleObject, Clone, PartialEq)]
pub struct HighNeedsView {
    /// DfE LA code.
    pub authority: String,
    pub authority_name: String,
    /// The forecast's last January known.
    pub origin: i32,
    /// What the spend covers (and what it leaves out), in words.
    pub covers: String,
    pub years: Vec<HighNeedsYear>,
}

impl HighNeedsView {
    pub(crate) fn of(view: &placeledger_forecast::HighNeeds, models: &ReadModels) -> HighNeedsView {
        HighNeedsView {
            authority: view.authority.as_str().to_owned(),
            authority_name: models
                .mainstream
                .authorities()
                .get(&view.authority)
                .map_or_else(|| view.authority.as_str().to_owned(), |a| a.name.clone()),
            origin: view.origin,
            covers: placeledger_forecast::high_needs::COVERS.to_owned(),
            years: view
                .years
                .iter()
                .map(|y| HighNeedsYear {
                    financial_year: y.financial_year,
                    label: y.label(),
                    spend: y.spend,
                    allocation: y.allocation,
                    allocation_basis: FundingBasis::of(&y.allocation_basis),
                    in_year: y.in_year,
                    dsg_balance: y.dsg_balance,
                    balance_basis: FundingBasis::of(&y.balance_basis),
                    warnings: Warning::all(&y.warnings),
                })
                .collect(),
        }
    }
}

/// Home-to-school transport a year per child in a kind of place, at the price base.
#[derive(Debug, Clone, InputObject)]
pub struct TransportInput {
    /// A kind of place (`special`, `independent`, ...).
    pub kind: String,
    /// Pounds a year per child.
    pub per_child: Decimal,
}

/// The prices a forecast's costs are at: inflation a year from each authority's price base
/// (the financial year of its latest cost), and transport per child by kind of place.
#[derive(Debug, Clone, Default, InputObject)]
pub struct PricesInput {
    /// Percent a year, -20 to 50 (default 0: the price base).
    #[graphql(default)]
    pub inflation_percent: f64,
    #[graphql(default)]
    pub transport: Vec<TransportInput>,
}
