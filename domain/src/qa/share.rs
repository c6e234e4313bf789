//! Sharing questions and answers with partner organizations, seen from Q&A: what is
//! shared ([`Outgoing`]) and who shares it ([`Share`], the federation when it runs). Q&A
//! queues what a change shares in the change's own batch and never calls the federation
//! by name.

use serde::{Deserialize, Serialize};

use crate::store::Batch;

/// Something to send to the Q&A rooms (kept until the homeserver took it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Outgoing {
    /// A question asked here (or restored): the root of a thread in the node's room.
    Question {
        /// The question.
        id: String,
    },
    /// An answer by a member of this node, in the question's thread.
    Answer {
        /// The question.
        question: String,
        /// The answer.
        id: String,
    },
    /// The new text of a question.
    EditQuestion {
        /// The question.
        id: String,
    },
    /// The new text of an answer.
    EditAnswer {
        /// The question.
        question: String,
        /// The answer.
        id: String,
    },
    /// Withdraws an event.
    Redact {
        /// The room.
        room: String,
        /// The event.
        event: String,
        /// Why (shown by clients).
        reason: String,
    },
}

/// Whoever shares Q&A changes with partner organizations.
pub trait Share: Send + Sync {
    /// Adds `op` to `batch`: queued when the batch is applied, together with the change
    /// it shares.
    fn queue_in(&self, batch: &mut Batch, op: &Outgoing) -> Result<(), String>;
    /// Starts sending what is queued (returns at once; the sending runs elsewhere).
    fn send_queued(&self);
}
