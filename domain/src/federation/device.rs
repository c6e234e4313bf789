//! The node's own Matrix device (`raremesh_bridge::device`): a matrix-sdk client of
//! `@<sender_localpart>-device:<server_name>` whose session, sync position and encryption
//! keys live in `data/federation/device/` (encrypted with a key derived from the
//! node's key). It is a member of the rooms the node reads (its own federation and Q&A
//! rooms and the peers' it joined) and syncs from where it stopped: whatever arrived while
//! the node or its homeserver was down comes with the next sync, and is applied once by
//! event id like the homeserver's pushes. A sync whose timeline for a room has a gap
//! (`limited`) sends that room to be walked back to its checkpoint (`catch_up.rs`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use raremesh_bridge::device::{Device, Reread};
use raremesh_bridge::ruma::{OwnedRoomId, OwnedUserId};

use super::{Federation, FederationError};
use crate::federation::state::{Key, Kind};

/// How long one sync waits for something new.
const LONG_POLL: Duration = Duration::from_secs(25);
/// How long the node waits before trying again after a failure.
const RETRY: Duration = Duration::from_secs(2);
/// How long the node keeps trying to decrypt an event whose room key has not come.
const KEY_WAIT: Duration = Duration::from_secs(24 * 3600);
/// The most events tried again after one sync.
const RETRIES_PER_SYNC: usize = 50;

/// An event the device could not decrypt yet.
#[derive(Debug, Clone)]
pub(super) struct Undecrypted {
    room: OwnedRoomId,
    event: raremesh_bridge::ruma::OwnedEventId,
    /// When it was first noted (Unix seconds).
    since: u64,
}

/// A noted undecrypted event's value: `<since> <room id>`.
fn parse_noted(value: &str) -> Option<(&str, u64)> {
    let (since, room) = value.split_once(' ')?;
    Some((room, since.parse().ok()?))
}

/// How often the node checks that the device is in every room it should be in (a new
/// Q&A room is read, and written, only once the device is in it).
const ROOMS_EVERY: Duration = Duration::from_secs(2);

impl Federation {
    /// The device's user id.
    pub fn device_user(&self) -> String {
        format!(
            "@{}-device:{}",
            self.config.sender_localpart, self.config.server_name
        )
    }

    /// Runs until the process ends: opens the device (retrying while the homeserver does
    /// not answer), then syncs, applying what each sync brings; opens it again (a new
    /// device) if the homeserver ends its session.
    pub async fn run_device(self: Arc<Self>) {
        loop {
            let device = loop {
                match self.open_device().await {
                    Ok(d) => break d,
                    Err(e) => {
                        self.health.device_failed(&e.to_string());
                        tracing::info!(error = %e, "the node's Matrix device cannot be opened yet; retrying");
                        tokio::time::sleep(RETRY).await;
                    }
                }
            };
            self.health
                .device_opened(device.user_id().as_str(), device.device_id());
            self.set_device(Some(device.clone()));
            self.load_undecrypted();
            let rooms = async {
                loop {
                    self.device_rooms(&device).await;
                    tokio::time::sleep(ROOMS_EVERY).await;
                }
            };
            tokio::select! {
                () = self.sync_device(&device) => {}
                () = rooms => {}
            }
            self.set_device(None);
        }
    }

    fn set_device(&self, device: Option<Device>) {
        match self.device.write() {
            Ok(mut d) => *d = device,
            Err(e) => *e.into_inner() = device,
        }
    }

    /// The node's device, while it is open.
    pub(in crate::federation) fn device(&self) -> Option<Device> {
        match self.device.read() {
            Ok(d) => d.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Whose events a sender's are: a trusted peer's device (`@<peer>-device:<server>`)
    /// writes for that peer, and this node's device for this node; anyone else for
    /// themselves. Only the peer's own homeserver can make a user in its namespace.
    pub(in crate::federation) fn principal<'s>(
        &self,
        sender: &'s str,
    ) -> std::borrow::Cow<'s, str> {
        if sender == self.device_user() {
            return self.config.user_id().into();
        }
        if let Some((local, server)) = sender.strip_prefix('@').and_then(|s| s.split_once(':'))
            && let Some(base) = local.strip_suffix("-device")
        {
            let user = format!("@{base}:{server}");
            if self.peer(&user).is_some() {
                return user.into();
            }
        }
        sender.into()
    }

