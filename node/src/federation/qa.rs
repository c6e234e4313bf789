//! Community questions across the federation. Each node has one Q&A room, to which it
//! invites its trusted peers (and members' own Matrix accounts, on request); each question
//! asked on the node is the root of a thread there, and answers are replies in the thread.
//!
//! Every event is a normal `m.room.message` whose `body` any Matrix client shows; the
//! node's events also carry their data under `org.raremesh.qa.question` or
//! `org.raremesh.qa.answer` (tags, disease, language, pseudonymous author). Edits are
//! `m.replace` relations, deletions and moderation are redactions. See `docs/qa.md`.

use std::sync::Arc;

use raremesh_bridge::protocol::random_id;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Federation, FederationError};
use crate::qa::actions::{MAX_BODY, language, text, title as one_line_title};
use crate::qa::{Answer, Hidden, Question, notices};
use crate::registration::now;
use crate::state::AppState;
use crate::store::StoreError;

/// The name of the nodes' Q&A rooms.
pub const QA_ROOM_NAME: &str = "raremesh questions";
/// The content key of a question's data.
pub const QUESTION_KEY: &str = "org.raremesh.qa.question";
/// The content key of an answer's data.
pub const ANSWER_KEY: &str = "org.raremesh.qa.answer";

const OWN_QA_ROOM: &str = "own_qa_room";

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

/// A question's data in its event.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuestionWire {
    id: String,
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    disease: Option<String>,
    language: String,
    author: String,
    created_at: u64,
}

/// An answer's data in its event.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AnswerWire {
    id: String,
    question: String,
    author: String,
    body: String,
}

