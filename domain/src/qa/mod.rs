//! Community questions and answers: questions tagged with HPO symptoms and/or a disease,
//! answers, the answer that helped, helpful marks, followers, reports and moderation; each
//! member's feed ranked by how likely they are to help; questions shared with the
//! federation in Matrix threads; full-text search (see `docs/qa.md`).

pub mod actions;
mod change;
pub mod evaluate;
pub mod moderation;
pub mod names;
pub mod notices;
mod rank;
pub mod search;
mod service;
mod share;

pub use change::Change;
pub use service::{Parts, Service, Settings};
pub use share::{Outgoing, Share};

use crate::ids::{AccountId, PatientId};
use std::sync::Arc;

use raremesh_ontology::{HpoId, OrphaCode};
use serde::{Deserialize, Serialize};

pub use actions::QaError;
pub use rank::{Helper, QuestionScorer, combine, helper_score, question_profile};

use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode};

/// Why content is hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hidden {
    /// The reason shown in its place.
    pub reason: String,
    /// Who hid it (a validator's account id, the author's, or the node it came from).
    pub by: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Deleted by its author: the text is erased and it cannot be restored.
    #[serde(default)]
    pub deleted: bool,
}

/// A member's report of a question or answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The reporting account.
    pub by: String,
    /// Why (up to 500 characters).
    pub reason: String,
    /// When (Unix seconds).
    pub at: u64,
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Random id (the same on every node).
    pub id: String,
    /// The asking member ("" when asked on another node).
    pub account_id: AccountId,
    /// The patient it is about, if any (its profile helps find helpers).
    pub patient_id: Option<PatientId>,
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
    /// The asker's pseudonymous display name.
    #[serde(default)]
    pub author: String,
    /// The node it was asked on (the Matrix user id of its service), when not this one.
    #[serde(default)]
    pub origin: Option<String>,
    /// The federated room and the thread's root event, once shared.
    #[serde(default)]
    pub room: Option<String>,
    /// The thread's root event.
    #[serde(default)]
    pub event_id: Option<String>,
    /// When last edited.
    #[serde(default)]
    pub edited_at: Option<u64>,
    /// Hidden by a moderator or deleted.
    #[serde(default)]
    pub hidden: Option<Hidden>,
    /// Reports by members.
    #[serde(default)]
    pub reports: Vec<Report>,
    /// Members told about new answers.
    #[serde(default)]
    pub followers: Vec<AccountId>,
}

impl Record for Question {
    const TREE: Tree = Tree::Questions;
    const VERSION: u32 = 1;
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Random id (the same on every node).
    pub id: String,
    /// The question.
    pub question_id: String,
    /// The answering member ("" when answered on another node or from a Matrix client).
    pub account_id: AccountId,
    /// The text (1 to 5000 characters).
    pub body: String,
    /// When (Unix seconds).
    pub created_at: u64,
    /// Members who marked it helpful.
    pub helpful: Vec<AccountId>,
    /// The asker marked it as the answer that helped.
    pub accepted: bool,
    /// The answerer's pseudonymous display name.
    #[serde(default)]
    pub author: String,
    /// Who sent it, when not a member of this node: the Matrix user id of a partner node's
    /// service, or of a member writing from a Matrix client.
    #[serde(default)]
    pub origin: Option<String>,
    /// Its event in the question's room, once shared.
    #[serde(default)]
    pub event_id: Option<String>,
    /// When last edited.
    #[serde(default)]
    pub edited_at: Option<u64>,
    /// Hidden by a moderator or deleted.
    #[serde(default)]
    pub hidden: Option<Hidden>,
    /// Reports by members.
    #[serde(default)]
    pub reports: Vec<Report>,
}

impl Record for Answer {
    const TREE: Tree = Tree::QaAnswers;
    const VERSION: u32 = 1;
}

/// The questions and answers of a node.
#[derive(Debug, Clone)]
pub struct Qa {
    kv: Arc<dyn KvStore>,
    salt: Arc<Vec<u8>>,
}

impl Qa {
    /// Kept in `kv` (the display-name secret is created on first start).
    pub fn open(kv: Arc<dyn KvStore>) -> Result<Self, StoreError> {
        let salt = match kv.get(Tree::QaNotices, b"salt")? {
            Some(s) => s,
            None => {
                let s = crate::ids::new_id()?.into_bytes();
                kv.put(Tree::QaNotices, b"salt", &s)?;
                s
            }
        };
        Ok(Self {
            kv,
            salt: Arc::new(salt),
        })
    }

    /// The pseudonymous display name of an account or a Matrix user on this node.
    pub fn display_name(&self, who: &str) -> String {
        names::display_name(&self.salt, who)
    }

    /// Saves a question (new or changed).
    pub fn save_question(&self, q: &Question) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        self.save_question_in(&mut batch, q);
        self.kv.apply(&batch)
    }

    /// Adds the saving of a question to `batch`.
    pub fn save_question_in(&self, batch: &mut Batch, q: &Question) {
        batch.put(q.id.as_str(), q);
    }

    /// Adds the saving of an answer to `batch`.
    pub fn save_answer_in(&self, batch: &mut Batch, a: &Answer) {
        batch.put(format!("{}/{}", a.question_id, a.id), a);
    }

    fn get<T: Record>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.kv
            .get(T::TREE, key.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    fn scan<T: Record>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        self.kv
            .scan_prefix(T::TREE, prefix.as_bytes())?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// A question.
    pub fn question(&self, id: &str) -> Result<Option<Question>, StoreError> {
        self.get(id)
    }

    /// Every question.
    pub fn questions(&self) -> Result<Vec<Question>, StoreError> {
        self.scan("")
    }

    /// Saves an answer (new or changed).
    pub fn save_answer(&self, a: &Answer) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        self.save_answer_in(&mut batch, a);
        self.kv.apply(&batch)
    }

    /// An answer.
    pub fn answer(&self, question_id: &str, id: &str) -> Result<Option<Answer>, StoreError> {
        self.get(&format!("{question_id}/{id}"))
    }

    /// The answers of a question, oldest first.
    pub fn answers_of(&self, question_id: &str) -> Result<Vec<Answer>, StoreError> {
        let mut v: Vec<Answer> = self.scan(&format!("{question_id}/"))?;
        v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// Every answer.
    pub fn all_answers(&self) -> Result<Vec<Answer>, StoreError> {
        self.scan("")
    }

    /// How many helpful marks and accepted answers a member's visible answers received.
    pub fn helpfulness(&self, account_id: &str) -> Result<u32, StoreError> {
        Ok(self
            .all_answers()?
            .iter()
            .filter(|a| a.account_id == account_id && a.hidden.is_none())
            .map(|a| a.helpful.len() as u32 + if a.accepted { 2 } else { 0 })
            .sum())
    }
}
