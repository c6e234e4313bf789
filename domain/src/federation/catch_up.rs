//! Repair: whatever the homeserver's pushes did not bring (an outage of the homeserver, of
//! this node, of a peer's homeserver) is read back from the rooms' timelines.
//!
//! A walk reads a room's timeline back to a checkpoint, an event a previous walk saw as
//! the newest, and applies what the node does not hold yet (each event is applied once by
//! event id, however it came). The node walks a room shortly after the homeserver pushed
//! events from it, back to the last walk's newest event: after an outage a homeserver
//! receives only the newest events of a room from the others and fetches the older ones
//! when the timeline is read, so the first push after an outage is the moment the rest
//! can be had. At the start, whenever its homeserver answers again after not answering,
//! and once a minute, it walks every room back further, to the newest event of the full
//! walk before the last: a homeserver that fetched a few missing events in the background
//! (Synapse does so for small gaps) after a walk passed them gets a second look.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use raremesh_bridge::drops::{DropReason, dropped};
use raremesh_bridge::event::Incoming;
use raremesh_bridge::ruma::{EventId, OwnedRoomId};

use super::{Federation, FederationError};
use crate::federation::state::{Key, Kind};

/// How often the node asks its homeserver whether it answers.
const TICK: Duration = Duration::from_secs(2);
/// How often every room is walked without another reason.
const EVERY: Duration = Duration::from_secs(60);
/// After a push, how long the node lets more pushes come before walking the rooms.
const SETTLE: Duration = Duration::from_millis(700);
/// How long an applied event id is remembered; the checkpoints keep walks from reaching
/// events this old, and the homeserver stops retrying a push long before.
pub(super) const REMEMBER_SECS: u64 = 30 * 24 * 3600;
/// How often the node forgets applied event ids older than [`REMEMBER_SECS`].
const FORGET_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The rooms the homeserver pushed events from since they were last walked.
#[derive(Debug, Default)]
pub(super) struct Pushed {
    rooms: Mutex<BTreeSet<OwnedRoomId>>,
    wake: tokio::sync::Notify,
}

impl Pushed {
    pub(super) fn add(&self, rooms: impl IntoIterator<Item = OwnedRoomId>) {
        if let Ok(mut r) = self.rooms.lock() {
            r.extend(rooms);
        }
        self.wake.notify_one();
    }

