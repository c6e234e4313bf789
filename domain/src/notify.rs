//! Notices of new or notably better matches, for members who asked for them: after
//! changes (new patients here or at partners, changed symptoms), each opted-in member's
//! validated patients are ranked again; a patient that enters the top matches with a good
//! score, or whose score rose notably, is marked "new" on the people-like-me page and
//! mailed about (at most one mail per member per day).

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::now;
use crate::ids::AccountId;
use crate::mail::Mail;
use std::sync::Arc;

use crate::mail::Mailer;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::similar::{SHOWN, Similar};
use crate::store::{Changes, KvStore};
use crate::store::{Record, StoreError, Tree, decode, encode};

/// The lowest score (0 to 100) worth a notice.
pub const MIN_SCORE: u32 = 50;
/// How much a known match's score must rise to be notable again.
pub const NOTABLE_RISE: u32 = 15;
/// Seconds between two mails to the same member.
pub const MAIL_EVERY_SECS: u64 = 24 * 3600;

/// What a member's patient has been told about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notices {
    /// Pseudonym → best score seen so far.
    pub seen: HashMap<String, u32>,
    /// Pseudonyms to mark "new" on the next visit.
    pub unread: Vec<String>,
    /// When the member was last mailed (Unix seconds; kept on the member's own record,
    /// `<account id>/`).
    pub mailed_at: Option<u64>,
    /// Whether a first ranking was recorded (it notifies nothing).
    pub started: bool,
}

impl Record for Notices {
    const TREE: Tree = Tree::MatchNotices;
    const VERSION: u32 = 1;
}

/// Who sends notices of new matches, and what it reads.
#[derive(Clone)]
pub struct Notifier {
    /// The database (the notices).
    pub kv: Arc<dyn KvStore>,
    /// Members (who asked for notices).
    pub registrations: Registrations,
    /// Their patients.
    pub patients: Patients,
    /// "People like me".
    pub similar: Arc<Similar>,
    /// Mail.
    pub mailer: Arc<Mailer>,
    /// Changes to patients, members and received vectors (what wakes a pass).
    pub changes: Changes,
    /// `node.name`, named in mails.
    pub node_name: String,
    /// `server.public_url`, for links in mails.
    pub public_url: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

fn key(account: &str, patient: &str) -> Vec<u8> {
    format!("{account}/{patient}").into_bytes()
}

/// The notices of a patient.
pub fn notices(notifier: &Notifier, account: &str, patient: &str) -> Result<Notices, StoreError> {
    Ok(notifier
        .kv
        .get(Tree::MatchNotices, &key(account, patient))?
        .map(|b| decode(&b))
        .transpose()?
        .unwrap_or_default())
}

/// Marks a patient's new matches as seen (the member opened the page).
pub fn mark_read(notifier: &Notifier, account: &str, patient: &str) -> Result<(), StoreError> {
    let mut n = notices(notifier, account, patient)?;
    if !n.unread.is_empty() {
        n.unread.clear();
        notifier
            .kv
            .put(Tree::MatchNotices, &key(account, patient), &encode(&n))?;
    }
    Ok(())
}

/// One pass over the opted-in members. Returns how many patients got a notice.
pub async fn pass(notifier: &Notifier) -> Result<usize, StoreError> {
    let members: HashMap<AccountId, crate::registration::Member> = notifier
        .registrations
        .members()?
        .into_iter()
        .filter(|m| m.consents.notify_matches)
        .map(|m| (m.account_id.clone(), m))
        .collect();
    if members.is_empty() {
        return Ok(0);
    }
    let mut noticed = 0;
    // Member → (patient name, page path) of the patients with something new.
    let mut mails: HashMap<AccountId, Vec<(String, String)>> = HashMap::new();
    for p in notifier.patients.all()? {
        let Some(m) = members.get(&p.account_id) else {
            continue;
        };
        if !p.validation.is_approved() {
            continue;
        }
        let matches = notifier.similar.find(&p, SHOWN)?;
        let mut n = notices(notifier, &p.account_id, &p.id)?;
        let mut fresh = Vec::new();
        for s in &matches {
            let before = n.seen.get(&s.pseudonym).copied();
            let notable = match before {
                None => s.score >= MIN_SCORE,
                Some(b) => s.score >= MIN_SCORE && s.score >= b + NOTABLE_RISE,
            };
            if notable && n.started {
                fresh.push(s.pseudonym.clone());
            }
            if before.is_none_or(|b| s.score > b) {
                n.seen.insert(s.pseudonym.clone(), s.score);
            }
        }
        n.started = true;
        if !fresh.is_empty() {
            noticed += 1;
            for f in &fresh {
                if !n.unread.contains(f) {
                    n.unread.push(f.clone());
                }
            }
            mails.entry(m.account_id.clone()).or_default().push((
                p.display_name.clone(),
                format!("/patients/{}/similar", p.id),
            ));
        }
        notifier
            .kv
            .put(Tree::MatchNotices, &key(&p.account_id, &p.id), &encode(&n))?;
    }
    let base = notifier.public_url.trim_end_matches('/');
    for (account, lines) in mails {
        let Some(m) = members.get(&account) else {
            continue;
        };
        // At most one mail a day per member, whatever the number of patients.
        let mut last = notices(notifier, &account, "")?;
        if last.mailed_at.is_some_and(|t| now() < t + MAIL_EVERY_SECS) {
            continue;
        }
        last.mailed_at = Some(now());
        notifier
            .kv
            .put(Tree::MatchNotices, &key(&account, ""), &encode(&last))?;
        let list: Vec<String> = lines
            .iter()
            .map(|(name, path)| format!("- {name}: {base}{path}"))
            .collect();
        let lang = m.info.language.as_str();
        let mail = Mail {
            to: m.info.email.clone(),
            subject: crate::message::Message::new("mail.matches.subject")
                .with("node", &notifier.node_name)
                .render(lang),
            body: crate::message::Message::new("mail.matches.body")
                .with("list", list.join("\n"))
                .with("link", format!("{base}/terms"))
                .render(lang),
        };
        if let Err(e) = notifier.mailer.send(&mail).await {
            tracing::warn!(error = %e, "match notice mail failed");
        }
    }
    Ok(noticed)
}

/// Runs passes after changes, at most every `every`.
pub async fn run(notifier: Notifier, every: Duration) {
    loop {
        notifier.changes.changed().await;
        tokio::time::sleep(every).await;
        if let Err(e) = pass(&notifier).await {
            tracing::warn!(error = %e, "match notices failed");
        }
    }
}

/// Starts the notices task.
pub fn start(notifier: &Notifier) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(notifier.clone(), Duration::from_secs(10)))
}
