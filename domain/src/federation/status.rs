//! The federation status an operator reads: `raremesh federation status` and the admin
//! page `/admin/federation`. Each peer, its rooms, when an event last came from it, when
//! this node last sent, the queues, the last error, the catch-up from the rooms' timelines, whether
//! the homeserver answers, and the events dropped by reason. The running node writes it
//! to `data/federation/status.json` every few seconds, so the command works while the node
//! holds its database.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Federation;
use crate::clock::now_ms;
use crate::federation::state::{Key, Kind};

/// One peer, as this node sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Its organization's name (from config).
    pub name: String,
    /// Its node's Matrix user id.
    pub user_id: String,
    /// Its publishing room, once it invited this node.
    pub room: Option<String>,
    /// Whether this node has joined that room.
    pub joined: bool,
    /// Its Q&A room, once it invited this node.
    pub qa_room: Option<String>,
    /// When its last event arrived (Unix seconds), since this node started.
    pub last_received: Option<u64>,
    /// The vectors held from it (retractions not counted).
    pub vectors: usize,
    /// Its community questions held here, and their answers from anywhere.
    pub questions: usize,
    /// Answers held here that came from it.
    pub answers: usize,
}

/// The whole status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// When it was taken (Unix seconds).
    pub at: u64,
    /// This node's Matrix user id.
    pub user_id: String,
    /// The homeserver's address.
    pub homeserver: String,
    /// Whether the homeserver answered just now.
    pub homeserver_answers: bool,
    /// This node's publishing room.
    pub own_room: Option<String>,
    /// This node's Q&A room.
    pub own_qa_room: Option<String>,
    /// The peers in config.
    pub peers: Vec<PeerStatus>,
    /// When this node last sent a protocol event.
    pub last_sent: Option<u64>,
    /// Messages from peers waiting to be handled (contact, research).
    pub inbox: usize,
    /// Q&A events waiting to be sent.
    pub qa_queue: usize,
    /// When the node last walked every room's timeline back (see `docs/federation.md`).
    pub last_catch_up: Option<u64>,
    /// Why the last catch-up failed (or the homeserver did not answer), if it did.
    pub catch_up_error: Option<String>,
    /// Missed events brought by catching up, since the start.
    pub caught_up_events: u64,
    /// The last federation error, and when.
    pub last_error: Option<(u64, String)>,
    /// Events dropped since the start, by reason.
    pub dropped: Vec<(String, u64)>,
    /// The node's Matrix device (its sync), once opened.
    #[serde(default)]
    pub device: Option<super::health::DeviceHealth>,
    /// Why the device's last sync (or its opening) failed, if it did.
    #[serde(default)]
    pub device_error: Option<String>,
}

impl Status {
    /// Whether federation looks healthy: the homeserver answers, the last catch-up and the
    /// device's last sync are recent and did not fail, and every peer's room is joined.
    pub fn healthy(&self) -> bool {
        self.homeserver_answers
            && self.catch_up_error.is_none()
            && self.device_error.is_none()
            && self
                .device
                .as_ref()
                .is_some_and(|d| d.last_sync.is_some_and(|t| self.at.saturating_sub(t) < 90))
            && self
                .last_catch_up
                .is_some_and(|t| self.at.saturating_sub(t) < 90)
            && self.peers.iter().all(|p| p.joined)
    }

    /// The status as lines of text for a terminal.
    pub fn to_text(&self) -> String {
        let when = |t: Option<u64>| match t {
            Some(t) => format!("{} s ago", self.at.saturating_sub(t)),
            None => "never (since the node started)".to_owned(),
        };
        let mut out = String::new();
        out.push_str(&format!(
            "federation: {}\nnode user: {}\nhomeserver: {} ({})\ncatch-up from room timelines: last {}{}\n",
            if self.healthy() {
                "healthy"
            } else {
                "NOT healthy"
            },
            self.user_id,
            self.homeserver,
            if self.homeserver_answers {
                "answers"
            } else {
                "does NOT answer"
            },
            when(self.last_catch_up),
            self.catch_up_error
                .as_ref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default(),
        ));
        out.push_str(&format!(
            "own rooms: federation {}, Q&A {}\nlast sent: {}\nqueues: inbox {}, Q&A to send {}\nmissed events caught up: {}\n",
            self.own_room.as_deref().unwrap_or("not created yet"),
            self.own_qa_room.as_deref().unwrap_or("not created yet"),
            when(self.last_sent),
            self.inbox,
            self.qa_queue,
            self.caught_up_events,
        ));
        match &self.device {
            Some(d) => out.push_str(&format!(
                "device: {} ({}), last sync {}, events brought by sync {}{}\n",
                d.user_id,
                d.device_id,
                when(d.last_sync),
                d.synced_events,
                self.device_error
                    .as_ref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default(),
            )),
            None => out.push_str(&format!(
                "device: not opened yet{}\n",
                self.device_error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
            )),
        }
        for p in &self.peers {
            out.push_str(&format!(
                "peer {} ({}): room {}{}, Q&A room {}, last event received {}; holding {} vectors, {} questions, {} answers from it\n",
                p.name,
                p.user_id,
                p.room.as_deref().unwrap_or("no invitation yet"),
                if p.joined { " (joined)" } else { " (NOT joined)" },
                p.qa_room.as_deref().unwrap_or("no invitation yet"),
                when(p.last_received),
                p.vectors,
                p.questions,
                p.answers,
            ));
        }
        if let Some((t, e)) = &self.last_error {
            out.push_str(&format!("last error ({}): {e}\n", when(Some(*t))));
        }
        let dropped: Vec<String> = self
            .dropped
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        out.push_str(&format!(
            "dropped events: {}\n",
            if dropped.is_empty() {
                "none".to_owned()
            } else {
                dropped.join(", ")
            }
        ));
        out
    }

