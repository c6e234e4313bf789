//! "People like me" on one node: the validated patients of other members who agreed to be
//! shown, ranked by the matching engine against one of the member's own patients.
//!
//! The candidate pool is built from the database once and kept until a patient or member
//! record changes ([`crate::store::Changes`]); ranking it is a fraction of a millisecond
//! per thousand patients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use raremesh_ontology::{Ontology, OrphaCode};
use raremesh_search::matching::{CandidateSet, IcTable, Matcher, Measure, Profile, explain};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::AccountId;
use crate::registration::Registrations;
use crate::registration::patient::{Diagnosis, Patient, Patients};
use crate::store::{Changes, StoreError};

/// How many similar patients a page shows.
pub const SHOWN: usize = 10;
/// How many symptom pairs explain one match.
pub const EXPLAINED: usize = 5;

/// One similar patient, as another member may see it: no name, no birth year, no
/// free text.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SimilarPatient {
    /// A stable label derived from the patient's random id ("Patient 3F2A1C").
    pub pseudonym: String,
    /// Similarity, 0 to 100.
    pub score: u32,
    /// The ORPHA diagnosis, if the patient has one (code and name) and, for a patient of
    /// a partner organization, its member chose to share it.
    pub disease: Option<(OrphaCode, String)>,
    /// The decade of birth ("2010s"), for a patient of this organization.
    pub born: Option<String>,
    /// The age band ("6-11"), for a patient of a partner organization whose member chose
    /// to share it.
    pub age_band: Option<String>,
    /// The partner organization, for a patient of another node (None: this one).
    pub organization: Option<String>,
    /// For a patient of another node: the node's Matrix user id and the full pseudonym
    /// (to ask for contact), and whether its member accepts contact requests.
    pub peer: Option<(String, String)>,
    /// Whether the member behind this patient accepts contact requests.
    pub contactable: bool,
    /// For a patient of this organization: the handle a contact request names it by
    /// ([`crate::messages::handle`]: not its id).
    pub local: Option<String>,
    /// New or notably better since the member last looked (when they asked for notices).
    pub new: bool,
    /// The symptoms that make them similar, best first.
    pub shared: Vec<SharedSymptom>,
}

/// One of "your" symptoms, the other patient's closest one, and what they have in common.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SharedSymptom {
    /// Your patient's symptom.
    pub yours: String,
    /// Theirs.
    pub theirs: String,
    /// What the two share (the same as both when identical).
    pub common: String,
}

/// The pseudonym other members see for a patient.
pub fn pseudonym(patient_id: &str) -> String {
    let h = Sha256::digest(format!("raremesh-local-pseudonym:{patient_id}").as_bytes());
    format!("Patient {:02X}{:02X}{:02X}", h[0], h[1], h[2])
}

/// One patient of the pool, as little as showing it needs (a pool may hold hundreds of
/// thousands of partners' patients): the strings shown are made for the few on a page.
struct Entry {
    disease: Option<OrphaCode>,
    contactable: bool,
    who: Who,
}

enum Who {
    /// A patient of this node.
    Local(Box<Local>),
    /// A patient of a partner organization.
    Remote {
        /// Its place in [`Pool::peers`].
        peer: u32,
        /// The pseudonym's 32 hex digits, as a number (no allocation per patient).
        pseudonym: u128,
        age_band: Option<raremesh_bridge::protocol::AgeBand>,
    },
}

struct Local {
    account_id: AccountId,
    /// The patient's contact handle.
    handle: String,
    pseudonym: String,
    born: String,
}

impl Entry {
    fn account_id(&self) -> Option<&str> {
        match &self.who {
            Who::Local(l) => Some(l.account_id.as_str()),
            Who::Remote { .. } => None,
        }
    }
}

struct Pool {
    built_at: u64,
    candidates: CandidateSet,
    entries: Vec<Entry>,
    /// The partners the remote entries come from: user id and organization name.
    peers: Vec<(String, String)>,
}

/// The most rankings kept (one per patient and page size).
const CACHED_RANKINGS: usize = 20_000;

/// Rankings made since the data last changed: (patient id, k) → the ranking.
#[derive(Default)]
struct Rankings {
    /// The change count they were made at.
    generation: u64,
    by_patient: HashMap<(String, usize, u64), Arc<Vec<SimilarPatient>>>,
}

/// A digest of what ranking reads of a patient.
fn fingerprint(p: &Patient) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&(&p.symptoms, &p.diagnosis, &p.account_id))
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

/// The local matcher: what it ranks, its cached candidate pool, and the rankings made
/// since the last change (any change to patients, consents or received vectors makes
/// both again).
pub struct Similar {
    sources: Arc<Sources>,
    pool: Arc<Mutex<Option<Arc<Pool>>>>,
    /// A pool is being rebuilt in the background.
    rebuilding: Arc<std::sync::atomic::AtomicBool>,
    rankings: Mutex<Rankings>,
}

