//! The seeded history against the real figures, and the domain's rules.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use placeledger_domain::{State, decide, evolve};
use placeledger_seed::{
    DEFAULT_SEED, Geography, Observed, Reference, ReferenceFiles, check, generate, render,
};

fn reference() -> (Reference, Geography) {
    let geography = Geography::pan_lancashire().unwrap();
    // The copies built into the binary, as `seed load` reads them by default.
    (
        Reference::load(&ReferenceFiles::BuiltIn, &geography).unwrap(),
        geography,
    )
}

#[test]
fn the_seeded_history_is_valid_and_within_every_tolerance() {
    let (reference, geography) = reference();
    let started = Instant::now();
    let commands = generate(&reference, &geography, DEFAULT_SEED).unwrap();
    eprintln!(
        "generated {} commands in {:?}",
        commands.len(),
        started.elapsed()
    );
    let mut state = State::default();
    let mut events = Vec::with_capacity(commands.len());
    for (i, c) in commands.iter().enumerate() {
        match decide(&state, c) {
            Ok(new) => {
                // A command's events are on the stream it names (the API checks
                // `expectedVersion` against it); and someone answers for every command.
                for e in &new {
                    assert_eq!(e.stream_id(), c.stream_id(), "command {i}: {c:?}");
                }
                assert_ne!(
                    c.responsible(&state),
                    placeledger_domain::Responsible::Unknown,
                    "command {i}: {c:?}"
                );
                for e in new {
                    state = evolve(state, &e);
                    events.push(e);
                }
            }
            Err(e) => panic!("command {i} refused: {e}\n{c:?}"),
        }
    }
    eprintln!(
        "{} events, decided in {:?}",
        events.len(),
        started.elapsed()
    );
    let comparisons = check(&reference, &Observed::fold(&events));
    let table = render(&comparisons);
    eprintln!("{table}");
    let failed: Vec<_> = comparisons.iter().filter(|c| !c.ok).collect();
    assert!(
        failed.is_empty(),
        "{} out of tolerance:\n{table}",
        failed.len()
    );

    // The check notices a history that no longer matches: Blackpool's January 2020 figure
    // moved by 3% is out of tolerance, and nothing else is.
    let mut moved = reference.clone();
    let entry = moved.plans.get_mut(&("890".to_owned(), 2020)).unwrap();
    entry.0 = (f64::from(entry.0) * 1.03).round() as u32;
    let comparisons = check(&moved, &Observed::fold(&events));
    let failed: Vec<_> = comparisons.iter().filter(|c| !c.ok).collect();
    assert_eq!(failed.len(), 1, "{}", render(&comparisons));
    assert_eq!(
        (
            failed[0].measure.as_str(),
            failed[0].authority.as_str(),
            failed[0].period.as_str()
        ),
        ("January plans", "890", "Jan 2020")
    );
}

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let (reference, geography) = reference();
    let a = generate(&reference, &geography, 7).unwrap();
    let b = generate(&reference, &geography, 7).unwrap();
    assert!(a == b, "the same seed gave two different histories");
    let c = generate(&reference, &geography, 8).unwrap();
    assert!(a != c, "another seed gave the same history");
}

#[test]
fn children_are_pseudonymous_and_settings_say_they_are_synthetic() {
    let (reference, geography) = reference();
    let commands = generate(&reference, &geography, DEFAULT_SEED).unwrap();
    let mut children = 0;
    let mut settings = 0;
    for c in &commands {
        match c {
            placeledger_domain::Command::RegisterChild { child, .. } => {
                assert!(child.as_str().starts_with("SYN-"), "{child}");
                children += 1;
            }
            placeledger_domain::Command::OpenSetting(s) => {
                assert!(s.name.ends_with("(synthetic)"), "{}", s.name);
                settings += 1;
            }
            _ => {}
        }
    }
    assert!(children > 25_000, "{children} children");
    assert!(settings > 700, "{settings} settings");
}

