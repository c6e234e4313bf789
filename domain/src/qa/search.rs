//! Full-text search over questions and their answers (tantivy, in memory, rebuilt at
//! start): each question's text is analysed in its own language (English, Spanish, French:
//! lowercased, stemmed, accents folded), and its symptom tags are indexed with all their
//! ancestors, so a search for a symptom also finds questions tagged with a more specific
//! one ("Seizure" finds "Focal seizure"). Hidden and deleted content is not indexed.

use std::sync::Mutex;

use raremesh_ontology::{HpoId, Ontology};
use raremesh_search::Autocomplete;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

use super::{Qa, Question};
use crate::store::StoreError;

/// The languages questions are analysed in.
pub const LANGUAGES: [&str; 3] = ["en", "es", "fr"];

/// The longest query accepted (characters).
pub const MAX_QUERY_CHARS: usize = 200;

struct Fields {
    id: Field,
    tags: Field,
    /// Per language: title, body, answers.
    text: Vec<[Field; 3]>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Found {
    /// The question.
    pub id: String,
    /// Its title.
    pub title: String,
    /// A passage with the matched words in `<b>…</b>`, the rest HTML-escaped.
    pub snippet_html: String,
    /// The relevance score (only comparable within one search).
    pub score: f32,
}

/// The index of a node's questions.
pub struct QaSearch {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
}

impl std::fmt::Debug for QaSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QaSearch")
            .field("docs", &self.reader.searcher().num_docs())
            .finish()
    }
}

fn analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(41))
        .filter(LowerCaser)
        .filter(Stemmer::new(language))
        .filter(AsciiFoldingFilter)
        .build()
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("question index: {e}"))
}

