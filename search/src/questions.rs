//! Full-text search over a node's community questions and their answers (tantivy, in
//! memory): each question's text is analysed in its own language (English, Spanish,
//! French: lowercased, stemmed, accents folded), and its symptom tags are indexed with all
//! their ancestors, so a search for a symptom also finds questions tagged with a more
//! specific one ("Seizure" finds "Focal seizure"). The node gives the questions it shows
//! ([`QuestionDoc`]); what is hidden it does not give.

use std::sync::Mutex;

use raremesh_ontology::{HpoId, Ontology};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, QueryParser, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

use crate::{Autocomplete, Error, Result};

/// A question as the index reads it.
#[derive(Debug, Clone, Copy)]
pub struct QuestionDoc<'a> {
    /// Its id.
    pub id: &'a str,
    /// The language it is written in (`en`, `es`, `fr`; another is read as English).
    pub language: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its text.
    pub body: &'a str,
    /// The text of its visible answers.
    pub answers: &'a [&'a str],
    /// Its symptom tags.
    pub tags: &'a [HpoId],
}

/// The languages questions are analysed in.
pub const LANGUAGES: [&str; 3] = ["en", "es", "fr"];

/// The longest query accepted (characters).
pub const MAX_QUERY_CHARS: usize = 200;

/// The weight of a symptom tag the query names in English, against 1 for a word of a
/// question.
const TAG_BOOST: f32 = 3.0;
/// The weight of a symptom tag the query names only in Spanish or French.
const TRANSLATED_TAG_BOOST: f32 = 0.3;
/// Words of at least this many characters (as indexed) are also looked for with one typo.
const FUZZY_FROM: usize = 5;
/// The weight of a match with a typo, against 1 for an exact one.
const FUZZY_BOOST: f32 = 0.3;

struct Fields {
    id: Field,
    tags: Field,
    /// Per language: title, body, answers.
    text: Vec<[Field; 3]>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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
pub struct QuestionIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
}

impl std::fmt::Debug for QuestionIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuestionIndex")
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

fn poisoned<T>(_: T) -> Error {
    Error::Index(tantivy::TantivyError::InternalError(
        "question index lock poisoned".into(),
    ))
}

