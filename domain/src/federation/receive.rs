//! Receiving: the homeserver's transactions. Protocol events are accepted only from
//! trusted peers, opened with this node's key, checked (form, sizes, HPO ids known to this
//! node's ontology), and applied by revision; anything else is logged with the reason and
//! dropped. Invitations from trusted peers are accepted.

use std::sync::Arc;

use raremesh_bridge::drops::{DropReason, dropped, reason_of};
use raremesh_bridge::event::{Incoming, Invitation};
use raremesh_bridge::protocol::{EVENT_TYPE, Op, Payload};
use raremesh_bridge::rooms::RoomKind;
use raremesh_bridge::seal::open;
use raremesh_ontology::HpoId;
use serde_json::Value;

use super::state::InboxEntry;
use super::store::Applied;
use super::{Federation, FederationError};
use crate::clock::now;
use crate::federation::state::{Key, Kind};

/// What one transaction did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Received {
    /// Operations stored.
    pub stored: usize,
    /// Operations ignored as replays or older revisions.
    pub stale: usize,
    /// Events already applied (arriving again by push or sync): skipped.
    pub repeated: usize,
    /// Events from other senders applied for the first time (whatever they did).
    pub new: usize,
    /// Events or operations dropped, with the reason.
    pub dropped: Vec<String>,
}

