//! The questions a member can find: the index itself is `raremesh_search::questions`;
//! here is what goes into it (every question not hidden, with its visible answers),
//! rebuilt at start and updated after each change.

use raremesh_ontology::Ontology;
use raremesh_search::questions::QuestionDoc;
pub use raremesh_search::questions::{Found, LANGUAGES, MAX_QUERY_CHARS, QuestionIndex, escape};

use super::{Answer, Qa, Question};
use crate::store::StoreError;

fn index_error(e: raremesh_search::Error) -> StoreError {
    StoreError::Backend(format!("question index: {e}"))
}

/// What the index reads of a question shown to members (`None` when hidden).
fn doc<'a>(q: &'a Question, answers: &'a [&'a str]) -> Option<QuestionDoc<'a>> {
    q.hidden.is_none().then_some(QuestionDoc {
        id: &q.id,
        language: &q.language,
        title: &q.title,
        body: &q.body,
        answers,
        tags: &q.tags,
    })
}

fn visible(answers: &[Answer], question: &str) -> Vec<String> {
    answers
        .iter()
        .filter(|a| a.question_id == question && a.hidden.is_none())
        .map(|a| a.body.clone())
        .collect()
}

/// The index of every question shown in `qa`.
pub fn build(ontology: &Ontology, qa: &Qa) -> Result<QuestionIndex, StoreError> {
    let questions = qa.questions()?;
    let answers = qa.all_answers()?;
    let bodies: Vec<Vec<String>> = questions.iter().map(|q| visible(&answers, &q.id)).collect();
    let refs: Vec<Vec<&str>> = bodies
        .iter()
        .map(|b| b.iter().map(String::as_str).collect())
        .collect();
    QuestionIndex::new(
        ontology,
        questions.iter().zip(&refs).filter_map(|(q, a)| doc(q, a)),
    )
    .map_err(index_error)
}

/// Indexes a question again (after it, or one of its answers, changed).
pub fn update(
    index: &QuestionIndex,
    ontology: &Ontology,
    qa: &Qa,
    question_id: &str,
) -> Result<(), StoreError> {
    // Read under the index's lock, so that the last commit holds the latest records.
    let writer = index.writer().map_err(index_error)?;
    let q = qa.question(question_id)?;
    let bodies = visible(&qa.answers_of(question_id)?, question_id);
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    writer
        .replace(
            ontology,
            question_id,
            q.as_ref().and_then(|q| doc(q, &refs)),
        )
        .map_err(index_error)
}

/// Indexes a question again after a change, logging a failure (the records are safe; the
/// index catches up on the next change or start).
pub fn reindex(qa: &super::Service, question_id: &str) {
    if let Err(e) = update(&qa.index, &qa.ontology, &qa.store, question_id) {
        tracing::warn!(error = %e, "updating the question index failed");
    }
}

/// The questions best matching `query`, at most `limit`.
pub fn search(qa: &super::Service, query: &str, limit: usize) -> Result<Vec<Found>, StoreError> {
    qa.index
        .search(&qa.ontology, &qa.autocomplete, query, limit)
        .map_err(index_error)
}
