//! The node's own Matrix device: a matrix-sdk client of a user in the application
//! service's namespace (`@<localpart>-device:<server>`: Synapse refuses `/sync` to the
//! application service's own user). Its session, its sync position and its end-to-end
//! encryption keys live in one folder of the node's data (matrix-sdk's SQLite stores,
//! encrypted with a key the node derives from its own secret), so that after a
//! restart of the node or of its homeserver it syncs on from where it stopped, with the
//! same device, and reads and writes end-to-end encrypted rooms.
//!
//! The device joins only the rooms the node tells it to ([`Device::join`]); it never
//! accepts an invitation on its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::TimelineEventKind;
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use ruma::api::client::account::register;
use ruma::api::client::filter::FilterDefinition;
use ruma::api::client::session::login;
use ruma::api::client::sync::sync_events;
use ruma::api::client::uiaa::{MatrixUserIdentifier, UserIdentifier};
use ruma::{OwnedDeviceId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use serde_json::Value;

use crate::client::Homeserver;
use crate::event::Incoming;
use crate::{Error, Result};

/// The file that holds the device's session (user, device id, access token).
const SESSION_FILE: &str = "session.json";
/// The folder of matrix-sdk's stores (state, sync position, crypto).
const STORE_DIR: &str = "store";
/// The most events of one room one sync brings.
const TIMELINE_LIMIT: u32 = 200;

/// The node's device.
#[derive(Debug, Clone)]
pub struct Device {
    client: Client,
    user_id: OwnedUserId,
    device_id: OwnedDeviceId,
}

/// An encrypted event read again.
#[derive(Debug)]
pub enum Reread {
    /// Decrypted now.
    Read(Incoming),
    /// Still without its room key; who sent it, when the event says.
    NotYet {
        /// The event's sender.
        sender: Option<OwnedUserId>,
    },
}

/// What one sync brought.
#[derive(Debug, Default)]
pub struct Synced {
    /// The events of the rooms the device is in, oldest first per room (encrypted ones
    /// decrypted).
    pub events: Vec<Incoming>,
    /// Events that cannot be used (no valid id, sender or room), with their room and the
    /// reason.
    pub refused: Vec<(Option<OwnedEventId>, OwnedRoomId, String)>,
    /// Encrypted events the device cannot decrypt (yet: a room key may come later), with
    /// their room and the reason.
    pub undecryptable: Vec<(Option<OwnedEventId>, OwnedRoomId, String)>,
    /// Rooms whose timeline in this sync has a gap (`limited`): what came before must be
    /// read from the room's timeline.
    pub gaps: Vec<OwnedRoomId>,
}

fn sdk(what: &'static str) -> impl Fn(matrix_sdk::Error) -> Error {
    move |e| match e.as_client_api_error() {
        Some(api) => Error::Refused {
            what,
            status: api.status_code.as_u16(),
            errcode: api
                .error_kind()
                .map(|k| k.errcode().to_string())
                .unwrap_or_default(),
        },
        None => Error::Unreachable(format!("{what}: {e}")),
    }
}

impl Device {
    /// Opens the device kept in `dir` (creating the user and the device at the first
    /// start, through the application service `hs`), its stores encrypted with `key`.
    pub async fn open(
        hs: &Homeserver,
        user_id: &UserId,
        dir: &Path,
        key: &[u8; 32],
    ) -> Result<Self> {
        Self::open_as(hs, user_id, dir, key, "raremesh node", Stores::Full).await
    }

    /// [`Device::open`], the device shown to others under `device_name` when it is made,
    /// its stores sized by `stores`.
    pub async fn open_as(
        hs: &Homeserver,
        user_id: &UserId,
        dir: &Path,
        key: &[u8; 32],
        device_name: &str,
        stores: Stores,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io("creating the device folder"))?;
        let store = dir.join(STORE_DIR);
        if let Some(session) = read_session(dir)? {
            if session.meta.user_id != user_id {
                tracing::warn!(old = %session.meta.user_id, new = %user_id, "the device's user changed; making a new device");
            } else if !store.exists() {
                // Keys of this device are on the homeserver, not here: reusing its id with
                // new keys would clash with them.
                tracing::warn!(user = %user_id, "the device's stores are gone; making a new device");
            } else if let Some(device) = Self::restore(hs, session, &store, key, stores).await? {
                return Ok(device);
            }
        }
        let session = new_session(hs, user_id, device_name).await?;
        // A new device starts with empty stores (the old ones belong to another device),
        // and its session is on disk before its stores hold anything: a crash between the
        // two leaves a session with empty stores, which the next start takes up.
        if store.exists() {
            std::fs::remove_dir_all(&store).map_err(io("clearing the device's stores"))?;
        }
        write_session(dir, &session)?;
        let device_id = session.meta.device_id.clone();
        let client = build(hs, &store, key, stores).await?;
        client
            .restore_session(session)
            .await
            .map_err(sdk("restore session"))?;
        tracing::info!(user = %user_id, device = %device_id, "the node's Matrix device was created");
        Ok(Self {
            client,
            user_id: user_id.to_owned(),
            device_id,
        })
    }

    /// The device of a saved session, or `None` when it cannot be had again (stores that
    /// do not open with `key` or belong to another device, a session the homeserver
    /// ended): then a new device is made.
    async fn restore(
        hs: &Homeserver,
        session: MatrixSession,
        store: &Path,
        key: &[u8; 32],
        stores: Stores,
    ) -> Result<Option<Self>> {
        let user_id = session.meta.user_id.clone();
        let device_id = session.meta.device_id.clone();
        let client = match build(hs, store, key, stores).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the device's stores do not open (another key?); making a new device");
                return Ok(None);
            }
        };
        if let Err(e) = client.restore_session(session).await {
            tracing::warn!(error = %e, "the device's stores do not match its session; making a new device");
            return Ok(None);
        }
        match client.whoami().await {
            Ok(_) => Ok(Some(Self {
                client,
                user_id,
                device_id,
            })),
            Err(e)
                if e.as_client_api_error()
                    .is_some_and(|a| a.status_code.as_u16() == 401) =>
            {
                tracing::warn!(user = %user_id, "the device's session was ended by the homeserver; making a new device");
                Ok(None)
            }
            Err(e) => Err(Error::Unreachable(format!("whoami: {e}"))),
        }
    }

    /// The device's user.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The device's id (the same across restarts).
    pub fn device_id(&self) -> &str {
        self.device_id.as_str()
    }

    /// The rooms the device has joined.
    pub fn joined_rooms(&self) -> Vec<OwnedRoomId> {
        self.client
            .joined_rooms()
            .into_iter()
            .map(|r| r.room_id().to_owned())
            .collect()
    }

    /// Joins a room the device was invited to (by the node's application service).
    pub async fn join(&self, room: &RoomId) -> Result<()> {
        self.client
            .join_room_by_id(room)
            .await
            .map(|_| ())
            .map_err(sdk("device join"))
    }

    /// Leaves a room.
    pub async fn leave(&self, room: &RoomId) -> Result<()> {
        match self.client.get_room(room) {
            Some(r) => r.leave().await.map_err(sdk("device leave")),
            None => Ok(()),
        }
    }

    /// Syncs once from where the last sync stopped (waiting up to `timeout` for something
    /// new): the events of the rooms the device is in, decrypted where encrypted.
    pub async fn sync(&self, timeout: Duration) -> Result<Synced> {
        // Up to TIMELINE_LIMIT events per room in one sync (a homeserver's default is
        // 10): encrypted rooms are read only through the device.
        let mut filter = FilterDefinition::default();
        filter.room.timeline.limit = Some(TIMELINE_LIMIT.into());
        let response = self
            .client
            .sync_once(
                SyncSettings::default()
                    .timeout(timeout)
                    .filter(sync_events::v3::Filter::FilterDefinition(filter)),
            )
            .await
            .map_err(sdk("sync"))?;
        let mut out = Synced::default();
        for (room, update) in &response.rooms.joined {
            if update.timeline.limited {
                out.gaps.push(room.clone());
            }
            for e in &update.timeline.events {
                if let TimelineEventKind::UnableToDecrypt { utd_info, .. } = &e.kind {
                    out.undecryptable.push((
                        e.event_id(),
                        room.clone(),
                        format!("cannot be decrypted: {:?}", utd_info.reason),
                    ));
                    continue;
                }
                let parsed = e
                    .raw()
                    .deserialize_as::<Value>()
                    .map_err(|err| format!("not JSON: {err}"))
                    .and_then(|v| Incoming::parse(&v, Some(room)));
                match parsed {
                    Ok(i) => out.events.push(i),
                    Err(why) => out.refused.push((e.event_id(), room.clone(), why)),
                }
            }
        }
        Ok(out)
    }

    /// Sends an event of `event_type` to a room the device is in; encrypted when the room
    /// is (the room key shared with every device of the room's members first). The
    /// transaction id makes a retry of the same send idempotent. The event's id.
    pub async fn send(
        &self,
        room: &RoomId,
        event_type: &str,
        txn: &str,
        content: &Value,
    ) -> Result<OwnedEventId> {
        crate::limits::check_identifiers(event_type, None)?;
        crate::limits::check_content(content)?;
        let txn: ruma::OwnedTransactionId = txn.into();
        let room = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        let sent = room
            .send_raw(event_type, content.clone())
            .with_transaction_id(&txn)
            .await
            .map_err(sdk("device send"))?;
        Ok(sent.response.event_id)
    }

    /// Reads an event of a room again, decrypting it with the keys the device has now (a
    /// room key may arrive after its event).
    pub async fn decrypt_again(&self, room: &RoomId, event: &ruma::EventId) -> Result<Reread> {
        let r = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        let e = r.event(event, None).await.map_err(sdk("event"))?;
        if matches!(e.kind, TimelineEventKind::UnableToDecrypt { .. }) {
            let sender = e.raw().get_field::<OwnedUserId>("sender").ok().flatten();
            return Ok(Reread::NotYet { sender });
        }
        let v = e
            .raw()
            .deserialize_as::<Value>()
            .map_err(|err| Error::Malformed(format!("not JSON: {err}")))?;
        Incoming::parse(&v, Some(room))
            .map(Reread::Read)
            .map_err(Error::Malformed)
    }

    /// Redacts an event the device sent (only its sender, or a room's moderator, may);
    /// the transaction id makes a retry idempotent.
    pub async fn redact(&self, room: &RoomId, event: &str, txn: &str, reason: &str) -> Result<()> {
        let event: OwnedEventId = crate::client::parse_id("event id", event)?;
        let room = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        room.redact(&event, Some(reason), Some(txn.into()))
            .await
            .map(|_| ())
            .map_err(|e| match e.as_client_api_error() {
                Some(api) => Error::Refused {
                    what: "device redact",
                    status: api.status_code.as_u16(),
                    errcode: api
                        .error_kind()
                        .map(|k| k.errcode().to_string())
                        .unwrap_or_default(),
                },
                None => Error::Unreachable(format!("device redact: {e}")),
            })
    }

    /// Sends a text message (`m.room.message`, `m.text`) to a room the device is in;
    /// encrypted when the room is. The event's id.
    pub async fn send_text(&self, room: &RoomId, body: &str) -> Result<OwnedEventId> {
        let room = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        let sent = room
            .send(ruma::events::room::message::RoomMessageEventContent::text_plain(body))
            .await
            .map_err(sdk("device send"))?;
        Ok(sent.response.event_id)
    }

    /// The users who joined a room the device is in (as its stores know them, brought up
    /// to date from the homeserver when they are not).
    pub async fn joined_members(&self, room: &RoomId) -> Result<Vec<OwnedUserId>> {
        let room = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        Ok(room
            .members(matrix_sdk::RoomMemberships::JOIN)
            .await
            .map_err(sdk("members"))?
            .into_iter()
            .map(|m| m.user_id().to_owned())
            .collect())
    }

    /// Sets the user's name in one room only (its `m.room.member` event there).
    pub async fn set_room_display_name(&self, room: &RoomId, name: &str) -> Result<()> {
        use ruma::events::room::member::{MembershipState, RoomMemberEventContent};
        let r = self
            .client
            .get_room(room)
            .ok_or_else(|| Error::Invalid(format!("the device is not in room {room}")))?;
        let mut content = RoomMemberEventContent::new(MembershipState::Join);
        content.displayname = Some(name.to_owned());
        r.send_state_event_for_key(&self.user_id, content)
            .await
            .map(|_| ())
            .map_err(sdk("room display name"))
    }

    /// Ends the device's session on the homeserver (its access token stops working).
    pub async fn log_out(&self) -> Result<()> {
        self.client
            .logout()
            .await
            .map_err(|e| Error::Unreachable(format!("log out: {e}")))
    }

    /// Whether the device's copy of the room says it is end-to-end encrypted.
    pub async fn is_encrypted(&self, room: &RoomId) -> bool {
        match self.client.get_room(room) {
            Some(r) => r
                .latest_encryption_state()
                .await
                .is_ok_and(|s| s.is_encrypted()),
            None => false,
        }
    }
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Unreachable(format!("{what}: {e}"))
}

