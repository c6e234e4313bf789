//! Community questions across the federation. Each node has one Q&A room, to which it
//! invites its trusted peers (and members' own Matrix accounts, on request); each question
//! asked on the node is the root of a thread there, and answers are replies in the thread.
//!
//! Every event is a normal `m.room.message` whose `body` any Matrix client shows; the
//! node's events also carry their data under `org.raremesh.qa.question` or
//! `org.raremesh.qa.answer` (tags, disease, language, pseudonymous author). Edits are
//! `m.replace` relations, deletions and moderation are redactions. See `docs/qa.md`.

mod receive;
mod send;

pub use send::Outbox;

use raremesh_bridge::client::NewRoom;
use raremesh_bridge::rooms::RoomKind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Federation, FederationError};
use crate::clock::now;
use crate::federation::state::{Key, Kind};
use crate::qa::search::reindex;
use crate::qa::{Answer, Hidden, Question};
use crate::store::StoreError;

/// The name of the nodes' Q&A rooms.
pub const QA_ROOM_NAME: &str = "raremesh questions";
/// The content key of a question's data.
pub const QUESTION_KEY: &str = "org.raremesh.qa.question";
/// The content key of an answer's data.
pub const ANSWER_KEY: &str = "org.raremesh.qa.answer";
/// The reason of the redactions that clear a plain Q&A room whose questions moved to an
/// encrypted one: not a withdrawal (receivers ignore them).
pub const MOVED_REASON: &str = "org.raremesh.qa.moved: sent again in an encrypted room";

pub use crate::qa::Outgoing;

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

