//! Research: questionnaires members answer for their patients, and "where I stand": how a
//! patient's answers compare with those of comparable patients, shown only above `k`.

pub mod answers;
pub mod query;
pub mod questionnaire;
pub mod standing;
pub mod study;

use std::collections::HashSet;
use std::sync::Arc;

use raremesh_ontology::OrphaCode;

use crate::config::{Config, GroupConfig};
use crate::registration::patient::{Diagnosis, Patient};
use crate::store::{Batch, KvStore, StoreError, Tree, decode, encode};
pub use answers::Answers;
pub use questionnaire::{DefinitionError, Questionnaire};

/// The research population, and the change count it was read at.
type KeptPopulation = (u64, Arc<Vec<Patient>>);

/// The questionnaires of a node and its members' answers.
#[derive(Debug, Clone)]
pub struct Research {
    /// The questionnaires, in file name order.
    pub questionnaires: Vec<Questionnaire>,
    /// The disease groups.
    pub groups: Vec<GroupConfig>,
    /// The smallest number of patients a distribution is shown for.
    pub k: u32,
    kv: Arc<dyn KvStore>,
    /// The research population as of a change count (`query::Counting::population`).
    population: Arc<std::sync::Mutex<Option<KeptPopulation>>>,
}

impl Research {
    /// Loads the questionnaires `config` names (checked; errors name file and key).
    pub fn load(config: &Config, kv: Arc<dyn KvStore>) -> Result<Self, DefinitionError> {
        let r = &config.research;
        let ids: HashSet<&str> = r.groups.iter().map(|g| g.id.as_str()).collect();
        let questionnaires = match &r.questionnaires_dir {
            Some(dir) => questionnaire::load_dir(dir, &ids)?,
            None => Vec::new(),
        };
        Ok(Self {
            questionnaires,
            groups: r.groups.clone(),
            k: r.k,
            kv,
            population: Arc::default(),
        })
    }

    /// The research population kept at change count `generation`, if it is that one.
    pub(crate) fn kept_population(&self, generation: u64) -> Option<Arc<Vec<Patient>>> {
        let kept = self.population.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, p)| p.clone())
    }

    /// Keeps the research population read at change count `generation`.
    pub(crate) fn keep_population(&self, generation: u64, population: Arc<Vec<Patient>>) {
        *self.population.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, population));
    }

    /// The group a disease belongs to (the first that lists it).
    pub fn group_of(&self, code: OrphaCode) -> Option<&GroupConfig> {
        self.groups
            .iter()
            .find(|g| g.orpha.contains(&code.number()))
    }

    /// The questionnaires meant for a patient (all, or those of the patient's group).
    pub fn for_patient(&self, p: &Patient) -> Vec<&Questionnaire> {
        let group = match p.diagnosis {
            Diagnosis::Orpha { code } => self.group_of(code).map(|g| g.id.as_str()),
            _ => None,
        };
        self.questionnaires
            .iter()
            .filter(|q| {
                q.groups.is_empty() || group.is_some_and(|g| q.groups.iter().any(|x| x == g))
            })
            .collect()
    }

    /// A questionnaire by id.
    pub fn questionnaire(&self, id: &str) -> Option<&Questionnaire> {
        self.questionnaires.iter().find(|q| q.id == id)
    }

    /// A patient's answers to a questionnaire.
    pub fn answers(
        &self,
        account: &str,
        patient: &str,
        q: &str,
    ) -> Result<Option<Answers>, StoreError> {
        self.kv
            .get(Tree::Answers, &answers::key(account, patient, q))?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Saves answers (durably).
    pub fn save(&self, a: &Answers) -> Result<(), StoreError> {
        self.kv.put(
            Tree::Answers,
            &answers::key(&a.account_id, &a.patient_id, &a.questionnaire),
            &encode(a),
        )
    }

    /// Every patient's submitted answers to a questionnaire.
    pub fn all_submitted(&self, q: &str) -> Result<Vec<Answers>, StoreError> {
        let mut out = Vec::new();
        for (_, v) in self.kv.scan_prefix(Tree::Answers, b"")? {
            let a: Answers = decode(&v)?;
            if a.questionnaire == q && a.submitted {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Every questionnaire's answers for one patient.
    pub fn of_patient(&self, account: &str, patient: &str) -> Result<Vec<Answers>, StoreError> {
        self.kv
            .scan_prefix(Tree::Answers, format!("{account}/{patient}/").as_bytes())?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// Erases every answer given for a member's patient.
    pub fn erase_patient(
        &self,
        batch: &mut Batch,
        account: &str,
        patient: &str,
    ) -> Result<(), StoreError> {
        for (k, _) in self
            .kv
            .scan_prefix(Tree::Answers, format!("{account}/{patient}/").as_bytes())?
        {
            batch.remove(Tree::Answers, k);
        }
        Ok(())
    }
}
