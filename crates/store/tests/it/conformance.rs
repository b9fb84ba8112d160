//! Test bodies, each taking a fresh, empty store. `main.rs` runs each on both backends.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use placeledger_store::{
    AppendResult, Checkpoint, EventStore, ExpectedVersion, MAX_PAYLOAD_BYTES, Metadata, NewEvent,
    Pages, StoreError, StoredEvent, StreamAppend, StreamId, subscribe,
};
use serde_json::json;
use uuid::Uuid;

type Store = Arc<dyn EventStore>;

fn stream(s: &str) -> StreamId {
    StreamId::parse(s).unwrap()
}

fn event(n: usize) -> NewEvent {
    NewEvent::new("Tested", 1, json!({ "type": "Tested", "n": n }))
}

fn events(range: std::ops::Range<usize>) -> Vec<NewEvent> {
    range.map(event).collect()
}

/// Eight copies of one append sent at once: what each caller was answered.
async fn concurrent_copies(
    store: &Store,
    s: &StreamId,
    expected: ExpectedVersion,
    batch: Vec<NewEvent>,
) -> Vec<AppendResult> {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, s, batch) = (store.clone(), s.clone(), batch.clone());
            tokio::spawn(async move { store.append(&s, expected, batch).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap());
    }
    results
}

/// Everything after `after`, waiting (boundedly) for events behind transactions in flight.
async fn read_everything(store: &Store, after: u64) -> Vec<StoredEvent> {
    let head = store.head_position().await.unwrap();
    let mut out: Vec<StoredEvent> = Vec::new();
    let mut position = after;
    for _ in 0..5_000 {
        let batch = store.read_all(position, 1_000).await.unwrap();
        if let Some(last) = batch.last() {
            position = last.position;
        }
        out.extend(batch);
        if position >= head {
            return out;
        }
        if out.last().map(|e| e.position) != Some(position) || position < head {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    panic!("read_all never reached the head {head} (stuck at {position})");
}

/// The result is `InvalidInput` about exactly `field`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, field: &str) {
    match result {
        Err(StoreError::InvalidInput { field: f, .. }) if f == field => {}
        other => panic!("expected invalid input about {field}, got {other:?}"),
    }
}

fn assert_strictly_increasing(events: &[StoredEvent]) {
    for w in events.windows(2) {
        assert!(
            w[0].position < w[1].position,
            "positions out of order: {} then {}",
            w[0].position,
            w[1].position
        );
    }
}

pub async fn append_and_read_back_with_metadata(store: Store) {
    let s = stream("plan-LCC-000001");
    let correlation = Uuid::new_v4();
    let causation = Uuid::new_v4();
    let first = event(1).with_metadata(Metadata {
        correlation_id: Some(correlation),
        causation_id: Some(causation),
        actor: Some("planner@888".into()),
    });
    let first_id = first.event_id;
    let result = store
        .append(&s, ExpectedVersion::NoStream, vec![first, event(2)])
        .await
        .unwrap();
    assert_eq!((result.first_version, result.last_version), (1, 2));
    assert!(!result.duplicate);
    assert_eq!(store.stream_version(&s).await.unwrap(), 2);
    assert_eq!(store.head_position().await.unwrap(), result.last_position);

    let read = store.read_stream(&s, 0, 10).await.unwrap();
    assert_eq!(read.len(), 2);
    let e = &read[0];
    assert_eq!(e.stream_id, "plan-LCC-000001");
    assert_eq!(e.stream_version, 1);
    assert_eq!(e.event_id, first_id);
    assert_eq!(e.event_type, "Tested");
    assert_eq!(e.schema_version, 1);
    assert_eq!(e.payload, json!({"type": "Tested", "n": 1}));
    assert_eq!(e.metadata.correlation_id, Some(correlation));
    assert_eq!(e.metadata.causation_id, Some(causation));
    assert_eq!(e.metadata.actor.as_deref(), Some("planner@888"));
    assert!((chrono::Utc::now() - e.recorded_at).num_seconds().abs() < 3600);
    assert_eq!(read[1].metadata, Metadata::default());
    assert_eq!(read[1].position, result.last_position);

    let tail = store.read_stream(&s, 1, 10).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        vec![2]
    );
    assert!(
        store
            .read_stream(&stream("nothing-here"), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.stream_version(&stream("nothing-here")).await.unwrap(),
        0
    );
}

pub async fn expected_version_is_enforced(store: Store) {
    let s = stream("setting-119001");
    store
        .append(&s, ExpectedVersion::NoStream, events(0..2))
        .await
        .unwrap();

    for (stream, expected, actual) in [
        (&s, ExpectedVersion::NoStream, 2),
        (&s, ExpectedVersion::Exact(1), 2),
        (&stream("new"), ExpectedVersion::Exact(3), 0),
    ] {
        let err = store
            .append(stream, expected, events(2..3))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { actual: a, .. } if a == actual),
            "{expected:?} on {stream}: {err:?}"
        );
    }

    assert_eq!(
        store.stream_version(&s).await.unwrap(),
        2,
        "a conflict writes nothing"
    );
    let ok = store
        .append(&s, ExpectedVersion::Exact(2), events(2..3))
        .await
        .unwrap();
    assert_eq!(ok.last_version, 3);
    let ok = store
        .append(&s, ExpectedVersion::Any, events(3..4))
        .await
        .unwrap();
    assert_eq!(ok.last_version, 4);
    let ok = store
        .append(&stream("other"), ExpectedVersion::Any, events(0..1))
        .await
        .unwrap();
    assert_eq!(ok.first_version, 1);
}

