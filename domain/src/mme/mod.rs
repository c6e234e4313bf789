//! The Matchmaker Exchange (MME): clinicians' matchmakers find patients like theirs among
//! the validated patients whose member consented to it ([`crate::registration::Consents::
//! matchmaking`]), and an admin or validator sends a patient's profile to another
//! matchmaker. What leaves the node is the patient's HPO features, their ORPHA diagnosis
//! and a pseudonym unrelated to any other; the contact is the organization. See
//! `docs/mme.md`.

pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use raremesh_ontology::{HpoId, Ontology, OrphaCode};
use raremesh_search::matching::{CandidateSet, IcTable, Matcher, Measure, Profile};
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Audit, Entry};
use crate::config::MmeConfig;
use crate::ids::{AccountId, PatientId};
use crate::registration::Registrations;
use crate::registration::patient::{Diagnosis, Patient, Patients};
use crate::store::{Batch, Changes, KvStore, Record, StoreError, Tree, decode};
use wire::{
    Contact, Disorder, DisorderCode, Feature, MatchRequest, MatchResult, MmePatient, Score,
};

/// How often clinicians' queries found one patient (not test queries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// How many queries.
    pub count: u64,
    /// When the last one was (Unix seconds).
    pub last_at: u64,
}

impl Record for Notice {
    const TREE: Tree = Tree::Matchmaking;
    const VERSION: u32 = 1;
}

/// What a request used of what it gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Used {
    /// Observed features matched on.
    pub observed: usize,
    /// Features explicitly not observed, matched on.
    pub excluded: usize,
    /// Features this HPO release does not know (or obsolete without replacement).
    pub unknown: usize,
    /// Disorders read as ORPHA codes (given so, or OMIM ids mapped).
    pub disorders: Vec<OrphaCode>,
}

/// One patient the pool holds.
struct Held {
    account_id: AccountId,
    patient_id: PatientId,
    disease: Option<OrphaCode>,
}

/// The patients clinicians may find, built once per change.
struct Pool {
    built_at: u64,
    candidates: CandidateSet,
    profiles: Vec<Profile>,
    entries: Vec<Held>,
}

/// What the matchmaker reads and writes.
pub struct Parts {
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
    /// The database (the pseudonym key, the notices).
    pub kv: Arc<dyn KvStore>,
    /// The audit log.
    pub audit: Audit,
    /// `[mme]`.
    pub config: MmeConfig,
    /// The organization's name (the contact's institution).
    pub node_name: String,
}

/// The node's matchmaker.
pub struct Matchmaker {
    parts: Parts,
    pool: Mutex<Option<Arc<Pool>>>,
    /// Serializes the notices' read-modify-write.
    notices: Mutex<()>,
}

impl std::fmt::Debug for Matchmaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matchmaker").finish_non_exhaustive()
    }
}

const SECRET_KEY: &[u8] = b"secret";

fn notice_key(account_id: &str, patient_id: &str) -> String {
    format!("n/{account_id}/{patient_id}")
}

impl Matchmaker {
    /// A matchmaker over `parts`.
    pub fn new(parts: Parts) -> Self {
        Self {
            parts,
            pool: Mutex::new(None),
            notices: Mutex::new(()),
        }
    }

    /// The key behind the pseudonyms matchmakers see, made on first use.
    fn secret(&self) -> Result<[u8; 32], StoreError> {
        let kv = &self.parts.kv;
        loop {
            if let Some(v) = kv.get(Tree::Matchmaking, SECRET_KEY)?
                && let Ok(key) = <[u8; 32]>::try_from(v.as_slice())
            {
                return Ok(key);
            }
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
            // Two first uses at once keep the same key.
            kv.compare_and_swap(Tree::Matchmaking, SECRET_KEY, None, Some(&key))?;
        }
    }

    /// The id a matchmaker sees for a patient: stable for that matchmaker, unrelated to
    /// the id another matchmaker sees, to the federation pseudonym and to the patient's id.
    pub fn pseudonym(
        &self,
        role: &str,
        peer: &str,
        patient_id: &str,
    ) -> Result<String, StoreError> {
        let mac = crate::federation::keys::hmac_sha256(
            &self.secret()?,
            format!("raremesh-mme-v1\0{role}\0{peer}\0{patient_id}").as_bytes(),
        );
        Ok(mac[..12].iter().map(|b| format!("{b:02x}")).collect())
    }

