//! What the federation keeps in the database: vectors received from peers (with
//! tombstones for retractions), what this node published, its own state, and the
//! Matrix events already applied.

use std::sync::Arc;

use raremesh_bridge::protocol::{Op, Vector};
use serde::{Deserialize, Serialize};

use super::state::{Key, Kind, Name, QaTarget};
use crate::store::{Changes, KvStore, Record, StoreError, Tree, decode, encode};

/// A vector received from a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteVector {
    /// The peer node's Matrix user id.
    pub peer: String,
    /// The vector (its terms are empty once retracted).
    pub vector: Vector,
    /// Retracted: kept only to refuse older revisions.
    pub retracted: bool,
    /// The latest snapshot (its `as_of`) that confirmed this revision; 0 if none.
    #[serde(default)]
    pub confirmed_as_of: u64,
    /// When it arrived (Unix seconds).
    pub received_at: u64,
}

impl Record for RemoteVector {
    const TREE: Tree = Tree::RemoteVectors;
    const VERSION: u32 = 1;
}

/// What this node last published under a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The revision sent.
    pub rev: u64,
    /// SHA-256 of the vector's content (without the revision), hex.
    pub hash: String,
    /// The vector sent (for snapshots).
    pub vector: Vector,
    /// The local patient (`<account id>/<patient id>`; never sent).
    #[serde(default)]
    pub patient: String,
}

impl Record for Published {
    const TREE: Tree = Tree::Published;
    const VERSION: u32 = 1;
}

/// What applying an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored (new, changed or retracted).
    Stored,
    /// Ignored: the node holds this revision or a newer one (a replay or a late copy).
    Stale,
}

/// The federation's storage.
#[derive(Debug, Clone)]
pub struct FederationStore {
    kv: Arc<dyn KvStore>,
    changes: Changes,
}

fn key(peer: &str, pseudonym: &str) -> Vec<u8> {
    format!("{peer} {pseudonym}").into_bytes()
}

impl FederationStore {
    /// The store in `kv`; changes to received vectors bump `changes`.
    pub fn new(kv: Arc<dyn KvStore>, changes: Changes) -> Self {
        Self { kv, changes }
    }

    /// The node's change counter (bumped by received vectors, patients and members).
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The database (for the contact records).
    pub fn kv(&self) -> &Arc<dyn KvStore> {
        &self.kv
    }

    /// Applies one checked operation from `peer`: only a newer revision replaces what is
    /// held.
    pub fn apply(
        &self,
        peer: &str,
        op: &Op,
        snapshot_as_of: Option<u64>,
        now: u64,
    ) -> Result<Applied, StoreError> {
        Ok(self
            .apply_all(peer, &[op], snapshot_as_of, now)?
            .pop()
            .unwrap_or(Applied::Stale))
    }