pub async fn twenty_concurrent_appends_one_winner(store: Store) {
    let s = stream("child-LCC-000020");
    store
        .append(&s, ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|w| {
            let store = store.clone();
            let s = s.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let batch: Vec<NewEvent> = (0..3).map(|i| event(w * 10 + i)).collect();
                let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                barrier.wait().await;
                (
                    ids,
                    store.append(&s, ExpectedVersion::Exact(1), batch).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (ids, result) = t.await.unwrap();
        match result {
            Ok(r) => winners.push((ids, r)),
            Err(StoreError::Conflict { actual, .. }) => {
                assert!(actual >= 1, "a conflict reports the actual version");
                conflicts += 1;
            }
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one append wins");
    assert_eq!(conflicts, 19, "every other append gets a conflict");
    let (winner_ids, result) = &winners[0];
    assert_eq!((result.first_version, result.last_version), (2, 4));

    let stored = store.read_stream(&s, 0, 100).await.unwrap();
    assert_eq!(stored.len(), 4, "nothing lost, nothing doubled");
    let stored_ids: Vec<Uuid> = stored[1..].iter().map(|e| e.event_id).collect();
    assert_eq!(
        &stored_ids, winner_ids,
        "the stream holds exactly the winner's events"
    );
    let all = read_everything(&store, 0).await;
    assert_eq!(all.len(), 4, "the log holds nothing of the losers");
    assert_strictly_increasing(&all);
}

pub async fn idempotent_retry_returns_the_original_result(store: Store) {
    let s = stream("child-LCC-000030");
    let batch = events(0..3);
    let original = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    store
        .append(&s, ExpectedVersion::Exact(3), events(3..5))
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();

    // The same append again, with an expected version that is stale by now.
    let retry = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (retry.first_version, retry.last_version, retry.last_position),
        (
            original.first_version,
            original.last_version,
            original.last_position
        )
    );
    let retry = store.append(&s, ExpectedVersion::Any, batch).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        store.head_position().await.unwrap(),
        head,
        "a retry writes nothing"
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 5);
    assert_eq!(read_everything(&store, 0).await.len(), 5);

    // Concurrent retries of one append: it is stored once, and every caller gets its result.
    let s2 = stream("child-LCC-000031");
    let results = concurrent_copies(&store, &s2, ExpectedVersion::NoStream, events(10..12)).await;
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| r.last_version == 2 && r.last_position == results[0].last_position)
    );
    assert_eq!(store.read_stream(&s2, 0, 10).await.unwrap().len(), 2);
}

