//! The command step and the import step: one path for every writer (the API's mutations and
//! `importFile`, the `placeledger` command). A command is checked against who may record it,
//! decided by the domain on this node's ledger and appended at the version compared; an
//! import is all its rows or nothing.

use std::sync::{Arc, OnceLock};

use placeledger_domain::{AuthorityCode, Command};
use placeledger_import::table::Table;
use placeledger_import::{Format, Problem};
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_store::EventStore;
use tokio::sync::Mutex;

use crate::access::{Role, Viewer, may_record};
use crate::error::AppError;
use crate::live::Live;

/// How long a writer waits for its own node's read models to show what it wrote.
const READ_YOUR_WRITES: std::time::Duration = std::time::Duration::from_secs(10);

/// What a command recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The stream the command wrote to and its version after the write: the expected version
    /// of the next change to it.
    pub stream: String,
    pub version: u64,
    /// The event position of the write.
    pub position: u64,
    /// The event recorded, e.g. `PlanIssued`.
    pub event_type: String,
}

/// A file to import: its layout, how to treat what it cannot place, its name and bytes.
#[derive(Debug, Clone, Copy)]
pub struct ImportFile<'a> {
    pub format: Format,
    pub options: placeledger_import::Options,
    pub file: &'a str,
    pub bytes: &'a [u8],
}

/// What an import recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub format: Format,
    /// Data rows read, and the facts (commands) they made.
    pub rows: u64,
    pub facts: u64,
    /// Events written now, and facts found already stored (a file imported again records
    /// nothing new).
    pub new_events: u64,
    pub already_stored: u64,
    /// The position of the last event in the store after the import.
    pub position: u64,
    /// Rows deliberately passed over, with why.
    pub notes: Vec<String>,
}