impl QaSearch {
    /// The index of every visible question in `qa`.
    pub fn build(ontology: &Ontology, qa: &Qa) -> Result<Self, StoreError> {
        let mut b = Schema::builder();
        let id = b.add_text_field("id", STRING | STORED);
        let tags = b.add_text_field("tags", STRING);
        let mut text = Vec::new();
        for lang in LANGUAGES {
            let opts = TextOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(&format!("qa_{lang}"))
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_stored();
            text.push([
                b.add_text_field(&format!("title_{lang}"), opts.clone()),
                b.add_text_field(&format!("body_{lang}"), opts.clone()),
                b.add_text_field(&format!("answers_{lang}"), opts),
            ]);
        }
        let index = Index::create_in_ram(b.build());
        for (lang, l) in
            LANGUAGES
                .iter()
                .zip([Language::English, Language::Spanish, Language::French])
        {
            index
                .tokenizers()
                .register(&format!("qa_{lang}"), analyzer(l));
        }
        let writer = index.writer_with_num_threads(1, 30_000_000).map_err(err)?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        let s = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields: Fields { id, tags, text },
        };
        {
            let mut w = s.writer.lock().map_err(err)?;
            let answers = qa.all_answers()?;
            for q in qa.questions()? {
                let mine: Vec<&str> = answers
                    .iter()
                    .filter(|a| a.question_id == q.id && a.hidden.is_none())
                    .map(|a| a.body.as_str())
                    .collect();
                if let Some(doc) = s.document(ontology, &q, &mine) {
                    w.add_document(doc).map_err(err)?;
                }
            }
            w.commit().map_err(err)?;
        }
        s.reader.reload().map_err(err)?;
        Ok(s)
    }

    fn document(
        &self,
        ontology: &Ontology,
        q: &Question,
        answers: &[&str],
    ) -> Option<TantivyDocument> {
        if q.hidden.is_some() {
            return None;
        }
        let l = LANGUAGES.iter().position(|l| *l == q.language).unwrap_or(0);
        let [title, body, ans] = self.fields.text[l];
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.id, &q.id);
        doc.add_text(title, &q.title);
        doc.add_text(body, &q.body);
        doc.add_text(ans, answers.join("\n\n"));
        let mut seen = std::collections::HashSet::new();
        for t in &q.tags {
            if let Some(i) = ontology.resolve(*t) {
                for a in ontology.ancestors(i) {
                    if seen.insert(*a) {
                        doc.add_text(self.fields.tags, ontology.term(*a).id.to_string());
                    }
                }
            }
        }
        Some(doc)
    }

    /// Indexes a question again (after it, or one of its answers, changed).
    pub fn update(
        &self,
        ontology: &Ontology,
        qa: &Qa,
        question_id: &str,
    ) -> Result<(), StoreError> {
        {
            // Read under the lock, so that the last commit holds the latest records.
            let mut w = self.writer.lock().map_err(err)?;
            let q = qa.question(question_id)?;
            let answers = qa.answers_of(question_id)?;
            let bodies: Vec<&str> = answers
                .iter()
                .filter(|a| a.hidden.is_none())
                .map(|a| a.body.as_str())
                .collect();
            w.delete_term(Term::from_field_text(self.fields.id, question_id));
            if let Some(doc) = q.as_ref().and_then(|q| self.document(ontology, q, &bodies)) {
                w.add_document(doc).map_err(err)?;
            }
            w.commit().map_err(err)?;
        }
        self.reader.reload().map_err(err)
    }

    /// The symptoms a query names: an HPO id, or the exact name or synonym of a term.
    pub fn symptoms_of(
        ontology: &Ontology,
        autocomplete: &Autocomplete,
        query: &str,
    ) -> Vec<HpoId> {
        let wanted = query.trim().to_lowercase();
        autocomplete
            .terms(ontology, query.trim(), 5)
            .into_iter()
            .filter(|h| h.score.is_infinite() || h.matched.to_lowercase() == wanted)
            .filter_map(|h| match h.target {
                raremesh_search::Target::Term(t) => Some(ontology.term(t).id),
                _ => None,
            })
            .collect()
    }

    /// The questions best matching `query`, at most `limit`.
    pub fn search(
        &self,
        ontology: &Ontology,
        autocomplete: &Autocomplete,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut text_queries = Vec::new();
        for fields in &self.fields.text {
            let mut parser = QueryParser::for_index(&self.index, fields.to_vec());
            parser.set_field_boost(fields[0], 2.0);
            parser.set_field_boost(fields[2], 0.7);
            let (q, _) = parser.parse_query_lenient(&query);
            text_queries.push((fields, q.box_clone()));
            parts.push((Occur::Should, q));
        }
        for t in Self::symptoms_of(ontology, autocomplete, &query) {
            parts.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.tags, &t.to_string()),
                        IndexRecordOption::Basic,
                    )),
                    3.0,
                )),
            ));
        }
        let all = BooleanQuery::new(parts);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(
                &all,
                &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
            )
            .map_err(err)?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(err)?;
            let text = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let id = text(self.fields.id);
            let Some((fields, q)) = text_queries
                .iter()
                .find(|(f, _)| doc.get_first(f[0]).is_some())
            else {
                continue;
            };
            let title = text(fields[0]);
            let mut snippet_html = String::new();
            for f in [fields[1], fields[2], fields[0]] {
                let generator = SnippetGenerator::create(&searcher, q.as_ref(), f).map_err(err)?;
                let s = generator.snippet_from_doc(&doc);
                if !s.highlighted().is_empty() {
                    snippet_html = s.to_html();
                    break;
                }
            }
            if snippet_html.is_empty() {
                // Found by a symptom tag: the start of the question, escaped.
                let start: String = text(fields[1]).chars().take(150).collect();
                snippet_html = escape(&start);
            }
            out.push(Found {
                id,
                title,
                snippet_html,
                score,
            });
        }
        Ok(out)
    }
}

/// Indexes a question again after a change, logging a failure (the records are safe; the
/// index catches up on the next change or start).
pub fn reindex(state: &crate::state::AppState, question_id: &str) {
    if let Err(e) = state
        .qa_search
        .update(&state.ontology, &state.qa, question_id)
    {
        tracing::warn!(error = %e, "updating the question index failed");
    }
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
