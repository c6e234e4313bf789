//! Symptom and disease autocomplete: tantivy finds candidate labels, [`crate::rank`]
//! orders them, and each term or disease appears once, under its best-matching label.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use raremesh_ontology::{HpoId, Ontology, OrphaCode};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, Searcher, Term};

use crate::expand::{Automata, expand};
use crate::index::{self, DOMAIN_DISEASE, DOMAIN_TERM, LabelSchema};
use crate::labels::{self, ENGLISH, Label, LabelKind, Target};
use crate::{Result, rank, text};

/// At most this many words of a query are used.
const MAX_WORDS: usize = 8;
/// Candidate labels fetched from tantivy before ranking.
const CANDIDATES: usize = 200;
/// Largest `limit` honoured.
pub const MAX_LIMIT: usize = 50;

/// One suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The term or disease suggested.
    pub target: Target,
    /// The label that matched (the name, or a synonym such as "Big head").
    pub matched: String,
    /// What kind of label matched.
    pub matched_kind: LabelKind,
    /// The language of the label that matched (`en`, `es`...).
    pub lang: String,
    /// The ranking score (higher is better); only comparable within one query.
    pub score: f32,
    /// Whether this is a confident match, safe to pre-select: the query is, word for word
    /// (ignoring case, accents and a plural ending), a name or synonym of this term or
    /// disease and of no other one among the candidates, or its id.
    pub confident: bool,
}

/// Autocomplete over the terms and diseases of one ontology.
pub struct Autocomplete {
    schema: LabelSchema,
    searcher: Searcher,
    ords: Vec<Column<u64>>,
    labels: Vec<Label>,
    analyzer: TextAnalyzer,
    automata: Automata,
    popularity: Vec<f32>,
    built: bool,
}

impl std::fmt::Debug for Autocomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autocomplete")
            .field("labels", &self.labels.len())
            .finish()
    }
}

impl Autocomplete {
    /// Opens the index kept under `dir` for the ontology identified by `key` (e.g. the
    /// ontology's source fingerprint), building it there first if needed; with no `dir`,
    /// builds it in memory.
    pub fn open(ontology: &Ontology, dir: Option<&Path>, key: &str) -> Result<Self> {
        let mut analyzer = text::analyzer();
        let labels = labels::collect(ontology, &mut analyzer);
        let schema = LabelSchema::new();
        let (index, built) = index::open_or_build(&schema, &labels, dir, key)?;
        Self::from_index(ontology, index, schema, labels, analyzer, built)
    }

    fn from_index(
        ontology: &Ontology,
        index: Index,
        schema: LabelSchema,
        labels: Vec<Label>,
        analyzer: TextAnalyzer,
        built: bool,
    ) -> Result<Self> {
        let reader = index.reader()?;
        let searcher = reader.searcher();
        let ords = searcher
            .segment_readers()
            .iter()
            .map(|s| s.fast_fields().u64("ord"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let max_ic = (ontology.diseases().len().max(2) as f64).ln();
        let popularity = ontology
            .information_content()
            .iter()
            .map(|ic| (1.0 - ic / max_ic).clamp(0.0, 1.0) as f32)
            .collect();
        Ok(Self {
            schema,
            searcher,
            ords,
            labels,
            analyzer,
            automata: Automata::new(),
            popularity,
            built,
        })
    }

    /// Whether the index was built by this call (rather than reopened from disk).
    pub fn was_built(&self) -> bool {
        self.built
    }

    /// Number of indexed labels.
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// Terms for a query in English: see [`Autocomplete::terms_in`].
    pub fn terms(&self, ontology: &Ontology, query: &str, limit: usize) -> Vec<Hit> {
        self.terms_in(ontology, query, limit, ENGLISH)
    }

    /// Terms for a query: an HPO id (alternative and obsolete ids resolve), or words of a
    /// name or synonym in `lang` or in English (labels in `lang` first), lay words included,
    /// prefix and typo tolerant.
    pub fn terms_in(&self, ontology: &Ontology, query: &str, limit: usize, lang: &str) -> Vec<Hit> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let lang = ontology
            .translation(lang)
            .map_or(ENGLISH, |t| t.lang.as_str());
        let mut hits = Vec::new();
        if let Some(t) = query
            .parse::<HpoId>()
            .ok()
            .and_then(|id| ontology.resolve(id))
        {
            hits.push(Hit {
                target: Target::Term(t),
                matched: ontology.term(t).name.clone(),
                matched_kind: LabelKind::Name,
                lang: ENGLISH.to_owned(),
                score: f32::INFINITY,
                confident: true,
            });
        }
        self.extend(&mut hits, DOMAIN_TERM, query, limit, lang);
        hits
    }

    /// Diseases for a query: an ORPHA code (`ORPHA:558` or `558`) or words of the name.
    pub fn diseases(&self, ontology: &Ontology, query: &str, limit: usize) -> Vec<Hit> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let mut hits = Vec::new();
        if let Ok(code) = query.parse::<OrphaCode>()
            && let Ok(i) = ontology.diseases().binary_search_by_key(&code, |d| d.code)
        {
            hits.push(Hit {
                target: Target::Disease(i as u32),
                matched: ontology.diseases()[i].name.clone(),
                matched_kind: LabelKind::Name,
                lang: ENGLISH.to_owned(),
                score: f32::INFINITY,
                confident: true,
            });
        }
        self.extend(&mut hits, DOMAIN_DISEASE, query, limit, ENGLISH);
        hits
    }

