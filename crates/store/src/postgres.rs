//! PostgreSQL: the shared deployment, several processes appending at once.
//!
//! Appends are one call of `placeledger_append` (schema/postgres; one event to one stream:
//! `placeledger_append_one`, the same rules without the arrays), one round trip, with no
//! NOTIFY. Reads never pass an event that may still commit: see [`PgStore::read_all`] and
//! `schema/README.md`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use tokio::sync::watch;
use uuid::Uuid;

use crate::head::Head;
use crate::types::{to_i64, to_u64, validate};
use crate::{
    AppendResult, Checkpoint, EventStore, Metadata, StoreError, StoredEvent, StreamAppend, StreamId,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../schema/postgres");

const SELECT: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, recorded_at, \
    transaction_id < pg_snapshot_xmin(pg_current_snapshot()) AS settled FROM events";

/// How often to retry an append that lost a race it can resolve by itself.
const RACE_RETRIES: usize = 10;

/// An append of at least this many events is written by COPY ([`PgStore::try_copy`]) rather
/// than through `placeledger_append`'s arrays: the benchmark's batches of 1,000 and bulk
/// loads. Below it the function's single round trip wins.
pub const COPY_FROM: usize = 256;

/// The columns COPY writes, in the order [`copy_rows`] writes them.
const COPY: &str = "COPY events (position, stream_id, stream_version, event_id, event_type, \
    schema_version, payload, correlation_id, causation_id, actor, recorded_at, transaction_id) \
    FROM STDIN";

/// How much COPY data to send at a time.
const COPY_CHUNK: usize = 1 << 16;

#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    head: Head,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        Self::connect_with(options, 16, Duration::from_millis(10)).await
    }

    /// Connects with explicit options (tests use them to give each test its own schema).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
        poll_interval: Duration,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let initial = max_position(&pool).await?;
        let probe_pool = pool.clone();
        let head = Head::start(initial, poll_interval, move || {
            let pool = probe_pool.clone();
            async move { max_position(&pool).await.ok() }
        });
        Ok(Self { pool, head })
    }

    /// The pool, for tools that need the database itself (benchmarks, tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// One event to one stream, by `placeledger_append_one` (schema/postgres/0005): the same
    /// rules as [`Self::try_append`], without a batch's arrays.
    async fn try_append_one(
        &self,
        append: &StreamAppend,
        payload: &Value,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let e = append
            .events
            .first()
            .ok_or_else(|| StoreError::Corrupt("an append of one event has none".into()))?;
        let row = sqlx::query(
            "SELECT outcome, stream_version, last_position \
             FROM placeledger_append_one($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(append.stream.as_str())
        .bind(append.expected.as_db())
        .bind(e.event_id)
        .bind(e.event_type.as_str())
        .bind(i32::try_from(e.schema_version).unwrap_or(i32::MAX))
        .bind(payload)
        .bind(e.metadata.correlation_id)
        .bind(e.metadata.causation_id)
        .bind(e.metadata.actor.as_deref())
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        let outcome: String = row.try_get("outcome")?;
        let version: i64 = row.try_get("stream_version")?;
        match outcome.as_str() {
            "ok" | "duplicate" => {
                let position: i64 = row.try_get("last_position")?;
                if outcome == "ok" {
                    self.head.advance(to_u64(position));
                }
                Ok(vec![AppendResult {
                    first_version: to_u64(version),
                    last_version: to_u64(version),
                    last_position: to_u64(position),
                    duplicate: outcome == "duplicate",
                }])
            }
            "conflict" => Err(StoreError::Conflict {
                stream: append.stream.to_string(),
                expected: append.expected,
                actual: to_u64(version),
            }),
            "partial" => Err(StoreError::IdempotencyMismatch {
                stream: append.stream.to_string(),
            }),
            other => Err(StoreError::Corrupt(format!("append outcome {other:?}"))),
        }
    }

    /// A large append by COPY, keeping `placeledger_append`'s rules: in one transaction, read
    /// each stream's version, with positions and the transaction id taken in the same
    /// critical section as the function's (`placeledger_reserve_positions`, 0006); COPY the
    /// rows; commit. `None` when an event id is already stored or a stream is not at its
    /// expected version: the caller asks `placeledger_append`, which tells a retry
    /// (`duplicate`) from a `partial` one and a conflict from both. A rival that commits to a
    /// stream between the read and the COPY breaks `events_pkey`, the transaction rolls
    /// back, and the caller runs the append again.
    async fn try_copy(
        &self,
        appends: &[StreamAppend],
        texts: &[Vec<String>],
    ) -> Result<Option<Vec<AppendResult>>, StoreError> {
        let total: usize = appends.iter().map(|a| a.events.len()).sum();
        let streams: Vec<String> = appends
            .iter()
            .map(|a| a.stream.as_str().to_owned())
            .collect();
        let mut tx = self.pool.begin().await?;
        // One round trip: the positions (and the transaction id, in the critical section
        // shared with `placeledger_append`) and each stream's version. A stored event id is
        // found by the COPY itself (`events_event_id_key`), which hands the append to the
        // function; a rival committing to a stream after this read breaks `events_pkey`.
        let row = sqlx::query(
            "SELECT r.transaction_id::text AS transaction_id, r.first_position, \
                    ARRAY(SELECT coalesce((SELECT max(e.stream_version) FROM events e \
                                           WHERE e.stream_id = s.stream_id), 0) \
                            FROM unnest($2::text[]) WITH ORDINALITY AS s(stream_id, k) \
                           ORDER BY s.k) AS versions \
               FROM placeledger_reserve_positions($1) r",
        )
        .bind(i32::try_from(total).unwrap_or(i32::MAX))
        .bind(&streams)
        .fetch_one(&mut *tx)
        .await?;
        let versions: Vec<i64> = row.try_get("versions")?;
        let stale = appends
            .iter()
            .zip(&versions)
            .any(|(a, &current)| a.expected.as_db().is_some_and(|e| e != current));
        if stale {
            // A conflict, or this very append acknowledged before (a retry): the function
            // checks the ids first and says which. The positions taken are a gap the no-skip
            // reader passes once this transaction has rolled back.
            tx.rollback().await?;
            return Ok(None);
        }
        let xid: String = row.try_get("transaction_id")?;
        let first: i64 = row.try_get("first_position")?;
        let written = async {
            let results = copy_events(&mut tx, appends, texts, &versions, first, &xid).await?;
            tx.commit().await?;
            Ok(results)
        };
        match written.await {
            Ok((results, last)) => {
                self.head.advance(to_u64(last));
                Ok(Some(results))
            }
            // An event id is stored: the function tells a retry from a partial one.
            Err(e) if unique_violation(&e) == Some("events_event_id_key") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Writes `appends`'s events by COPY at positions from `first`, after stream versions
/// `versions`, in the open transaction `tx`: each append's result and the last position.
async fn copy_events(
    tx: &mut sqlx::PgTransaction<'_>,
    appends: &[StreamAppend],
    texts: &[Vec<String>],
    versions: &[i64],
    first: i64,
    xid: &str,
) -> Result<(Vec<AppendResult>, i64), StoreError> {
    let recorded_at = Utc::now().to_rfc3339();
    let mut results = Vec::with_capacity(appends.len());
    let mut copy = tx.copy_in_raw(COPY).await?;
    let mut buffer = String::with_capacity(COPY_CHUNK + 4096);
    let mut position = first;
    for ((a, texts), &base) in appends.iter().zip(texts).zip(versions) {
        let first_version = base + 1;
        for (i, (e, payload)) in a.events.iter().zip(texts).enumerate() {
            copy_row(
                &mut buffer,
                position,
                a.stream.as_str(),
                base + 1 + i as i64,
                e,
                payload,
                &recorded_at,
                xid,
            );
            position += 1;
            if buffer.len() >= COPY_CHUNK {
                copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
                buffer.reserve(COPY_CHUNK + 4096);
            }
        }
        let n = a.events.len() as i64;
        results.push(AppendResult {
            first_version: to_u64(first_version),
            last_version: to_u64(base + n),
            last_position: to_u64(position - 1),
            duplicate: false,
        });
    }
    if !buffer.is_empty() {
        copy.send(buffer.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok((results, position - 1))
}

impl PgStore {
    async fn try_append(
        &self,
        appends: &[StreamAppend],
        payloads: &[Value],
    ) -> Result<Vec<AppendResult>, StoreError> {
        let mut starts = Vec::with_capacity(appends.len());
        let mut counts = Vec::with_capacity(appends.len());
        let mut event_appends = Vec::with_capacity(payloads.len());
        let mut offset = 0_i32;
        for (k, a) in appends.iter().enumerate() {
            let n = i32::try_from(a.events.len()).unwrap_or(i32::MAX);
            starts.push(offset);
            counts.push(n);
            offset = offset.saturating_add(n);
            let k = i32::try_from(k + 1).unwrap_or(i32::MAX);
            event_appends.extend(std::iter::repeat_n(k, a.events.len()));
        }
        let events = || appends.iter().flat_map(|a| a.events.iter());
        let rows = sqlx::query(
            "SELECT append_index, outcome, stream_version, first_version, last_position \
             FROM placeledger_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(
            appends
                .iter()
                .map(|a| a.stream.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            appends
                .iter()
                .map(|a| a.expected.as_db())
                .collect::<Vec<_>>(),
        )
        .bind(starts)
        .bind(counts)
        .bind(event_appends)
        .bind(events().map(|e| e.event_id).collect::<Vec<Uuid>>())
        .bind(
            events()
                .map(|e| e.event_type.clone())
                .collect::<Vec<String>>(),
        )
        .bind(
            events()
                .map(|e| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
                .collect::<Vec<i32>>(),
        )
        .bind(payloads.to_vec())
        .bind(
            events()
                .map(|e| e.metadata.correlation_id)
                .collect::<Vec<Option<Uuid>>>(),
        )
        .bind(
            events()
                .map(|e| e.metadata.causation_id)
                .collect::<Vec<Option<Uuid>>>(),
        )
        .bind(
            events()
                .map(|e| e.metadata.actor.clone())
                .collect::<Vec<Option<String>>>(),
        )
        .bind(Utc::now())
        .fetch_all(&self.pool)
        .await?;
        let mut results = Vec::with_capacity(rows.len());
        let mut highest = None;
        for row in &rows {
            let k: i32 = row.try_get("append_index")?;
            let append = usize::try_from(k - 1)
                .ok()
                .and_then(|i| appends.get(i))
                .ok_or_else(|| StoreError::Corrupt(format!("append index {k}")))?;
            let outcome: String = row.try_get("outcome")?;
            let version: i64 = row.try_get("stream_version")?;
            match outcome.as_str() {
                "ok" | "duplicate" => {
                    let first: i64 = row.try_get("first_version")?;
                    let last_position: i64 = row.try_get("last_position")?;
                    if outcome == "ok" {
                        highest = highest.max(Some(last_position));
                    }
                    results.push(AppendResult {
                        first_version: to_u64(first),
                        last_version: to_u64(version),
                        last_position: to_u64(last_position),
                        duplicate: outcome == "duplicate",
                    });
                }
                "conflict" => {
                    return Err(StoreError::Conflict {
                        stream: append.stream.to_string(),
                        expected: append.expected,
                        actual: to_u64(version),
                    });
                }
                "partial" => {
                    return Err(StoreError::IdempotencyMismatch {
                        stream: append.stream.to_string(),
                    });
                }
                other => return Err(StoreError::Corrupt(format!("append outcome {other:?}"))),
            }
        }
        if results.len() != appends.len() {
            return Err(StoreError::Corrupt(format!(
                "{} results for {} appends",
                results.len(),
                appends.len()
            )));
        }
        if let Some(p) = highest {
            self.head.advance(to_u64(p));
        }
        Ok(results)
    }
}

/// One row of COPY's text format.
#[allow(clippy::too_many_arguments)]
fn copy_row(
    out: &mut String,
    position: i64,
    stream: &str,
    version: i64,
    e: &crate::NewEvent,
    payload: &str,
    recorded_at: &str,
    xid: &str,
) {
    use std::fmt::Write as _;
    let _ = write!(out, "{position}\t");
    copy_text(out, stream);
    let _ = write!(out, "\t{version}\t{}\t", e.event_id);
    copy_text(out, &e.event_type);
    let _ = write!(out, "\t{}\t", e.schema_version);
    copy_text(out, payload);
    out.push('\t');
    copy_optional(
        out,
        e.metadata.correlation_id.map(|u| u.to_string()).as_deref(),
    );
    out.push('\t');
    copy_optional(
        out,
        e.metadata.causation_id.map(|u| u.to_string()).as_deref(),
    );
    out.push('\t');
    copy_optional(out, e.metadata.actor.as_deref());
    let _ = writeln!(out, "\t{recorded_at}\t{xid}");
}

fn copy_optional(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => copy_text(out, v),
        None => out.push_str("\\N"),
    }
}

/// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_text(out: &mut String, value: &str) {
    if !value.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

async fn max_position(pool: &PgPool) -> Result<u64, StoreError> {
    let p: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(to_u64(p.unwrap_or(0)))
}

fn row_to_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        position: to_u64(row.try_get("position")?),
        stream_id: row.try_get("stream_id")?,
        stream_version: to_u64(row.try_get("stream_version")?),
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: u32::try_from(row.try_get::<i32, _>("schema_version")?)
            .map_err(|e| StoreError::Corrupt(format!("schema_version: {e}")))?,
        payload: row.try_get("payload")?,
        metadata: Metadata {
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
            actor: row.try_get("actor")?,
        },
        recorded_at: row.try_get("recorded_at")?,
    })
}

/// Which unique constraint an insert broke, if that is what went wrong.
fn unique_violation(e: &StoreError) -> Option<&str> {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or_default())
        }
        _ => None,
    }
}

