//! Matrix accounts the node manages for members who have no Matrix app, so that they talk
//! with members of partner organizations on the Messages page.
//!
//! When such a member's contact request is accepted (either way), the contact room is
//! opened with an account of the node's application-service namespace,
//! `@<sender_localpart>-m-<name>:<server>`, where `<name>` is an HMAC of the member's
//! account id (the account id never reaches a homeserver). The account is a matrix-sdk
//! device like the node's own ([`Device`]): its session, sync position and end-to-end
//! encryption keys are kept in `data/federation/managed/<name>/`, encrypted with a key
//! derived from the node's secret for that account alone. The room stays end-to-end
//! encrypted between the two members; the node reads and writes it as the member's
//! account only.
//!
//! No account syncs all the time: one long poll per account does not scale to a node of a
//! thousand members. The homeserver already pushes every event of a room with one of the
//! node's users in it to the application service; such a push *wakes* the member's
//! account, which syncs once (bringing the room keys sent to it and the events, decrypted)
//! and sends what the member wrote and has not gone yet. At most [`OPEN_AT_ONCE`]
//! accounts are open at a time; the least recently used idle one is closed for another.
//! At start every account syncs once (what came while the node was down), and accounts
//! with something left to do (a message not sent, an event without its room key yet) are
//! woken again every [`AGAIN`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use raremesh_bridge::device::{Device, Reread, Stores};
use raremesh_bridge::event::Incoming;
use raremesh_bridge::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use serde_json::json;

use super::contact::Contact;
use super::{Federation, FederationError};
use crate::clock::now;
use crate::federation::state::{Key, Kind};
use crate::ids::AccountId;
use crate::messages::RemoteMember;

/// The most managed accounts open (with their stores) at once.
pub const OPEN_AT_ONCE: usize = 64;
/// How often accounts with something left to do are woken again.
const AGAIN: Duration = Duration::from_secs(20);
/// How long an event without its room key is tried again.
const KEY_WAIT: u64 = 24 * 3600;
/// How long a managed account waits for an invitation to reach it.
const JOIN_TRIES: u32 = 20;

type Slot = Arc<tokio::sync::Mutex<Option<Device>>>;

/// The most managed accounts syncing at once.
pub const SYNCING_AT_ONCE: usize = 16;

/// The managed accounts open now, those with something left to do, and those awake.
pub(super) struct Managed {
    open: std::sync::Mutex<HashMap<AccountId, (Slot, Instant)>>,
    pending: std::sync::Mutex<BTreeSet<AccountId>>,
    /// Accounts with a wake running → whether another pass was asked for meanwhile.
    waking: std::sync::Mutex<HashMap<AccountId, bool>>,
    syncing: tokio::sync::Semaphore,
}

impl Default for Managed {
    fn default() -> Self {
        Self {
            open: std::sync::Mutex::default(),
            pending: std::sync::Mutex::default(),
            waking: std::sync::Mutex::default(),
            syncing: tokio::sync::Semaphore::new(SYNCING_AT_ONCE),
        }
    }
}

impl Managed {
    /// The account's slot (opened on first use by whoever holds its lock); closes the
    /// least recently used idle account when too many are open.
    fn slot(&self, account: &AccountId) -> Slot {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now();
        if let Some((slot, used)) = open.get_mut(account) {
            *used = t;
            return slot.clone();
        }
        while open.len() >= OPEN_AT_ONCE {
            let idle = open
                .iter()
                .filter(|(_, (s, _))| Arc::strong_count(s) == 1)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(a, _)| a.clone());
            match idle {
                Some(a) => open.remove(&a),
                // All busy: more are open for a moment.
                None => break,
            };
        }
        let slot = Slot::default();
        open.insert(account.clone(), (slot.clone(), t));
        slot
    }

    fn forget(&self, account: &AccountId) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account);
        self.pending(account, false);
    }

    fn pending(&self, account: &AccountId, left: bool) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if left {
            p.insert(account.clone());
        } else {
            p.remove(account);
        }
    }

    /// How many accounts are open now.
    pub(super) fn open_now(&self) -> usize {
        self.open.lock().map_or(0, |o| o.len())
    }
}

