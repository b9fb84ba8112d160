//! Data-sharing agreements and forecast scenarios: recorded when they make sense, refused
//! with the field at fault when they do not.

use placeledger_domain::*;
use rust_decimal::Decimal;

use crate::harness::*;

fn agree(partner: AuthorityCode, shares: Vec<SharedData>) -> Command {
    Command::AgreeDataSharing {
        authority: la(),
        partner,
        shares,
        from: d("2025-04-01"),
        until: None,
    }
}

fn scenario() -> ScenarioId {
    ScenarioId::parse("more-special-places").unwrap()
}

fn create(base: Option<ScenarioId>) -> Command {
    Command::CreateScenario {
        scenario: scenario(),
        name: "More special places in Burnley".into(),
        author: "Place planning team".into(),
        authority: la(),
        base,
        on: d("2025-11-01"),
    }
}

/// The scenario `create(None)` records.
fn created() -> Event {
    Event::ScenarioCreated {
        scenario: scenario(),
        name: "More special places in Burnley".into(),
        author: "Place planning team".into(),
        authority: la(),
        base: None,
        created_on: d("2025-11-01"),
    }
}

fn with_scenario() -> Vec<Event> {
    let mut h = geography();
    h.push(created());
    h
}

fn open_70() -> Lever {
    Lever::OpenPlaces {
        district: burnley(),
        kind: ProvisionKind::SpecialMaintained,
        low_age: 4,
        high_age: 11,
        from: d("2026-09-01"),
        places: vec![NeedPlaces {
            need: Some(PrimaryNeed::Asd),
            places: 70,
        }],
    }
}

#[test]
fn an_agreement_is_recorded_on_the_sharing_authoritys_stream() {
    let when = given(geography()).when(agree(
        blackpool(),
        vec![SharedData::Capacity, SharedData::SparePlaces],
    ));
    when.then([Event::DataSharingAgreed {
        authority: la(),
        partner: blackpool(),
        shares: vec![SharedData::Capacity, SharedData::SparePlaces],
        from: d("2025-04-01"),
        until: None,
    }]);
    let e = Event::DataSharingAgreed {
        authority: la(),
        partner: blackpool(),
        shares: vec![SharedData::Capacity],
        from: d("2025-04-01"),
        until: None,
    };
    assert_eq!(e.stream_id(), "sharing-888");
}

