//! Receiving from the Q&A rooms: each event checked, stored, indexed and targeted.

use raremesh_bridge::drops::DropReason;
use raremesh_bridge::event::Incoming;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{ANSWER_KEY, AnswerWire, MOVED_REASON, QUESTION_KEY, QuestionWire, id_ok};
use crate::clock::now;
use crate::federation::state::{Key, QaTarget};
use crate::federation::{Federation, FederationError};
use crate::ids::AccountId;
use crate::qa::actions::{MAX_BODY, language, text, title as one_line_title};
use crate::qa::search::reindex;
use crate::qa::{Answer, Change, Hidden, Question, notices};
use crate::store::StoreError;

/// Why a Q&A event is dropped, if it is.
type Refusal = Option<(DropReason, String)>;

/// Content that breaks a rule.
fn invalid(why: impl Into<String>) -> Result<Refusal, FederationError> {
    Ok(Some((DropReason::Invalid, why.into())))
}

/// Something the sender may not do (another's content, another room).
fn forbidden(why: impl Into<String>) -> Result<Refusal, FederationError> {
    Ok(Some((DropReason::Forbidden, why.into())))
}

impl Federation {
    /// Applies one event of a Q&A room whose owner is `owner`; why it was dropped, if it was.
    pub(in crate::federation) fn receive_qa(
        &self,
        owner: &str,
        e: &Incoming,
    ) -> Result<Refusal, FederationError> {
        // A peer's device writes for the peer.
        let principal = self.principal(e.sender.as_str());
        let sender = principal.as_ref();
        let kind = e.kind.as_str();
        let event_id = e.id();
        let room = e.room_id.as_str();
        let content = e.content_value();
        if e.is_redaction() {
            let Some(target) = e.redacts.as_ref() else {
                return invalid("a redaction that names no event");
            };
            if content.get("reason").and_then(Value::as_str) == Some(MOVED_REASON) {
                // The old copy of something sent again in an encrypted room.
                return Ok(None);
            }
            return self.withdraw(owner, room, sender, target.as_str());
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
            return self.edit(room, sender, related, &new);
        }
        if let Some(wire) = content.get(QUESTION_KEY) {
            if sender != owner {
                return forbidden(format!("a question in {owner}'s room not sent by it"));
            }
            let wire: QuestionWire = match serde_json::from_value(wire.clone()) {
                Ok(w) => w,
                Err(err) => return invalid(format!("malformed question: {err}")),
            };
            return match self.store_question(sender, room, event_id, &wire) {
                Ok(()) => Ok(None),
                Err(why) => invalid(why),
            };
        }
        if rel_type == Some("m.thread") {
            let Some(target) = self.store.qa_event(related)? else {
                return invalid(format!("a reply to an unknown question {related}"));
            };
            let QaTarget::Question(question_id) = &target else {
                return invalid("a thread on something that is not a question");
            };
            let Some(q) = self.local.qa.store.question(question_id)? else {
                return invalid("a reply to a question no longer here");
            };
            if q.room.as_deref() != Some(room) {
                return forbidden("a reply in another room than the question's");
            }
            if q.hidden.is_some() {
                return invalid("a reply to a hidden or deleted question");
            }
            let (id, author, body) = match content.get(ANSWER_KEY) {
                Some(w) if self.peer(sender).is_some() => {
                    let w: AnswerWire = match serde_json::from_value(w.clone()) {
                        Ok(w) => w,
                        Err(err) => return invalid(format!("malformed answer: {err}")),
                    };
                    if !id_ok(&w.id)
                        || !crate::qa::names::acceptable(&w.author)
                        || w.question != q.id
                    {
                        return invalid("an answer with a bad id, author or question");
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
                        self.local.qa.store.display_name(sender),
                        strip_fallback(body),
                    )
                }
            };
            let body = match text(&body, MAX_BODY, "qa.err.write_answer") {
                Ok(b) => b,
                Err(err) => return invalid(err.to_string()),
            };
            let existing = self.local.qa.store.answer(&q.id, &id)?;
            if let Some(old) = &existing
                && old.origin.as_deref() != Some(sender)
            {
                return forbidden(format!("answer {id} already exists from someone else"));
            }
            let a = Answer {
                id: id.clone(),
                question_id: q.id.clone(),
                account_id: AccountId::default(),
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
            let mut change = Change::new(&self.local.qa);
            change.answer(&a);
            self.store.set_qa_event_in(
                change.batch(),
                event_id,
                &QaTarget::Answer {
                    question: q.id.clone(),
                    answer: id.clone(),
                },
            );
            change.reindex(&q.id);
            if existing.is_none() {
                notices::answered(change.batch(), &q, &a);
            }
            change.commit()?;
            return Ok(None);
        }
        Ok(None)
    }

    fn store_question(
        &self,
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
        let tags = crate::qa::actions::tags(&self.local.qa, &w.tags).map_err(|e| e.to_string())?;
        let disease = crate::qa::actions::disease(&self.local.qa, w.disease.as_deref())
            .map_err(|e| e.to_string())?;
        let lang =
            language(&w.language).ok_or("a question in a language this node does not know")?;
        if !crate::qa::names::acceptable(&w.author) {
            return Err("a question with a bad author name".into());
        }
        let existing = self
            .local
            .qa
            .store
            .question(&w.id)
            .map_err(|e| e.to_string())?;
        // A question may move only to its node's current Q&A room (a plain room replaced
        // by an encrypted one).
        let moved_here = || {
            self.store
                .get(Key::PeerQaRoom(sender))
                .is_ok_and(|r: Option<String>| r.as_deref() == Some(room))
        };
        if let Some(old) = &existing
            && (old.origin.as_deref() != Some(sender)
                || (old.room.as_deref() != Some(room) && !moved_here()))
        {
            return Err(format!("question {} already exists from elsewhere", w.id));
        }
        // Sent again (in a new room, or for a device that came later): this node's answers
        // to it are sent again too, in its new thread.
        let again = existing
            .as_ref()
            .is_some_and(|o| o.event_id.as_deref() != Some(event_id));
        let q = Question {
            id: w.id.clone(),
            account_id: AccountId::default(),
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
        let mut change = Change::new(&self.local.qa);
        change.question(&q);
        self.store
            .set_qa_event_in(change.batch(), event_id, &QaTarget::Question(q.id.clone()));
        change.reindex(&q.id);
        let told = match &existing {
            None => Some(notices::target(&self.local.qa, change.batch(), &q).map_err(err)?),
            Some(_) => None,
        };
        change.commit().map_err(err)?;
        if let Some(told) = told {
            tracing::info!(question = %q.id, told = told.len(), "question from a partner node");
        }
        if again {
            let answers = self.own_answers(&q.id).map_err(|e| e.to_string())?;
            self.queue_all(&answers).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn edit(
        &self,
        room: &str,
        sender: &str,
        target: &str,
        new: &Value,
    ) -> Result<Refusal, FederationError> {
        let Some(what) = self.store.qa_event(target)? else {
            return invalid(format!("an edit of unknown event {target}"));
        };
        match &what {
            QaTarget::Question(id) => {
                let Some(mut q) = self.local.qa.store.question(id)? else {
                    return Ok(None);
                };
                if q.origin.as_deref() != Some(sender) || q.room.as_deref() != Some(room) {
                    return forbidden("an edit of a question by someone else");
                }
                if q.hidden.is_some() {
                    return invalid("an edit of a hidden question");
                }
                let Some(w) = new
                    .get(QUESTION_KEY)
                    .and_then(|w| serde_json::from_value::<QuestionWire>(w.clone()).ok())
                else {
                    return invalid("a malformed question edit");
                };
                let (Ok(title), Ok(body), Ok(tags)) = (
                    one_line_title(&w.title),
                    text(&w.body, MAX_BODY, "qa.err.write_question"),
                    crate::qa::actions::tags(&self.local.qa, &w.tags),
                ) else {
                    return invalid("an unacceptable question edit");
                };
                q.title = title;
                q.body = body;
                q.tags = tags;
                q.edited_at = Some(now());
                self.local.qa.store.save_question(&q)?;
                reindex(&self.local.qa, id);
            }
            QaTarget::Answer {
                question,
                answer: id,
            } => {
                let Some(mut a) = self.local.qa.store.answer(question, id)? else {
                    return Ok(None);
                };
                if a.origin.as_deref() != Some(sender) || !self.in_room(question, room)? {
                    return forbidden("an edit of an answer by someone else");
                }
                if a.hidden.is_some() {
                    return invalid("an edit of a hidden answer");
                }
                let body = new
                    .get(ANSWER_KEY)
                    .and_then(|w| w.get("body"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| new.get("body").and_then(Value::as_str).map(strip_fallback))
                    .unwrap_or_default();
                let Ok(body) = text(&body, MAX_BODY, "qa.err.write_answer") else {
                    return invalid("an unacceptable answer edit");
                };
                a.body = body;
                a.edited_at = Some(now());
                self.local.qa.store.save_answer(&a)?;
                reindex(&self.local.qa, question);
            }
        }
        Ok(None)
    }

    /// Whether the question `question_id` lives in `room`.
    fn in_room(&self, question_id: &str, room: &str) -> Result<bool, StoreError> {
        Ok(self
            .local
            .qa
            .store
            .question(question_id)?
            .is_some_and(|q| q.room.as_deref() == Some(room)))
    }

    fn withdraw(
        &self,
        owner: &str,
        room: &str,
        sender: &str,
        target: &str,
    ) -> Result<Refusal, FederationError> {
        let Some(what) = self.store.qa_event(target)? else {
            return Ok(None);
        };
        let question = what.question();
        if !self.in_room(question, room)? {
            return forbidden("a redaction of something in another room");
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
        match &what {
            QaTarget::Question(id) => {
                let Some(mut q) = self.local.qa.store.question(id)? else {
                    return Ok(None);
                };
                if sender != owner && q.origin.as_deref() != Some(sender) {
                    return forbidden("a redaction by someone who may not");
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
                self.local.qa.store.save_question(&q)?;
                reindex(&self.local.qa, id);
            }
            QaTarget::Answer {
                question,
                answer: id,
            } => {
                let Some(mut a) = self.local.qa.store.answer(question, id)? else {
                    return Ok(None);
                };
                if sender != owner && a.origin.as_deref() != Some(sender) {
                    return forbidden("a redaction by someone who may not");
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
                self.local.qa.store.save_answer(&a)?;
                reindex(&self.local.qa, question);
            }
        }
        Ok(None)
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
