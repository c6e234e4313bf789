//! What erasing a member or a patient removes from messaging: what they wrote (with its
//! images), their place in each conversation (a conversation left with nobody in it goes
//! entirely), their requests and blocks, and the reports they made or that quote them.

use super::model::key;
use super::{ChatMessage, Conversation, MessagingError, Report, Request, Service, Who};
use crate::ids::{AccountId, PatientId};
use crate::store::{Batch, Tree, decode};

impl Service {
    /// Adds the erasure of a member's messaging to `batch`; the vault files of the images
    /// it removes, to erase once the batch is applied.
    pub fn erase_account(
        &self,
        batch: &mut Batch,
        account: &AccountId,
    ) -> Result<Vec<String>, MessagingError> {
        self.erase(batch, account, None)
    }

    /// Adds the erasure of one patient's conversations and requests to `batch`; the vault
    /// files of the images it removes, to erase once the batch is applied.
    pub fn erase_patient(
        &self,
        batch: &mut Batch,
        account: &AccountId,
        patient: &PatientId,
    ) -> Result<Vec<String>, MessagingError> {
        self.erase(batch, account, Some(patient))
    }

    fn erase(
        &self,
        batch: &mut Batch,
        account: &AccountId,
        patient: Option<&PatientId>,
    ) -> Result<Vec<String>, MessagingError> {
        let mut images = Vec::new();
        let concerns = |who: &Who| match who {
            Who::Local {
                account_id,
                patient_id,
            } => account_id == account && patient.is_none_or(|p| p == patient_id),
            _ => false,
        };
        let prefix = key::places(account);
        for (k, _) in self.kv().scan_prefix(Tree::Messaging, prefix.as_bytes())? {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let Some(mut c) = self.conversation(&id)? else {
                batch.remove(Tree::Messaging, k);
                continue;
            };
            let Some(side) = c.parties.iter().position(|p| concerns(&p.who)) else {
                continue;
            };
            batch.remove(Tree::Messaging, k);
            let messages = self.messages(&id, 0)?;
            // A conversation with a partner's member is kept for the local member only:
            // it goes entirely (and the managed account leaves its room).
            if c.room.is_some() || gone_or_left(&c, 1 - side.min(1)) {
                images.extend(
                    messages
                        .iter()
                        .filter_map(|m| m.image.clone())
                        .map(|i| i.id),
                );
                remove_all(batch, &c, &messages);
                continue;
            }
            for m in messages.iter().filter(|m| m.from == side) {
                images.extend(m.image.as_ref().map(|i| i.id.clone()));
                batch.remove(Tree::Messaging, key::message(&id, m.seq));
            }
            c.parties[side].who = Who::Gone;
            c.parties[side].left = true;
            batch.put(key::conversation(&id), &c);
        }
        for (k, v) in self.kv().scan_prefix(Tree::Messaging, b"r/")? {
            let Ok(r) = decode::<Request>(&v) else {
                continue;
            };
            let from = r.from_account == *account && patient.is_none_or(|p| *p == r.from_patient);
            let to = r.to_account == *account && patient.is_none_or(|p| *p == r.to_patient);
            if from || to {
                batch.remove(Tree::Messaging, k);
            }
        }
        if patient.is_none() {
            for (k, _) in self
                .kv()
                .scan_prefix(Tree::Messaging, key::blocks(account).as_bytes())?
            {
                batch.remove(Tree::Messaging, k);
            }
            let blocked_as = format!("/account:{account}");
            for (k, _) in self.kv().scan_prefix(Tree::Messaging, b"b/")? {
                if k.ends_with(blocked_as.as_bytes()) {
                    batch.remove(Tree::Messaging, k);
                }
            }
            for (k, v) in self.kv().scan_prefix(Tree::Messaging, b"x/")? {
                let Ok(r) = decode::<Report>(&v) else {
                    continue;
                };
                if r.reporter == *account || r.author_account.as_ref() == Some(account) {
                    batch.remove(Tree::Messaging, k);
                }
            }
        }
        images.sort();
        images.dedup();
        Ok(images)
    }
}

fn gone_or_left(c: &Conversation, side: usize) -> bool {
    c.parties
        .get(side)
        .is_none_or(|p| p.left || p.who == Who::Gone)
}

/// Removes a conversation, its messages and every place in it.
fn remove_all(batch: &mut Batch, c: &Conversation, messages: &[ChatMessage]) {
    for m in messages {
        batch.remove(Tree::Messaging, key::message(&c.id, m.seq));
        if let Some(event) = &m.event_id {
            batch.remove(Tree::Messaging, key::event(event));
        }
    }
    if let Some(room) = &c.room {
        batch.remove(Tree::Messaging, key::room(room));
    }
    for p in &c.parties {
        if let Some(a) = p.who.account() {
            batch.remove(Tree::Messaging, key::place(a, &c.id));
        }
    }
    batch.remove(Tree::Messaging, key::conversation(&c.id));
}