/// From this many patients in the pool, a change does not make pages wait for the pool
/// to be built again (seconds for hundreds of thousands of partners' patients): they use
/// the previous pool while one thread builds the next.
const REBUILD_IN_BACKGROUND_FROM: usize = 50_000;

impl std::fmt::Debug for Similar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Similar").finish_non_exhaustive()
    }
}

/// What ranking reads.
pub struct Sources {
    /// The ontology.
    pub ontology: Arc<Ontology>,
    /// Its information content.
    pub ic: Arc<IcTable>,
    /// The patients.
    pub patients: Patients,
    /// The members (for their consents).
    pub registrations: Registrations,
    /// The change counter of both.
    pub changes: Changes,
    /// Vectors received from partner organizations, when federation runs.
    pub federation: Option<Arc<crate::federation::Federation>>,
}

impl Similar {
    /// Ranks what `sources` hold.
    pub fn new(sources: Sources) -> Self {
        Self {
            sources: Arc::new(sources),
            pool: Arc::new(Mutex::new(None)),
            rebuilding: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            rankings: Mutex::new(Rankings::default()),
        }
    }

    /// The pool as of the last change; for a large pool, the previous one while the next
    /// is built in the background (see [`REBUILD_IN_BACKGROUND_FROM`]).
    fn pool(&self) -> Result<Arc<Pool>, StoreError> {
        use std::sync::atomic::Ordering;
        let now = self.sources.changes.get();
        let current = self.pool.lock().ok().and_then(|g| g.clone());
        if let Some(p) = &current
            && p.built_at == now
        {
            return Ok(p.clone());
        }
        if let Some(p) = &current
            && p.entries.len() >= REBUILD_IN_BACKGROUND_FROM
        {
            if !self.rebuilding.swap(true, Ordering::SeqCst) {
                let (src, slot, flag, expected) = (
                    self.sources.clone(),
                    self.pool.clone(),
                    self.rebuilding.clone(),
                    p.entries.len(),
                );
                std::thread::spawn(move || {
                    match build_pool(&src, expected) {
                        Ok(p) => {
                            if let Ok(mut g) = slot.lock() {
                                *g = Some(Arc::new(p));
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "rebuilding the matching pool failed"),
                    }
                    flag.store(false, Ordering::SeqCst);
                });
            }
            return Ok(p.clone());
        }
        let expected = current.as_ref().map_or(0, |p| p.entries.len());
        let pool = Arc::new(build_pool(&self.sources, expected)?);
        if let Ok(mut guard) = self.pool.lock() {
            *guard = Some(pool.clone());
        }
        Ok(pool)
    }
}

/// Every patient the pool ranks: this node's validated patients whose members take part,
/// and the partners' vectors, read one at a time.
///
/// `expected`: about how many there will be (the previous pool's size), so that the
/// arrays are made once at their size rather than grown by doubling (a transient copy of
/// each).
fn build_pool(src: &Sources, expected: usize) -> Result<Pool, StoreError> {
    let now = src.changes.get();
    // The members shown, and whether each accepts contact requests.
    let shown: HashMap<AccountId, bool> = src
        .registrations
        .members()?
        .into_iter()
        .filter(|m| m.consents.local_matching && m.consents.terms_version.is_some())
        .map(|m| (m.account_id, m.consents.contactable))
        .collect();
    let expected = expected + expected / 64;
    let mut pool = Pool {
        built_at: now,
        candidates: CandidateSet::with_capacity(expected, 10),
        entries: Vec::with_capacity(expected),
        peers: Vec::new(),
    };
    for p in src.patients.all()? {
        let Some(&contactable) = shown.get(&p.account_id) else {
            continue;
        };
        if !p.validation.is_approved() {
            continue;
        }
        if let Some(profile) = p.profile(&src.ontology) {
            pool.candidates.push(&profile);
            pool.entries.push(Entry {
                disease: match p.diagnosis {
                    Diagnosis::Orpha { code } => Some(code),
                    _ => None,
                },
                contactable,
                who: Who::Local(Box::new(Local {
                    handle: crate::messages::handle(&p.id),
                    account_id: p.account_id,
                    pseudonym: pseudonym(&p.id),
                    born: format!("{}s", p.birth_year / 10 * 10),
                })),
            });
        }
    }
    if let Some(f) = &src.federation {
        // Read one at a time: a node may hold hundreds of thousands.
        let mut peer_of: HashMap<String, u32> = HashMap::new();
        let mut ids = Vec::new();
        let mut excluded = Vec::new();
        f.store.for_each_remote(|r| {
            let Some(peer) = f.peer(&r.peer) else {
                return Ok(());
            };
            let parse = |v: &[String], out: &mut Vec<raremesh_ontology::HpoId>| {
                out.clear();
                out.extend(
                    v.iter()
                        .filter_map(|t| t.parse::<raremesh_ontology::HpoId>().ok()),
                );
            };
            parse(&r.vector.terms, &mut ids);
            parse(&r.vector.excluded, &mut excluded);
            let disease = r
                .vector
                .orpha
                .and_then(|c| u32::try_from(c).ok())
                .map(OrphaCode::from_number);
            let Ok(profile) = Profile::new(&src.ontology, &ids, &excluded, disease) else {
                return Ok(());
            };
            // Checked on receipt: 32 lowercase hex digits.
            let Ok(pseudonym) = u128::from_str_radix(&r.vector.pseudonym, 16) else {
                return Ok(());
            };
            let index = match peer_of.get(&r.peer) {
                Some(&i) => i,
                None => {
                    let i = pool.peers.len() as u32;
                    pool.peers.push((r.peer.clone(), peer.name.clone()));
                    peer_of.insert(r.peer.clone(), i);
                    i
                }
            };
            pool.candidates.push(&profile);
            pool.entries.push(Entry {
                disease,
                contactable: r.vector.contactable,
                who: Who::Remote {
                    peer: index,
                    pseudonym,
                    age_band: r.vector.age_band,
                },
            });
            Ok(())
        })?;
    }
    Ok(pool)
}

impl Similar {
    /// The patients of other members most similar to `own` (which must be validated and
    /// have an observed symptom; otherwise nothing), best first. Made once per patient
    /// and `k` until something changes.
    pub fn find(&self, own: &Patient, k: usize) -> Result<Vec<SimilarPatient>, StoreError> {
        if !own.validation.is_approved() {
            return Ok(Vec::new());
        }
        // Rankings are kept per pool: a change makes a new pool, and with it new rankings.
        let pool = self.pool()?;
        let generation = pool.built_at;
        // The patient as given, too: a copy read before a change is not ranked under the
        // new count.
        let key = (own.id.to_string(), k, fingerprint(own));
        if let Ok(r) = self.rankings.lock()
            && r.generation == generation
            && let Some(found) = r.by_patient.get(&key)
        {
            return Ok(found.as_ref().clone());
        }
        let found = self.rank(own, k, &pool)?;
        if let Ok(mut r) = self.rankings.lock() {
            if r.generation != generation || r.by_patient.len() >= CACHED_RANKINGS {
                r.by_patient.clear();
                r.generation = generation;
            }
            r.by_patient.insert(key, Arc::new(found.clone()));
        }
        Ok(found)
    }

