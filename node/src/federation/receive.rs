//! Receiving: the homeserver's transactions. Protocol events are accepted only from
//! trusted peers, opened with this node's key, checked (form, sizes, HPO ids known to this
//! node's ontology), and applied by revision; anything else is logged with the reason and
//! dropped. Invitations from trusted peers are accepted.

use std::sync::Arc;

use raremesh_bridge::protocol::{EVENT_TYPE, Op, Payload};
use raremesh_bridge::seal::open;
use raremesh_ontology::HpoId;
use serde_json::Value;

use super::store::Applied;
use super::{Federation, FederationError};
use crate::registration::now;
use crate::state::AppState;

/// What one transaction did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Received {
    /// Operations stored.
    pub stored: usize,
    /// Operations ignored as replays or older revisions.
    pub stale: usize,
    /// Events or operations dropped, with the reason.
    pub dropped: Vec<String>,
}

impl Federation {
    /// Handles the contact messages waiting in the inbox, one at a time; a failure is
    /// retried on the next round, up to ten times.
    pub async fn process_inbox(&self, state: &AppState) {
        let _guard = self.inbox.lock().await;
        let Ok(entries) = self.store.scan("inbox:") else {
            return;
        };
        for (key, value) in entries {
            let Ok(mut entry) = serde_json::from_str::<Value>(&value) else {
                let _ = self.store.unset(&key);
                continue;
            };
            let peer = entry["peer"].as_str().unwrap_or_default().to_owned();
            let result = match serde_json::from_value::<Payload>(entry["payload"].clone()) {
                Ok(Payload::ContactRequest { request, from, to }) => {
                    self.on_contact_request(state, &peer, &request, &from, &to)
                        .await
                }
                Ok(Payload::ContactAnswer {
                    request,
                    accepted,
                    room,
                }) => {
                    self.on_contact_answer(state, &peer, &request, accepted, room)
                        .await
                }
                Ok(Payload::ResearchQuery {
                    query,
                    researcher,
                    criteria,
                }) => {
                    self.on_research_query(state, &peer, &query, &researcher, &criteria)
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
                    self.on_distribution_query(
                        state,
                        &peer,
                        &query,
                        &questionnaire,
                        &question,
                        orpha,
                    )
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
            let attempts = entry["attempts"].as_u64().unwrap_or(0) + 1;
            match result {
                Err(e) if attempts < 10 => {
                    tracing::warn!(error = %e, attempts, "a contact message will be retried");
                    entry["attempts"] = attempts.into();
                    let _ = self.store.set(&key, &entry.to_string());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a contact message failed ten times: dropped");
                    let _ = self.store.unset(&key);
                }
                Ok(()) => {
                    let _ = self.store.unset(&key);
                }
            }
        }
    }

    fn known_terms(&self, state: &AppState, op: &Op) -> Result<(), String> {
        if let Op::Upsert(v) = op {
            for t in v.terms.iter().chain(&v.excluded) {
                let known = t
                    .parse::<HpoId>()
                    .ok()
                    .and_then(|id| state.ontology.resolve(id))
                    .is_some();
                if !known {
                    return Err(format!("{t} is not a term of this node's HPO release"));
                }
            }
            if let Some(code) = v.orpha
                && u32::try_from(code)
                    .ok()
                    .and_then(|c| {
                        state
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

    /// Applies the events of one homeserver transaction (each transaction once).
    pub fn receive(
        self: &Arc<Self>,
        state: &AppState,
        txn: &str,
        events: &[Value],
    ) -> Result<Received, FederationError> {
        let mut r = Received::default();
        if self.store.seen(txn)? {
            return Ok(r);
        }
        let me = self.config.user_id();
        for e in events {
            let sender = e.get("sender").and_then(Value::as_str).unwrap_or_default();
            let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
            let room = e.get("room_id").and_then(Value::as_str).unwrap_or_default();
            if sender == me {
                continue;
            }
            let content = e.get("content").cloned().unwrap_or(Value::Null);
            if kind == "m.room.member"
                && content.get("membership").and_then(Value::as_str) == Some("join")
            {
                let user = e
                    .get("state_key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let f = self.clone();
                let room = room.to_owned();
                tokio::spawn(async move {
                    if let Err(e) = f.on_member_joined(&room, &user).await {
                        tracing::warn!(error = %e, "leaving a contact room failed");
                    }
                });
                continue;
            }
            if kind == "m.room.member"
                && e.get("state_key").and_then(Value::as_str) == Some(me.as_str())
                && content.get("membership").and_then(Value::as_str) == Some("invite")
            {
                // Contact rooms are joined when their answer arrives; only federation
                // rooms are joined on invitation.
                let name = e
                    .pointer("/unsigned/invite_room_state")
                    .and_then(Value::as_array)
                    .and_then(|s| {
                        s.iter()
                            .find(|x| x.get("type").and_then(Value::as_str) == Some("m.room.name"))
                    })
                    .and_then(|x| x.pointer("/content/name"))
                    .and_then(Value::as_str);
                if name == Some(super::contact::CONTACT_ROOM_NAME) {
                    continue;
                }
                if name == Some(super::qa::QA_ROOM_NAME) {
                    // Only the room's creator may invite the node to it as its Q&A room,
                    // and a room is one peer's only.
                    let creator = e
                        .pointer("/unsigned/invite_room_state")
                        .and_then(Value::as_array)
                        .and_then(|s| {
                            s.iter().find(|x| {
                                x.get("type").and_then(Value::as_str) == Some("m.room.create")
                            })
                        })
                        .and_then(|x| x.get("sender"))
                        .and_then(Value::as_str);
                    let taken = self.qa_room_owner(room)?.is_some_and(|o| o != sender);
                    if self.peer(sender).is_some() && creator == Some(sender) && !taken {
                        self.store.set(&format!("peer_qa_room:{sender}"), room)?;
                        let f = self.clone();
                        let room = room.to_owned();
                        tokio::spawn(async move { f.join_qa_room(&room).await });
                    } else {
                        r.dropped
                            .push(format!("Q&A room invitation from {sender} ignored"));
                    }
                    continue;
                }
                if self.peer(sender).is_some() {
                    self.store.set(&format!("peer_room:{sender}"), room)?;
                    self.store.unset(&format!("joined:{room}"))?;
                    let f = self.clone();
                    let room = room.to_owned();
                    tokio::spawn(async move { f.join_peer_room(&room).await });
                } else {
                    let why = format!("invitation from {sender}, not a trusted peer, ignored");
                    tracing::warn!("{why}");
                    r.dropped.push(why);
                }
                continue;
            }
            if let Some(owner) = self.qa_room_owner(room)? {
                if let Some(why) = self.receive_qa(state, &owner, e)? {
                    r.dropped.push(why);
                }
                continue;
            }
            if kind != EVENT_TYPE {
                continue;
            }
            let batch = content
                .get("batch")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let Some(peer) = self.peer(sender) else {
                let why = format!("event {batch} from {sender}: not a trusted peer");
                tracing::warn!("dropped {why}");
                r.dropped.push(why);
                continue;
            };
            let payload = match open(&content, self.keys.identity()) {
                Ok((_, p)) => p,
                Err(err) => {
                    let why = format!("event {batch} from {}: {err}", peer.name);
                    tracing::warn!("dropped {why}");
                    r.dropped.push(why);
                    continue;
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
                } => (ops, Some((request, part, last, as_of))),
                p @ (Payload::ContactRequest { .. }
                | Payload::ContactAnswer { .. }
                | Payload::ResearchQuery { .. }
                | Payload::ResearchAnswer { .. }
                | Payload::DistributionQuery { .. }
                | Payload::DistributionAnswer { .. }) => {
                    // Stored before the transaction is acknowledged, handled (and retried)
                    // from there.
                    let entry = serde_json::json!({ "peer": sender, "payload": p, "attempts": 0 });
                    self.store
                        .set(&format!("inbox:{sender}:{batch}"), &entry.to_string())?;
                    let (f, state) = (self.clone(), state.clone());
                    tokio::spawn(async move { f.process_inbox(&state).await });
                    continue;
                }
                Payload::SnapshotRequest { request } => {
                    let f = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = f.send_snapshot(&request).await {
                            tracing::warn!(error = %e, "answering a snapshot request failed");
                        }
                    });
                    continue;
                }
            };
            for op in &ops {
                if let Err(why) = self.known_terms(state, op) {
                    let why = format!("{} from {}: {why}", op.pseudonym(), peer.name);
                    tracing::warn!("dropped {why}");
                    r.dropped.push(why);
                    continue;
                }
                match self
                    .store
                    .apply(sender, op, snapshot.as_ref().map(|s| s.3), now())?
                {
                    Applied::Stored => r.stored += 1,
                    Applied::Stale => r.stale += 1,
                }
            }
            if let Some((request, part, last, as_of)) = snapshot {
                // The purge needs every part: parts may arrive in any order.
                let prefix = format!("snap:{sender}:{request}:");
                self.store
                    .set(&format!("{prefix}{part}"), if last { "last" } else { "" })?;
                let parts = self.store.scan(&prefix)?;
                let Some(total) = parts
                    .iter()
                    .find(|(_, v)| v == "last")
                    .and_then(|(k, _)| k[prefix.len()..].parse::<u64>().ok())
                    .map(|p| p + 1)
                else {
                    continue;
                };
                if (parts.len() as u64) < total {
                    continue;
                }
                for (k, _) in &parts {
                    self.store.unset(k)?;
                }
                let purged = self.store.end_snapshot(sender, as_of)?;
                if purged > 0 {
                    tracing::info!(peer = %peer.name, purged, "vectors no longer published by a peer dropped");
                }
            }
        }
        self.store.mark(txn, now())?;
        if r.stored + r.stale > 0 || !r.dropped.is_empty() {
            tracing::info!(
                txn,
                stored = r.stored,
                stale = r.stale,
                dropped = r.dropped.len(),
                "federation transaction"
            );
        }
        Ok(r)
    }
}
