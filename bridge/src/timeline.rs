//! Catching up from room timelines. Synapse does not let an application service's users
//! `/sync`, so the node repairs from the rooms themselves: for each room it is in, it reads
//! the timeline backwards from its newest event (`/messages`) until it reaches an event it
//! already applied, and hands the missed ones over oldest first. The node does this when
//! it starts, whenever its homeserver answers again after not answering, and once a minute;
//! the homeserver's pushes bring the same events sooner, and each is applied once by event
//! id. Events come out as [`Incoming`], the same as pushed ones.

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
    /// Events that could not be used, with the reason (to log and count).
    pub refused: Vec<String>,
    /// Whether the walk reached an event the node holds (or the room's beginning); false
    /// when it stopped at [`MAX_PAGES`].
    pub complete: bool,
}

impl Homeserver {
    /// The rooms the node's user is in.
    pub async fn joined_rooms(&self) -> Result<Vec<OwnedRoomId>> {
        Ok(self
            .call("joined_rooms", joined_rooms::v3::Request::new())
            .await?
            .joined_rooms)
    }

    /// The events of `room` newer than the newest one `known` says the node holds, oldest
    /// first.
    pub async fn catch_up(
        &self,
        room: &RoomId,
        known: impl Fn(&EventId) -> bool,
    ) -> Result<CatchUp> {
        let mut token: Option<String> = None;
        let mut newest_first: Vec<Value> = Vec::new();
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
                if id.is_some_and(&known) {
                    complete = true;
                    break;
                }
                newest_first.push(v);
            }
            if complete || page.chunk.is_empty() || page.end.is_none() {
                complete = true;
                break;
            }
            token = page.end;
        }
        let mut out = CatchUp {
            complete,
            ..CatchUp::default()
        };
        for v in newest_first.into_iter().rev() {
            match Incoming::parse(&v, Some(room)) {
                Ok(e) => out.events.push(e),
                Err(why) => out.refused.push(why),
            }
        }
        Ok(out)
    }
}
