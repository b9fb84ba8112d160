//! The ledger against real stores: every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;

use placeledger_domain::*;
use placeledger_ledger::{Context, EventIds, Ledger, LedgerError, SNAPSHOT};
use placeledger_testkit::fixtures::{lancashire_and_burnley, moorside_special_school};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use placeledger_store::{
    AppendResult, Checkpoint, EventStore, StoreError, StoredEvent, StreamAppend, StreamId,
};
use rust_decimal::Decimal;

fn lancashire() -> Vec<Command> {
    let mut commands = lancashire_and_burnley();
    commands.push(Command::OpenSetting(moorside_special_school()));
    commands
}

fn births(year: i32, births: i64) -> Command {
    Command::RecordBirths {
        area: GssCode::parse("E07000117").unwrap(),
        year,
        births,
    }
}

async fn commands_become_events_in_one_transaction(store: Arc<dyn EventStore>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    let recorded = ledger
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    let streams: Vec<&str> = recorded.streams.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        streams,
        vec!["authority-888", "district-E07000117", "setting-119999"]
    );
    assert_eq!(store.head_position().await.unwrap(), 3);
    assert!(
        ledger
            .state()
            .settings
            .contains_key(&Urn::parse("119999").unwrap())
    );
    let stored = store.read_all(0, 10).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|e| e.metadata.actor.as_deref() == Some("test"))
    );

    // A second ledger on the same store folds to the same state.
    let other = Ledger::open(store).await.unwrap();
    assert_eq!(other.state(), ledger.state());
    assert_eq!(other.position(), 3);
}

async fn a_refused_command_records_nothing(store: Arc<dyn EventStore>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    let mut commands = lancashire();
    commands.push(births(2024, -5));
    let err = ledger
        .execute(&commands, &Context::actor("test"))
        .await
        .unwrap_err();
    match err {
        LedgerError::Refused { index: 3, error } => assert_eq!(error.field(), "births"),
        other => panic!("unexpected: {other:?}"),
    }
    assert_eq!(
        store.head_position().await.unwrap(),
        0,
        "not even the valid commands"
    );
    assert!(ledger.state().authorities.is_empty());
}

/// A store that fails as if the database had gone away, from the moment an append commits
/// (once `armed`) until `gone` is cleared: the outage that begins just after a commit. With
/// `answer_lost`, the committing append's answer is lost too (the connection reset before it
/// arrived).
#[derive(Debug)]
struct GoneAfterCommit {
    inner: Arc<dyn EventStore>,
    armed: AtomicBool,
    gone: AtomicBool,
    answer_lost: bool,
}

impl GoneAfterCommit {
    fn gone() -> StoreError {
        StoreError::Database(sqlx::Error::PoolClosed)
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.gone.load(Ordering::SeqCst) {
            Err(Self::gone())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl EventStore for GoneAfterCommit {
    async fn append_batch(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        self.check()?;
        let results = self.inner.append_batch(appends).await?;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.gone.store(true, Ordering::SeqCst);
            if self.answer_lost {
                return Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "the server closed the connection",
                ))));
            }
        }
        Ok(results)
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.check()?;
        self.inner.read_stream(stream, after_version, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.check()?;
        self.inner.read_all(after, limit).await
    }
    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.stream_version(stream).await
    }
    async fn head_position(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.head_position().await
    }
    fn head_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.head_watch()
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.load_checkpoint(name).await
    }
    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.inner.save_checkpoint(checkpoint).await
    }
}

/// The append commits but the connection goes before the answer; every re-send then finds no
/// connection at all (the pool times out) until the retry window ends. The outcome is
/// unknown — never "unavailable, nothing recorded" (found by the PostgreSQL outage test when
/// the outage outlasted the window: a write answered unavailable had been stored).
async fn a_commit_then_no_connection_is_of_unknown_outcome(store: Arc<dyn EventStore>) {
    let flaky = Arc::new(GoneAfterCommit {
        inner: store.clone(),
        armed: AtomicBool::new(false),
        gone: AtomicBool::new(false),
        answer_lost: true,
    });
    let mut ledger = Ledger::open(flaky.clone())
        .await
        .unwrap()
        .with_append_retry_for(std::time::Duration::from_millis(300));
    flaky.armed.store(true, Ordering::SeqCst);
    let err = ledger
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::OutcomeUnknown(_)), "{err:?}");
    assert_eq!(store.head_position().await.unwrap(), 3, "it was stored");
}