/// Told how an import is going: the command line shows a bar, a server nothing.
pub trait ImportProgress: Sync {
    /// `done` of `total` bytes of the file read.
    fn reading(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
    /// A later stage begins.
    fn stage(&self, message: &str) {
        let _ = message;
    }
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl ImportProgress for Quiet {}

/// The writers of one node: one ledger (commands are decided on its folded state, one at a
/// time), and the read models to wait for (read your writes).
#[derive(Debug, Clone)]
pub struct Commands {
    store: Arc<dyn EventStore>,
    ledger: Arc<Mutex<Option<Ledger>>>,
    /// Set once the ledger is open: the position of the snapshot it started from (0: it
    /// folded the whole log). Readable while a command holds the ledger.
    opened_from: Arc<OnceLock<u64>>,
    live: Option<Live>,
}

impl Commands {
    /// Writers on `store`; answers leave once `live` (if any) shows the write.
    pub fn new(store: Arc<dyn EventStore>, live: Option<Live>) -> Self {
        Commands {
            store,
            ledger: Arc::default(),
            opened_from: Arc::default(),
            live,
        }
    }

    /// `None` while this node's ledger is not open yet (commands would wait for it);
    /// otherwise the position of the snapshot it started from, 0 if it folded the whole log.
    pub fn ledger_opened_from(&self) -> Option<u64> {
        self.opened_from.get().copied()
    }

    /// Opens this node's ledger now, in a task of its own, instead of on the first command
    /// (see `App::serving`). A failure is logged; the first command then tries again.
    pub fn open_in_background(&self) {
        let (slot, store, opened) = (
            self.ledger.clone(),
            self.store.clone(),
            self.opened_from.clone(),
        );
        tokio::spawn(async move {
            let mut guard = slot.lock().await;
            if guard.is_none() {
                let started = std::time::Instant::now();
                match Ledger::open(store).await {
                    Ok(ledger) => {
                        tracing::info!(
                            position = ledger.position(),
                            from_snapshot_at = ledger.started_from(),
                            seconds = started.elapsed().as_secs_f64(),
                            "ledger open: commands are decided from here"
                        );
                        let _ = opened.set(ledger.started_from());
                        *guard = Some(ledger);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "opening the ledger; the first command will try again");
                    }
                }
            }
        });
    }

    /// Records one command for `viewer` (events name `actor`), if `viewer` may record it. With
    /// `expected`, only if the command's stream is still at that version (0: it must not
    /// exist yet): otherwise a conflict naming the actual version; a stream that does not
    /// exist is not found.
    pub async fn record(
        &self,
        viewer: &Viewer,
        actor: String,
        command: Command,
        expected: Option<u64>,
    ) -> Result<Recorded, AppError> {
        let stream = command.stream_id();
        let mut guard = self.ledger.lock().await;
        let ledger = open(&mut guard, &self.store, &self.opened_from).await?;
        may_record(viewer, &command, &command.responsible(ledger.state()))?;
        let mut context = Context::actor(actor);
        if let Some(expected) = expected {
            if expected > 0 && ledger.stream_version(&stream).is_none() {
                return Err(AppError::NotFound(format!(
                    "there is no {stream} to change (expected version {expected}); nothing was recorded"
                )));
            }
            context = context.expecting(stream.clone(), expected);
        }
        // Whether the caller may see the stream as it stands (another authority's child or
        // scenario under an id the caller chose: its version and history are not told).
        let hidden = owner_of_stream(ledger.state(), &command).is_some_and(|o| !viewer.writes(o));
        let recorded = match ledger
            .execute(std::slice::from_ref(&command), &context)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Err(match AppError::from(e) {
                    AppError::Conflict {
                        stream, expected, ..
                    } if hidden => AppError::Conflict {
                        stream,
                        expected,
                        actual: None,
                    },
                    other => other,
                });
            }
        };
        drop(guard);
        let (Some((_, result)), Some(event_type)) = (
            recorded.streams.iter().find(|(s, _)| s == &stream),
            recorded.event_types.last().cloned(),
        ) else {
            return Err(AppError::internal(&NothingRecorded { stream }));
        };
        let position = result.last_position;
        self.read_your_writes(position).await;
        Ok(Recorded {
            stream,
            version: result.last_version,
            position,
            event_type,
        })
    }

    /// Imports a file in one of the importers' layouts: every row is checked first; a file
    /// with any problem imports nothing and the error lists every problem. A valid file is
    /// recorded in one transaction with ids derived from its content, so importing it again
    /// records nothing. A planner imports only facts of their own authority (England's
    /// figure, in every DfE file, is passed over with a note: administrators record it).
    pub async fn import(
        &self,
        viewer: &Viewer,
        actor: String,
        format: Format,
        file: &str,
        bytes: &[u8],
        progress: &dyn ImportProgress,
    ) -> Result<Imported, AppError> {
        let what = ImportFile {
            format,
            options: placeledger_import::Options::default(),
            file,
            bytes,
        };
        self.import_file(viewer, actor, what, progress).await
    }

    /// [`Commands::import`] of `what`, with its options (registering the authorities a DfE
    /// file names: administrators only, as registering an authority is).
    pub async fn import_file(
        &self,
        viewer: &Viewer,
        actor: String,
        what: ImportFile<'_>,
        progress: &dyn ImportProgress,
    ) -> Result<Imported, AppError> {
        let ImportFile {
            format,
            options,
            file,
            bytes,
        } = what;
        viewer.may_record_anything()?;
        let total = bytes.len() as u64;
        let table = Table::read_with_progress(file, bytes, |done| progress.reading(done, total))
            .map_err(|p| AppError::BadFile { problems: p })?;
        progress.reading(total, total);
        let mut guard = self.ledger.lock().await;
        let ledger = open(&mut guard, &self.store, &self.opened_from).await?;
        progress.stage(&format!("checking the rows of {file}"));
        let mut parsed = format
            .parse_with(&table, ledger.state(), options)
            .map_err(|p| AppError::BadFile { problems: p })?;
        if viewer.role != Role::Admin {
            pass_over_england(&mut parsed);
        }
        for (i, command) in parsed.commands.iter().enumerate() {
            may_record(viewer, command, &command.responsible(ledger.state())).map_err(|e| {
                let line = parsed.lines.get(i).copied().unwrap_or(0);
                match e {
                    AppError::Forbidden(m) => AppError::Forbidden(format!("{file}:{line}: {m}")),
                    AppError::NotFound(m) => AppError::NotFound(format!("{file}:{line}: {m}")),
                    other => other,
                }
            })?;
        }
        progress.stage(&format!("checking {} facts", parsed.commands.len()));
        let refused = ledger.check(&parsed.commands).await?;
        if !refused.is_empty() {
            let problems: Vec<Problem> = refused
                .into_iter()
                .map(|(i, e)| parsed.problem_at(file, i, None, e.to_string()))
                .collect();
            return Err(AppError::BadFile { problems });
        }
        progress.stage(&format!(
            "recording {} facts in one transaction",
            parsed.commands.len()
        ));
        let context = Context::actor(actor).with_event_ids(EventIds::Derived(format.namespace()));
        let recorded = ledger.execute(&parsed.commands, &context).await?;
        let position = ledger.position();
        drop(guard);
        self.read_your_writes(position).await;
        Ok(Imported {
            format,
            rows: parsed.rows as u64,
            facts: parsed.commands.len() as u64,
            new_events: recorded.new_events(),
            already_stored: recorded.already_stored(),
            position,
            notes: parsed.notes,
        })
    }

    /// Returns once this node's read models show `position` (or after a while, saying so).
    async fn read_your_writes(&self, position: u64) {
        if let Some(live) = &self.live
            && !live.wait_for(position, READ_YOUR_WRITES).await
        {
            tracing::warn!(
                position,
                "the read models have not caught up with a write yet"
            );
        }
    }
}

