//! What members, validators and the federation do with questions and answers, checked the
//! same way whichever door (web page, JSON API, Matrix room) it comes through.

use raremesh_ontology::{HpoId, OrphaCode};

use super::Outgoing;
use super::Service;
use super::{Answer, Change, Hidden, Question, notices};
use crate::clock::now;
use crate::ids::{AccountId, PatientId, new_id};
use crate::message::Message;
use crate::registration::Member;
use crate::store::StoreError;

/// The longest title, in characters.
pub const MAX_TITLE: usize = 150;
/// The longest question or answer, in characters.
pub const MAX_BODY: usize = 5000;
/// The most symptom tags on a question.
pub const MAX_TAGS: usize = 20;
/// The longest report or moderation reason, in characters.
pub const MAX_REASON: usize = 500;
/// Questions one member may ask per quarter of an hour.
pub const ASK_LIMIT: usize = 5;
/// Answers one member may give per quarter of an hour.
pub const ANSWER_LIMIT: usize = 20;
/// Reports one member may send per quarter of an hour.
pub const REPORT_LIMIT: usize = 10;

/// Why a question or answer action was refused; the message is meant for the member.
#[derive(Debug, thiserror::Error)]
pub enum QaError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(Message),
    /// The member may not do this.
    #[error("{0}")]
    Forbidden(Message),
    /// No such question or answer (or hidden from this member).
    #[error("{0}")]
    NotFound(Message),
    /// Too many in a short time.
    #[error("{0}")]
    Limited(Message),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QaError {
    /// The message in `lang` (a store failure says only that something went wrong).
    pub fn render(&self, lang: &str) -> String {
        match self {
            Self::Invalid(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Limited(m) => {
                m.render(lang)
            }
            Self::Store(_) => Message::new("qa.err.internal").render(lang),
        }
    }
}

pub(super) fn msg(key: &'static str) -> Message {
    Message::new(key)
}

type Result<T> = std::result::Result<T, QaError>;

/// A question as a member writes it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Up to 150 characters.
    pub title: String,
    /// Up to 5000 characters.
    pub body: String,
    /// HPO ids (up to 20).
    #[serde(default)]
    pub tags: Vec<String>,
    /// An ORPHA code.
    #[serde(default)]
    pub disease: Option<String>,
    /// One of the member's patients, whose profile helps find helpers.
    #[serde(default)]
    pub patient: Option<String>,
}

/// Whether a member has a validated patient (needed to ask and answer).
pub fn validated(qa: &Service, account_id: &AccountId) -> Result<bool> {
    Ok(qa
        .patients
        .of(account_id)?
        .iter()
        .any(|p| p.validation.is_approved()))
}

fn must_be_validated(qa: &Service, member: &Member, key: &'static str) -> Result<()> {
    if validated(qa, &member.account_id)? {
        Ok(())
    } else {
        Err(QaError::Forbidden(msg(key)))
    }
}

pub(super) fn limit(qa: &Service, key: String, max: usize) -> Result<()> {
    if let Some(wait) = qa.throttle.blocked_for_max(&key, max) {
        return Err(QaError::Limited(
            msg("qa.err.limited").with("minutes", wait.as_secs() / 60 + 1),
        ));
    }
    qa.throttle.record(&key);
    Ok(())
}

/// Checks a text: trimmed, not empty, not longer than `max` characters, no control
/// characters but line breaks and tabs. `what` is the catalogue key asking for it
/// ("Write your answer (up to {max} characters).").
pub fn text(value: &str, max: usize, what: &'static str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(QaError::Invalid(msg(what).with("max", max)));
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(QaError::Invalid(msg("qa.err.not_text")));
    }
    Ok(v.to_owned())
}

/// Checks a title: a text on one line.
pub fn title(value: &str) -> Result<String> {
    let t = text(value, MAX_TITLE, "qa.err.write_title")?;
    if t.contains(['\n', '\r', '\t']) {
        return Err(QaError::Invalid(msg("qa.err.title_one_line")));
    }
    Ok(t)
}

/// Checks symptom tags: known HPO ids (alternative ids resolve to the current one).
pub fn tags(qa: &Service, raw: &[String]) -> Result<Vec<HpoId>> {
    let mut out: Vec<HpoId> = Vec::new();
    for t in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let Some(idx) = t
            .parse::<HpoId>()
            .ok()
            .and_then(|id| qa.ontology.resolve(id))
        else {
            return Err(QaError::Invalid(
                msg("qa.err.unknown_tag").with("tag", t.chars().take(40).collect::<String>()),
            ));
        };
        let id = qa.ontology.term(idx).id;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(QaError::Invalid(
            msg("qa.err.too_many_tags").with("max", MAX_TAGS),
        ));
    }
    Ok(out)
}

/// Checks a disease tag.
pub fn disease(qa: &Service, raw: Option<&str>) -> Result<Option<OrphaCode>> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => d
            .parse::<OrphaCode>()
            .ok()
            .filter(|c| qa.ontology.disease(*c).is_some())
            .map(Some)
            .ok_or_else(|| QaError::Invalid(msg("qa.err.unknown_disease"))),
    }
}

