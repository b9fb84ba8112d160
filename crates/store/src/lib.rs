//! The append-only event store: one [`EventStore`] trait, two backends.
//!
//! - [`SqliteStore`]: the embedded default, one file in WAL mode.
//! - [`PgStore`]: the shared deployment; several processes append at once.
//!
//! Both pass one conformance suite (`tests/it`). The store knows nothing of the domain:
//! events arrive in their stored form (type, schema version, JSON payload).
//!
//! Guarantees, on both backends:
//! - an append is all or nothing, checked against the stream's expected version;
//! - re-sending an append whose event ids are stored returns the original result and writes
//!   nothing, even if its expected version is stale by then;
//! - [`EventStore::read_all`] returns events in position order and never passes an event
//!   that may still commit, so a reader that resumes from the last position it saw never
//!   misses or repeats one. [`subscribe`] builds catch-up-then-live on it.

mod error;
mod head;
mod pages;
mod postgres;
mod sqlite;
mod subscription;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

pub use error::{StoreError, is_unavailable};
pub use pages::{Pages, RawPage};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use subscription::{Subscription, subscribe};
pub use types::{
    AppendResult, Checkpoint, ExpectedVersion, MAX_BATCH, MAX_PAYLOAD_BYTES, Metadata, NewEvent,
    StoredEvent, StreamAppend, StreamId,
};

#[async_trait]
pub trait EventStore: Send + Sync + std::fmt::Debug + 'static {
    /// Appends to several streams in one transaction: all of it, or nothing. Each stream's
    /// part is checked against its expected version and is idempotent on its own (a part
    /// whose event ids are all stored returns its original result and writes nothing).
    /// Returns one result per part, in order.
    async fn append_batch(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError>;

    /// Appends `events` to `stream`, all or nothing, if the stream is at `expected`.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let part = StreamAppend::new(stream.clone(), expected, events);
        self.append_batch(vec![part])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("an append returned no result".into()))
    }

    /// Up to `limit` events of `stream` with a version above `after_version`, in order.
    async fn read_stream(
        &self,
        stream: &StreamId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` events with a position above `after`, in position order, stopping
    /// before any position that may still be filled by a transaction in flight.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The same page as [`EventStore::read_all`], its last position known at once and its
    /// events parsed when asked for ([`RawPage::into_events`]): a reader can ask for the next
    /// page before parsing this one (see [`Pages`]).
    async fn read_page(&self, after: u64, limit: usize) -> Result<RawPage, StoreError> {
        Ok(RawPage::parsed(self.read_all(after, limit).await?))
    }

    /// The stream's version: its last event's version, or 0 if it has none.
    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError>;

    /// The highest committed position (there may be events below it still in flight).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// Changes whenever the store learns of a higher committed position: at once for appends
    /// through this handle, by polling for other processes' appends.
    fn head_watch(&self) -> watch::Receiver<u64>;

    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// The checkpoint saved under `name`, if any.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Checkpoint>, StoreError>;

    /// Saves a checkpoint (state and position in one row, replacing the last one).
    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;
}

/// A store opened from a URL, by backend: for callers that keep tables of their own in the
/// same database (the application's tokens and audit log).
#[derive(Debug)]
pub enum Opened {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Opens the store a URL names: `sqlite:PATH` (created if missing) or `postgres://...`.
/// Applies the migrations from `schema/` before returning.
pub async fn open(url: &str) -> Result<Opened, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Opened::Sqlite(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Opened::Postgres(PgStore::connect(url).await?))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::UnsupportedUrl(
            scheme.chars().take(20).collect(),
        ))
    }
}

/// [`open`], as a trait object.
pub async fn connect(url: &str) -> Result<Arc<dyn EventStore>, StoreError> {
    Ok(match open(url).await? {
        Opened::Sqlite(s) => Arc::new(s),
        Opened::Postgres(s) => Arc::new(s),
    })
}