/// The database goes away just after an append commits, before the ledger reads the log
/// back: the command was recorded and is reported as recorded, not as unavailable (found by
/// the PostgreSQL outage test: a write answered "unavailable" had been stored). Once the
/// database is back, the ledger catches up and has the event once.
async fn a_commit_followed_by_an_outage_is_reported_as_recorded(store: Arc<dyn EventStore>) {
    let flaky = Arc::new(GoneAfterCommit {
        inner: store.clone(),
        armed: AtomicBool::new(false),
        gone: AtomicBool::new(false),
        answer_lost: false,
    });
    let mut ledger = Ledger::open(flaky.clone()).await.unwrap();
    ledger
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    let before = ledger.position();
    flaky.armed.store(true, Ordering::SeqCst);
    let recorded = ledger
        .execute(&[births(2024, 900)], &Context::actor("test"))
        .await
        .expect("stored, so reported as recorded");
    assert_eq!(recorded.streams.len(), 1);
    assert!(flaky.gone.load(Ordering::SeqCst), "the outage began");
    assert_eq!(store.head_position().await.unwrap(), before + 1);
    // While it is gone, the next command is unavailable and records nothing.
    let err = ledger
        .execute(&[births(2025, 950)], &Context::actor("test"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::Store(e) if e.is_unavailable()),
        "{err:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), before + 1);
    // Back: the ledger has every event once, the births among them.
    flaky.gone.store(false, Ordering::SeqCst);
    ledger
        .execute(&[births(2025, 950)], &Context::actor("test"))
        .await
        .unwrap();
    assert_eq!(ledger.position(), store.head_position().await.unwrap());
    assert_eq!(ledger.position(), before + 2);
    let births_recorded = store
        .read_all(0, 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "BirthsRecorded")
        .count();
    assert_eq!(births_recorded, 2);
}

async fn check_reports_every_refusal_and_records_nothing(store: Arc<dyn EventStore>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    let mut commands = lancashire();
    commands.extend([births(2023, -1), births(2024, 900), births(2025, -2)]);
    let refused = ledger.check(&commands).await.unwrap();
    let found: Vec<(usize, &str)> = refused.iter().map(|(i, e)| (*i, e.field())).collect();
    assert_eq!(found, vec![(3, "births"), (5, "births")]);
    assert_eq!(store.head_position().await.unwrap(), 0);
    assert!(ledger.check(&lancashire()).await.unwrap().is_empty());
    let nothing = ledger.execute(&[], &Context::actor("test")).await.unwrap();
    assert!(nothing.streams.is_empty(), "no commands, nothing recorded");
    assert_eq!(store.head_position().await.unwrap(), 0);
}

async fn derived_ids_make_recording_the_same_facts_a_retry(store: Arc<dyn EventStore>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    ledger
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    let import =
        Context::actor("import").with_event_ids(EventIds::Derived(uuid::Uuid::from_u128(42)));
    let facts = vec![births(2023, 1012), births(2024, 987)];
    let first = ledger.execute(&facts, &import).await.unwrap();
    assert!(!first.all_duplicates());
    let head = store.head_position().await.unwrap();

    let again = ledger.execute(&facts, &import).await.unwrap();
    assert!(again.all_duplicates(), "{again:?}");
    assert_eq!(
        store.head_position().await.unwrap(),
        head,
        "re-recording appends nothing"
    );

    // Random ids record the same facts anew (a person entering them twice means it).
    ledger
        .execute(&facts[..1], &Context::actor("test"))
        .await
        .unwrap();
    assert_eq!(store.head_position().await.unwrap(), head + 1);
}

async fn a_revised_file_records_only_its_new_facts(store: Arc<dyn EventStore>) {
    let mut ledger = Ledger::open(store.clone()).await.unwrap();
    ledger
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    let context =
        Context::actor("import").with_event_ids(EventIds::Derived(uuid::Uuid::from_u128(7)));
    let first = vec![births(2023, 1_000), births(2024, 1_100)];
    let recorded = ledger.execute(&first, &context).await.unwrap();
    assert_eq!((recorded.new_events(), recorded.already_stored()), (2, 0));
    // The next release of the file repeats both years and adds one: one stream, two facts
    // stored and one new.
    let revised = vec![
        births(2023, 1_000),
        births(2024, 1_100),
        births(2025, 1_150),
    ];
    let recorded = ledger.execute(&revised, &context).await.unwrap();
    assert_eq!((recorded.new_events(), recorded.already_stored()), (1, 2));
    let recorded = ledger.execute(&revised, &context).await.unwrap();
    assert_eq!((recorded.new_events(), recorded.already_stored()), (0, 3));
    let stream = StreamId::parse("population-E07000117").unwrap();
    assert_eq!(store.stream_version(&stream).await.unwrap(), 3);
}

async fn concurrent_ledgers_catch_up_and_decide_again(store: Arc<dyn EventStore>) {
    let mut mine = Ledger::open(store.clone()).await.unwrap();
    mine.execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    // Three ledgers (as three API nodes would be) recording into one stream at once.
    let tasks: Vec<_> = (0..3)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ledger = Ledger::open(store).await.unwrap();
                for i in 0..5 {
                    let c = Command::RecordPopulation {
                        area: GssCode::parse("E07000117").unwrap(),
                        year: 2030 + w,
                        age: AgeGroup::Single(u8::try_from(i).unwrap()),
                        persons: Decimal::new(1000 + i64::from(i), 0),
                        basis: PopulationBasis::Projection,
                        release: "test".into(),
                    };
                    ledger.execute(&[c], &Context::actor("test")).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stream = StreamId::parse("population-E07000117").unwrap();
    assert_eq!(
        store.stream_version(&stream).await.unwrap(),
        15,
        "every writer's facts, once"
    );
    // A ledger that recorded before the others wrote reads their events back before taking
    // its own as the new state: it ends where a fresh fold of the store does.
    mine.execute(&[births(2024, 1_200)], &Context::actor("test"))
        .await
        .unwrap();
    let fresh = Ledger::open(store).await.unwrap();
    assert_eq!(mine.position(), fresh.position());
    assert_eq!(mine.state(), fresh.state());
}

/// `expectedVersion` from two nodes at once: both saw version 0 of a stream; exactly one
/// write lands, the other is a conflict naming the actual version, even though each node's
/// check passed on the state it had.
async fn an_expected_version_holds_across_ledgers(store: Arc<dyn EventStore>) {
    let mut setup = Ledger::open(store.clone()).await.unwrap();
    setup
        .execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    let mut a = Ledger::open(store.clone()).await.unwrap();
    let mut b = Ledger::open(store.clone()).await.unwrap();
    let stream = births(2030, 1).stream_id();
    let first = a
        .execute(
            &[births(2030, 1_000)],
            &Context::actor("a").expecting(stream.clone(), 0),
        )
        .await
        .unwrap();
    assert_eq!(first.streams[0].1.last_version, 1);
    // b has not seen a's write; its own view still says version 0.
    let refused = b
        .execute(
            &[births(2031, 1_000)],
            &Context::actor("b").expecting(stream.clone(), 0),
        )
        .await;
    match refused {
        Err(LedgerError::Store(StoreError::Conflict {
            stream: s, actual, ..
        })) => assert_eq!((s, actual), (stream.clone(), 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let id = StreamId::parse(stream.clone()).unwrap();
    assert_eq!(
        store.stream_version(&id).await.unwrap(),
        1,
        "b wrote nothing"
    );
    // With the version it now knows, b records.
    b.execute(
        &[births(2031, 1_000)],
        &Context::actor("b").expecting(stream, 1),
    )
    .await
    .unwrap();
    assert_eq!(store.stream_version(&id).await.unwrap(), 2);
}

/// A ledger opened after a snapshot starts from it, folds only what came after, and decides
/// on what it restored: the state, and each stream's version (an append at a stale version
/// would conflict).
async fn a_ledger_starts_from_its_snapshot(store: Arc<dyn EventStore>) {
    let mut a = Ledger::open(store.clone()).await.unwrap();
    assert_eq!(a.started_from(), 0, "an empty log has no snapshot");
    a.execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    a.save_snapshot().await.unwrap();
    a.execute(&[births(2024, 1_000)], &Context::actor("test"))
        .await
        .unwrap();

    let mut b = Ledger::open(store.clone()).await.unwrap();
    assert_eq!(
        b.started_from(),
        3,
        "from the snapshot, not from the first event"
    );
    assert_eq!(b.position(), 4);
    assert_eq!(b.state(), a.state());
    let stream = births(2025, 1).stream_id();
    assert_eq!(b.stream_version(&stream), Some(1));
    assert_eq!(
        b.stream_version("district-E07000117"),
        a.stream_version("district-E07000117")
    );
    let recorded = b
        .execute(
            &[births(2025, 1_010)],
            &Context::actor("test").expecting(stream.clone(), 1),
        )
        .await
        .unwrap();
    assert_eq!(recorded.streams[0].1.last_version, 2);
    let fresh = Ledger::open_with(store.clone(), u64::MAX).await.unwrap();
    assert_eq!(fresh.state(), b.state());

    // Opening saves a new snapshot once enough events were folded past the last one.
    let c = Ledger::open_with(store.clone(), 2).await.unwrap();
    assert_eq!(c.started_from(), 3);
    let saved = store.load_checkpoint(SNAPSHOT).await.unwrap().unwrap();
    assert_eq!((saved.position, saved.version), (5, State::SHAPE));
    let d = Ledger::open_with(store, 2).await.unwrap();
    assert_eq!(d.started_from(), 5);
    assert_eq!(d.state(), b.state());
}

/// A snapshot of another shape, one ahead of the log (a database restored from an older
/// backup beside a newer checkpoint table cannot happen, but a hand-copied one can), or one
/// that does not load is set aside: the ledger folds the whole log and ends where it would
/// have anyway.
async fn a_snapshot_that_does_not_fit_is_set_aside(store: Arc<dyn EventStore>) {
    let mut a = Ledger::open(store.clone()).await.unwrap();
    a.execute(&lancashire(), &Context::actor("test"))
        .await
        .unwrap();
    a.save_snapshot().await.unwrap();
    let good = store.load_checkpoint(SNAPSHOT).await.unwrap().unwrap();
    let unfit = [
        Checkpoint {
            version: State::SHAPE + 1,
            ..good.clone()
        },
        Checkpoint {
            position: 99,
            ..good.clone()
        },
        Checkpoint {
            state: r#"{"state": 1, "versions": {}}"#.into(),
            ..good.clone()
        },
    ];
    for snapshot in unfit {
        store.save_checkpoint(&snapshot).await.unwrap();
        let b = Ledger::open_with(store.clone(), u64::MAX).await.unwrap();
        assert_eq!(b.started_from(), 0, "{snapshot:?}");
        assert_eq!(b.position(), 3);
        assert_eq!(b.state(), a.state());
    }
}

placeledger_testkit::on_both_backends!(
    given placeledger_testkit::store_of;
    commands_become_events_in_one_transaction,
    a_refused_command_records_nothing,
    a_commit_followed_by_an_outage_is_reported_as_recorded,
    a_commit_then_no_connection_is_of_unknown_outcome,
    check_reports_every_refusal_and_records_nothing,
    derived_ids_make_recording_the_same_facts_a_retry,
    a_revised_file_records_only_its_new_facts,
    concurrent_ledgers_catch_up_and_decide_again,
    an_expected_version_holds_across_ledgers,
    a_ledger_starts_from_its_snapshot,
    a_snapshot_that_does_not_fit_is_set_aside,
);