fn question_text(ontology: &raremesh_ontology::Ontology, q: &Question) -> String {
    let o = ontology;
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

fn question_content(ontology: &raremesh_ontology::Ontology, q: &Question) -> Value {
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
    json!({ "msgtype": "m.text", "body": question_text(ontology, q), QUESTION_KEY: wire })
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

impl Federation {
    /// The node's Q&A room, once created.
    pub fn own_qa_room(&self) -> Result<Option<String>, StoreError> {
        self.store.get(Key::OwnQaRoom)
    }

    /// The Q&A rooms of this node and of its peers that it joined.
    pub fn qa_rooms(&self) -> Result<Vec<String>, StoreError> {
        let mut v: Vec<String> = self.own_qa_room()?.into_iter().collect();
        for (_, room) in self.store.scan(Kind::PeerQaRoom)? {
            if self.store.flagged(Key::QaJoined(&room))? {
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
            .scan(Kind::PeerQaRoom)?
            .into_iter()
            .find(|(_, r)| r == room)
            .map(|(k, _)| k.rest(&Kind::PeerQaRoom).to_owned()))
    }

    /// Creates the node's Q&A room if needed (end-to-end encrypted; a plain room of an
    /// earlier release is replaced), invites the peers, joins the peers' rooms.
    pub(in crate::federation) async fn ensure_qa_room(&self) -> Result<(), FederationError> {
        let room = match self.own_qa_room()? {
            Some(r) if self.qa_room_encrypted(&r).await? => r,
            old => {
                let room = self
                    .create_room(
                        RoomKind::Qa,
                        QA_ROOM_NAME,
                        &[],
                        NewRoom {
                            topic: Some("Community questions: each question is a thread; reply in it to answer.".into()),
                            encrypted: true,
                            ..NewRoom::default()
                        },
                    )
                    .await?;
                self.store.flag(Key::QaEncrypted(&room))?;
                match old {
                    Some(old) => {
                        // Nothing is sent to the old room while the questions move.
                        let _sending = self.qa_out.lock().await;
                        self.move_qa_room(&old, &room)?;
                    }
                    None => self.store.set(Key::OwnQaRoom, &room)?,
                }
                tracing::info!(%room, "Q&A room created (end-to-end encrypted)");
                room
            }
        };
        for p in self.peers.keys() {
            if !self.store.flagged(Key::QaInvited(p))? {
                match self.client.invite(&room, p).await {
                    Ok(()) => self.store.flag(Key::QaInvited(p))?,
                    Err(e) => {
                        tracing::warn!(peer = %p, error = %e, "inviting a peer to the Q&A room failed; will retry")
                    }
                }
            }
        }
        for (name, _) in self.store.scan(Kind::QaInvited)? {
            let p = name.rest(&Kind::QaInvited);
            if !self.peers.contains_key(p) {
                match self.client.kick(&room, p, "no longer a trusted peer").await {
                    Ok(()) => self.store.unset_name(&name)?,
                    Err(e) if e.status() == Some(403) => self.store.unset_name(&name)?,
                    Err(e) => {
                        tracing::warn!(peer = %p, error = %e, "removing a former peer from the Q&A room failed")
                    }
                }
            }
        }
        for (name, room) in self.store.scan(Kind::PeerQaRoom)? {
            let p = name.rest(&Kind::PeerQaRoom);
            if !self.peers.contains_key(p) {
                let _ = self.client.leave(&room).await;
                // A former peer's questions are no longer shared here (the room record goes
                // last, so an interrupted pass is done again).
                for mut q in self.local.qa.store.questions()? {
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
                        self.local.qa.store.save_question(&q)?;
                        reindex(&self.local.qa, &q.id);
                    }
                }
                self.store.unset_name(&name)?;
            } else if !self.store.flagged(Key::QaJoined(&room))? {
                match self.client.join(&room).await {
                    Ok(()) => {
                        self.store.flag(Key::QaJoined(&room))?;
                        tracing::info!(%room, "joined a peer's Q&A room");
                    }
                    Err(e) => tracing::info!(%room, error = %e, "joining a Q&A room: will retry"),
                }
            }
        }
        Ok(())
    }

    /// Replaces the node's plain Q&A room `old` by the encrypted `new`: the peers are
    /// invited to the new one, every question of this node and its members' answers are
    /// sent again there, and the old room's copies are redacted (the homeserver then
    /// drops their text); receivers keep one copy of each by id.
    fn move_qa_room(&self, old: &str, new: &str) -> Result<(), FederationError> {
        let mut resend = Vec::new();
        let mut redact = Vec::new();
        for mut q in self.local.qa.store.questions()? {
            if q.origin.is_some() || q.room.as_deref() != Some(old) {
                continue;
            }
            for a in self.local.qa.store.answers_of(&q.id)? {
                if let Some(event) = &a.event_id {
                    redact.push(Outgoing::Redact {
                        room: old.to_owned(),
                        event: event.clone(),
                        reason: MOVED_REASON.into(),
                    });
                }
            }
            if let Some(event) = q.event_id.take() {
                redact.push(Outgoing::Redact {
                    room: old.to_owned(),
                    event,
                    reason: MOVED_REASON.into(),
                });
            }
            q.room = None;
            self.local.qa.store.save_question(&q)?;
            if q.hidden.is_none() {
                resend.push(Outgoing::Question { id: q.id.clone() });
                resend.extend(self.own_answers(&q.id)?);
            }
        }
        for (name, _) in self.store.scan(Kind::QaInvited)? {
            self.store.unset_name(&name)?;
        }
        self.store.set(Key::OwnQaRoom, new)?;
        resend.extend(redact);
        let n = resend.len();
        self.queue_all(&resend)?;
        tracing::info!(%old, %new, events = n, "the plain Q&A room is replaced by an encrypted one; its questions are sent again");
        Ok(())
    }

    /// A trusted peer invited this node to its Q&A room: joins it (retrying a few times).
    pub(in crate::federation) async fn join_qa_room(&self, room: &str) {
        for attempt in 0..10u64 {
            match self.client.join(room).await {
                Ok(()) => {
                    if let Err(e) = self.store.flag(Key::QaJoined(room)) {
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
                Err(e) if e.status() == Some(403) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(rooms.len())
    }
}