/// The estimated High Needs Block allocations in `high_needs.csv` are what their source says:
/// England's GBP 10.7bn times the authority's share of England's January 2024 plans, to the
/// nearest GBP 10k, worked out here from the reference files themselves.
#[test]
fn the_estimated_allocations_are_england_s_funding_times_each_share_of_its_plans() {
    use placeledger_domain::{Command, FundingStatus};
    use rust_decimal::Decimal;
    let (reference, _) = reference();
    let england = Decimal::from(reference.england[&2024]);
    let mut estimates = 0;
    for c in &reference.high_needs {
        let Command::RecordHighNeedsFunding {
            authority,
            financial_year: 2024,
            allocation: Some(allocation),
            status: FundingStatus::Estimate,
            source,
            ..
        } = c
        else {
            continue;
        };
        let plans = Decimal::from(reference.plans(authority.as_str(), 2024).unwrap());
        let expected =
            (Decimal::from(10_700_000_000_i64) * plans / england / Decimal::from(10_000)).round()
                * Decimal::from(10_000);
        assert_eq!(*allocation, expected, "{authority}");
        assert!(source.contains(&plans.to_string()), "{source}");
        estimates += 1;
    }
    assert_eq!(estimates, 3, "one estimate per authority");

    // And the March 2026 DSG balances: England's GBP 4.6bn of deficits shared the same way,
    // by January 2025's plans.
    let england = Decimal::from(reference.england[&2025]);
    let mut balances = 0;
    for c in &reference.high_needs {
        let Command::RecordHighNeedsFunding {
            authority,
            financial_year: 2025,
            dsg_balance: Some(balance),
            status: FundingStatus::Estimate,
            ..
        } = c
        else {
            continue;
        };
        let plans = Decimal::from(reference.plans(authority.as_str(), 2025).unwrap());
        let expected =
            (Decimal::from(-4_600_000_000_i64) * plans / england / Decimal::from(10_000)).round()
                * Decimal::from(10_000);
        assert_eq!(*balance, expected, "{authority}");
        balances += 1;
    }
    assert_eq!(balances, 3, "one estimated balance per authority");
}

/// The seed's costs are `unit_costs.csv`'s: Lancashire's 2025-26 cost of each kind is the
/// file's, and each row says whether it is published, derived or illustrative and where it
/// comes from.
#[test]
fn the_seed_s_costs_are_the_unit_cost_file_s() {
    use placeledger_domain::{Command, ProvisionKind};
    use rust_decimal::Decimal;
    let (reference, geography) = reference();
    assert!(!reference.unit_costs.is_empty());
    for u in &reference.unit_costs {
        assert!(
            ["published", "derived", "illustrative"].contains(&u.basis.as_str()),
            "{u:?}"
        );
        assert!(!u.source.trim().is_empty(), "{u:?}");
    }
    let commands = generate(&reference, &geography, DEFAULT_SEED).unwrap();
    let from = chrono::NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
    let lancashire: Vec<(ProvisionKind, Decimal)> = commands
        .iter()
        .filter_map(|c| match c {
            Command::SetPlacementCost {
                authority,
                kind,
                from: f,
                annual_cost,
            } if authority.as_str() == "888" && *f == from => Some((*kind, *annual_cost)),
            _ => None,
        })
        .collect();
    for u in &reference.unit_costs {
        let cost = lancashire.iter().find(|(k, _)| *k == u.kind).unwrap().1;
        assert_eq!(
            cost,
            Decimal::try_from(u.annual_cost).unwrap().round_dp(2),
            "{u:?}"
        );
    }
    // The published and derived rates are the ones a finance officer would check first.
    let of = |k: ProvisionKind| lancashire.iter().find(|(x, _)| *x == k).unwrap().1;
    assert_eq!(of(ProvisionKind::SpecialIndependent), Decimal::from(65_000));
    assert_eq!(of(ProvisionKind::SpecialMaintained), Decimal::from(28_000));
}
