//! Conversations with a member of a partner organization, for a member who has no Matrix
//! app: the conversation is an end-to-end encrypted Matrix room in which the node writes
//! and reads as the Matrix account it manages for the member (`federation::managed`).
//! What the member writes on the Messages page is kept here first, then sent into the
//! room (and sent again until it went: see [`Service::unsent`]); what the other member
//! writes in the room is decrypted by that account and kept here, once per event.

use super::model::key;
use super::{ChatMessage, Conversation, MessagingError, Party, Service, Who};
use crate::clock::now;
use crate::ids::{AccountId, PatientId};
use crate::store::{Batch, Tree};

/// A partner's member, as the Messages page shows them.
#[derive(Debug, Clone)]
pub struct RemoteMember {
    /// The partner node's Matrix user id.
    pub peer: String,
    /// Their patient's pseudonym on that node.
    pub pseudonym: String,
    /// The partner organization's name.
    pub organization: String,
}

impl Service {
    /// The conversation held in a Matrix room, opened if it is not there yet: between the
    /// local member (for their patient) and a partner's member.
    pub fn open_remote(
        &self,
        account: &AccountId,
        patient: &PatientId,
        other: &RemoteMember,
        room: &str,
    ) -> Result<String, MessagingError> {
        let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = self.by_room(room)? {
            // The same room again (a retry): the conversation of the same member only.
            let same = self
                .conversation(&id)?
                .is_some_and(|c| c.side_of(account).is_some());
            return if same {
                Ok(id)
            } else {
                Err(MessagingError::NotFound)
            };
        }
        let label = format!(
            "Patient {}",
            other
                .pseudonym
                .get(..6)
                .unwrap_or(&other.pseudonym)
                .to_uppercase()
        );
        let c = Conversation {
            id: crate::ids::new_id()?,
            parties: vec![
                super::requests::local_party(account, patient),
                Party {
                    who: Who::Remote {
                        peer: other.peer.clone(),
                        pseudonym: other.pseudonym.clone(),
                    },
                    label,
                    organization: Some(other.organization.clone()),
                    left: false,
                },
            ],
            room: Some(room.to_owned()),
            created_at: now(),
            last_at: now(),
            last_seq: 0,
        };
        let mut batch = Batch::new();
        self.open_in(&mut batch, &c);
        batch.put_raw(Tree::Messaging, key::room(room), c.id.as_bytes().to_vec());
        self.kv().apply(&batch)?;
        drop(_one);
        self.announce();
        tracing::info!(conversation = %c.id, "a conversation with a partner's member opened");
        Ok(c.id)
    }

    /// Whether the member blocked a partner's member (known by their node and their
    /// patient's pseudonym): then no request of theirs reaches the member.
    pub fn blocked_remote(
        &self,
        account: &str,
        peer: &str,
        pseudonym: &str,
    ) -> Result<bool, MessagingError> {
        let who = Who::Remote {
            peer: peer.to_owned(),
            pseudonym: pseudonym.to_owned(),
        };
        self.blocked(account, &who.block_key())
    }

