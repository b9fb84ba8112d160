//! The ledger: where a command becomes stored events.
//!
//! It folds the event log into the domain's [`State`], decides a list of commands one after
//! another against a working copy of that state (so a list may register a district and then
//! open a setting in it), and appends every resulting event with one
//! [`EventStore::append_batch`]: all of it, or nothing. Each stream is appended at the version
//! the ledger last saw, so a concurrent writer makes the append conflict; the ledger then
//! catches up and decides again.
//!
//! Event ids are random (time-ordered) by default. An importer asks for ids derived from the
//! content ([`EventIds::Derived`]), so that recording the same facts again is recognised by
//! the store as a retry and writes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use placeledger_codec::CodecError;
use placeledger_domain::{Command, DomainError, Event, State, decide, evolve};
use placeledger_store::{
    AppendResult, Checkpoint, EventStore, ExpectedVersion, Metadata, NewEvent, Pages, StoreError,
    StreamAppend, StreamId,
};
use uuid::Uuid;

/// How many times to catch up and decide again after a concurrent writer got in first. Every
/// round lets at least one writer of a contended stream through, so with a handful of writers
/// on one stream a writer that loses fifty rounds in a row is vanishingly unlikely.
const CONFLICT_RETRIES: usize = 50;
const READ_BATCH: usize = 5_000;
/// How long a writer that lost a race waits to read the winner's events.
const CATCH_UP_WAIT: Duration = Duration::from_secs(10);
/// The name the ledger's snapshot is saved under, beside the projections' checkpoints.
pub const SNAPSHOT: &str = "ledger";
/// Events folded past the snapshot before opening saves a new one: a save writes the whole
/// state (hundreds of megabytes for all of England), so not after every few events.
pub const SNAPSHOT_EVERY: u64 = 100_000;
/// How long an append cut off by the database going away is retried, with the same event
/// ids (so a commit that did happen is recognised, not repeated), before its outcome is
/// reported unknown.
pub const APPEND_RETRY_FOR: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Command `index` of the list was refused; nothing of the list was recorded.
    #[error("command {index}: {error}")]
    Refused { index: usize, error: DomainError },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] placeledger_codec::StoredDecodeError),
    #[error("event does not encode")]
    Encode(#[source] CodecError),
    #[error("the ledger's snapshot does not serialize")]
    Snapshot(#[source] serde_json::Error),
    /// The database stopped answering while the events were being appended, and did not
    /// come back within [`APPEND_RETRY_FOR`]: they may or may not be stored.
    #[error(
        "the database stopped answering during the append; the events may or may not be stored"
    )]
    OutcomeUnknown(#[source] StoreError),
}

/// How the events of a command list get their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIds {
    /// Fresh time-ordered ids: every execution records new events.
    Random,
    /// Ids derived from the namespace, the stream and the event's content (and, for identical
    /// events in one stream, their occurrence): the same facts recorded again are a retry.
    Derived(Uuid),
}

/// Who is acting, and the ids that tie a request's events together.
#[derive(Debug, Clone)]
pub struct Context {
    pub actor: Option<String>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub event_ids: EventIds,
    /// The version a caller last saw of the stream it writes (`expectedVersion`): if the
    /// stream has moved on, nothing is recorded and the error is a conflict naming the
    /// actual version. The check and the append are one step: the append is made at the
    /// version checked, so a writer on another node in between makes it conflict, the
    /// ledger catches up, and the check fails on the next round.
    pub expected: Option<(String, u64)>,
}

impl Context {
    pub fn actor(actor: impl Into<String>) -> Self {
        Self {
            actor: Some(actor.into()),
            correlation_id: None,
            causation_id: None,
            event_ids: EventIds::Random,
            expected: None,
        }
    }

    /// Records only if `stream` is still at `version` (0: the stream does not exist yet).
    pub fn expecting(mut self, stream: impl Into<String>, version: u64) -> Self {
        self.expected = Some((stream.into(), version));
        self
    }

    pub fn with_event_ids(mut self, ids: EventIds) -> Self {
        self.event_ids = ids;
        self
    }
}

