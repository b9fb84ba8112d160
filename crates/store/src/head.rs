//! The highest committed position a store knows of, and the poller that learns of other
//! processes' appends. One poller per store handle, however many subscribers: they all wait
//! on the same watch channel.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug)]
pub(crate) struct Head {
    tx: watch::Sender<u64>,
    poller: Option<JoinHandle<()>>,
}

impl Head {
    /// Starts the poller: every `interval`, while anyone is watching, asks `probe` for the
    /// highest committed position. The poller ends when the store handle is dropped.
    pub(crate) fn start<F, Fut>(initial: u64, interval: Duration, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Option<u64>> + Send,
    {
        let (tx, _) = watch::channel(initial);
        let poll_tx = tx.clone();
        let poller = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // `tx` here is one of the senders; only subscribers count as receivers.
                if poll_tx.receiver_count() == 0 {
                    continue;
                }
                if let Some(p) = probe().await {
                    advance(&poll_tx, p);
                }
            }
        });
        Self {
            tx,
            poller: Some(poller),
        }
    }

    pub(crate) fn advance(&self, position: u64) {
        advance(&self.tx, position);
    }

    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

fn advance(tx: &watch::Sender<u64>, position: u64) {
    tx.send_if_modified(|current| {
        if position > *current {
            *current = position;
            true
        } else {
            false
        }
    });
}

impl Drop for Head {
    fn drop(&mut self) {
        if let Some(p) = self.poller.take() {
            p.abort();
        }
    }
}
