//! The projection runner: brings a projection up to the head of the log, saving its state
//! with the position it has folded to (one row, one statement) every so often and at the end,
//! so a restart resumes where the last save left off. `rebuild` starts again from position 0.
//!
//! A saved state of another shape version (`Projection::VERSION`), or one that no longer
//! loads, is not an error: the projection is rebuilt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use placeledger_projection::Projection;
use placeledger_store::{Checkpoint, EventStore, Pages, StoreError};

/// Events read per round trip (the next page is read while this one is folded).
const READ_BATCH: usize = 5_000;
/// Folding between saves: at least this many events and this long. A save writes the whole
/// state (the caseload's is megabytes), so saving by count alone made a long fold spend more
/// time saving than folding; a crash loses at most about `SAVE_INTERVAL` of folding.
pub const SAVE_EVERY: u64 = 100_000;
pub const SAVE_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] placeledger_codec::StoredDecodeError),
    #[error("saving the state of projection {name}")]
    Save {
        name: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Where a projection stands after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<P> {
    pub projection: P,
    /// The position the projection has folded to.
    pub position: u64,
    /// Where it started this run (0 for a rebuild).
    pub from: u64,
    /// Whether a saved state was set aside (another version, or unreadable).
    pub rebuilt: bool,
}

/// Brings `P` up to the head: from its checkpoint if one of this version loads, else from 0.
/// `progress(position, head)` is told after every batch.
pub async fn catch_up<P: Projection>(
    store: &Arc<dyn EventStore>,
    progress: impl FnMut(u64, u64),
) -> Result<Run<P>, RunnerError> {
    let saved = store.load_checkpoint(P::NAME).await?;
    let (projection, from, rebuilt) = match saved {
        Some(c) if c.version == P::VERSION => match serde_json::from_str::<P>(&c.state) {
            Ok(p) => (p, c.position, false),
            Err(e) => {
                tracing::warn!(name = P::NAME, error = %e, "saved state unreadable; rebuilding");
                (P::default(), 0, true)
            }
        },
        Some(c) => {
            tracing::info!(
                name = P::NAME,
                saved = c.version,
                current = P::VERSION,
                "state shape changed; rebuilding"
            );
            (P::default(), 0, true)
        }
        None => (P::default(), 0, false),
    };
    fold(store, projection, from, rebuilt, progress).await
}

/// Folds `P` again from position 0 and saves it, whatever was saved before.
pub async fn rebuild<P: Projection>(
    store: &Arc<dyn EventStore>,
    progress: impl FnMut(u64, u64),
) -> Result<Run<P>, RunnerError> {
    fold(store, P::default(), 0, true, progress).await
}

async fn fold<P: Projection>(
    store: &Arc<dyn EventStore>,
    mut projection: P,
    from: u64,
    rebuilt: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Run<P>, RunnerError> {
    let head = store.head_position().await?;
    let mut position = from;
    let mut since_save = 0;
    let mut saved_at = Instant::now();
    let mut pages = Pages::new(store, from, READ_BATCH);
    while let Some(batch) = pages.next().await? {
        let Some(last) = batch.last().map(|e| e.position) else {
            break;
        };
        for stored in &batch {
            let event = placeledger_codec::decode_at(stored.stored_form())?;
            projection.apply(&event);
        }
        since_save += batch.len() as u64;
        position = last;
        progress(position, head.max(position));
        if since_save >= SAVE_EVERY && saved_at.elapsed() >= SAVE_INTERVAL {
            save(store, &projection, position).await?;
            since_save = 0;
            saved_at = Instant::now();
        }
    }
    if since_save > 0 || rebuilt || from == 0 {
        save(store, &projection, position).await?;
    }
    Ok(Run {
        projection,
        position,
        from,
        rebuilt,
    })
}

async fn save<P: Projection>(
    store: &Arc<dyn EventStore>,
    projection: &P,
    position: u64,
) -> Result<(), RunnerError> {
    let state = serde_json::to_string(projection).map_err(|source| RunnerError::Save {
        name: P::NAME,
        source,
    })?;
    store
        .save_checkpoint(&Checkpoint {
            name: P::NAME.to_owned(),
            version: P::VERSION,
            position,
            state,
        })
        .await?;
    Ok(())
}