    /// Ranks the pool for `own`.
    fn rank(
        &self,
        own: &Patient,
        k: usize,
        pool: &Pool,
    ) -> Result<Vec<SimilarPatient>, StoreError> {
        let src = &self.sources;
        if !own.validation.is_approved() {
            return Ok(Vec::new());
        }
        let Some(query) = own.profile(&src.ontology) else {
            return Ok(Vec::new());
        };
        let matcher = Matcher::new(&src.ontology, &src.ic, Measure::default());
        let o = &*src.ontology;
        let name = |t| o.term(t).name.clone();
        // Ask for more than k: the member's own other patients are in the pool too.
        let mine = pool
            .entries
            .iter()
            .filter(|e| e.account_id() == Some(own.account_id.as_str()))
            .count();
        Ok(matcher
            .top_k(&query, &pool.candidates, k + mine)
            .into_iter()
            .filter(|s| {
                pool.entries[s.index].account_id() != Some(own.account_id.as_str()) && s.score > 0.0
            })
            .take(k)
            .map(|s| {
                let e = &pool.entries[s.index];
                let shared = explain(
                    o,
                    &src.ic,
                    query.observed(),
                    pool.candidates.observed(s.index),
                    EXPLAINED,
                )
                .into_iter()
                .map(|m| SharedSymptom {
                    yours: name(m.query_term),
                    theirs: name(m.candidate_term),
                    common: name(m.shared),
                })
                .collect();
                let mut shown = SimilarPatient {
                    pseudonym: String::new(),
                    score: (s.score.clamp(0.0, 1.0) * 100.0).round() as u32,
                    disease: e
                        .disease
                        .map(|c| (c, o.disease(c).map_or_else(String::new, |d| d.name.clone()))),
                    born: None,
                    age_band: None,
                    organization: None,
                    peer: None,
                    contactable: e.contactable,
                    local: None,
                    new: false,
                    shared,
                };
                match &e.who {
                    Who::Local(l) => {
                        shown.pseudonym = l.pseudonym.clone();
                        shown.born = Some(l.born.clone());
                        shown.local = Some(l.handle.clone());
                    }
                    Who::Remote {
                        peer,
                        pseudonym,
                        age_band,
                    } => {
                        let (user, name) = &pool.peers[*peer as usize];
                        let pseudonym = format!("{pseudonym:032x}");
                        shown.pseudonym = format!("Patient {}", pseudonym[..6].to_uppercase());
                        shown.age_band = age_band.map(|b| b.label().to_owned());
                        shown.organization = Some(name.clone());
                        shown.peer = Some((user.clone(), pseudonym));
                    }
                }
                shown
            })
            .collect())
    }
}
