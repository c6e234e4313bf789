//! The searchable labels of terms and diseases: every name and synonym, in a fixed order
//! that the tantivy index refers to by position.

use raremesh_ontology::{Ontology, SynonymScope, TermIdx};
use tantivy::tokenizer::TextAnalyzer;

use crate::text;

/// What a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A live HPO term.
    Term(TermIdx),
    /// A disease, by position in [`Ontology::diseases`].
    Disease(u32),
}

/// What kind of label it is; names rank above synonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// The term or disease name.
    Name,
    /// An exact synonym.
    Exact,
    /// A layperson synonym (any scope).
    Layperson,
    /// A broad, narrow or related synonym.
    Other,
}

impl LabelKind {
    pub(crate) fn bonus(self) -> f32 {
        match self {
            Self::Name => 1.0,
            Self::Exact => 0.7,
            Self::Layperson => 0.6,
            Self::Other => 0.3,
        }
    }
}

/// One label with its normalized tokens.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub target: Target,
    pub kind: LabelKind,
    pub text: String,
    pub tokens: Vec<String>,
}

/// All labels of an ontology, terms first then diseases.
pub(crate) fn collect(ontology: &Ontology, analyzer: &mut TextAnalyzer) -> Vec<Label> {
    let mut out = Vec::with_capacity(ontology.terms().len() * 3 + ontology.diseases().len());
    for (i, term) in ontology.terms().iter().enumerate() {
        let target = Target::Term(TermIdx(i as u32));
        out.push(label(analyzer, target, LabelKind::Name, &term.name));
        for s in &term.synonyms {
            let kind = match (s.layperson, s.scope) {
                (true, _) => LabelKind::Layperson,
                (false, SynonymScope::Exact) => LabelKind::Exact,
                _ => LabelKind::Other,
            };
            out.push(label(analyzer, target, kind, &s.text));
        }
    }
    for (i, d) in ontology.diseases().iter().enumerate() {
        out.push(label(
            analyzer,
            Target::Disease(i as u32),
            LabelKind::Name,
            &d.name,
        ));
    }
    out
}

fn label(analyzer: &mut TextAnalyzer, target: Target, kind: LabelKind, text: &str) -> Label {
    Label {
        target,
        kind,
        text: text.to_owned(),
        tokens: text::tokens(analyzer, text),
    }
}
