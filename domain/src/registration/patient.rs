//! Step 3: the patients a member registers for (themselves, or the children they care for).

use crate::ids::{AccountId, PatientId};
use std::sync::Arc;

use raremesh_ontology::{Ontology, OrphaCode};
use raremesh_search::matching::Profile;
use serde::{Deserialize, Serialize};

use super::FieldErrors;
use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode, encode};

/// The patient's sex as recorded for matching and research.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Another answer.
    Other,
    /// Not given.
    Unknown,
}

/// How the member relates to the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The member is the patient.
    Myself,
    /// Mother or father.
    Parent,
    /// Legal guardian.
    Guardian,
    /// Another family member.
    OtherFamily,
    /// Someone else caring for the patient.
    Other,
}

/// The diagnosis, as the member knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnosis {
    /// A disease of the Orphanet list.
    Orpha {
        /// Its code.
        code: OrphaCode,
    },
    /// A diagnosis not in the list, in the member's words (never leaves the node).
    NotListed {
        /// What the member wrote.
        text: String,
    },
    /// No diagnosis yet.
    NoneYet,
}

/// A patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    /// Random id.
    pub id: PatientId,
    /// The member who registered the patient.
    pub account_id: AccountId,
    /// A name or pseudonym, as the member likes (kept on this node only).
    pub display_name: String,
    /// Year of birth.
    pub birth_year: u16,
    /// Sex.
    pub sex: Sex,
    /// The member's relation to the patient.
    pub relation: Relation,
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// The name of the patient organization the patient belongs to, if any.
    pub organization: Option<String>,
    /// Symptoms (step 4), in the order entered. Absent in records written before step 4
    /// existed: read as none.
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// Where the patient stands in validation. Absent in records written before
    /// validation existed: read as not submitted.
    #[serde(default)]
    pub validation: Validation,
    /// How many times the member asked for a new pseudonym (the federation pseudonym is a
    /// keyed hash of the patient id and this count).
    #[serde(default)]
    pub pseudonym_rotation: u32,
}

/// Where a patient stands in validation by documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Validation {
    /// Required documents are still missing.
    #[default]
    NotSubmitted,
    /// Every required document is there: waiting for a validator.
    Pending {
        /// Since when (Unix seconds).
        since: u64,
    },
    /// A validator approved the patient: matched and shown to others.
    Approved {
        /// When (Unix seconds).
        at: u64,
        /// The validator's account id.
        by: String,
    },
    /// A validator rejected the documents, saying why; new documents send the patient
    /// back to the queue.
    Rejected {
        /// When (Unix seconds).
        at: u64,
        /// The validator's account id.
        by: String,
        /// Why, for the member.
        reason: String,
    },
}

impl Validation {
    /// Whether the patient is validated.
    pub fn is_approved(&self) -> bool {
        matches!(self, Self::Approved { .. })
    }

    /// The stable name of the status.
    pub fn key(&self) -> &'static str {
        match self {
            Self::NotSubmitted => "not_submitted",
            Self::Pending { .. } => "pending",
            Self::Approved { .. } => "approved",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// When a symptom began, as the HPO onset classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Onset {
    /// At birth or before (HP:0003577).
    Congenital,
    /// In the first 28 days (HP:0003623).
    Neonatal,
    /// From 28 days to 1 year (HP:0003593).
    Infantile,
    /// From 1 to 5 years (HP:0011463).
    Childhood,
    /// From 5 to 15 years (HP:0003621).
    Juvenile,
    /// From 16 years (HP:0003581).
    Adult,
}

impl Onset {
    /// Every class, youngest first.
    pub const ALL: [Self; 6] = [
        Self::Congenital,
        Self::Neonatal,
        Self::Infantile,
        Self::Childhood,
        Self::Juvenile,
        Self::Adult,
    ];

    /// The HPO term of the class.
    pub fn hpo_id(self) -> &'static str {
        match self {
            Self::Congenital => "HP:0003577",
            Self::Neonatal => "HP:0003623",
            Self::Infantile => "HP:0003593",
            Self::Childhood => "HP:0011463",
            Self::Juvenile => "HP:0003621",
            Self::Adult => "HP:0003581",
        }
    }

