//! Placements: where children are placed now, by location class, with imports and exports;
//! and the fold is the same in any batches with restarts.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::NaiveDate;
use placeledger_domain::*;
use placeledger_placements::{GroupBy, LocationClass, Placements};
use placeledger_projection::{Projection, fold_with_restarts};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
fn la(s: &str) -> AuthorityCode {
    AuthorityCode::parse(s).unwrap()
}
fn gss(s: &str) -> GssCode {
    GssCode::parse(s).unwrap()
}
fn urn(s: &str) -> Urn {
    Urn::parse(s).unwrap()
}
fn child(n: u32) -> ChildId {
    ChildId::parse(&format!("SYN-{n:05}")).unwrap()
}

/// 888 (Burnley), 890 (Blackpool) with an agreement, and 941 (North Yorkshire) without;
/// a special school in each.
fn geography() -> Vec<Event> {
    let mut e = Vec::new();
    for (a, district) in [
        ("888", "E07000117"),
        ("890", "E06000009"),
        ("941", "E06000065"),
    ] {
        e.push(Event::DistrictRegistered {
            district: gss(district),
            authority: la(a),
            name: format!("District of {a}"),
        });
        e.push(Event::SettingOpened {
            urn: urn(&format!("{a}001")),
            name: format!("Synthetic special school of {a}"),
            authority: la(a),
            district: gss(district),
            planning_area: None,
            kind: if a == "941" {
                SettingKind::SpecialIndependent
            } else {
                SettingKind::SpecialMaintained
            },
            phase: Phase::AllThrough,
            low_age: 4,
            high_age: 19,
            facility: None,
            designated_needs: vec![],
            opened_on: d("2010-09-01"),
        });
    }
    e.push(Event::DataSharingAgreed {
        authority: la("890"),
        partner: la("888"),
        shares: vec![SharedData::SparePlaces],
        from: d("2024-04-01"),
        until: None,
    });
    e
}

