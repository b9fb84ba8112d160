//! The stored form: every event type round-trips, and every old version still loads.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use placeledger_codec::{VERSIONS, decode, encode};
use placeledger_domain::*;
use rust_decimal::Decimal;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// One event of every type.
#[allow(clippy::too_many_lines)] // one sample of every event type: a list, not logic
pub fn samples() -> Vec<Event> {
    let la = AuthorityCode::parse("888").unwrap();
    let gss = GssCode::parse("E07000117").unwrap();
    let pa = PlanningAreaCode::parse("BUR-P1").unwrap();
    let urn = Urn::parse("119001").unwrap();
    let child = ChildId::parse("LCC-000001").unwrap();
    let year = AcademicYear::new(2025).unwrap();
    vec![
        Event::AuthorityRegistered {
            authority: la.clone(),
            gss: GssCode::parse("E10000017").unwrap(),
            name: "Lancashire".into(),
        },
        Event::DistrictRegistered {
            district: gss.clone(),
            authority: la.clone(),
            name: "Burnley".into(),
        },
        Event::PlanningAreaRegistered {
            planning_area: pa.clone(),
            district: gss.clone(),
            phase: Phase::Primary,
            name: "Burnley primary".into(),
        },
        Event::SettingOpened {
            urn,
            name: "Synthetic Brook Primary".into(),
            authority: la.clone(),
            district: gss.clone(),
            planning_area: Some(pa.clone()),
            kind: SettingKind::MainstreamMaintained,
            phase: Phase::Primary,
            low_age: 4,
            high_age: 11,
            facility: Some(Facility::ResourcedProvision),
            designated_needs: vec![PrimaryNeed::Asd],
            opened_on: d("2000-09-01"),
        },
        Event::SettingClosed {
            urn,
            closed_on: d("2030-08-31"),
        },
        Event::SettingConvertedToAcademy {
            urn,
            new_urn: Urn::parse("149001").unwrap(),
            new_name: "Synthetic Brook Academy".into(),
            converted_on: d("2026-04-01"),
        },
        Event::NetCapacitySet {
            urn,
            from: d("2025-09-01"),
            capacity: vec![NcyCount {
                ncy: Ncy::RECEPTION,
                count: 30,
            }],
        },
        Event::PlacesCommissioned {
            urn,
            year,
            places: vec![
                NeedPlaces {
                    need: Some(PrimaryNeed::Asd),
                    places: 8,
                },
                NeedPlaces {
                    need: None,
                    places: 2,
                },
            ],
        },
        Event::PlacementCostSet {
            authority: la.clone(),
            kind: ProvisionKind::SpecialIndependent,
            from: d("2025-04-01"),
            annual_cost: Money::new(Decimal::new(6_500_000, 2)).unwrap(),
        },
        Event::ChildRegistered {
            child: child.clone(),
            authority: la.clone(),
            born: YearMonth::new(2015, 3).unwrap(),
            district: gss.clone(),
            registered_on: d("2019-01-10"),
        },
        Event::ChildMovedHome {
            child: child.clone(),
            moved_on: d("2020-01-01"),
            home: NewHome::OutsideArea {
                authority: "Cumberland".into(),
            },
        },
        Event::ChildMovedHome {
            child: child.clone(),
            moved_on: d("2020-01-01"),
            home: NewHome::District {
                district: gss.clone(),
            },
        },
        Event::AssessmentRequested {
            child: child.clone(),
            requested_on: d("2019-01-10"),
        },
        Event::AssessmentDecided {
            child: child.clone(),
            decided_on: d("2019-02-20"),
            decision: AssessmentDecision::Assess,
        },
        Event::PlanIssued {
            child: child.clone(),
            issued_on: d("2019-06-01"),
            primary_need: PrimaryNeed::Semh,
            secondary_needs: vec![PrimaryNeed::Slcn],
            transfer_in: Some(TransferIn {
                from_authority: "Cumberland".into(),
                originally_issued_on: d("2018-06-01"),
            }),
        },
        Event::AnnualReviewHeld {
            child: child.clone(),
            held_on: d("2020-06-01"),
            outcome: ReviewOutcome::Amend,
        },
        Event::PrimaryNeedChanged {
            child: child.clone(),
            changed_on: d("2020-06-01"),
            primary_need: PrimaryNeed::Asd,
        },
        Event::PlanCeased {
            child: child.clone(),
            ceased_on: d("2030-07-20"),
            reason: CeaseReason::NeedsMet,
        },
        Event::PlacementStarted {
            child: child.clone(),
            started_on: d("2019-09-01"),
            placed_at: PlacedAt::Setting {
                urn,
                facility: Some(Facility::ResourcedProvision),
            },
        },
        Event::PlacementStarted {
            child: child.clone(),
            started_on: d("2019-09-01"),
            placed_at: PlacedAt::Elsewhere {
                elsewhere: Elsewhere::ElectiveHomeEducation,
            },
        },
        Event::PlacementEnded {
            child: child.clone(),
            ended_on: d("2020-07-20"),
            reason: PlacementEndReason::PhaseTransfer,
        },
        Event::CensusRollRecorded {
            urn,
            census: year,
            rolls: vec![NcyCount {
                ncy: Ncy::parse("Y6").unwrap(),
                count: 29,
            }],
        },
        Event::PopulationRecorded {
            area: gss.clone(),
            year: 2030,
            age: AgeGroup::Single(4),
            persons: Decimal::new(1_095_123, 3),
            basis: PopulationBasis::Projection,
            release: "2022-based SNPP".into(),
        },
        Event::PopulationRecorded {
            area: gss.clone(),
            year: 2030,
            age: AgeGroup::AllAges,
            persons: Decimal::new(95_000, 0),
            basis: PopulationBasis::Estimate,
            release: "MYE 2030".into(),
        },
        Event::BirthsRecorded {
            area: gss.clone(),
            year: 2024,
            births: 1_012,
        },
        Event::HousingCompletionsRecorded {
            planning_area: pa,
            year: 2024,
            dwellings: 140,
            pupil_yield: vec![PhaseYield {
                phase: Phase::Primary,
                per_dwelling: Decimal::new(25, 2),
            }],
        },
        Event::CaseloadRecorded {
            authority: la.clone(),
            census: year,
            cells: vec![
                CaseloadCell {
                    age: Some(AgeBand::single(7).unwrap()),
                    need: Some(PrimaryNeed::Asd),
                    kind: None,
                    plans: Some(310),
                },
                CaseloadCell {
                    age: Some(AgeBand::new(0, 2).unwrap()),
                    need: None,
                    kind: Some(ProvisionKind::MainstreamFreeUnit),
                    plans: None,
                },
            ],
        },
        Event::NationalCaseloadRecorded {
            census: AcademicYear::new(2024).unwrap(),
            plans: 638_745,
        },
        Event::ActivityRecorded {
            authority: la,
            year: 2024,
            cells: vec![
                ActivityCell {
                    measure: ActivityMeasure::PlansCeased,
                    age: None,
                    need: None,
                    kind: None,
                    reason: Some(CeaseReason::MovedOutsideEngland),
                    count: Some(41),
                },
                ActivityCell {
                    measure: ActivityMeasure::NewPlans,
                    age: Some(AgeBand::new(20, 25).unwrap()),
                    need: None,
                    kind: None,
                    reason: None,
                    count: None,
                },
            ],
        },
        Event::DataSharingAgreed {
            authority: AuthorityCode::parse("888").unwrap(),
            partner: AuthorityCode::parse("890").unwrap(),
            shares: vec![SharedData::Capacity, SharedData::SparePlaces],
            from: NaiveDate::from_ymd_opt(2025, 4, 1).unwrap(),
            until: Some(NaiveDate::from_ymd_opt(2028, 3, 31).unwrap()),
        },
        Event::DataSharingEnded {
            authority: AuthorityCode::parse("888").unwrap(),
            partner: AuthorityCode::parse("890").unwrap(),
            ended_on: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
        },
        Event::ScenarioCreated {
            scenario: ScenarioId::parse("rp-first").unwrap(),
            name: "Resourced provision first".into(),
            author: "Place planning".into(),
            authority: AuthorityCode::parse("888").unwrap(),
            base: Some(ScenarioId::parse("baseline-2025").unwrap()),
            created_on: NaiveDate::from_ymd_opt(2025, 11, 1).unwrap(),
        },
        Event::ScenarioLeverAdded {
            scenario: ScenarioId::parse("rp-first").unwrap(),
            lever: Lever::ShiftNewPlans {
                need: PrimaryNeed::Asd,
                ages: AgeBand::new(4, 10).unwrap(),
                to: ProvisionKind::MainstreamAcademyRp,
                percent: Decimal::new(125, 1),
            },
        },
        Event::ScenarioLeverAdded {
            scenario: ScenarioId::parse("rp-first").unwrap(),
            lever: Lever::ChangeCost {
                authority: AuthorityCode::parse("888").unwrap(),
                kind: ProvisionKind::SpecialIndependent,
                from: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                annual_cost: Money::new(Decimal::new(6_850_000, 2)).unwrap(),
            },
        },
        Event::ScenarioLeverRemoved {
            scenario: ScenarioId::parse("rp-first").unwrap(),
            index: 1,
        },
        Event::HighNeedsFundingRecorded {
            authority: AuthorityCode::parse("888").unwrap(),
            financial_year: 2026,
            allocation: None,
            dsg_balance: Some(Decimal::new(-17_141_000_000, 2)),
            status: FundingStatus::Forecast,
            source: "Budget and Finance Scrutiny Committee, 21 January 2026".into(),
        },
    ]
}

