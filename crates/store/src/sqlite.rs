//! SQLite: the embedded default. One file, WAL mode, one writer at a time.
//!
//! Appends go through a single-connection writer pool and `BEGIN IMMEDIATE`, so positions
//! are handed out in commit order and a reader can never see position n+1 before n.
//! Another process writing the same file waits on SQLite's lock (busy timeout).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::watch;
use uuid::Uuid;

use crate::head::Head;
use crate::types::{to_i64, to_u64, validate};
use crate::{
    AppendResult, Checkpoint, EventStore, Metadata, NewEvent, RawPage, StoreError, StoredEvent,
    StreamAppend, StreamId,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../schema/sqlite");

/// Bind parameters per inserted row; SQLite allows 32,766 per statement.
const COLUMNS: usize = 11;
/// Rows per multi-row insert: small enough that a batch of 1,000 is ten statements, so
/// building one overlaps running the one before ([`insert`]).
const ROWS_PER_INSERT: usize = 100;
const _: () = assert!(ROWS_PER_INSERT * COLUMNS <= 32_766);

#[derive(Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    head: Head,
}

const SELECT: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, recorded_at FROM events";

impl SqliteStore {
    /// Writes a consistent copy of the whole database (events, read-model checkpoints,
    /// tokens, audit) to `path`, a new file, while it is in use: SQLite's `VACUUM INTO`,
    /// which reads one snapshot, so the copy has every committed write up to a moment and
    /// none after, with no WAL beside it. An existing `path` is refused, never overwritten.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::InvalidInput {
                field: "backup file".into(),
                reason: format!(
                    "{} exists: a backup never overwrites a file",
                    path.display()
                ),
            });
        }
        let target = path.to_str().ok_or_else(|| StoreError::InvalidInput {
            field: "backup file".into(),
            reason: "the path is not UTF-8".into(),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    /// Opens (creating if missing, with its folder) the database a `sqlite:` URL names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::open_with(options, Duration::from_millis(20)).await
    }

    /// The pool appends go through (one connection: SQLite has one writer), for tables of
    /// the application's own beside the events.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub async fn open_with(
        options: SqliteConnectOptions,
        poll_interval: Duration,
    ) -> Result<Self, StoreError> {
        let path = options.get_filename().to_owned();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::invalid(
                    "database_url",
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged append survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // 64 MiB of page cache per connection (the default is 2 MiB): index pages stay hot.
            .pragma("cache_size", "-65536")
            // Statement journals of multi-row inserts stay in memory, not in a temporary file.
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let initial = max_position(&reader).await?;
        let probe_pool = reader.clone();
        let head = Head::start(initial, poll_interval, move || {
            let pool = probe_pool.clone();
            async move { max_position(&pool).await.ok() }
        });
        Ok(Self {
            writer,
            reader,
            head,
        })
    }
}

async fn max_position(pool: &SqlitePool) -> Result<u64, StoreError> {
    let p: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(to_u64(p.unwrap_or(0)))
}

fn row_to_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let uuid = |col: &str| -> Result<Option<Uuid>, StoreError> {
        let text: Option<String> = row.try_get(col)?;
        text.map(|t| Uuid::parse_str(&t).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))))
            .transpose()
    };
    let payload: String = row.try_get("payload")?;
    let recorded_at: DateTime<Utc> = row.try_get("recorded_at")?;
    Ok(StoredEvent {
        position: to_u64(row.try_get("position")?),
        stream_id: row.try_get("stream_id")?,
        stream_version: to_u64(row.try_get("stream_version")?),
        event_id: uuid("event_id")?.ok_or_else(|| StoreError::Corrupt("event_id".into()))?,
        event_type: row.try_get("event_type")?,
        schema_version: u32::try_from(row.try_get::<i64, _>("schema_version")?)
            .map_err(|e| StoreError::Corrupt(format!("schema_version: {e}")))?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?,
        metadata: Metadata {
            correlation_id: uuid("correlation_id")?,
            causation_id: uuid("causation_id")?,
            actor: row.try_get("actor")?,
        },
        recorded_at,
    })
}

