//! Mail about messaging: a request, its answer, a new message (at most one mail per
//! conversation and member within [`MAIL_EVERY`], never with the message's text), also
//! told to the member's confirmed Matrix account. A mail
//! that cannot be sent is logged; what it tells is on the member's pages anyway.

use super::model::key;
use super::{Conversation, MAIL_EVERY, Place, Request, RequestStatus, Service};
use crate::clock::now;
use crate::ids::AccountId;
use crate::mail::Mail;
use crate::message::Message;
use crate::store::{Batch, Tree, decode};

impl Service {
    /// Mails a member, and tells their Matrix account too when it is confirmed.
    async fn mail(&self, account: &AccountId, subject: Message, body: Message) {
        if let Some(f) = &self.parts().federation {
            f.tell_in_matrix(account, subject.clone(), body.clone())
                .await;
        }
        self.mail_only(account, subject, body).await;
    }

    async fn mail_only(&self, account: &AccountId, subject: Message, body: Message) {
        let member = match self.parts().registrations.member(account) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "reading a member to mail failed");
                return;
            }
        };
        let lang = member.info.language.as_str();
        let mail = Mail {
            to: member.info.email.clone(),
            subject: subject.with("node", &self.parts().node_name).render(lang),
            body: body.render(lang),
        };
        if let Err(e) = self.parts().mailer.send(&mail).await {
            tracing::warn!(error = %e, "a messaging mail failed");
        }
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.parts().public_url.trim_end_matches('/'))
    }

    pub(super) async fn tell_request(&self, r: &Request) {
        self.mail(
            &r.to_account,
            Message::new("mail.local_contact.subject"),
            Message::new("mail.local_contact.request").with("link", self.link("/contacts")),
        )
        .await;
    }

    pub(super) async fn tell_answer(&self, r: &Request) {
        let body = if r.status == RequestStatus::Accepted {
            Message::new("mail.local_contact.accepted").with(
                "link",
                self.link(&format!(
                    "/messages/{}",
                    r.conversation.as_deref().unwrap_or_default()
                )),
            )
        } else {
            Message::new("mail.local_contact.declined")
        };
        self.mail(
            &r.from_account,
            Message::new("mail.local_contact.subject"),
            body,
        )
        .await;
    }

    /// Tells the other side's member (when local, still in it, and not told within the
    /// last hour) that a message was written in `c` by side `from`.
    pub(super) async fn tell_message(&self, c: &Conversation, from: usize) {
        for (side, party) in c.parties.iter().enumerate() {
            let Some(account) = party.who.account() else {
                continue;
            };
            if side == from || party.left {
                continue;
            }
            let due = {
                let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
                match self.mark_mailed(account, &c.id) {
                    Ok(due) => due,
                    Err(e) => {
                        tracing::warn!(error = %e, "recording a message mail failed");
                        false
                    }
                }
            };
            if due {
                self.mail(
                    account,
                    Message::new("mail.message.subject"),
                    Message::new("mail.message.body")
                        .with("link", self.link(&format!("/messages/{}", c.id))),
                )
                .await;
            }
        }
    }

    /// Whether a mail is due (none within the last hour, and something unread); if so,
    /// records it as sent now.
    fn mark_mailed(&self, account: &str, id: &str) -> Result<bool, super::MessagingError> {
        let k = key::place(account, id);
        let place: Place = match self.kv().get(Tree::Messaging, k.as_bytes())? {
            Some(b) => decode(&b).map_err(crate::store::StoreError::from)?,
            None => return Ok(false),
        };
        let t = now();
        if place.mailed_at.is_some_and(|m| t < m + MAIL_EVERY) {
            return Ok(false);
        }
        let mut batch = Batch::new();
        batch.put(
            k,
            &Place {
                mailed_at: Some(t),
                ..place
            },
        );
        self.kv().apply(&batch)?;
        Ok(true)
    }
}
