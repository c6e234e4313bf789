//! Events as they arrive, from the homeserver's push (application service transactions)
//! or from the node's own sync: the envelope typed with ruma's identifiers, so an event
//! without a valid id, sender or room is refused with a reason, never treated as one from
//! an empty sender. The content stays JSON: the receiver parses it by event type.

use ruma::events::{AnyStrippedStateEvent, TimelineEventType};
use ruma::serde::Raw;
use ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UInt};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::rooms::RoomKind;

/// One event of a room the node is in (or is invited to).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The event's id: events are applied once by it. `None` only for invitations seen
    /// through sync, which carry no event id (handling them twice is harmless).
    pub event_id: Option<OwnedEventId>,
    /// The room.
    pub room_id: OwnedRoomId,
    /// Who sent it.
    pub sender: OwnedUserId,
    /// The event type.
    pub kind: String,
    /// The state key of a state event.
    pub state_key: Option<String>,
    /// The content (an object).
    pub content: Map<String, Value>,
    /// The event a redaction withdraws.
    pub redacts: Option<OwnedEventId>,
    /// When the sender's homeserver received it (milliseconds since 1970).
    pub origin_server_ts: u64,
    /// For an invitation of this node: what the room says of itself.
    pub invite: Option<Invitation>,
}

/// What an invitation says of the room: its kind (the `m.room.create` type) and its
/// creator, from the stripped state that comes with the invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The raremesh kind, if the room has one of raremesh's types.
    pub kind: Option<RoomKind>,
    /// Who created the room.
    pub creator: Option<OwnedUserId>,
}

#[derive(Deserialize)]
struct Envelope {
    event_id: OwnedEventId,
    sender: OwnedUserId,
    #[serde(rename = "type")]
    kind: String,
    room_id: Option<OwnedRoomId>,
    state_key: Option<String>,
    content: Map<String, Value>,
    redacts: Option<OwnedEventId>,
    origin_server_ts: Option<UInt>,
    #[serde(default)]
    unsigned: Unsigned,
}

#[derive(Deserialize, Default)]
struct Unsigned {
    #[serde(default)]
    invite_room_state: Vec<Value>,
}

#[derive(Deserialize)]
struct Stripped {
    #[serde(rename = "type")]
    kind: String,
    sender: Option<OwnedUserId>,
    #[serde(default)]
    content: Map<String, Value>,
}

fn invitation(stripped: &[Value]) -> Invitation {
    let create = stripped
        .iter()
        .filter_map(|s| serde_json::from_value::<Stripped>(s.clone()).ok())
        .find(|s| s.kind == "m.room.create");
    let kind = create
        .as_ref()
        .and_then(|c| c.content.get("type"))
        .and_then(Value::as_str)
        .and_then(RoomKind::parse);
    // Since room version 11 the creator is the create event's sender.
    let creator = create.and_then(|c| {
        c.sender.or_else(|| {
            c.content
                .get("creator")
                .and_then(Value::as_str)
                .and_then(|s| OwnedUserId::try_from(s.to_owned()).ok())
        })
    });
    Invitation { kind, creator }
}

impl Incoming {
    /// An event as JSON; `room` is the room it came from when the JSON does not say (sync
    /// timelines leave `room_id` out). Why it cannot be used, if it cannot.
    pub fn parse(json: &Value, room: Option<&RoomId>) -> Result<Self, String> {
        let e: Envelope = serde_json::from_value(json.clone())
            .map_err(|err| format!("not a valid event: {err}"))?;
        let room_id = match (e.room_id, room) {
            (Some(r), Some(expected)) if r != expected => {
                return Err(format!("names room {r} but came from {expected}"));
            }
            (Some(r), _) => r,
            (None, Some(r)) => r.to_owned(),
            (None, None) => return Err("no room_id".into()),
        };
        let redacts = e.redacts.or_else(|| {
            e.content
                .get("redacts")
                .and_then(Value::as_str)
                .and_then(|s| OwnedEventId::try_from(s.to_owned()).ok())
        });
        let invite = (e.kind == "m.room.member"
            && e.content.get("membership").and_then(Value::as_str) == Some("invite"))
        .then(|| invitation(&e.unsigned.invite_room_state));
        Ok(Self {
            event_id: Some(e.event_id),
            room_id,
            sender: e.sender,
            kind: e.kind,
            state_key: e.state_key,
            content: e.content,
            redacts,
            origin_server_ts: e.origin_server_ts.map_or(0, u64::from),
            invite,
        })
    }

    /// An invitation of `me` to `room` by `sender`, saying `invitation` of the room.
    pub fn invitation(
        event_id: Option<OwnedEventId>,
        room: &RoomId,
        sender: OwnedUserId,
        me: &ruma::UserId,
        invitation: Invitation,
    ) -> Self {
        let mut content = Map::new();
        content.insert("membership".into(), Value::from("invite"));
        Self {
            event_id,
            room_id: room.to_owned(),
            sender,
            kind: TimelineEventType::RoomMember.to_string(),
            state_key: Some(me.to_string()),
            content,
            redacts: None,
            origin_server_ts: 0,
            invite: Some(invitation),
        }
    }