    /// The conversation held in a room, if any.
    pub fn by_room(&self, room: &str) -> Result<Option<String>, MessagingError> {
        Ok(self
            .kv()
            .get(Tree::Messaging, key::room(room).as_bytes())?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// A message the partner's member wrote in the room (event `event_id`), kept once: a
    /// second copy of the same event is ignored. Nothing is kept in a conversation the
    /// local member left.
    pub async fn receive_remote(
        &self,
        id: &str,
        event_id: &str,
        body: &str,
        at: u64,
    ) -> Result<bool, MessagingError> {
        let c = {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            if self
                .kv()
                .get(Tree::Messaging, key::event(event_id).as_bytes())?
                .is_some()
            {
                return Ok(false);
            }
            let Some(mut c) = self.conversation(id)? else {
                return Ok(false);
            };
            let Some(from) = c
                .parties
                .iter()
                .position(|p| matches!(p.who, Who::Remote { .. }))
            else {
                return Ok(false);
            };
            if c.parties.iter().any(|p| p.left) {
                return Ok(false);
            }
            let body: String = body.trim().chars().take(super::MAX_MESSAGE).collect();
            let m = ChatMessage {
                seq: c.last_seq + 1,
                from,
                body,
                at: at.min(now()),
                event_id: Some(event_id.to_owned()),
                image: None,
            };
            c.last_seq = m.seq;
            c.last_at = now();
            let mut batch = Batch::new();
            batch.put(key::message(id, m.seq), &m);
            batch.put(key::conversation(id), &c);
            batch.put_raw(
                Tree::Messaging,
                key::event(event_id),
                format!("{id}/{}", m.seq).into_bytes(),
            );
            self.kv().apply(&batch)?;
            (c, from)
        };
        self.announce();
        self.tell_message(&c.0, c.1).await;
        Ok(true)
    }

    /// The local member's messages of a room conversation that have not gone into the
    /// room yet, oldest first.
    pub fn unsent(&self, id: &str) -> Result<Vec<ChatMessage>, MessagingError> {
        let Some(c) = self.conversation(id)? else {
            return Ok(Vec::new());
        };
        let Some(local) = c.parties.iter().position(|p| p.who.account().is_some()) else {
            return Ok(Vec::new());
        };
        Ok(self
            .messages(id, 0)?
            .into_iter()
            .filter(|m| m.from == local && m.event_id.is_none())
            .collect())
    }

    /// Records that message `seq` went into the room as `event_id`.
    pub fn mark_sent(&self, id: &str, seq: u64, event_id: &str) -> Result<(), MessagingError> {
        let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut m) = self
            .messages(id, seq.saturating_sub(1))?
            .into_iter()
            .find(|m| m.seq == seq)
        else {
            return Ok(());
        };
        m.event_id = Some(event_id.to_owned());
        let mut batch = Batch::new();
        batch.put(key::message(id, seq), &m);
        batch.put_raw(
            Tree::Messaging,
            key::event(event_id),
            format!("{id}/{seq}").into_bytes(),
        );
        self.kv().apply(&batch)?;
        Ok(())
    }

    /// The partner's member left the room: nobody writes in the conversation any more.
    pub fn remote_left(&self, id: &str) -> Result<(), MessagingError> {
        {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            let Some(mut c) = self.conversation(id)? else {
                return Ok(());
            };
            let Some(side) = c
                .parties
                .iter()
                .position(|p| matches!(p.who, Who::Remote { .. }))
            else {
                return Ok(());
            };
            if c.parties[side].left {
                return Ok(());
            }
            c.parties[side].left = true;
            let mut batch = Batch::new();
            batch.put(key::conversation(id), &c);
            self.kv().apply(&batch)?;
        }
        self.announce();
        Ok(())
    }

    /// Who left a room conversation (`None`: it is gone, erased with its member or patient).
    pub fn room_state(&self, id: &str) -> Result<Option<RoomState>, MessagingError> {
        Ok(self.conversation(id)?.map(|c| RoomState {
            local_left: c
                .parties
                .iter()
                .any(|p| p.left && !matches!(p.who, Who::Remote { .. })),
            remote_left: c
                .parties
                .iter()
                .any(|p| p.left && matches!(p.who, Who::Remote { .. })),
        }))
    }

    /// Whether a Matrix event was kept already (received, or sent from here).
    pub fn kept(&self, event_id: &str) -> Result<bool, MessagingError> {
        Ok(self
            .kv()
            .get(Tree::Messaging, key::event(event_id).as_bytes())?
            .is_some())
    }
}

/// Who left a conversation held in a Matrix room.
#[derive(Debug, Clone, Copy)]
pub struct RoomState {
    /// The local member left (or blocked, or was erased).
    pub local_left: bool,
    /// The partner's member left the room.
    pub remote_left: bool,
}
