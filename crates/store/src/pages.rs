//! Reading the log page by page with the next page already on its way: while the caller
//! decodes and folds one page, the store reads the next (on SQLite: builds it on sqlx's
//! worker thread, then parses it on another task).

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::{EventStore, StoreError, StoredEvent};

type Page = Result<Vec<StoredEvent>, StoreError>;

/// The log after a position, oldest first, a page at a time. Each page is asked for as soon
/// as the page before it arrives, from that page's last position: the pages are exactly
/// those successive [`EventStore::read_all`] calls would return, so nothing is skipped or
/// read twice. `next` is `None` once a read comes back empty (the head as it stood then).
///
/// Needs a Tokio runtime; on a multi-threaded one the read and the caller's work overlap.
/// Dropping it abandons the page on its way.
#[derive(Debug)]
pub struct Pages {
    store: Arc<dyn EventStore>,
    limit: usize,
    next: Option<JoinHandle<Page>>,
}

impl Pages {
    /// Starts reading the events after `after`, `limit` to a page.
    pub fn new(store: &Arc<dyn EventStore>, after: u64, limit: usize) -> Pages {
        Pages {
            store: Arc::clone(store),
            limit,
            next: Some(fetch(store, after, limit)),
        }
    }

    /// The next page, or `None` at the head. After an error there are no more pages.
    pub async fn next(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let Some(handle) = self.next.take() else {
            return Ok(None);
        };
        let page = match handle.await {
            Ok(page) => page?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the read.
            Err(_) => return Err(StoreError::Cancelled),
        };
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.next = Some(fetch(&self.store, last.position, self.limit));
        Ok(Some(page))
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        if let Some(handle) = self.next.take() {
            handle.abort();
        }
    }
}

fn fetch(store: &Arc<dyn EventStore>, after: u64, limit: usize) -> JoinHandle<Page> {
    let store = Arc::clone(store);
    tokio::spawn(async move { store.read_all(after, limit).await })
}
