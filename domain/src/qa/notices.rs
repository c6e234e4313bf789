//! Telling members about questions: each new question (asked here or arriving from a
//! partner node) is shown to the members most likely to help ([`super::helper_score`]),
//! at most `[qa] notify_top` of them and never more than `[qa] max_notices_per_day` question
//! notices a day to one member; followers are told about new answers. Notices are listed
//! on the questions page; members who ask for it get them in one mail a day.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Service;
use super::{Answer, Question, QuestionScorer};
use crate::clock::now;
use crate::ids::AccountId;
use crate::mail::Mail;
use crate::store::{Batch, Record, StoreError, Tree, decode, encode};

/// Seconds in the window the daily limits count over.
pub const DAY: u64 = 24 * 3600;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new question the member is likely to help with.
    Question,
    /// A new answer to a question the member follows.
    Answer,
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notice {
    /// The question.
    pub question_id: String,
    /// Its title when the notice was made.
    pub title: String,
    /// What happened.
    pub kind: Kind,
    /// When (Unix seconds).
    pub at: u64,
    /// The member saw it on the questions page.
    pub read: bool,
    /// It went out in a digest mail.
    pub mailed: bool,
}

impl Record for Notice {
    const TREE: Tree = Tree::QaNotices;
    const VERSION: u32 = 1;
}

/// A member's choice about digest mails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// One mail a day with the new notices.
    pub digest: bool,
    /// When the last digest went out.
    pub last_digest: Option<u64>,
}

impl Record for Prefs {
    const TREE: Tree = Tree::QaNotices;
    const VERSION: u32 = 1;
}

fn key(account: &str, n: &Notice) -> Vec<u8> {
    let kind = match n.kind {
        Kind::Question => "q",
        Kind::Answer => "a",
    };
    format!("n/{account}/{:020}/{}/{kind}", n.at, n.question_id).into_bytes()
}

fn put(qa: &Service, account: &str, n: &Notice) -> Result<(), StoreError> {
    let mut batch = Batch::new();
    put_in(&mut batch, account, n);
    qa.kv.apply(&batch)
}

fn put_in(batch: &mut Batch, account: &str, n: &Notice) {
    batch.put(key(account, n), n);
}

/// A member's notices, newest first.
pub fn of(qa: &Service, account: &str) -> Result<Vec<Notice>, StoreError> {
    let mut v: Vec<Notice> = qa
        .kv
        .scan_prefix(Tree::QaNotices, format!("n/{account}/").as_bytes())?
        .into_iter()
        .map(|(_, v)| decode(&v).map_err(StoreError::from))
        .collect::<Result<_, _>>()?;
    v.reverse();
    Ok(v)
}

/// A member's notices about questions that are still visible, with their current
/// titles, newest first.
pub fn shown(qa: &Service, account: &str) -> Result<Vec<Notice>, StoreError> {
    let mut out = Vec::new();
    for mut n in of(qa, account)? {
        if let Some(q) = qa.store.question(&n.question_id)?
            && q.hidden.is_none()
        {
            n.title = q.title;
            out.push(n);
        }
    }
    Ok(out)
}

/// Marks a member's notices read.
pub fn mark_read(qa: &Service, account: &str) -> Result<(), StoreError> {
    for mut n in of(qa, account)? {
        if !n.read {
            n.read = true;
            put(qa, account, &n)?;
        }
    }
    Ok(())
}

/// Adds the erasure of a member's notices and digest choice to `batch`.
pub fn erase(qa: &Service, batch: &mut Batch, account: &str) -> Result<(), StoreError> {
    for (k, _) in qa
        .kv
        .scan_prefix(Tree::QaNotices, format!("n/{account}/").as_bytes())?
    {
        batch.remove(Tree::QaNotices, k);
    }
    batch.remove(Tree::QaNotices, format!("pref/{account}"));
    Ok(())
}

/// A member's digest choice.
pub fn prefs(qa: &Service, account: &str) -> Result<Prefs, StoreError> {
    Ok(qa
        .kv
        .get(Tree::QaNotices, format!("pref/{account}").as_bytes())?
        .map(|b| decode(&b))
        .transpose()?
        .unwrap_or_default())
}

/// Saves a member's digest choice.
pub fn set_prefs(qa: &Service, account: &str, p: &Prefs) -> Result<(), StoreError> {
    qa.kv.put(
        Tree::QaNotices,
        format!("pref/{account}").as_bytes(),
        &encode(p),
    )
}

