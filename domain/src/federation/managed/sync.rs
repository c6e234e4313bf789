//! One wake of a managed account: its sync, what the sync brought (only the partner is
//! listened to), the events read again until kept, the member's messages sent, and the
//! rooms of ended conversations left.

use std::collections::HashMap;
use std::time::Duration;

use raremesh_bridge::device::{Device, Reread};
use raremesh_bridge::event::Incoming;
use raremesh_bridge::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use serde_json::json;

use super::{KEY_WAIT, ManagedRoom};
use crate::clock::now;
use crate::federation::state::{Key, Kind};
use crate::federation::{Federation, FederationError};
use crate::ids::AccountId;

impl Federation {
    /// Syncs a managed account once: keeps the partner's member's messages (decrypted),
    /// notes events whose room key has not come, tries the noted ones again, sends the
    /// member's messages not sent yet (once the partner has joined: a message sent before
    /// would be encrypted for nobody but the member), and leaves the rooms of
    /// conversations that ended or were erased.
    pub(in crate::federation) async fn sync_managed(
        &self,
        account: &AccountId,
    ) -> Result<(), FederationError> {
        let slot = self.managed.slot(account);
        let mut guard = slot.lock().await;
        // An account without rooms (erased meanwhile) is not opened.
        if self.managed_rooms(account)?.is_empty() {
            self.managed.pending(account, false);
            return Ok(());
        }
        let device = self.managed_device(account, &mut guard).await?;
        let synced = match device.sync(Duration::ZERO).await {
            Ok(s) => s,
            Err(e) if e.status() == Some(401) => {
                tracing::warn!(
                    "the homeserver ended a managed account's session; opening it again"
                );
                *guard = None;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let me = device.user_id().to_owned();
        let messages = self.messages()?;
        let mut left = false;
        // What the sync brought. The sync position has moved on: an event that cannot be
        // kept now is noted and read again (as are the events the homeserver pushed).
        let mut rooms = self.managed_rooms(account)?;
        for e in &synced.events {
            if let Err(err) = self.apply_managed(&mut rooms, &me, e).await {
                tracing::warn!(error = %err, "a managed room's event could not be kept now; read again later");
                if let Some(id) = &e.event_id {
                    self.note_managed(id.as_str(), e.room_id.as_str())?;
                }
                left = true;
            }
        }
        for (event, room, why) in &synced.undecryptable {
            if let Some(event) = event
                && rooms.contains_key(room.as_str())
            {
                tracing::debug!(%room, why, "a managed room's event waits for its key");
                self.note_managed(event.as_str(), room.as_str())?;
            }
        }
        for room in &synced.gaps {
            tracing::info!(%room, "a managed room's sync has a gap: the events pushed before are read again");
        }
        left |= self.again_undecrypted(device, &mut rooms, &me).await?;
        let joined = device.joined_rooms();
        for (room, r) in &rooms {
            let Ok(id) = raremesh_bridge::client::parse_id::<OwnedRoomId>("room id", room) else {
                continue;
            };
            let state = messages.room_state(&r.conversation)?;
            let ended = state.is_none_or(|s| s.local_left || s.remote_left);
            if !ended && !joined.contains(&id) {
                // A join that failed before.
                if let Err(e) = device.join(&id).await {
                    tracing::info!(error = %e, %room, "a managed account could not join its room yet");
                    left = true;
                }
                continue;
            }
            // What the member wrote goes, while the partner is there: also just before
            // the member's own leaving.
            if state.is_some_and(|s| !s.remote_left) {
                left |= self
                    .send_unsent(device, &id, r, &me, &messages)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::info!(error = %e, %room, "messages could not go into their room yet");
                        true
                    });
            }
            if ended {
                match device.leave(&id).await {
                    Ok(()) => {
                        self.forget_managed_room(room)?;
                        tracing::info!(%room, "a managed account left the room of an ended conversation");
                    }
                    Err(e) => {
                        tracing::info!(error = %e, %room, "a managed account could not leave its room yet");
                        left = true;
                    }
                }
            }
        }
        self.managed.pending(account, left);
        Ok(())
    }

    /// Notes an event of a managed room to read (again) at the account's next sync.
    pub(in crate::federation) fn note_managed(
        &self,
        event: &str,
        room: &str,
    ) -> Result<(), FederationError> {
        if self.store.get(Key::ManagedUndecrypted(event))?.is_none() {
            self.store
                .set(Key::ManagedUndecrypted(event), &format!("{} {room}", now()))?;
        }
        Ok(())
    }

    /// Forgets a managed room and the events of it still noted.
    pub(super) fn forget_managed_room(&self, room: &str) -> Result<(), FederationError> {
        self.store.unset(Key::ManagedRoom(room))?;
        for (name, value) in self.store.scan(Kind::ManagedUndecrypted)? {
            if value.split_once(' ').is_some_and(|(_, r)| r == room) {
                self.store.unset_name(&name)?;
            }
        }
        Ok(())
    }

    /// This member's managed rooms.
    pub(super) fn managed_rooms(
        &self,
        account: &AccountId,
    ) -> Result<HashMap<String, ManagedRoom>, FederationError> {
        Ok(self
            .store
            .scan(Kind::ManagedRoom)?
            .into_iter()
            .filter_map(|(name, v)| {
                let r = ManagedRoom::parse(&v)?;
                (&r.account == account).then(|| (name.rest(&Kind::ManagedRoom).to_owned(), r))
            })
            .collect())
    }

    /// Whether a user is one of the nodes (this one, a peer, their devices), not a member.
    fn is_node_user(&self, user: &str) -> bool {
        user == self.config.user_id()
            || self.peer(user).is_some()
            || self.peer(&self.principal(user)).is_some()
            || user == self.device_user()
    }

