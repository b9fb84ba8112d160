//! What the domain needs to know to decide: the fold of past events.
//!
//! `evolve` folds one event in; it never fails (events are facts already accepted).
//! `decide` checks a command against the state and returns the events it produces.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::commands::{ActivityInput, CaseloadInput, Command, OpenSetting};
use crate::error::DomainError;
use crate::events::{
    ActivityCell, CaseloadCell, Event, Lever, NcyCount, NeedPlaces, NewHome, PhaseYield, PlacedAt,
};
use crate::values::{
    AgeBand, AssessmentDecision, AuthorityCode, ChildId, Facility, GssCode, Money, Ncy,
    PlanningAreaCode, PrimaryNeed, ScenarioId, SettingKind, SharedData, Urn, YearMonth,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub gss: GssCode,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    pub authority: AuthorityCode,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanningArea {
    pub district: GssCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub authority: AuthorityCode,
    pub district: GssCode,
    pub kind: SettingKind,
    pub facility: Option<Facility>,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
}

impl Setting {
    /// Open on `day`: opened on or before it, and not closed on or before it.
    pub fn is_open_on(&self, day: NaiveDate) -> bool {
        self.opened_on <= day && self.closed_on.is_none_or(|c| day < c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub issued_on: NaiveDate,
    pub primary_need: PrimaryNeed,
    pub ceased_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pub authority: AuthorityCode,
    pub born: YearMonth,
    pub district: Option<GssCode>,
    pub registered_on: NaiveDate,
    pub requested_on: Option<NaiveDate>,
    pub decision: Option<(NaiveDate, AssessmentDecision)>,
    pub plan: Option<Plan>,
    pub placement: Option<(NaiveDate, PlacedAt)>,
}

/// The domain's knowledge: geography, settings, children. Built only by [`evolve`].
///
/// It serializes so that the ledger can save its fold and start from it (a snapshot) instead
/// of folding the whole log; [`State::SHAPE`] says which shape a saved one has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub authorities: BTreeMap<AuthorityCode, Authority>,
    pub districts: BTreeMap<GssCode, District>,
    pub planning_areas: BTreeMap<PlanningAreaCode, PlanningArea>,
    pub settings: BTreeMap<Urn, Setting>,
    pub children: BTreeMap<ChildId, Child>,
    /// Data-sharing agreements by (sharing authority, partner): from, until.
    #[serde(with = "entries")]
    pub sharing: BTreeMap<(AuthorityCode, AuthorityCode), (NaiveDate, Option<NaiveDate>)>,
    /// Scenarios: the owning authority and how many levers they hold.
    pub scenarios: BTreeMap<ScenarioId, (AuthorityCode, u32)>,
}

/// A map keyed by pairs, serialized as a list of entries: a JSON object's keys are strings.
mod entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

impl State {
    /// The shape of a serialized state, and of the meaning [`evolve`] gives events. A saved
    /// state of another shape is not used. Change it whenever a field of the state changes,
    /// or `evolve` folds an event differently.
    pub const SHAPE: u32 = 1;

    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(State::default(), evolve)
    }

    fn authority(&self, field: &'static str, a: &AuthorityCode) -> Result<(), DomainError> {
        self.authorities
            .contains_key(a)
            .then_some(())
            .ok_or_else(|| DomainError::unknown(field, "authority", a))
    }

    fn district(&self, field: &'static str, d: &GssCode) -> Result<&District, DomainError> {
        self.districts
            .get(d)
            .ok_or_else(|| DomainError::unknown(field, "district", d))
    }

    fn setting(&self, urn: Urn) -> Result<&Setting, DomainError> {
        self.settings
            .get(&urn)
            .ok_or_else(|| DomainError::unknown("urn", "setting", urn))
    }

    fn child(&self, child: &ChildId) -> Result<&Child, DomainError> {
        self.children
            .get(child)
            .ok_or_else(|| DomainError::unknown("child", "child", child))
    }

    /// A registered district or authority, by its GSS code (population is published for both).
    fn area(&self, area: &GssCode) -> Result<(), DomainError> {
        let known =
            self.districts.contains_key(area) || self.authorities.values().any(|a| &a.gss == area);
        known
            .then_some(())
            .ok_or_else(|| DomainError::unknown("area", "district or authority", area))
    }

    /// A child-level event on `on` must fall in the child's lifetime up to 25, and not before
    /// the child's record starts.
    fn child_dated(&self, id: &ChildId, on: NaiveDate) -> Result<&Child, DomainError> {
        let child = self.child(id)?;
        in_lifetime("on", child.born, on)?;
        not_before("on", on, "the child's registration", child.registered_on)?;
        Ok(child)
    }
}

fn in_lifetime(field: &'static str, born: YearMonth, on: NaiveDate) -> Result<(), DomainError> {
    if on < born.first_day() {
        return Err(DomainError::BeforeBirth {
            field,
            date: on,
            born,
        });
    }
    if on >= born.aged_out_from() {
        return Err(DomainError::AfterAge25 {
            field,
            date: on,
            born,
        });
    }
    Ok(())
}

fn not_before(
    field: &'static str,
    on: NaiveDate,
    earlier_event: &'static str,
    earlier: NaiveDate,
) -> Result<(), DomainError> {
    if on < earlier {
        Err(DomainError::OutOfOrder {
            field,
            date: on,
            earlier_event,
            earlier,
        })
    } else {
        Ok(())
    }
}

fn name(field: &'static str, name: &str) -> Result<String, DomainError> {
    text(field, name, 200)
}

/// Text of 1 to `max` characters, trimmed, without control or text-direction characters.
fn text(field: &'static str, name: &str, max: usize) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be 1-{max} characters"),
        ));
    }
    if let Some(c) = n.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        return Err(DomainError::invalid(
            field,
            format!(
                "may not hold control or text-direction characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(n.to_owned())
}

/// Unicode's explicit text-direction formatting characters (marks, embeddings, overrides,
/// isolates): they can make a name read differently from what it holds.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

fn count(field: impl FnOnce() -> String, value: i64) -> Result<u32, DomainError> {
    if value < 0 {
        return Err(DomainError::Negative {
            field: field(),
            value,
        });
    }
    u32::try_from(value).map_err(|_| DomainError::invalid(field(), "is implausibly large"))
}

fn non_negative(field: &'static str, value: Decimal) -> Result<Decimal, DomainError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(DomainError::invalid(
            field,
            format!("must not be negative (got {value})"),
        ));
    }
    Ok(value)
}