/// Tells the members most likely to help about a new question; the accounts told.
pub fn target(qa: &Service, batch: &mut Batch, q: &Question) -> Result<Vec<AccountId>, StoreError> {
    let cfg = &qa.settings.qa;
    if cfg.notify_top == 0 || q.hidden.is_some() {
        return Ok(Vec::new());
    }
    let mut helpful: HashMap<AccountId, u32> = HashMap::new();
    for a in qa.store.all_answers()? {
        if a.hidden.is_none() && !a.account_id.is_empty() {
            *helpful.entry(a.account_id.clone()).or_default() +=
                a.helpful.len() as u32 + if a.accepted { 2 } else { 0 };
        }
    }
    let scorer = QuestionScorer::new(qa, q);
    let mut ranked = Vec::new();
    for m in qa.registrations.members()? {
        if m.account_id == q.account_id {
            continue;
        }
        let validated: Vec<_> = qa
            .patients
            .of(&m.account_id)?
            .into_iter()
            .filter(|p| p.validation.is_approved())
            .collect();
        if validated.is_empty() {
            continue;
        }
        // A validated patient without symptoms still counts (helpfulness, language).
        let profiles: Vec<_> = validated
            .iter()
            .filter_map(|p| p.profile(&qa.ontology))
            .collect();
        let score = scorer.score(
            &profiles,
            helpful.get(&m.account_id).copied().unwrap_or(0),
            &m.info.language,
        );
        let fit = (score * 100.0).round() as u32;
        if fit >= cfg.min_fit {
            ranked.push((fit, m.account_id));
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let since = now().saturating_sub(DAY);
    let mut told = Vec::new();
    for (_, account) in ranked {
        if told.len() >= cfg.notify_top as usize {
            break;
        }
        let today = of(qa, &account)?
            .iter()
            .filter(|n| n.kind == Kind::Question && n.at >= since)
            .count();
        if today >= cfg.max_notices_per_day as usize {
            continue;
        }
        put_in(
            batch,
            &account,
            &Notice {
                question_id: q.id.clone(),
                title: q.title.clone(),
                kind: Kind::Question,
                at: now(),
                read: false,
                mailed: false,
            },
        );
        told.push(account);
    }
    Ok(told)
}

/// Tells a question's followers (but the answer's author) about a new answer.
pub fn answered(batch: &mut Batch, q: &Question, a: &Answer) {
    for f in &q.followers {
        if *f == a.account_id {
            continue;
        }
        put_in(
            batch,
            f,
            &Notice {
                question_id: q.id.clone(),
                title: q.title.clone(),
                kind: Kind::Answer,
                at: now(),
                read: false,
                mailed: false,
            },
        );
    }
}

/// Mails each member who asked for it their unread, unmailed notices, at most once a day;
/// how many mails went out.
pub async fn send_digests(qa: &Service) -> Result<usize, StoreError> {
    let base = qa.settings.public_url.trim_end_matches('/');
    let mut sent = 0;
    for m in qa.registrations.members()? {
        let mut p = prefs(qa, &m.account_id)?;
        if !p.digest || p.last_digest.is_some_and(|t| now() < t + DAY) {
            continue;
        }
        if super::actions::may_read(qa, &m).is_err() {
            continue;
        }
        let fresh: Vec<Notice> = shown(qa, &m.account_id)?
            .into_iter()
            .filter(|n| !n.read && !n.mailed)
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let lang = super::actions::language(&m.info.language).unwrap_or("en");
        let text = |key: &'static str| crate::message::Message::new(key);
        let lines: Vec<String> = fresh
            .iter()
            .map(|n| {
                let what = match n.kind {
                    Kind::Question => text("qa.mail.question"),
                    Kind::Answer => text("qa.mail.answer"),
                };
                format!(
                    "- {}: \"{}\"\n  {base}/questions/{}",
                    what.render(lang),
                    n.title,
                    n.question_id
                )
            })
            .collect();
        let mail = Mail {
            to: m.info.email.clone(),
            subject: text("qa.mail.subject")
                .with("node", &qa.settings.node_name)
                .render(lang),
            body: format!(
                "{}\n\n{}\n\n{}\n",
                text("qa.mail.hello").render(lang),
                lines.join("\n"),
                text("qa.mail.footer")
                    .with("url", format!("{base}/questions"))
                    .render(lang)
            ),
        };
        if let Err(e) = qa.mailer.send(&mail).await {
            tracing::warn!(error = %e, "question digest mail failed");
            continue;
        }
        for mut n in fresh {
            n.mailed = true;
            put(qa, &m.account_id, &n)?;
        }
        p.last_digest = Some(now());
        set_prefs(qa, &m.account_id, &p)?;
        sent += 1;
    }
    Ok(sent)
}

/// Starts the digest task: a pass every `every`.
pub fn start(qa: &Service, every: Duration) -> tokio::task::JoinHandle<()> {
    let qa = qa.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = send_digests(&qa).await {
                tracing::warn!(error = %e, "question digests failed");
            }
        }
    })
}
