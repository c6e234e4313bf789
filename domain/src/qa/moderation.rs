//! Reports and moderation of questions and answers, and what goes when an account is
//! deleted.

use super::Change;
use super::Outgoing;
use super::Service;
use super::actions::{
    MAX_REASON, QaError, REPORT_LIMIT, answer_of, deleted, limit, may_read, msg, text,
    visible_question,
};
use super::{Hidden, Report, notices};
use crate::audit::{Action, Entry};
use crate::clock::now;
use crate::registration::Member;
use crate::store::Batch;

type Result<T> = std::result::Result<T, QaError>;

/// A member reports a question (`answer` `None`) or an answer to the validators.
pub fn report(
    qa: &Service,
    m: &Member,
    question_id: &str,
    answer: Option<&str>,
    reason: &str,
) -> Result<()> {
    may_read(qa, m)?;
    let reason = text(reason, MAX_REASON, "qa.err.write_report")?;
    let r = Report {
        by: m.account_id.to_string(),
        reason,
        at: now(),
    };
    let mut q = visible_question(qa, question_id)?;
    match answer {
        None => {
            if q.reports.iter().any(|x| x.by == m.account_id) {
                return Ok(());
            }
            limit(qa, format!("qa-report:{}", m.account_id), REPORT_LIMIT)?;
            q.reports.push(r);
            qa.store.save_question(&q)?;
        }
        Some(id) => {
            let mut a = answer_of(qa, question_id, id)?;
            if a.reports.iter().any(|x| x.by == m.account_id) {
                return Ok(());
            }
            limit(qa, format!("qa-report:{}", m.account_id), REPORT_LIMIT)?;
            a.reports.push(r);
            qa.store.save_answer(&a)?;
        }
    }
    Ok(())
}

/// A validator hides (`hide`) or restores a question or answer, with a reason; audited.
/// Hidden content this node shared is withdrawn from the federated room (redacted);
/// restored content is shared again.
pub fn moderate(
    qa: &Service,
    actor: &str,
    question_id: &str,
    answer: Option<&str>,
    hide: bool,
    reason: &str,
) -> Result<()> {
    let reason = text(reason, MAX_REASON, "qa.err.write_reason")?;
    let mut q = qa
        .store
        .question(question_id)?
        .ok_or(QaError::NotFound(msg("qa.err.no_question")))?;
    let mut change = Change::new(qa);
    let hidden = hide.then(|| Hidden {
        reason: reason.clone(),
        by: actor.to_owned(),
        at: now(),
        deleted: false,
    });
    let (author, target) = match answer {
        None => {
            // Deleted by its author, or withdrawn (text erased) by the node it came from.
            if q.hidden.as_ref().is_some_and(|h| h.deleted)
                || (!hide && q.origin.is_some() && q.title.is_empty() && q.body.is_empty())
            {
                return Err(QaError::Invalid(msg("qa.err.nothing_to_restore")));
            }
            if q.hidden.is_some() == hide {
                return Ok(());
            }
            q.hidden = hidden;
            change.question(&q);
            // Only this node's own questions can be withdrawn from (or sent again to) its
            // room; a partner's question is hidden here only.
            match (&q.room, &q.event_id, hide) {
                (Some(room), Some(event), true) if q.origin.is_none() => {
                    change.share(Outgoing::Redact {
                        room: room.clone(),
                        event: event.clone(),
                        reason: "hidden by the moderators".into(),
                    })
                }
                (_, _, false) if q.origin.is_none() => {
                    change.share(Outgoing::Question { id: q.id.clone() })
                }
                _ => {}
            }
            (q.account_id.clone(), format!("question:{}", q.id))
        }
        Some(id) => {
            let mut a = qa
                .store
                .answer(question_id, id)?
                .ok_or(QaError::NotFound(msg("qa.err.no_answer")))?;
            if a.hidden.as_ref().is_some_and(|h| h.deleted)
                || (!hide && a.origin.is_some() && a.body.is_empty())
            {
                return Err(QaError::Invalid(msg("qa.err.nothing_to_restore")));
            }
            if a.hidden.is_some() == hide {
                return Ok(());
            }
            a.hidden = hidden;
            change.answer(&a);
            // Withdrawn from the room when this node sent it or owns the room.
            let ours = a.origin.is_none() || q.origin.is_none();
            match (&q.room, &a.event_id, hide) {
                (Some(room), Some(event), true) if ours => change.share(Outgoing::Redact {
                    room: room.clone(),
                    event: event.clone(),
                    reason: "hidden by the moderators".into(),
                }),
                (_, _, false) if a.origin.is_none() => change.share(Outgoing::Answer {
                    question: q.id.clone(),
                    id: a.id.clone(),
                }),
                _ => {}
            }
            (a.account_id.clone(), format!("answer:{}/{}", q.id, a.id))
        }
    };
    change.reindex(question_id);
    qa.audit.record_in(
        change.batch(),
        &Entry {
            at: now(),
            actor: actor.to_owned(),
            action: if hide {
                Action::QaHidden
            } else {
                Action::QaRestored
            },
            account_id: author,
            patient_id: None,
            document_id: Some(target),
            reason: Some(reason),
        },
    )?;
    change.commit()?;
    Ok(())
}

