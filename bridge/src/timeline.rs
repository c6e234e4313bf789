//! The node's own user as a Matrix client: `/sync` from the last position the node
//! applied (kept by the node, saved only after the events are stored), with the
//! application service token. After any outage (the homeserver's, the node's, a peer's) the
//! next sync brings every event since that position; a `limited` timeline (more events
//! than one sync returns) is filled in from the room's history (`/messages`), back to the
//! last event the node already holds. Events come out as [`Incoming`], the same as pushed
//! ones, and are applied once by event id.

use std::time::Duration;

use ruma::api::Direction;
use ruma::api::client::filter::{FilterDefinition, RoomEventFilter, RoomFilter};
use ruma::api::client::message::get_message_events;
use ruma::api::client::sync::sync_events;
use ruma::{EventId, OwnedUserId, RoomId, UInt};
use serde_json::Value;

use crate::Result;
use crate::client::Homeserver;
use crate::event::Incoming;

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

/// The node's sync with its homeserver.
#[derive(Debug, Clone)]
pub struct Timeline {
    homeserver: Homeserver,
    me: OwnedUserId,
}

impl Timeline {
    /// The sync of the application service's own user `me`.
    pub fn new(homeserver: Homeserver, me: OwnedUserId) -> Self {
        Self { homeserver, me }
    }

    /// Syncs once from `since` (waiting up to `wait` for something new), and fills the gaps
    /// of limited timelines back to an event `known` says the node holds. Without `since`
    /// (the first sync) only the latest events of each room come: what came before was
    /// delivered by the homeserver's pushes, and snapshots cover a node that lost its data.
    pub async fn sync(
        &self,
        since: Option<&str>,
        wait: Duration,
        known: impl Fn(&EventId) -> bool,
    ) -> Result<SyncBatch> {
        let mut timeline = RoomEventFilter::default();
        timeline.limit = Some(UInt::from(TIMELINE_LIMIT));
        let mut room = RoomFilter::default();
        room.timeline = timeline;
        let mut filter = FilterDefinition::default();
        filter.room = room;
        let mut req = sync_events::v3::Request::new();
        req.filter = Some(sync_events::v3::Filter::FilterDefinition(filter));
        req.since = since.map(str::to_owned);
        req.timeout = Some(wait);
        let response = self.homeserver.call("sync", req).await?;
        let mut batch = SyncBatch {
            next_batch: response.next_batch.clone(),
            ..SyncBatch::default()
        };
        for (room_id, update) in &response.rooms.invite {
            if let Some(e) =
                Incoming::from_invite_state(room_id, &self.me, &update.invite_state.events)
            {
                batch.events.push(e);
            }
        }
        for (room_id, update) in &response.rooms.join {
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
                    .filter_map(|e| e.deserialize_as::<Value>().ok()),
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
    /// beginning, or [`MAX_GAP_PAGES`] pages), oldest first.
    async fn fill_gap(
        &self,
        room_id: &RoomId,
        from: &str,
        known: &impl Fn(&EventId) -> bool,
    ) -> Result<Vec<Value>> {
        let mut token = Some(from.to_owned());
        let mut newest_first: Vec<Value> = Vec::new();
        for _ in 0..MAX_GAP_PAGES {
            let Some(t) = token.take() else { break };
            let mut req =
                get_message_events::v3::Request::new(room_id.to_owned(), Direction::Backward);
            req.from = Some(t);
            req.limit = UInt::from(TIMELINE_LIMIT);
            let page = self.homeserver.call("messages", req).await?;
            let mut reached = false;
            for raw in &page.chunk {
                let Ok(v) = raw.deserialize_as::<Value>() else {
                    continue;
                };
                let id = v
                    .get("event_id")
                    .and_then(Value::as_str)
                    .and_then(|s| <&EventId>::try_from(s).ok());
                if id.is_some_and(known) {
                    reached = true;
                    break;
                }
                newest_first.push(v);
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