fn year(field: &'static str, y: i32) -> Result<i32, DomainError> {
    if (1990..=2100).contains(&y) {
        Ok(y)
    } else {
        Err(DomainError::invalid(
            field,
            format!("{y} is not a year between 1990 and 2100"),
        ))
    }
}

fn ncy_counts(field: &'static str, input: &[(Ncy, i64)]) -> Result<Vec<NcyCount>, DomainError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(input.len());
    for &(ncy, value) in input {
        if !seen.insert(ncy) {
            return Err(DomainError::invalid(
                format!("{field}[{ncy}]"),
                "year group given twice",
            ));
        }
        let count = count(|| format!("{field}[{ncy}]"), value)?;
        out.push(NcyCount { ncy, count });
    }
    if out.is_empty() {
        return Err(DomainError::invalid(field, "needs at least one year group"));
    }
    Ok(out)
}

/// Folds one event into the state.
pub fn evolve(mut state: State, event: &Event) -> State {
    use Event::*;
    match event {
        AuthorityRegistered {
            authority,
            gss,
            name,
        } => {
            state.authorities.insert(
                authority.clone(),
                Authority {
                    gss: gss.clone(),
                    name: name.clone(),
                },
            );
        }
        DistrictRegistered {
            district,
            authority,
            name,
        } => {
            state.districts.insert(
                district.clone(),
                District {
                    authority: authority.clone(),
                    name: name.clone(),
                },
            );
        }
        PlanningAreaRegistered {
            planning_area,
            district,
            ..
        } => {
            state.planning_areas.insert(
                planning_area.clone(),
                PlanningArea {
                    district: district.clone(),
                },
            );
        }
        SettingOpened {
            urn,
            authority,
            district,
            kind,
            facility,
            opened_on,
            ..
        } => {
            state.settings.insert(
                *urn,
                Setting {
                    authority: authority.clone(),
                    district: district.clone(),
                    kind: *kind,
                    facility: *facility,
                    opened_on: *opened_on,
                    closed_on: None,
                },
            );
        }
        SettingClosed { urn, closed_on } => {
            if let Some(s) = state.settings.get_mut(urn) {
                s.closed_on = Some(*closed_on);
            }
        }
        SettingConvertedToAcademy {
            urn,
            new_urn,
            converted_on,
            ..
        } => {
            if let Some(old) = state.settings.get_mut(urn) {
                old.closed_on = Some(*converted_on);
                let new = Setting {
                    kind: old.kind.academy_counterpart().unwrap_or(old.kind),
                    opened_on: *converted_on,
                    closed_on: None,
                    ..old.clone()
                };
                state.settings.insert(*new_urn, new);
            }
        }
        NetCapacitySet { .. } | PlacesCommissioned { .. } | PlacementCostSet { .. } => {}
        ChildRegistered { .. }
        | ChildMovedHome { .. }
        | AssessmentRequested { .. }
        | AssessmentDecided { .. }
        | PlanIssued { .. }
        | PrimaryNeedChanged { .. }
        | PlanCeased { .. }
        | PlacementStarted { .. }
        | PlacementEnded { .. } => evolve_child(&mut state, event),
        DataSharingAgreed {
            authority,
            partner,
            from,
            until,
            ..
        } => {
            state
                .sharing
                .insert((authority.clone(), partner.clone()), (*from, *until));
        }
        DataSharingEnded {
            authority,
            partner,
            ended_on,
        } => {
            if let Some(a) = state.sharing.get_mut(&(authority.clone(), partner.clone())) {
                a.1 = Some(*ended_on);
            }
        }
        ScenarioCreated {
            scenario,
            authority,
            ..
        } => {
            state
                .scenarios
                .insert(scenario.clone(), (authority.clone(), 0));
        }
        ScenarioLeverAdded { scenario, .. } => {
            if let Some(s) = state.scenarios.get_mut(scenario) {
                s.1 += 1;
            }
        }
        ScenarioLeverRemoved { scenario, .. } => {
            if let Some(s) = state.scenarios.get_mut(scenario) {
                s.1 = s.1.saturating_sub(1);
            }
        }
        AnnualReviewHeld { .. }
        | CensusRollRecorded { .. }
        | PopulationRecorded { .. }
        | BirthsRecorded { .. }
        | HousingCompletionsRecorded { .. }
        | CaseloadRecorded { .. }
        | NationalCaseloadRecorded { .. }
        | ActivityRecorded { .. }
        | HighNeedsFundingRecorded { .. } => {}
    }
    state
}

