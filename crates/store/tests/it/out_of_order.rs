//! PostgreSQL only: a transaction that takes its position first but commits last is never
//! skipped by a reader. Deterministic: the test holds transaction A open itself.

use std::time::Duration;

use futures::StreamExt;
use placeledger_store::{EventStore, ExpectedVersion, NewEvent, StreamId, subscribe};
use serde_json::json;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use placeledger_testkit::TestDb;

/// Begins transaction A on its own connection and appends one event through the same
/// function the store uses, without committing. Returns the open connection and A's position.
async fn begin_append(db: &TestDb, stream: &str, n: u64) -> (PgConnection, u64) {
    let schema = db.pg_schema().expect("a PostgreSQL test database");
    let mut conn = PgConnection::connect_with(&placeledger_testkit::pg_options(schema))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    let row = sqlx::query(
        "SELECT outcome, last_position FROM placeledger_append(ARRAY[$1], ARRAY[NULL::bigint], \
         ARRAY[0], ARRAY[1], ARRAY[1], $2, $3, $4, $5, $6, $7, $8, now())",
    )
    .bind(stream)
    .bind(vec![Uuid::new_v4()])
    .bind(vec!["Tested".to_owned()])
    .bind(vec![1_i32])
    .bind(vec![json!({"type": "Tested", "n": n})])
    .bind(vec![None::<Uuid>])
    .bind(vec![None::<Uuid>])
    .bind(vec![None::<String>])
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("outcome"), "ok");
    (
        conn,
        u64::try_from(row.get::<i64, _>("last_position")).unwrap(),
    )
}

/// Transaction B: an ordinary append through the store, committed at once.
async fn append_b(store: &dyn EventStore) -> placeledger_store::AppendResult {
    store
        .append(
            &StreamId::parse("stream-b").unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new(
                "Tested",
                1,
                json!({"type": "Tested", "n": 2}),
            )],
        )
        .await
        .unwrap()
}

fn ns(events: &[placeledger_store::StoredEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.payload["n"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_order_commit_is_delivered_in_order_and_never_skipped() {
    let db = TestDb::postgres().await;
    let store = db.store.clone();
    let mut sub = subscribe(store.clone(), 0);

    // A takes its position first...
    let (mut a, a_position) = begin_append(&db, "stream-a", 1).await;
    // ...B takes the next one and commits first.
    let b = append_b(&*store).await;
    assert!(b.last_position > a_position, "B's position is after A's");

    // B is committed, but a reader must not pass A's position while A may still commit.
    assert_eq!(store.head_position().await.unwrap(), b.last_position);
    assert!(
        store.read_all(0, 10).await.unwrap().is_empty(),
        "B must wait for A"
    );
    let early = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(
        early.is_err(),
        "the subscriber delivered {early:?} before A committed"
    );

    sqlx::query("COMMIT").execute(&mut a).await.unwrap();

    let first = sub.next().await.unwrap().unwrap();
    let second = sub.next().await.unwrap().unwrap();
    assert_eq!(
        ns(&[first.clone(), second.clone()]),
        vec![1, 2],
        "A before B"
    );
    assert_eq!(
        (first.position, second.position),
        (a_position, b.last_position)
    );
    assert_eq!(ns(&store.read_all(0, 10).await.unwrap()), vec![1, 2]);
    drop(sub);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolled_back_position_is_passed_once_its_transaction_ends() {
    let db = TestDb::postgres().await;
    let store = db.store.clone();
    let (mut a, a_position) = begin_append(&db, "stream-a", 1).await;
    let b = append_b(&*store).await;
    assert!(
        store.read_all(0, 10).await.unwrap().is_empty(),
        "B waits while A is open"
    );
    sqlx::query("ROLLBACK").execute(&mut a).await.unwrap();

    // A's position is now a permanent gap; B is delivered as soon as no older transaction
    // is running (other tests on this server may briefly hold one open).
    let mut sub = subscribe(store.clone(), 0);
    let only = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("B is delivered once A has rolled back")
        .unwrap()
        .unwrap();
    assert_eq!(only.position, b.last_position);
    assert!(only.position > a_position);
    assert_eq!(ns(&store.read_all(0, 10).await.unwrap()), vec![2]);
    drop(sub);
    db.finish().await;
}

#[tokio::test]
async fn an_append_must_be_the_first_write_of_its_transaction() {
    let db = TestDb::postgres().await;
    let schema = db.pg_schema().unwrap();
    let mut conn = PgConnection::connect_with(&placeledger_testkit::pg_options(schema))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    // Taking a transaction id before the append would break the ordering readers rely on.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = sqlx::query(
        "SELECT * FROM placeledger_append(ARRAY['s'], ARRAY[NULL::bigint], ARRAY[0], ARRAY[1], \
         ARRAY[1], ARRAY[gen_random_uuid()], ARRAY['Tested'], ARRAY[1], ARRAY['{}'::jsonb], \
         ARRAY[NULL::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text], now())",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("first write"), "{err}");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    // The one-event function keeps the same rule.
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = sqlx::query(
        "SELECT * FROM placeledger_append_one('s', NULL, gen_random_uuid(), 'Tested', 1, \
         '{}'::jsonb, NULL, NULL, NULL, now())",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("first write"), "{err}");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    // And so does the reservation of a COPY append's positions.
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = sqlx::query("SELECT * FROM placeledger_reserve_positions(300)")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("first write"), "{err}");
    drop(conn);
    assert_eq!(db.store.head_position().await.unwrap(), 0);
    db.finish().await;
}

#[tokio::test]
async fn events_cannot_be_updated_or_deleted() {
    let db = TestDb::postgres().await;
    db.store
        .append(
            &StreamId::parse("s").unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new("Tested", 1, json!({}))],
        )
        .await
        .unwrap();
    let mut conn =
        PgConnection::connect_with(&placeledger_testkit::pg_options(db.pg_schema().unwrap()))
            .await
            .unwrap();
    for sql in [
        "UPDATE events SET actor = 'x'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    assert_eq!(read_count(&*db.store).await, 1);
    db.finish().await;
}

async fn read_count(store: &dyn EventStore) -> usize {
    store.read_all(0, 100).await.unwrap().len()
}