    /// Keeps what an event of a managed room says: the partner's joining (the first member
    /// other than the account to join is the partner, and only the partner is listened
    /// to), leaving, or message.
    async fn apply_managed(
        &self,
        rooms: &mut HashMap<String, ManagedRoom>,
        me: &OwnedUserId,
        e: &Incoming,
    ) -> Result<(), FederationError> {
        let room_id = e.room_id.as_str();
        let Some(r) = rooms.get_mut(room_id) else {
            return Ok(());
        };
        let sender = e.sender.as_str();
        if sender == me.as_str() || self.is_node_user(sender) {
            return Ok(());
        }
        let messages = self.messages()?;
        if r.partner.is_none() {
            r.partner = Some(sender.to_owned());
            self.store.set(Key::ManagedRoom(room_id), &r.encode())?;
            tracing::info!(room = %room_id, "the partner's member is in a managed room");
        }
        if e.membership() == Some("join") && e.state_key.as_deref() == Some(sender) {
            if r.partner.as_deref() != Some(sender) {
                tracing::warn!(room = %room_id, "someone other than the partner joined a managed room: not listened to, and nothing is sent while they are there");
            }
            return Ok(());
        }
        if r.partner.as_deref() != Some(sender) {
            tracing::info!(room = %room_id, "an event of someone other than the partner in a managed room: ignored");
            return Ok(());
        }
        if matches!(e.membership(), Some("leave" | "ban")) && e.state_key.as_deref() == Some(sender)
        {
            messages.remote_left(&r.conversation)?;
            return Ok(());
        }
        let (Some(event), Some(text)) = (&e.event_id, e.text()) else {
            return Ok(());
        };
        if e.state_key.is_some() || text.trim().is_empty() {
            return Ok(());
        }
        messages
            .receive_remote(
                &r.conversation,
                event.as_str(),
                text,
                e.origin_server_ts / 1000,
            )
            .await?;
        Ok(())
    }

    /// Reads again the noted events of this member's rooms (kept ones are skipped);
    /// whether some still wait.
    async fn again_undecrypted(
        &self,
        device: &Device,
        rooms: &mut HashMap<String, ManagedRoom>,
        me: &OwnedUserId,
    ) -> Result<bool, FederationError> {
        let messages = self.messages()?;
        let mut waiting = false;
        for (name, value) in self.store.scan(Kind::ManagedUndecrypted)? {
            let Some((since, room)) = value.split_once(' ') else {
                self.store.unset_name(&name)?;
                continue;
            };
            let event = name.rest(&Kind::ManagedUndecrypted).to_owned();
            if !rooms.contains_key(room) {
                // Another member's room, or one no longer managed.
                if self.store.get(Key::ManagedRoom(room))?.is_none() {
                    self.store.unset_name(&name)?;
                }
                continue;
            }
            if messages.kept(&event)? {
                self.store.unset_name(&name)?;
                continue;
            }
            let (Ok(room_id), Ok(event_id)) = (
                raremesh_bridge::client::parse_id::<OwnedRoomId>("room id", room),
                raremesh_bridge::client::parse_id::<OwnedEventId>("event id", &event),
            ) else {
                self.store.unset_name(&name)?;
                continue;
            };
            let expired = since.parse::<u64>().is_ok_and(|s| now() > s + KEY_WAIT);
            match device.decrypt_again(&room_id, &event_id).await {
                Ok(Reread::Read(e)) => {
                    self.apply_managed(rooms, me, &e).await?;
                    self.store.unset_name(&name)?;
                }
                Ok(Reread::NotYet { .. }) | Err(_) if expired => {
                    tracing::warn!(%room, event, "a managed room's event could not be read for a day: given up");
                    self.store.unset_name(&name)?;
                }
                Ok(Reread::NotYet { .. }) => waiting = true,
                Err(e) => {
                    tracing::info!(error = %e, %room, "reading a managed room's event again failed");
                    waiting = true;
                }
            }
        }
        Ok(waiting)
    }

    /// Sends the member's messages of one room not sent yet, in order, when the partner
    /// (and nobody else) is there; whether some still wait for a retry. Waiting for the
    /// partner to join needs no retry: the join wakes the account.
    async fn send_unsent(
        &self,
        device: &Device,
        room: &OwnedRoomId,
        r: &ManagedRoom,
        me: &OwnedUserId,
        messages: &crate::messages::Service,
    ) -> Result<bool, FederationError> {
        let unsent = messages.unsent(&r.conversation)?;
        if unsent.is_empty() {
            return Ok(false);
        }
        let others: Vec<OwnedUserId> = device
            .joined_members(room)
            .await?
            .into_iter()
            .filter(|u| u != me && !self.is_node_user(u.as_str()))
            .collect();
        let partner = match &r.partner {
            Some(p) => p.clone(),
            // Joined before the account (its joining was not among the events it read).
            None if others.len() == 1 => {
                let partner = others[0].to_string();
                let known = ManagedRoom {
                    partner: Some(partner.clone()),
                    ..r.clone()
                };
                self.store
                    .set(Key::ManagedRoom(room.as_str()), &known.encode())?;
                partner
            }
            None => return Ok(false),
        };
        if others.len() != 1 || others[0].as_str() != partner {
            return Ok(false);
        }
        for m in unsent {
            let txn = format!("raremesh-{}-{}", r.conversation, m.seq);
            let content = json!({"msgtype": "m.text", "body": m.body});
            match device.send(room, "m.room.message", &txn, &content).await {
                Ok(event) => messages.mark_sent(&r.conversation, m.seq, event.as_str())?,
                Err(e) => {
                    tracing::info!(error = %e, %room, "a message could not go into its room yet");
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
