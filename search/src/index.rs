//! The tantivy index of labels: its schema, and building or reopening it on disk.

use std::path::{Path, PathBuf};

use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexWriter, TantivyDocument, doc};

use crate::labels::{Label, Target};
use crate::{Error, Result, text};

/// Bump when the schema or the label order changes: older folders are then rebuilt.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The label index schema and its field handles.
#[derive(Debug, Clone)]
pub(crate) struct LabelSchema {
    pub schema: Schema,
    /// The label text, tokenized by [`text::analyzer`]. Primary content.
    pub label: Field,
    /// Position of the label in the label table (fast field): the primary key.
    pub ord: Field,
    /// `term` or `disease`, for filtering.
    pub domain: Field,
    /// The label's language (`en`, `es`...), for filtering.
    pub lang: Field,
}

pub(crate) const DOMAIN_TERM: &str = "term";
pub(crate) const DOMAIN_DISEASE: &str = "disease";

impl LabelSchema {
    pub fn new() -> Self {
        let mut b = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(text::ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs);
        let label = b.add_text_field(
            "label",
            TextOptions::default().set_indexing_options(indexing),
        );
        let ord = b.add_u64_field("ord", FAST);
        let domain = b.add_text_field("domain", STRING);
        let lang = b.add_text_field("lang", STRING);
        Self {
            schema: b.build(),
            label,
            ord,
            domain,
            lang,
        }
    }

    /// Checks that an index opened from disk has exactly this schema.
    fn check(&self, index: &Index) -> bool {
        index.schema() == self.schema
    }
}

/// Opens the index kept in `base` for this `key`, or builds it there (atomically) if it is
/// missing or unusable; with no `base`, builds it in memory.
pub(crate) fn open_or_build(
    schema: &LabelSchema,
    labels: &[Label],
    base: Option<&Path>,
    key: &str,
) -> Result<(Index, bool)> {
    let Some(base) = base else {
        let index = Index::create_in_ram(schema.schema.clone());
        register(&index);
        fill(&index, schema, labels)?;
        return Ok((index, true));
    };
    let dir = base.join(format!("labels-{key}-v{SCHEMA_VERSION}"));
    if dir.join(READY).is_file() {
        match open(&dir, schema, labels.len()) {
            Ok(index) => return Ok((index, false)),
            Err(e) => tracing::warn!("rebuilding search index: {e}"),
        }
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    let tmp = base.join(format!(".building-{}-{}", std::process::id(), key));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    let index = Index::create_in_dir(&tmp, schema.schema.clone())?;
    register(&index);
    fill(&index, schema, labels)?;
    std::fs::write(tmp.join(READY), b"ok\n").map_err(|e| io(&tmp, e))?;
    drop(index);
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        // Another process finished first: use its copy.
        if !dir.join(READY).is_file() {
            return Err(io(&dir, e));
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok((open(&dir, schema, labels.len())?, true))
}

const READY: &str = "READY";

fn open(dir: &Path, schema: &LabelSchema, n_labels: usize) -> Result<Index> {
    let index = Index::open_in_dir(dir)?;
    register(&index);
    if !schema.check(&index) {
        return Err(Error::Mismatch(dir.to_owned()));
    }
    let reader = index.reader()?;
    if reader.searcher().num_docs() != n_labels as u64 {
        return Err(Error::Mismatch(dir.to_owned()));
    }
    Ok(index)
}

fn register(index: &Index) {
    index
        .tokenizers()
        .register(text::ANALYZER, text::analyzer());
}

fn fill(index: &Index, schema: &LabelSchema, labels: &[Label]) -> Result<()> {
    let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 50_000_000)?;
    for (i, l) in labels.iter().enumerate() {
        let domain = match l.target {
            Target::Term(_) => DOMAIN_TERM,
            Target::Disease(_) => DOMAIN_DISEASE,
        };
        writer.add_document(doc!(
            schema.label => l.text.as_str(),
            schema.ord => i as u64,
            schema.domain => domain,
            schema.lang => l.lang.as_str(),
        ))?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

fn io(path: &Path, error: std::io::Error) -> Error {
    Error::Io {
        path: PathBuf::from(path),
        error,
    }
}