fn placed(n: u32, home: (&str, &str), at: &str) -> Vec<Event> {
    vec![
        Event::ChildRegistered {
            child: child(n),
            authority: la(home.0),
            born: YearMonth::new(2014, 3).unwrap(),
            district: gss(home.1),
            registered_on: d("2020-01-10"),
        },
        Event::PlanIssued {
            child: child(n),
            issued_on: d("2020-06-01"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![],
            transfer_in: None,
        },
        Event::PlacementStarted {
            child: child(n),
            started_on: d("2020-09-01"),
            placed_at: PlacedAt::Setting {
                urn: urn(at),
                facility: None,
            },
        },
    ]
}

#[test]
fn placements_are_classed_from_the_resident_authority_with_imports_and_exports() {
    let mut events = geography();
    events.extend(placed(1, ("888", "E07000117"), "888001"));
    events.extend(placed(2, ("888", "E07000117"), "890001"));
    events.extend(placed(3, ("888", "E07000117"), "941001"));
    events.extend(placed(4, ("890", "E06000009"), "890001"));
    // A ceased plan is no longer placed.
    events.extend(placed(5, ("888", "E07000117"), "888001"));
    events.push(Event::PlanCeased {
        child: child(5),
        ceased_on: d("2024-07-20"),
        reason: CeaseReason::NeedsMet,
    });
    let mut p = Placements::default();
    p.apply_all(&events);
    let by_location = p.summary(
        GroupBy {
            authority: true,
            location: true,
            ..GroupBy::default()
        },
        AcademicYear::new(2025).unwrap(),
    );
    let count = |a: &str, l: LocationClass| {
        by_location
            .iter()
            .find(|(g, _)| g.authority == Some(la(a)) && g.location == Some(l))
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count("888", LocationClass::InAuthority), 1);
    assert_eq!(count("888", LocationClass::Partner), 1);
    assert_eq!(count("888", LocationClass::Outside), 1);
    assert_eq!(count("890", LocationClass::InAuthority), 1);
    let flows = p.imports_and_exports();
    assert_eq!(flows[&la("888")], (0, 2));
    assert_eq!(flows[&la("890")], (1, 0));
    assert_eq!(flows[&la("941")], (1, 0));
    // Born March 2014: Y7 in 2025/26; the independent school counts as special_independent.
    let by_kind = p.summary(
        GroupBy {
            kind: true,
            ncy: true,
            ..GroupBy::default()
        },
        AcademicYear::new(2025).unwrap(),
    );
    assert_eq!(
        by_kind
            .iter()
            .find(|(g, _)| g.kind == Some(ProvisionKind::SpecialIndependent))
            .map(|(g, n)| (g.ncy.map(|n| n.to_string()), *n)),
        Some((Some("Y7".to_owned()), 1))
    );

    // A maintained special school converts: a child placed at the academy counts as
    // special_academy_free, still in authority.
    let mut later = events.clone();
    later.push(Event::SettingConvertedToAcademy {
        urn: urn("888001"),
        new_urn: urn("888002"),
        new_name: "Synthetic special academy".into(),
        converted_on: d("2025-09-01"),
    });
    later.extend(placed(6, ("888", "E07000117"), "888002"));
    let mut p = Placements::default();
    p.apply_all(&later);
    let six = p
        .current()
        .find(|x| x.child.as_str() == "SYN-00006")
        .unwrap();
    assert_eq!(
        (six.kind, six.location),
        (
            ProvisionKind::SpecialAcademyFree,
            LocationClass::InAuthority
        )
    );
}

fn step(op: u8, n: u8, day: u16) -> Event {
    let on = d("2019-01-01") + chrono::Days::new(u64::from(day));
    let c = child(u32::from(n % 8));
    let urns = ["888001", "890001", "941001"];
    match op % 7 {
        0 => Event::ChildRegistered {
            child: c,
            authority: la(["888", "890"][usize::from(n % 2)]),
            born: YearMonth::new(2010 + i32::from(n % 8), 1 + u32::from(op % 12)).unwrap(),
            district: gss(["E07000117", "E06000009"][usize::from(n % 2)]),
            registered_on: on,
        },
        1 => Event::PlanIssued {
            child: c,
            issued_on: on,
            primary_need: PrimaryNeed::ALL[usize::from(op) % PrimaryNeed::ALL.len()],
            secondary_needs: vec![],
            transfer_in: None,
        },
        2 => Event::PlacementStarted {
            child: c,
            started_on: on,
            placed_at: PlacedAt::Setting {
                urn: urn(urns[usize::from(op) % 3]),
                facility: None,
            },
        },
        3 => Event::PlacementEnded {
            child: c,
            ended_on: on,
            reason: PlacementEndReason::MovedSetting,
        },
        4 => Event::ChildMovedHome {
            child: c,
            moved_on: on,
            home: NewHome::District {
                district: gss(["E07000117", "E06000009", "E06000065"][usize::from(op % 3)]),
            },
        },
        5 => Event::PrimaryNeedChanged {
            child: c,
            changed_on: on,
            primary_need: PrimaryNeed::ALL[usize::from(n) % PrimaryNeed::ALL.len()],
        },
        _ => Event::PlanCeased {
            child: c,
            ceased_on: on,
            reason: CeaseReason::NeedsMet,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn folding_in_batches_with_restarts_equals_folding_at_once(
        steps in prop::collection::vec((0u8..200, 0u8..200, 0u16..2000), 0..150),
        cuts in prop::collection::vec(0usize..200, 0..6),
    ) {
        let mut events = geography();
        events.extend(steps.iter().map(|(op, n, day)| step(*op, *n, *day)));
        let mut at_once = Placements::default();
        at_once.apply_all(&events);
        let batched: Placements = fold_with_restarts(&events, &cuts);
        prop_assert_eq!(&batched, &at_once);
        let year = AcademicYear::new(2024).unwrap();
        let all = GroupBy { authority: true, district: true, kind: true, need: true, ncy: true, location: true };
        prop_assert_eq!(batched.summary(all, year), at_once.summary(all, year));
    }
}