/// Whether a language is one questions are written in.
pub fn language(l: &str) -> Option<&'static str> {
    super::search::LANGUAGES.iter().find(|x| **x == l).copied()
}

/// Whether the organization lets this member read the questions (`[qa] readers`).
pub fn may_read(qa: &Service, m: &Member) -> Result<()> {
    match qa.settings.qa.readers {
        crate::config::Readers::Members => Ok(()),
        crate::config::Readers::Validated => must_be_validated(qa, m, "qa.err.validated_read"),
    }
}

/// A question a member may see (not hidden, or hidden but theirs).
pub fn visible_question(qa: &Service, id: &str) -> Result<Question> {
    qa.store
        .question(id)?
        .filter(|q| q.hidden.as_ref().is_none_or(|h| !h.deleted))
        .ok_or(QaError::NotFound(msg("qa.err.no_question")))
}

/// Asks a question.
pub fn ask(qa: &Service, m: &Member, d: &Draft) -> Result<Question> {
    must_be_validated(qa, m, "qa.err.validated_ask")?;
    let title = title(&d.title)?;
    let body = text(&d.body, MAX_BODY, "qa.err.write_question")?;
    let tags = tags(qa, &d.tags)?;
    let disease = disease(qa, d.disease.as_deref())?;
    let patient_id = match d
        .patient
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(id) => Some(
            qa.patients
                .get(&m.account_id, &PatientId::new(id))?
                .ok_or_else(|| QaError::Invalid(msg("qa.err.no_patient")))?
                .id,
        ),
    };
    limit(qa, format!("qa-ask:{}", m.account_id), ASK_LIMIT)?;
    let q = Question {
        id: new_id()?,
        account_id: m.account_id.clone(),
        patient_id,
        title,
        body,
        tags,
        disease,
        language: language(&m.info.language).unwrap_or("en").to_owned(),
        created_at: now(),
        author: qa.store.display_name(&m.account_id),
        origin: None,
        room: None,
        event_id: None,
        edited_at: None,
        hidden: None,
        reports: Vec::new(),
        followers: vec![m.account_id.clone()],
    };
    let mut change = Change::new(qa);
    change.question(&q);
    change.reindex(&q.id);
    notices::target(qa, change.batch(), &q)?;
    change.share(Outgoing::Question { id: q.id.clone() });
    change.commit()?;
    Ok(q)
}

/// Answers a question.
pub fn answer(qa: &Service, m: &Member, question_id: &str, body: &str) -> Result<Answer> {
    must_be_validated(qa, m, "qa.err.validated_answer")?;
    let mut q = visible_question(qa, question_id)?;
    if q.hidden.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.hidden_no_answers")));
    }
    let body = text(body, MAX_BODY, "qa.err.write_answer")?;
    limit(qa, format!("qa-answer:{}", m.account_id), ANSWER_LIMIT)?;
    let a = Answer {
        id: new_id()?,
        question_id: q.id.clone(),
        account_id: m.account_id.clone(),
        body,
        created_at: now(),
        helpful: Vec::new(),
        accepted: false,
        author: qa.store.display_name(&m.account_id),
        origin: None,
        event_id: None,
        edited_at: None,
        hidden: None,
        reports: Vec::new(),
    };
    let mut change = Change::new(qa);
    change.answer(&a);
    if !q.followers.contains(&m.account_id) {
        q.followers.push(m.account_id.clone());
        change.question(&q);
    }
    change.reindex(&q.id);
    notices::answered(change.batch(), &q, &a);
    change.share(Outgoing::Answer {
        question: q.id.clone(),
        id: a.id.clone(),
    });
    change.commit()?;
    Ok(a)
}

pub(super) fn answer_of(qa: &Service, question_id: &str, id: &str) -> Result<Answer> {
    qa.store
        .answer(question_id, id)?
        .filter(|a| a.hidden.as_ref().is_none_or(|h| !h.deleted))
        .ok_or(QaError::NotFound(msg("qa.err.no_answer")))
}

/// `accept` (the asker marks the answer that helped) or `helpful` (another member).
pub fn mark(qa: &Service, m: &Member, question_id: &str, id: &str, action: &str) -> Result<()> {
    must_be_validated(qa, m, "qa.err.validated_mark")?;
    let q = visible_question(qa, question_id)?;
    let mut a = answer_of(qa, question_id, id)?;
    let mut change = Change::new(qa);
    match action {
        "accept" if q.account_id == m.account_id => {
            for mut other in qa.store.answers_of(question_id)? {
                if other.accepted && other.id != a.id {
                    other.accepted = false;
                    change.answer(&other);
                }
            }
            a.accepted = true;
        }
        "helpful" if a.account_id != m.account_id => {
            if !a.helpful.contains(&m.account_id) {
                a.helpful.push(m.account_id.clone());
            }
        }
        "accept" | "helpful" => {
            return Err(QaError::Forbidden(msg("qa.err.marks")));
        }
        _ => return Err(QaError::Invalid(msg("qa.err.unknown_action"))),
    }
    change.answer(&a);
    change.commit()?;
    Ok(())
}

