//! The federation: this node publishes the pseudonymous vectors of its validated,
//! consenting patients to its trusted peers over Matrix, and keeps theirs for matching.
//!
//! The node is a Matrix application service of its organization's homeserver: it sends with
//! the `as_token`, and the homeserver pushes events to `/_matrix/app/v1/transactions/{id}`
//! (retrying until they are acknowledged, so nothing is lost while the node is down). The
//! node publishes in a room of its own, to which it invites its peers; it joins the rooms
//! its peers invite it to. See `docs/federation.md` and `docs/protocol.md`.

mod catch_up;
mod contact;
mod device;
pub mod health;
pub(crate) mod keys;
mod link;
mod local;
pub mod managed;
mod publish;
pub mod qa;
mod receive;
pub mod research;
mod resend;
pub mod state;
pub mod status;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use age::x25519::Recipient;
use raremesh_bridge::client::NewRoom;
use raremesh_bridge::rooms::RoomKind;

pub use contact::{CONTACT_ROOM_NAME, Contact, ContactError, ContactStatus};
pub use keys::Keys;
pub use link::LINK_ROOM_NAME;
pub use local::Local;
pub use store::{FederationStore, RemoteVector};

use crate::config::{Config, FederationConfig, PeerConfig};
use crate::federation::state::{Key, Kind};
use crate::store::{Changes, KvStore, StoreError};

/// Why a federation step failed (logged; the node goes on serving its members).
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The keys in `data/federation` cannot be read or created.
    #[error("federation keys: {0}")]
    Keys(String),
    /// A federation step cannot go on yet (no room yet, a lock poisoned).
    #[error("federation: {0}")]
    Matrix(String),
    /// The homeserver refused or could not be reached, or a message could not be sealed.
    #[error(transparent)]
    Bridge(#[from] raremesh_bridge::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node's device is not (yet) in an encrypted room it must write in: what is for
    /// that room waits, the rest goes on.
    #[error("the node's device is not in {0} (yet)")]
    NotInRoom(String),
    /// A conversation held in a managed room could not be read or written.
    #[error(transparent)]
    Messaging(#[from] crate::messages::MessagingError),
}

impl FederationError {
    /// The HTTP status the homeserver refused with, if it did.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Bridge(e) => e.status(),
            _ => None,
        }
    }

    /// Whether retrying cannot help: the homeserver refused with a 4xx other than 429.
    pub fn is_permanent(&self) -> bool {
        self.status()
            .is_some_and(|s| (400..500).contains(&s) && s != 429)
    }
}

