//! Community questions and answers on one node: questions tagged with HPO symptoms and/or a
//! disease, answers, the answer that helped, helpful marks; each member's feed ranked by how
//! likely they are to help (see `docs/qa.md`).

use std::sync::Arc;

use raremesh_ontology::{HpoId, OrphaCode};
use raremesh_search::matching::{Matcher, Measure, Profile};
use serde::{Deserialize, Serialize};

use crate::registration::patient::Patient;
use crate::similar::profile;
use crate::state::AppState;
use crate::store::{KvStore, Record, StoreError, Tree, decode, encode};

/// A question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Random id.
    pub id: String,
    /// The asking member.
    pub account_id: String,
    /// The patient it is about, if any (its profile helps find helpers).
    pub patient_id: Option<String>,
    /// The title (1 to 150 characters).
    pub title: String,
    /// The text (1 to 5000 characters).
    pub body: String,
    /// Symptom tags.
    pub tags: Vec<HpoId>,
    /// A disease tag.
    pub disease: Option<OrphaCode>,
    /// The language it is written in (`en`, `es`, `fr`).
    pub language: String,
    /// When asked (Unix seconds).
    pub created_at: u64,
}

impl Record for Question {
    const TREE: Tree = Tree::Questions;
    const VERSION: u32 = 1;
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Random id.
    pub id: String,
    /// The question.
    pub question_id: String,
    /// The answering member.
    pub account_id: String,
    /// The text (1 to 5000 characters).
    pub body: String,
    /// When (Unix seconds).
    pub created_at: u64,
    /// Members who marked it helpful.
    pub helpful: Vec<String>,
    /// The asker marked it as the answer that helped.
    pub accepted: bool,
}

impl Record for Answer {
    const TREE: Tree = Tree::QaAnswers;
    const VERSION: u32 = 1;
}

/// The questions and answers of a node.
#[derive(Debug, Clone)]
pub struct Qa {
    kv: Arc<dyn KvStore>,
}

fn new_id() -> Result<String, StoreError> {
    crate::documents::new_id()
}

impl Qa {
    /// Kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Stores a new question.
    #[allow(clippy::too_many_arguments)]
    pub fn ask(
        &self,
        account_id: &str,
        patient_id: Option<String>,
        title: &str,
        body: &str,
        tags: Vec<HpoId>,
        disease: Option<OrphaCode>,
        language: &str,
    ) -> Result<Question, StoreError> {
        let q = Question {
            id: new_id()?,
            account_id: account_id.to_owned(),
            patient_id,
            title: title.to_owned(),
            body: body.to_owned(),
            tags,
            disease,
            language: language.to_owned(),
            created_at: crate::registration::now(),
        };
        self.kv.put(Tree::Questions, q.id.as_bytes(), &encode(&q))?;
        Ok(q)
    }

    /// A question.
    pub fn question(&self, id: &str) -> Result<Option<Question>, StoreError> {
        self.kv
            .get(Tree::Questions, id.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Every question.
    pub fn questions(&self) -> Result<Vec<Question>, StoreError> {
        self.kv
            .scan_prefix(Tree::Questions, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// Stores a new answer.
    pub fn answer(
        &self,
        question_id: &str,
        account_id: &str,
        body: &str,
    ) -> Result<Answer, StoreError> {
        let a = Answer {
            id: new_id()?,
            question_id: question_id.to_owned(),
            account_id: account_id.to_owned(),
            body: body.to_owned(),
            created_at: crate::registration::now(),
            helpful: Vec::new(),
            accepted: false,
        };
        self.save_answer(&a)?;
        Ok(a)
    }

    /// Saves a changed answer.
    pub fn save_answer(&self, a: &Answer) -> Result<(), StoreError> {
        self.kv.put(
            Tree::QaAnswers,
            format!("{}/{}", a.question_id, a.id).as_bytes(),
            &encode(a),
        )
    }

    /// The answers of a question, oldest first.
    pub fn answers_of(&self, question_id: &str) -> Result<Vec<Answer>, StoreError> {
        let mut v: Vec<Answer> = self
            .kv
            .scan_prefix(Tree::QaAnswers, format!("{question_id}/").as_bytes())?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|a| a.created_at);
        Ok(v)
    }

    /// How many helpful marks and accepted answers a member's answers received.
    pub fn helpfulness(&self, account_id: &str) -> Result<u32, StoreError> {
        let mut n = 0;
        for (_, v) in self.kv.scan_prefix(Tree::QaAnswers, b"")? {
            let a: Answer = decode(&v)?;
            if a.account_id == account_id {
                n += a.helpful.len() as u32 + if a.accepted { 2 } else { 0 };
            }
        }
        Ok(n)
    }
}

/// The profile of a question's tags (none without symptom tags).
pub fn question_profile(state: &AppState, q: &Question) -> Option<Profile> {
    Profile::new(&state.ontology, &q.tags, &[], q.disease).ok()
}

/// What ranking a member's feed needs about the member, computed once per feed.
pub struct Helper {
    /// The profiles of the member's validated patients.
    profiles: Vec<Profile>,
    /// The member's language.
    language: String,
    /// Helpful marks and accepted answers the member's answers received.
    helpfulness: u32,
}

impl Helper {
    /// The member with these patients, language and helpfulness.
    pub fn new(state: &AppState, patients: &[Patient], language: &str, helpfulness: u32) -> Self {
        Self {
            profiles: patients
                .iter()
                .filter(|p| p.validation.is_approved())
                .filter_map(|p| profile(&state.ontology, p))
                .collect(),
            language: language.to_owned(),
            helpfulness,
        }
    }
}

/// How likely a member is to help with a question, from 0 to about 1.2: the similarity of
/// their validated patients to the question's tags (weight 0.5) and to the asker's patient
/// (0.3), their helpful answers so far (up to 0.2), and the language (0.1).
pub fn helper_score(state: &AppState, q: &Question, helper: &Helper) -> f32 {
    let matcher = Matcher::new(&state.ontology, &state.ic, Measure::default());
    let best = |query: &Profile| -> f32 {
        let prepared = matcher.prepare(query);
        helper
            .profiles
            .iter()
            .map(|c| matcher.score(&prepared, c))
            .fold(0.0, f32::max)
    };
    let tags = question_profile(state, q).map_or(0.0, |p| best(&p));
    let asker = q
        .patient_id
        .as_ref()
        .and_then(|id| state.patients.get(&q.account_id, id).ok().flatten())
        .and_then(|p| profile(&state.ontology, &p))
        .map_or(0.0, |p| best(&p));
    let helped = (helper.helpfulness.min(10) as f32) / 10.0;
    0.5 * tags
        + 0.3 * asker
        + 0.2 * helped
        + if q.language == helper.language {
            0.1
        } else {
            0.0
        }
}