#[test]
fn every_event_type_round_trips_at_its_current_version() {
    let samples = samples();
    let covered: BTreeSet<&str> = samples
        .iter()
        .map(|e| encode(e).unwrap().event_type)
        .collect();
    let known: BTreeSet<&str> = VERSIONS.iter().map(|&(t, _)| t).collect();
    assert_eq!(
        covered, known,
        "every event type has a sample and a version"
    );
    for event in samples {
        let encoded = encode(&event).unwrap();
        assert_eq!(encoded.payload["type"], encoded.event_type);
        let back = decode(encoded.event_type, encoded.schema_version, &encoded.payload).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn money_is_stored_as_an_exact_decimal_string() {
    let event = samples()
        .into_iter()
        .find(|e| matches!(e, Event::PlacementCostSet { .. }))
        .unwrap();
    let encoded = encode(&event).unwrap();
    assert_eq!(encoded.payload["annual_cost"], "65000.00");
}

fn fixture(version: u32, event_type: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(format!("v{version}"))
        .join(format!("{event_type}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_stored_v1_child_registration_loads_with_month_of_birth_only() {
    let event = decode("ChildRegistered", 1, &fixture(1, "ChildRegistered")).unwrap();
    let Event::ChildRegistered { born, child, .. } = event else {
        panic!("wrong type: {event:?}")
    };
    assert_eq!(born, YearMonth::new(2012, 10).unwrap());
    assert_eq!(child.as_str(), "LCC-000042");
}

#[test]
fn a_stored_v1_plan_loads_with_its_need_as_primary() {
    let event = decode("PlanIssued", 1, &fixture(1, "PlanIssued")).unwrap();
    assert_eq!(
        event,
        Event::PlanIssued {
            child: ChildId::parse("LCC-000042").unwrap(),
            issued_on: d("2016-07-11"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![],
            transfer_in: None,
        }
    );
}

#[test]
fn every_old_version_has_a_fixture() {
    for &(t, current) in VERSIONS {
        for v in 1..current {
            let value = fixture(v, t);
            decode(t, v, &value).unwrap_or_else(|e| panic!("{t} v{v}: {e}"));
        }
    }
}

#[test]
fn an_invalid_value_in_a_payload_is_a_clear_error() {
    let bad = serde_json::json!({"type":"SettingClosed","urn":"12","closed_on":"2030-08-31"});
    let err = decode("SettingClosed", 1, &bad).unwrap_err().to_string();
    assert!(err.contains("URN"), "{err}");
}

mod hostile {
    //! A stored payload that is not what its type says (a hand-edited row, a bug in another
    //! writer) is a clear error when decoded, never a panic.

    use placeledger_codec::{VERSIONS, decode, encode};
    use proptest::prelude::*;
    use serde_json::Value;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::String),
            Just(Value::String("'); DROP TABLE events; --".into())),
            Just(Value::String("2099-02-30".into())),
            Just(Value::String("-1".into())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any JSON under any known type and version (and some unknown ones).
        #[test]
        fn any_payload_decodes_or_is_refused(
            which in 0..VERSIONS.len() + 1,
            version in 0u32..4,
            payload in json(),
        ) {
            let event_type = VERSIONS.get(which).map_or("NoSuchEvent", |v| v.0);
            if let Err(e) = decode(event_type, version, &payload) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        /// A real payload with one field replaced by anything.
        #[test]
        fn a_real_payload_with_a_field_replaced_decodes_or_is_refused(
            which in any::<prop::sample::Index>(),
            field in any::<prop::sample::Index>(),
            value in json(),
        ) {
            let samples = super::samples();
            let event = which.get(&samples);
            let encoded = encode(event).unwrap();
            let mut payload = encoded.payload.clone();
            if let Some(object) = payload.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                let key = field.get(&keys).clone();
                object.insert(key, value);
            }
            if let Err(e) = decode(encoded.event_type, encoded.schema_version, &payload) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
