//! Sending to the Q&A rooms: a queue in the database, drained in order.

use std::sync::Arc;

use raremesh_bridge::protocol::random_id;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{Outgoing, answer_content, question_content};
use crate::federation::state::{Key, Kind, QaOutEntry, QaTarget};
use crate::federation::{Federation, FederationError, FederationStore};
use crate::store::Batch;

/// Where Q&A changes queue what they share: the federation's queue, and a signal that
/// wakes its sender. Q&A holds this, not the federation.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: FederationStore,
    wake: Arc<Notify>,
}

impl Outbox {
    /// The queue kept in `store`.
    pub fn new(store: FederationStore) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Adds something to send to `batch`: queued when the batch is applied, together with
    /// the change it shares; [`crate::qa::Share::send_queued`] then sends it.
    pub fn queue_in(&self, batch: &mut Batch, op: &Outgoing) -> Result<(), FederationError> {
        let txn = random_id()?;
        let key = Key::QaOut {
            at: crate::clock::now_ms(),
            txn: &txn,
        };
        let entry = QaOutEntry {
            txn: txn.clone(),
            op: op.clone(),
        };
        let value = serde_json::to_string(&entry).map_err(|e| {
            FederationError::Matrix(format!("a Q&A event that cannot be kept: {e}"))
        })?;
        self.store.set_in(batch, key, &value);
        Ok(())
    }

    /// Returns when something was queued since the last call.
    pub(in crate::federation) async fn queued(&self) {
        self.wake.notified().await;
    }
}

impl crate::qa::Share for Outbox {
    fn queue_in(&self, batch: &mut Batch, op: &Outgoing) -> Result<(), String> {
        Outbox::queue_in(self, batch, op).map_err(|e| e.to_string())
    }

    fn send_queued(&self) {
        self.wake.notify_one();
    }
}

enum Sent {
    Done,
    /// Not possible yet (the question is not shared yet): kept.
    Later,
}

impl Federation {
    /// Writes something to send into the queue.
    pub(super) fn queue(&self, op: &Outgoing) -> Result<(), FederationError> {
        let mut batch = Batch::new();
        self.outbox.queue_in(&mut batch, op)?;
        self.store.kv().apply(&batch)?;
        Ok(())
    }

    /// Sends what is queued whenever Q&A queues something, until the process ends.
    pub(in crate::federation) async fn send_qa_when_queued(self: Arc<Self>) {
        loop {
            self.outbox.queued().await;
            self.send_qa().await;
        }
    }

