//! The node's own user as a Matrix client (matrix-sdk): a device of its own, a session and
//! an end-to-end encryption store in SQLite in the data folder, and `/sync` from the last
//! position the node applied. After any outage (the homeserver's, the node's, a peer's) the
//! next sync brings every event since that position; a `limited` timeline (more events than
//! one sync returns) is filled in from the room's history, back to the last event the node
//! already holds. Events come out as [`Incoming`], the same as pushed ones.

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::store::RoomLoadSettings;
use ruma::api::client::filter::{FilterDefinition, RoomEventFilter, RoomFilter};
use ruma::api::client::sync::sync_events;
use ruma::{EventId, RoomId, UInt};
use serde_json::Value;

use crate::client::Homeserver;
use crate::event::Incoming;
use crate::{Error, Result};

/// How many events one sync returns per room before it is `limited`.
const TIMELINE_LIMIT: u32 = 100;
/// How many pages of history are read to fill one gap, at most.
const MAX_GAP_PAGES: usize = 50;

/// What one sync brought.
#[derive(Debug, Default)]
pub struct SyncBatch {
    /// Events in order, oldest first, room by room.
    pub events: Vec<Incoming>,
    /// Events that could not be used, with the room and the reason (to log and count).
    pub refused: Vec<(String, String)>,
    /// The position to sync from next, once these events are applied.
    pub next_batch: String,
    /// Events read from room histories to fill gaps.
    pub backfilled: usize,
}

/// The node's Matrix client.
#[derive(Debug, Clone)]
pub struct Timeline {
    client: matrix_sdk::Client,
}

fn sdk(e: impl std::fmt::Display) -> Error {
    Error::Sdk(e.to_string())
}

