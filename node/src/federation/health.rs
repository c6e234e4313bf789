//! What the federation status shows an operator: per peer, when an event last came from it
//! and when this node last sent; the last error; whether the node's sync with its
//! homeserver is current. Kept in memory, since the process started.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The live figures.
#[derive(Debug, Default)]
pub struct Health {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default, Clone)]
struct Inner {
    last_from: BTreeMap<String, u64>,
    received: u64,
    last_sent: Option<u64>,
    last_error: Option<(u64, String)>,
    last_sync: Option<u64>,
    sync_error: Option<String>,
    backfilled: u64,
}

/// A copy of the figures, for the status command and page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HealthSnapshot {
    /// Peer user id → when its last event arrived (Unix seconds).
    pub last_from: BTreeMap<String, u64>,
    /// When this node last sent a protocol event.
    pub last_sent: Option<u64>,
    /// The last federation error, and when.
    pub last_error: Option<(u64, String)>,
    /// When the node's last sync with its homeserver ended well.
    pub last_sync: Option<u64>,
    /// Why the last sync failed, if it did.
    pub sync_error: Option<String>,
    /// Events read from room histories to fill gaps since the start.
    pub backfilled: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Health {
    fn with(&self, f: impl FnOnce(&mut Inner)) {
        if let Ok(mut i) = self.inner.lock() {
            f(&mut i);
        }
    }

    /// An event arrived from `sender`.
    pub fn received(&self, sender: &str) {
        self.with(|i| {
            i.last_from.insert(sender.to_owned(), now());
            i.received += 1;
        });
    }

    /// How many events from others arrived since the start.
    pub fn received_total(&self) -> u64 {
        self.inner.lock().map_or(0, |i| i.received)
    }

    /// This node sent a protocol event.
    pub fn sent(&self) {
        self.with(|i| i.last_sent = Some(now()));
    }

    /// A federation step failed.
    pub fn failed(&self, error: &str) {
        self.with(|i| i.last_error = Some((now(), error.to_owned())));
    }

    /// A sync ended well, having filled `backfilled` events of gaps.
    pub fn synced(&self, backfilled: usize) {
        self.with(|i| {
            i.last_sync = Some(now());
            i.sync_error = None;
            i.backfilled += backfilled as u64;
        });
    }

    /// A sync failed.
    pub fn sync_failed(&self, error: &str) {
        self.with(|i| i.sync_error = Some(error.to_owned()));
    }

    /// The figures now.
    pub fn snapshot(&self) -> HealthSnapshot {
        let i = self.inner.lock().map(|i| i.clone()).unwrap_or_default();
        HealthSnapshot {
            last_from: i.last_from,
            last_sent: i.last_sent,
            last_error: i.last_error,
            last_sync: i.last_sync,
            sync_error: i.sync_error,
            backfilled: i.backfilled,
        }
    }
}
