//! Contact requests between members of this organization: double opt-in. A member asks
//! about a similar patient (named by its handle, not its id); the other member accepts or
//! declines; on acceptance a conversation opens.

use sha2::{Digest, Sha256};

use super::model::key;
use super::{
    Conversation, MAX_PENDING, MessagingError, Party, REQUESTS_PER_WINDOW, Request, RequestStatus,
    Service, Who,
};
use crate::clock::now;
use crate::ids::{AccountId, PatientId, new_id};
use crate::registration::Member;
use crate::registration::patient::Patient;
use crate::similar::{SimilarPatient, pseudonym};
use crate::store::{Batch, decode};

/// The handle other members' pages name a patient of this organization by, to ask for
/// contact: derived from its random id, and not the id itself.
pub fn handle(patient_id: &str) -> String {
    let h = Sha256::digest(format!("raremesh-contact-handle:{patient_id}").as_bytes());
    h[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A similar patient a member may ask to get in touch with, and where that stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Possible {
    /// The member's own patient.
    pub patient_id: PatientId,
    /// The similar patient.
    pub similar: SimilarPatient,
    /// A request between the two patients, if any (either way).
    pub request: Option<RequestStatus>,
}

impl Service {
    fn all_requests(&self) -> Result<Vec<Request>, MessagingError> {
        Ok(self
            .kv()
            .scan_prefix(crate::store::Tree::Messaging, b"r/")?
            .into_iter()
            .filter_map(|(_, v)| decode::<Request>(&v).ok())
            .collect())
    }

    /// The requests a member made or received, newest first.
    pub fn requests_of(&self, account_id: &str) -> Result<Vec<Request>, MessagingError> {
        let mut all: Vec<Request> = self
            .all_requests()?
            .into_iter()
            .filter(|r| r.from_account == account_id || r.to_account == account_id)
            .collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(all)
    }

    fn request(&self, id: &str) -> Result<Option<Request>, MessagingError> {
        Ok(self
            .kv()
            .get(crate::store::Tree::Messaging, key::request(id).as_bytes())?
            .map(|b| decode(&b))
            .transpose()
            .map_err(crate::store::StoreError::from)?)
    }

    /// The patient of this organization behind `handle`.
    fn by_handle(&self, handle: &str) -> Result<Option<Patient>, MessagingError> {
        Ok(self
            .parts()
            .patients
            .all()?
            .into_iter()
            .find(|p| self::handle(&p.id) == handle))
    }

    /// Whether `who` blocked `whom` (a block key).
    pub(super) fn blocked(&self, who: &str, whom: &str) -> Result<bool, MessagingError> {
        Ok(self
            .kv()
            .get(
                crate::store::Tree::Messaging,
                key::block(who, whom).as_bytes(),
            )?
            .is_some())
    }

    /// The similar patients of each of the member's validated patients whom they could ask
    /// to get in touch with (those whose member accepts contact requests), most similar
    /// first, with any request already made between them.
    pub fn possible(&self, member: &Member, k: usize) -> Result<Vec<Possible>, MessagingError> {
        let requests = self.requests_of(&member.account_id)?;
        let mut out = Vec::new();
        for p in self.parts().patients.of(&member.account_id)? {
            for s in self.parts().similar.find(&p, k)? {
                if !s.contactable {
                    continue;
                }
                let request = s.local.as_ref().and_then(|h| {
                    requests
                        .iter()
                        .find(|r| {
                            (r.from_patient == p.id && handle(&r.to_patient) == *h)
                                || (r.to_patient == p.id && handle(&r.from_patient) == *h)
                        })
                        .map(|r| r.status)
                });
                out.push(Possible {
                    patient_id: p.id.clone(),
                    similar: s,
                    request,
                });
            }
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.similar.score));
        Ok(out)
    }

    /// A member asks to get in touch with the member behind a patient of this organization.
    pub async fn ask(
        &self,
        member: &Member,
        patient_id: &PatientId,
        target: &str,
    ) -> Result<Request, MessagingError> {
        let request = {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            self.check_and_save_request(member, patient_id, target)?
        };
        self.tell_request(&request).await;
        Ok(request)
    }

    fn check_and_save_request(
        &self,
        member: &Member,
        patient_id: &PatientId,
        target: &str,
    ) -> Result<Request, MessagingError> {
        if !member.consents.contactable {
            return Err(MessagingError::refused("contacts.err.not_contactable"));
        }
        let own = self
            .parts()
            .patients
            .get(&member.account_id, patient_id)?
            .ok_or(MessagingError::refused("contacts.err.no_patient"))?;
        if !own.validation.is_approved() {
            return Err(MessagingError::refused("contacts.err.not_validated"));
        }
        let other = self
            .by_handle(target)?
            .filter(|p| p.validation.is_approved() && p.account_id != member.account_id)
            .ok_or(MessagingError::refused("contacts.err.no_patient"))?;
        let accepts = self
            .parts()
            .registrations
            .member(&other.account_id)?
            .is_some_and(|m| m.consents.contactable && m.consents.local_matching);
        if !accepts {
            return Err(MessagingError::refused("contacts.err.declines_contact"));
        }
        let me = Who::Local {
            account_id: member.account_id.clone(),
            patient_id: own.id.clone(),
        };
        let them = Who::Local {
            account_id: other.account_id.clone(),
            patient_id: other.id.clone(),
        };
        // Blocked either way: told the same as a member who does not accept requests, so
        // that a block is not revealed.
        if self.blocked(&other.account_id, &me.block_key())? {
            return Err(MessagingError::refused("contacts.err.declines_contact"));
        }
        if self.blocked(&member.account_id, &them.block_key())? {
            return Err(MessagingError::refused("contacts.err.you_blocked"));
        }
        let mine = self.requests_of(&member.account_id)?;
        let between = mine.iter().any(|r| {
            (r.from_patient == own.id && r.to_patient == other.id)
                || (r.from_patient == other.id && r.to_patient == own.id)
        });
        if between {
            return Err(MessagingError::refused("contacts.err.asked_already"));
        }
        let pending = mine
            .iter()
            .filter(|r| r.from_account == member.account_id && r.status == RequestStatus::Pending)
            .count();
        if pending >= MAX_PENDING {
            return Err(MessagingError::refused("contacts.err.too_many_pending"));
        }
        let throttle_key = format!("contact-requests:{}", member.account_id);
        if self
            .parts()
            .throttle
            .blocked_for_max(&throttle_key, REQUESTS_PER_WINDOW)
            .is_some()
        {
            return Err(MessagingError::refused("contacts.err.too_many"));
        }
        self.parts().throttle.record(&throttle_key);
        let r = Request {
            id: new_id()?,
            from_account: member.account_id.clone(),
            from_patient: own.id,
            to_account: other.account_id,
            to_patient: other.id,
            status: RequestStatus::Pending,
            created_at: now(),
            conversation: None,
        };
        let mut batch = Batch::new();
        batch.put(key::request(&r.id), &r);
        self.kv().apply(&batch)?;
        tracing::info!(request = %r.id, "contact request within the organization");
        Ok(r)
    }

    /// The member asked answers a request: on acceptance a conversation opens.
    pub async fn answer(
        &self,
        member: &Member,
        request: &str,
        accept: bool,
    ) -> Result<Request, MessagingError> {
        let r = {
            let _one = self.0.write.lock().unwrap_or_else(|e| e.into_inner());
            let mut r = self
                .request(request)?
                .filter(|r| r.to_account == member.account_id)
                .ok_or(MessagingError::refused("contacts.err.no_request"))?;
            if r.status != RequestStatus::Pending {
                return Err(MessagingError::refused("contacts.err.answered_already"));
            }
            let mut batch = Batch::new();
            if accept {
                let asker = self
                    .parts()
                    .patients
                    .get(&r.from_account, &r.from_patient)?;
                if asker.is_none() {
                    return Err(MessagingError::refused("contacts.err.no_request"));
                }
                let c = Conversation {
                    id: new_id()?,
                    parties: vec![
                        local_party(&r.from_account, &r.from_patient),
                        local_party(&r.to_account, &r.to_patient),
                    ],
                    room: None,
                    created_at: now(),
                    last_at: now(),
                    last_seq: 0,
                };
                self.open_in(&mut batch, &c);
                r.status = RequestStatus::Accepted;
                r.conversation = Some(c.id);
            } else {
                r.status = RequestStatus::Declined;
            }
            batch.put(key::request(&r.id), &r);
            self.kv().apply(&batch)?;
            r
        };
        self.tell_answer(&r).await;
        self.announce();
        Ok(r)
    }

    /// Adds a new conversation, and each local member's place in it, to `batch`.
    pub(super) fn open_in(&self, batch: &mut Batch, c: &Conversation) {
        batch.put(key::conversation(&c.id), c);
        for p in &c.parties {
            if let Some(a) = p.who.account() {
                batch.put(key::place(a, &c.id), &super::Place::default());
            }
        }
    }
}

pub(super) fn local_party(account_id: &AccountId, patient_id: &PatientId) -> Party {
    Party {
        who: Who::Local {
            account_id: account_id.clone(),
            patient_id: patient_id.clone(),
        },
        label: pseudonym(patient_id),
        organization: None,
        left: false,
    }
}