    /// The form value.
    pub fn key(self) -> &'static str {
        match self {
            Self::Congenital => "congenital",
            Self::Neonatal => "neonatal",
            Self::Infantile => "infantile",
            Self::Childhood => "childhood",
            Self::Juvenile => "juvenile",
            Self::Adult => "adult",
        }
    }
}

/// One symptom of a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symptom {
    /// The live HPO term (alternative and obsolete ids are resolved on entry).
    pub term: raremesh_ontology::HpoId,
    /// False when the member says the patient does NOT have it.
    pub observed: bool,
    /// When it began, if known.
    #[serde(default)]
    pub onset: Option<Onset>,
}

/// Most symptoms per patient.
pub const MAX_SYMPTOMS: usize = 200;

impl Record for Patient {
    const TREE: Tree = Tree::Patients;
    const VERSION: u32 = 1;
}

/// What the patient form asks, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientInput {
    /// Name or pseudonym.
    pub display_name: String,
    /// Year of birth.
    pub birth_year: u16,
    /// Sex.
    pub sex: Sex,
    /// Relation.
    pub relation: Relation,
    /// Diagnosis.
    pub diagnosis: Diagnosis,
    /// Organization, if any.
    pub organization: Option<String>,
}

/// Field values of the form, by name.
pub type Fields = std::collections::HashMap<String, String>;

/// The current year (Gregorian, from the clock).
pub fn current_year() -> u16 {
    (1970 + crate::clock::now() / 86_400 * 400 / 146_097) as u16
}