/// England's figure is in every DfE file; a planner's import records its own authority's
/// rows and leaves England's to an administrator.
fn pass_over_england(parsed: &mut placeledger_import::Parsed) {
    let england = |c: &Command| matches!(c, Command::RecordNationalCaseload { .. });
    let passed = parsed.commands.iter().filter(|c| england(c)).count();
    if passed > 0 {
        let mut keep = parsed.commands.iter().map(|c| !england(c));
        parsed.lines.retain(|_| keep.next().unwrap_or(true));
        parsed.commands.retain(|c| !england(c));
        parsed.notes.push(format!(
            "passed over England's plans for {passed} census(es): recorded by administrators"
        ));
    }
}

/// The ledger of this node, opened on first use and caught up with every node's writes.
async fn open<'a>(
    slot: &'a mut Option<Ledger>,
    store: &Arc<dyn EventStore>,
    opened_from: &OnceLock<u64>,
) -> Result<&'a mut Ledger, AppError> {
    let ledger = match slot {
        Some(l) => l,
        None => {
            let ledger = Ledger::open(store.clone()).await?;
            let _ = opened_from.set(ledger.started_from());
            slot.insert(ledger)
        }
    };
    ledger.catch_up().await?;
    Ok(ledger)
}

/// A command was recorded but its reply names no event on its stream: a bug, never a
/// version 0.
#[derive(Debug, thiserror::Error)]
#[error("the command was decided into no event on {stream}")]
struct NothingRecorded {
    stream: String,
}

/// The authority whose child or scenario the command's stream is, if it exists.
fn owner_of_stream<'a>(
    state: &'a placeledger_domain::State,
    command: &Command,
) -> Option<&'a AuthorityCode> {
    if let Some(child) = command.child() {
        return state.children.get(child).map(|c| &c.authority);
    }
    match command {
        Command::CreateScenario { scenario, .. }
        | Command::AddScenarioLever { scenario, .. }
        | Command::RemoveScenarioLever { scenario, .. } => {
            state.scenarios.get(scenario).map(|(a, _)| a)
        }
        _ => None,
    }
}