/// Follows a question (told about new answers) or stops.
pub fn follow(qa: &Service, m: &Member, question_id: &str, on: bool) -> Result<()> {
    may_read(qa, m)?;
    let mut q = visible_question(qa, question_id)?;
    let had = q.followers.contains(&m.account_id);
    if on && !had {
        q.followers.push(m.account_id.clone());
    } else if !on && had {
        q.followers.retain(|f| f != &m.account_id);
    } else {
        return Ok(());
    }
    qa.store.save_question(&q)?;
    Ok(())
}

/// The author changes a question's title and text.
pub fn edit_question(
    qa: &Service,
    m: &Member,
    id: &str,
    title: &str,
    body: &str,
) -> Result<Question> {
    let mut q = visible_question(qa, id)?;
    if q.account_id != m.account_id || q.origin.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.only_asker_change")));
    }
    if q.hidden.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.question_hidden")));
    }
    q.title = self::title(title)?;
    q.body = text(body, MAX_BODY, "qa.err.write_question")?;
    q.edited_at = Some(now());
    let mut change = Change::new(qa);
    change.question(&q);
    change.reindex(id);
    change.share(Outgoing::EditQuestion { id: q.id.clone() });
    change.commit()?;
    Ok(q)
}

/// The author changes an answer.
pub fn edit_answer(
    qa: &Service,
    m: &Member,
    question_id: &str,
    id: &str,
    body: &str,
) -> Result<Answer> {
    let mut a = answer_of(qa, question_id, id)?;
    if a.account_id != m.account_id || a.origin.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.only_author_change")));
    }
    if a.hidden.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.answer_hidden")));
    }
    a.body = text(body, MAX_BODY, "qa.err.write_answer")?;
    a.edited_at = Some(now());
    let mut change = Change::new(qa);
    change.answer(&a);
    change.reindex(question_id);
    change.share(Outgoing::EditAnswer {
        question: question_id.to_owned(),
        id: id.to_owned(),
    });
    change.commit()?;
    Ok(a)
}

pub(super) fn deleted(by: &str) -> Hidden {
    Hidden {
        reason: "Deleted by its author.".into(),
        by: by.to_owned(),
        at: now(),
        deleted: true,
    }
}

/// The author deletes a question: its text is erased here and withdrawn from the
/// federation.
pub fn delete_question(qa: &Service, m: &Member, id: &str) -> Result<()> {
    let mut q = visible_question(qa, id)?;
    if q.account_id != m.account_id || q.origin.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.only_asker_delete")));
    }
    q.title.clear();
    q.body.clear();
    q.hidden = Some(deleted(&m.account_id));
    let mut change = Change::new(qa);
    change.question(&q);
    change.reindex(id);
    if let (Some(room), Some(event)) = (q.room.clone(), q.event_id.clone()) {
        change.share(Outgoing::Redact {
            room,
            event,
            reason: "deleted by its author".into(),
        });
    }
    change.commit()?;
    Ok(())
}

/// The author deletes an answer.
pub fn delete_answer(qa: &Service, m: &Member, question_id: &str, id: &str) -> Result<()> {
    let mut a = answer_of(qa, question_id, id)?;
    if a.account_id != m.account_id || a.origin.is_some() {
        return Err(QaError::Forbidden(msg("qa.err.only_author_delete")));
    }
    a.body.clear();
    a.hidden = Some(deleted(&m.account_id));
    let mut change = Change::new(qa);
    change.answer(&a);
    change.reindex(question_id);
    let q = qa.store.question(question_id)?;
    if let (Some(room), Some(event)) = (q.and_then(|q| q.room), a.event_id.clone()) {
        change.share(Outgoing::Redact {
            room,
            event,
            reason: "deleted by its author".into(),
        });
    }
    change.commit()?;
    Ok(())
}

/// A member's feed: the visible questions of others with the member's fit (0 to about
/// 120), best first, newest first among equals.
pub fn feed(qa: &Service, m: &Member) -> Result<Vec<(u32, Question)>> {
    feed_of(qa, m, qa.store.questions()?)
}

/// [`feed`] over questions already read.
pub fn feed_of(qa: &Service, m: &Member, questions: Vec<Question>) -> Result<Vec<(u32, Question)>> {
    may_read(qa, m)?;
    let patients = qa.patients.of(&m.account_id)?;
    let helper = super::Helper::new(
        qa,
        &patients,
        &m.info.language,
        qa.store.helpfulness(&m.account_id)?,
    );
    let mut ranked: Vec<(u32, Question)> = questions
        .into_iter()
        .filter(|q| q.account_id != m.account_id && q.hidden.is_none())
        .map(|q| {
            (
                (super::helper_score(qa, &q, &helper) * 100.0).round() as u32,
                q,
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.created_at.cmp(&a.1.created_at)));
    Ok(ranked)
}