    fn pool(&self) -> Result<Arc<Pool>, StoreError> {
        let p = &self.parts;
        let now = p.changes.get();
        if let Ok(guard) = self.pool.lock()
            && let Some(pool) = guard.as_ref()
            && pool.built_at == now
        {
            return Ok(pool.clone());
        }
        let consenting = p.registrations.consenting(|c| c.matchmaking)?;
        let mut pool = Pool {
            built_at: now,
            candidates: CandidateSet::new(),
            profiles: Vec::new(),
            entries: Vec::new(),
        };
        for patient in p.patients.all()? {
            if !consenting.contains(&patient.account_id) || !patient.validation.is_approved() {
                continue;
            }
            let Some(profile) = patient.profile(&p.ontology) else {
                continue;
            };
            pool.candidates.push(&profile);
            pool.profiles.push(profile);
            pool.entries.push(Held {
                disease: match patient.diagnosis {
                    Diagnosis::Orpha { code } => Some(code),
                    _ => None,
                },
                account_id: patient.account_id,
                patient_id: patient.id,
            });
        }
        let pool = Arc::new(pool);
        if let Ok(mut guard) = self.pool.lock() {
            *guard = Some(pool.clone());
        }
        Ok(pool)
    }

    /// What a request's features and disorders mean here: the query profile (None when
    /// no observed feature is known here) and what was used.
    pub fn read(&self, patient: &MmePatient) -> (Option<Profile>, Used) {
        let o = &self.parts.ontology;
        let mut used = Used::default();
        let mut observed = Vec::new();
        let mut excluded = Vec::new();
        for f in &patient.features {
            match f.id.parse::<HpoId>().ok().and_then(|id| o.resolve(id)) {
                Some(t) if f.is_observed() => observed.push(t),
                Some(t) => excluded.push(t),
                None => used.unknown += 1,
            }
        }
        // A term both observed and not: the observation wins.
        excluded.retain(|t| !observed.contains(t));
        for d in &patient.disorders {
            let code = match wire::disorder_code(&d.id) {
                Some(DisorderCode::Orpha(n)) => Some(OrphaCode::from_number(n)),
                Some(DisorderCode::Omim(n)) => o.orpha_for_omim(n),
                None => None,
            };
            if let Some(c) = code.filter(|c| o.disease(*c).is_some())
                && !used.disorders.contains(&c)
            {
                used.disorders.push(c);
            }
        }
        let profile = Profile::from_terms(observed, excluded, used.disorders.first().copied());
        used.observed = profile.observed().len();
        used.excluded = profile.excluded().len();
        ((!profile.observed().is_empty()).then_some(profile), used)
    }

    /// Answers a search from `client`: the consenting validated patients most like the
    /// request's, best first, at most `[mme] max_results`, with scores in 0..=1. The
    /// phenotype score is the node's matching measure; when the request names a disorder
    /// this node can read, sharing it is half the score. Audited; unless the request is a
    /// test, each patient found is counted for its member's page.
    pub fn find(
        &self,
        client: &str,
        request: &MatchRequest,
    ) -> Result<Vec<MatchResult>, StoreError> {
        let (profile, used) = self.read(&request.patient);
        // One pool for the ranking and the results: a change meanwhile builds another.
        let pool = self.pool()?;
        let scored = self.rank(
            &pool,
            profile.as_ref(),
            &used.disorders,
            self.parts.config.max_results,
        );
        let mut results = Vec::with_capacity(scored.len());
        for (i, score) in &scored {
            let e = &pool.entries[*i];
            results.push(MatchResult {
                score: Score {
                    patient: (f64::from(*score) * 1000.0).round() / 1000.0,
                },
                patient: self.describe(
                    &self.pseudonym("in", client, &e.patient_id)?,
                    &pool.profiles[*i],
                    e.disease,
                ),
            });
        }
        if !request.patient.test {
            self.count_found(scored.iter().map(|(i, _)| &pool.entries[*i]))?;
        }
        let now = crate::clock::now();
        self.parts.audit.record(&Entry {
            at: now,
            actor: format!("mme {client}"),
            action: Action::MmeMatch,
            account_id: format!("mme {client}").into(),
            patient_id: None,
            document_id: None,
            reason: Some(format!(
                "{} observed, {} excluded, {} unknown features; {} disorders read -> {} results{}",
                used.observed,
                used.excluded,
                used.unknown,
                used.disorders.len(),
                results.len(),
                if request.patient.test { " (test)" } else { "" }
            )),
        })?;
        Ok(results)
    }

