//! Contact between matched members, double opt-in. A member asks to get in touch with a
//! patient of a partner organization (by pseudonym); that node's member sees the request
//! and accepts or declines; on acceptance the answering node creates a direct Matrix room
//! (end-to-end encrypted) inviting its member and the asking node, which joins and invites
//! its own member; both nodes leave once both members joined. Nothing about
//! either member is revealed before both agreed; Matrix ids are linked with a code.

use crate::ids::{AccountId, PatientId};
use raremesh_bridge::protocol::{Payload, random_id};
use raremesh_bridge::seal::{addressed, seal};
use serde::{Deserialize, Serialize};

use super::{Federation, FederationError};
use crate::clock::now;
use crate::federation::state::{Key, Kind};
use crate::mail::Mail;
use crate::message::Message;
use crate::registration::Member;
use crate::store::{Record, StoreError, Tree, decode, encode};

/// Where a contact request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    /// Waiting for the other member.
    Pending,
    /// Accepted: a direct room exists.
    Accepted,
    /// Declined.
    Declined,
}

/// A contact request, as one node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Random id, shared by both nodes.
    pub request: String,
    /// Asked by a member of this node (true) or of the peer (false).
    pub outgoing: bool,
    /// The peer node's Matrix user id.
    pub peer: String,
    /// The local member.
    pub account_id: AccountId,
    /// The local patient.
    pub patient_id: PatientId,
    /// The local patient's pseudonym.
    pub local_pseudonym: String,
    /// The other patient's pseudonym.
    pub remote_pseudonym: String,
    /// Where it stands.
    pub status: ContactStatus,
    /// The direct room, once accepted.
    pub room: Option<String>,
    /// The conversation on the Messages page, when the local member talks through the
    /// account the node manages for them (no Matrix app of their own).
    #[serde(default)]
    pub conversation: Option<String>,
    /// When asked (Unix seconds).
    pub created_at: u64,
}

impl Record for Contact {
    const TREE: Tree = Tree::Contacts;
    const VERSION: u32 = 1;
}

/// Why a contact step is refused (shown to the member).
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// Something the member can fix, or a state that does not allow it (a catalogue
    /// message, shown in the member's language).
    #[error("{0}")]
    Refused(Message),
    /// A failure inside.
    #[error(transparent)]
    Failed(#[from] FederationError),
}

impl From<raremesh_bridge::Error> for ContactError {
    fn from(e: raremesh_bridge::Error) -> Self {
        Self::Failed(e.into())
    }
}