    /// [`Self::apply`] for every operation of one batch, written at once (one durable
    /// write, not one per operation), in order: a later operation on the same pseudonym
    /// sees what an earlier one stored.
    pub fn apply_all(
        &self,
        peer: &str,
        ops: &[&Op],
        snapshot_as_of: Option<u64>,
        now: u64,
    ) -> Result<Vec<Applied>, StoreError> {
        let mut pending: std::collections::HashMap<Vec<u8>, RemoteVector> =
            std::collections::HashMap::new();
        let mut batch = crate::store::Batch::new();
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let k = key(peer, op.pseudonym());
            let held = match pending.get(&k) {
                Some(r) => Some(r.clone()),
                None => self
                    .kv
                    .get(Tree::RemoteVectors, &k)?
                    .map(|b| decode::<RemoteVector>(&b))
                    .transpose()?,
            };
            let (applied, record) = Self::outcome(peer, op, held, snapshot_as_of, now);
            if let Some(r) = record {
                batch.put_raw(Tree::RemoteVectors, k.clone(), encode(&r));
                pending.insert(k, r);
            }
            out.push(applied);
        }
        if !batch.is_empty() {
            self.kv.apply(&batch)?;
            if out.contains(&Applied::Stored) {
                self.changes.bump();
            }
        }
        Ok(out)
    }

    /// What applying `op` over `held` gives, and the record to write, if any.
    fn outcome(
        peer: &str,
        op: &Op,
        held: Option<RemoteVector>,
        snapshot_as_of: Option<u64>,
        now: u64,
    ) -> (Applied, Option<RemoteVector>) {
        if let Some(h) = held
            && op.rev() <= h.vector.rev
        {
            if let Some(as_of) = snapshot_as_of
                && op.rev() == h.vector.rev
                && !h.retracted
                && as_of > h.confirmed_as_of
            {
                let mut h = h;
                h.confirmed_as_of = as_of;
                return (Applied::Stale, Some(h));
            }
            return (Applied::Stale, None);
        }
        let record = match op {
            Op::Upsert(v) => RemoteVector {
                peer: peer.to_owned(),
                vector: v.clone(),
                retracted: false,
                confirmed_as_of: snapshot_as_of.unwrap_or(0),
                received_at: now,
            },
            Op::Retract { pseudonym, rev } => RemoteVector {
                peer: peer.to_owned(),
                vector: Vector {
                    pseudonym: pseudonym.clone(),
                    rev: *rev,
                    terms: Vec::new(),
                    excluded: Vec::new(),
                    orpha: None,
                    age_band: None,
                    contactable: false,
                },
                retracted: true,
                confirmed_as_of: 0,
                received_at: now,
            },
        };
        (Applied::Stored, Some(record))
    }

    /// After every part of a snapshot arrived: drops the peer's vectors that neither this
    /// snapshot nor a later one confirmed and that are older than it. Returns how many.
    pub fn end_snapshot(&self, peer: &str, as_of: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        for (k, v) in self
            .kv
            .scan_prefix(Tree::RemoteVectors, format!("{peer} ").as_bytes())?
        {
            let r: RemoteVector = decode(&v)?;
            if !r.retracted && r.confirmed_as_of < as_of && r.vector.rev < as_of {
                self.kv.remove(Tree::RemoteVectors, &k)?;
                n += 1;
            }
        }
        if n > 0 {
            self.changes.bump();
        }
        Ok(n)
    }

    /// Every live vector received (retractions left out).
    pub fn remote_all(&self) -> Result<Vec<RemoteVector>, StoreError> {
        let mut out = Vec::new();
        for (_, v) in self.kv.scan_prefix(Tree::RemoteVectors, b"")? {
            let r: RemoteVector = decode(&v)?;
            if !r.retracted {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Every live vector received, one at a time (retractions left out), without holding
    /// them all.
    pub fn for_each_remote(
        &self,
        mut f: impl FnMut(RemoteVector) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.kv.visit_prefix(Tree::RemoteVectors, b"", &mut |_, v| {
            let r: RemoteVector = decode(v)?;
            if r.retracted { Ok(()) } else { f(r) }
        })
    }

    /// Erases everything received from a peer (removed from config). Returns how many.
    pub fn purge_peer(&self, peer: &str) -> Result<usize, StoreError> {
        let all = self
            .kv
            .scan_prefix(Tree::RemoteVectors, format!("{peer} ").as_bytes())?;
        for (k, _) in &all {
            self.kv.remove(Tree::RemoteVectors, k)?;
        }
        // Should it become a peer again, it is asked for everything.
        self.unset(Key::SyncedFrom(peer))?;
        if !all.is_empty() {
            self.changes.bump();
        }
        Ok(all.len())
    }

    /// The peers some vector was received from.
    pub fn remote_peers(&self) -> Result<Vec<String>, StoreError> {
        let mut peers: Vec<String> = self
            .kv
            .scan_prefix(Tree::RemoteVectors, b"")?
            .iter()
            .filter_map(|(k, _)| {
                String::from_utf8_lossy(k)
                    .split_once(' ')
                    .map(|(p, _)| p.to_owned())
            })
            .collect();
        peers.dedup();
        Ok(peers)
    }

    /// Everything this node published, by pseudonym.
    pub fn published(&self) -> Result<Vec<Published>, StoreError> {
        self.kv
            .scan_prefix(Tree::Published, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// What was published under a pseudonym.
    pub fn published_as(&self, pseudonym: &str) -> Result<Option<Published>, StoreError> {
        self.kv
            .get(Tree::Published, pseudonym.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// A vector held from a peer (live or retracted).
    pub fn remote(&self, peer: &str, pseudonym: &str) -> Result<Option<RemoteVector>, StoreError> {
        self.kv
            .get(Tree::RemoteVectors, &key(peer, pseudonym))?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Records a publication.
    pub fn set_published(&self, p: &Published) -> Result<(), StoreError> {
        self.kv
            .put(Tree::Published, p.vector.pseudonym.as_bytes(), &encode(p))
    }

    /// Forgets a publication (after its retraction was sent).
    pub fn unpublish(&self, pseudonym: &str) -> Result<(), StoreError> {
        self.kv
            .remove(Tree::Published, pseudonym.as_bytes())
            .map(|_| ())
    }

    /// A value of the federation's own state.
    pub fn get(&self, key: Key<'_>) -> Result<Option<String>, StoreError> {
        Ok(self
            .kv
            .get(Tree::FederationState, key.to_string().as_bytes())?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Sets a value of the federation's own state.
    pub fn set(&self, key: Key<'_>, value: &str) -> Result<(), StoreError> {
        self.kv.put(
            Tree::FederationState,
            key.to_string().as_bytes(),
            value.as_bytes(),
        )
    }

    /// Whether a flag ([`Key::Invited`], [`Key::Joined`], [`Key::ContactRoom`]...) is set.
    pub fn flagged(&self, key: Key<'_>) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets a flag.
    pub fn flag(&self, key: Key<'_>) -> Result<(), StoreError> {
        self.set(key, "1")
    }

    /// Adds the setting of a flag to `batch`.
    pub fn flag_in(&self, batch: &mut crate::store::Batch, key: Key<'_>) {
        self.set_in(batch, key, "1");
    }

    /// What a Q&A event is on this node, if it is known.
    pub fn qa_event(&self, event: &str) -> Result<Option<QaTarget>, StoreError> {
        Ok(self
            .get(Key::QaEvent(event))?
            .and_then(|v| QaTarget::decode(&v)))
    }

    /// Remembers what a Q&A event is.
    pub fn set_qa_event(&self, event: &str, target: &QaTarget) -> Result<(), StoreError> {
        self.set(Key::QaEvent(event), &target.encode())
    }

    /// Adds remembering what a Q&A event is to `batch`.
    pub fn set_qa_event_in(&self, batch: &mut crate::store::Batch, event: &str, target: &QaTarget) {
        self.set_in(batch, Key::QaEvent(event), &target.encode());
    }

    /// The last revision published under `pseudonym`, if one was retracted.
    pub fn last_rev(&self, pseudonym: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .get(Key::LastRev(pseudonym))?
            .and_then(|r| r.parse().ok()))
    }

    /// Pseudonyms this node retracted and their retractions' revisions, from `from` on.
    pub fn retracted_since(&self, from: u64) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self
            .scan(Kind::LastRev)?
            .into_iter()
            .filter_map(|(name, rev)| {
                let rev: u64 = rev.parse().ok()?;
                (rev >= from).then(|| (name.rest(&Kind::LastRev).to_owned(), rev))
            })
            .collect())
    }

    /// The point of the last answer received whole from `peer`, and of its last whole
    /// snapshot (see [`Key::SyncedFrom`]).
    pub fn synced_from(&self, peer: &str) -> Result<Option<(u64, u64)>, StoreError> {
        Ok(self.get(Key::SyncedFrom(peer))?.and_then(|v| {
            let (a, f) = v.split_once(' ')?;
            Some((a.parse().ok()?, f.parse().ok()?))
        }))
    }

    /// Records an answer received whole from `peer`.
    pub fn set_synced_from(&self, peer: &str, as_of: u64, full: u64) -> Result<(), StoreError> {
        self.set(Key::SyncedFrom(peer), &format!("{as_of} {full}"))
    }

    /// Remembers the last revision published under `pseudonym`.
    pub fn set_last_rev(&self, pseudonym: &str, rev: u64) -> Result<(), StoreError> {
        self.set(Key::LastRev(pseudonym), &rev.to_string())
    }

    /// Adds the setting of a value of the federation's own state to `batch`.
    pub fn set_in(&self, batch: &mut crate::store::Batch, key: Key<'_>, value: &str) {
        batch.put_raw(Tree::FederationState, key.to_string(), value);
    }

    /// Removes a queue entry that is done with; should the database fail, says so in the
    /// log (the entry is then tried again, and what it sends is idempotent).
    pub fn unset_or_log(&self, name: &Name) {
        if let Err(error) = self.unset_name(name) {
            tracing::error!(%error, "could not remove a settled queue entry; it will run again");
        }
    }

    /// Removes a value of the federation's own state.
    pub fn unset(&self, key: Key<'_>) -> Result<(), StoreError> {
        self.kv
            .remove(Tree::FederationState, key.to_string().as_bytes())
            .map(|_| ())
    }

    /// Removes an entry a listing found.
    pub fn unset_name(&self, name: &Name) -> Result<(), StoreError> {
        self.kv
            .remove(Tree::FederationState, name.0.as_bytes())
            .map(|_| ())
    }

    /// Sets the value of an entry a listing found.
    pub fn set_name(&self, name: &Name, value: &str) -> Result<(), StoreError> {
        self.kv
            .put(Tree::FederationState, name.0.as_bytes(), value.as_bytes())
    }

    /// Every value of one kind, in name order.
    pub fn scan(&self, kind: Kind<'_>) -> Result<Vec<(Name, String)>, StoreError> {
        Ok(self
            .kv
            .scan_prefix(Tree::FederationState, kind.prefix().as_bytes())?
            .into_iter()
            .map(|(k, v)| {
                (
                    Name(String::from_utf8_lossy(&k).into_owned()),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect())
    }

    /// Whether a Matrix event was applied already.
    pub fn applied(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .kv
            .get(Tree::AppliedEvents, event_id.as_bytes())?
            .is_some())
    }

    /// Records that an event was applied (after applying it: applying twice is harmless,
    /// losing one is not).
    pub fn mark_applied(&self, event_id: &str, now: u64) -> Result<(), StoreError> {
        self.kv.put(
            Tree::AppliedEvents,
            event_id.as_bytes(),
            now.to_string().as_bytes(),
        )
    }

    /// Forgets applied events older than `before` (Unix seconds); how many.
    pub fn prune_applied(&self, before: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        for (k, v) in self.kv.scan_prefix(Tree::AppliedEvents, b"")? {
            let at = std::str::from_utf8(&v)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0);
            if at < before {
                self.kv.remove(Tree::AppliedEvents, &k)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vector(pseudonym: &str, rev: u64, term: &str) -> Op {
        Op::Upsert(Vector {
            pseudonym: pseudonym.to_owned(),
            rev,
            terms: vec![term.to_owned()],
            excluded: Vec::new(),
            orpha: None,
            age_band: None,
            contactable: false,
        })
    }

    #[test]
    fn a_batch_applies_in_order_as_one_write_and_keeps_the_newest() {
        let changes = Changes::default();
        let store =
            FederationStore::new(Arc::new(crate::store::MemoryStore::new()), changes.clone());
        let first = vector("p1", 5, "HP:0001250");
        store.apply("@n:b", &first, None, 1).unwrap();
        let before = changes.get();
        let newer = vector("p1", 7, "HP:0001263");
        let older = vector("p1", 6, "HP:0000252");
        let retract = Op::Retract {
            pseudonym: "p2".into(),
            rev: 3,
        };
        let again = vector("p2", 2, "HP:0001250");
        let got = store
            .apply_all("@n:b", &[&newer, &older, &retract, &again], None, 2)
            .unwrap();
        // The older revision after a newer one in the same batch is stale; so is an
        // upsert older than a retraction earlier in the batch.
        assert_eq!(
            got,
            vec![
                Applied::Stored,
                Applied::Stale,
                Applied::Stored,
                Applied::Stale
            ]
        );
        let p1 = store.remote("@n:b", "p1").unwrap().unwrap();
        assert_eq!(
            (p1.vector.rev, p1.vector.terms.clone()),
            (7, vec!["HP:0001263".to_owned()])
        );
        assert!(store.remote("@n:b", "p2").unwrap().unwrap().retracted);
        assert_eq!(changes.get(), before + 1, "one change for the whole batch");
        // A batch of stale operations changes nothing.
        let got = store.apply_all("@n:b", &[&older], None, 3).unwrap();
        assert_eq!(got, vec![Applied::Stale]);
        assert_eq!(changes.get(), before + 1);
    }
}