fn session_path(dir: &Path) -> PathBuf {
    dir.join("session.json")
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::Store(format!("{}: {e}", tmp.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::Store(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::Store(format!("{}: {e}", path.display())))
}

impl Timeline {
    /// Opens the client whose session and stores live in `dir` (made with mode 0700),
    /// logging the node's user in as a new device the first time. `passphrase` encrypts the
    /// stores at rest.
    pub async fn open(
        homeserver: &Homeserver,
        localpart: &str,
        dir: &Path,
        passphrase: &str,
    ) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Store(format!("{}: {e}", dir.display())))?;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        let session: MatrixSession = match std::fs::read_to_string(session_path(dir)) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::Store(format!("session.json: {e}")))?,
            Err(_) => {
                // A new device: its stores must start empty.
                let store = dir.join("store");
                if store.exists() {
                    std::fs::remove_dir_all(&store)
                        .map_err(|e| Error::Store(format!("{}: {e}", store.display())))?;
                }
                let (user_id, device_id, access_token) =
                    homeserver.login_device(localpart, "raremesh node").await?;
                let session = MatrixSession {
                    meta: matrix_sdk::SessionMeta { user_id, device_id },
                    tokens: matrix_sdk::authentication::SessionTokens {
                        access_token,
                        refresh_token: None,
                    },
                };
                write_private(
                    &session_path(dir),
                    &serde_json::to_string(&session)
                        .map_err(|e| Error::Serialize(e.to_string()))?,
                )?;
                tracing::info!(device = %session.meta.device_id, "the node's Matrix device was created");
                session
            }
        };
        let client = matrix_sdk::Client::builder()
            .homeserver_url(homeserver.url())
            .sqlite_store(dir.join("store"), Some(passphrase))
            .request_config(
                matrix_sdk::config::RequestConfig::new()
                    .retry_limit(1)
                    .timeout(Duration::from_secs(30)),
            )
            .build()
            .await
            .map_err(sdk)?;
        client
            .matrix_auth()
            .restore_session(session, RoomLoadSettings::default())
            .await
            .map_err(sdk)?;
        Ok(Self { client })
    }

    /// Forgets the device (its session and stores), for when the homeserver no longer
    /// knows its token; the next [`Timeline::open`] logs in again.
    pub fn forget(dir: &Path) -> Result<()> {
        let _ = std::fs::remove_file(session_path(dir));
        let store = dir.join("store");
        if store.exists() {
            std::fs::remove_dir_all(&store)
                .map_err(|e| Error::Store(format!("{}: {e}", store.display())))?;
        }
        Ok(())
    }

    /// The matrix-sdk client (for end-to-end encrypted rooms).
    pub fn client(&self) -> &matrix_sdk::Client {
        &self.client
    }

    /// Syncs once from `since` (waiting up to `wait` for something new), and fills the gaps
    /// of limited timelines back to an event `known` says the node holds.
    pub async fn sync(
        &self,
        since: Option<&str>,
        wait: Duration,
        known: impl Fn(&EventId) -> bool,
    ) -> Result<SyncBatch> {
        let mut room_events = RoomEventFilter::default();
        room_events.limit = Some(UInt::from(TIMELINE_LIMIT));
        let mut room = RoomFilter::default();
        room.timeline = room_events;
        let mut filter = FilterDefinition::default();
        filter.room = room;
        let mut settings = SyncSettings::default()
            .timeout(wait)
            .filter(sync_events::v3::Filter::FilterDefinition(filter));
        if let Some(s) = since {
            settings = settings.token(s.to_owned());
        }
        let response = self.client.sync_once(settings).await.map_err(|e| {
            let text = e.to_string();
            if text.contains("M_UNKNOWN_TOKEN") {
                Error::Refused {
                    what: "sync",
                    status: 401,
                    errcode: "M_UNKNOWN_TOKEN".into(),
                }
            } else {
                sdk(text)
            }
        })?;
        let me = self
            .client
            .user_id()
            .ok_or_else(|| Error::Sdk("no session".into()))?
            .to_owned();
        let mut batch = SyncBatch {
            next_batch: response.next_batch.clone(),
            ..SyncBatch::default()
        };
        for (room_id, update) in &response.rooms.invited {
            if let Some(e) = Incoming::from_invite_state(room_id, &me, &update.invite_state.events)
            {
                batch.events.push(e);
            }
        }
        for (room_id, update) in &response.rooms.joined {
            let mut raws: Vec<Value> = Vec::new();
            if update.timeline.limited
                && since.is_some()
                && let Some(prev) = &update.timeline.prev_batch
            {
                let gap = self.fill_gap(room_id, prev, &known).await?;
                batch.backfilled += gap.len();
                raws.extend(gap);
            }
            raws.extend(
                update
                    .timeline
                    .events
                    .iter()
                    .filter_map(|e| e.raw().deserialize_as::<Value>().ok()),
            );
            for raw in raws {
                match Incoming::parse(&raw, Some(room_id)) {
                    Ok(e) => batch.events.push(e),
                    Err(why) => batch.refused.push((room_id.to_string(), why)),
                }
            }
        }
        Ok(batch)
    }

    /// The events of a room before `from`, back to one `known` holds (or the room's
    /// beginning), oldest first.
    async fn fill_gap(
        &self,
        room_id: &RoomId,
        from: &str,
        known: &impl Fn(&EventId) -> bool,
    ) -> Result<Vec<Value>> {
        let Some(room) = self.client.get_room(room_id) else {
            return Ok(Vec::new());
        };
        let mut token = Some(from.to_owned());
        let mut newest_first: Vec<Value> = Vec::new();
        for _ in 0..MAX_GAP_PAGES {
            let Some(t) = token.take() else { break };
            let mut options = MessagesOptions::backward().from(Some(t.as_str()));
            options.limit = UInt::from(TIMELINE_LIMIT);
            let page = room.messages(options).await.map_err(sdk)?;
            let mut reached = false;
            for e in &page.chunk {
                if e.event_id().is_some_and(|id| known(&id)) {
                    reached = true;
                    break;
                }
                if let Ok(v) = e.raw().deserialize_as::<Value>() {
                    newest_first.push(v);
                }
            }
            if reached || page.chunk.is_empty() {
                break;
            }
            token = page.end;
        }
        newest_first.reverse();
        Ok(newest_first)
    }
}
