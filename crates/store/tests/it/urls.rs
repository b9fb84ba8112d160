//! `connect` picks the backend from the database URL's scheme.

use std::sync::Arc;

use placeledger_store::{EventStore, ExpectedVersion, NewEvent, StoreError, StreamId, connect};
use serde_json::json;

use placeledger_testkit::TestDb;

fn one() -> Vec<NewEvent> {
    vec![NewEvent::new("Tested", 1, json!({"type": "Tested"}))]
}

#[tokio::test]
async fn sqlite_url_opens_sqlite_creating_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite:{}",
        dir.path().join("nested/folder/pl.db").display()
    );
    let store = connect(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    append_one(&store).await;
    drop(store);
    // Reopening finds the same events: the migrations are not re-applied destructively.
    let again = connect(&url).await.unwrap();
    assert_eq!(again.head_position().await.unwrap(), 1);
}

#[tokio::test]
async fn postgres_url_opens_postgres() {
    let db = TestDb::postgres().await;
    let store = connect(&db.url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    append_one(&store).await;
    assert_eq!(
        db.store.head_position().await.unwrap(),
        1,
        "both handles see one database"
    );
    drop(store);
    db.finish().await;
}

#[tokio::test]
async fn other_urls_are_refused() {
    let err = connect("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
}

/// Appends one event to a new stream `s`.
async fn append_one(store: &Arc<dyn EventStore>) {
    store
        .append(
            &StreamId::parse("s").unwrap(),
            ExpectedVersion::NoStream,
            one(),
        )
        .await
        .unwrap();
}
