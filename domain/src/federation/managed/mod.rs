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

use raremesh_bridge::device::{Device, Stores};
use raremesh_bridge::ruma::{OwnedRoomId, OwnedUserId};

mod sync;

use super::contact::Contact;
use super::{Federation, FederationError};
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
