//! The projections the forecast reads fold the same however the events are split into
//! batches and wherever the runner restarts (a save and load of the state at every cut).

use chrono::NaiveDate;
use placeledger_capacity::Capacity;
use placeledger_costs::Costs;
use placeledger_domain::*;
use placeledger_mainstream::Mainstream;
use placeledger_placements::Placements;
use placeledger_projection::{Projection, fold_with_restarts};
use placeledger_scenarios::Scenarios;
use placeledger_sharing::Sharing;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn day(n: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + chrono::Days::new(u64::from(n) * 7)
}

/// One event of settings, capacity, rolls, population, births, housing or costs, drawn from
/// small pools of URNs, areas and years so that events collide and override each other.
fn event(op: u8, a: u8, b: u16) -> Event {
    let urn = Urn::parse(&format!("1190{:02}", a % 6 + 10)).unwrap();
    let district =
        GssCode::parse(["E07000117", "E07000118", "E06000009"][usize::from(a % 3)]).unwrap();
    let authority = AuthorityCode::parse(["888", "888", "890"][usize::from(a % 3)]).unwrap();
    let year = 2015 + i32::from(b % 10);
    let ncy = |o: i8| Ncy::new(o).unwrap();
    let child = ChildId::parse(&format!("SYN-{:05}", a % 5)).unwrap();
    match op % 19 {
        0 => Event::SettingOpened {
            urn,
            name: format!("Synthetic school {a}"),
            authority,
            district,
            planning_area: None,
            kind: SettingKind::ALL[usize::from(a) % SettingKind::ALL.len()],
            phase: Phase::Primary,
            low_age: 4,
            high_age: 11,
            facility: a.is_multiple_of(4).then_some(Facility::ResourcedProvision),
            designated_needs: vec![],
            opened_on: day(b),
        },
        1 => Event::SettingClosed {
            urn,
            closed_on: day(b),
        },
        2 => Event::SettingConvertedToAcademy {
            urn,
            new_urn: Urn::parse(&format!("1390{:02}", b % 50 + 10)).unwrap(),
            new_name: "Synthetic academy".into(),
            converted_on: day(b),
        },
        3 => Event::NetCapacitySet {
            urn,
            from: day(b),
            capacity: vec![NcyCount {
                ncy: ncy(0),
                count: u32::from(b % 60),
            }],
        },
        4 => Event::PlacesCommissioned {
            urn,
            year: AcademicYear::new(year).unwrap(),
            places: vec![NeedPlaces {
                need: Some(PrimaryNeed::Asd),
                places: u32::from(b % 40),
            }],
        },
        5 => Event::CensusRollRecorded {
            urn,
            census: AcademicYear::new(year).unwrap(),
            rolls: vec![NcyCount {
                ncy: ncy(i8::try_from(b % 7).unwrap()),
                count: u32::from(b),
            }],
        },
        6 => Event::PopulationRecorded {
            area: district,
            year,
            age: AgeGroup::single(i64::from(a % 26)).unwrap(),
            persons: Decimal::from(b),
            basis: if b.is_multiple_of(2) {
                PopulationBasis::Estimate
            } else {
                PopulationBasis::Projection
            },
            release: "synthetic".into(),
        },
        7 => Event::BirthsRecorded {
            area: district,
            year,
            births: u32::from(b),
        },
        8 => Event::PlacementCostSet {
            authority,
            kind: ProvisionKind::ALL[usize::from(a) % ProvisionKind::ALL.len()],
            from: day(b),
            annual_cost: Money::new(Decimal::from(1_000 + u32::from(b))).unwrap(),
        },
        9 => Event::DistrictRegistered {
            district,
            authority,
            name: format!("District {a}"),
        },
        11 => Event::DataSharingAgreed {
            authority: authority.clone(),
            partner: AuthorityCode::parse(["889", "890", "888"][usize::from(b % 3)]).unwrap(),
            shares: SharedData::ALL[..usize::from(b % 5) + 1].to_vec(),
            from: day(b),
            until: b.is_multiple_of(4).then(|| day(b + 50)),
        },
        12 => Event::DataSharingEnded {
            authority: authority.clone(),
            partner: AuthorityCode::parse(["889", "890", "888"][usize::from(b % 3)]).unwrap(),
            ended_on: day(b),
        },
        13 => Event::ScenarioCreated {
            scenario: ScenarioId::parse(["plan-a", "plan-b", "plan-c"][usize::from(a % 3)])
                .unwrap(),
            name: "Synthetic plan".into(),
            author: "Tests".into(),
            authority,
            base: b
                .is_multiple_of(3)
                .then(|| ScenarioId::parse("plan-a").unwrap()),
            created_on: day(b),
        },
        14 => Event::ScenarioLeverAdded {
            scenario: ScenarioId::parse(["plan-a", "plan-b", "plan-c"][usize::from(a % 3)])
                .unwrap(),
            lever: Lever::ChangePlaces {
                urn,
                from: day(b),
                change: i32::from(b % 20) - 10,
            },
        },
        15 => Event::ScenarioLeverRemoved {
            scenario: ScenarioId::parse(["plan-a", "plan-b", "plan-c"][usize::from(a % 3)])
                .unwrap(),
            index: u32::from(b % 3),
        },
        16 => Event::PlacementStarted {
            child,
            started_on: day(b),
            placed_at: PlacedAt::Setting {
                urn,
                facility: None,
            },
        },
        17 => Event::PlacementEnded {
            child,
            ended_on: day(b),
            reason: PlacementEndReason::MovedSetting,
        },
        18 => Event::PlanCeased {
            child,
            ceased_on: day(b),
            reason: CeaseReason::NeedsMet,
        },
        _ => Event::PlanningAreaRegistered {
            planning_area: PlanningAreaCode::parse(&format!("PA{a}")).unwrap(),
            district,
            phase: Phase::Primary,
            name: "Synthetic area".into(),
        },
    }
}

fn same_in_any_batches<P: Projection>(
    events: &[Event],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    let mut at_once = P::default();
    at_once.apply_all(events);
    let batched: P = fold_with_restarts(events, cuts);
    prop_assert_eq!(batched, at_once, "{}", P::NAME);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn capacity_mainstream_costs_sharing_and_scenarios_fold_the_same_in_any_batches(
        steps in prop::collection::vec((0u8..255, 0u8..255, 0u16..500), 0..200),
        cuts in prop::collection::vec(0usize..250, 0..6),
    ) {
        let events: Vec<Event> = steps.iter().map(|(op, a, b)| event(*op, *a, *b)).collect();
        same_in_any_batches::<Capacity>(&events, &cuts)?;
        same_in_any_batches::<Mainstream>(&events, &cuts)?;
        same_in_any_batches::<Costs>(&events, &cuts)?;
        same_in_any_batches::<Sharing>(&events, &cuts)?;
        same_in_any_batches::<Scenarios>(&events, &cuts)?;
        same_in_any_batches::<Placements>(&events, &cuts)?;
    }
}