#[test]
fn an_agreement_that_makes_no_sense_is_refused() {
    given(geography())
        .when(agree(la(), vec![SharedData::Capacity]))
        .then_err("partner", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(agree(blackpool(), vec![]))
        .then_err("shares", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(agree(
            blackpool(),
            vec![SharedData::Capacity, SharedData::Capacity],
        ))
        .then_err("shares[1]", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(agree(
            AuthorityCode::parse("999").unwrap(),
            vec![SharedData::Capacity],
        ))
        .then_err("partner", DomainError::is_not_found);
    given(geography())
        .when(Command::AgreeDataSharing {
            authority: la(),
            partner: blackpool(),
            shares: vec![SharedData::Caseload],
            from: d("2025-04-01"),
            until: Some(d("2025-03-31")),
        })
        .then_err("until", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn only_an_agreement_in_force_can_end() {
    let end = |on: &str| Command::EndDataSharing {
        authority: la(),
        partner: blackpool(),
        on: d(on),
    };
    given(geography())
        .when(end("2026-01-01"))
        .then_err("partner", DomainError::is_not_found);
    let mut h = geography();
    h.push(Event::DataSharingAgreed {
        authority: la(),
        partner: blackpool(),
        shares: vec![SharedData::Capacity],
        from: d("2025-04-01"),
        until: None,
    });
    given(h.clone())
        .when(end("2025-01-01"))
        .then_err("on", |e| matches!(e, DomainError::Invalid { .. }));
    given(h.clone())
        .when(end("2026-03-31"))
        .then([Event::DataSharingEnded {
            authority: la(),
            partner: blackpool(),
            ended_on: d("2026-03-31"),
        }]);
    h.push(Event::DataSharingEnded {
        authority: la(),
        partner: blackpool(),
        ended_on: d("2026-03-31"),
    });
    given(h)
        .when(end("2026-06-01"))
        .then_err("on", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn a_scenario_is_created_once_on_a_base_of_its_own_authority() {
    given(geography()).when(create(None)).then([created()]);
    given(with_scenario())
        .when(create(None))
        .then_err("scenario", |e| {
            matches!(e, DomainError::AlreadyExists { .. })
        });
    given(geography())
        .when(create(Some(ScenarioId::parse("nothing-here").unwrap())))
        .then_err("base", DomainError::is_not_found);
    // Another authority's scenario is not a base.
    let mut h = with_scenario();
    h.push(Event::ScenarioCreated {
        scenario: ScenarioId::parse("blackpool-plan").unwrap(),
        name: "Blackpool".into(),
        author: "Blackpool planning".into(),
        authority: blackpool(),
        base: None,
        created_on: d("2025-11-01"),
    });
    given(h)
        .when(Command::CreateScenario {
            scenario: ScenarioId::parse("on-blackpools").unwrap(),
            name: "Borrowed".into(),
            author: "Someone".into(),
            authority: la(),
            base: Some(ScenarioId::parse("blackpool-plan").unwrap()),
            on: d("2025-11-02"),
        })
        .then_err("base", |e| matches!(e, DomainError::Invalid { .. }));
    assert!(ScenarioId::parse("Has Spaces").is_err());
    assert!(ScenarioId::parse("9-starts-with-a-digit").is_err());
}

#[test]
fn levers_are_checked_and_can_be_taken_off_again() {
    given(with_scenario())
        .when(Command::AddScenarioLever {
            scenario: scenario(),
            lever: open_70(),
        })
        .then([Event::ScenarioLeverAdded {
            scenario: scenario(),
            lever: open_70(),
        }]);
    let refused = |lever: Lever, field: &str| {
        given(with_scenario())
            .when(Command::AddScenarioLever {
                scenario: scenario(),
                lever,
            })
            .then_err(field, |_| true);
    };
    refused(
        Lever::OpenPlaces {
            district: GssCode::parse("E07000999").unwrap(),
            kind: ProvisionKind::SpecialMaintained,
            low_age: 4,
            high_age: 11,
            from: d("2026-09-01"),
            places: vec![NeedPlaces {
                need: None,
                places: 10,
            }],
        },
        "lever.district",
    );
    refused(
        Lever::ShiftNewPlans {
            need: PrimaryNeed::Asd,
            ages: AgeBand::new(4, 10).unwrap(),
            to: ProvisionKind::MainstreamAcademyRp,
            percent: Decimal::from(150),
        },
        "lever.percent",
    );
    refused(
        Lever::IncidenceMultiplier {
            authority: None,
            multiplier: Decimal::ZERO,
        },
        "lever.multiplier",
    );
    refused(
        Lever::ChangePlaces {
            urn: Urn::parse("999999").unwrap(),
            from: d("2026-09-01"),
            change: 10,
        },
        "lever.urn",
    );
    given(geography())
        .when(Command::AddScenarioLever {
            scenario: scenario(),
            lever: open_70(),
        })
        .then_err("scenario", DomainError::is_not_found);
    // A scenario is its own authority's: Lancashire's cannot touch Blackpool's places,
    // plans or costs.
    refused(
        Lever::OpenPlaces {
            district: blackpool_district(),
            kind: ProvisionKind::SpecialMaintained,
            low_age: 4,
            high_age: 11,
            from: d("2026-09-01"),
            places: vec![NeedPlaces {
                need: None,
                places: 10,
            }],
        },
        "lever.district",
    );
    refused(
        Lever::IncidenceMultiplier {
            authority: Some(blackpool()),
            multiplier: Decimal::TWO,
        },
        "lever.authority",
    );
    refused(
        Lever::ReduceOutOfCountyAtTransfer {
            authority: Some(blackpool()),
            percent: Decimal::TEN,
        },
        "lever.authority",
    );

    let mut h = with_scenario();
    h.push(Event::ScenarioLeverAdded {
        scenario: scenario(),
        lever: open_70(),
    });
    given(h.clone())
        .when(Command::RemoveScenarioLever {
            scenario: scenario(),
            index: 1,
        })
        .then_err("index", |e| matches!(e, DomainError::Invalid { .. }));
    given(h)
        .when(Command::RemoveScenarioLever {
            scenario: scenario(),
            index: 0,
        })
        .then([Event::ScenarioLeverRemoved {
            scenario: scenario(),
            index: 0,
        }]);
}

/// The state the ledger saves as its snapshot comes back as it was: geography, a setting, a
/// child with a plan and a placement, a sharing agreement (keyed by a pair) and a scenario.
#[test]
fn a_state_round_trips_through_its_snapshot_form() {
    let mut history = with_placement();
    history.push(created());
    history.push(Event::DataSharingAgreed {
        authority: la(),
        partner: blackpool(),
        shares: vec![SharedData::Capacity],
        from: d("2025-04-01"),
        until: Some(d("2027-03-31")),
    });
    let state = State::from_events(&history);
    assert!(!state.children.is_empty() && !state.sharing.is_empty());
    assert!(!state.scenarios.is_empty() && !state.settings.is_empty());
    let json = serde_json::to_string(&state).unwrap();
    let back: State = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}