/// The HTTP client of every device of the process (matrix-sdk would build one per
/// device, with its own root certificates and connection pool: megabytes each).
fn shared_http() -> Result<sdk_reqwest::Client> {
    static HTTP: std::sync::OnceLock<sdk_reqwest::Client> = std::sync::OnceLock::new();
    if let Some(c) = HTTP.get() {
        return Ok(c.clone());
    }
    let c = sdk_reqwest::Client::builder()
        .build()
        .map_err(|e| Error::Unreachable(format!("an HTTP client: {e}")))?;
    Ok(HTTP.get_or_init(|| c).clone())
}

/// How much memory a device's stores may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stores {
    /// matrix-sdk's defaults (a pool of connections per store, 2 MiB of cache each): the
    /// node's own device, in every federation and Q&A room.
    Full,
    /// Two connections per store, 256 KiB of cache, a write-ahead log cut back to 256 KiB:
    /// one of the many accounts the node manages for members, each in a few rooms.
    Small,
}

async fn build(hs: &Homeserver, store: &Path, key: &[u8; 32], stores: Stores) -> Result<Client> {
    // A key, not a passphrase: no key derivation (hundreds of thousands of hash rounds)
    // on every start.
    let config = match stores {
        Stores::Full => matrix_sdk::SqliteStoreConfig::new(store),
        Stores::Small => matrix_sdk::SqliteStoreConfig::new(store)
            .pool_max_size(2)
            .cache_size(256 * 1024)
            .journal_size_limit(256 * 1024),
    }
    .key(Some(key));
    Client::builder()
        .homeserver_url(hs.url())
        .http_client(shared_http()?)
        .sqlite_store_with_config_and_cache_path(config, None::<PathBuf>)
        .build()
        .await
        .map_err(|e| Error::Unreachable(format!("device stores: {e}")))
}