impl QuestionIndex {
    /// An index of `questions`.
    pub fn new<'a>(
        ontology: &Ontology,
        questions: impl IntoIterator<Item = QuestionDoc<'a>>,
    ) -> Result<Self> {
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
        let writer = index.writer_with_num_threads(1, 30_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        let s = Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields: Fields { id, tags, text },
        };
        {
            let mut w = s.writer.lock().map_err(poisoned)?;
            for q in questions {
                w.add_document(s.document(ontology, &q))?;
            }
            w.commit()?;
        }
        s.reader.reload()?;
        Ok(s)
    }

    fn document(&self, ontology: &Ontology, q: &QuestionDoc<'_>) -> TantivyDocument {
        let l = LANGUAGES.iter().position(|l| *l == q.language).unwrap_or(0);
        let [title, body, ans] = self.fields.text[l];
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.id, q.id);
        doc.add_text(title, q.title);
        doc.add_text(body, q.body);
        doc.add_text(ans, q.answers.join("\n\n"));
        let mut seen = std::collections::HashSet::new();
        for t in q.tags {
            if let Some(i) = ontology.resolve(*t) {
                for a in ontology.ancestors(i) {
                    if seen.insert(*a) {
                        doc.add_text(self.fields.tags, ontology.term(*a).id.to_string());
                    }
                }
            }
        }
        doc
    }

    /// The index held for one change: read the records after taking it, so that the
    /// last commit holds the latest of them.
    pub fn writer(&self) -> Result<Writer<'_>> {
        Ok(Writer {
            index: self,
            writer: self.writer.lock().map_err(poisoned)?,
        })
    }

    /// The symptoms a query names: an HPO id, or, word for word (case, accents and a
    /// plural ending aside), a name or synonym of a term in English, Spanish or French
    /// ("convulsiones" names Seizure).
    pub fn symptoms_of(
        ontology: &Ontology,
        autocomplete: &Autocomplete,
        query: &str,
    ) -> Vec<HpoId> {
        Self::named(ontology, autocomplete, query)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// [`QuestionIndex::symptoms_of`], with the weight of each in a search: a symptom
    /// named in English (as the tags are) weighs more than a question's own words; one
    /// named only through a translation less, so that a question saying the member's
    /// word comes before one only tagged with it.
    fn named(ontology: &Ontology, autocomplete: &Autocomplete, query: &str) -> Vec<(HpoId, f32)> {
        let wanted = query.trim().to_lowercase();
        let mut out: Vec<(HpoId, f32)> = Vec::new();
        for lang in LANGUAGES {
            for h in autocomplete.terms_in(ontology, query.trim(), 5, lang) {
                if !(h.score.is_infinite() || h.confident || h.matched.to_lowercase() == wanted) {
                    continue;
                }
                if let crate::Target::Term(t) = h.target {
                    let id = ontology.term(t).id;
                    let boost = if h.lang == "en" || h.score.is_infinite() {
                        TAG_BOOST
                    } else {
                        TRANSLATED_TAG_BOOST
                    };
                    match out.iter_mut().find(|(i, _)| *i == id) {
                        Some((_, b)) => *b = b.max(boost),
                        None => out.push((id, boost)),
                    }
                }
            }
        }
        out
    }

    /// Words of the query as the index of `lang` reads them, long enough to be looked
    /// for with one typo ("siezure" finds "seizure").
    fn fuzzy_words(&self, lang: &str, query: &str) -> Vec<String> {
        let Some(mut analyzer) = self.index.tokenizers().get(&format!("qa_{lang}")) else {
            return Vec::new();
        };
        let mut words = Vec::new();
        let mut stream = analyzer.token_stream(query);
        while stream.advance() {
            let w = stream.token().text.clone();
            if w.chars().count() >= FUZZY_FROM && !words.contains(&w) {
                words.push(w);
            }
        }
        words
    }

    /// The questions best matching `query`, at most `limit`.
    pub fn search(
        &self,
        ontology: &Ontology,
        autocomplete: &Autocomplete,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Found>> {
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
        // One typo per word, below exact matches.
        for (lang, fields) in LANGUAGES.iter().zip(&self.fields.text) {
            for word in self.fuzzy_words(lang, &query) {
                for f in fields {
                    parts.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(
                                Term::from_field_text(*f, &word),
                                1,
                                true,
                            )),
                            FUZZY_BOOST,
                        )),
                    ));
                }
            }
        }
        for (t, boost) in Self::named(ontology, autocomplete, &query) {
            parts.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.tags, &t.to_string()),
                        IndexRecordOption::Basic,
                    )),
                    boost,
                )),
            ));
        }
        let all = BooleanQuery::new(parts);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &all,
            &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
        )?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
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
                let generator = SnippetGenerator::create(&searcher, q.as_ref(), f)?;
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

/// The index taken for one change ([`QuestionIndex::writer`]).
pub struct Writer<'a> {
    index: &'a QuestionIndex,
    writer: std::sync::MutexGuard<'a, IndexWriter<TantivyDocument>>,
}

impl Writer<'_> {
    /// Puts question `id` in the index as `question` is now (`None`: no longer shown),
    /// and makes it searchable.
    pub fn replace(
        mut self,
        ontology: &Ontology,
        id: &str,
        question: Option<QuestionDoc<'_>>,
    ) -> Result<()> {
        let fields = &self.index.fields;
        self.writer
            .delete_term(Term::from_field_text(fields.id, id));
        if let Some(q) = question {
            self.writer
                .add_document(self.index.document(ontology, &q))?;
        }
        self.writer.commit()?;
        drop(self.writer);
        self.index.reader.reload()?;
        Ok(())
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
