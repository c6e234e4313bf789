//! Reading and writing conversations: the list, one conversation (which marks it read),
//! what came after a message (for a page that stays open), sending, leaving, blocking.

use serde::Serialize;

use super::model::key;
use super::{
    Block, ChatMessage, Conversation, MAX_MESSAGE, MESSAGES_PER_WINDOW, MessagingError, Place,
    Service,
};
use crate::clock::now;
use crate::registration::Member;
use crate::store::{Batch, Tree, decode};

/// A conversation in a member's list.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The conversation.
    pub id: String,
    /// The other side ("Patient 3F2A1C").
    pub other: String,
    /// Their organization (`None`: this one).
    pub organization: Option<String>,
    /// When its last message was written (Unix seconds).
    pub last_at: u64,
    /// Messages the member has not seen.
    pub unread: u64,
    /// Whether both are still in it.
    pub open: bool,
}

/// One message as a member sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ShownMessage {
    /// Its number.
    pub seq: u64,
    /// Written by the member who reads it.
    pub mine: bool,
    /// The text.
    pub body: String,
    /// Whether an image came with it.
    pub image: bool,
    /// When (Unix seconds).
    pub at: u64,
}

/// A conversation as a member sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// The conversation.
    pub id: String,
    /// The other side.
    pub other: String,
    /// Their organization (`None`: this one).
    pub organization: Option<String>,
    /// Whether both are still in it.
    pub open: bool,
    /// Whether the reader left it.
    pub left: bool,
    /// Its messages, oldest first (the last [`SHOWN`] at most).
    pub messages: Vec<ShownMessage>,
    /// The number of its last message.
    pub last_seq: u64,
}

/// How many messages a conversation page shows.
pub const SHOWN: usize = 200;

impl Service {
    pub(super) fn conversation(&self, id: &str) -> Result<Option<Conversation>, MessagingError> {
        Ok(self
            .kv()
            .get(Tree::Messaging, key::conversation(id).as_bytes())?
            .map(|b| decode(&b))
            .transpose()
            .map_err(crate::store::StoreError::from)?)
    }

    fn place(&self, account: &str, id: &str) -> Result<Option<Place>, MessagingError> {
        Ok(self
            .kv()
            .get(Tree::Messaging, key::place(account, id).as_bytes())?
            .map(|b| decode(&b))
            .transpose()
            .map_err(crate::store::StoreError::from)?)
    }

    /// A conversation the member is in, and their side; `NotFound` for any other.
    fn mine(&self, account: &str, id: &str) -> Result<(Conversation, usize), MessagingError> {
        let c = self.conversation(id)?.ok_or(MessagingError::NotFound)?;
        let side = c.side_of(account).ok_or(MessagingError::NotFound)?;
        Ok((c, side))
    }

    pub(super) fn messages(
        &self,
        id: &str,
        after: u64,
    ) -> Result<Vec<ChatMessage>, MessagingError> {
        let from = key::message(id, after + 1);
        Ok(self
            .kv()
            .scan_prefix(Tree::Messaging, key::messages(id).as_bytes())?
            .into_iter()
            .filter(|(k, _)| k.as_slice() >= from.as_bytes())
            .filter_map(|(_, v)| decode::<ChatMessage>(&v).ok())
            .collect())
    }

    /// The member's conversations, the most recent first.
    pub fn list(&self, account: &str) -> Result<Vec<Listed>, MessagingError> {
        let prefix = key::places(account);
        let mut out = Vec::new();
        for (k, v) in self.kv().scan_prefix(Tree::Messaging, prefix.as_bytes())? {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let place: Place = decode(&v).map_err(crate::store::StoreError::from)?;
            let Some(c) = self.conversation(&id)? else {
                continue;
            };
            let Some(side) = c.side_of(account) else {
                continue;
            };
            let other = c.other(side);
            out.push(Listed {
                id: c.id.clone(),
                other: other.label.clone(),
                organization: other.organization.clone(),
                last_at: c.last_at,
                unread: c.last_seq.saturating_sub(place.read_seq),
                open: c.open(),
            });
        }
        out.sort_by_key(|l| std::cmp::Reverse(l.last_at));
        Ok(out)
    }

    /// Messages the member has not seen, across their conversations.
    pub fn unread(&self, account: &str) -> Result<u64, MessagingError> {
        Ok(self.list(account)?.iter().map(|l| l.unread).sum())
    }

    /// One of the member's conversations; marks what it shows as read.
    pub fn show(&self, account: &str, id: &str) -> Result<Shown, MessagingError> {
        let (c, side) = self.mine(account, id)?;
        let all = self.messages(id, 0)?;
        let skip = all.len().saturating_sub(SHOWN);
        let messages = all[skip..]
            .iter()
            .map(|m| shown(m, side))
            .collect::<Vec<_>>();
        self.mark_read(account, id, c.last_seq)?;
        let other = c.other(side);
        Ok(Shown {
            id: c.id.clone(),
            other: other.label.clone(),
            organization: other.organization.clone(),
            open: c.open(),
            left: c.parties[side].left,
            messages,
            last_seq: c.last_seq,
        })
    }