/// One event to one stream (PostgreSQL appends it by a function of its own): a retry is
/// answered as a batch's is, a stored id in another stream is refused, and concurrent copies
/// are stored once.
pub async fn a_single_event_retry_is_answered_as_a_batchs(store: Store) {
    let s = stream("child-LCC-000035");
    let one = event(0);
    let original = store
        .append(&s, ExpectedVersion::NoStream, vec![one.clone()])
        .await
        .unwrap();
    assert!(!original.duplicate);
    assert_eq!((original.first_version, original.last_version), (1, 1));
    store
        .append(&s, ExpectedVersion::Exact(1), vec![event(1)])
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    // Again, with an expected version that is stale by now: its original result.
    let retry = store
        .append(&s, ExpectedVersion::NoStream, vec![one.clone()])
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (retry.first_version, retry.last_version, retry.last_position),
        (1, 1, original.last_position)
    );
    // The same id to another stream is not a retry.
    let err = store
        .append(&stream("elsewhere-1"), ExpectedVersion::Any, vec![one])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(
        store.head_position().await.unwrap(),
        head,
        "nothing written"
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 2);

    // Concurrent copies of one event: stored once, every caller gets its result.
    let s2 = stream("child-LCC-000036");
    let results = concurrent_copies(&store, &s2, ExpectedVersion::Any, vec![event(20)]).await;
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| r.last_version == 1 && r.last_position == results[0].last_position)
    );
    assert_eq!(store.read_stream(&s2, 0, 10).await.unwrap().len(), 1);
}

pub async fn partial_retry_is_refused_and_writes_nothing(store: Store) {
    let s = stream("child-LCC-000040");
    let batch = events(0..2);
    store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    let mixed = vec![batch[0].clone(), event(9)];
    let err = store
        .append(&s, ExpectedVersion::Any, mixed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyMismatch { .. }),
        "{err:?}"
    );
    // The same ids sent to another stream are not a retry either.
    let err = store
        .append(&stream("elsewhere"), ExpectedVersion::Any, batch)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), head);
}

pub async fn ten_thousand_events_in_one_append(store: Store) {
    let s = stream("caseload-888");
    let batch = events(0..10_000);
    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    let result = store
        .append(&s, ExpectedVersion::NoStream, batch)
        .await
        .unwrap();
    assert_eq!((result.first_version, result.last_version), (1, 10_000));
    let all = read_everything(&store, 0).await;
    assert_eq!(all.len(), 10_000);
    assert_strictly_increasing(&all);
    assert_eq!(all.iter().map(|e| e.event_id).collect::<Vec<_>>(), ids);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.stream_version == i as u64 + 1 && e.payload["n"] == json!(i))
    );
    assert_eq!(all.last().unwrap().position, result.last_position);
    let retry = store
        .append(
            &s,
            ExpectedVersion::NoStream,
            all.iter()
                .map(|e| NewEvent::new("Tested", 1, e.payload.clone()).with_id(e.event_id))
                .collect(),
        )
        .await
        .unwrap();
    assert!(retry.duplicate, "a 10,000-event retry is recognised too");
}

pub async fn read_all_across_many_streams(store: Store) {
    let writers: Vec<_> = (0..5)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for round in 0..20 {
                    for k in 0..10 {
                        let s = stream(&format!("setting-{w}-{k}"));
                        store
                            .append(&s, ExpectedVersion::Any, events(round..round + 1))
                            .await
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let all = read_everything(&store, 0).await;
    assert_eq!(all.len(), 5 * 10 * 20);
    assert_strictly_increasing(&all);
    let ids: HashSet<Uuid> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), all.len(), "no event twice");
    let mut versions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &all {
        versions
            .entry(&e.stream_id)
            .or_default()
            .push(e.stream_version);
    }
    assert_eq!(versions.len(), 50);
    for (s, v) in versions {
        assert_eq!(
            v,
            (1..=20).collect::<Vec<_>>(),
            "stream {s} in version order"
        );
    }
    // Paging gives the same as one read.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // A raw page is the same page, its last position known before it is parsed.
    let raw = store.read_page(all[6].position, 7).await.unwrap();
    assert_eq!(raw.last_position(), Some(all[13].position));
    assert_eq!(raw.into_events().unwrap(), all[7..14]);
    let past = store
        .read_page(all.last().unwrap().position, 7)
        .await
        .unwrap();
    assert_eq!(past.last_position(), None);
    assert!(past.into_events().unwrap().is_empty());
}

