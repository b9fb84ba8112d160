//! Reading the log page by page, in three stages that overlap: the store reads page k+2
//! (on SQLite: builds it on sqlx's worker thread), another task parses page k+1, and the
//! caller decodes and folds page k.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{EventStore, StoreError, StoredEvent};

/// A page of the log as a backend read it: its last position, and its events, parsed when
/// asked for (SQLite returns a page as one JSON text).
#[derive(Debug)]
pub struct RawPage {
    last: Option<u64>,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Parsed(Vec<StoredEvent>),
    SqliteJson(String),
}

impl RawPage {
    /// A page already parsed.
    pub fn parsed(events: Vec<StoredEvent>) -> RawPage {
        RawPage {
            last: events.last().map(|e| e.position),
            body: Body::Parsed(events),
        }
    }

    pub(crate) fn sqlite_json(text: String, last: u64) -> RawPage {
        RawPage {
            last: Some(last),
            body: Body::SqliteJson(text),
        }
    }

    /// The position of the page's last event; `None` for an empty page.
    pub fn last_position(&self) -> Option<u64> {
        self.last
    }

    /// The page's events, in position order.
    pub fn into_events(self) -> Result<Vec<StoredEvent>, StoreError> {
        match self.body {
            Body::Parsed(events) => Ok(events),
            Body::SqliteJson(text) => crate::sqlite::parse_page(&text),
        }
    }
}

type Parsed = JoinHandle<Result<Vec<StoredEvent>, StoreError>>;

/// Pages read ahead of the caller: at most this many wait, parsed or being parsed.
const AHEAD: usize = 2;

/// The log after a position, oldest first, a page at a time. A task reads the pages one
/// after another, each from the last position of the one before, handing each to a task of
/// its own to parse: the pages are exactly those successive [`EventStore::read_all`] calls
/// return, so nothing is skipped or read twice. `next` is `None` once a read comes back
/// empty (the head as it stood then). At most [`AHEAD`] pages wait for the caller.
///
/// Needs a Tokio runtime; on a multi-threaded one the stages overlap. Dropping it stops
/// the reading.
#[derive(Debug)]
pub struct Pages {
    pages: mpsc::Receiver<Result<Parsed, StoreError>>,
    reader: JoinHandle<()>,
    done: bool,
}

impl Pages {
    /// Starts reading the events after `after`, `limit` to a page.
    pub fn new(store: &Arc<dyn EventStore>, after: u64, limit: usize) -> Pages {
        let (tx, pages) = mpsc::channel(AHEAD);
        let store = Arc::clone(store);
        let reader = tokio::spawn(async move {
            let mut after = after;
            loop {
                let page = match store.read_page(after, limit).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let Some(last) = page.last_position() else {
                    return;
                };
                after = last;
                let parsed = tokio::spawn(async move { page.into_events() });
                if tx.send(Ok(parsed)).await.is_err() {
                    return;
                }
            }
        });
        Pages {
            pages,
            reader,
            done: false,
        }
    }

    /// The next page, or `None` at the head. After an error there are no more pages.
    pub async fn next(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let page = match self.pages.recv().await {
            Some(Ok(parsed)) => joined(parsed.await).and_then(|page| page),
            Some(Err(e)) => Err(e),
            // The reader has finished: after an empty read, or it panicked (its handle says).
            None => {
                self.done = true;
                joined((&mut self.reader).await)?;
                return Ok(None);
            }
        };
        if page.is_err() {
            self.done = true;
        }
        page.map(Some)
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A task's result; its panic goes on in the caller; a cancelled task (a runtime shutting
/// down) is `Cancelled`, never mistaken for the end of the log.
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StoreError::Cancelled),
    }
}
