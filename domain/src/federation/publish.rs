//! Publishing: what the node should share (validated patients of members who consent to
//! federated matching), compared with what it shared, gives the upserts and retractions
//! to send.

use std::collections::{BTreeMap, HashMap};

use raremesh_bridge::batch::seal_all;
use raremesh_bridge::protocol::{AgeBand, Op, Payload, Vector, random_id};
use raremesh_bridge::seal::addressed;
use sha2::{Digest, Sha256};

use super::state::Key;
use super::store::Published;
use super::{Federation, FederationError};
use crate::clock::now_ms;
use crate::ids::AccountId;
use crate::registration::patient::Diagnosis;

/// A peer's whole snapshot is asked for again after this long, so that what it stopped
/// publishing without a retraction this node saw (it was restored from an older backup,
/// say) is dropped here too.
pub const FULL_EVERY_MS: u64 = 7 * 24 * 3600 * 1000;

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
        let now = self.next_tick()?;
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
        self.store.set(Key::Clock, &now.to_string())?;
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

    /// Asks every peer for what it publishes: what changed since the last answer
    /// received whole from it, or everything if there was none (a new peer, a lost
    /// database) or the last whole snapshot from it is older than [`FULL_EVERY_MS`]. Each
    /// peer answers this node only, and only if something changed, so a round of resyncs
    /// costs every node one request, and an answer per peer as large as what changed.
    pub async fn request_snapshot(&self, room: &str) -> Result<(), FederationError> {
        if self.recipients.is_empty() {
            return Ok(());
        }
        let request = random_id()?;
        let now = now_ms();
        let mut since = BTreeMap::new();
        for peer in self.peers.keys() {
            if let Some((as_of, full)) = self.store.synced_from(peer)?
                && now.saturating_sub(full) < FULL_EVERY_MS
            {
                since.insert(peer.clone(), as_of);
            }
        }
        let events = seal_all(Vec::new(), &self.recipients, |_, _, _| {
            Payload::SnapshotRequest {
                request: request.clone(),
                since: since.clone(),
            }
        })?;
        for content in &events {
            self.client.send_batch(room, content).await?;
            self.health.sent();
        }
        Ok(())
    }

    /// Answers `requester`'s snapshot request (sealed for it alone): everything this node
    /// publishes, or, `since` a point (an earlier answer's `as_of`), what changed after it:
    /// vectors published or changed, and retractions. Revisions and `as_of` come from
    /// [`Self::tick`], so whatever is published after an answer has a revision above it.
    pub async fn send_snapshot(
        &self,
        request: &str,
        requester: &str,
        since: Option<u64>,
    ) -> Result<(), FederationError> {
        let Some(room) = self.own_room()? else {
            return Ok(());
        };
        let Some(key) = self.recipient_of(requester)? else {
            return Ok(());
        };
        let _guard = self.publishing.lock().await;
        let as_of = self.tick()?;
        let from = since.map(|s| s.saturating_add(1));
        let published = self.store.published()?;
        let mut ops: Vec<Op> = Vec::new();
        if let Some(from) = from {
            let live: std::collections::HashSet<&str> = published
                .iter()
                .map(|p| p.vector.pseudonym.as_str())
                .collect();
            for (pseudonym, rev) in self.store.retracted_since(from)? {
                if !live.contains(pseudonym.as_str()) {
                    ops.push(Op::Retract { pseudonym, rev });
                }
            }
        }
        ops.extend(
            published
                .into_iter()
                .filter(|p| from.is_none_or(|from| p.rev >= from))
                .map(|p| Op::Upsert(p.vector)),
        );
        if since.is_some() && ops.is_empty() {
            // Nothing changed: no answer. The requester keeps its point and asks from it
            // again next time, so a quiet federation costs one request per node a round.
            return Ok(());
        }
        let events = seal_all(ops, &[key], |ops, part, last| Payload::Snapshot {
            request: request.to_owned(),
            part: part as u64,
            last,
            as_of,
            ops,
            since,
        })?;
        for content in events {
            let content = addressed(content, requester)?;
            self.client.send_batch(&room, &content).await?;
            self.health.sent();
        }
        Ok(())
    }

    /// The publishing clock (call with `publishing` held): the time in milliseconds, but
    /// always above every value it gave before, even if the system clock stepped back.
    fn tick(&self) -> Result<u64, FederationError> {
        let now = self.next_tick()?;
        self.store.set(Key::Clock, &now.to_string())?;
        Ok(now)
    }

    /// What [`Self::tick`] would give, without taking it.
    fn next_tick(&self) -> Result<u64, FederationError> {
        let last = self
            .store
            .get(Key::Clock)?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(now_ms().max(last + 1))
    }

    /// The key to seal for one peer, if it is one.
    pub(super) fn recipient_of(
        &self,
        peer: &str,
    ) -> Result<Option<age::x25519::Recipient>, FederationError> {
        let Some(p) = self.peer(peer) else {
            return Ok(None);
        };
        p.age_key
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| FederationError::Keys(format!("{}: bad age key", p.user_id)))
    }
}