    /// Sends what is queued, in order; what fails stays queued for the next round.
    pub(in crate::federation) async fn send_qa(&self) {
        let _guard = self.qa_out.lock().await;
        let entries = match self.store.scan(Kind::QaOut) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "reading the Q&A queue failed");
                return;
            }
        };
        for (key, raw) in entries {
            let Ok(QaOutEntry { txn, op }) = serde_json::from_str::<QaOutEntry>(&raw) else {
                self.store.unset_or_log(&key);
                continue;
            };
            match self.send_one(&txn, &op).await {
                Ok(Sent::Done) => {
                    self.store.unset_or_log(&key);
                }
                Ok(Sent::Later) => {}
                Err(e) if e.is_permanent() => {
                    tracing::warn!(error = %e, ?op, "a Q&A event the homeserver refuses: dropped");
                    self.store.unset_or_log(&key);
                }
                Err(e) => {
                    tracing::info!(error = %e, "sharing a Q&A event: will retry");
                    // Later entries may depend on this one (an answer on its question).
                    return;
                }
            }
        }
    }

    async fn send_one(&self, txn: &str, op: &Outgoing) -> Result<Sent, FederationError> {
        match op {
            Outgoing::Question { id } => {
                let Some(q) = self.local.qa.store.question(id)? else {
                    return Ok(Sent::Done);
                };
                if q.hidden.is_some() || q.origin.is_some() {
                    return Ok(Sent::Done);
                }
                let Some(room) = self.own_qa_room()? else {
                    return Err(FederationError::Matrix("no Q&A room yet".into()));
                };
                let event = self
                    .client
                    .send(
                        &room,
                        "m.room.message",
                        txn,
                        &question_content(&self.local.ontology, &q),
                    )
                    .await?
                    .to_string();
                self.store
                    .set_qa_event(&event, &QaTarget::Question(id.clone()))?;
                // Read again: it may have changed while it was being sent.
                let Some(mut now_q) = self.local.qa.store.question(id)? else {
                    return Ok(Sent::Done);
                };
                now_q.room = Some(room.clone());
                now_q.event_id = Some(event.clone());
                self.local.qa.store.save_question(&now_q)?;
                if now_q.hidden.is_some() {
                    // Withdrawn while it was being sent: queued, so it is retried.
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: event.clone(),
                        reason: "withdrawn".into(),
                    })?;
                } else if now_q.edited_at != q.edited_at {
                    self.queue(&Outgoing::EditQuestion { id: q.id.clone() })?;
                }
                Ok(Sent::Done)
            }
            Outgoing::Answer { question, id } => {
                let (Some(q), Some(a)) = (
                    self.local.qa.store.question(question)?,
                    self.local.qa.store.answer(question, id)?,
                ) else {
                    return Ok(Sent::Done);
                };
                if a.hidden.is_some() || q.hidden.is_some() {
                    return Ok(Sent::Done);
                }
                let (Some(room), Some(root)) = (q.room.clone(), q.event_id.clone()) else {
                    return Ok(if q.origin.is_some() {
                        Sent::Done
                    } else {
                        Sent::Later
                    });
                };
                let mut content = answer_content(&a);
                content["m.relates_to"] = json!({
                    "rel_type": "m.thread",
                    "event_id": root,
                    "is_falling_back": true,
                    "m.in_reply_to": { "event_id": root },
                });
                let event = self
                    .client
                    .send(&room, "m.room.message", txn, &content)
                    .await?
                    .to_string();
                self.store.set_qa_event(
                    &event,
                    &QaTarget::Answer {
                        question: question.clone(),
                        answer: id.clone(),
                    },
                )?;
                // Read again: it may have changed while it was being sent.
                let Some(mut now_a) = self.local.qa.store.answer(question, id)? else {
                    return Ok(Sent::Done);
                };
                now_a.event_id = Some(event.clone());
                self.local.qa.store.save_answer(&now_a)?;
                if now_a.hidden.is_some() {
                    // Withdrawn while it was being sent: queued, so it is retried.
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: event.clone(),
                        reason: "withdrawn".into(),
                    })?;
                } else if now_a.edited_at != a.edited_at {
                    self.queue(&Outgoing::EditAnswer {
                        question: question.clone(),
                        id: id.clone(),
                    })?;
                }
                Ok(Sent::Done)
            }
            Outgoing::EditQuestion { id } => {
                let Some(q) = self.local.qa.store.question(id)? else {
                    return Ok(Sent::Done);
                };
                if q.hidden.is_some() {
                    return Ok(Sent::Done);
                }
                let (Some(room), Some(event)) = (q.room.clone(), q.event_id.clone()) else {
                    return Ok(Sent::Later);
                };
                self.send_edit(
                    &room,
                    &event,
                    txn,
                    question_content(&self.local.ontology, &q),
                )
                .await
            }
            Outgoing::EditAnswer { question, id } => {
                let (Some(q), Some(a)) = (
                    self.local.qa.store.question(question)?,
                    self.local.qa.store.answer(question, id)?,
                ) else {
                    return Ok(Sent::Done);
                };
                if a.hidden.is_some() || q.hidden.is_some() {
                    return Ok(Sent::Done);
                }
                let (Some(room), Some(event)) = (q.room.clone(), a.event_id.clone()) else {
                    return Ok(Sent::Later);
                };
                self.send_edit(&room, &event, txn, answer_content(&a)).await
            }
            Outgoing::Redact {
                room,
                event,
                reason,
            } => {
                self.client.redact(room, event, txn, reason).await?;
                let edits = Kind::QaEditsOf(event);
                for (key, _) in self.store.scan(edits)? {
                    let edit = key.rest(&edits).to_owned();
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: edit,
                        reason: reason.clone(),
                    })?;
                    self.store.unset_name(&key)?;
                }
                Ok(Sent::Done)
            }
        }
    }

    /// Sends `new` as the replacement of `event` (an `m.replace` edit), and remembers the
    /// edit so that it is withdrawn with the original (it carries the text too).
    async fn send_edit(
        &self,
        room: &str,
        event: &str,
        txn: &str,
        new: Value,
    ) -> Result<Sent, FederationError> {
        let content = json!({
            "msgtype": "m.text",
            "body": format!("* {}", new["body"].as_str().unwrap_or_default()),
            "m.new_content": new,
            "m.relates_to": { "rel_type": "m.replace", "event_id": event },
        });
        let edit = self
            .client
            .send(room, "m.room.message", txn, &content)
            .await?;
        self.store.flag(Key::QaEdit {
            event,
            edit: edit.as_str(),
        })?;
        Ok(Sent::Done)
    }
}