/// Where an already-stored event is.
struct Stored {
    stream_id: String,
    stream_version: i64,
    position: i64,
}

/// Which of the batch's event ids are already stored, and where: one query per 10,000 ids,
/// however many streams the batch touches.
async fn stored_ids(
    tx: &mut Transaction<'_, Sqlite>,
    appends: &[StreamAppend],
) -> Result<HashMap<String, Stored>, StoreError> {
    let ids: Vec<String> = appends
        .iter()
        .flat_map(|a| a.events.iter().map(|e| e.event_id.to_string()))
        .collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(10_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT stream_id, stream_version, position, event_id FROM events WHERE event_id IN (",
        );
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut **tx).await? {
            found.insert(
                row.get::<String, _>("event_id"),
                Stored {
                    stream_id: row.get("stream_id"),
                    stream_version: row.get("stream_version"),
                    position: row.get("position"),
                },
            );
        }
    }
    Ok(found)
}

/// The original result of `append` if every one of its event ids is already stored, in
/// order, in its stream (a retry); an error if only some are (or they are elsewhere).
fn already_stored(
    append: &StreamAppend,
    stored: &HashMap<String, Stored>,
) -> Result<Option<AppendResult>, StoreError> {
    let found: Vec<&Stored> = append
        .events
        .iter()
        .filter_map(|e| stored.get(&e.event_id.to_string()))
        .collect();
    if found.is_empty() {
        return Ok(None);
    }
    let first = found[0].stream_version;
    let complete = found.len() == append.events.len()
        && found.iter().all(|r| r.stream_id == append.stream.as_str())
        && found
            .iter()
            .enumerate()
            .all(|(i, r)| r.stream_version == first + i64::try_from(i).unwrap_or(i64::MAX));
    if !complete {
        return Err(StoreError::IdempotencyMismatch {
            stream: append.stream.to_string(),
        });
    }
    let last = found[found.len() - 1].stream_version;
    let last_position = found.iter().map(|r| r.position).max();
    Ok(Some(AppendResult {
        first_version: to_u64(first),
        last_version: to_u64(last),
        last_position: to_u64(last_position.unwrap_or(0)),
        duplicate: true,
    }))
}

/// The current version of each stream the batch touches: one query per 10,000 streams.
async fn stream_versions(
    tx: &mut Transaction<'_, Sqlite>,
    appends: &[StreamAppend],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut streams: Vec<&str> = appends.iter().map(|a| a.stream.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    let mut versions = HashMap::new();
    for chunk in streams.chunks(10_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT stream_id, max(stream_version) AS version FROM events WHERE stream_id IN (",
        );
        let mut sep = q.separated(", ");
        for stream in chunk {
            sep.push_bind(*stream);
        }
        q.push(") GROUP BY stream_id");
        for row in q.build().fetch_all(&mut **tx).await? {
            versions.insert(
                row.get::<String, _>("stream_id"),
                row.get::<i64, _>("version"),
            );
        }
    }
    Ok(versions)
}

/// One row to insert: position, stream, version, the event and its payload.
type Pending<'a> = (i64, &'a str, i64, &'a NewEvent, &'a String);

/// Inserts `rows` in multi-row statements of [`ROWS_PER_INSERT`], each built while SQLite runs
/// the one before: building a statement (binding every value) is the caller's thread's work,
/// running it the SQLite worker's, and one after the other left a core idle.
async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[Pending<'_>],
    recorded_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut chunks = rows.chunks(ROWS_PER_INSERT);
    let Some(first) = chunks.next() else {
        return Ok(());
    };
    let mut current = statement(first, recorded_at);
    for next in chunks {
        // `join` polls the execution first, which hands the statement to the worker, then
        // builds the next one while the worker runs it.
        let (done, built) = futures::future::join(current.build().execute(&mut **tx), async {
            statement(next, recorded_at)
        })
        .await;
        done?;
        current = built;
    }
    current.build().execute(&mut **tx).await?;
    Ok(())
}