pub async fn concurrent_writers_never_make_a_subscriber_skip(store: Store) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 150;
    let mut sub = subscribe(store.clone(), 0);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..APPENDS {
                    let e = event(w * 1_000 + i);
                    ids.push(e.event_id);
                    // Alternate single events and pairs, to vary transaction sizes, and now and
                    // then an append large enough for PostgreSQL to write it by COPY.
                    let mut batch = vec![e];
                    if i % 3 == 0 {
                        let extra = event(w * 1_000 + 500 + i);
                        ids.push(extra.event_id);
                        batch.push(extra);
                    }
                    if i % 50 == 25 {
                        let large = events(
                            100_000 * (w + 1) + 1_000 * i..100_000 * (w + 1) + 1_000 * i + 300,
                        );
                        ids.extend(large.iter().map(|e| e.event_id));
                        batch.extend(large);
                    }
                    store
                        .append(&stream(&format!("w{w}")), ExpectedVersion::Any, batch)
                        .await
                        .unwrap();
                }
                ids
            })
        })
        .collect();
    let mut expected = HashSet::new();
    for w in writers {
        expected.extend(w.await.unwrap());
    }
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let next = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("the subscriber keeps receiving")
            .expect("the subscription stays open")
            .expect("no store error");
        seen.push(next);
    }
    assert_strictly_increasing(&seen);
    let seen_ids: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(seen_ids.len(), seen.len(), "no duplicate");
    assert_eq!(seen_ids, expected, "nothing skipped");
    // And what the subscriber saw is exactly what the log holds.
    assert_eq!(seen, read_everything(&store, 0).await);
}

