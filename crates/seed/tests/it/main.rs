//! The seeded history against the real figures, and the domain's rules.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::time::Instant;

use placeledger_domain::{State, decide, evolve};
use placeledger_seed::{DEFAULT_SEED, Geography, Observed, Reference, check, generate, render};

fn reference() -> (Reference, Geography) {
    let geography = Geography::pan_lancashire().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seeds/reference");
    (Reference::load(&dir, &geography).unwrap(), geography)
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