/// One multi-row insert of `chunk`.
fn statement(chunk: &[Pending<'_>], recorded_at: DateTime<Utc>) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, \
         schema_version, payload, correlation_id, causation_id, actor, recorded_at) ",
    );
    q.push_values(chunk, |mut b, (position, stream, version, e, payload)| {
        b.push_bind(*position)
            .push_bind(*stream)
            .push_bind(*version)
            .push_bind(e.event_id.to_string())
            .push_bind(e.event_type.as_str())
            .push_bind(i64::from(e.schema_version))
            .push_bind(payload.as_str())
            .push_bind(e.metadata.correlation_id.map(|u| u.to_string()))
            .push_bind(e.metadata.causation_id.map(|u| u.to_string()))
            .push_bind(e.metadata.actor.as_deref())
            .push_bind(recorded_at);
    });
    q
}

/// Whether an append looks up its event ids before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Write straight away; give up (`None`) if an id is already stored or a stream is not
    /// at its expected version, as a retry would be.
    OnlyIfRefused,
    /// Look first: a retry gets its original result, a partial retry or a real conflict an
    /// error.
    First,
}

impl SqliteStore {
    /// One transaction that appends `appends` or nothing. `None`: [`Probe::OnlyIfRefused`]
    /// gave up, and nothing was written.
    async fn write(
        &self,
        appends: &[StreamAppend],
        payloads: &[Vec<String>],
        probe: Probe,
    ) -> Result<Option<Vec<AppendResult>>, StoreError> {
        // One writer at a time: positions are handed out in commit order.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let recorded_at = Utc::now();
        // Two questions for the whole batch, not per stream: which ids are stored (when
        // looking first), which versions the streams are at; then the new rows in
        // multi-row inserts.
        let stored = match probe {
            Probe::First => stored_ids(&mut tx, appends).await?,
            Probe::OnlyIfRefused => HashMap::new(),
        };
        let mut versions = stream_versions(&mut tx, appends).await?;
        let mut results = Vec::with_capacity(appends.len());
        let mut rows: Vec<Pending<'_>> = Vec::new();
        let mut wrote = false;
        for (append, payloads) in appends.iter().zip(payloads) {
            if let Some(original) = already_stored(append, &stored)? {
                results.push(original);
                continue;
            }
            let current = versions.get(append.stream.as_str()).copied().unwrap_or(0);
            if let Some(want) = append.expected.as_db()
                && want != current
            {
                // Dropping the transaction rolls back whatever this batch wrote so far.
                return match probe {
                    Probe::OnlyIfRefused => Ok(None),
                    Probe::First => Err(StoreError::Conflict {
                        stream: append.stream.to_string(),
                        expected: append.expected,
                        actual: to_u64(current),
                    }),
                };
            }
            let n = i64::try_from(append.events.len()).unwrap_or(i64::MAX);
            for (i, (e, payload)) in append.events.iter().zip(payloads).enumerate() {
                let offset = i64::try_from(i).unwrap_or(i64::MAX) + 1;
                rows.push((
                    head + offset,
                    append.stream.as_str(),
                    current + offset,
                    e,
                    payload,
                ));
            }
            head += n;
            versions.insert(append.stream.to_string(), current + n);
            wrote = true;
            results.push(AppendResult {
                first_version: to_u64(current + 1),
                last_version: to_u64(current + n),
                last_position: to_u64(head),
                duplicate: false,
            });
        }
        match insert(&mut tx, &rows, recorded_at).await {
            // An event id already stored (the versions were checked above, under the write
            // lock): a retry, whole or partial. Dropping the transaction writes nothing.
            Err(sqlx::Error::Database(e))
                if probe == Probe::OnlyIfRefused && e.is_unique_violation() =>
            {
                return Ok(None);
            }
            other => other?,
        }
        tx.commit().await?;
        if wrote {
            self.head.advance(to_u64(head));
        }
        Ok(Some(results))
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_batch(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let payloads = validate(&appends)?;
        // New events, the usual case, need no look at the stored ids: the unique index
        // refuses an id already stored. Only then, or when a stream is not at its expected
        // version (which a retry also looks like), is the batch written again, looking first.
        match self
            .write(&appends, &payloads, Probe::OnlyIfRefused)
            .await?
        {
            Some(results) => Ok(results),
            None => self
                .write(&appends, &payloads, Probe::First)
                .await?
                .ok_or_else(|| StoreError::Corrupt("an append refused after the look".into())),
        }
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "{SELECT} WHERE stream_id = ? AND stream_version > ? ORDER BY stream_version LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(stream.as_str())
            .bind(to_i64(after_version))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row_to_event).collect()
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_page(after, limit).await?.into_events()
    }