#[async_trait]
impl EventStore for PgStore {
    async fn append_batch(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        let texts = validate(&appends)?;
        let total: usize = appends.iter().map(|a| a.events.len()).sum();
        let mut copy = total >= COPY_FROM;
        let payloads: Vec<Value> = if copy {
            Vec::new()
        } else {
            appends
                .iter()
                .flat_map(|a| a.events.iter().map(|e| e.payload.clone()))
                .collect()
        };
        // A unique violation means another append committed between our checks and our
        // insert: a rival for the same stream version, or a concurrent copy of this very
        // batch. Running it again lets the function's own checks say which: `duplicate`
        // (our copy won: its result is ours), `conflict` (with the actual version), or, with
        // `Any`, success at the next version.
        //
        // A conflict can be the same race seen earlier: the function checks the event ids
        // first and the stream version second, each statement seeing what had committed when
        // it began, so a concurrent copy of this batch committing between the two makes the
        // version look taken. Asking once more turns that into `duplicate`; a real conflict
        // is simply reported again.
        let mut last_race = None;
        let mut conflicts = 0;
        let one = match (appends.as_slice(), payloads.as_slice()) {
            ([append], [payload]) if append.events.len() == 1 => Some((append, payload)),
            _ => None,
        };
        // The payloads for the function, when an append meant for COPY turns out to hold a
        // stored id.
        let mut fallback: Option<Vec<Value>> = None;
        for _ in 0..RACE_RETRIES {
            let attempt = match one {
                _ if copy => match self.try_copy(&appends, &texts).await {
                    Ok(Some(results)) => Ok(results),
                    // An id is stored: the function tells a retry from a partial one.
                    Ok(None) => {
                        copy = false;
                        let all = fallback.insert(
                            appends
                                .iter()
                                .flat_map(|a| a.events.iter().map(|e| e.payload.clone()))
                                .collect(),
                        );
                        self.try_append(&appends, all).await
                    }
                    Err(e) => Err(e),
                },
                Some((append, payload)) => self.try_append_one(append, payload).await,
                None => {
                    self.try_append(&appends, fallback.as_deref().unwrap_or(&payloads))
                        .await
                }
            };
            match attempt {
                Err(e) if unique_violation(&e).is_some() => last_race = Some(e),
                Err(e @ StoreError::Conflict { .. }) if conflicts == 0 => {
                    conflicts += 1;
                    last_race = Some(e);
                }
                done => return done,
            }
        }
        Err(last_race.unwrap_or_else(|| StoreError::Corrupt("append retries exhausted".into())))
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "{SELECT} WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(stream.as_str())
            .bind(to_i64(after_version))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_event).collect()
    }

    /// Reads in position order and stops at the first gap that may still fill.
    ///
    /// A gap below a committed event is a position taken by a transaction that has not
    /// committed (it may) or rolled back (it never will). Positions are taken in
    /// transaction-id order, so every transaction that could fill the gap has an id below
    /// the event's own; once the snapshot's xmin has passed the event's transaction id, all
    /// of them have finished and the gap is permanent (`settled`).
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("{SELECT} WHERE position > $1 ORDER BY position LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_i64(after))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut expected = after + 1;
        for row in &rows {
            let position = to_u64(row.try_get("position")?);
            let settled: bool = row.try_get("settled")?;
            if position != expected && !settled {
                break;
            }
            out.push(row_to_event(row)?);
            expected = position + 1;
        }
        Ok(out)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let v: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
        )
        .bind(stream.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(v))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        max_position(&self.pool).await
    }

    fn head_watch(&self) -> watch::Receiver<u64> {
        self.head.watch()
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query(
            "SELECT name, version, position, state \
             FROM projection_checkpoints WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Checkpoint {
                name: r.try_get("name")?,
                version: u32::try_from(r.try_get::<i32, _>("version")?)
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
             VALUES ($1, $2, $3, $4, now()) ON CONFLICT (name) DO UPDATE SET \
             version = excluded.version, position = excluded.position, state = excluded.state, \
             saved_at = excluded.saved_at",
        )
        .bind(&checkpoint.name)
        .bind(i32::try_from(checkpoint.version).unwrap_or(i32::MAX))
        .bind(to_i64(checkpoint.position))
        .bind(&checkpoint.state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
