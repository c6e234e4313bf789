//! HPO terms and their synonyms.

use serde::{Deserialize, Serialize};

use crate::HpoId;

/// The position of a live term in [`crate::Ontology::terms`]: a compact id for hot paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TermIdx(pub u32);

impl TermIdx {
    /// The index as a `usize`, for slices.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a synonym relates to the term name (OBO synonym scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SynonymScope {
    /// Means the same as the name.
    Exact,
    /// Broader than the name.
    Broad,
    /// Narrower than the name.
    Narrow,
    /// Related to the name.
    Related,
}

/// One synonym of a term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synonym {
    /// The synonym text.
    pub text: String,
    /// How it relates to the name.
    pub scope: SynonymScope,
    /// Tagged `layperson` in the release: the words patients and families use.
    pub layperson: bool,
}

/// A live (non-obsolete) HPO term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// Its identifier.
    pub id: HpoId,
    /// Its name (label).
    pub name: String,
    /// Its textual definition, when the release has one.
    pub definition: Option<String>,
    /// Its synonyms, in release order.
    pub synonyms: Vec<Synonym>,
    /// Its direct `is_a` parents.
    pub parents: Vec<TermIdx>,
}
