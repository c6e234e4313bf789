//! One change to questions and answers, written at once: the records, the notices it
//! causes, its audit entry and the events queued for partners land in one batch, so a
//! stop never keeps half of it. The search index and the sending follow the commit.

use super::Outgoing;
use super::Service;
use super::{Answer, Question};
use crate::store::{Batch, StoreError};

/// The writes of one Q&A change, applied by [`Change::commit`].
#[derive(Debug)]
pub struct Change<'a> {
    qa: &'a Service,
    batch: Batch,
    reindex: Vec<String>,
    shares: bool,
}

impl<'a> Change<'a> {
    /// An empty change.
    pub fn new(qa: &'a Service) -> Self {
        Self {
            qa,
            batch: Batch::new(),
            reindex: Vec::new(),
            shares: false,
        }
    }

    /// Saves a question.
    pub fn question(&mut self, q: &Question) {
        self.qa.store.save_question_in(&mut self.batch, q);
    }

    /// Saves an answer.
    pub fn answer(&mut self, a: &Answer) {
        self.qa.store.save_answer_in(&mut self.batch, a);
    }

    /// Sends `op` to the partner organizations (queued with the change; nothing without
    /// federation).
    pub fn share(&mut self, op: Outgoing) {
        if let Some(f) = self.qa.share() {
            match f.queue_in(&mut self.batch, &op) {
                Ok(()) => self.shares = true,
                Err(e) => tracing::warn!(error = %e, "queueing a Q&A event failed"),
            }
        }
    }

    /// Updates a question's search entry once the change is applied.
    pub fn reindex(&mut self, question_id: &str) {
        if !self.reindex.iter().any(|q| q == question_id) {
            self.reindex.push(question_id.to_owned());
        }
    }

    /// The batch, for the other writes that go with the change (notices, audit).
    pub fn batch(&mut self) -> &mut Batch {
        &mut self.batch
    }

    /// Applies every write at once, then updates the index and starts sending.
    pub fn commit(self) -> Result<(), StoreError> {
        self.qa.kv.apply(&self.batch)?;
        for q in &self.reindex {
            super::search::reindex(self.qa, q);
        }
        if self.shares
            && let Some(f) = self.qa.share()
        {
            f.send_queued();
        }
        Ok(())
    }
}
