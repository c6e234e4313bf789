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

struct Entry {
    /// The local member (None for a patient of a partner organization).
    account_id: Option<AccountId>,
    /// The local patient's contact handle.
    handle: Option<String>,
    peer: Option<(String, String)>,
    contactable: bool,
    pseudonym: String,
    born: Option<String>,
    age_band: Option<String>,
    organization: Option<String>,
    disease: Option<OrphaCode>,
}

struct Pool {
    built_at: u64,
    candidates: CandidateSet,
    profiles: Vec<Profile>,
    entries: Vec<Entry>,
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
    sources: Sources,
    pool: Mutex<Option<Arc<Pool>>>,
    rankings: Mutex<Rankings>,
}

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
            sources,
            pool: Mutex::new(None),
            rankings: Mutex::new(Rankings::default()),
        }
    }

    fn pool(&self) -> Result<Arc<Pool>, StoreError> {
        let src = &self.sources;
        let now = src.changes.get();
        if let Ok(guard) = self.pool.lock()
            && let Some(p) = guard.as_ref()
            && p.built_at == now
        {
            return Ok(p.clone());
        }
        // The members shown, and whether each accepts contact requests.
        let shown: HashMap<AccountId, bool> = src
            .registrations
            .members()?
            .into_iter()
            .filter(|m| m.consents.local_matching && m.consents.terms_version.is_some())
            .map(|m| (m.account_id, m.consents.contactable))
            .collect();
        let mut pool = Pool {
            built_at: now,
            candidates: CandidateSet::new(),
            profiles: Vec::new(),
            entries: Vec::new(),
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
                pool.profiles.push(profile);
                pool.entries.push(Entry {
                    disease: match p.diagnosis {
                        Diagnosis::Orpha { code } => Some(code),
                        _ => None,
                    },
                    handle: Some(crate::messages::handle(&p.id)),
                    account_id: Some(p.account_id),
                    peer: None,
                    contactable,
                    pseudonym: pseudonym(&p.id),
                    born: Some(format!("{}s", p.birth_year / 10 * 10)),
                    age_band: None,
                    organization: None,
                });
            }
        }
        if let Some(f) = &src.federation {
            for r in f.store.remote_all()? {
                let Some(peer) = f.peer(&r.peer) else {
                    continue;
                };
                let ids = |v: &[String]| -> Vec<raremesh_ontology::HpoId> {
                    v.iter().filter_map(|t| t.parse().ok()).collect()
                };
                let disease = r
                    .vector
                    .orpha
                    .and_then(|c| u32::try_from(c).ok())
                    .map(OrphaCode::from_number);
                let Ok(profile) = Profile::new(
                    &src.ontology,
                    &ids(&r.vector.terms),
                    &ids(&r.vector.excluded),
                    disease,
                ) else {
                    continue;
                };
                pool.candidates.push(&profile);
                pool.profiles.push(profile);
                pool.entries.push(Entry {
                    account_id: None,
                    handle: None,
                    peer: Some((r.peer.clone(), r.vector.pseudonym.clone())),
                    contactable: r.vector.contactable,
                    pseudonym: format!("Patient {}", r.vector.pseudonym[..6].to_uppercase()),
                    born: None,
                    age_band: r.vector.age_band.map(|b| b.label().to_owned()),
                    organization: Some(peer.name.clone()),
                    disease,
                });
            }
        }
        let pool = Arc::new(pool);
        if let Ok(mut guard) = self.pool.lock() {
            *guard = Some(pool.clone());
        }
        Ok(pool)
    }

    /// The patients of other members most similar to `own` (which must be validated and
    /// have an observed symptom; otherwise nothing), best first. Made once per patient
    /// and `k` until something changes.
    pub fn find(&self, own: &Patient, k: usize) -> Result<Vec<SimilarPatient>, StoreError> {
        if !own.validation.is_approved() {
            return Ok(Vec::new());
        }
        // Read before ranking: a change during the ranking makes the next call rank again.
        let generation = self.sources.changes.get();
        // The patient as given, too: a copy read before a change is not ranked under the
        // new count.
        let key = (own.id.to_string(), k, fingerprint(own));
        if let Ok(r) = self.rankings.lock()
            && r.generation == generation
            && let Some(found) = r.by_patient.get(&key)
        {
            return Ok(found.as_ref().clone());
        }
        let found = self.rank(own, k)?;
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
    fn rank(&self, own: &Patient, k: usize) -> Result<Vec<SimilarPatient>, StoreError> {
        let src = &self.sources;
        if !own.validation.is_approved() {
            return Ok(Vec::new());
        }
        let Some(query) = own.profile(&src.ontology) else {
            return Ok(Vec::new());
        };
        let pool = self.pool()?;
        let matcher = Matcher::new(&src.ontology, &src.ic, Measure::default());
        let o = &*src.ontology;
        let name = |t| o.term(t).name.clone();
        // Ask for more than k: the member's own other patients are in the pool too.
        let mine = pool
            .entries
            .iter()
            .filter(|e| e.account_id.as_deref() == Some(own.account_id.as_str()))
            .count();
        Ok(matcher
            .top_k(&query, &pool.candidates, k + mine)
            .into_iter()
            .filter(|s| {
                pool.entries[s.index].account_id.as_deref() != Some(own.account_id.as_str())
                    && s.score > 0.0
            })
            .take(k)
            .map(|s| {
                let e = &pool.entries[s.index];
                let shared = explain(
                    o,
                    &src.ic,
                    query.observed(),
                    pool.profiles[s.index].observed(),
                    EXPLAINED,
                )
                .into_iter()
                .map(|m| SharedSymptom {
                    yours: name(m.query_term),
                    theirs: name(m.candidate_term),
                    common: name(m.shared),
                })
                .collect();
                SimilarPatient {
                    pseudonym: e.pseudonym.clone(),
                    score: (s.score.clamp(0.0, 1.0) * 100.0).round() as u32,
                    disease: e
                        .disease
                        .map(|c| (c, o.disease(c).map_or_else(String::new, |d| d.name.clone()))),
                    born: e.born.clone(),
                    age_band: e.age_band.clone(),
                    organization: e.organization.clone(),
                    peer: e.peer.clone(),
                    contactable: e.contactable,
                    local: e.handle.clone(),
                    new: false,
                    shared,
                }
            })
            .collect())
    }
}
