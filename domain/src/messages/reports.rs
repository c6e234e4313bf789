//! Reporting a message to the organization's validators: the reporter's reason and a copy
//! of the message are kept for them, and both the report and what a validator did with it
//! are in the audit log.

use super::model::key;
use super::{MAX_REASON, MessagingError, Report, Service, Who};
use crate::audit::{Action, Entry};
use crate::clock::now;
use crate::ids::{AccountId, new_id};
use crate::store::{Batch, Tree, decode};

impl Service {
    /// The member reports message `seq` of one of their conversations (written by the
    /// other side), with a reason.
    pub fn report(
        &self,
        account: &AccountId,
        id: &str,
        seq: u64,
        reason: &str,
    ) -> Result<Report, MessagingError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(MessagingError::refused("messages.err.no_reason"));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(MessagingError::Refused(
                crate::message::Message::new("messages.err.reason_too_long")
                    .with("max", MAX_REASON),
            ));
        }
        let c = self.conversation(id)?.ok_or(MessagingError::NotFound)?;
        let side = c.side_of(account).ok_or(MessagingError::NotFound)?;
        let m = self
            .messages(id, seq.saturating_sub(1))?
            .into_iter()
            .find(|m| m.seq == seq && m.from != side)
            .ok_or(MessagingError::NotFound)?;
        let author = c.other(side);
        let r = Report {
            id: new_id()?,
            conversation: id.to_owned(),
            seq,
            reporter: account.clone(),
            reason: reason.to_owned(),
            body: m.body,
            image: m.image,
            author: match &author.organization {
                Some(org) => format!("{} ({org})", author.label),
                None => author.label.clone(),
            },
            author_account: match &author.who {
                Who::Local { account_id, .. } => Some(account_id.clone()),
                Who::Remote { .. } | Who::Gone => None,
            },
            at: now(),
            closed: None,
        };
        let mut batch = Batch::new();
        batch.put(key::report(&r.id), &r);
        self.parts().audit.record_in(
            &mut batch,
            &Entry {
                at: r.at,
                actor: account.to_string(),
                action: Action::MessageReported,
                account_id: account.clone(),
                patient_id: None,
                document_id: Some(format!("report:{}", r.id)),
                reason: None,
            },
        )?;
        self.kv().apply(&batch)?;
        tracing::info!(report = %r.id, "a message was reported to the validators");
        Ok(r)
    }

    /// The reports not yet closed, oldest first.
    pub fn open_reports(&self) -> Result<Vec<Report>, MessagingError> {
        let mut all: Vec<Report> = self
            .kv()
            .scan_prefix(Tree::Messaging, b"x/")?
            .into_iter()
            .filter_map(|(_, v)| decode::<Report>(&v).ok())
            .filter(|r| r.closed.is_none())
            .collect();
        all.sort_by_key(|r| r.at);
        Ok(all)
    }

    /// A report, open or closed.
    pub(super) fn stored_report(&self, id: &str) -> Result<Option<Report>, MessagingError> {
        Ok(self
            .kv()
            .get(Tree::Messaging, key::report(id).as_bytes())?
            .map(|b| decode(&b))
            .transpose()
            .map_err(crate::store::StoreError::from)?)
    }

    /// A validator closes a report, with a note of what was done.
    pub fn close_report(
        &self,
        validator: &AccountId,
        id: &str,
        note: &str,
    ) -> Result<Report, MessagingError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(MessagingError::refused("messages.err.no_note"));
        }
        if note.chars().count() > MAX_REASON {
            return Err(MessagingError::Refused(
                crate::message::Message::new("messages.err.reason_too_long")
                    .with("max", MAX_REASON),
            ));
        }
        let mut r: Report = self
            .stored_report(id)?
            .filter(|r: &Report| r.closed.is_none())
            .ok_or(MessagingError::NotFound)?;
        let at = now();
        r.closed = Some((validator.to_string(), at));
        let mut batch = Batch::new();
        batch.put(key::report(&r.id), &r);
        self.parts().audit.record_in(
            &mut batch,
            &Entry {
                at,
                actor: validator.to_string(),
                action: Action::ReportClosed,
                account_id: r.reporter.clone(),
                patient_id: None,
                document_id: Some(format!("report:{}", r.id)),
                reason: Some(note.to_owned()),
            },
        )?;
        self.kv().apply(&batch)?;
        Ok(r)
    }
}