    /// A message event (not state) of type `kind`.
    pub fn message(
        event_id: OwnedEventId,
        room: &RoomId,
        sender: OwnedUserId,
        kind: &str,
        content: Map<String, Value>,
    ) -> Self {
        Self {
            event_id: Some(event_id),
            room_id: room.to_owned(),
            sender,
            kind: kind.to_owned(),
            state_key: None,
            content,
            redacts: None,
            origin_server_ts: 0,
            invite: None,
        }
    }

    /// An invitation of `me` seen through sync: the stripped state holds the invitation
    /// itself (the member event for `me`) and the room's create event.
    pub fn from_invite_state(
        room: &RoomId,
        me: &ruma::UserId,
        state: &[Raw<AnyStrippedStateEvent>],
    ) -> Option<Self> {
        let values: Vec<Value> = state
            .iter()
            .filter_map(|r| r.deserialize_as::<Value>().ok())
            .collect();
        let member = values.iter().find(|v| {
            v.get("type").and_then(Value::as_str) == Some("m.room.member")
                && v.get("state_key").and_then(Value::as_str) == Some(me.as_str())
                && v.pointer("/content/membership").and_then(Value::as_str) == Some("invite")
        })?;
        let sender = member
            .get("sender")
            .and_then(Value::as_str)
            .and_then(|s| OwnedUserId::try_from(s.to_owned()).ok())?;
        Some(Self::invitation(
            None,
            room,
            sender,
            me,
            invitation(&values),
        ))
    }

    /// The event id as text (empty for sync invitations), for logs.
    pub fn id(&self) -> &str {
        self.event_id.as_ref().map_or("", |e| e.as_str())
    }

    /// The event as JSON again (for the receivers that read content by pointer).
    pub fn content_value(&self) -> Value {
        Value::Object(self.content.clone())
    }

    /// Whether it is end-to-end encrypted as it is (`m.room.encrypted`: readable only by a
    /// device that holds its room key).
    pub fn is_encrypted(&self) -> bool {
        TimelineEventType::from(self.kind.as_str()) == TimelineEventType::RoomEncrypted
    }

    /// Whether it is a redaction (the withdrawal of another event).
    pub fn is_redaction(&self) -> bool {
        TimelineEventType::from(self.kind.as_str()) == TimelineEventType::RoomRedaction
    }

    /// Whether it is a message event (not state, not a redaction): what a room's owner
    /// redacts when it refuses it.
    pub fn is_message(&self) -> bool {
        self.state_key.is_none() && !self.is_redaction()
    }

    /// The text of an `m.room.message` (its `body`), if it is one.
    pub fn text(&self) -> Option<&str> {
        (TimelineEventType::from(self.kind.as_str()) == TimelineEventType::RoomMessage)
            .then(|| self.content.get("body").and_then(Value::as_str))
            .flatten()
    }

    /// The membership a member event sets, if it is one.
    pub fn membership(&self) -> Option<&str> {
        (self.kind == "m.room.member")
            .then(|| self.content.get("membership").and_then(Value::as_str))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_without_valid_ids_or_sender_are_refused() {
        let good = json!({
            "event_id": "$abc", "sender": "@raremesh:a.example.org", "type": "org.raremesh.batch",
            "room_id": "!r:a.example.org", "content": {"v": 1}, "origin_server_ts": 5
        });
        let e = Incoming::parse(&good, None).expect("good");
        assert_eq!(e.sender.as_str(), "@raremesh:a.example.org");
        assert_eq!(e.origin_server_ts, 5);
        for field in ["event_id", "sender", "type", "content"] {
            let mut bad = good.clone();
            bad.as_object_mut().expect("object").remove(field);
            assert!(Incoming::parse(&bad, None).is_err(), "{field} missing");
        }
        let mut bad = good.clone();
        bad["sender"] = json!("not a user");
        assert!(Incoming::parse(&bad, None).is_err());
        let mut no_room = good.clone();
        no_room.as_object_mut().expect("object").remove("room_id");
        assert!(Incoming::parse(&no_room, None).is_err());
        let room: OwnedRoomId = "!r:a.example.org".try_into().expect("room");
        assert!(Incoming::parse(&no_room, Some(&room)).is_ok());
        let other: OwnedRoomId = "!other:a.example.org".try_into().expect("room");
        assert!(Incoming::parse(&good, Some(&other)).is_err());
    }

    #[test]
    fn invitations_carry_the_room_kind_and_creator() {
        let invite = json!({
            "event_id": "$i", "sender": "@raremesh:b.example.org", "type": "m.room.member",
            "state_key": "@raremesh:a.example.org", "room_id": "!r:b.example.org",
            "content": {"membership": "invite"},
            "unsigned": {"invite_room_state": [
                {"type": "m.room.create", "state_key": "", "sender": "@raremesh:b.example.org",
                 "content": {"type": "org.raremesh.room.qa.v1", "room_version": "12"}},
                {"type": "m.room.name", "state_key": "", "sender": "@x:b.example.org",
                 "content": {"name": "raremesh federation"}}
            ]}
        });
        let e = Incoming::parse(&invite, None).expect("invite");
        let i = e.invite.expect("an invitation");
        assert_eq!(i.kind, Some(RoomKind::Qa), "the name does not matter");
        assert_eq!(
            i.creator.map(|c| c.to_string()).as_deref(),
            Some("@raremesh:b.example.org")
        );
    }
}
