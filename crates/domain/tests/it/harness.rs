//! `given(events).when(command).then(events)` or `.then_err(...)`.

use chrono::NaiveDate;
use placeledger_domain::*;

pub struct Given(State);
pub struct When {
    result: Result<Vec<Event>, DomainError>,
}

pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    let events: Vec<Event> = events.into_iter().collect();
    Given(State::from_events(&events))
}

impl Given {
    pub fn when(self, command: Command) -> When {
        When {
            result: decide(&self.0, &command),
        }
    }
}

impl When {
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = Event>) {
        let expected: Vec<Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => assert_eq!(events, expected),
            Err(e) => panic!("expected {expected:?}, but the command was refused: {e}"),
        }
    }

    /// The command is refused (so it produces no event) with an error about `field`.
    #[track_caller]
    pub fn then_err(self, field: &str, check: impl FnOnce(&DomainError) -> bool) {
        match self.result {
            Ok(events) => panic!("expected a refusal about {field}, but got events {events:?}"),
            Err(e) => {
                assert_eq!(e.field(), field, "wrong field in: {e}");
                assert!(check(&e), "unexpected error: {e:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub fn la() -> AuthorityCode {
    AuthorityCode::parse("888").unwrap()
}
pub fn blackpool() -> AuthorityCode {
    AuthorityCode::parse("890").unwrap()
}
pub fn burnley() -> GssCode {
    GssCode::parse("E07000117").unwrap()
}
pub fn blackpool_district() -> GssCode {
    GssCode::parse("E06000009").unwrap()
}
pub fn special() -> Urn {
    Urn::parse("119999").unwrap()
}
pub fn primary() -> Urn {
    Urn::parse("119001").unwrap()
}
pub fn child() -> ChildId {
    ChildId::parse("LCC-000001").unwrap()
}

/// Lancashire with Burnley, Blackpool, a special school and a primary with a resourced provision.
pub fn geography() -> Vec<Event> {
    vec![
        Event::AuthorityRegistered {
            authority: la(),
            gss: GssCode::parse("E10000017").unwrap(),
            name: "Lancashire".into(),
        },
        Event::DistrictRegistered {
            district: burnley(),
            authority: la(),
            name: "Burnley".into(),
        },
        Event::AuthorityRegistered {
            authority: blackpool(),
            gss: blackpool_district(),
            name: "Blackpool".into(),
        },
        Event::DistrictRegistered {
            district: blackpool_district(),
            authority: blackpool(),
            name: "Blackpool".into(),
        },
        Event::SettingOpened {
            urn: special(),
            name: "Synthetic Moorside Special School".into(),
            authority: la(),
            district: burnley(),
            planning_area: None,
            kind: SettingKind::SpecialMaintained,
            phase: Phase::AllThrough,
            low_age: 4,
            high_age: 19,
            facility: None,
            designated_needs: vec![PrimaryNeed::Semh],
            opened_on: d("2010-09-01"),
        },
        Event::SettingOpened {
            urn: primary(),
            name: "Synthetic Brook Primary".into(),
            authority: la(),
            district: burnley(),
            planning_area: None,
            kind: SettingKind::MainstreamMaintained,
            phase: Phase::Primary,
            low_age: 4,
            high_age: 11,
            facility: Some(Facility::ResourcedProvision),
            designated_needs: vec![PrimaryNeed::Asd],
            opened_on: d("2000-09-01"),
        },
    ]
}

/// The geography plus a child born March 2015 in Burnley, registered 2019.
pub fn with_child() -> Vec<Event> {
    let mut e = geography();
    e.push(Event::ChildRegistered {
        child: child(),
        authority: la(),
        born: YearMonth::new(2015, 3).unwrap(),
        district: burnley(),
        registered_on: d("2019-01-10"),
    });
    e
}

/// The child with an issued plan (requested, agreed, issued 2019-06-01).
pub fn with_plan() -> Vec<Event> {
    let mut e = with_child();
    e.extend([
        Event::AssessmentRequested {
            child: child(),
            requested_on: d("2019-01-10"),
        },
        Event::AssessmentDecided {
            child: child(),
            decided_on: d("2019-02-20"),
            decision: AssessmentDecision::Assess,
        },
        Event::PlanIssued {
            child: child(),
            issued_on: d("2019-06-01"),
            primary_need: PrimaryNeed::Semh,
            secondary_needs: vec![],
            transfer_in: None,
        },
    ]);
    e
}

pub fn at_special() -> PlacedAt {
    PlacedAt::Setting {
        urn: special(),
        facility: None,
    }
}

/// The child with a plan, placed at the special school from 2019-09-01.
pub fn with_placement() -> Vec<Event> {
    let mut e = with_plan();
    e.push(Event::PlacementStarted {
        child: child(),
        started_on: d("2019-09-01"),
        placed_at: at_special(),
    });
    e
}
