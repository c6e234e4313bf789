//! What the federation status shows an operator: per peer, when an event last came from it
//! and when this node last sent; the last error; whether the node's catch-up from
//! its rooms' timelines is current. Kept in memory, since the process started.

use crate::clock::now;
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
    received_from: BTreeMap<String, u64>,
    received: u64,
    sent: u64,
    last_sent: Option<u64>,
    last_error: Option<(u64, String)>,
    last_catch_up: Option<u64>,
    catch_up_error: Option<String>,
    caught_up_events: u64,
    device: Option<DeviceHealth>,
    device_error: Option<String>,
}

/// The node's Matrix device, as the status shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceHealth {
    /// Its user id.
    pub user_id: String,
    /// Its device id (the same across restarts).
    pub device_id: String,
    /// When it last synced (Unix seconds).
    pub last_sync: Option<u64>,
    /// Events of others its syncs brought, since the start.
    pub synced_events: u64,
}

/// A copy of the figures, for the status command and page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HealthSnapshot {
    /// Peer user id → when its last event arrived (Unix seconds).
    pub last_from: BTreeMap<String, u64>,
    /// Peer user id → how many events arrived from it since the start.
    pub received_from: BTreeMap<String, u64>,
    /// Protocol events this node sent since the start.
    pub sent: u64,
    /// When this node last sent a protocol event.
    pub last_sent: Option<u64>,
    /// The last federation error, and when.
    pub last_error: Option<(u64, String)>,
    /// When the node last caught up from its rooms' timelines.
    pub last_catch_up: Option<u64>,
    /// Why the last catch-up failed (or the homeserver did not answer), if it did.
    pub catch_up_error: Option<String>,
    /// Missed events brought by catching up, since the start.
    pub caught_up_events: u64,
    /// The node's Matrix device, once opened.
    pub device: Option<DeviceHealth>,
    /// Why the device's last sync (or its opening) failed, if it did.
    pub device_error: Option<String>,
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
            *i.received_from.entry(sender.to_owned()).or_default() += 1;
            i.received += 1;
        });
    }

    /// How many events from others arrived since the start.
    pub fn received_total(&self) -> u64 {
        self.inner.lock().map_or(0, |i| i.received)
    }

    /// This node sent a protocol event.
    pub fn sent(&self) {
        self.with(|i| {
            i.last_sent = Some(now());
            i.sent += 1;
        });
    }

    /// A federation step failed.
    pub fn failed(&self, error: &str) {
        self.with(|i| i.last_error = Some((now(), error.to_owned())));
    }

    /// A walk of every room ended well, having brought `caught_up_events` missed events.
    pub fn caught_up(&self, caught_up_events: usize) {
        self.with(|i| {
            i.last_catch_up = Some(now());
            i.catch_up_error = None;
            i.caught_up_events += caught_up_events as u64;
        });
    }

    /// A walk of the rooms the homeserver pushed from brought `events` missed events.
    pub fn brought(&self, events: usize) {
        self.with(|i| i.caught_up_events += events as u64);
    }

    /// A catch-up failed, or the homeserver did not answer.
    pub fn catch_up_failed(&self, error: &str) {
        self.with(|i| i.catch_up_error = Some(error.to_owned()));
    }

    /// The node's device was opened.
    pub fn device_opened(&self, user_id: &str, device_id: &str) {
        self.with(|i| {
            i.device = Some(DeviceHealth {
                user_id: user_id.to_owned(),
                device_id: device_id.to_owned(),
                ..DeviceHealth::default()
            });
            i.device_error = None;
        });
    }

    /// The device synced.
    pub fn device_synced(&self) {
        self.with(|i| {
            if let Some(d) = &mut i.device {
                d.last_sync = Some(now());
            }
            i.device_error = None;
        });
    }

    /// A sync brought `events` events of others.
    pub fn synced_events(&self, events: usize) {
        self.with(|i| {
            if let Some(d) = &mut i.device {
                d.synced_events += events as u64;
            }
        });
    }

    /// The device could not be opened, or its sync failed.
    pub fn device_failed(&self, error: &str) {
        self.with(|i| i.device_error = Some(error.to_owned()));
    }

    /// The figures now.
    pub fn snapshot(&self) -> HealthSnapshot {
        let i = self.inner.lock().map(|i| i.clone()).unwrap_or_default();
        HealthSnapshot {
            last_from: i.last_from,
            received_from: i.received_from,
            sent: i.sent,
            last_sent: i.last_sent,
            last_error: i.last_error,
            last_catch_up: i.last_catch_up,
            catch_up_error: i.catch_up_error,
            caught_up_events: i.caught_up_events,
            device: i.device,
            device_error: i.device_error,
        }
    }
}