    async fn read_page(&self, after: u64, limit: usize) -> Result<RawPage, StoreError> {
        // One page is one row: SQLite builds a JSON array of the events, so the rows do not
        // cross from sqlx's worker thread one message at a time (most of the cost of a
        // catch-up read). Its last position comes beside it, so the next page can be asked
        // for before this one is parsed.
        let (page, last): (Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT json_group_array(json_array(position, stream_id, stream_version, event_id, \
             event_type, schema_version, json(payload), correlation_id, causation_id, actor, \
             recorded_at)), max(position) FROM (SELECT * FROM events WHERE position > ? \
             ORDER BY position LIMIT ?)",
        )
        .bind(to_i64(after))
        .bind(to_i64(limit as u64))
        .fetch_one(&self.reader)
        .await?;
        Ok(match (page, last) {
            (Some(page), Some(last)) => RawPage::sqlite_json(page, to_u64(last)),
            _ => RawPage::parsed(Vec::new()),
        })
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let v: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = ?",
        )
        .bind(stream.as_str())
        .fetch_one(&self.reader)
        .await?;
        Ok(to_u64(v))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        max_position(&self.reader).await
    }

    fn head_watch(&self) -> watch::Receiver<u64> {
        self.head.watch()
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query(
            "SELECT name, version, position, state FROM projection_checkpoints WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(Checkpoint {
                name: r.try_get("name")?,
                version: u32::try_from(r.try_get::<i64, _>("version")?)
                    .map_err(|e| StoreError::Corrupt(format!("version: {e}")))?,
                position: to_u64(r.try_get("position")?),
                state: r.try_get("state")?,
            })
        })
        .transpose()
    }

    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        checkpoint.validate()?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, version, position, state, saved_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
             position = excluded.position, state = excluded.state, saved_at = excluded.saved_at",
        )
        .bind(&checkpoint.name)
        .bind(i64::from(checkpoint.version))
        .bind(to_i64(checkpoint.position))
        .bind(&checkpoint.state)
        .bind(Utc::now())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

/// The events of a page [`SqliteStore::read_page`] returned as one JSON text.
pub(crate) fn parse_page(page: &str) -> Result<Vec<StoredEvent>, StoreError> {
    type PageRow = (
        i64,
        String,
        i64,
        String,
        String,
        i64,
        serde_json::Value,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<PageRow> = serde_json::from_str(page)
        .map_err(|e| StoreError::Corrupt(format!("page of events: {e}")))?;
    let uuid = |col: &str, t: &str| {
        Uuid::parse_str(t).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
    };
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(StoredEvent {
                position: to_u64(r.0),
                stream_id: r.1,
                stream_version: to_u64(r.2),
                event_id: uuid("event_id", &r.3)?,
                event_type: r.4,
                schema_version: u32::try_from(r.5)
                    .map_err(|e| StoreError::Corrupt(format!("schema_version: {e}")))?,
                payload: r.6,
                metadata: Metadata {
                    correlation_id: r
                        .7
                        .as_deref()
                        .map(|t| uuid("correlation_id", t))
                        .transpose()?,
                    causation_id: r
                        .8
                        .as_deref()
                        .map(|t| uuid("causation_id", t))
                        .transpose()?,
                    actor: r.9,
                },
                recorded_at: DateTime::parse_from_rfc3339(&r.10)
                    .map_err(|e| StoreError::Corrupt(format!("recorded_at: {e}")))?
                    .with_timezone(&Utc),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // An aggregate's order follows its input in SQLite, but SQL does not promise it.
    out.sort_unstable_by_key(|e| e.position);
    Ok(out)
}