    fn extend(&self, hits: &mut Vec<Hit>, domain: &str, query: &str, limit: usize, lang: &str) {
        let mut analyzer = self.analyzer.clone();
        let mut words = text::tokens(&mut analyzer, query);
        words.truncate(MAX_WORDS);
        if words.is_empty() {
            return;
        }
        let mut best: HashMap<Target, Hit> = hits.iter().map(|h| (h.target, h.clone())).collect();
        let id_hit = hits.first().map(|h| h.target);
        let mut exact: HashSet<Target> = HashSet::new();
        let expansions: Vec<_> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                expand(
                    &self.searcher,
                    self.schema.label,
                    &self.automata,
                    w,
                    i + 1 == words.len(),
                )
            })
            .collect();
        // Every word must match; if that finds too little, any word may.
        for require_all in [true, false] {
            if !require_all && best.len() >= limit {
                break;
            }
            if require_all && expansions.iter().any(|e| e.is_empty()) {
                continue;
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.schema.domain, domain),
                        IndexRecordOption::Basic,
                    )),
                ),
                (Occur::Must, self.languages(lang)),
            ];
            // Every word (first pass), or at least one word (second pass): never none, or
            // every label of the domain would be a candidate.
            let mut words_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for e in expansions.iter().filter(|e| !e.is_empty()) {
                let alternatives: Vec<(Occur, Box<dyn Query>)> = e
                    .iter()
                    .map(|(word, x)| {
                        let term = Term::from_field_text(self.schema.label, word);
                        let q: Box<dyn Query> = Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                            x.boost,
                        ));
                        (Occur::Should, q)
                    })
                    .collect();
                words_clauses.push((Occur::Should, Box::new(BooleanQuery::new(alternatives))));
            }
            if words_clauses.is_empty() {
                break;
            }
            if require_all {
                clauses.extend(words_clauses.into_iter().map(|(_, q)| (Occur::Must, q)));
            } else {
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(words_clauses))));
            }
            let query = BooleanQuery::new(clauses);
            let Ok(docs) = self
                .searcher
                .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
            else {
                continue;
            };
            for (_, addr) in docs {
                let Some(ord) = self
                    .ords
                    .get(addr.segment_ord as usize)
                    .and_then(|c| c.first(addr.doc_id))
                else {
                    continue;
                };
                let Some(label) = self.labels.get(ord as usize) else {
                    continue;
                };
                let pop = match label.target {
                    Target::Term(t) => self.popularity.get(t.index()).copied().unwrap_or(0.0),
                    Target::Disease(_) => 0.0,
                };
                // The member's own language first; English still finds lay words.
                let in_lang = if label.lang == lang {
                    1.0
                } else {
                    ENGLISH_FACTOR
                };
                let score = in_lang
                    * rank::score(&words, label, pop, |i, w| {
                        expansions[i].get(w).map_or(0.0, |x| x.score)
                    });
                if same_words(&label.tokens, &words) {
                    exact.insert(label.target);
                }
                let better = best.get(&label.target).is_none_or(|h| score > h.score);
                if better && score > 0.0 {
                    best.insert(
                        label.target,
                        Hit {
                            target: label.target,
                            matched: label.text.clone(),
                            matched_kind: label.kind,
                            lang: label.lang.clone(),
                            score,
                            confident: false,
                        },
                    );
                }
            }
        }
        let mut all: Vec<Hit> = best.into_values().collect();
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.matched.len().cmp(&b.matched.len()))
                .then_with(|| target_key(a.target).cmp(&target_key(b.target)))
        });
        all.truncate(limit);
        // Confident: the query is an id, or the words of exactly one candidate's label.
        let sure = id_hit.or_else(|| {
            (exact.len() == 1)
                .then(|| exact.iter().next().copied())
                .flatten()
        });
        for h in &mut all {
            h.confident = sure == Some(h.target);
        }
        if all.first().is_some_and(|h| !h.confident) {
            for h in &mut all {
                h.confident = false;
            }
        }
        *hits = all;
    }

    /// Labels in `lang` or in English.
    fn languages(&self, lang: &str) -> Box<dyn Query> {
        let term = |l: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.schema.lang, l),
                    IndexRecordOption::Basic,
                )),
            )
        };
        let mut any = vec![term(ENGLISH)];
        if lang != ENGLISH {
            any.push(term(lang));
        }
        Box::new(BooleanQuery::new(any))
    }
}

/// How much an English label counts against one in the member's language.
const ENGLISH_FACTOR: f32 = 0.85;

/// Whether a label says the query's words, in order, ignoring a plural ending.
fn same_words(label: &[String], query: &[String]) -> bool {
    label.len() == query.len() && label.iter().zip(query).all(|(l, q)| text::same_word(l, q))
}

fn target_key(t: Target) -> (u8, u32) {
    match t {
        Target::Term(t) => (0, t.0),
        Target::Disease(d) => (1, d),
    }
}