/// The read-ahead reader, catching up again and again while eight writers append: every
/// event once, in position order, exactly what the log holds, though each page was asked
/// for while the one before it was still being worked on.
pub async fn pages_read_ahead_and_never_skip_under_concurrent_writers(store: Store) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 60;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..APPENDS {
                    let batch = events(w * 1_000 + i..w * 1_000 + i + 1 + i % 3);
                    store
                        .append(&stream(&format!("w{w}")), ExpectedVersion::Any, batch)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let expected: usize = (0..APPENDS).map(|i| 1 + i % 3).sum::<usize>() * WRITERS;
    let mut seen: Vec<StoredEvent> = Vec::new();
    let mut done = false;
    for _ in 0..5_000 {
        let after = seen.last().map_or(0, |e| e.position);
        let mut pages = Pages::new(&store, after, 7);
        while let Some(page) = pages.next().await.unwrap() {
            // Work on the page while the next one is read.
            tokio::task::yield_now().await;
            seen.extend(page);
        }
        if done && seen.len() >= expected {
            break;
        }
        done = writers.iter().all(|w| w.is_finished());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(seen.len(), expected, "every event read, none twice");
    assert_strictly_increasing(&seen);
    assert_eq!(seen, read_everything(&store, 0).await);
    // Past the head there is nothing, and asking again is still nothing.
    let mut pages = Pages::new(&store, seen.last().unwrap().position, 7);
    assert!(pages.next().await.unwrap().is_none());
    assert!(pages.next().await.unwrap().is_none());
}

pub async fn subscription_catches_up_goes_live_and_resumes(store: Store) {
    let s = stream("placements-888");
    store
        .append(&s, ExpectedVersion::Any, events(0..100))
        .await
        .unwrap();
    let mut sub = subscribe(store.clone(), 0);
    let mut received = Vec::new();
    for _ in 0..100 {
        received.push(sub.next().await.unwrap().unwrap());
    }
    // Live: appends after the catch-up arrive as they commit.
    let writer = {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move {
            for i in 100..150 {
                store
                    .append(&s, ExpectedVersion::Any, events(i..i + 1))
                    .await
                    .unwrap();
            }
        })
    };
    for _ in 0..30 {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("live events arrive")
            .unwrap()
            .unwrap();
        received.push(e);
    }
    // Disconnect mid-way, keep appending, resume from the last position seen.
    drop(sub);
    writer.await.unwrap();
    store
        .append(&s, ExpectedVersion::Any, events(150..160))
        .await
        .unwrap();
    let last_seen = received.last().unwrap().position;
    let mut resumed = subscribe(store.clone(), last_seen);
    for _ in 0..30 {
        received.push(resumed.next().await.unwrap().unwrap());
    }
    let ns: Vec<u64> = received
        .iter()
        .map(|e| e.payload["n"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ns,
        (0..160).collect::<Vec<u64>>(),
        "every event once, in order"
    );
    assert_strictly_increasing(&received);
    // Nothing more is pending.
    let more = tokio::time::timeout(Duration::from_millis(200), resumed.next()).await;
    assert!(more.is_err(), "no event beyond the log: {more:?}");
}

pub async fn bad_input_is_refused_and_writes_nothing(store: Store) {
    let s = stream("bad-input");
    store
        .append(&s, ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    let append = |batch: Vec<NewEvent>| {
        let (store, s) = (store.clone(), s.clone());
        async move { store.append(&s, ExpectedVersion::Any, batch).await }
    };

    for bad in ["", "   ", "tab\there"] {
        assert_invalid(StreamId::parse(bad), "stream_id");
    }
    assert_invalid(StreamId::parse("x".repeat(201)), "stream_id");

    let huge = NewEvent::new(
        "Tested",
        1,
        json!({ "blob": "x".repeat(MAX_PAYLOAD_BYTES) }),
    );
    assert_invalid(append(vec![event(1), huge]).await, "events[1].payload");
    assert_invalid(append(vec![]).await, "events");
    let twice = event(2);
    assert_invalid(
        append(vec![twice.clone(), twice]).await,
        "events[1].event_id",
    );
    assert_invalid(
        append(vec![NewEvent::new("Tested", 1, json!([1, 2]))]).await,
        "events[0].payload",
    );
    assert_invalid(
        append(vec![NewEvent::new("", 1, json!({}))]).await,
        "events[0].event_type",
    );
    assert_invalid(
        append(vec![NewEvent::new("Tested", 0, json!({}))]).await,
        "events[0].schema_version",
    );

    let err = store
        .append(&s, ExpectedVersion::Exact(7), events(1..2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err:?}"
    );

    // SQL-looking text is data, never SQL.
    let sneaky = stream("x'); DROP TABLE events; --");
    store
        .append(&sneaky, ExpectedVersion::Any, events(5..6))
        .await
        .unwrap();
    assert_eq!(store.read_stream(&sneaky, 0, 10).await.unwrap().len(), 1);

    assert_eq!(
        store.stream_version(&s).await.unwrap(),
        1,
        "nothing was written to the stream"
    );
    assert_eq!(
        store.head_position().await.unwrap(),
        head + 1,
        "only the sneaky-but-valid event"
    );
}

pub async fn first_version_fixtures_still_load(store: Store) {
    use placeledger_domain::{Event, YearMonth};
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events/v1");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let event_type = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        store
            .append(
                &stream("fixtures"),
                ExpectedVersion::Any,
                vec![NewEvent::new(event_type, 1, payload)],
            )
            .await
            .unwrap();
        loaded += 1;
    }
    assert!(loaded >= 2);
    let stored = store
        .read_stream(&stream("fixtures"), 0, 100)
        .await
        .unwrap();
    let decoded: Vec<Event> = stored
        .iter()
        .map(|e| placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload).unwrap())
        .collect();
    assert!(decoded.iter().any(|e| matches!(e,
        Event::ChildRegistered { born, .. } if *born == YearMonth::new(2012, 10).unwrap())));
    assert!(
        decoded
            .iter()
            .any(|e| matches!(e, Event::PlanIssued { .. }))
    );
}

fn part(s: &str, expected: ExpectedVersion, range: std::ops::Range<usize>) -> StreamAppend {
    StreamAppend::new(stream(s), expected, events(range))
}