    /// Reads the status the running node wrote.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Peer user id → (vectors, visible questions, visible answers) held from it.
type Held = BTreeMap<String, (usize, usize, usize)>;

impl Federation {
    /// What the node holds from each peer: (vectors, visible questions, visible answers),
    /// in one pass over each.
    fn held(&self) -> Held {
        let mut held = Held::new();
        for v in self.store.remote_all().unwrap_or_default() {
            if !v.retracted {
                held.entry(v.peer).or_default().0 += 1;
            }
        }
        for q in self.local.qa.store.questions().unwrap_or_default() {
            if let (Some(o), None) = (q.origin, &q.hidden) {
                held.entry(o).or_default().1 += 1;
            }
        }
        for a in self.local.qa.store.all_answers().unwrap_or_default() {
            if let (Some(o), None) = (a.origin, &a.hidden) {
                held.entry(o).or_default().2 += 1;
            }
        }
        held
    }

    /// The status now.
    pub async fn status(&self) -> Status {
        self.status_with(&self.held()).await
    }

    async fn status_with(&self, held: &Held) -> Status {
        let health = self.health.snapshot();
        let get = |k: Key<'_>| self.store.get(k).ok().flatten();
        let count = |k: Kind<'_>| self.store.scan(k).map(|v| v.len()).unwrap_or(0);
        let mut peers: Vec<PeerStatus> = self
            .peers
            .values()
            .map(|p| {
                let room = get(Key::PeerRoom(&p.user_id));
                let counts = held.get(&p.user_id).copied().unwrap_or_default();
                PeerStatus {
                    name: p.name.clone(),
                    user_id: p.user_id.clone(),
                    joined: room.as_ref().is_some_and(|r| get(Key::Joined(r)).is_some()),
                    room,
                    qa_room: get(Key::PeerQaRoom(&p.user_id)),
                    last_received: health.last_from.get(&p.user_id).copied(),
                    vectors: counts.0,
                    questions: counts.1,
                    answers: counts.2,
                }
            })
            .collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        Status {
            at: now_ms() / 1000,
            user_id: self.config.user_id(),
            homeserver: self.client.url().to_owned(),
            homeserver_answers: self.client.answers().await,
            own_room: self.own_room().ok().flatten(),
            own_qa_room: self.own_qa_room().ok().flatten(),
            peers,
            last_sent: health.last_sent,
            inbox: count(Kind::Inbox),
            qa_queue: count(Kind::QaOut),
            last_catch_up: health.last_catch_up,
            catch_up_error: health.catch_up_error,
            caught_up_events: health.caught_up_events,
            last_error: health.last_error,
            dropped: raremesh_bridge::drops::counts()
                .into_iter()
                .map(|(r, n)| (r.to_owned(), n))
                .collect(),
            device: health.device,
            device_error: health.device_error,
        }
    }

    /// Writes the status to `path` every few seconds, until the process ends. What the
    /// node holds from each peer is counted again only when events arrived or data
    /// changed, and at least once a minute.
    pub async fn write_status(self: std::sync::Arc<Self>, path: std::path::PathBuf) {
        let mut cached: Option<((u64, u64), Instant, Held)> = None;
        loop {
            let key = (self.health.received_total(), self.store.changes().get());
            let fresh = cached
                .as_ref()
                .is_some_and(|(k, at, _)| *k == key && at.elapsed() < Duration::from_secs(60));
            if !fresh {
                cached = Some((key, Instant::now(), self.held()));
            }
            let held = cached
                .as_ref()
                .map(|(_, _, h)| h.clone())
                .unwrap_or_default();
            let status = self.status_with(&held).await;
            if let Ok(text) = serde_json::to_string_pretty(&status) {
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, text)
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .is_err()
                {
                    tracing::warn!(path = %path.display(), "writing the federation status failed");
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}
