//! The node's own Matrix device (`raremesh_bridge::device`): a matrix-sdk client of
//! `@<sender_localpart>-device:<server_name>` whose session, sync position and encryption
//! keys live in `data/federation/device/` (encrypted with a key derived from the
//! node's key). It is a member of the rooms the node reads (its own federation and Q&A
//! rooms and the peers' it joined) and syncs from where it stopped: whatever arrived while
//! the node or its homeserver was down comes with the next sync, and is applied once by
//! event id like the homeserver's pushes. A sync whose timeline for a room has a gap
//! (`limited`) sends that room to be walked back to its checkpoint (`catch_up.rs`).

use std::sync::Arc;
use std::time::Duration;

use raremesh_bridge::device::Device;
use raremesh_bridge::drops::{DropReason, dropped};
use raremesh_bridge::ruma::{OwnedRoomId, OwnedUserId};

use super::{Federation, FederationError};
use crate::state::AppState;

/// How long one sync waits for something new.
const LONG_POLL: Duration = Duration::from_secs(25);
/// How long the node waits before trying again after a failure.
const RETRY: Duration = Duration::from_secs(2);
/// How often the node checks that the device is in every room it should be in.
const ROOMS_EVERY: Duration = Duration::from_secs(30);

impl Federation {
    /// The device's user id.
    pub fn device_user(&self) -> String {
        format!(
            "@{}-device:{}",
            self.config.sender_localpart, self.config.server_name
        )
    }

    /// Runs until the process ends: opens the device (retrying while the homeserver does
    /// not answer), then syncs, applying what each sync brings.
    pub async fn run_device(self: Arc<Self>, state: AppState) {
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
        let mut rooms_checked: Option<std::time::Instant> = None;
        loop {
            if rooms_checked.is_none_or(|t| t.elapsed() >= ROOMS_EVERY) {
                match self.device_rooms(&device).await {
                    Ok(()) => rooms_checked = Some(std::time::Instant::now()),
                    Err(e) => {
                        tracing::info!(error = %e, "the device could not join every room yet")
                    }
                }
            }
            match device.sync(LONG_POLL).await {
                Ok(synced) => {
                    if let Err(e) = self.apply_synced(&state, synced) {
                        tracing::warn!(error = %e, "applying a sync failed; its rooms will be walked");
                    }
                    self.health.device_synced();
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
        for (_, room) in self.store.scan("peer_room:")? {
            if self.store.get(&format!("joined:{room}"))?.is_some() {
                rooms.push(room);
            }
        }
        rooms.extend(self.qa_rooms()?);
        Ok(rooms)
    }

    /// Invites the device (as the application service) into the rooms it is not in yet,
    /// and joins them with it.
    async fn device_rooms(&self, device: &Device) -> Result<(), FederationError> {
        let joined = device.joined_rooms();
        let user = device.user_id().to_string();
        for room in self.rooms_to_read()? {
            let id: OwnedRoomId = raremesh_bridge::client::parse_id("room id", &room)?;
            if joined.contains(&id) {
                continue;
            }
            match self.client.invite(&room, &user).await {
                Ok(()) => {}
                // Already invited (or joined).
                Err(e) if e.status() == Some(403) => {}
                Err(e) => return Err(e.into()),
            }
            device.join(&id).await?;
            tracing::info!(%room, "the node's device joined a room");
        }
        Ok(())
    }

    /// Applies the events of a sync (once by event id), logs those that cannot be used
    /// (once), and sends the rooms with gaps to be walked.
    fn apply_synced(
        self: &Arc<Self>,
        state: &AppState,
        synced: raremesh_bridge::device::Synced,
    ) -> Result<(), FederationError> {
        self.pushed.add(synced.gaps);
        for (id, room, why) in &synced.refused {
            if let Some(id) = id {
                if self.store.applied(id.as_str())? {
                    continue;
                }
                self.store
                    .mark_applied(id.as_str(), crate::registration::now())?;
            }
            let shown = id.as_ref().map_or("?", |i| i.as_str());
            dropped(DropReason::Malformed, "?", room.as_str(), shown, why);
        }
        let device = self.device_user();
        let events: Vec<_> = synced
            .events
            .into_iter()
            .filter(|e| e.sender.as_str() != device)
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let r = self.receive(state, &events)?;
        self.health.synced_events(r.new);
        Ok(())
    }
}