/// Appends large enough for PostgreSQL to write them by COPY (256 events or more) keep every
/// rule of a small one: versions and positions in order, text that needs escaping read back
/// as written, a stale expected version refused, a retry answered with its original result,
/// a partial retry refused, concurrent copies stored once.
pub async fn large_appends_keep_every_rule(store: Store) {
    let a = "child-LCC-000070";
    store
        .append(&stream(a), ExpectedVersion::NoStream, events(0..2))
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();
    let awkward = NewEvent::new(
        "Tested",
        1,
        json!({ "type": "Tested", "text": "tab\there\nnew line \\ back \"quoted\" \r é 😀 \\N" }),
    )
    .with_metadata(Metadata {
        correlation_id: Some(Uuid::new_v4()),
        causation_id: None,
        actor: Some("planner\tone\\two\nthree".into()),
    });
    let mut first = part(a, ExpectedVersion::Exact(2), 2..401);
    first.events.push(awkward.clone());
    let batch = vec![
        first,
        part("setting-100070", ExpectedVersion::NoStream, 402..702),
    ];
    let original = store.append_batch(batch.clone()).await.unwrap();
    assert_eq!(
        original
            .iter()
            .map(|r| (
                r.first_version,
                r.last_version,
                r.last_position,
                r.duplicate
            ))
            .collect::<Vec<_>>(),
        vec![(3, 402, head + 400, false), (1, 300, head + 700, false)]
    );
    let all = read_everything(&store, 0).await;
    assert_eq!(all.len(), 702);
    for w in all.windows(2) {
        assert_eq!(w[1].position, w[0].position + 1, "no gap");
    }
    let back = all.iter().find(|e| e.event_id == awkward.event_id).unwrap();
    assert_eq!(back.payload, awkward.payload);
    assert_eq!(back.metadata, awkward.metadata);
    assert_eq!((back.stream_id.as_str(), back.stream_version), (a, 402));
    assert_eq!(
        store
            .read_stream(&stream("setting-100070"), 0, 1_000)
            .await
            .unwrap(),
        all[402..].to_vec()
    );

    // A stale expected version: refused, nothing written.
    let err = store
        .append(&stream(a), ExpectedVersion::Exact(2), events(1_000..1_300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 402, .. }),
        "{err:?}"
    );
    // The same batch again: its original result, nothing written.
    let retry = store.append_batch(batch.clone()).await.unwrap();
    assert!(retry.iter().all(|r| r.duplicate));
    assert_eq!(
        retry
            .iter()
            .map(|r| (r.first_version, r.last_version, r.last_position))
            .collect::<Vec<_>>(),
        original
            .iter()
            .map(|r| (r.first_version, r.last_version, r.last_position))
            .collect::<Vec<_>>()
    );
    // Stored ids mixed with new ones: refused, nothing written.
    let mut mixed = batch[1].events[..10].to_vec();
    mixed.extend(events(2_000..2_300));
    let err = store
        .append(&stream("setting-100070"), ExpectedVersion::Any, mixed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), head + 700);

    // Eight concurrent copies of a large append: stored once, each caller answered with it.
    let c = stream("child-LCC-000071");
    let results =
        concurrent_copies(&store, &c, ExpectedVersion::NoStream, events(3_000..3_300)).await;
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| r.last_version == 300 && r.last_position == results[0].last_position)
    );
    assert_eq!(store.read_stream(&c, 0, 1_000).await.unwrap().len(), 300);
    assert_eq!(read_everything(&store, 0).await.len(), 1_002);
}

pub async fn a_batch_across_streams_is_all_or_nothing(store: Store) {
    store
        .append(
            &stream("population-E07000117"),
            ExpectedVersion::NoStream,
            events(0..1),
        )
        .await
        .unwrap();
    let head = store.head_position().await.unwrap();

    // The middle part conflicts: nothing of the batch is written, not even the first part.
    let err = store
        .append_batch(vec![
            part("population-E07000118", ExpectedVersion::NoStream, 0..3),
            part("population-E07000117", ExpectedVersion::NoStream, 3..4),
            part("population-E07000119", ExpectedVersion::NoStream, 4..6),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, actual: 1, .. } if stream == "population-E07000117"),
        "{err:?}"
    );
    assert_eq!(
        store.head_position().await.unwrap(),
        head,
        "a refused batch writes nothing"
    );
    assert_eq!(
        store
            .stream_version(&stream("population-E07000118"))
            .await
            .unwrap(),
        0
    );

    // A valid batch: one result per part, versions per stream, positions in batch order.
    let results = store
        .append_batch(vec![
            part("population-E07000118", ExpectedVersion::NoStream, 0..3),
            part("population-E07000117", ExpectedVersion::Exact(1), 3..4),
            part("population-E07000119", ExpectedVersion::Any, 4..6),
        ])
        .await
        .unwrap();
    let versions: Vec<(u64, u64)> = results
        .iter()
        .map(|r| (r.first_version, r.last_version))
        .collect();
    assert_eq!(versions, vec![(1, 3), (2, 2), (1, 2)]);
    let all = read_everything(&store, head).await;
    let ns: Vec<u64> = all
        .iter()
        .map(|e| e.payload["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, vec![0, 1, 2, 3, 4, 5], "the batch's events in order");
    assert_eq!(
        results.last().unwrap().last_position,
        all.last().unwrap().position
    );
    assert_strictly_increasing(&all);
}

pub async fn a_resent_batch_writes_only_what_is_new(store: Store) {
    let first = vec![
        part("caseload-888", ExpectedVersion::NoStream, 0..2),
        part("caseload-889", ExpectedVersion::NoStream, 2..4),
    ];
    let original = store.append_batch(first.clone()).await.unwrap();
    let head = store.head_position().await.unwrap();

    // The same batch again (a re-import): every part is a duplicate, nothing is written.
    let again = store.append_batch(first.clone()).await.unwrap();
    assert!(again.iter().all(|r| r.duplicate));
    assert_eq!(
        again
            .iter()
            .map(|r| (r.first_version, r.last_version, r.last_position))
            .collect::<Vec<_>>(),
        original
            .iter()
            .map(|r| (r.first_version, r.last_version, r.last_position))
            .collect::<Vec<_>>()
    );
    assert_eq!(store.head_position().await.unwrap(), head);

    // The same parts plus a new one: only the new part is written.
    let mut grown = first;
    grown.push(part("caseload-890", ExpectedVersion::NoStream, 4..5));
    let results = store.append_batch(grown).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.duplicate).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert_eq!(read_everything(&store, 0).await.len(), 5);
}