    /// Syncs until the homeserver ends the device's session.
    async fn sync_device(self: &Arc<Self>, device: &Device) {
        loop {
            match device.sync(LONG_POLL).await {
                Ok(synced) => {
                    match self.apply_synced(synced) {
                        Ok(()) => self.health.device_synced(),
                        Err(e) => {
                            tracing::warn!(error = %e, "applying a sync failed; its rooms will be walked");
                            self.health.device_failed(&e.to_string());
                        }
                    }
                    self.decrypt_again(device).await;
                }
                Err(e) if e.status() == Some(401) => {
                    tracing::warn!(error = %e, "the homeserver ended the device's session; opening it again");
                    self.health.device_failed(&e.to_string());
                    return;
                }
                Err(e) => {
                    self.health.device_failed(&e.to_string());
                    tracing::debug!(error = %e, "the device's sync failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    async fn open_device(&self) -> Result<Device, FederationError> {
        let user: OwnedUserId =
            raremesh_bridge::client::parse_id("device user id", &self.device_user())?;
        let dir = self.dir.join("device");
        Ok(Device::open(&self.client, &user, &dir, &self.keys.device_key()).await?)
    }

    /// The rooms the device must be in: the node's own and the peers' rooms it joined.
    fn rooms_to_read(&self) -> Result<Vec<String>, FederationError> {
        let mut rooms: Vec<String> = self.own_room()?.into_iter().collect();
        for (_, room) in self.store.scan(Kind::PeerRoom)? {
            if self.store.flagged(Key::Joined(&room))? {
                rooms.push(room);
            }
        }
        rooms.extend(self.qa_rooms()?);
        Ok(rooms)
    }

    /// Invites the device (as the application service) into the rooms it is not in yet and
    /// joins them with it; leaves the rooms the node no longer reads. A room that fails is
    /// logged and tried again at the next check; the others go on.
    async fn device_rooms(&self, device: &Device) {
        let wanted = match self.rooms_to_read() {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "reading the node's rooms failed");
                return;
            }
        };
        let joined = device.joined_rooms();
        let user = device.user_id().to_string();
        for room in &wanted {
            let Ok(id) = raremesh_bridge::client::parse_id::<OwnedRoomId>("room id", room) else {
                continue;
            };
            if joined.contains(&id) {
                continue;
            }
            match self.client.invite(room, &user).await {
                // 403: already invited or joined (or the node may not invite: the join
                // below says so).
                Err(e) if e.status() != Some(403) => {
                    tracing::info!(%room, error = %e, "inviting the node's device failed; retrying later");
                    continue;
                }
                _ => {}
            }
            match device.join(&id).await {
                Ok(()) => tracing::info!(%room, "the node's device joined a room"),
                Err(e) => {
                    tracing::info!(%room, error = %e, "the node's device could not join; retrying later");
                }
            }
        }
        for id in joined {
            if !wanted.iter().any(|w| w == id.as_str()) {
                match device.leave(&id).await {
                    Ok(()) => {
                        tracing::info!(room = %id, "the node's device left a room the node no longer reads")
                    }
                    Err(e) => {
                        tracing::info!(room = %id, error = %e, "the node's device could not leave")
                    }
                }
            }
        }
    }

    /// Tries again the events the device could not decrypt (a room key comes by itself,
    /// possibly after its event, e.g. when a homeserver was down): those it now reads are
    /// applied; those still unreadable after [`KEY_WAIT`] are given up, logged.
    async fn decrypt_again(self: &Arc<Self>, device: &Device) {
        let now = crate::clock::now();
        let batch: Vec<Undecrypted> = {
            let mut pending = self.undecrypted.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|u| {
                let keep = now.saturating_sub(u.since) < KEY_WAIT.as_secs();
                if !keep {
                    tracing::warn!(room = %u.room, event = %u.event, "an event the node's device never could decrypt: given up");
                    let _ = self.store.unset(Key::Undecrypted(u.event.as_str()));
                }
                keep
            });
            // In turn: those tried now go to the end of the line.
            let n = pending.len().min(RETRIES_PER_SYNC);
            let batch: Vec<Undecrypted> = pending.drain(..n).collect();
            pending.extend(batch.iter().cloned());
            batch
        };
        // Rooms and writers whose events stay unreadable: asked to send them again.
        let mut waiting = BTreeSet::new();
        for u in batch {
            // Applied meanwhile (the device's sync brought it readable): nothing to do.
            if self.store.applied(u.event.as_str()).unwrap_or(false) {
                self.forget_undecrypted(&u.event);
                continue;
            }
            match device.decrypt_again(&u.room, &u.event).await {
                Ok(Reread::Read(incoming)) => {
                    let own = incoming.sender.as_str() == self.device_user();
                    let applied = if own {
                        // What this node wrote: nothing to apply; not noted again.
                        self.store
                            .mark_applied(u.event.as_str(), crate::clock::now())
                            .is_ok()
                    } else {
                        self.receive(std::slice::from_ref(&incoming)).is_ok()
                    };
                    if applied {
                        tracing::info!(room = %u.room, event = %u.event, "an event decrypted once its key came");
                        self.forget_undecrypted(&u.event);
                    }
                }
                Ok(Reread::NotYet { sender }) => {
                    let old = now.saturating_sub(u.since) >= super::resend::ASK_AFTER.as_secs();
                    if let Some(sender) = sender.filter(|_| old) {
                        let whose = self.principal(sender.as_str());
                        if whose != sender.as_str() && whose != self.config.user_id() {
                            waiting.insert((u.room.to_string(), whose.into_owned()));
                        }
                    }
                }
                Err(e) if e.is_permanent() => {
                    tracing::info!(room = %u.room, event = %u.event, error = %e, "an undecrypted event cannot be read again: given up");
                    self.forget_undecrypted(&u.event);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "reading an undecrypted event again failed; later");
                }
            }
        }
        self.ask_resends(&waiting).await;
    }

