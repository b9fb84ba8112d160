//! The national synthetic history, authority by authority, against the domain.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use placeledger_seed::{Geography, Reference, ReferenceFiles};

/// Each authority's history is decided against England's geography alone (as `seed load
/// --national` does) and the domain accepts every command. The authorities are seven of the
/// nine where a 25-year-old drawn late in the year once made a plan start after the child's
/// 25th year (the domain refused it; the other two, Norfolk and Surrey, are large and slow to
/// generate in a debug build), Lancashire, and the smallest (City of London).
#[test]
fn the_domain_accepts_every_command_of_these_authorities_histories() {
    let england = Geography::england().unwrap();
    let files = ReferenceFiles::Dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seeds/reference"),
    );
    let reference = Reference::load_national(&files, &england).unwrap();
    let base = england.state().unwrap();
    for la in [
        "816", "892", "894", "203", "212", "343", "383", "888", "201",
    ] {
        let index = england
            .partners
            .iter()
            .position(|p| p.0.as_str() == la)
            .unwrap();
        let commands =
            placeledger_seed::generate_authority(&reference, &england, index, 2015).unwrap();
        let mut state = base.clone();
        let mut plans = 0;
        for (i, c) in commands.iter().enumerate() {
            let events = placeledger_domain::decide(&state, c)
                .unwrap_or_else(|e| panic!("{la}: command {i}: {e}: {c:?}"));
            for e in events {
                plans += usize::from(matches!(e, placeledger_domain::Event::PlanIssued { .. }));
                state = placeledger_domain::evolve(state, &e);
            }
        }
        // Its January 2025 plans are near the published figure (the generator's own
        // calibration; `seed check` holds the tolerances).
        let published = reference.plans(la, 2025).unwrap();
        assert!(
            plans as u32 >= published,
            "{la}: {plans} plans issued, {published} in force"
        );
    }
}
