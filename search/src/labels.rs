//! The searchable labels of terms and diseases: every name and synonym, in English and in
//! each translation, in a fixed order that the tantivy index refers to by position.

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

/// The language of English labels (the release's own names and synonyms).
pub const ENGLISH: &str = "en";

/// One label with its normalized tokens.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub target: Target,
    pub kind: LabelKind,
    /// The language code: [`ENGLISH`], or a translation's.
    pub lang: String,
    pub text: String,
    pub tokens: Vec<String>,
}

/// All labels of an ontology: English terms, then each translation's, then diseases.
pub(crate) fn collect(ontology: &Ontology, analyzer: &mut TextAnalyzer) -> Vec<Label> {
    let mut out = Vec::with_capacity(ontology.terms().len() * 5 + ontology.diseases().len());
    let mut push = |target, kind, lang: &str, text: &str| {
        out.push(Label {
            target,
            kind,
            lang: lang.to_owned(),
            text: text.to_owned(),
            tokens: text::tokens(analyzer, text),
        });
    };
    for (i, term) in ontology.terms().iter().enumerate() {
        let target = Target::Term(TermIdx(i as u32));
        push(target, LabelKind::Name, ENGLISH, &term.name);
        for s in &term.synonyms {
            let kind = match (s.layperson, s.scope) {
                (true, _) => LabelKind::Layperson,
                (false, SynonymScope::Exact) => LabelKind::Exact,
                _ => LabelKind::Other,
            };
            push(target, kind, ENGLISH, &s.text);
        }
    }
    for t in ontology.translations() {
        for i in 0..ontology.terms().len() {
            let idx = TermIdx(i as u32);
            let target = Target::Term(idx);
            if let Some(name) = t.name(idx) {
                push(target, LabelKind::Name, &t.lang, name);
            }
            for s in t.synonyms(idx) {
                push(target, LabelKind::Exact, &t.lang, s);
            }
        }
    }
    for (lang, text) in LAY {
        if ontology.translation(lang).is_none_or(|t| t.lang != lang) {
            continue;
        }
        for (id, phrases) in lay_words(text) {
            let Some(t) = id.parse().ok().and_then(|id| ontology.resolve(id)) else {
                continue;
            };
            for p in phrases.split('|').map(str::trim).filter(|p| !p.is_empty()) {
                push(Target::Term(t), LabelKind::Layperson, lang, p);
            }
        }
    }
    for (i, d) in ontology.diseases().iter().enumerate() {
        push(Target::Disease(i as u32), LabelKind::Name, ENGLISH, &d.name);
    }
    out
}

/// Everyday words for symptoms, written for raremesh, per language (the official
/// translations have few or none): `HP:id<TAB>phrase|phrase...`, `#` for comments.
const LAY: [(&str, &str); 2] = [
    ("es", include_str!("../data/lay-es.tsv")),
    ("fr", include_str!("../data/lay-fr.tsv")),
];

fn lay_words(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
}
