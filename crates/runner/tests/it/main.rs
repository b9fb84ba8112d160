//! The runner on both backends: it catches up, resumes from its checkpoint, survives a restart
//! at any point, and rebuilds when the state's shape changes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;

use placeledger_caseload::Caseload;
use placeledger_domain::*;
use placeledger_ledger::{Context, Ledger};
use placeledger_projection::Projection;
use placeledger_store::{Checkpoint, EventStore};
use placeledger_testkit::fixtures::{d, lancashire_and_burnley};

/// A child with a plan issued in `year`, born in 2012.
fn child(n: u32, year: i32) -> Vec<Command> {
    let c = ChildId::parse(&format!("CHILD-{n:04}")).unwrap();
    vec![
        Command::RegisterChild {
            child: c.clone(),
            authority: AuthorityCode::parse("888").unwrap(),
            born: YearMonth::new(2012, 1 + n % 12).unwrap(),
            district: GssCode::parse("E07000117").unwrap(),
            on: d(&format!("{year}-02-01")),
        },
        Command::RequestAssessment {
            child: c.clone(),
            on: d(&format!("{year}-02-01")),
        },
        Command::DecideAssessment {
            child: c.clone(),
            on: d(&format!("{year}-03-01")),
            decision: AssessmentDecision::Assess,
        },
        Command::IssuePlan {
            child: c,
            on: d(&format!("{year}-06-01")),
            primary_need: PrimaryNeed::ALL[n as usize % 12],
            secondary_needs: vec![],
            transfer_in: None,
        },
    ]
}

async fn record(store: &Arc<dyn EventStore>, commands: Vec<Command>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    ledger
        .execute(&commands, &Context::actor("test"))
        .await
        .unwrap();
}

/// The projection folded straight from every stored event.
async fn fresh(store: &Arc<dyn EventStore>) -> Caseload {
    let mut p = Caseload::default();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = batch.last() else { break };
        after = last.position;
        for e in &batch {
            p.apply(
                &placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload).unwrap(),
            );
        }
    }
    p
}

async fn catches_up_resumes_and_rebuilds(store: Arc<dyn EventStore>) {
    let mut commands = lancashire_and_burnley();
    for n in 0..40 {
        commands.extend(child(n, 2019 + (n % 4) as i32));
    }
    record(&store, commands).await;
    let head = store.head_position().await.unwrap();

    let run = placeledger_runner::catch_up::<Caseload>(&store, |_, _| {})
        .await
        .unwrap();
    assert_eq!((run.from, run.position, run.rebuilt), (0, head, false));
    assert_eq!(run.projection, fresh(&store).await);
    let saved = store.load_checkpoint("caseload").await.unwrap().unwrap();
    assert_eq!(saved.position, head, "state and position saved together");

    // New events: the next run starts from the checkpoint and ends where a fresh fold does.
    record(&store, (40..50).flat_map(|n| child(n, 2024)).collect()).await;
    let run = placeledger_runner::catch_up::<Caseload>(&store, |_, _| {})
        .await
        .unwrap();
    assert_eq!(run.from, head);
    assert_eq!(run.position, store.head_position().await.unwrap());
    assert_eq!(run.projection, fresh(&store).await);
    assert_eq!(run.projection.totals(2025).values().sum::<u32>(), 50);

    // A restart at any point: whatever position the last save was at, the result is the same.
    let events = store.read_all(0, 10_000).await.unwrap();
    for cut in [1, 7, events.len() / 2, events.len() - 1] {
        let mut partial = Caseload::default();
        for e in &events[..cut] {
            partial.apply(
                &placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload).unwrap(),
            );
        }
        store
            .save_checkpoint(&Checkpoint {
                name: "caseload".into(),
                version: Caseload::VERSION,
                position: events[cut - 1].position,
                state: serde_json::to_string(&partial).unwrap(),
            })
            .await
            .unwrap();
        let run = placeledger_runner::catch_up::<Caseload>(&store, |_, _| {})
            .await
            .unwrap();
        assert_eq!(run.from, events[cut - 1].position);
        assert_eq!(
            run.projection,
            fresh(&store).await,
            "restart after {cut} events"
        );
    }

    // A state saved in another shape is set aside and rebuilt from 0.
    store
        .save_checkpoint(&Checkpoint {
            name: "caseload".into(),
            version: Caseload::VERSION + 1,
            position: 3,
            state: "{}".into(),
        })
        .await
        .unwrap();
    let run = placeledger_runner::catch_up::<Caseload>(&store, |_, _| {})
        .await
        .unwrap();
    assert_eq!((run.from, run.rebuilt), (0, true));
    assert_eq!(run.projection, fresh(&store).await);

    let rebuilt = placeledger_runner::rebuild::<Caseload>(&store, |_, _| {})
        .await
        .unwrap();
    assert_eq!(rebuilt.projection, run.projection);
    assert_eq!(rebuilt.position, run.position);
}

placeledger_testkit::on_both_backends!(
    given placeledger_testkit::store_of;
    catches_up_resumes_and_rebuilds,
);