impl From<StoreError> for ContactError {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// The name of contact rooms, as members see it in their Matrix client.
pub const CONTACT_ROOM_NAME: &str = "raremesh: people like you";

impl Federation {
    pub(super) fn all_contacts(&self) -> Result<Vec<Contact>, StoreError> {
        self.store
            .kv()
            .scan_prefix(Tree::Contacts, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// Every contact request of a member, newest first.
    pub fn contacts_of(&self, account_id: &str) -> Result<Vec<Contact>, StoreError> {
        let mut all: Vec<Contact> = self
            .store
            .kv()
            .scan_prefix(Tree::Contacts, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect::<Result<Vec<Contact>, _>>()?
            .into_iter()
            .filter(|c| c.account_id == account_id)
            .collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok(all)
    }

    fn contact(&self, request: &str) -> Result<Option<Contact>, StoreError> {
        self.store
            .kv()
            .get(Tree::Contacts, request.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    pub(super) fn save_contact(&self, c: &Contact) -> Result<(), StoreError> {
        self.store
            .kv()
            .put(Tree::Contacts, c.request.as_bytes(), &encode(c))
    }

    /// Sends `payload` in this node's federation room, sealed for `peer` only.
    pub(in crate::federation) async fn send_to(
        &self,
        peer: &str,
        payload: &Payload,
    ) -> Result<(), FederationError> {
        let Some(p) = self.peer(peer) else {
            return Ok(());
        };
        let Some(room) = self.own_room()? else {
            return Err(FederationError::Matrix("no federation room yet".into()));
        };
        let Some(key) = self.recipient_of(&p.user_id)? else {
            return Ok(());
        };
        let content = addressed(seal(payload, &[key])?, &p.user_id)?;
        self.client.send_batch(&room, &content).await?;
        Ok(())
    }

    /// A member asks to get in touch with the member behind a partner's pseudonym.
    pub async fn request_contact(
        &self,
        member: &Member,
        patient_id: &PatientId,
        peer: &str,
        remote_pseudonym: &str,
    ) -> Result<Contact, ContactError> {
        if !member.consents.contactable {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.not_contactable",
            )));
        }
        let p = self
            .local
            .patients
            .get(&member.account_id, patient_id)?
            .ok_or(ContactError::Refused(Message::new(
                "contacts.err.no_patient",
            )))?;
        let local = self.keys.pseudonym(&p.id, p.pseudonym_rotation);
        if self.store.published_as(&local)?.is_none() {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.not_shared_yet",
            )));
        }
        let remote = self
            .store
            .remote(peer, remote_pseudonym)?
            .filter(|r| !r.retracted)
            .ok_or(ContactError::Refused(Message::new(
                "contacts.err.no_longer_shared",
            )))?;
        if !remote.vector.contactable {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.declines_contact",
            )));
        }
        if self
            .contacts_of(&member.account_id)?
            .iter()
            .any(|c| c.remote_pseudonym == remote_pseudonym)
        {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.asked_already",
            )));
        }
        let c = Contact {
            request: random_id().map_err(FederationError::from)?,
            outgoing: true,
            peer: peer.to_owned(),
            account_id: member.account_id.clone(),
            patient_id: p.id.clone(),
            local_pseudonym: local.clone(),
            remote_pseudonym: remote_pseudonym.to_owned(),
            status: ContactStatus::Pending,
            room: None,
            conversation: None,
            created_at: now(),
        };
        self.send_to(
            peer,
            &Payload::ContactRequest {
                request: c.request.clone(),
                from: local,
                to: remote_pseudonym.to_owned(),
            },
        )
        .await?;
        self.save_contact(&c)?;
        Ok(c)
    }

    /// A peer's member asks to get in touch with one of ours.
    pub(super) async fn on_contact_request(
        &self,
        peer: &str,
        request: &str,
        from: &str,
        to: &str,
    ) -> Result<(), FederationError> {
        if self.contact(request)?.is_some() {
            return Ok(());
        }
        let all = self.all_contacts()?;
        let repeated = all.iter().any(|c| {
            !c.outgoing && c.peer == peer && c.remote_pseudonym == from && c.local_pseudonym == to
        });
        let pending_from_peer = all
            .iter()
            .filter(|c| !c.outgoing && c.peer == peer && c.status == ContactStatus::Pending)
            .count();
        if repeated || pending_from_peer >= 50 {
            tracing::info!(
                request,
                repeated,
                pending_from_peer,
                "contact request refused"
            );
            return self
                .send_to(
                    peer,
                    &Payload::ContactAnswer {
                        request: request.to_owned(),
                        accepted: false,
                        room: None,
                    },
                )
                .await;
        }
        let target = self.store.published_as(to)?.and_then(|p| {
            p.patient
                .split_once('/')
                .map(|(a, b)| (AccountId::new(a), PatientId::new(b)))
        });
        let member = match &target {
            Some((account, _)) => self.local.registrations.member(account)?,
            None => None,
        };
        // A member who blocked that patient's member in an earlier conversation is not
        // asked again (declined like a member who is not contactable: the block is not
        // revealed).
        let blocked = match (&member, self.messages()) {
            (Some(m), Ok(messages)) => messages.blocked_remote(&m.account_id, peer, from)?,
            _ => false,
        };
        let ok = !blocked
            && member
                .as_ref()
                .is_some_and(|m| m.consents.contactable && m.consents.federated_matching);
        let (Some((account, patient)), Some(m), true) = (target, member, ok) else {
            tracing::info!(
                request,
                "contact request for a member who is not contactable: declined"
            );
            return self
                .send_to(
                    peer,
                    &Payload::ContactAnswer {
                        request: request.to_owned(),
                        accepted: false,
                        room: None,
                    },
                )
                .await;
        };
        self.save_contact(&Contact {
            request: request.to_owned(),
            outgoing: false,
            peer: peer.to_owned(),
            account_id: account,
            patient_id: patient,
            local_pseudonym: to.to_owned(),
            remote_pseudonym: from.to_owned(),
            status: ContactStatus::Pending,
            room: None,
            conversation: None,
            created_at: now(),
        })?;
        let org = self.peer(peer).map_or("", |p| p.name.as_str());
        let base = self.local.public_url.trim_end_matches('/');
        let lang = m.info.language.as_str();
        let mail = Mail {
            to: m.info.email.clone(),
            subject: Message::new("mail.contact_request.subject")
                .with("node", &self.local.node_name)
                .render(lang),
            body: Message::new("mail.contact_request.body")
                .with("org", org)
                .with("link", format!("{base}/contacts"))
                .render(lang),
        };
        if let Err(e) = self.local.mailer.send(&mail).await {
            tracing::warn!(error = %e, "contact request mail failed");
        }
        self.tell_in_matrix(
            &m.account_id,
            Message::new("mail.contact_request.subject"),
            Message::new("mail.contact_request.body")
                .with("org", org)
                .with("link", format!("{base}/contacts")),
        )
        .await;
        Ok(())
    }

    /// The member answers a request made to them.
    pub async fn answer_contact(
        &self,
        member: &Member,
        request: &str,
        accept: bool,
    ) -> Result<Contact, ContactError> {
        let mut c = self
            .contact(request)?
            .filter(|c| c.account_id == member.account_id && !c.outgoing)
            .ok_or(ContactError::Refused(Message::new(
                "contacts.err.no_request",
            )))?;
        if c.status != ContactStatus::Pending {
            return Err(ContactError::Refused(Message::new(
                "contacts.err.answered_already",
            )));
        }
        if !accept {
            self.send_to(
                &c.peer,
                &Payload::ContactAnswer {
                    request: c.request.clone(),
                    accepted: false,
                    room: None,
                },
            )
            .await?;
            c.status = ContactStatus::Declined;
            self.save_contact(&c)?;
            return Ok(c);
        }
        // The member's own Matrix account, or the one the node manages for them.
        let own = member
            .matrix
            .as_ref()
            .filter(|l| l.verified)
            .map(|l| l.user_id.clone());
        let mxid = own
            .clone()
            .unwrap_or_else(|| self.managed_user(&member.account_id));
        let room = self
            .create_room(
                raremesh_bridge::rooms::RoomKind::Contact,
                CONTACT_ROOM_NAME,
                &[mxid, c.peer.clone()],
                raremesh_bridge::client::NewRoom {
                    direct: true,
                    encrypted: true,
                    ..Default::default()
                },
            )
            .await?;
        self.store.set(Key::ContactRoom(&room), &c.request)?;
        self.send_to(
            &c.peer,
            &Payload::ContactAnswer {
                request: c.request.clone(),
                accepted: true,
                room: Some(room.clone()),
            },
        )
        .await?;
        c.status = ContactStatus::Accepted;
        c.room = Some(room.clone());
        self.save_contact(&c)?;
        if own.is_none() {
            c.conversation = Some(self.talk_through_managed(&c, &room).await?);
            self.save_contact(&c)?;
        }
        Ok(c)
    }

    /// The peer's member answered one of our members' requests.
    pub(super) async fn on_contact_answer(
        &self,
        peer: &str,
        request: &str,
        accepted: bool,
        room: Option<String>,
    ) -> Result<(), FederationError> {
        let Some(mut c) = self
            .contact(request)?
            .filter(|c| c.outgoing && c.peer == peer && c.status == ContactStatus::Pending)
        else {
            return Ok(());
        };
        let member = self.local.registrations.member(&c.account_id)?;
        // The room must be a new one: never a federation room or another contact's room.
        let room = room.filter(|r| {
            let taken = self.own_room().ok().flatten().as_deref() == Some(r.as_str())
                || self
                    .store
                    .scan(Kind::PeerRoom)
                    .is_ok_and(|rooms| rooms.iter().any(|(_, v)| v == r))
                || self.store.get(Key::ContactRoom(r)).ok().flatten().is_some()
                || self.store.get(Key::ManagedRoom(r)).ok().flatten().is_some();
            if taken {
                tracing::warn!(room = %r, "a contact answer named a room in use: refused");
            }
            !taken
        });
        if let (true, Some(room), Some(m)) = (accepted, room, member.as_ref()) {
            let own = m
                .matrix
                .as_ref()
                .filter(|l| l.verified)
                .map(|l| l.user_id.clone());
            // The invitation may still be on its way between the homeservers.
            let mut joined = false;
            for _ in 0..20 {
                if self.client.join(&room).await.is_ok() {
                    joined = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            if !joined {
                return Err(FederationError::Matrix(format!("cannot join {room}")));
            }
            // Only the answering node and its member may be there, and it must be encrypted.
            let others = self
                .client
                .joined_members(&room)
                .await?
                .into_iter()
                .filter(|u| *u != self.config.user_id() && u.as_str() != peer)
                .count();
            if others > 1 || !self.client.is_encrypted(&room).await? {
                tracing::warn!(%room, "a contact room with others in it, or unencrypted: left");
                let _ = self.client.leave(&room).await;
                c.status = ContactStatus::Declined;
                self.save_contact(&c)?;
                return Ok(());
            }
            // Stay until both members joined (a room needs a member on this homeserver
            // for the invited member to join through it).
            self.store.set(Key::ContactRoom(&room), &c.request)?;
            let mxid = own
                .clone()
                .unwrap_or_else(|| self.managed_user(&m.account_id));
            self.client.invite(&room, &mxid).await?;
            c.status = ContactStatus::Accepted;
            c.room = Some(room.clone());
            if own.is_none() {
                self.save_contact(&c)?;
                c.conversation = Some(self.talk_through_managed(&c, &room).await?);
            }
        } else {
            c.status = ContactStatus::Declined;
        }
        self.save_contact(&c)?;
        if let Some(m) = member {
            let org = self.peer(peer).map_or("", |p| p.name.as_str());
            let lang = m.info.language.as_str();
            let body = if let Some(conversation) = &c.conversation {
                let base = self.local.public_url.trim_end_matches('/');
                Message::new("mail.contact_answer.accepted_here")
                    .with("org", org)
                    .with("link", format!("{base}/messages/{conversation}"))
                    .render(lang)
            } else if c.status == ContactStatus::Accepted {
                Message::new("mail.contact_answer.accepted")
                    .with("org", org)
                    .with("room", CONTACT_ROOM_NAME)
                    .render(lang)
            } else {
                Message::new("mail.contact_answer.declined")
                    .with("org", org)
                    .render(lang)
            };
            let mail = Mail {
                to: m.info.email.clone(),
                subject: Message::new("mail.contact_answer.subject")
                    .with("node", &self.local.node_name)
                    .render(lang),
                body,
            };
            if let Err(e) = self.local.mailer.send(&mail).await {
                tracing::warn!(error = %e, "contact answer mail failed");
            }
        }
        Ok(())
    }

    /// Leaves a contact room once two people other than the nodes have joined it.
    pub(super) async fn on_member_joined(
        &self,
        room: &str,
        user: &str,
    ) -> Result<(), FederationError> {
        if self.store.get(Key::ContactRoom(room))?.is_none()
            || user == self.config.user_id()
            || self.peer(user).is_some()
        {
            return Ok(());
        }
        let members = self
            .client
            .joined_members(room)
            .await?
            .into_iter()
            .filter(|u| *u != self.config.user_id() && self.peer(u).is_none())
            .count();
        if members >= 2 {
            self.client.leave(room).await?;
            self.store.unset(Key::ContactRoom(room))?;
            tracing::info!(%room, "both members joined their room; the node left it");
        }
        Ok(())
    }
}