fn session_path(dir: &Path) -> PathBuf {
    dir.join(SESSION_FILE)
}

fn read_session(dir: &Path) -> Result<Option<MatrixSession>> {
    match std::fs::read(session_path(dir)) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                tracing::warn!(error = %e, "the device's session file is unreadable; making a new device");
                Ok(None)
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading the device's session")(e)),
    }
}

/// Writes the session next to the stores (a new file renamed over the old one, readable
/// by the node's user only).
fn write_session(dir: &Path, session: &MatrixSession) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let json = serde_json::to_vec(session).map_err(|e| Error::Serialize(e.to_string()))?;
    let tmp = dir.join(format!("{SESSION_FILE}.new"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options
        .open(&tmp)
        .map_err(io("writing the device's session"))?;
    f.write_all(&json)
        .and_then(|()| f.sync_all())
        .map_err(io("writing the device's session"))?;
    std::fs::rename(&tmp, session_path(dir)).map_err(io("writing the device's session"))
}

/// Registers the device's user through the application service (or, if it exists, logs
/// it in) and returns the new device's session.
async fn new_session(hs: &Homeserver, user_id: &UserId, name: &str) -> Result<MatrixSession> {
    let mut req = register::v3::Request::new();
    req.username = Some(user_id.localpart().to_owned());
    req.login_type = Some(register::LoginType::ApplicationService);
    req.initial_device_display_name = Some(name.to_owned());
    let (access_token, device_id) = match hs.call("register", req).await {
        Ok(r) => (r.access_token, r.device_id),
        Err(Error::Refused {
            status: 400,
            ref errcode,
            ..
        }) if errcode == "M_USER_IN_USE" => {
            let info = login::v3::ApplicationService::new(UserIdentifier::Matrix(
                MatrixUserIdentifier::new(user_id.to_string()),
            ));
            let mut req = login::v3::Request::new(login::v3::LoginInfo::ApplicationService(info));
            req.initial_device_display_name = Some(name.to_owned());
            let r = hs.call("login", req).await?;
            (Some(r.access_token), Some(r.device_id))
        }
        Err(e) => return Err(e),
    };
    let (Some(access_token), Some(device_id)) = (access_token, device_id) else {
        return Err(Error::Malformed(
            "the homeserver registered the device's user without a device".into(),
        ));
    };
    Ok(MatrixSession {
        meta: SessionMeta {
            user_id: user_id.to_owned(),
            device_id,
        },
        tokens: SessionTokens {
            access_token,
            refresh_token: None,
        },
    })
}