    /// The pool's best `k` for a query: (index, score), best first, scores above 0.
    fn rank(
        &self,
        pool: &Pool,
        query: Option<&Profile>,
        disorders: &[OrphaCode],
        k: usize,
    ) -> Vec<(usize, f32)> {
        let p = &self.parts;
        let shares = |i: usize| {
            pool.entries[i]
                .disease
                .is_some_and(|d| disorders.contains(&d))
        };
        let mut phenotype: HashMap<usize, f32> = HashMap::new();
        if let Some(q) = query {
            let matcher = Matcher::new(&p.ontology, &p.ic, Measure::default());
            let prepared = matcher.prepare(q);
            for s in matcher.top_k_prepared(&prepared, &pool.candidates, k) {
                phenotype.insert(s.index, s.score.clamp(0.0, 1.0));
            }
            if !disorders.is_empty() {
                // Every patient sharing a disorder is in the running, however it scores.
                for i in (0..pool.entries.len()).filter(|i| shares(*i)) {
                    phenotype.entry(i).or_insert_with(|| {
                        matcher.score(&prepared, &pool.profiles[i]).clamp(0.0, 1.0)
                    });
                }
            }
        } else {
            for i in (0..pool.entries.len()).filter(|i| shares(*i)) {
                phenotype.insert(i, 0.0);
            }
        }
        let mut scored: Vec<(usize, f32)> = phenotype
            .into_iter()
            .map(|(i, s)| {
                if disorders.is_empty() {
                    (i, s)
                } else {
                    (i, 0.5 * s + if shares(i) { 0.5 } else { 0.0 })
                }
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }

    /// A patient as a matchmaker sees it: the pseudonym, the organization as contact,
    /// the features (observed and not) and the ORPHA disorder.
    fn describe(&self, id: &str, profile: &Profile, disease: Option<OrphaCode>) -> MmePatient {
        let o = &self.parts.ontology;
        let feature = |t, observed: bool| {
            let term = o.term(t);
            Feature {
                id: term.id.to_string(),
                label: Some(term.name.clone()),
                observed: Some(if observed { "yes" } else { "no" }.to_owned()),
                age_of_onset: None,
            }
        };
        MmePatient {
            id: id.to_owned(),
            label: None,
            contact: self.contact(),
            species: Some("NCBITaxon:9606".into()),
            disorders: disease
                .map(|c| Disorder {
                    id: format!("Orphanet:{}", c.number()),
                    label: o.disease(c).map(|d| d.name.clone()),
                })
                .into_iter()
                .collect(),
            features: profile
                .observed()
                .iter()
                .map(|t| feature(*t, true))
                .chain(profile.excluded().iter().map(|t| feature(*t, false)))
                .collect(),
            genomic_features: Vec::new(),
            test: false,
        }
    }

    /// The organization, as the contact of every patient it sends.
    pub fn contact(&self) -> Contact {
        let c = &self.parts.config;
        Contact {
            name: c.contact_name.clone(),
            institution: Some(self.parts.node_name.clone()),
            href: c.contact_href.clone(),
            email: c
                .contact_href
                .strip_prefix("mailto:")
                .map(|a| a.split('?').next().unwrap_or(a).to_owned()),
            roles: Vec::new(),
        }
    }

    /// The request this node sends a matchmaker (`server`) for one of its patients.
    pub fn request_for(
        &self,
        server: &str,
        patient: &Patient,
    ) -> Result<Option<MatchRequest>, StoreError> {
        let Some(profile) = patient.profile(&self.parts.ontology) else {
            return Ok(None);
        };
        let disease = match patient.diagnosis {
            Diagnosis::Orpha { code } => Some(code),
            _ => None,
        };
        let id = self.pseudonym("out", server, &patient.id)?;
        Ok(Some(MatchRequest {
            patient: self.describe(&id, &profile, disease),
            disclaimer: None,
            terms: None,
        }))
    }

    fn count_found<'a>(&self, found: impl Iterator<Item = &'a Held>) -> Result<(), StoreError> {
        let _one_at_a_time = self.notices.lock();
        let now = crate::clock::now();
        let mut batch = Batch::new();
        for e in found {
            let key = notice_key(&e.account_id, &e.patient_id);
            let mut n: Notice = match self.parts.kv.get(Tree::Matchmaking, key.as_bytes())? {
                Some(v) => decode(&v)?,
                None => Notice::default(),
            };
            n.count += 1;
            n.last_at = now;
            batch.put(key, &n);
        }
        self.parts.kv.apply(&batch)
    }

    /// How often clinicians' queries found a patient, if ever.
    pub fn notice(&self, account_id: &str, patient_id: &str) -> Result<Option<Notice>, StoreError> {
        match self.parts.kv.get(
            Tree::Matchmaking,
            notice_key(account_id, patient_id).as_bytes(),
        )? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Adds the erasure of a patient's notice to `batch`.
    pub fn erase_patient(&self, batch: &mut Batch, account_id: &str, patient_id: &str) {
        batch.remove(Tree::Matchmaking, notice_key(account_id, patient_id));
    }

    /// Records in the audit log that `actor` sent a patient's profile to `server`.
    pub fn audit_sent(
        &self,
        actor: &str,
        patient: &Patient,
        server: &str,
        outcome: &str,
    ) -> Result<(), StoreError> {
        self.parts.audit.record(&Entry {
            at: crate::clock::now(),
            actor: actor.to_owned(),
            action: Action::MmeSent,
            account_id: patient.account_id.clone(),
            patient_id: Some(patient.id.clone()),
            document_id: None,
            reason: Some(format!("to {server}: {outcome}")),
        })
    }
}
