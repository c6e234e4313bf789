//! Publishing: what the node should share (validated patients of members who consent to
//! federated matching), compared with what it shared, gives the upserts and retractions
//! to send.

use std::collections::HashMap;

use raremesh_bridge::batch::seal_all;
use raremesh_bridge::protocol::{AgeBand, Op, Payload, Vector, random_id};
use sha2::{Digest, Sha256};

use super::store::Published;
use super::{Federation, FederationError};
use crate::clock::now_ms;
use crate::ids::AccountId;
use crate::registration::patient::Diagnosis;

fn content_hash(v: &Vector) -> String {
    let mut v = v.clone();
    v.rev = 0;
    let bytes = serde_json::to_vec(&v).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn current_year() -> u32 {
    u32::from(crate::registration::patient::current_year())
}

impl Federation {
    /// The vectors this node should publish now, by pseudonym.
    pub fn desired(&self) -> Result<HashMap<String, (Vector, String)>, FederationError> {
        let all = self.local.registrations.members()?;
        let members: HashMap<AccountId, crate::registration::Consents> = all
            .into_iter()
            .filter(|m| m.consents.federated_matching && m.consents.terms_version.is_some())
            .map(|m| (m.account_id, m.consents))
            .collect();
        let mut out = HashMap::new();
        for p in self.local.patients.all()? {
            let Some(c) = members.get(&p.account_id) else {
                continue;
            };
            if !p.validation.is_approved() || !p.symptoms.iter().any(|s| s.observed) {
                continue;
            }
            let pseudonym = self.keys.pseudonym(&p.id, p.pseudonym_rotation);
            let v = Vector {
                pseudonym: pseudonym.clone(),
                rev: 0,
                terms: p
                    .symptoms
                    .iter()
                    .filter(|s| s.observed)
                    .map(|s| s.term.to_string())
                    .collect(),
                excluded: p
                    .symptoms
                    .iter()
                    .filter(|s| !s.observed)
                    .map(|s| s.term.to_string())
                    .collect(),
                orpha: match p.diagnosis {
                    Diagnosis::Orpha { code } if c.share_diagnosis => {
                        Some(u64::from(code.number()))
                    }
                    _ => None,
                },
                age_band: c.share_age_band.then(|| {
                    AgeBand::of_age(current_year().saturating_sub(u32::from(p.birth_year)))
                }),
                // With or without a Matrix app: a member without one talks through the
                // account the node manages for them.
                contactable: c.contactable,
            };
            out.insert(pseudonym, (v, format!("{}/{}", p.account_id, p.id)));
        }
        Ok(out)
    }

    /// Sends what changed since the last publication. Returns how many operations.
    pub async fn reconcile(&self, room: &str) -> Result<usize, FederationError> {
        let _guard = self.publishing.lock().await;
        let desired = self.desired()?;
        let published: HashMap<String, Published> = self
            .store
            .published()?
            .into_iter()
            .map(|p| (p.vector.pseudonym.clone(), p))
            .collect();
        let now = now_ms();
        let mut ops = Vec::new();
        let mut records = Vec::new();
        for (pseudonym, (v, patient)) in &desired {
            let hash = content_hash(v);
            let prev = published.get(pseudonym);
            if prev.is_some_and(|p| p.hash == hash) {
                continue;
            }
            let floor = match prev {
                Some(p) => p.rev + 1,
                None => self.store.last_rev(pseudonym)?.map_or(0, |r| r + 1),
            };
            let rev = now.max(floor);
            let v = Vector { rev, ..v.clone() };
            records.push(Published {
                rev,
                hash,
                vector: v.clone(),
                patient: patient.clone(),
            });
            ops.push(Op::Upsert(v));
        }
        let mut gone = Vec::new();
        let mut retracted = HashMap::new();
        for (pseudonym, p) in &published {
            if !desired.contains_key(pseudonym) {
                let op = Op::Retract {
                    pseudonym: pseudonym.clone(),
                    rev: now.max(p.rev + 1),
                };
                retracted.insert(pseudonym.clone(), op.clone());
                ops.push(op);
                gone.push(pseudonym.clone());
            }
        }
        if ops.is_empty() {
            return Ok(0);
        }
        let n = ops.len();
        let events = seal_all(ops, &self.recipients, |ops, _, _| Payload::Update { ops })?;
        for content in &events {
            self.client.send_batch(room, content).await?;
            self.health.sent();
        }
        for r in &records {
            self.store.set_published(r)?;
        }
        for p in &gone {
            // Remember the retraction's revision: a later publication must be newer.
            if let Some(Op::Retract { rev, .. }) = retracted.get(p) {
                self.store.set_last_rev(p, *rev)?;
            }
            self.store.unpublish(p)?;
        }
        tracing::info!(operations = n, events = events.len(), "vectors published");
        Ok(n)
    }

    /// Asks every peer for everything it publishes (after a start, or on joining).
    pub async fn request_snapshot(&self, room: &str) -> Result<(), FederationError> {
        if self.recipients.is_empty() {
            return Ok(());
        }
        let request = random_id()?;
        let events = seal_all(Vec::new(), &self.recipients, |_, _, _| {
            Payload::SnapshotRequest {
                request: request.clone(),
            }
        })?;
        for content in &events {
            self.client.send_batch(room, content).await?;
            self.health.sent();
        }
        Ok(())
    }

    /// Answers a snapshot request with everything this node publishes.
    pub async fn send_snapshot(&self, request: &str) -> Result<(), FederationError> {
        let Some(room) = self.own_room()? else {
            return Ok(());
        };
        let _guard = self.publishing.lock().await;
        let as_of = now_ms();
        let ops: Vec<Op> = self
            .store
            .published()?
            .into_iter()
            .map(|p| Op::Upsert(p.vector))
            .collect();
        let events = seal_all(ops, &self.recipients, |ops, part, last| Payload::Snapshot {
            request: request.to_owned(),
            part: part as u64,
            last,
            as_of,
            ops,
        })?;
        for content in &events {
            self.client.send_batch(&room, content).await?;
            self.health.sent();
        }
        Ok(())
    }
}