    /// A redaction of an event still undecrypted (the writer sent it again, or withdrew
    /// it): no longer waited for.
    pub(super) fn redacted_undecrypted(&self, redacted: &raremesh_bridge::ruma::EventId) {
        let noted = self
            .undecrypted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|u| u.event == redacted);
        if noted {
            self.forget_undecrypted(redacted);
        }
    }

    /// Notes an event to decrypt again, in memory and in the database (after a restart
    /// the device syncs on past it), with when it was first noted.
    pub(super) fn note_undecrypted(
        &self,
        room: &raremesh_bridge::ruma::RoomId,
        event: &raremesh_bridge::ruma::EventId,
    ) -> Result<(), FederationError> {
        let key = Key::Undecrypted(event.as_str());
        let since = match self.store.get(key)?.as_deref().and_then(parse_noted) {
            Some((_, since)) => since,
            None => {
                let now = crate::clock::now();
                self.store.set(key, &format!("{now} {room}"))?;
                now
            }
        };
        self.remember_undecrypted(room.to_owned(), event.to_owned(), since);
        Ok(())
    }

    fn remember_undecrypted(
        &self,
        room: OwnedRoomId,
        event: raremesh_bridge::ruma::OwnedEventId,
        since: u64,
    ) {
        let mut pending = self.undecrypted.lock().unwrap_or_else(|e| e.into_inner());
        if !pending.iter().any(|u| u.event == event) {
            pending.push(Undecrypted { room, event, since });
        }
    }

    fn forget_undecrypted(&self, event: &raremesh_bridge::ruma::EventId) {
        self.undecrypted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|u| u.event != event);
        if let Err(e) = self.store.unset(Key::Undecrypted(event.as_str())) {
            tracing::warn!(error = %e, "forgetting an undecrypted event failed");
        }
    }

    /// The events left undecrypted before the last stop, tried again from now on.
    fn load_undecrypted(&self) {
        match self.store.scan(Kind::Undecrypted) {
            Ok(all) => {
                for (name, value) in all {
                    let event = name.rest(&Kind::Undecrypted).to_owned();
                    let Some((room, since)) = parse_noted(&value) else {
                        continue;
                    };
                    if let (Ok(room), Ok(event)) = (
                        raremesh_bridge::client::parse_id::<OwnedRoomId>("room id", room),
                        raremesh_bridge::client::parse_id("event id", &event),
                    ) {
                        self.remember_undecrypted(room, event, since);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the undecrypted events failed"),
        }
    }

    /// Applies the events of a sync (once by event id), logs those that cannot be used
    /// (once), and sends the rooms with gaps to be walked. Events older than the node
    /// remembers applied ids for are left out: a new device's first sync brings each room's
    /// last events, however old, and the walks cover that far back.
    fn apply_synced(
        self: &Arc<Self>,
        synced: raremesh_bridge::device::Synced,
    ) -> Result<(), FederationError> {
        self.pushed.add(synced.gaps);
        for (id, room, why) in &synced.refused {
            self.refuse_unusable(id.as_deref(), room, why)?;
        }
        // Not marked applied: its room key may come with a later sync, and it is tried
        // again then.
        for (id, room, why) in &synced.undecryptable {
            let shown = id.as_ref().map_or("?", |i| i.as_str());
            tracing::info!(%room, event = shown, why, "an event the node's device cannot decrypt yet");
            if let Some(event) = id {
                self.note_undecrypted(room, event)?;
            }
        }
        self.resend_for_new_devices(&synced.events);
        let device = self.device_user();
        let oldest_ms = crate::clock::now()
            .saturating_sub(super::catch_up::REMEMBER_SECS - 24 * 3600)
            .saturating_mul(1000);
        let events: Vec<_> = synced
            .events
            .into_iter()
            .filter(|e| e.sender.as_str() != device && e.origin_server_ts >= oldest_ms)
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let rooms: Vec<OwnedRoomId> = events.iter().map(|e| e.room_id.clone()).collect();
        match self.receive(&events) {
            Ok(r) => {
                self.health.synced_events(r.new);
                Ok(())
            }
            Err(e) => {
                // What was not applied is read back from the rooms' timelines.
                self.pushed.add(rooms);
                Err(e)
            }
        }
    }
}