pub async fn a_bad_batch_is_refused_and_writes_nothing(store: Store) {
    let head = store.head_position().await.unwrap();
    assert_invalid(store.append_batch(vec![]).await, "appends");
    assert_invalid(
        store
            .append_batch(vec![
                part("s1", ExpectedVersion::Any, 0..1),
                part("s1", ExpectedVersion::Any, 1..2),
            ])
            .await,
        "appends[1].stream_id",
    );
    let shared = event(7);
    assert_invalid(
        store
            .append_batch(vec![
                StreamAppend::new(stream("s1"), ExpectedVersion::Any, vec![shared.clone()]),
                StreamAppend::new(stream("s2"), ExpectedVersion::Any, vec![shared]),
            ])
            .await,
        "appends[1].events[0].event_id",
    );
    assert_invalid(
        store
            .append_batch(vec![
                part("s1", ExpectedVersion::Any, 0..1),
                StreamAppend::new(stream("s2"), ExpectedVersion::Any, vec![]),
            ])
            .await,
        "appends[1].events",
    );
    assert_eq!(store.head_position().await.unwrap(), head);
}

pub async fn checkpoints_keep_state_and_position_together(store: Store) {
    assert_eq!(store.load_checkpoint("caseload").await.unwrap(), None);
    let first = Checkpoint {
        name: "caseload".into(),
        version: 1,
        position: 1_200,
        state: json!({"children": {"C-1": {"born": "2015-03"}}}).to_string(),
    };
    store.save_checkpoint(&first).await.unwrap();
    let loaded = store.load_checkpoint("caseload").await.unwrap().unwrap();
    assert_eq!((loaded.version, loaded.position), (1, 1_200));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&loaded.state).unwrap(),
        serde_json::from_str::<serde_json::Value>(&first.state).unwrap()
    );
    // The next save replaces both at once.
    let second = Checkpoint {
        position: 2_400,
        state: json!({"children": {}}).to_string(),
        ..first.clone()
    };
    store.save_checkpoint(&second).await.unwrap();
    let loaded = store.load_checkpoint("caseload").await.unwrap().unwrap();
    assert_eq!(loaded.position, 2_400);
    assert_eq!(loaded.state.replace(' ', ""), r#"{"children":{}}"#);
    // Another projection's checkpoint is its own.
    assert_eq!(store.load_checkpoint("placements").await.unwrap(), None);
    // Bad input is refused and the saved checkpoint stays.
    let bad = Checkpoint {
        state: "{not json".into(),
        ..first.clone()
    };
    assert_invalid(store.save_checkpoint(&bad).await, "state");
    let unnamed = Checkpoint {
        name: String::new(),
        ..first
    };
    assert_invalid(store.save_checkpoint(&unnamed).await, "name");
    assert_eq!(
        store
            .load_checkpoint("caseload")
            .await
            .unwrap()
            .unwrap()
            .position,
        2_400
    );
}