/// Folds one event of a child's line (registration, assessment, plan, placement) into the
/// state; events of other kinds change no child.
fn evolve_child(state: &mut State, event: &Event) {
    use Event::*;
    match event {
        ChildRegistered {
            child,
            authority,
            born,
            district,
            registered_on,
        } => {
            state.children.insert(
                child.clone(),
                Child {
                    authority: authority.clone(),
                    born: *born,
                    district: Some(district.clone()),
                    registered_on: *registered_on,
                    requested_on: None,
                    decision: None,
                    plan: None,
                    placement: None,
                },
            );
        }
        ChildMovedHome { child, home, .. } => {
            let new_authority = match home {
                NewHome::District { district } => {
                    state.districts.get(district).map(|d| d.authority.clone())
                }
                NewHome::OutsideArea { .. } => None,
            };
            if let Some(c) = state.children.get_mut(child) {
                match home {
                    NewHome::District { district } => {
                        c.district = Some(district.clone());
                        if let Some(a) = new_authority {
                            c.authority = a;
                        }
                    }
                    NewHome::OutsideArea { .. } => c.district = None,
                }
            }
        }
        AssessmentRequested {
            child,
            requested_on,
        } => {
            if let Some(c) = state.children.get_mut(child) {
                c.requested_on = Some(*requested_on);
                c.decision = None;
            }
        }
        AssessmentDecided {
            child,
            decided_on,
            decision,
        } => {
            if let Some(c) = state.children.get_mut(child) {
                c.decision = Some((*decided_on, *decision));
            }
        }
        PlanIssued {
            child,
            issued_on,
            primary_need,
            ..
        } => {
            if let Some(c) = state.children.get_mut(child) {
                c.plan = Some(Plan {
                    issued_on: *issued_on,
                    primary_need: *primary_need,
                    ceased_on: None,
                });
            }
        }
        PrimaryNeedChanged {
            child,
            primary_need,
            ..
        } => {
            if let Some(p) = state.children.get_mut(child).and_then(|c| c.plan.as_mut()) {
                p.primary_need = *primary_need;
            }
        }
        PlanCeased {
            child, ceased_on, ..
        } => {
            if let Some(p) = state.children.get_mut(child).and_then(|c| c.plan.as_mut()) {
                p.ceased_on = Some(*ceased_on);
            }
        }
        PlacementStarted {
            child,
            started_on,
            placed_at,
        } => {
            if let Some(c) = state.children.get_mut(child) {
                c.placement = Some((*started_on, *placed_at));
            }
        }
        PlacementEnded { child, .. } => {
            if let Some(c) = state.children.get_mut(child) {
                c.placement = None;
            }
        }
        _ => {}
    }
}

/// Checks `command` against `state`. Returns the events to record, or why not. A refused
/// command produces no event.
pub fn decide(state: &State, command: &Command) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    match command {
        RegisterAuthority { .. } | RegisterDistrict { .. } | RegisterPlanningArea { .. } => {
            decide_geography(state, command)
        }
        OpenSetting(..)
        | CloseSetting { .. }
        | ConvertToAcademy { .. }
        | SetNetCapacity { .. }
        | CommissionPlaces { .. }
        | SetPlacementCost { .. }
        | RecordCensusRoll { .. } => decide_settings(state, command),
        RegisterChild { .. }
        | MoveHome { .. }
        | RequestAssessment { .. }
        | DecideAssessment { .. }
        | IssuePlan { .. } => decide_assessments_and_plans(state, command),
        HoldAnnualReview { .. }
        | ChangePrimaryNeed { .. }
        | CeasePlan { .. }
        | StartPlacement { .. }
        | EndPlacement { .. } => decide_reviews_and_placements(state, command),
        RecordPopulation { .. }
        | RecordBirths { .. }
        | RecordHousingCompletions { .. }
        | RecordCaseload { .. }
        | RecordNationalCaseload { .. }
        | RecordActivity { .. }
        | RecordHighNeedsFunding { .. } => decide_published_figures(state, command),
        AgreeDataSharing { .. }
        | EndDataSharing { .. }
        | CreateScenario { .. }
        | AddScenarioLever { .. }
        | RemoveScenarioLever { .. } => decide_agreements_and_scenarios(state, command),
    }
}