fn id_ok(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn question_text(state: &AppState, q: &Question) -> String {
    let o = &state.ontology;
    let tags: Vec<String> = q
        .tags
        .iter()
        .filter_map(|t| o.resolve(*t).map(|i| o.term(i).name.clone()))
        .collect();
    let mut s = format!("Question from {}: {}\n\n{}", q.author, q.title, q.body);
    if !tags.is_empty() {
        s.push_str(&format!("\n\nSymptoms: {}", tags.join(", ")));
    }
    if let Some(d) = q.disease.and_then(|c| o.disease(c)) {
        s.push_str(&format!("\nDisease: {}", d.name));
    }
    s.push_str("\n\nReply in this thread to answer.");
    s
}

fn question_content(state: &AppState, q: &Question) -> Value {
    let wire = QuestionWire {
        id: q.id.clone(),
        title: q.title.clone(),
        body: q.body.clone(),
        tags: q.tags.iter().map(ToString::to_string).collect(),
        disease: q.disease.map(|d| d.to_string()),
        language: q.language.clone(),
        author: q.author.clone(),
        created_at: q.created_at,
    };
    json!({ "msgtype": "m.text", "body": question_text(state, q), QUESTION_KEY: wire })
}

fn answer_content(a: &Answer) -> Value {
    let wire = AnswerWire {
        id: a.id.clone(),
        question: a.question_id.clone(),
        author: a.author.clone(),
        body: a.body.clone(),
    };
    json!({ "msgtype": "m.text", "body": format!("{}: {}", a.author, a.body), ANSWER_KEY: wire })
}

enum Sent {
    Done,
    /// Not possible yet (the question is not shared yet): kept.
    Later,
}

impl Federation {
    /// The node's Q&A room, once created.
    pub fn own_qa_room(&self) -> Result<Option<String>, StoreError> {
        self.store.get(OWN_QA_ROOM)
    }

    /// The Q&A rooms of this node and of its peers that it joined.
    pub fn qa_rooms(&self) -> Result<Vec<String>, StoreError> {
        let mut v: Vec<String> = self.own_qa_room()?.into_iter().collect();
        for (_, room) in self.store.scan("peer_qa_room:")? {
            if self.store.get(&format!("qa_joined:{room}"))?.is_some() {
                v.push(room);
            }
        }
        Ok(v)
    }

    /// Whose Q&A room `room` is (this node's service user id, or a peer's).
    pub fn qa_room_owner(&self, room: &str) -> Result<Option<String>, StoreError> {
        if self.own_qa_room()?.as_deref() == Some(room) {
            return Ok(Some(self.config.user_id()));
        }
        Ok(self
            .store
            .scan("peer_qa_room:")?
            .into_iter()
            .find(|(_, r)| r == room)
            .map(|(k, _)| k.trim_start_matches("peer_qa_room:").to_owned()))
    }

    /// Creates the node's Q&A room if needed, invites the peers, joins the peers' rooms.
    pub(super) async fn ensure_qa_room(&self, state: &AppState) -> Result<(), FederationError> {
        let room = match self.own_qa_room()? {
            Some(r) => r,
            None => {
                let room = self
                    .client
                    .create_room(
                        QA_ROOM_NAME,
                        &[],
                        json!({ "topic": "Community questions: each question is a thread; reply in it to answer." }),
                    )
                    .await?;
                self.store.set(OWN_QA_ROOM, &room)?;
                tracing::info!(%room, "Q&A room created");
                room
            }
        };
        for p in self.peers.keys() {
            if self.store.get(&format!("qa_invited:{p}"))?.is_none() {
                match self.client.invite(&room, p).await {
                    Ok(()) => self.store.set(&format!("qa_invited:{p}"), "1")?,
                    Err(e) => {
                        tracing::warn!(peer = %p, error = %e, "inviting a peer to the Q&A room failed; will retry")
                    }
                }
            }
        }
        for (name, _) in self.store.scan("qa_invited:")? {
            let p = name.trim_start_matches("qa_invited:");
            if !self.peers.contains_key(p) {
                match self.client.kick(&room, p, "no longer a trusted peer").await {
                    Ok(()) => self.store.unset(&name)?,
                    Err(FederationError::Matrix(m)) if m.contains("403") => {
                        self.store.unset(&name)?
                    }
                    Err(e) => {
                        tracing::warn!(peer = %p, error = %e, "removing a former peer from the Q&A room failed")
                    }
                }
            }
        }
        for (name, room) in self.store.scan("peer_qa_room:")? {
            let p = name.trim_start_matches("peer_qa_room:");
            if !self.peers.contains_key(p) {
                let _ = self.client.leave(&room).await;
                // A former peer's questions are no longer shared here (the room record goes
                // last, so an interrupted pass is done again).
                for mut q in state.qa.questions()? {
                    if q.origin.as_deref() == Some(p) && !(q.title.is_empty() && q.body.is_empty())
                    {
                        q.title.clear();
                        q.body.clear();
                        if q.hidden.is_none() {
                            q.hidden = Some(Hidden {
                                reason: "No longer shared: that organization left the federation."
                                    .into(),
                                by: p.to_owned(),
                                at: now(),
                                deleted: false,
                            });
                        }
                        state.qa.save_question(&q)?;
                        reindex(state, &q.id);
                    }
                }
                self.store.unset(&name)?;
            } else if self.store.get(&format!("qa_joined:{room}"))?.is_none() {
                match self.client.join(&room).await {
                    Ok(()) => {
                        self.store.set(&format!("qa_joined:{room}"), "1")?;
                        tracing::info!(%room, "joined a peer's Q&A room");
                    }
                    Err(e) => tracing::info!(%room, error = %e, "joining a Q&A room: will retry"),
                }
            }
        }
        Ok(())
    }

    /// A trusted peer invited this node to its Q&A room: joins it (retrying a few times).
    pub(super) async fn join_qa_room(&self, room: &str) {
        for attempt in 0..10u64 {
            match self.client.join(room).await {
                Ok(()) => {
                    if let Err(e) = self.store.set(&format!("qa_joined:{room}"), "1") {
                        tracing::warn!(error = %e, "recording a joined room failed");
                    }
                    tracing::info!(%room, "joined a peer's Q&A room");
                    return;
                }
                Err(e) => {
                    tracing::info!(%room, attempt, error = %e, "joining a Q&A room: will retry");
                    tokio::time::sleep(std::time::Duration::from_millis(300 * (attempt + 1))).await;
                }
            }
        }
    }

    /// Invites a member's Matrix account to every Q&A room the node is in; how many.
    pub async fn invite_to_qa(&self, user_id: &str) -> Result<usize, FederationError> {
        let rooms = self.qa_rooms()?;
        for room in &rooms {
            match self.client.invite(room, user_id).await {
                Ok(()) => {}
                // Already in the room, or invited.
                Err(FederationError::Matrix(m)) if m.contains("403") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(rooms.len())
    }

    /// Writes something to send into the queue.
    fn queue(&self, op: &Outgoing) -> Result<(), FederationError> {
        let txn = random_id()?;
        let entry = json!({ "txn": txn, "op": op });
        let key = format!("qa_out:{:020}:{txn}", super::now_ms());
        self.store.set(&key, &entry.to_string())?;
        Ok(())
    }

    /// Queues something to send and starts sending.
    pub fn enqueue_qa(self: &Arc<Self>, state: &AppState, op: Outgoing) {
        if let Err(e) = self.queue(&op) {
            tracing::warn!(error = %e, "queueing a Q&A event failed");
            return;
        }
        let (f, state) = (self.clone(), state.clone());
        tokio::spawn(async move { f.send_qa(&state).await });
    }

    /// Sends what is queued, in order; what fails stays queued for the next round.
    pub(super) async fn send_qa(&self, state: &AppState) {
        let _guard = self.qa_out.lock().await;
        let entries = match self.store.scan("qa_out:") {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "reading the Q&A queue failed");
                return;
            }
        };
        for (key, raw) in entries {
            let Ok(entry) = serde_json::from_str::<Value>(&raw) else {
                let _ = self.store.unset(&key);
                continue;
            };
            let txn = entry["txn"].as_str().unwrap_or("x").to_owned();
            let Ok(op) = serde_json::from_value::<Outgoing>(entry["op"].clone()) else {
                let _ = self.store.unset(&key);
                continue;
            };
            match self.send_one(state, &txn, &op).await {
                Ok(Sent::Done) => {
                    let _ = self.store.unset(&key);
                }
                Ok(Sent::Later) => {}
                Err(e) if permanent(&e) => {
                    tracing::warn!(error = %e, ?op, "a Q&A event the homeserver refuses: dropped");
                    let _ = self.store.unset(&key);
                }
                Err(e) => {
                    tracing::info!(error = %e, "sharing a Q&A event: will retry");
                    // Later entries may depend on this one (an answer on its question).
                    return;
                }
            }
        }
    }

    async fn send_one(
        &self,
        state: &AppState,
        txn: &str,
        op: &Outgoing,
    ) -> Result<Sent, FederationError> {
        match op {
            Outgoing::Question { id } => {
                let Some(q) = state.qa.question(id)? else {
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
                    .send(&room, "m.room.message", txn, &question_content(state, &q))
                    .await?;
                self.store
                    .set(&format!("qa_event:{event}"), &format!("q/{id}"))?;
                // Read again: it may have changed while it was being sent.
                let Some(mut now_q) = state.qa.question(id)? else {
                    return Ok(Sent::Done);
                };
                now_q.room = Some(room.clone());
                now_q.event_id = Some(event.clone());
                state.qa.save_question(&now_q)?;
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
                let (Some(q), Some(a)) =
                    (state.qa.question(question)?, state.qa.answer(question, id)?)
                else {
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
                    .await?;
                self.store
                    .set(&format!("qa_event:{event}"), &format!("a/{question}/{id}"))?;
                // Read again: it may have changed while it was being sent.
                let Some(mut now_a) = state.qa.answer(question, id)? else {
                    return Ok(Sent::Done);
                };
                now_a.event_id = Some(event.clone());
                state.qa.save_answer(&now_a)?;
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
                let Some(q) = state.qa.question(id)? else {
                    return Ok(Sent::Done);
                };
                if q.hidden.is_some() {
                    return Ok(Sent::Done);
                }
                let (Some(room), Some(event)) = (q.room.clone(), q.event_id.clone()) else {
                    return Ok(Sent::Later);
                };
                let new = question_content(state, &q);
                let content = json!({
                    "msgtype": "m.text",
                    "body": format!("* {}", new["body"].as_str().unwrap_or_default()),
                    "m.new_content": new,
                    "m.relates_to": { "rel_type": "m.replace", "event_id": event },
                });
                let edit = self
                    .client
                    .send(&room, "m.room.message", txn, &content)
                    .await?;
                // Withdrawn with the original (the edit carries the text too).
                self.store.set(&format!("qa_edit:{event}:{edit}"), "1")?;
                Ok(Sent::Done)
            }
            Outgoing::EditAnswer { question, id } => {
                let (Some(q), Some(a)) =
                    (state.qa.question(question)?, state.qa.answer(question, id)?)
                else {
                    return Ok(Sent::Done);
                };
                if a.hidden.is_some() || q.hidden.is_some() {
                    return Ok(Sent::Done);
                }
                let (Some(room), Some(event)) = (q.room.clone(), a.event_id.clone()) else {
                    return Ok(Sent::Later);
                };
                let new = answer_content(&a);
                let content = json!({
                    "msgtype": "m.text",
                    "body": format!("* {}", new["body"].as_str().unwrap_or_default()),
                    "m.new_content": new,
                    "m.relates_to": { "rel_type": "m.replace", "event_id": event },
                });
                let edit = self
                    .client
                    .send(&room, "m.room.message", txn, &content)
                    .await?;
                // Withdrawn with the original (the edit carries the text too).
                self.store.set(&format!("qa_edit:{event}:{edit}"), "1")?;
                Ok(Sent::Done)
            }
            Outgoing::Redact {
                room,
                event,
                reason,
            } => {
                self.client.redact(room, event, txn, reason).await?;
                for (key, _) in self.store.scan(&format!("qa_edit:{event}:"))? {
                    let edit = key[format!("qa_edit:{event}:").len()..].to_owned();
                    self.queue(&Outgoing::Redact {
                        room: room.clone(),
                        event: edit,
                        reason: reason.clone(),
                    })?;
                    self.store.unset(&key)?;
                }
                Ok(Sent::Done)
            }
        }
    }

    /// Applies one event of a Q&A room whose owner is `owner`; why it was dropped, if it was.
    pub(super) fn receive_qa(
        &self,
        state: &AppState,
        owner: &str,
        e: &Value,
    ) -> Result<Option<String>, FederationError> {
        let sender = e.get("sender").and_then(Value::as_str).unwrap_or_default();
        let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
        let event_id = e
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let room = e.get("room_id").and_then(Value::as_str).unwrap_or_default();
        let content = e.get("content").cloned().unwrap_or(Value::Null);
        let drop = |why: String| {
            tracing::warn!(%sender, "Q&A event dropped: {why}");
            Ok(Some(why))
        };
        if kind == "m.room.redaction" {
            let target = e
                .get("redacts")
                .or_else(|| content.get("redacts"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return self.withdraw(state, owner, room, sender, target);
        }
        if kind != "m.room.message" {
            return Ok(None);
        }
        let relation = content.get("m.relates_to").cloned().unwrap_or(Value::Null);
        let rel_type = relation.get("rel_type").and_then(Value::as_str);
        let related = relation
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if rel_type == Some("m.replace") {
            let new = content.get("m.new_content").cloned().unwrap_or(Value::Null);
            return self.edit(state, room, sender, related, &new);
        }
        if let Some(wire) = content.get(QUESTION_KEY) {
            if sender != owner {
                return drop(format!("a question in {owner}'s room not sent by it"));
            }
            let wire: QuestionWire = match serde_json::from_value(wire.clone()) {
                Ok(w) => w,
                Err(err) => return drop(format!("malformed question: {err}")),
            };
            return match self.store_question(state, sender, room, event_id, &wire) {
                Ok(()) => Ok(None),
                Err(why) => drop(why),
            };
        }
        if rel_type == Some("m.thread") {
            let Some(target) = self.store.get(&format!("qa_event:{related}"))? else {
                return drop(format!("a reply to an unknown question {related}"));
            };
            let Some(question_id) = target.strip_prefix("q/") else {
                return drop("a thread on something that is not a question".into());
            };
            let Some(q) = state.qa.question(question_id)? else {
                return drop("a reply to a question no longer here".into());
            };
            if q.room.as_deref() != Some(room) {
                return drop("a reply in another room than the question's".into());
            }
            if q.hidden.is_some() {
                return drop("a reply to a hidden or deleted question".into());
            }
            let (id, author, body) = match content.get(ANSWER_KEY) {
                Some(w) if self.peer(sender).is_some() => {
                    let w: AnswerWire = match serde_json::from_value(w.clone()) {
                        Ok(w) => w,
                        Err(err) => return drop(format!("malformed answer: {err}")),
                    };
                    if !id_ok(&w.id)
                        || !crate::qa::names::acceptable(&w.author)
                        || w.question != q.id
                    {
                        return drop("an answer with a bad id, author or question".into());
                    }
                    (w.id, w.author, w.body)
                }
                _ => {
                    let digest = Sha256::digest(event_id.as_bytes());
                    let id: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                    let body = content
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    (
                        format!("m-{id}"),
                        state.qa.display_name(sender),
                        strip_fallback(body),
                    )
                }
            };
            let body = match text(&body, MAX_BODY, "qa.err.write_answer") {
                Ok(b) => b,
                Err(err) => return drop(err.to_string()),
            };
            let existing = state.qa.answer(&q.id, &id)?;
            if let Some(old) = &existing
                && old.origin.as_deref() != Some(sender)
            {
                return drop(format!("answer {id} already exists from someone else"));
            }
            let a = Answer {
                id: id.clone(),
                question_id: q.id.clone(),
                account_id: String::new(),
                body,
                created_at: existing.as_ref().map_or_else(now, |o| o.created_at),
                helpful: existing
                    .as_ref()
                    .map(|o| o.helpful.clone())
                    .unwrap_or_default(),
                accepted: existing.as_ref().is_some_and(|o| o.accepted),
                author,
                origin: Some(sender.to_owned()),
                event_id: Some(event_id.to_owned()),
                edited_at: existing.as_ref().and_then(|o| o.edited_at),
                // Hidden here by this node's validators: stays hidden when sent again.
                hidden: existing
                    .as_ref()
                    .and_then(|o| o.hidden.clone())
                    .filter(|h| h.by != sender && !h.deleted),
                reports: existing
                    .as_ref()
                    .map(|o| o.reports.clone())
                    .unwrap_or_default(),
            };
            state.qa.save_answer(&a)?;
            self.store
                .set(&format!("qa_event:{event_id}"), &format!("a/{}/{id}", q.id))?;
            reindex(state, &q.id);
            if existing.is_none() {
                notices::answered(state, &q, &a)?;
            }
            return Ok(None);
        }
        Ok(None)
    }

    fn store_question(
        &self,
        state: &AppState,
        sender: &str,
        room: &str,
        event_id: &str,
        w: &QuestionWire,
    ) -> Result<(), String> {
        if !id_ok(&w.id) {
            return Err("a question with a bad id".into());
        }
        let title = one_line_title(&w.title).map_err(|e| e.to_string())?;
        let body = text(&w.body, MAX_BODY, "qa.err.write_question").map_err(|e| e.to_string())?;
        let tags = crate::qa::actions::tags(state, &w.tags).map_err(|e| e.to_string())?;
        let disease =
            crate::qa::actions::disease(state, w.disease.as_deref()).map_err(|e| e.to_string())?;
        let lang =
            language(&w.language).ok_or("a question in a language this node does not know")?;
        if !crate::qa::names::acceptable(&w.author) {
            return Err("a question with a bad author name".into());
        }
        let existing = state.qa.question(&w.id).map_err(|e| e.to_string())?;
        if let Some(old) = &existing
            && (old.origin.as_deref() != Some(sender) || old.room.as_deref() != Some(room))
        {
            return Err(format!("question {} already exists from elsewhere", w.id));
        }
        let q = Question {
            id: w.id.clone(),
            account_id: String::new(),
            patient_id: None,
            title,
            body,
            tags,
            disease,
            language: lang.to_owned(),
            created_at: w.created_at.min(now()),
            author: w.author.clone(),
            origin: Some(sender.to_owned()),
            room: Some(room.to_owned()),
            event_id: Some(event_id.to_owned()),
            edited_at: existing.as_ref().and_then(|o| o.edited_at),
            // Hidden here by this node's validators: stays hidden when sent again.
            hidden: existing
                .as_ref()
                .and_then(|o| o.hidden.clone())
                .filter(|h| h.by != sender),
            reports: existing
                .as_ref()
                .map(|o| o.reports.clone())
                .unwrap_or_default(),
            followers: existing
                .as_ref()
                .map(|o| o.followers.clone())
                .unwrap_or_default(),
        };
        let err = |e: StoreError| e.to_string();
        state.qa.save_question(&q).map_err(err)?;
        self.store
            .set(&format!("qa_event:{event_id}"), &format!("q/{}", q.id))
            .map_err(err)?;
        reindex(state, &q.id);
        if existing.is_none() {
            let told = notices::target(state, &q).map_err(err)?;
            tracing::info!(question = %q.id, told = told.len(), "question from a partner node");
        }
        Ok(())
    }

    fn edit(
        &self,
        state: &AppState,
        room: &str,
        sender: &str,
        target: &str,
        new: &Value,
    ) -> Result<Option<String>, FederationError> {
        let Some(what) = self.store.get(&format!("qa_event:{target}"))? else {
            return Ok(Some(format!("an edit of unknown event {target}")));
        };
        let parts: Vec<&str> = what.split('/').collect();
        match parts.as_slice() {
            ["q", id] => {
                let Some(mut q) = state.qa.question(id)? else {
                    return Ok(None);
                };
                if q.origin.as_deref() != Some(sender) || q.room.as_deref() != Some(room) {
                    return Ok(Some("an edit of a question by someone else".into()));
                }
                if q.hidden.is_some() {
                    return Ok(Some("an edit of a hidden question".into()));
                }
                let Some(w) = new
                    .get(QUESTION_KEY)
                    .and_then(|w| serde_json::from_value::<QuestionWire>(w.clone()).ok())
                else {
                    return Ok(Some("a malformed question edit".into()));
                };
                let (Ok(title), Ok(body), Ok(tags)) = (
                    one_line_title(&w.title),
                    text(&w.body, MAX_BODY, "qa.err.write_question"),
                    crate::qa::actions::tags(state, &w.tags),
                ) else {
                    return Ok(Some("an unacceptable question edit".into()));
                };
                q.title = title;
                q.body = body;
                q.tags = tags;
                q.edited_at = Some(now());
                state.qa.save_question(&q)?;
                reindex(state, id);
            }
            ["a", question, id] => {
                let Some(mut a) = state.qa.answer(question, id)? else {
                    return Ok(None);
                };
                if a.origin.as_deref() != Some(sender) || !self.in_room(state, question, room)? {
                    return Ok(Some("an edit of an answer by someone else".into()));
                }
                if a.hidden.is_some() {
                    return Ok(Some("an edit of a hidden answer".into()));
                }
                let body = new
                    .get(ANSWER_KEY)
                    .and_then(|w| w.get("body"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| new.get("body").and_then(Value::as_str).map(strip_fallback))
                    .unwrap_or_default();
                let Ok(body) = text(&body, MAX_BODY, "qa.err.write_answer") else {
                    return Ok(Some("an unacceptable answer edit".into()));
                };
                a.body = body;
                a.edited_at = Some(now());
                state.qa.save_answer(&a)?;
                reindex(state, question);
            }
            _ => {}
        }
        Ok(None)
    }

    /// Whether the question `question_id` lives in `room`.
    fn in_room(&self, state: &AppState, question_id: &str, room: &str) -> Result<bool, StoreError> {
        Ok(state
            .qa
            .question(question_id)?
            .is_some_and(|q| q.room.as_deref() == Some(room)))
    }

    fn withdraw(
        &self,
        state: &AppState,
        owner: &str,
        room: &str,
        sender: &str,
        target: &str,
    ) -> Result<Option<String>, FederationError> {
        let Some(what) = self.store.get(&format!("qa_event:{target}"))? else {
            return Ok(None);
        };
        let parts: Vec<&str> = what.split('/').collect();
        let question = match parts.as_slice() {
            ["q", id] | ["a", id, _] => *id,
            _ => return Ok(None),
        };
        if !self.in_room(state, question, room)? {
            return Ok(Some("a redaction of something in another room".into()));
        }
        let hidden = |deleted: bool| Hidden {
            reason: if deleted {
                "Deleted by its author.".into()
            } else {
                "Withdrawn where it was shared.".into()
            },
            by: sender.to_owned(),
            at: now(),
            deleted,
        };
        match parts.as_slice() {
            ["q", id] => {
                let Some(mut q) = state.qa.question(id)? else {
                    return Ok(None);
                };
                if sender != owner && q.origin.as_deref() != Some(sender) {
                    return Ok(Some("a redaction by someone who may not".into()));
                }
                if q.origin.is_some() {
                    // Another node's text, withdrawn there: not kept here (a restore sends
                    // it again). A hide by this node's validators stays.
                    q.title.clear();
                    q.body.clear();
                }
                if q.hidden.is_none() {
                    q.hidden = Some(hidden(false));
                }
                state.qa.save_question(&q)?;
                reindex(state, id);
            }
            ["a", question, id] => {
                let Some(mut a) = state.qa.answer(question, id)? else {
                    return Ok(None);
                };
                if sender != owner && a.origin.as_deref() != Some(sender) {
                    return Ok(Some("a redaction by someone who may not".into()));
                }
                if a.origin.is_some() {
                    a.body.clear();
                    // The author withdrew it (not the room's moderators): gone for good.
                    if a.origin.as_deref() == Some(sender) && sender != owner {
                        a.hidden = Some(hidden(true));
                    }
                }
                // A hide by this node's validators stays.
                if a.hidden.is_none() {
                    a.hidden = Some(hidden(false));
                }
                state.qa.save_answer(&a)?;
                reindex(state, question);
            }
            _ => {}
        }
        Ok(None)
    }
}

fn reindex(state: &AppState, question_id: &str) {
    if let Err(e) = state
        .qa_search
        .update(&state.ontology, &state.qa, question_id)
    {
        tracing::warn!(error = %e, "updating the question index failed");
    }
}

/// Whether the homeserver refused for good (a 4xx other than 429): retrying cannot help.
fn permanent(e: &FederationError) -> bool {
    match e {
        FederationError::Matrix(m) => m
            .split_whitespace()
            .any(|w| w.len() == 3 && w.starts_with('4') && w != "429" && w.parse::<u16>().is_ok()),
        _ => false,
    }
}

/// The text of a reply without the quoted lines some clients put first.
fn strip_fallback(body: &str) -> String {
    body.lines()
        .skip_while(|l| l.starts_with("> ") || *l == ">")
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
