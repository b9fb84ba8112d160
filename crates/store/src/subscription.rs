//! Catch-up, then live: every event after a position, in order, once.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::stream::BoxStream;

use crate::{EventStore, StoreError, StoredEvent};

const BATCH: usize = 1_000;
/// How soon to look again when committed events wait behind a transaction still in flight.
const GAP_RETRY: Duration = Duration::from_millis(2);

/// A subscription's stream of events. Dropping it stops everything it started.
pub struct Subscription {
    inner: BoxStream<'static, Result<StoredEvent, StoreError>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Stream for Subscription {
    type Item = Result<StoredEvent, StoreError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct State {
    store: Arc<dyn EventStore>,
    head: tokio::sync::watch::Receiver<u64>,
    position: u64,
    buffer: VecDeque<StoredEvent>,
    failed: bool,
}

/// Every event with a position above `after`: first those already stored, then each new one
/// as it commits, in position order, with no gap and no duplicate. To resume after a
/// disconnect, subscribe again from the last position received.
///
/// A store error is yielded once and ends the stream; resume from the last position seen.
pub fn subscribe(store: Arc<dyn EventStore>, after: u64) -> Subscription {
    let head = store.head_watch();
    let state = State {
        store,
        head,
        position: after,
        buffer: VecDeque::new(),
        failed: false,
    };
    let inner = futures::stream::unfold(state, |mut s| async move {
        if s.failed {
            return None;
        }
        loop {
            if let Some(event) = s.buffer.pop_front() {
                s.position = event.position;
                return Some((Ok(event), s));
            }
            // Mark what we have seen before reading, so an append that lands after the read
            // still wakes us.
            let seen_head = *s.head.borrow_and_update();
            match s.store.read_all(s.position, BATCH).await {
                Ok(batch) if !batch.is_empty() => s.buffer.extend(batch),
                Ok(_) if seen_head > s.position => {
                    // Committed events exist, but behind a transaction still in flight.
                    tokio::time::sleep(GAP_RETRY).await;
                }
                Ok(_) => {
                    if s.head.changed().await.is_err() {
                        return None; // the store handle is gone
                    }
                }
                Err(e) => {
                    s.failed = true;
                    return Some((Err(e), s));
                }
            }
        }
    });
    Subscription {
        inner: Box::pin(inner),
    }
}