/// A managed room's value: `<account> <conversation> [<partner>]`.
#[derive(Debug, Clone)]
struct ManagedRoom {
    /// The member.
    account: AccountId,
    /// Their conversation on the Messages page.
    conversation: String,
    /// The partner's member, once joined: the only other member listened to.
    partner: Option<String>,
}

impl ManagedRoom {
    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(' ');
        Some(Self {
            account: AccountId::new(parts.next()?),
            conversation: parts.next()?.to_owned(),
            partner: parts.next().map(str::to_owned),
        })
    }

    fn encode(&self) -> String {
        match &self.partner {
            Some(p) => format!("{} {} {p}", self.account, self.conversation),
            None => format!("{} {}", self.account, self.conversation),
        }
    }
}

fn parse_room(value: &str) -> Option<(AccountId, String)> {
    ManagedRoom::parse(value).map(|r| (r.account, r.conversation))
}

impl Federation {
    /// The Matrix user the node manages for a member.
    pub fn managed_user(&self, account: &str) -> String {
        format!(
            "@{}-m-{}:{}",
            self.config.sender_localpart,
            self.keys.managed_name(account),
            self.config.server_name
        )
    }

    /// How many managed accounts are open now (for the status and the benchmark).
    pub fn managed_open(&self) -> usize {
        self.managed.open_now()
    }

    pub(super) fn messages(&self) -> Result<crate::messages::Service, FederationError> {
        self.messages
            .get()
            .and_then(crate::messages::WeakService::upgrade)
            .ok_or_else(|| FederationError::Matrix("messaging is not connected".into()))
    }

    /// Connects messaging, which keeps the conversations held in managed rooms.
    pub fn connect_messages(&self, messages: &crate::messages::Service) {
        let _ = self.messages.set(messages.downgrade());
    }