/// The federation of a node (present when `[federation]` is enabled and valid).
pub struct Federation {
    /// The configuration section.
    pub config: FederationConfig,
    /// The node's keys.
    pub keys: Keys,
    /// What it stores.
    pub store: FederationStore,
    /// The homeserver client.
    pub client: raremesh_bridge::client::Homeserver,
    /// What the status shows.
    pub health: health::Health,
    /// Held while events are applied, so an event arriving by push and by sync at once is
    /// applied once.
    ingest: std::sync::Mutex<()>,
    peers: HashMap<String, PeerConfig>,
    recipients: Vec<Recipient>,
    /// Held while publishing and while taking a snapshot, so a snapshot never misses an
    /// update being sent (receivers would drop it as older than the snapshot).
    publishing: tokio::sync::Mutex<()>,
    /// Held while contact messages are handled.
    inbox: tokio::sync::Mutex<()>,
    /// Held while Q&A events are sent.
    qa_out: tokio::sync::Mutex<()>,
    /// The queue of Q&A events to send, which Q&A writes to.
    outbox: qa::Outbox,
    /// What it uses of its own node.
    local: Local,
    /// The rooms the homeserver pushed events from since they were last caught up.
    pushed: catch_up::Pushed,
    /// `data/federation`: the keys, the status and the node's Matrix device.
    dir: std::path::PathBuf,
    /// The node's Matrix device while it is open: it reads and writes the end-to-end
    /// encrypted Q&A rooms.
    device: std::sync::RwLock<Option<raremesh_bridge::device::Device>>,
    /// Events the device could not decrypt yet (their room key had not come), tried again
    /// after each sync.
    undecrypted: std::sync::Mutex<Vec<device::Undecrypted>>,
    /// When this node asked peers to send a Q&A room again, and when peers asked it.
    resends: std::sync::Mutex<resend::Resends>,
    /// One answer to a researcher's query recorded at a time (this node's own, and
    /// partners' as they arrive), so that none overwrites another.
    pub(crate) answers: std::sync::Mutex<()>,
    /// The Matrix accounts the node manages for members without a Matrix app.
    managed: managed::Managed,
    /// Messaging, which keeps the conversations held in managed rooms.
    messages: std::sync::OnceLock<crate::messages::WeakService>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("user_id", &self.config.user_id())
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

/// The name of the rooms nodes publish in.
pub const FEDERATION_ROOM_NAME: &str = "raremesh federation";

impl Federation {
    /// The federation `config` describes, or why it cannot run (the section is checked).
    /// It connects `local.qa` to its outbox: [`Federation::qa`] is Q&A as the node uses it.
    pub fn new(
        config: &Config,
        kv: Arc<dyn KvStore>,
        changes: Changes,
        mut local: Local,
    ) -> Result<Self, String> {
        let f = &config.federation;
        f.check().map_err(|e| e.to_string())?;
        let keys = Keys::open_or_create(&config.federation_path()).map_err(|e| e.to_string())?;
        let recipients = f
            .peers
            .iter()
            .filter_map(|p| p.age_key.trim().parse::<Recipient>().ok())
            .collect();
        let store = FederationStore::new(kv, changes);
        let outbox = qa::Outbox::new(store.clone());
        local.qa = local.qa.sharing_with(Arc::new(outbox.clone()));
        Ok(Self {
            client: raremesh_bridge::client::Homeserver::new(
                &f.homeserver_url,
                f.as_token.expose(),
            )
            .map_err(|e| e.to_string())?,
            health: health::Health::default(),
            ingest: std::sync::Mutex::new(()),
            config: f.clone(),
            keys,
            outbox,
            local,
            store,
            peers: f
                .peers
                .iter()
                .map(|p| (p.user_id.clone(), p.clone()))
                .collect(),
            recipients,
            publishing: tokio::sync::Mutex::new(()),
            inbox: tokio::sync::Mutex::new(()),
            qa_out: tokio::sync::Mutex::new(()),
            pushed: catch_up::Pushed::default(),
            dir: config.federation_path(),
            device: std::sync::RwLock::new(None),
            undecrypted: std::sync::Mutex::new(Vec::new()),
            resends: std::sync::Mutex::new(resend::Resends::default()),
            answers: std::sync::Mutex::new(()),
            managed: managed::Managed::default(),
            messages: std::sync::OnceLock::new(),
        })
    }

    /// Questions and answers, sharing their changes through this federation.
    pub fn qa(&self) -> &crate::qa::Service {
        &self.local.qa
    }

    /// Creates a room of a raremesh kind, inviting `invite`; its id.
    pub(crate) async fn create_room(
        &self,
        kind: raremesh_bridge::rooms::RoomKind,
        name: &str,
        invite: &[String],
        mut new: raremesh_bridge::client::NewRoom,
    ) -> Result<String, FederationError> {
        for u in invite {
            new.invite
                .push(raremesh_bridge::client::parse_id("user id", u)?);
        }
        Ok(self.client.create_room(kind, name, new).await?.to_string())
    }

    /// The trusted peer with this Matrix user id.
    pub fn peer(&self, user_id: &str) -> Option<&PeerConfig> {
        self.peers.get(user_id)
    }

    /// The room the node publishes in, once created.
    pub fn own_room(&self) -> Result<Option<String>, StoreError> {
        self.store.get(Key::OwnRoom)
    }