/// What one execution recorded: one result per stream it appended to, in first-touched
/// order, and how many of its events (with derived ids) were found already stored and left
/// out of the append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub streams: Vec<(String, AppendResult)>,
    pub already_stored_skipped: u64,
    /// The type of every event the commands were decided into, in order (e.g. `PlanIssued`).
    pub event_types: Vec<String>,
}

impl Recorded {
    /// True when every stream's events were already stored (nothing was written).
    pub fn all_duplicates(&self) -> bool {
        self.streams.iter().all(|(_, r)| r.duplicate)
    }

    /// Events written by this execution.
    pub fn new_events(&self) -> u64 {
        self.count(false)
    }

    /// Events this execution found already stored (a re-run of the same facts).
    pub fn already_stored(&self) -> u64 {
        self.count(true) + self.already_stored_skipped
    }

    fn count(&self, duplicate: bool) -> u64 {
        self.streams
            .iter()
            .filter(|(_, r)| r.duplicate == duplicate)
            .map(|(_, r)| r.last_version - r.first_version + 1)
            .sum()
    }
}

/// New events grouped by stream, in the order the streams were first touched.
type Parts = Vec<(String, Vec<Event>)>;

#[derive(Debug)]
pub struct Ledger {
    store: Arc<dyn EventStore>,
    state: State,
    versions: HashMap<String, u64>,
    position: u64,
    /// The position of the snapshot the ledger was opened from (0: none, the whole log).
    started_from: u64,
    /// How long an append cut off by the database going away is re-sent.
    append_retry_for: Duration,
}

/// What a snapshot holds besides its position: the fold and every stream's version.
#[derive(serde::Deserialize)]
struct Snapshot {
    state: State,
    versions: HashMap<String, u64>,
}

/// A [`Snapshot`] to save, borrowing the ledger's own (no copy of a national state).
#[derive(serde::Serialize)]
struct SnapshotOf<'a> {
    state: &'a State,
    versions: &'a HashMap<String, u64>,
}

impl Ledger {
    /// Opens a ledger on `store`: from its snapshot if one of this [`State::SHAPE`] loads,
    /// then folding every event stored after it. If that was [`SNAPSHOT_EVERY`] events or
    /// more, it saves a new snapshot at the head (a failed save is logged, not an error: the
    /// ledger is open either way).
    pub async fn open(store: Arc<dyn EventStore>) -> Result<Self, LedgerError> {
        Self::open_with(store, SNAPSHOT_EVERY).await
    }

    /// [`Ledger::open`], saving a new snapshot once `snapshot_every` events were folded.
    pub async fn open_with(
        store: Arc<dyn EventStore>,
        snapshot_every: u64,
    ) -> Result<Self, LedgerError> {
        let mut ledger = Self {
            store,
            state: State::default(),
            versions: HashMap::new(),
            position: 0,
            started_from: 0,
            append_retry_for: APPEND_RETRY_FOR,
        };
        ledger.restore().await?;
        ledger.catch_up().await?;
        if ledger.position - ledger.started_from >= snapshot_every
            && let Err(e) = ledger.save_snapshot().await
        {
            tracing::warn!(error = %e, "saving the ledger's snapshot");
        }
        Ok(ledger)
    }

