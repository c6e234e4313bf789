//! Catching up from room timelines. Synapse does not let an application service's users
//! `/sync`, so the node repairs from the rooms themselves: for each room it is in, it reads
//! the timeline backwards from its newest event (`/messages`) down to the newest event of
//! the previous walk (the room's checkpoint), and hands over, oldest first, the events the
//! node did not apply yet. The walk goes down to the checkpoint, not to the first event
//! already applied: after an outage the homeserver pushes the newest events first and the
//! older ones only when they are asked for (reading the timeline backfills them from the
//! other homeservers). Events come out as [`Incoming`], the same as pushed ones.

use ruma::api::Direction;
use ruma::api::client::membership::joined_rooms;
use ruma::api::client::message::get_message_events;
use ruma::{EventId, OwnedRoomId, RoomId, UInt};
use serde_json::Value;

use crate::Result;
use crate::client::Homeserver;
use crate::event::Incoming;

/// How many events one page of a timeline holds.
const PAGE: u32 = 100;
/// How many pages are read back in one room, at most (10,000 events).
const MAX_PAGES: usize = 100;

/// What catching up in one room brought.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// The events the node did not hold, oldest first.
    pub events: Vec<Incoming>,
    /// Events that could not be used, by event id where they have one, with the reason
    /// (to log and count).
    pub refused: Vec<(Option<ruma::OwnedEventId>, String)>,
    /// Whether the walk reached the checkpoint (or the room's beginning); false when it
    /// stopped at [`MAX_PAGES`].
    pub complete: bool,
    /// The room's newest event: the checkpoint of the next walk.
    pub newest: Option<ruma::OwnedEventId>,
}

impl Homeserver {
    /// The rooms the node's user is in.
    pub async fn joined_rooms(&self) -> Result<Vec<OwnedRoomId>> {
        Ok(self
            .call("joined_rooms", joined_rooms::v3::Request::new())
            .await?
            .joined_rooms)
    }

    /// The events of `room` newer than `checkpoint` (all of them, up to [`MAX_PAGES`],
    /// without one) that `known` does not say the node holds, oldest first.
    pub async fn catch_up(
        &self,
        room: &RoomId,
        checkpoint: Option<&EventId>,
        known: impl Fn(&EventId) -> bool,
    ) -> Result<CatchUp> {
        let mut token: Option<String> = None;
        let mut newest_first: Vec<Value> = Vec::new();
        let mut newest = None;
        let mut complete = false;
        for _ in 0..MAX_PAGES {
            let mut req =
                get_message_events::v3::Request::new(room.to_owned(), Direction::Backward);
            req.from = token.take();
            req.limit = UInt::from(PAGE);
            let page = self.call("messages", req).await?;
            for raw in &page.chunk {
                let Ok(v) = raw.deserialize_as::<Value>() else {
                    continue;
                };
                let id = v
                    .get("event_id")
                    .and_then(Value::as_str)
                    .and_then(|s| <&EventId>::try_from(s).ok());
                if newest.is_none() {
                    newest = id.map(ToOwned::to_owned);
                }
                if id.is_some() && id == checkpoint {
                    complete = true;
                    break;
                }
                if !id.is_some_and(&known) {
                    newest_first.push(v);
                }
            }
            if complete || page.chunk.is_empty() || page.end.is_none() {
                complete = true;
                break;
            }
            token = page.end;
        }
        let mut out = CatchUp {
            complete,
            newest,
            ..CatchUp::default()
        };
        for v in newest_first.into_iter().rev() {
            match Incoming::parse(&v, Some(room)) {
                Ok(e) => out.events.push(e),
                Err(why) => {
                    let id = v
                        .get("event_id")
                        .and_then(Value::as_str)
                        .and_then(|s| ruma::OwnedEventId::try_from(s).ok());
                    out.refused.push((id, why));
                }
            }
        }
        Ok(out)
    }
}