    /// Creates the node's room (inviting every peer) if needed; invites peers added to
    /// config since; removes peers taken out of config and erases what they sent.
    async fn ensure_room(&self) -> Result<String, FederationError> {
        let room = match self.store.get(Key::OwnRoom)? {
            Some(r) => r,
            None => {
                let invite: Vec<String> = self.peers.keys().cloned().collect();
                let room = self
                    .create_room(
                        RoomKind::Federation,
                        FEDERATION_ROOM_NAME,
                        &invite,
                        NewRoom {
                            topic: Some("Encrypted raremesh protocol events".into()),
                            ..NewRoom::default()
                        },
                    )
                    .await?;
                self.store.set(Key::OwnRoom, &room)?;
                for p in &invite {
                    self.store.flag(Key::Invited(p))?;
                }
                tracing::info!(%room, peers = invite.len(), "federation room created");
                room
            }
        };
        for p in self.peers.keys() {
            if !self.store.flagged(Key::Invited(p))? {
                self.client.invite(&room, p).await?;
                self.store.flag(Key::Invited(p))?;
                tracing::info!(peer = %p, "peer invited to the federation room");
            }
        }
        for (name, _) in self.store.scan(Kind::Invited)? {
            let p = name.rest(&Kind::Invited);
            if !self.peers.contains_key(p) {
                match self.client.kick(&room, p, "no longer a trusted peer").await {
                    Ok(()) => self.store.unset_name(&name)?,
                    // Not (or no longer) in the room: nothing to remove.
                    Err(e) if e.status() == Some(403) => self.store.unset_name(&name)?,
                    // Retried on the next round.
                    Err(e) => {
                        tracing::warn!(peer = %p, error = %e, "removing a former peer failed")
                    }
                }
            }
        }
        for p in self.store.remote_peers()? {
            if !self.peers.contains_key(&p) {
                let n = self.store.purge_peer(&p)?;
                tracing::info!(peer = %p, vectors = n, "data of a former peer erased");
            }
        }
        for (name, room) in self.store.scan(Kind::PeerRoom)? {
            let p = name.rest(&Kind::PeerRoom);
            if !self.peers.contains_key(p) {
                let _ = self.client.leave(&room).await;
                self.store.unset_name(&name)?;
            } else if !self.store.flagged(Key::Joined(&room))? {
                match self.client.join(&room).await {
                    Ok(()) => {
                        self.store.flag(Key::Joined(&room))?;
                        tracing::info!(%room, "joined a peer's federation room");
                        self.request_snapshot(&room_of_own(self)?).await?;
                    }
                    Err(e) => {
                        tracing::info!(%room, error = %e, "joining a peer's room: will retry")
                    }
                }
            }
        }
        Ok(room)
    }

    /// Joins a room a trusted peer invited this node to (retrying: right after the
    /// invitation the peer's homeserver may not accept the join yet), then asks the peers
    /// for what they published before. The run loop retries rooms not joined yet.
    pub async fn join_peer_room(&self, room: &str) {
        for attempt in 0..10u64 {
            match self.client.join(room).await {
                Ok(()) => {
                    if let Err(e) = self.store.flag(Key::Joined(room)) {
                        tracing::warn!(error = %e, "recording a joined room failed");
                    }
                    tracing::info!(%room, "joined a peer's federation room");
                    if let Ok(Some(own)) = self.own_room()
                        && let Err(e) = self.request_snapshot(&own).await
                    {
                        tracing::warn!(error = %e, "snapshot request failed");
                    }
                    return;
                }
                Err(e) => {
                    tracing::info!(%room, attempt, error = %e, "joining a peer's room: will retry");
                    tokio::time::sleep(Duration::from_millis(300 * (attempt + 1))).await;
                }
            }
        }
    }

    /// Runs until the process ends: keeps the room and the published vectors up to date,
    /// on every change and at least every `publish_interval_secs`. Failures are logged
    /// and retried.
    pub async fn run(self: Arc<Self>) {
        let interval = Duration::from_secs(self.config.publish_interval_secs);
        let resync = Duration::from_secs(self.config.resync_interval_secs);
        let mut asked: Option<std::time::Instant> = None;
        loop {
            match self.ensure_room().await {
                Ok(room) => {
                    if asked.is_none_or(|t| t.elapsed() >= resync) {
                        match self.request_snapshot(&room).await {
                            Ok(()) => asked = Some(std::time::Instant::now()),
                            Err(e) => tracing::warn!(error = %e, "snapshot request failed"),
                        }
                    }
                    if let Err(e) = self.reconcile(&room).await {
                        tracing::warn!(error = %e, "publishing failed; retrying later");
                        self.health.failed(&e.to_string());
                    }
                    self.process_inbox().await;
                    match self.ensure_qa_room().await {
                        Ok(()) => self.send_qa().await,
                        Err(e) => tracing::warn!(error = %e, "Q&A room not ready; retrying later"),
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "federation room not ready; retrying later");
                    self.health.failed(&e.to_string());
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = self.store.changes().changed() => {
                    // Let a burst of changes settle into one batch.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

fn room_of_own(f: &Federation) -> Result<String, FederationError> {
    f.own_room()?
        .ok_or_else(|| FederationError::Matrix("no federation room yet".into()))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Federation {
    /// Starts the federation's tasks: one task, so that aborting it stops them all (the
    /// device runs on a task of its own, since its stores work in blocking sections; it
    /// ends with this one).
    pub fn start(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let status = self.dir.join("status.json");
            let _device = AbortOnDrop(tokio::spawn(self.clone().run_device()));
            tokio::join!(
                self.clone().catch_up(),
                self.clone().write_status(status),
                self.clone().send_qa_when_queued(),
                self.clone().run_managed(),
                self.run(),
            );
        })
    }
}