    /// The messages after `seq` of one of the member's conversations (for a page that
    /// stays open), and whether the conversation is still open; marks them read.
    pub fn after(
        &self,
        account: &str,
        id: &str,
        seq: u64,
    ) -> Result<(Vec<ShownMessage>, bool), MessagingError> {
        let (c, side) = self.mine(account, id)?;
        let new: Vec<ShownMessage> = self
            .messages(id, seq)?
            .iter()
            .map(|m| shown(m, side))
            .collect();
        if !new.is_empty() {
            self.mark_read(account, id, c.last_seq)?;
        }
        Ok((new, c.open()))
    }

    /// Marks a member's conversation read up to `seq`: read and written under the write
    /// lock, so that a mail noted at the same moment (`mailed_at`) is not lost.
    fn mark_read(&self, account: &str, id: &str, seq: u64) -> Result<(), MessagingError> {
        let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
        let place = self.place(account, id)?.unwrap_or_default();
        if place.read_seq < seq {
            let mut batch = Batch::new();
            batch.put(
                key::place(account, id),
                &Place {
                    read_seq: seq,
                    ..place
                },
            );
            self.kv().apply(&batch)?;
        }
        Ok(())
    }

    /// The member writes in one of their conversations.
    pub async fn send(
        &self,
        member: &Member,
        id: &str,
        body: &str,
    ) -> Result<ChatMessage, MessagingError> {
        self.send_with(member, id, body, None).await
    }

    /// The member writes in one of their conversations, with an image kept by
    /// [`Service::keep_image`] (removed again if the message is refused).
    pub async fn send_with(
        &self,
        member: &Member,
        id: &str,
        body: &str,
        image: Option<super::Image>,
    ) -> Result<ChatMessage, MessagingError> {
        let sent = self.write_message(member, id, body, image.clone()).await;
        if sent.is_err()
            && let Some(image) = &image
        {
            self.drop_image(image);
        }
        sent
    }

    async fn write_message(
        &self,
        member: &Member,
        id: &str,
        body: &str,
        image: Option<super::Image>,
    ) -> Result<ChatMessage, MessagingError> {
        let body = body.trim();
        if body.is_empty() && image.is_none() {
            return Err(MessagingError::refused("messages.err.empty"));
        }
        if body.chars().count() > MAX_MESSAGE {
            return Err(MessagingError::Refused(
                crate::message::Message::new("messages.err.too_long").with("max", MAX_MESSAGE),
            ));
        }
        let account = member.account_id.as_str();
        let throttle_key = format!("messages:{account}");
        if self
            .parts()
            .throttle
            .blocked_for_max(&throttle_key, MESSAGES_PER_WINDOW)
            .is_some()
        {
            return Err(MessagingError::refused("messages.err.too_many"));
        }
        let (c, m) = {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            let (mut c, side) = self.mine(account, id)?;
            if !c.open() {
                return Err(MessagingError::refused("messages.err.ended"));
            }
            if c.room.is_some() && image.is_some() {
                return Err(MessagingError::refused("messages.err.photos_here_only"));
            }
            let at = now();
            let m = ChatMessage {
                seq: c.last_seq + 1,
                from: side,
                body: body.to_owned(),
                at,
                event_id: None,
                image,
            };
            c.last_seq = m.seq;
            c.last_at = at;
            let place = self.place(account, id)?.unwrap_or_default();
            let mut batch = Batch::new();
            batch.put(key::message(id, m.seq), &m);
            batch.put(key::conversation(id), &c);
            batch.put(
                key::place(account, id),
                &Place {
                    read_seq: m.seq,
                    ..place
                },
            );
            self.kv().apply(&batch)?;
            (c, m)
        };
        self.parts().throttle.record(&throttle_key);
        self.announce();
        if c.room.is_some()
            && let Some(f) = &self.parts().federation
        {
            // Kept here first; the account the node manages for the member sends it into
            // the room (again after a failure, until it went).
            f.wake_managed(&member.account_id);
        }
        self.tell_message(&c, m.from).await;
        Ok(m)
    }

    /// The member leaves one of their conversations: nobody writes in it any more (what
    /// was written stays readable to both).
    pub fn leave(&self, account: &str, id: &str) -> Result<(), MessagingError> {
        let room = {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            let (mut c, side) = self.mine(account, id)?;
            if !c.parties[side].left {
                c.parties[side].left = true;
                let mut batch = Batch::new();
                batch.put(key::conversation(id), &c);
                self.kv().apply(&batch)?;
            }
            c.room
        };
        if let (Some(_), Some(f)) = (room, &self.parts().federation) {
            // The member's managed account leaves the room at its next sync (after what
            // the member wrote before leaving went): the other member sees it.
            f.wake_managed(&crate::ids::AccountId::new(account));
        }
        self.announce();
        Ok(())
    }

    /// The member leaves one of their conversations and blocks the other side: no
    /// further request or message from them.
    pub fn block(&self, account: &str, id: &str) -> Result<(), MessagingError> {
        let (c, side) = self.mine(account, id)?;
        let whom = c.other(side).who.block_key();
        let mut batch = Batch::new();
        batch.put(key::block(account, &whom), &Block { at: now() });
        self.kv().apply(&batch)?;
        tracing::info!(conversation = %id, "a member blocked the other side");
        self.leave(account, id)
    }
}

fn shown(m: &ChatMessage, side: usize) -> ShownMessage {
    ShownMessage {
        seq: m.seq,
        mine: m.from == side,
        body: m.body.clone(),
        image: m.image.is_some(),
        at: m.at,
    }
}