/// Geography: authorities, their districts and planning areas.
fn decide_geography(state: &State, command: &Command) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        RegisterAuthority {
            authority,
            gss,
            name: n,
        } => {
            if state.authorities.contains_key(authority) {
                return Err(DomainError::exists("authority", "authority", authority));
            }
            Event::AuthorityRegistered {
                authority: authority.clone(),
                gss: gss.clone(),
                name: name("name", n)?,
            }
        }
        RegisterDistrict {
            district,
            authority,
            name: n,
        } => {
            state.authority("authority", authority)?;
            if state.districts.contains_key(district) {
                return Err(DomainError::exists("district", "district", district));
            }
            Event::DistrictRegistered {
                district: district.clone(),
                authority: authority.clone(),
                name: name("name", n)?,
            }
        }
        RegisterPlanningArea {
            planning_area,
            district,
            phase,
            name: n,
        } => {
            state.district("district", district)?;
            if state.planning_areas.contains_key(planning_area) {
                return Err(DomainError::exists(
                    "planning_area",
                    "planning area",
                    planning_area,
                ));
            }
            Event::PlanningAreaRegistered {
                planning_area: planning_area.clone(),
                district: district.clone(),
                phase: *phase,
                name: name("name", n)?,
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

/// Settings: opening, closing, converting, their places and census rolls, and what a place costs.
fn decide_settings(state: &State, command: &Command) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        OpenSetting(cmd) => open_setting(state, cmd)?,
        CloseSetting { urn, on } => {
            let s = state.setting(*urn)?;
            if !s.is_open_on(*on) {
                return Err(DomainError::SettingNotOpen { urn: *urn, on: *on });
            }
            Event::SettingClosed {
                urn: *urn,
                closed_on: *on,
            }
        }
        ConvertToAcademy {
            urn,
            new_urn,
            new_name,
            on,
        } => {
            let s = state.setting(*urn)?;
            if !s.is_open_on(*on) {
                return Err(DomainError::SettingNotOpen { urn: *urn, on: *on });
            }
            if s.kind.academy_counterpart().is_none() {
                return Err(DomainError::invalid(
                    "urn",
                    format!("a {} setting cannot convert to an academy", s.kind),
                ));
            }
            if state.settings.contains_key(new_urn) {
                return Err(DomainError::exists("new_urn", "setting", new_urn));
            }
            Event::SettingConvertedToAcademy {
                urn: *urn,
                new_urn: *new_urn,
                new_name: name("new_name", new_name)?,
                converted_on: *on,
            }
        }
        SetNetCapacity {
            urn,
            from,
            capacity,
        } => {
            state.setting(*urn)?;
            Event::NetCapacitySet {
                urn: *urn,
                from: *from,
                capacity: ncy_counts("capacity", capacity)?,
            }
        }
        CommissionPlaces { urn, year, places } => {
            let s = state.setting(*urn)?;
            if s.closed_on.is_some_and(|c| c <= year.first_day()) {
                return Err(DomainError::SettingNotOpen {
                    urn: *urn,
                    on: year.first_day(),
                });
            }
            let mut seen = BTreeSet::new();
            let mut out = Vec::with_capacity(places.len());
            for &(need, value) in places {
                let label = need.map_or("any".to_owned(), |n| n.code().to_owned());
                if !seen.insert(need) {
                    return Err(DomainError::invalid(
                        format!("places[{label}]"),
                        "need given twice",
                    ));
                }
                let places = count(|| format!("places[{label}]"), value)?;
                out.push(NeedPlaces { need, places });
            }
            if out.is_empty() {
                return Err(DomainError::invalid("places", "needs at least one need"));
            }
            Event::PlacesCommissioned {
                urn: *urn,
                year: *year,
                places: out,
            }
        }
        SetPlacementCost {
            authority,
            kind,
            from,
            annual_cost,
        } => {
            state.authority("authority", authority)?;
            let annual_cost =
                Money::new(*annual_cost).map_err(|e| DomainError::from_value("annual_cost", e))?;
            Event::PlacementCostSet {
                authority: authority.clone(),
                kind: *kind,
                from: *from,
                annual_cost,
            }
        }
        RecordCensusRoll { urn, census, rolls } => {
            state.setting(*urn)?;
            Event::CensusRollRecorded {
                urn: *urn,
                census: *census,
                rolls: ncy_counts("rolls", rolls)?,
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

/// A child, an EHC needs assessment and the plan: registered, moved, requested, decided, issued.
fn decide_assessments_and_plans(
    state: &State,
    command: &Command,
) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        RegisterChild {
            child,
            authority,
            born,
            district,
            on,
        } => {
            if state.children.contains_key(child) {
                return Err(DomainError::exists("child", "child", child));
            }
            state.authority("authority", authority)?;
            let d = state.district("district", district)?;
            if &d.authority != authority {
                return Err(DomainError::DistrictOutsideAuthority {
                    district: district.to_string(),
                    authority: authority.to_string(),
                    belongs_to: d.authority.to_string(),
                });
            }
            in_lifetime("on", *born, *on)?;
            Event::ChildRegistered {
                child: child.clone(),
                authority: authority.clone(),
                born: *born,
                district: district.clone(),
                registered_on: *on,
            }
        }
        MoveHome { child, on, home } => {
            let c = state.child_dated(child, *on)?;
            match home {
                NewHome::District { district } => {
                    state.district("district", district)?;
                    if c.district.as_ref() == Some(district) {
                        return Err(DomainError::invalid(
                            "district",
                            format!("the child already lives in {district}"),
                        ));
                    }
                }
                NewHome::OutsideArea { authority } => {
                    if c.district.is_none() {
                        return Err(DomainError::ChildOutsideArea {
                            child: child.clone(),
                        });
                    }
                    name("authority", authority)?;
                }
            }
            Event::ChildMovedHome {
                child: child.clone(),
                moved_on: *on,
                home: home.clone(),
            }
        }
        RequestAssessment { child, on } => {
            let c = state.child_dated(child, *on)?;
            if let Some(p) = &c.plan {
                match p.ceased_on {
                    None => {
                        return Err(DomainError::PlanAlreadyIssued {
                            child: child.clone(),
                            issued_on: p.issued_on,
                        });
                    }
                    Some(ceased_on) => {
                        return Err(DomainError::PlanAlreadyCeased {
                            child: child.clone(),
                            ceased_on,
                        });
                    }
                }
            }
            if let (Some(requested_on), None) = (c.requested_on, c.decision) {
                return Err(DomainError::RequestPending {
                    child: child.clone(),
                    requested_on,
                });
            }
            Event::AssessmentRequested {
                child: child.clone(),
                requested_on: *on,
            }
        }
        DecideAssessment {
            child,
            on,
            decision,
        } => {
            let c = state.child_dated(child, *on)?;
            let requested_on = match (c.requested_on, c.decision) {
                (Some(r), None) => r,
                _ => {
                    return Err(DomainError::NoPendingRequest {
                        child: child.clone(),
                    });
                }
            };
            not_before("on", *on, "the request", requested_on)?;
            Event::AssessmentDecided {
                child: child.clone(),
                decided_on: *on,
                decision: *decision,
            }
        }
        IssuePlan {
            child,
            on,
            primary_need,
            secondary_needs,
            transfer_in,
        } => {
            let c = state.child_dated(child, *on)?;
            if let Some(p) = &c.plan {
                return Err(DomainError::PlanAlreadyIssued {
                    child: child.clone(),
                    issued_on: p.issued_on,
                });
            }
            match transfer_in {
                Some(t) => {
                    name("transfer_in.from_authority", &t.from_authority)?;
                    in_lifetime(
                        "transfer_in.originally_issued_on",
                        c.born,
                        t.originally_issued_on,
                    )?;
                    if t.originally_issued_on > *on {
                        return Err(DomainError::invalid(
                            "transfer_in.originally_issued_on",
                            "must not be after the date the plan is taken over",
                        ));
                    }
                }
                None => match c.decision {
                    Some((decided_on, AssessmentDecision::Assess)) => {
                        not_before("on", *on, "the decision to assess", decided_on)?;
                    }
                    _ => {
                        return Err(DomainError::NoDecisionToAssess {
                            child: child.clone(),
                        });
                    }
                },
            }
            let mut seen = BTreeSet::from([*primary_need]);
            for n in secondary_needs {
                if !seen.insert(*n) {
                    return Err(DomainError::invalid(
                        "secondary_needs",
                        format!("{n} is given twice or is the primary need"),
                    ));
                }
            }
            Event::PlanIssued {
                child: child.clone(),
                issued_on: *on,
                primary_need: *primary_need,
                secondary_needs: secondary_needs.clone(),
                transfer_in: transfer_in.clone(),
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

/// A plan in force: reviewed, its need changed, ceased; the child's placements.
fn decide_reviews_and_placements(
    state: &State,
    command: &Command,
) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        HoldAnnualReview { child, on, outcome } => {
            let c = state.child_dated(child, *on)?;
            let plan = active_plan(child, c, *on)?;
            not_before("on", *on, "the plan's issue", plan.issued_on)?;
            Event::AnnualReviewHeld {
                child: child.clone(),
                held_on: *on,
                outcome: *outcome,
            }
        }
        ChangePrimaryNeed {
            child,
            on,
            primary_need,
        } => {
            let c = state.child_dated(child, *on)?;
            let plan = active_plan(child, c, *on)?;
            if plan.primary_need == *primary_need {
                return Err(DomainError::invalid(
                    "primary_need",
                    format!("is already {primary_need}"),
                ));
            }
            Event::PrimaryNeedChanged {
                child: child.clone(),
                changed_on: *on,
                primary_need: *primary_need,
            }
        }
        CeasePlan { child, on, reason } => {
            let c = state.child_dated(child, *on)?;
            let plan = c.plan.as_ref().ok_or_else(|| DomainError::NoActivePlan {
                child: child.clone(),
                on: *on,
            })?;
            if let Some(ceased_on) = plan.ceased_on {
                return Err(DomainError::PlanAlreadyCeased {
                    child: child.clone(),
                    ceased_on,
                });
            }
            not_before("on", *on, "the plan's issue", plan.issued_on)?;
            let mut events = Vec::with_capacity(2);
            if let Some((since, _)) = c.placement {
                not_before("on", *on, "the placement's start", since)?;
                events.push(Event::PlacementEnded {
                    child: child.clone(),
                    ended_on: *on,
                    reason: crate::values::PlacementEndReason::PlanCeased,
                });
            }
            events.push(Event::PlanCeased {
                child: child.clone(),
                ceased_on: *on,
                reason: *reason,
            });
            return Ok(events);
        }
        StartPlacement {
            child,
            on,
            placed_at,
        } => {
            let c = state.child_dated(child, *on)?;
            let plan = active_plan(child, c, *on)?;
            not_before("on", *on, "the plan's issue", plan.issued_on)?;
            if let Some((since, _)) = c.placement {
                return Err(DomainError::PlacementAlreadyOpen {
                    child: child.clone(),
                    since,
                });
            }
            if let PlacedAt::Setting { urn, facility } = placed_at {
                let s = state.setting(*urn)?;
                if !s.is_open_on(*on) {
                    return Err(DomainError::SettingNotOpen { urn: *urn, on: *on });
                }
                if facility.is_some() && *facility != s.facility {
                    return Err(DomainError::invalid(
                        "facility",
                        format!(
                            "setting {urn} has {}",
                            s.facility.map_or("no specialist facility", |f| f.code())
                        ),
                    ));
                }
            }
            Event::PlacementStarted {
                child: child.clone(),
                started_on: *on,
                placed_at: *placed_at,
            }
        }
        EndPlacement { child, on, reason } => {
            let c = state.child_dated(child, *on)?;
            let (since, _) = c.placement.ok_or_else(|| DomainError::NoOpenPlacement {
                child: child.clone(),
            })?;
            not_before("on", *on, "the placement's start", since)?;
            Event::PlacementEnded {
                child: child.clone(),
                ended_on: *on,
                reason: *reason,
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

/// Figures recorded as published: population, births, housing, SEN2 caseloads and activity, England's plans.
fn decide_published_figures(state: &State, command: &Command) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        RecordPopulation {
            area,
            year: y,
            age,
            persons,
            basis,
            release,
        } => {
            state.area(area)?;
            Event::PopulationRecorded {
                area: area.clone(),
                year: year("year", *y)?,
                age: *age,
                persons: non_negative("persons", *persons)?,
                basis: *basis,
                release: name("release", release)?,
            }
        }
        RecordBirths {
            area,
            year: y,
            births,
        } => {
            state.area(area)?;
            Event::BirthsRecorded {
                area: area.clone(),
                year: year("year", *y)?,
                births: count(|| "births".into(), *births)?,
            }
        }
        RecordHousingCompletions {
            planning_area,
            year: y,
            dwellings,
            pupil_yield,
        } => {
            if !state.planning_areas.contains_key(planning_area) {
                return Err(DomainError::unknown(
                    "planning_area",
                    "planning area",
                    planning_area,
                ));
            }
            let pupil_yield = pupil_yield
                .iter()
                .map(|&(phase, per_dwelling)| {
                    Ok(PhaseYield {
                        phase,
                        per_dwelling: non_negative("pupil_yield", per_dwelling)?,
                    })
                })
                .collect::<Result<_, DomainError>>()?;
            Event::HousingCompletionsRecorded {
                planning_area: planning_area.clone(),
                year: year("year", *y)?,
                dwellings: count(|| "dwellings".into(), *dwellings)?,
                pupil_yield,
            }
        }
        RecordCaseload {
            authority,
            census,
            cells,
        } => {
            state.authority("authority", authority)?;
            if cells.is_empty() {
                return Err(DomainError::invalid("cells", "needs at least one cell"));
            }
            let cells = cells
                .iter()
                .enumerate()
                .map(|(i, c)| caseload_cell(i, c))
                .collect::<Result<_, _>>()?;
            Event::CaseloadRecorded {
                authority: authority.clone(),
                census: *census,
                cells,
            }
        }
        RecordNationalCaseload { census, plans } => {
            let plans = count(|| "plans".into(), *plans)?;
            if plans == 0 {
                return Err(DomainError::invalid(
                    "plans",
                    "England has plans in force on every census: 0 is not a published figure",
                ));
            }
            Event::NationalCaseloadRecorded {
                census: *census,
                plans,
            }
        }
        RecordHighNeedsFunding {
            authority,
            financial_year,
            allocation,
            dsg_balance,
            status,
            source,
        } => {
            state.authority("authority", authority)?;
            if allocation.is_none() && dsg_balance.is_none() {
                return Err(DomainError::invalid(
                    "allocation",
                    "give an allocation, a DSG balance or both",
                ));
            }
            let allocation = allocation
                .map(|a| {
                    if a.is_zero() {
                        return Err(DomainError::invalid(
                            "allocation",
                            "a High Needs Block allocation is never 0",
                        ));
                    }
                    Money::new(a).map_err(|e| DomainError::from_value("allocation", e))
                })
                .transpose()?;
            if let Some(b) = dsg_balance
                && b.normalize().scale() > 2
            {
                return Err(DomainError::invalid(
                    "dsg_balance",
                    format!("{b} is not in whole pence (at most 2 decimal places)"),
                ));
            }
            Event::HighNeedsFundingRecorded {
                authority: authority.clone(),
                financial_year: year("financial_year", *financial_year)?,
                allocation,
                dsg_balance: *dsg_balance,
                status: *status,
                // A source names a report, its date and how a figure was made: up to 500.
                source: text("source", source, 500)?,
            }
        }
        RecordActivity {
            authority,
            year: y,
            cells,
        } => {
            state.authority("authority", authority)?;
            let year = year("year", *y)?;
            if cells.is_empty() {
                return Err(DomainError::invalid("cells", "needs at least one cell"));
            }
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::with_capacity(cells.len());
            for (i, c) in cells.iter().enumerate() {
                let cell = activity_cell(i, c)?;
                if !seen.insert((cell.measure, cell.age, cell.need, cell.kind, cell.reason)) {
                    return Err(DomainError::invalid(
                        format!("cells[{i}]"),
                        "the same count appears twice",
                    ));
                }
                out.push(cell);
            }
            Event::ActivityRecorded {
                authority: authority.clone(),
                year,
                cells: out,
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

/// Data-sharing agreements between authorities, and scenarios with their levers.
fn decide_agreements_and_scenarios(
    state: &State,
    command: &Command,
) -> Result<Vec<Event>, DomainError> {
    use Command::*;
    let event = match command {
        AgreeDataSharing {
            authority,
            partner,
            shares,
            from,
            until,
        } => {
            state.authority("authority", authority)?;
            state.authority("partner", partner)?;
            if authority == partner {
                return Err(DomainError::invalid(
                    "partner",
                    "an authority does not need an agreement with itself",
                ));
            }
            if shares.is_empty() {
                return Err(DomainError::invalid(
                    "shares",
                    "needs at least one kind of data",
                ));
            }
            let mut out: Vec<SharedData> = Vec::with_capacity(shares.len());
            for (i, s) in shares.iter().enumerate() {
                if out.contains(s) {
                    return Err(DomainError::invalid(
                        format!("shares[{i}]"),
                        format!("{} is listed twice", s.code()),
                    ));
                }
                out.push(*s);
            }
            if until.is_some_and(|u| u <= *from) {
                return Err(DomainError::invalid("until", "must be after from"));
            }
            Event::DataSharingAgreed {
                authority: authority.clone(),
                partner: partner.clone(),
                shares: out,
                from: *from,
                until: *until,
            }
        }
        EndDataSharing {
            authority,
            partner,
            on,
        } => {
            let Some((from, until)) = state.sharing.get(&(authority.clone(), partner.clone()))
            else {
                return Err(DomainError::unknown(
                    "partner",
                    "data-sharing agreement",
                    format!("{authority} with {partner}"),
                ));
            };
            if on < from {
                return Err(DomainError::invalid("on", "is before the agreement began"));
            }
            if until.is_some_and(|u| u <= *on) {
                return Err(DomainError::invalid(
                    "on",
                    "the agreement has already ended",
                ));
            }
            Event::DataSharingEnded {
                authority: authority.clone(),
                partner: partner.clone(),
                ended_on: *on,
            }
        }
        CreateScenario {
            scenario,
            name: n,
            author,
            authority,
            base,
            on,
        } => {
            if state.scenarios.contains_key(scenario) {
                return Err(DomainError::exists("scenario", "scenario", scenario));
            }
            state.authority("authority", authority)?;
            if let Some(b) = base {
                let Some((owner, _)) = state.scenarios.get(b) else {
                    return Err(DomainError::unknown("base", "scenario", b));
                };
                if owner != authority {
                    return Err(DomainError::invalid(
                        "base",
                        format!("scenario {b} belongs to authority {owner}"),
                    ));
                }
            }
            Event::ScenarioCreated {
                scenario: scenario.clone(),
                name: name("name", n)?,
                author: name("author", author)?,
                authority: authority.clone(),
                base: base.clone(),
                created_on: *on,
            }
        }
        AddScenarioLever { scenario, lever } => {
            let Some((owner, _)) = state.scenarios.get(scenario) else {
                return Err(DomainError::unknown("scenario", "scenario", scenario));
            };
            check_lever(state, lever)?;
            check_lever_owner(state, owner, lever)?;
            Event::ScenarioLeverAdded {
                scenario: scenario.clone(),
                lever: lever.clone(),
            }
        }
        RemoveScenarioLever { scenario, index } => {
            let Some((_, levers)) = state.scenarios.get(scenario) else {
                return Err(DomainError::unknown("scenario", "scenario", scenario));
            };
            if index >= levers {
                return Err(DomainError::invalid(
                    "index",
                    format!("the scenario has {levers} lever(s), counted from 0"),
                ));
            }
            Event::ScenarioLeverRemoved {
                scenario: scenario.clone(),
                index: *index,
            }
        }
        _ => unreachable!("decide routes each command to its own family"),
    };
    Ok(vec![event])
}

fn percent(field: &'static str, p: Decimal) -> Result<(), DomainError> {
    if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
        return Err(DomainError::invalid(field, "must be from 0 to 100"));
    }
    Ok(())
}

fn check_lever(state: &State, lever: &Lever) -> Result<(), DomainError> {
    match lever {
        Lever::OpenPlaces {
            district,
            low_age,
            high_age,
            places,
            ..
        } => {
            state.district("lever.district", district)?;
            if low_age > high_age || *high_age > 25 {
                return Err(DomainError::invalid(
                    "lever.high_age",
                    "ages must run from low to high, up to 25",
                ));
            }
            if places.is_empty() || places.iter().all(|p| p.places == 0) {
                return Err(DomainError::invalid(
                    "lever.places",
                    "needs at least one place",
                ));
            }
        }
        Lever::ChangePlaces { urn, change, .. } => {
            state
                .settings
                .get(urn)
                .ok_or_else(|| DomainError::unknown("lever.urn", "setting", urn))?;
            if *change == 0 {
                return Err(DomainError::invalid("lever.change", "must not be 0"));
            }
        }
        Lever::CloseSetting { urn, .. } => {
            state
                .settings
                .get(urn)
                .ok_or_else(|| DomainError::unknown("lever.urn", "setting", urn))?;
        }
        Lever::ShiftNewPlans { percent: p, .. } => percent("lever.percent", *p)?,
        Lever::IncidenceMultiplier {
            authority,
            multiplier,
        } => {
            if let Some(a) = authority {
                state.authority("lever.authority", a)?;
            }
            if *multiplier <= Decimal::ZERO || *multiplier > Decimal::TEN {
                return Err(DomainError::invalid(
                    "lever.multiplier",
                    "must be above 0 and at most 10",
                ));
            }
        }
        Lever::ReduceOutOfCountyAtTransfer {
            authority,
            percent: p,
        } => {
            if let Some(a) = authority {
                state.authority("lever.authority", a)?;
            }
            percent("lever.percent", *p)?;
        }
        Lever::ChangeCost { authority, .. } => state.authority("lever.authority", authority)?,
    }
    Ok(())
}

/// A scenario is its authority's plan: its levers change that authority's places, plans and
/// costs only, never another authority's forecast.
fn check_lever_owner(
    state: &State,
    owner: &AuthorityCode,
    lever: &Lever,
) -> Result<(), DomainError> {
    let (field, of) = match lever {
        Lever::OpenPlaces { district, .. } => (
            "lever.district",
            state.districts.get(district).map(|d| &d.authority),
        ),
        Lever::ChangePlaces { urn, .. } | Lever::CloseSetting { urn, .. } => {
            ("lever.urn", state.settings.get(urn).map(|s| &s.authority))
        }
        Lever::ShiftNewPlans { .. } => return Ok(()),
        Lever::IncidenceMultiplier { authority, .. }
        | Lever::ReduceOutOfCountyAtTransfer { authority, .. } => {
            ("lever.authority", authority.as_ref())
        }
        Lever::ChangeCost { authority, .. } => ("lever.authority", Some(authority)),
    };
    match of {
        Some(a) if a != owner => Err(DomainError::invalid(
            field,
            format!(
                "belongs to authority {a}: a scenario of authority {owner} changes only its own places, plans and costs"
            ),
        )),
        _ => Ok(()),
    }
}

fn activity_cell(i: usize, c: &ActivityInput) -> Result<ActivityCell, DomainError> {
    let age = c
        .age
        .map(|(from, to)| AgeBand::new(from, to))
        .transpose()
        .map_err(|e| DomainError::from_value(format!("cells[{i}].age"), e))?;
    let count = c
        .count
        .map(|n| count(|| format!("cells[{i}].count"), n))
        .transpose()?;
    Ok(ActivityCell {
        measure: c.measure,
        age,
        need: c.need,
        kind: c.kind,
        reason: c.reason,
        count,
    })
}

fn caseload_cell(i: usize, c: &CaseloadInput) -> Result<CaseloadCell, DomainError> {
    let age = c
        .age
        .map(|(from, to)| AgeBand::new(from, to))
        .transpose()
        .map_err(|e| DomainError::from_value(format!("cells[{i}].age"), e))?;
    let plans = c
        .plans
        .map(|p| count(|| format!("cells[{i}].plans"), p))
        .transpose()?;
    Ok(CaseloadCell {
        age,
        need: c.need,
        kind: c.kind,
        plans,
    })
}

fn active_plan<'a>(child: &ChildId, c: &'a Child, on: NaiveDate) -> Result<&'a Plan, DomainError> {
    match &c.plan {
        Some(p) if p.ceased_on.is_none() && p.issued_on <= on => Ok(p),
        _ => Err(DomainError::NoActivePlan {
            child: child.clone(),
            on,
        }),
    }
}

fn open_setting(state: &State, cmd: &OpenSetting) -> Result<Event, DomainError> {
    if state.settings.contains_key(&cmd.urn) {
        return Err(DomainError::exists("urn", "setting", cmd.urn));
    }
    state.authority("authority", &cmd.authority)?;
    let d = state.district("district", &cmd.district)?;
    if d.authority != cmd.authority {
        return Err(DomainError::DistrictOutsideAuthority {
            district: cmd.district.to_string(),
            authority: cmd.authority.to_string(),
            belongs_to: d.authority.to_string(),
        });
    }
    if let Some(pa) = &cmd.planning_area {
        let area = state
            .planning_areas
            .get(pa)
            .ok_or_else(|| DomainError::unknown("planning_area", "planning area", pa))?;
        if area.district != cmd.district {
            return Err(DomainError::invalid(
                "planning_area",
                format!("{pa} is in {}, not {}", area.district, cmd.district),
            ));
        }
    }
    let low = age("low_age", cmd.low_age)?;
    let high = age("high_age", cmd.high_age)?;
    if low > high {
        return Err(DomainError::invalid(
            "high_age",
            format!("{high} is below the low age {low}"),
        ));
    }
    if cmd.facility.is_some() && !cmd.kind.is_mainstream() {
        return Err(DomainError::invalid(
            "facility",
            "resourced provisions and SEN units are inside mainstream schools",
        ));
    }
    let mut seen = BTreeSet::new();
    for n in &cmd.designated_needs {
        if !seen.insert(*n) {
            return Err(DomainError::invalid(
                "designated_needs",
                format!("{n} is given twice"),
            ));
        }
    }
    Ok(Event::SettingOpened {
        urn: cmd.urn,
        name: name("name", &cmd.name)?,
        authority: cmd.authority.clone(),
        district: cmd.district.clone(),
        planning_area: cmd.planning_area.clone(),
        kind: cmd.kind,
        phase: cmd.phase,
        low_age: low,
        high_age: high,
        facility: cmd.facility,
        designated_needs: cmd.designated_needs.clone(),
        opened_on: cmd.on,
    })
}

fn age(field: &'static str, a: i64) -> Result<u8, DomainError> {
    if a < 0 {
        return Err(DomainError::Negative {
            field: field.into(),
            value: a,
        });
    }
    match u8::try_from(a) {
        Ok(a) if a <= 25 => Ok(a),
        _ => Err(DomainError::invalid(field, "must be 0-25")),
    }
}