    fn take(&self) -> BTreeSet<OwnedRoomId> {
        self.rooms
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

impl Federation {
    /// Notes the rooms of events the homeserver pushed (after they were applied), so that
    /// they are walked shortly.
    pub fn pushed(&self, events: &[Incoming]) {
        if !events.is_empty() {
            self.pushed.add(events.iter().map(|e| e.room_id.clone()));
        }
    }

    /// Runs until the process ends: see the module's documentation.
    pub async fn catch_up(self: Arc<Self>) {
        let mut was_up = false;
        let mut last_all: Option<Instant> = None;
        let mut forgot: Option<Instant> = None;
        loop {
            let up = self.client.answers().await;
            if !up {
                if was_up {
                    tracing::warn!("the homeserver does not answer; catching up once it does");
                }
                self.health
                    .catch_up_failed("the homeserver does not answer");
            } else if !was_up || last_all.is_none_or(|t| t.elapsed() >= EVERY) {
                // Every room. Pushes noted meanwhile are covered by this walk.
                let back = !was_up;
                self.pushed.take();
                match self.walk(None).await {
                    Ok(()) => {
                        last_all = Some(Instant::now());
                        if back {
                            let f = self.clone();
                            tokio::spawn(async move { f.wake_peers().await });
                        }
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "catching up failed; retrying");
                        self.health.catch_up_failed(&e.to_string());
                        tokio::time::sleep(TICK).await;
                        continue;
                    }
                }
            } else {
                // A room that cannot be read now (one the node was only invited to, or
                // left) waits for the walk of every room.
                let rooms = self.pushed.take();
                if !rooms.is_empty()
                    && let Err(e) = self.walk(Some(rooms)).await
                {
                    tracing::debug!(error = %e, "catching up pushed rooms failed");
                }
            }
            if up && forgot.is_none_or(|t| t.elapsed() >= FORGET_EVERY) {
                forgot = Some(Instant::now());
                let before = crate::clock::now().saturating_sub(REMEMBER_SECS);
                match self.store.prune_applied(before) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "forgot old applied event ids"),
                    Err(e) => tracing::warn!(error = %e, "forgetting old applied event ids failed"),
                }
            }
            was_up = up;
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = self.pushed.wake.notified() => tokio::time::sleep(SETTLE).await,
            }
        }
    }

    /// Walks `rooms` back to the last walk's newest event, or every joined room (`None`)
    /// back to the one before; applies what was missed and moves the checkpoints.
    async fn walk(
        self: &Arc<Self>,
        rooms: Option<BTreeSet<OwnedRoomId>>,
    ) -> Result<(), FederationError> {
        let every = rooms.is_none();
        let rooms = match rooms {
            Some(r) => r.into_iter().collect(),
            None => self.client.joined_rooms().await?,
        };
        let mut n = 0;
        let mut failed = None;
        for room in rooms {
            match self.walk_room(&room, every).await {
                Ok(k) => n += k,
                Err(e) => failed = Some(e),
            }
        }
        if every && failed.is_none() {
            self.health.caught_up(n);
        } else {
            self.health.brought(n);
        }
        if n > 0 {
            tracing::info!(events = n, "caught up from the rooms' timelines");
        }
        failed.map_or(Ok(()), Err)
    }

    /// Walks one room; how many events of others it brought.
    async fn walk_room(
        self: &Arc<Self>,
        room: &OwnedRoomId,
        every: bool,
    ) -> Result<usize, FederationError> {
        let last = self.store.get(Key::CaughtUp(room.as_str()))?;
        let stop = if every {
            self.store.get(Key::CaughtUpBefore(room.as_str()))?
        } else {
            last.clone()
        };
        let checkpoint = stop.as_deref().and_then(|c| <&EventId>::try_from(c).ok());
        let known = |id: &EventId| self.store.applied(id.as_str()).unwrap_or(false);
        let c = self.client.catch_up(room, checkpoint, known).await?;
        for (id, why) in &c.refused {
            self.refuse_unusable(id.as_deref(), room, why)?;
        }
        if !c.complete {
            tracing::warn!(%room, "catching up stopped after 10,000 events; snapshots cover the rest");
        }
        let r = self.receive(&c.events)?;
        if every && let Some(last) = &last {
            self.store.set(Key::CaughtUpBefore(room.as_str()), last)?;
        }
        if let Some(newest) = &c.newest
            && last.as_deref() != Some(newest.as_str())
        {
            self.store
                .set(Key::CaughtUp(room.as_str()), newest.as_str())?;
        }
        Ok(r.new)
    }

    /// Logs and counts an event that is not a valid Matrix event, once: it is marked
    /// applied, so later walks and syncs pass over it.
    pub(super) fn refuse_unusable(
        &self,
        id: Option<&EventId>,
        room: &OwnedRoomId,
        why: &str,
    ) -> Result<(), FederationError> {
        if let Some(id) = id {
            if self.store.applied(id.as_str())? {
                return Ok(());
            }
            self.store.mark_applied(id.as_str(), crate::clock::now())?;
        }
        let shown = id.map_or("?", |i| i.as_str());
        dropped(DropReason::Malformed, "?", room.as_str(), shown, why);
        Ok(())
    }

    /// After the homeserver comes back (or the node starts): a read receipt in each
    /// peer's rooms, so that the peers' homeservers, which back off from a homeserver that
    /// was down, send what they hold for this one at once.
    async fn wake_peers(&self) {
        let mut rooms: Vec<String> = Vec::new();
        for kind in [Kind::PeerRoom, Kind::PeerQaRoom] {
            rooms.extend(
                self.store
                    .scan(kind)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(_, r)| r),
            );
        }
        for room in rooms {
            let Ok(Some(event)) = self.store.get(Key::LastEvent(&room)) else {
                continue;
            };
            if let Err(e) = self.client.read_receipt(&room, &event).await {
                tracing::info!(%room, error = %e, "a read receipt to wake a peer's homeserver failed");
            }
        }
    }
}