/// What [`erase_account`] changed.
#[derive(Debug, Default)]
pub struct Erased {
    /// How many questions and answers lost their text.
    pub count: usize,
    /// The questions whose index entry must be updated once the batch is applied.
    pub questions: Vec<String>,
}

/// Adds the erasure of what an account wrote (its account is being deleted) to `batch`:
/// its questions and answers lose their text here and are withdrawn from the federation
/// (queued in the same batch); its marks, follows, notices and reports go.
pub fn erase_account(qa: &Service, batch: &mut Batch, account_id: &str) -> Result<Erased> {
    let mut erased = Erased::default();
    let withdraw = |batch: &mut Batch, room: String, event: String| {
        if let Some(f) = qa.share() {
            let op = Outgoing::Redact {
                room,
                event,
                reason: "account deleted".into(),
            };
            if let Err(e) = f.queue_in(batch, &op) {
                tracing::warn!(error = %e, "queueing a Q&A withdrawal failed");
            }
        }
    };
    for mut q in qa.store.questions()? {
        let mut changed = false;
        if q.account_id == account_id && q.origin.is_none() {
            if q.hidden.as_ref().is_none_or(|h| !h.deleted) {
                if let (Some(room), Some(event)) = (q.room.clone(), q.event_id.clone()) {
                    withdraw(batch, room, event);
                }
                erased.count += 1;
            }
            q.title.clear();
            q.body.clear();
            q.patient_id = None;
            q.hidden = Some(deleted(account_id));
            changed = true;
        }
        let before = (q.followers.len(), q.reports.len());
        q.followers.retain(|f| f != account_id);
        q.reports.retain(|r| r.by != account_id);
        if changed || before != (q.followers.len(), q.reports.len()) {
            qa.store.save_question_in(batch, &q);
            erased.questions.push(q.id.clone());
        }
    }
    for mut a in qa.store.all_answers()? {
        let mut changed = false;
        if a.account_id == account_id && a.origin.is_none() {
            if a.hidden.as_ref().is_none_or(|h| !h.deleted) {
                let room = qa.store.question(&a.question_id)?.and_then(|q| q.room);
                if let (Some(room), Some(event)) = (room, a.event_id.clone()) {
                    withdraw(batch, room, event);
                }
                erased.count += 1;
            }
            a.body.clear();
            a.hidden = Some(deleted(account_id));
            changed = true;
        }
        let before = (a.helpful.len(), a.reports.len());
        a.helpful.retain(|h| h != account_id);
        a.reports.retain(|r| r.by != account_id);
        if changed || before != (a.helpful.len(), a.reports.len()) {
            qa.store.save_answer_in(batch, &a);
            erased.questions.push(a.question_id.clone());
        }
    }
    erased.questions.sort();
    erased.questions.dedup();
    notices::erase(qa, batch, account_id)?;
    Ok(erased)
}