impl PatientInput {
    /// Checks the form; errors name their field and carry a message key.
    pub fn parse(ontology: &Ontology, f: &Fields) -> Result<Self, FieldErrors> {
        let get = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or_default();
        let mut errors = FieldErrors::new();
        let display_name = get("display_name");
        if display_name.is_empty()
            || display_name.chars().count() > 60
            || display_name.chars().any(char::is_control)
        {
            errors.push(("display_name", "patient.error.display_name".into()));
        }
        let year = get("birth_year")
            .parse::<u16>()
            .ok()
            .filter(|y| (1900..=current_year()).contains(y));
        if year.is_none() {
            errors.push(("birth_year", "patient.error.birth_year".into()));
        }
        let sex = match get("sex") {
            "female" => Some(Sex::Female),
            "male" => Some(Sex::Male),
            "other" => Some(Sex::Other),
            "unknown" => Some(Sex::Unknown),
            _ => None,
        };
        if sex.is_none() {
            errors.push(("sex", "patient.error.sex".into()));
        }
        let relation = match get("relation") {
            "myself" => Some(Relation::Myself),
            "parent" => Some(Relation::Parent),
            "guardian" => Some(Relation::Guardian),
            "other_family" => Some(Relation::OtherFamily),
            "other" => Some(Relation::Other),
            _ => None,
        };
        if relation.is_none() {
            errors.push(("relation", "patient.error.relation".into()));
        }
        let diagnosis = match get("diagnosis") {
            "orpha" => match get("disease")
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .parse::<OrphaCode>()
                .ok()
                .filter(|c| ontology.disease(*c).is_some())
            {
                Some(code) => Some(Diagnosis::Orpha { code }),
                None => {
                    errors.push(("disease", "patient.error.disease".into()));
                    None
                }
            },
            "not_listed" => {
                let text = get("diagnosis_text");
                if text.is_empty() || text.chars().count() > 200 {
                    errors.push(("diagnosis_text", "patient.error.diagnosis_text".into()));
                    None
                } else {
                    Some(Diagnosis::NotListed {
                        text: text.to_owned(),
                    })
                }
            }
            "none_yet" => Some(Diagnosis::NoneYet),
            _ => {
                errors.push(("diagnosis", "patient.error.diagnosis".into()));
                None
            }
        };
        let organization = match get("organization") {
            "" => None,
            o if o.chars().count() <= 120 && !o.chars().any(char::is_control) => Some(o.to_owned()),
            _ => {
                errors.push(("organization", "patient.error.organization".into()));
                None
            }
        };
        match (year, sex, relation, diagnosis) {
            (Some(birth_year), Some(sex), Some(relation), Some(diagnosis)) if errors.is_empty() => {
                Ok(Self {
                    display_name: display_name.to_owned(),
                    birth_year,
                    sex,
                    relation,
                    diagnosis,
                    organization,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The patients of a node.
#[derive(Debug, Clone)]
pub struct Patients {
    kv: Arc<dyn KvStore>,
    changes: crate::store::Changes,
}

/// Most patients one member may register.
pub const MAX_PER_MEMBER: usize = 20;

impl Patients {
    /// The change count of patients and members (it moves at every save of either).
    pub fn generation(&self) -> u64 {
        self.changes.get()
    }

    /// Patients kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>, changes: crate::store::Changes) -> Self {
        Self { kv, changes }
    }

    /// Adds a patient to a member's list.
    pub fn add(&self, account_id: &AccountId, input: PatientInput) -> Result<Patient, StoreError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
        let p = Patient {
            id: PatientId::new(id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            account_id: account_id.into(),
            display_name: input.display_name,
            birth_year: input.birth_year,
            sex: input.sex,
            relation: input.relation,
            diagnosis: input.diagnosis,
            organization: input.organization,
            symptoms: Vec::new(),
            validation: Validation::NotSubmitted,
            pseudonym_rotation: 0,
        };
        self.kv.put(
            Tree::Patients,
            format!("{account_id}/{}", p.id).as_bytes(),
            &encode(&p),
        )?;
        self.changes.bump();
        Ok(p)
    }

    /// One patient of a member (None for another member's patient).
    pub fn get(
        &self,
        account_id: &AccountId,
        patient_id: &PatientId,
    ) -> Result<Option<Patient>, StoreError> {
        if patient_id.is_empty() || patient_id.contains('/') {
            return Ok(None);
        }
        self.kv
            .get(
                Tree::Patients,
                format!("{account_id}/{patient_id}").as_bytes(),
            )?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Saves a changed patient.
    pub fn save(&self, p: &Patient) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        self.save_in(&mut batch, p);
        self.apply(&batch)
    }

    /// Adds the saving of a patient to `batch` (applied by [`Patients::apply`]).
    pub fn save_in(&self, batch: &mut Batch, p: &Patient) {
        batch.put(format!("{}/{}", p.account_id, p.id), p);
    }

    /// Applies a batch that changes patients, at once, and counts the change.
    pub fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let result = self.kv.apply(batch);
        self.changes.bump();
        result
    }

    /// Adds the erasure of a patient to `batch`.
    pub fn remove(&self, batch: &mut Batch, p: &Patient) {
        batch.remove(Tree::Patients, format!("{}/{}", p.account_id, p.id));
    }

    /// Every patient of the node, by member.
    pub fn all(&self) -> Result<Vec<Patient>, StoreError> {
        self.kv
            .scan_prefix(Tree::Patients, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// A member's patients.
    pub fn of(&self, account_id: &AccountId) -> Result<Vec<Patient>, StoreError> {
        self.kv
            .scan_prefix(Tree::Patients, format!("{account_id}/").as_bytes())?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }
}

impl Patient {
    /// The matching profile of the patient: observed and excluded symptoms and the ORPHA
    /// diagnosis. None when nothing is observed.
    pub fn profile(&self, ontology: &Ontology) -> Option<Profile> {
        let observed: Vec<_> = self
            .symptoms
            .iter()
            .filter(|s| s.observed)
            .map(|s| s.term)
            .collect();
        let excluded: Vec<_> = self
            .symptoms
            .iter()
            .filter(|s| !s.observed)
            .map(|s| s.term)
            .collect();
        let disease = match self.diagnosis {
            Diagnosis::Orpha { code } => Some(code),
            _ => None,
        };
        Profile::new(ontology, &observed, &excluded, disease).ok()
    }
}
