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
        self.queue_at(batch, op, crate::clock::now_ms(), None)
    }

    /// Like [`Outbox::queue_in`], at `at` (milliseconds), the `nth` of events queued
    /// together (their transaction ids sort in that order within the millisecond).
    fn queue_at(
        &self,
        batch: &mut Batch,
        op: &Outgoing,
        at: u64,
        nth: Option<usize>,
    ) -> Result<(), FederationError> {
        let txn = match nth {
            Some(n) => format!("{n:06}{}", random_id()?),
            None => random_id()?,
        };
        let key = Key::QaOut { at, txn: &txn };
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

    /// Writes events to send into the queue, in this order, and wakes the sender.
    pub(super) fn queue_all(&self, ops: &[Outgoing]) -> Result<(), FederationError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        let at = crate::clock::now_ms();
        for (i, op) in ops.iter().enumerate() {
            self.outbox.queue_at(&mut batch, op, at, Some(i))?;
        }
        self.store.kv().apply(&batch)?;
        self.outbox.wake.notify_one();
        Ok(())
    }

    /// Whether a Q&A room is end-to-end encrypted (remembered once known).
    pub(in crate::federation) async fn qa_room_encrypted(
        &self,
        room: &str,
    ) -> Result<bool, FederationError> {
        if self.store.flagged(Key::QaEncrypted(room))? {
            return Ok(true);
        }
        let encrypted = self.client.is_encrypted(room).await?;
        if encrypted {
            self.store.flag(Key::QaEncrypted(room))?;
        }
        Ok(encrypted)
    }

    /// The node's device, when it is in `room`, with the room's id.
    fn device_in(
        &self,
        room: &str,
    ) -> Result<
        (
            raremesh_bridge::device::Device,
            raremesh_bridge::ruma::OwnedRoomId,
        ),
        FederationError,
    > {
        let not_in = || FederationError::NotInRoom(room.to_owned());
        let device = self.device().ok_or_else(not_in)?;
        let id: raremesh_bridge::ruma::OwnedRoomId =
            raremesh_bridge::client::parse_id("room id", room)?;
        if !device.joined_rooms().contains(&id) {
            return Err(not_in());
        }
        Ok((device, id))
    }

    /// Sends a Q&A message: through the node's device, encrypted, in an encrypted room
    /// (never in clear there: while the device is not in the room, it waits); as the
    /// application service in a plain room. The event's id.
    async fn send_message(
        &self,
        room: &str,
        txn: &str,
        content: &Value,
    ) -> Result<String, FederationError> {
        if !self.qa_room_encrypted(room).await? {
            return Ok(self
                .client
                .send(room, "m.room.message", txn, content)
                .await?
                .to_string());
        }
        let (device, id) = self.device_in(room)?;
        Ok(device
            .send(&id, "m.room.message", txn, content)
            .await?
            .to_string())
    }

    /// Redacts a Q&A event: in an encrypted room, through the node's device when the
    /// device sent it (a peer's room, where only an event's sender may), else as the
    /// application service (the room's owner, or an event it sent).
    async fn redact_message(
        &self,
        room: &str,
        event: &str,
        txn: &str,
        reason: &str,
    ) -> Result<(), FederationError> {
        let mine = self.own_qa_room()?.as_deref() == Some(room);
        if !mine && self.qa_room_encrypted(room).await? {
            let (device, id) = self.device_in(room)?;
            match device.redact(&id, event, txn, reason).await {
                // Not the device's event: sent by the application service before the
                // room was encrypted.
                Err(e) if e.status() == Some(403) => {}
                other => return Ok(other?),
            }
        }
        Ok(self.client.redact(room, event, txn, reason).await?)
    }

    /// What this node wrote in a Q&A room, queued again: its questions (in its own room)
    /// and its members' answers. A device that joins an encrypted room cannot read what
    /// was encrypted before it came, so when a trusted peer's device joins, and when a
    /// question moves to a new room, it is sent again; receivers keep one copy by id.
    pub(in crate::federation) fn resend_in(&self, room: &str) -> Result<usize, FederationError> {
        let Some(owner) = self.qa_room_owner(room)? else {
            return Ok(0);
        };
        let mine = owner == self.config.user_id();
        let mut ops = Vec::new();
        for q in self.local.qa.store.questions()? {
            if q.hidden.is_some() {
                continue;
            }
            let own = mine && q.origin.is_none();
            if own {
                ops.push(Outgoing::Question { id: q.id.clone() });
            } else if q.room.as_deref() != Some(room) {
                continue;
            }
            ops.extend(self.own_answers(&q.id)?);
        }
        self.queue_all(&ops)?;
        Ok(ops.len())
    }

    /// The answers this node's members wrote to a question, to queue.
    pub(super) fn own_answers(&self, question: &str) -> Result<Vec<Outgoing>, FederationError> {
        Ok(self
            .local
            .qa
            .store
            .answers_of(question)?
            .into_iter()
            .filter(|a| a.origin.is_none() && a.hidden.is_none())
            .map(|a| Outgoing::Answer {
                question: question.to_owned(),
                id: a.id,
            })
            .collect())
    }

    /// A trusted peer's device joined a Q&A room this node writes in (seen in the device's
    /// own sync, so the device knows it is there): what this node wrote there is sent
    /// again, encrypted for it.
    pub(in crate::federation) fn resend_for_new_devices(
        self: &Arc<Self>,
        events: &[raremesh_bridge::event::Incoming],
    ) {
        let mut rooms: Vec<(String, String)> = Vec::new();
        for e in events {
            let Some(user) = e.state_key.as_deref() else {
                continue;
            };
            if e.membership() != Some("join") {
                continue;
            }
            let whose = self.principal(user);
            if whose == user || self.peer(&whose).is_none() {
                continue;
            }
            rooms.push((e.room_id.to_string(), user.to_owned()));
        }
        if rooms.is_empty() {
            return;
        }
        let f = self.clone();
        tokio::spawn(async move {
            for (room, user) in rooms {
                // In a plain room, what was sent is readable by anyone who joins.
                match f.qa_room_encrypted(&room).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(%room, error = %e, "reading whether a Q&A room is encrypted failed");
                        continue;
                    }
                }
                match f.resend_in(&room) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(%room, device = user, events = n, "a partner's device joined a Q&A room: what this node wrote there is sent again")
                    }
                    Err(e) => tracing::warn!(%room, error = %e, "queueing Q&A events again failed"),
                }
            }
        });
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
                // Waits for the device to be in that room; other rooms' events go on (an
                // answer waits anyway for its question's event).
                Err(FederationError::NotInRoom(room)) => {
                    tracing::debug!(%room, "a Q&A event waits for the node's device to join");
                }
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
                    .send_message(&room, txn, &question_content(&self.local.ontology, &q))
                    .await?;
                self.store
                    .set_qa_event(&event, &QaTarget::Question(id.clone()))?;
                // Read again: it may have changed while it was being sent.
                let Some(mut now_q) = self.local.qa.store.question(id)? else {
                    return Ok(Sent::Done);
                };
                let earlier = now_q.event_id.replace(event.clone());
                let same_room = now_q.room.as_deref() == Some(room.as_str());
                now_q.room = Some(room.clone());
                self.local.qa.store.save_question(&now_q)?;
                // Sent again: the earlier copy goes (receivers do not take it for a
                // withdrawal).
                if let Some(earlier) = earlier.filter(|e| same_room && *e != event) {
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: earlier,
                        reason: super::MOVED_REASON.into(),
                    })?;
                }
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
                let event = self.send_message(&room, txn, &content).await?;
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
                let earlier = now_a.event_id.replace(event.clone());
                self.local.qa.store.save_answer(&now_a)?;
                // Sent again: the earlier copy goes, where it still is (an answer to a
                // question that moved was in another room: that redaction is refused and
                // dropped).
                if let Some(earlier) = earlier.filter(|e| *e != event) {
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: earlier,
                        reason: super::MOVED_REASON.into(),
                    })?;
                }
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
                self.redact_message(room, event, txn, reason).await?;
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
        let edit = self.send_message(room, txn, &content).await?;
        self.store.flag(Key::QaEdit {
            event,
            edit: edit.as_str(),
        })?;
        Ok(Sent::Done)
    }
}
