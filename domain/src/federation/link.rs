//! Linking a member's Matrix account: the node invites the account to a room and sends a
//! code there; the member types the code on the node's page. Once confirmed, the node
//! sends its notices (a new message, a contact request) to that room, without any
//! message's text.

use raremesh_bridge::protocol::random_id;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::contact::ContactError;
use super::{Federation, FederationError};
use crate::ids::AccountId;
use crate::message::Message;
use crate::registration::{MatrixLink, Member};

/// The name of the rooms in which the node sends a Matrix account's code, then notices.
pub const LINK_ROOM_NAME: &str = "raremesh: your organization";

fn hash(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Federation {
    /// Starts linking a member's Matrix account: the node invites it to a room and sends a
    /// code there. Returns nothing to show: the code is only in the room.
    pub async fn start_link(&self, member: &mut Member, user_id: &str) -> Result<(), ContactError> {
        if !crate::config::is_user_id(user_id) {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.not_an_id",
            )));
        }
        let key = format!("matrix-link:{}", member.account_id);
        if self.local.throttle.blocked_for_max(&key, 3).is_some() {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.too_many_codes",
            )));
        }
        self.local.throttle.record(&key);
        let mut digits = [0u8; 4];
        getrandom::fill(&mut digits)
            .map_err(|e| FederationError::Keys(format!("no randomness: {e}")))?;
        let code = format!("{:06}", u32::from_le_bytes(digits) % 1_000_000);
        let room = self
            .create_room(
                raremesh_bridge::rooms::RoomKind::Link,
                LINK_ROOM_NAME,
                &[user_id.to_owned()],
                raremesh_bridge::client::NewRoom {
                    direct: true,
                    ..Default::default()
                },
            )
            .await?;
        self.client
            .send(
                &room,
                "m.room.message",
                &random_id().map_err(FederationError::from)?,
                &json!({
                    "msgtype": "m.text",
                    "body": Message::new("matrix.code_message")
                        .with("node", &self.local.node_name)
                        .with("code", &code)
                        .render(&member.info.language),
                }),
            )
            .await?;
        if let Some(old) = member.matrix.as_ref().and_then(|l| l.room.clone()) {
            let _ = self.client.leave(&old).await;
        }
        member.matrix = Some(MatrixLink {
            user_id: user_id.to_owned(),
            verified: false,
            code_hash: Some(hash(&code)),
            room: Some(room),
            attempts: 0,
        });
        self.local.registrations.save_member(member)?;
        Ok(())
    }

    /// Checks the code the member read in their Matrix client.
    pub async fn confirm_link(&self, member: &mut Member, code: &str) -> Result<(), ContactError> {
        let Some(link) = member.matrix.as_mut() else {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.give_id_first",
            )));
        };
        if link.verified {
            return Ok(());
        }
        if link.attempts >= 5 {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.too_many_wrong",
            )));
        }
        if link.code_hash.as_deref() != Some(hash(code.trim()).as_str()) {
            link.attempts += 1;
            self.local.registrations.save_member(member)?;
            return Err(ContactError::Refused(Message::new(
                "contacts.err.wrong_code",
            )));
        }
        link.verified = true;
        link.code_hash = None;
        // The room stays: notices go there.
        self.local.registrations.save_member(member)?;
        Ok(())
    }

    /// Tells a member whose Matrix account is confirmed something (`subject`, then `body`,
    /// in their language) as a notice in their room with the node, made again when the
    /// node is no longer in it. A failure is logged: the member's mail and pages tell it
    /// too.
    pub async fn tell_in_matrix(&self, account: &AccountId, subject: Message, body: Message) {
        if let Err(e) = self.try_tell_in_matrix(account, subject, body).await {
            tracing::warn!(error = %e, "a Matrix notice failed");
        }
    }

    async fn try_tell_in_matrix(
        &self,
        account: &AccountId,
        subject: Message,
        body: Message,
    ) -> Result<(), FederationError> {
        let Some(member) = self.local.registrations.member(account)? else {
            return Ok(());
        };
        let Some(link) = member.matrix.clone().filter(|l| l.verified) else {
            return Ok(());
        };
        let lang = member.info.language.as_str();
        let content = json!({
            "msgtype": "m.notice",
            "body": format!(
                "{}\n\n{}",
                subject.with("node", &self.local.node_name).render(lang),
                body.render(lang)
            ),
        });
        if let Some(room) = &link.room {
            match self
                .client
                .send(room, "m.room.message", &random_id()?, &content)
                .await
            {
                Ok(_) => return Ok(()),
                // The node is not in that room any more.
                Err(e) if e.status() == Some(403) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let room = self
            .create_room(
                raremesh_bridge::rooms::RoomKind::Link,
                LINK_ROOM_NAME,
                std::slice::from_ref(&link.user_id),
                raremesh_bridge::client::NewRoom {
                    direct: true,
                    ..Default::default()
                },
            )
            .await?;
        self.client
            .send(&room, "m.room.message", &random_id()?, &content)
            .await?;
        // Kept for the next notices (read again: the member may have changed meanwhile).
        if let Some(mut m) = self.local.registrations.member(account)?
            && let Some(l) = m.matrix.as_mut()
            && l.user_id == link.user_id
        {
            l.room = Some(room);
            self.local.registrations.save_member(&m)?;
        }
        Ok(())
    }
}
