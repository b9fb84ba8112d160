//! Capacity as at a date: places, occupancy and vacancies.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::NaiveDate;
use placeledger_capacity::Capacity;
use placeledger_domain::*;
use placeledger_projection::Projection;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn child(n: u32) -> ChildId {
    ChildId::parse(&format!("SYN-{n:05}")).unwrap()
}

#[test]
fn occupancy_and_vacancies_as_at_a_date() {
    let special = Urn::parse("119001").unwrap();
    let school = Urn::parse("119002").unwrap();
    let open = |urn, kind, name: &str| Event::SettingOpened {
        urn,
        name: name.into(),
        authority: AuthorityCode::parse("888").unwrap(),
        district: GssCode::parse("E07000117").unwrap(),
        planning_area: None,
        kind,
        phase: Phase::Primary,
        low_age: 4,
        high_age: 11,
        facility: None,
        designated_needs: vec![],
        opened_on: d("2010-09-01"),
    };
    let mut events = vec![
        open(special, SettingKind::SpecialMaintained, "Synthetic special"),
        open(school, SettingKind::MainstreamAcademy, "Synthetic primary"),
        Event::PlacesCommissioned {
            urn: special,
            year: AcademicYear::new(2024).unwrap(),
            places: vec![NeedPlaces {
                need: Some(PrimaryNeed::Asd),
                places: 10,
            }],
        },
        Event::NetCapacitySet {
            urn: school,
            from: d("2015-09-01"),
            capacity: vec![NcyCount {
                ncy: Ncy::RECEPTION,
                count: 30,
            }],
        },
        Event::CensusRollRecorded {
            urn: school,
            census: AcademicYear::new(2024).unwrap(),
            rolls: vec![NcyCount {
                ncy: Ncy::RECEPTION,
                count: 28,
            }],
        },
    ];
    for n in 0..3 {
        events.push(Event::PlacementStarted {
            child: child(n),
            started_on: d("2024-09-02"),
            placed_at: PlacedAt::Setting {
                urn: special,
                facility: None,
            },
        });
    }
    events.push(Event::PlacementEnded {
        child: child(0),
        ended_on: d("2025-01-31"),
        reason: PlacementEndReason::MovedSetting,
    });
    events.push(Event::PlanCeased {
        child: child(1),
        ceased_on: d("2025-03-31"),
        reason: CeaseReason::NeedsMet,
    });
    let mut c = Capacity::default();
    c.apply_all(&events);
    let s = c.setting(special).unwrap();
    assert_eq!(s.places_on(d("2025-01-15")), Some(10));
    assert_eq!(s.occupancy_on(d("2025-01-15")), 3);
    assert_eq!(s.vacancies_on(d("2025-01-15")), Some(7));
    assert_eq!(s.occupancy_on(d("2025-02-01")), 2);
    assert_eq!(s.occupancy_on(d("2025-04-01")), 1);
    assert_eq!(s.occupancy_on(d("2024-09-01")), 0);
    let m = c.setting(school).unwrap();
    assert_eq!(m.places_on(d("2025-01-15")), Some(30));
    assert_eq!(m.vacancies_on(d("2025-01-15")), Some(2));
}