impl Federation {
    /// Handles the contact messages waiting in the inbox, one at a time; a failure is
    /// retried on the next round, up to ten times.
    pub async fn process_inbox(&self) {
        let _guard = self.inbox.lock().await;
        let Ok(entries) = self.store.scan(Kind::Inbox) else {
            return;
        };
        for (key, value) in entries {
            let Ok(mut entry) = serde_json::from_str::<InboxEntry>(&value) else {
                self.store.unset_or_log(&key);
                continue;
            };
            let peer = entry.peer.clone();
            let result = match serde_json::from_value::<Payload>(entry.payload.clone()) {
                Ok(Payload::ContactRequest { request, from, to }) => {
                    self.on_contact_request(&peer, &request, &from, &to).await
                }
                Ok(Payload::ContactAnswer {
                    request,
                    accepted,
                    room,
                }) => {
                    self.on_contact_answer(&peer, &request, accepted, room)
                        .await
                }
                Ok(Payload::ResearchQuery {
                    query,
                    researcher,
                    criteria,
                }) => {
                    self.on_research_query(&peer, &query, &researcher, &criteria)
                        .await
                }
                Ok(Payload::ResearchAnswer {
                    query,
                    count,
                    status,
                    k,
                }) => self
                    .on_research_answer(
                        &peer,
                        &query,
                        super::research::NodeAnswer {
                            count,
                            status,
                            k,
                            at: now(),
                        },
                    )
                    .map_err(FederationError::from),
                Ok(Payload::DistributionQuery {
                    query,
                    questionnaire,
                    question,
                    orpha,
                }) => {
                    self.on_distribution_query(&peer, &query, &questionnaire, &question, orpha)
                        .await
                }
                Ok(Payload::DistributionAnswer {
                    query,
                    status,
                    answered,
                    bins,
                }) => self
                    .on_distribution_answer(
                        &peer,
                        &query,
                        super::research::PeerDistribution {
                            status,
                            answered,
                            bins,
                            at: now(),
                        },
                    )
                    .map_err(FederationError::from),
                _ => Ok(()),
            };
            let attempts = entry.attempts + 1;
            match result {
                Err(e) if attempts < 10 => {
                    tracing::warn!(error = %e, attempts, "a contact message will be retried");
                    entry.attempts = attempts;
                    let value = serde_json::to_string(&entry).unwrap_or(value);
                    if let Err(error) = self.store.set_name(&key, &value) {
                        tracing::error!(%error, "could not count a contact message's attempt");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a contact message failed ten times: dropped");
                    self.store.unset_or_log(&key);
                }
                Ok(()) => {
                    self.store.unset_or_log(&key);
                }
            }
        }
    }

    fn known_terms(&self, op: &Op) -> Result<(), String> {
        if let Op::Upsert(v) = op {
            for t in v.terms.iter().chain(&v.excluded) {
                let known = t
                    .parse::<HpoId>()
                    .ok()
                    .and_then(|id| self.local.ontology.resolve(id))
                    .is_some();
                if !known {
                    return Err(format!("{t} is not a term of this node's HPO release"));
                }
            }
            if let Some(code) = v.orpha
                && u32::try_from(code)
                    .ok()
                    .and_then(|c| {
                        self.local
                            .ontology
                            .disease(raremesh_ontology::OrphaCode::from_number(c))
                    })
                    .is_none()
            {
                return Err(format!("ORPHA:{code} is not a disease this node knows"));
            }
        }
        Ok(())
    }

    /// Applies events, each once by event id, whichever way they came (the homeserver's
    /// push or the node's sync, in any order, any number of times). Protocol events are
    /// accepted only from trusted peers; every event dropped is logged once and counted.
    pub fn receive(self: &Arc<Self>, events: &[Incoming]) -> Result<Received, FederationError> {
        let mut r = Received::default();
        let _guard = self
            .ingest
            .lock()
            .map_err(|_| FederationError::Matrix("the receiving lock was poisoned".into()))?;
        let me = self.config.user_id();
        let mut wake = std::collections::BTreeSet::new();
        for e in events {
            // An event of a room in which a member talks through the account the node
            // manages for them: that account reads it (decrypted), woken below.
            if let Some(v) = self.store.get(Key::ManagedRoom(e.room_id.as_str()))? {
                if let Some((account, _)) = v.split_once(' ') {
                    wake.insert(crate::ids::AccountId::new(account));
                }
                if e.is_encrypted() {
                    // Noted, so that the account reads it even if its own sync never
                    // brings it (a gap, a sync whose events could not all be kept).
                    if let Some(id) = &e.event_id {
                        self.note_managed(id.as_str(), e.room_id.as_str())?;
                    }
                    continue;
                }
            }
            // A trusted peer withdrew or sent again what this node could not read yet.
            if let Some(target) = e.redacts.as_deref().filter(|_| e.is_redaction())
                && self.peer(&self.principal(e.sender.as_str())).is_some()
            {
                self.redacted_undecrypted(target);
            }
            if e.is_encrypted() {
                // Not for the application service: the node's device reads it decrypted,
                // under the same event id, which must not be taken as applied already.
                // Noted, so that the device reads it even if its own syncs never bring it
                // (a walk back through a room's history, a gap in a sync).
                if let Some(id) = &e.event_id
                    && !self.store.applied(id.as_str())?
                {
                    self.note_undecrypted(&e.room_id, id)?;
                }
                continue;
            }
            if let Some(id) = &e.event_id
                && self.store.applied(id.as_str())?
            {
                r.repeated += 1;
                continue;
            }
            if e.sender.as_str() != me {
                r.new += 1;
                self.receive_one(e, &mut r)?;
                self.health.received(e.sender.as_str());
            }
            if let Some(id) = &e.event_id {
                self.store.mark_applied(id.as_str(), now())?;
                if e.state_key.is_none() {
                    self.store
                        .set(Key::LastEvent(e.room_id.as_str()), id.as_str())?;
                }
            }
        }
        for account in &wake {
            self.wake_managed(account);
        }
        if r.stored + r.stale > 0 || !r.dropped.is_empty() {
            tracing::info!(
                stored = r.stored,
                stale = r.stale,
                repeated = r.repeated,
                dropped = r.dropped.len(),
                "federation events applied"
            );
        }
        Ok(r)
    }

    /// Logs, counts and records a dropped event; redacts it when it is in a room this node
    /// owns, so that Matrix apps reading the room do not show it.
    fn drop_event(&self, e: &Incoming, reason: DropReason, why: String, r: &mut Received) {
        dropped(reason, e.sender.as_str(), e.room_id.as_str(), e.id(), &why);
        r.dropped.push(why);
        let room = e.room_id.to_string();
        let owned = self.own_room().ok().flatten().as_deref() == Some(room.as_str())
            || self.own_qa_room().ok().flatten().as_deref() == Some(room.as_str());
        if owned
            && e.is_message()
            && let Some(event) = e.event_id.clone()
        {
            let client = self.client.clone();
            tokio::spawn(async move {
                let txn = format!("drop-{}", event.as_str().trim_start_matches('$'));
                if let Err(err) = client
                    .redact(&room, event.as_str(), &txn, "refused by raremesh")
                    .await
                {
                    tracing::warn!(error = %err, %room, event = %event, "redacting a refused event failed");
                }
            });
        }
    }

    /// An invitation of this node: joined only for the rooms of its trusted peers, by the
    /// room's kind (its `m.room.create` type) and creator; contact rooms are joined when
    /// their answer arrives.
    fn on_invitation(
        self: &Arc<Self>,
        e: &Incoming,
        invite: &Invitation,
        r: &mut Received,
    ) -> Result<(), FederationError> {
        let sender = e.sender.as_str();
        let room = e.room_id.as_str();
        let by_creator = invite.creator.as_ref() == Some(&e.sender);
        let refused = if self.peer(sender).is_none() {
            Some((
                DropReason::Untrusted,
                "an invitation from someone who is not a trusted peer".to_owned(),
            ))
        } else {
            match invite.kind {
                Some(RoomKind::Contact) => None,
                Some(RoomKind::Qa)
                    if by_creator && self.qa_room_owner(room)?.is_some_and(|o| o != sender) =>
                {
                    Some((
                        DropReason::Invitation,
                        "an invitation to another node's Q&A room".to_owned(),
                    ))
                }
                Some(RoomKind::Qa) if by_creator => {
                    self.store.set(Key::PeerQaRoom(sender), room)?;
                    let (f, room) = (self.clone(), room.to_owned());
                    tokio::spawn(async move { f.join_qa_room(&room).await });
                    None
                }
                Some(RoomKind::Federation) if by_creator => {
                    self.store.set(Key::PeerRoom(sender), room)?;
                    self.store.unset(Key::Joined(room))?;
                    let (f, room) = (self.clone(), room.to_owned());
                    tokio::spawn(async move { f.join_peer_room(&room).await });
                    None
                }
                Some(kind) => Some((
                    DropReason::Invitation,
                    format!("an invitation to a {kind} room not created by the inviting peer"),
                )),
                None => Some((
                    DropReason::Invitation,
                    "an invitation to a room that is not a raremesh room (no raremesh m.room.create type)"
                        .to_owned(),
                )),
            }
        };
        if let Some((reason, why)) = refused {
            self.drop_event(e, reason, why, r);
        }
        Ok(())
    }

    fn receive_one(
        self: &Arc<Self>,
        e: &Incoming,
        r: &mut Received,
    ) -> Result<(), FederationError> {
        let me = self.config.user_id();
        let sender = e.sender.as_str();
        let room = e.room_id.as_str();
        let kind = e.kind.as_str();
        if e.membership() == Some("join") {
            let Some(user) = e.state_key.clone() else {
                return Ok(());
            };
            let f = self.clone();
            let room = room.to_owned();
            tokio::spawn(async move {
                if let Err(e) = f.on_member_joined(&room, &user).await {
                    tracing::warn!(error = %e, "leaving a contact room failed");
                }
            });
            return Ok(());
        }
        if let Some(invite) = &e.invite
            && e.state_key.as_deref() == Some(me.as_str())
        {
            return self.on_invitation(e, invite, r);
        }
        if let Some(owner) = self.qa_room_owner(room)? {
            if let Some((reason, why)) = self.receive_qa(&owner, e)? {
                self.drop_event(e, reason, why, r);
            }
            return Ok(());
        }
        let in_own_room = self.own_room()?.as_deref() == Some(room);
        if kind != EVENT_TYPE {
            // Other people's messages in this node's publishing room are not for it.
            if in_own_room && e.is_message() {
                self.drop_event(
                    e,
                    DropReason::Untrusted,
                    format!("a {kind} event in the federation room"),
                    r,
                );
            }
            return Ok(());
        }
        let content = e.content_value();
        let batch = content
            .get("batch")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let Some(peer) = self.peer(sender) else {
            self.drop_event(
                e,
                DropReason::Untrusted,
                format!("batch {batch}: {sender} is not a trusted peer"),
                r,
            );
            return Ok(());
        };
        // Sealed for another peer only (an answer to its request, a contact message):
        // not for this node, and nothing is wrong with it.
        if let Some(to) = content.get("to").and_then(Value::as_str)
            && to != me
        {
            return Ok(());
        }
        let payload = match open(&content, self.keys.identity()) {
            Ok((_, p)) => p,
            Err(err) => {
                self.drop_event(
                    e,
                    reason_of(&err),
                    format!("batch {batch} from {}: {err}", peer.name),
                    r,
                );
                return Ok(());
            }
        };
        let (ops, snapshot) = match payload {
            Payload::Update { ops } => (ops, None),
            Payload::Snapshot {
                request,
                part,
                last,
                as_of,
                ops,
                since,
            } => (ops, Some((request, part, last, as_of, since))),
            p @ (Payload::ContactRequest { .. }
            | Payload::ContactAnswer { .. }
            | Payload::ResearchQuery { .. }
            | Payload::ResearchAnswer { .. }
            | Payload::DistributionQuery { .. }
            | Payload::DistributionAnswer { .. }) => {
                // Stored before the transaction is acknowledged, handled (and retried)
                // from there.
                let entry = InboxEntry {
                    peer: sender.to_owned(),
                    payload: serde_json::to_value(&p).map_err(|e| {
                        FederationError::Matrix(format!("a payload that cannot be kept: {e}"))
                    })?,
                    attempts: 0,
                };
                let value = serde_json::to_string(&entry).map_err(|e| {
                    FederationError::Matrix(format!("an entry that cannot be kept: {e}"))
                })?;
                self.store.set(
                    Key::Inbox {
                        sender,
                        batch: &batch,
                    },
                    &value,
                )?;
                let f = self.clone();
                tokio::spawn(async move { f.process_inbox().await });
                return Ok(());
            }
            Payload::QaResend { room } => {
                let (f, peer) = (self.clone(), sender.to_owned());
                tokio::spawn(async move { f.on_qa_resend(&peer, &room).await });
                return Ok(());
            }
            Payload::SnapshotRequest { request, since } => {
                let (f, requester) = (self.clone(), sender.to_owned());
                let since = since.get(me.as_str()).copied();
                tokio::spawn(async move {
                    if let Err(e) = f.send_snapshot(&request, &requester, since).await {
                        tracing::warn!(error = %e, "answering a snapshot request failed");
                    }
                });
                return Ok(());
            }
        };
        let mut valid = Vec::with_capacity(ops.len());
        for op in &ops {
            if let Err(why) = self.known_terms(op) {
                let why = format!("{} from {}: {why}", op.pseudonym(), peer.name);
                dropped(DropReason::Invalid, sender, room, e.id(), &why);
                r.dropped.push(why);
                continue;
            }
            valid.push(op);
        }
        // A whole snapshot confirms what it holds (the rest is purged once it is all
        // here); changes since a point confirm nothing.
        let confirms = snapshot.as_ref().filter(|s| s.4.is_none()).map(|s| s.3);
        // One durable write for the whole batch.
        for applied in self.store.apply_all(sender, &valid, confirms, now())? {
            match applied {
                Applied::Stored => r.stored += 1,
                Applied::Stale => r.stale += 1,
            }
        }
        if let Some((request, part, last, as_of, since)) = snapshot {
            // The purge needs every part: parts may arrive in any order.
            let kind = Kind::SnapshotParts {
                sender,
                request: &request,
            };
            self.store.set(
                Key::SnapshotPart {
                    sender,
                    request: &request,
                    part,
                },
                if last { "last" } else { "" },
            )?;
            let parts = self.store.scan(kind)?;
            let Some(total) = parts
                .iter()
                .find(|(_, v)| v == "last")
                .and_then(|(k, _)| k.rest(&kind).parse::<u64>().ok())
                .map(|p| p + 1)
            else {
                return Ok(());
            };
            if (parts.len() as u64) < total {
                return Ok(());
            }
            for (k, _) in &parts {
                self.store.unset_name(k)?;
            }
            let full = match since {
                Some(_) => self.store.synced_from(sender)?.map_or(0, |(_, full)| full),
                None => {
                    let purged = self.store.end_snapshot(sender, as_of)?;
                    if purged > 0 {
                        tracing::info!(peer = %peer.name, purged, "vectors no longer published by a peer dropped");
                    }
                    as_of
                }
            };
            // The next request asks this peer for what changed since this answer.
            self.store.set_synced_from(sender, as_of, full)?;
        }
        Ok(())
    }
}