    /// Starts from the saved snapshot, if there is one of this shape that loads and is not
    /// ahead of the log; otherwise the ledger stays empty, to fold from the first event.
    async fn restore(&mut self) -> Result<(), LedgerError> {
        let Some(saved) = self.store.load_checkpoint(SNAPSHOT).await? else {
            return Ok(());
        };
        if saved.version != State::SHAPE {
            tracing::info!(
                saved = saved.version,
                current = State::SHAPE,
                "the ledger's snapshot has another shape; folding the whole log"
            );
            return Ok(());
        }
        let head = self.store.head_position().await?;
        if saved.position > head {
            tracing::warn!(
                snapshot = saved.position,
                head,
                "the ledger's snapshot is ahead of the log; folding the whole log"
            );
            return Ok(());
        }
        match serde_json::from_str::<Snapshot>(&saved.state) {
            Ok(snapshot) => {
                self.state = snapshot.state;
                self.versions = snapshot.versions;
                self.position = saved.position;
                self.started_from = saved.position;
                tracing::info!(
                    position = saved.position,
                    "the ledger starts from its snapshot"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the ledger's snapshot does not load; folding the whole log");
            }
        }
        Ok(())
    }

    /// Saves the fold and the stream versions at the ledger's position.
    pub async fn save_snapshot(&self) -> Result<(), LedgerError> {
        let snapshot = SnapshotOf {
            state: &self.state,
            versions: &self.versions,
        };
        let state = serde_json::to_string(&snapshot).map_err(LedgerError::Snapshot)?;
        self.store
            .save_checkpoint(&Checkpoint {
                name: SNAPSHOT.to_owned(),
                version: State::SHAPE,
                position: self.position,
                state,
            })
            .await?;
        Ok(())
    }

    /// Re-sends an append cut off by the database going away for `limit` instead of
    /// [`APPEND_RETRY_FOR`] before its outcome is reported unknown.
    pub fn with_append_retry_for(mut self, limit: Duration) -> Self {
        self.append_retry_for = limit;
        self
    }

    /// The domain state as of the last event folded.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The version of `stream` as of the last event folded; `None` if it has no event yet.
    pub fn stream_version(&self, stream: &str) -> Option<u64> {
        self.versions.get(stream).copied()
    }

    /// The position of the last event folded.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The position of the snapshot this ledger was opened from; 0 if it folded the whole
    /// log.
    pub fn started_from(&self) -> u64 {
        self.started_from
    }

    /// Folds every event stored since the last one seen.
    pub async fn catch_up(&mut self) -> Result<(), LedgerError> {
        let mut pages = Pages::new(&self.store, self.position, READ_BATCH);
        while let Some(batch) = pages.next().await? {
            for stored in &batch {
                let event = placeledger_codec::decode_at(stored.stored_form())?;
                let state = std::mem::take(&mut self.state);
                self.state = evolve(state, &event);
                self.versions
                    .insert(stored.stream_id.clone(), stored.stream_version);
                // Event by event: a failure part-way leaves state and position together.
                self.position = stored.position;
            }
        }
        Ok(())
    }

    /// After a conflict on `stream`: folds until the ledger has seen the stream at `version`
    /// (the version the store reported), so the commands are decided again on the other
    /// writer's events, not on the same view. A reader stops at a position that may still
    /// fill (PostgreSQL, see the store), so the event can be committed but not yet readable
    /// for a moment: wait with backoff, for at most [`CATCH_UP_WAIT`]. `false` if it never
    /// appeared.
    async fn catch_up_to(&mut self, stream: &str, version: u64) -> Result<bool, LedgerError> {
        let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            self.catch_up().await?;
            if self.versions.get(stream).copied().unwrap_or(0) >= version {
                return Ok(true);
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Decides every command in order against a working copy of the state, without recording
    /// anything, and returns every refusal with the command's index. A refused command leaves
    /// the working state as it was, so later commands are checked as if it were absent. An
    /// importer uses this to report every bad row of a file at once.
    pub async fn check(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<(usize, DomainError)>, LedgerError> {
        self.catch_up().await?;
        let mut working = self.state.clone();
        let mut refused = Vec::new();
        for (i, command) in commands.iter().enumerate() {
            match decide(&working, command) {
                Ok(events) => working = events.iter().fold(working, evolve),
                Err(e) => refused.push((i, e)),
            }
        }
        Ok(refused)
    }

    /// Decides `commands` in order and records all their events in one transaction. If any
    /// command is refused, nothing is recorded and the error names the command's index.
    pub async fn execute(
        &mut self,
        commands: &[Command],
        context: &Context,
    ) -> Result<Recorded, LedgerError> {
        self.catch_up().await?;
        let mut attempt = 0;
        // Ids (derived from content) found already stored in a stream that also gets new
        // events: a revised file re-imported. They are left out of the append.
        let mut stored: HashSet<Uuid> = HashSet::new();
        loop {
            if let Some((stream, expected)) = &context.expected {
                let actual = self.versions.get(stream).copied().unwrap_or(0);
                if actual != *expected {
                    return Err(StoreError::Conflict {
                        stream: stream.clone(),
                        expected: ExpectedVersion::Exact(*expected),
                        actual,
                    }
                    .into());
                }
            }
            let (parts, working) = self.decide_all(commands)?;
            if parts.is_empty() {
                return Ok(Recorded {
                    streams: Vec::new(),
                    already_stored_skipped: 0,
                    event_types: Vec::new(),
                });
            }
            let mut appends = self.to_appends(&parts, context)?;
            let event_types: Vec<String> = appends
                .iter()
                .flat_map(|a| a.events.iter().map(|e| e.event_type.clone()))
                .collect();
            let mut skipped = 0;
            let mut appended: Vec<String> = Vec::new();
            appends.retain_mut(|a| {
                let before = a.events.len();
                a.events.retain(|e| !stored.contains(&e.event_id));
                skipped += (before - a.events.len()) as u64;
                let keep = !a.events.is_empty();
                if keep {
                    appended.push(a.stream.to_string());
                }
                keep
            });
            if appends.is_empty() {
                return Ok(Recorded {
                    streams: Vec::new(),
                    already_stored_skipped: skipped,
                    event_types,
                });
            }
            match self.append_through_outage(appends).await? {
                Ok(results) => {
                    if skipped == 0 {
                        self.adopt(&parts, &results, working);
                    }
                    // The events are stored: failing to read the log back now (the database
                    // gone just after the commit) is not the command's failure, and must not
                    // be reported as one. The next command catches up first.
                    if let Err(e) = self.catch_up().await {
                        tracing::warn!(error = %e, "recorded, but could not read the log back yet");
                    }
                    let streams = appended.into_iter().zip(results).collect();
                    return Ok(Recorded {
                        streams,
                        already_stored_skipped: skipped,
                        event_types,
                    });
                }
                Err(StoreError::Conflict {
                    stream,
                    expected,
                    actual,
                }) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(%stream, attempt, "another writer got in first; deciding again");
                    if !self.catch_up_to(&stream, actual).await? {
                        return Err(StoreError::Conflict {
                            stream,
                            expected,
                            actual,
                        }
                        .into());
                    }
                }
                Err(StoreError::IdempotencyMismatch { stream })
                    if matches!(context.event_ids, EventIds::Derived(_))
                        && attempt < CONFLICT_RETRIES =>
                {
                    // Some of this stream's facts are stored, some are new: learn which.
                    attempt += 1;
                    let before = stored.len();
                    let id = StreamId::parse(stream.clone())?;
                    let mut after = 0;
                    loop {
                        let batch = self.store.read_stream(&id, after, READ_BATCH).await?;
                        let Some(last) = batch.last() else { break };
                        after = last.stream_version;
                        stored.extend(batch.iter().map(|e| e.event_id));
                    }
                    if stored.len() == before {
                        return Err(StoreError::IdempotencyMismatch { stream }.into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Appends; if the database goes away meanwhile, appends the same events (same ids)
    /// again until it answers or [`APPEND_RETRY_FOR`] passes. A first attempt that did commit
    /// comes back as a duplicate with its original result: nothing is stored twice, and the
    /// caller learns the outcome instead of guessing.
    async fn append_through_outage(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Result<Vec<AppendResult>, StoreError>, LedgerError> {
        let deadline = tokio::time::Instant::now() + self.append_retry_for;
        let mut pause = Duration::from_millis(50);
        // Whether an attempt may have reached the database (and committed) before the
        // connection went: from then on, only the store's answer to a re-sent append can
        // say whether the events are stored.
        let mut maybe_sent = false;
        loop {
            match self.store.append_batch(appends.clone()).await {
                Err(e) if e.is_unavailable() && tokio::time::Instant::now() < deadline => {
                    maybe_sent |= !e.nothing_sent();
                    tracing::warn!(error = %e, "the database went away during an append; retrying it");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                // No attempt ever had a connection: nothing was sent, nothing stored.
                Err(e) if e.nothing_sent() && !maybe_sent => return Ok(Err(e)),
                Err(e) if e.is_unavailable() => return Err(LedgerError::OutcomeUnknown(e)),
                other => return Ok(other),
            }
        }
    }

    /// After a successful append: if every part was new and its events took exactly the
    /// positions after the last one folded (no other writer in between), the working state
    /// the events were decided on is the state at the new position, and reading them back
    /// is unnecessary. Otherwise `catch_up` reads them as usual.
    fn adopt(&mut self, parts: &Parts, results: &[AppendResult], working: State) {
        let total: u64 = parts.iter().map(|(_, e)| e.len() as u64).sum();
        let all_new = results.iter().all(|r| !r.duplicate);
        let last = results.iter().map(|r| r.last_position).max().unwrap_or(0);
        if all_new && results.len() == parts.len() && last == self.position + total {
            self.state = working;
            for ((stream, _), r) in parts.iter().zip(results) {
                self.versions.insert(stream.clone(), r.last_version);
            }
            self.position = last;
        }
    }

    /// The events of every command, grouped by stream in first-touched order, and the state
    /// they leave.
    fn decide_all(&self, commands: &[Command]) -> Result<(Parts, State), LedgerError> {
        decide_parts(self.state.clone(), commands)
    }

    fn to_appends(
        &self,
        parts: &Parts,
        context: &Context,
    ) -> Result<Vec<StreamAppend>, LedgerError> {
        to_appends(parts, &self.versions, context)
    }
}

/// Decides `commands` in order against `state` (not against the log) and returns the appends
/// that would record them, each stream at its version in `versions` (absent: a new stream),
/// with the state they leave. For a bulk loader whose parts are histories that touch only
/// their own streams and a shared base (the national seed decides each authority's history
/// against England's geography alone): the store still checks every stream's version, so a
/// stream two parts both touch conflicts instead of forking.
pub fn plan(
    state: State,
    versions: &HashMap<String, u64>,
    commands: &[Command],
    context: &Context,
) -> Result<(Vec<StreamAppend>, State), LedgerError> {
    let (parts, working) = decide_parts(state, commands)?;
    Ok((to_appends(&parts, versions, context)?, working))
}

fn decide_parts(state: State, commands: &[Command]) -> Result<(Parts, State), LedgerError> {
    let mut working = state;
    let mut parts: Vec<(String, Vec<Event>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, command) in commands.iter().enumerate() {
        let events =
            decide(&working, command).map_err(|error| LedgerError::Refused { index: i, error })?;
        for event in events {
            working = evolve(working, &event);
            let stream = event.stream_id();
            let k = *index.entry(stream.clone()).or_insert_with(|| {
                parts.push((stream, Vec::new()));
                parts.len() - 1
            });
            parts[k].1.push(event);
        }
    }
    Ok((parts, working))
}

fn to_appends(
    parts: &[(String, Vec<Event>)],
    versions: &HashMap<String, u64>,
    context: &Context,
) -> Result<Vec<StreamAppend>, LedgerError> {
    let metadata = Metadata {
        correlation_id: context.correlation_id,
        causation_id: context.causation_id,
        actor: context.actor.clone(),
    };
    parts
        .iter()
        .map(|(stream, events)| {
            let expected = match versions.get(stream) {
                Some(&v) => ExpectedVersion::Exact(v),
                None => ExpectedVersion::NoStream,
            };
            // Identical events in one stream are told apart by their occurrence, so ids do
            // not depend on the order of distinct events (a file's row or column order).
            let mut occurrences: HashMap<String, usize> = HashMap::new();
            let new_events = events
                .iter()
                .map(|event| {
                    let encoded = placeledger_codec::encode(event).map_err(LedgerError::Encode)?;
                    let mut new =
                        NewEvent::new(encoded.event_type, encoded.schema_version, encoded.payload)
                            .with_metadata(metadata.clone());
                    if let EventIds::Derived(namespace) = context.event_ids {
                        let content = new.payload.to_string();
                        let seen = occurrences.entry(content.clone()).or_default();
                        let name = format!("{stream}\n{content}\n{seen}");
                        *seen += 1;
                        new = new.with_id(Uuid::new_v5(&namespace, name.as_bytes()));
                    }
                    Ok(new)
                })
                .collect::<Result<Vec<_>, LedgerError>>()?;
            Ok(StreamAppend::new(
                StreamId::parse(stream.clone())?,
                expected,
                new_events,
            ))
        })
        .collect()
}