    async fn managed_device<'g>(
        &self,
        account: &AccountId,
        slot: &'g mut Option<Device>,
    ) -> Result<&'g Device, FederationError> {
        if slot.is_none() {
            let name = self.keys.managed_name(account);
            let user: OwnedUserId =
                raremesh_bridge::client::parse_id("managed user id", &self.managed_user(account))?;
            let dir = self.dir.join("managed").join(&name);
            let key = self.keys.managed_key(&name);
            *slot = Some(
                Device::open_as(&self.client, &user, &dir, &key, "raremesh", Stores::Small).await?,
            );
        }
        slot.as_ref()
            .ok_or_else(|| FederationError::Matrix("a managed account did not open".into()))
    }

    /// The member of an accepted contact talks through their managed account: the
    /// conversation opens on their Messages page, and the account joins `room` (to which
    /// the node invited it). The conversation's id.
    pub async fn talk_through_managed(
        &self,
        contact: &Contact,
        room: &str,
    ) -> Result<String, FederationError> {
        let organization = self
            .peer(&contact.peer)
            .map_or_else(String::new, |p| p.name.clone());
        let conversation = self.messages()?.open_remote(
            &contact.account_id,
            &contact.patient_id,
            &RemoteMember {
                peer: contact.peer.clone(),
                pseudonym: contact.remote_pseudonym.clone(),
                organization,
            },
            room,
        )?;
        let known = self
            .store
            .get(Key::ManagedRoom(room))?
            .and_then(|v| ManagedRoom::parse(&v))
            .is_some_and(|r| r.conversation == conversation);
        if !known {
            self.store.set(
                Key::ManagedRoom(room),
                &format!("{} {conversation}", contact.account_id),
            )?;
        }
        tracing::info!(%room, "a member talks with a partner's member through a managed account");
        // The conversation is kept: joining is tried again (every sync of the account
        // joins the rooms it should be in) if it fails now.
        if let Err(e) = self.join_managed(contact, room).await {
            self.managed.pending(&contact.account_id, true);
            tracing::info!(error = %e, %room, "the managed account has not joined its room yet");
        }
        Ok(conversation)
    }

    async fn join_managed(&self, contact: &Contact, room: &str) -> Result<(), FederationError> {
        let room_id: OwnedRoomId = raremesh_bridge::client::parse_id("room id", room)?;
        {
            let slot = self.managed.slot(&contact.account_id);
            let mut guard = slot.lock().await;
            let device = self.managed_device(&contact.account_id, &mut guard).await?;
            let mut tries = 0;
            loop {
                match device.join(&room_id).await {
                    Ok(()) => break,
                    Err(e) if tries < JOIN_TRIES => {
                        tracing::debug!(error = %e, "the managed account's invitation has not come yet");
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // The patient's pseudonym as the account's name in this room only: one
            // account may talk for several patients, and their names must not meet.
            let label = format!(
                "Patient {}",
                contact
                    .local_pseudonym
                    .get(..6)
                    .unwrap_or(&contact.local_pseudonym)
                    .to_uppercase()
            );
            if let Err(e) = device.set_room_display_name(&room_id, &label).await {
                tracing::info!(error = %e, "the managed account's name in its room was not set");
            }
        }
        self.sync_managed(&contact.account_id).await
    }

    /// Wakes the account the node manages for a member (an event came in one of its
    /// rooms, or the member wrote): it syncs once, keeps what came, and sends what waits.
    /// Wakes of an account already awake are folded into one more pass; at most
    /// [`SYNCING_AT_ONCE`] accounts sync at a time.
    pub fn wake_managed(self: &Arc<Self>, account: &AccountId) {
        {
            let mut waking = self
                .managed
                .waking
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(again) = waking.get_mut(account) {
                *again = true;
                return;
            }
            waking.insert(account.clone(), false);
        }
        let (f, account) = (self.clone(), account.clone());
        tokio::spawn(async move {
            loop {
                let synced = match f.managed.syncing.acquire().await {
                    Ok(_permit) => f.sync_managed(&account).await,
                    Err(_) => return,
                };
                if let Err(e) = synced {
                    f.managed.pending(&account, true);
                    tracing::info!(error = %e, "a managed Matrix account could not sync; tried again later");
                }
                let mut waking = f.managed.waking.lock().unwrap_or_else(|e| e.into_inner());
                match waking.get_mut(&account) {
                    Some(again) if *again => *again = false,
                    _ => {
                        waking.remove(&account);
                        return;
                    }
                }
            }
        });
    }

    /// The member left a conversation: their managed account leaves its room (at its
    /// next sync, after sending what the member wrote before leaving).
    pub fn leave_managed(self: &Arc<Self>, account: &AccountId) {
        self.wake_managed(account);
    }

    /// Erases the account the node manages for a member (their account was erased): it
    /// leaves its rooms, its session ends, and its folder is removed.
    pub async fn erase_managed(&self, account: &AccountId) -> Result<(), FederationError> {
        let rooms: Vec<String> = self
            .store
            .scan(Kind::ManagedRoom)?
            .into_iter()
            .filter(|(_, v)| parse_room(v).is_some_and(|(a, _)| &a == account))
            .map(|(name, _)| name.rest(&Kind::ManagedRoom).to_owned())
            .collect();
        // Forgotten first: an event of these rooms (the leaves below) no longer wakes the
        // account, which would open it again.
        for room in &rooms {
            self.store.unset(Key::ManagedRoom(room))?;
        }
        let name = self.keys.managed_name(account);
        let dir = self.dir.join("managed").join(&name);
        if !dir.exists() {
            return Ok(());
        }
        let slot = self.managed.slot(account);
        let mut guard = slot.lock().await;
        if let Ok(device) = self.managed_device(account, &mut guard).await {
            for room in &rooms {
                if let Ok(id) = raremesh_bridge::client::parse_id::<OwnedRoomId>("room id", room)
                    && let Err(e) = device.leave(&id).await
                {
                    tracing::warn!(error = %e, "an erased member's account could not leave a room");
                }
            }
            if let Err(e) = device.log_out().await {
                tracing::info!(error = %e, "an erased member's account could not log out");
            }
        }
        *guard = None;
        // Removed while the account's lock is held: nothing opens it meanwhile.
        let removed = std::fs::remove_dir_all(&dir);
        drop(guard);
        self.managed.forget(account);
        removed.map_err(|e| FederationError::Matrix(format!("removing a managed account: {e}")))?;
        Ok(())
    }

    /// Syncs a managed account now (see [`Federation::sync_managed`]), if it has rooms.
    pub async fn sync_managed_now(&self, account: &AccountId) -> Result<(), FederationError> {
        if self.managed_rooms(account)?.is_empty() {
            return Ok(());
        }
        self.sync_managed(account).await
    }

    /// Syncs a managed account once: keeps the partner's member's messages (decrypted),
    /// notes events whose room key has not come, tries the noted ones again, sends the
    /// member's messages not sent yet (once the partner has joined: a message sent before
    /// would be encrypted for nobody but the member), and leaves the rooms of
    /// conversations that ended or were erased.
    pub(super) async fn sync_managed(&self, account: &AccountId) -> Result<(), FederationError> {
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
    pub(super) fn note_managed(&self, event: &str, room: &str) -> Result<(), FederationError> {
        if self.store.get(Key::ManagedUndecrypted(event))?.is_none() {
            self.store
                .set(Key::ManagedUndecrypted(event), &format!("{} {room}", now()))?;
        }
        Ok(())
    }

    /// Forgets a managed room and the events of it still noted.
    fn forget_managed_room(&self, room: &str) -> Result<(), FederationError> {
        self.store.unset(Key::ManagedRoom(room))?;
        for (name, value) in self.store.scan(Kind::ManagedUndecrypted)? {
            if value.split_once(' ').is_some_and(|(_, r)| r == room) {
                self.store.unset_name(&name)?;
            }
        }
        Ok(())
    }

    /// This member's managed rooms.
    fn managed_rooms(
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

    /// Accepted contacts of members without a Matrix app whose conversation was not
    /// opened (a stop between the acceptance and the conversation): opened now.
    async fn repair_managed(&self) {
        let contacts = match self.all_contacts() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "listing the contacts failed");
                return;
            }
        };
        for mut c in contacts {
            let (true, Some(room), None) = (
                c.status == super::ContactStatus::Accepted,
                c.room.clone(),
                c.conversation.as_ref(),
            ) else {
                continue;
            };
            let linked = self
                .local
                .registrations
                .member(&c.account_id)
                .ok()
                .flatten()
                .is_some_and(|m| m.matrix.as_ref().is_some_and(|l| l.verified));
            if linked {
                continue;
            }
            match self.talk_through_managed(&c, &room).await {
                Ok(conversation) => {
                    c.conversation = Some(conversation);
                    if let Err(e) = self.save_contact(&c) {
                        tracing::warn!(error = %e, "recording a repaired conversation failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, %room, "a conversation could not be opened again")
                }
            }
        }
    }

    /// Runs until the process ends: every managed account syncs once (what came while the
    /// node was down), then accounts with something left to do are woken again.
    pub(super) async fn run_managed(self: Arc<Self>) {
        self.repair_managed().await;
        let accounts: BTreeSet<AccountId> = match self.store.scan(Kind::ManagedRoom) {
            Ok(rooms) => rooms
                .iter()
                .filter_map(|(_, v)| parse_room(v).map(|(a, _)| a))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "listing the managed accounts failed");
                BTreeSet::new()
            }
        };
        for account in accounts {
            if let Err(e) = self.sync_managed(&account).await {
                self.managed.pending(&account, true);
                tracing::info!(error = %e, "a managed account could not sync at start; tried again later");
            }
        }
        loop {
            tokio::time::sleep(AGAIN).await;
            let pending: Vec<AccountId> = self
                .managed
                .pending
                .lock()
                .map(|p| p.iter().cloned().collect())
                .unwrap_or_default();
            for account in pending {
                if let Err(e) = self.sync_managed(&account).await {
                    self.managed.pending(&account, true);
                    tracing::debug!(error = %e, "a managed account could not sync; tried again later");
                }
            }
        }
    }
}
