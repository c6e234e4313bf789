//! Erasing a patient or a whole account, all or nothing.
//!
//! Every record goes in one [`Batch`], together with an [`Erasure`] that says what is left
//! to do outside the database: the encrypted document files and, for an account, its
//! mails still in the outbox. After the batch is applied the files are removed, the
//! database is rewritten so that no old copy stays readable ([`KvStore::forget_removed`]),
//! and the erasure record goes. A stop at any point leaves either nothing erased or every
//! record erased with its [`Erasure`] still there; [`resume`], run at start, finishes it.
//!
//! [`KvStore::forget_removed`]: crate::store::KvStore::forget_removed

use crate::ids::{AccountId, PatientId};
use serde::{Deserialize, Serialize};

use crate::accounts::Account;
use crate::registration::patient::Patient;
use crate::state::AppState;
use crate::store::{Batch, Record, StoreError, Tree, decode};

/// What an erasure still has to do once its records are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The member's account.
    pub account_id: AccountId,
    /// The patient erased; `None` for a whole account.
    pub patient_id: Option<PatientId>,
    /// The document files to remove.
    pub documents: Vec<String>,
    /// The address whose mails are removed from the outbox (a whole account only; cleared
    /// once done, before the database is rewritten).
    pub email: Option<String>,
}

impl Record for Erasure {
    const TREE: Tree = Tree::Erasures;
    const VERSION: u32 = 1;
}

impl Erasure {
    fn key(&self) -> String {
        match &self.patient_id {
            Some(p) => format!("{}/{p}", self.account_id),
            None => self.account_id.to_string(),
        }
    }
}

/// Adds the erasure of one patient's records (the patient, their documents' records,
/// their research answers) to `batch`; the document files to remove afterwards.
fn patient_records(
    state: &AppState,
    batch: &mut Batch,
    account_id: &str,
    p: &Patient,
) -> Result<Vec<String>, StoreError> {
    let mut documents = state.documents.erase_patient(batch, account_id, &p.id)?;
    documents.extend(
        state
            .messages
            .erase_patient(batch, &p.account_id, &p.id)
            .map_err(|e| StoreError::Backend(e.to_string()))?,
    );
    state.research.erase_patient(batch, account_id, &p.id)?;
    state.matchmaker.erase_patient(batch, account_id, &p.id);
    state.patients.remove(batch, p);
    Ok(documents)
}

/// Erases a patient with their documents (files and records) and answers, for good:
/// nothing of them stays readable in the data folder.
pub fn erase_patient(state: &AppState, account_id: &str, p: &Patient) -> crate::Result<()> {
    let erasure = begin_patient(state, account_id, p)?;
    finish(state, erasure)
}

/// The first step of [`erase_patient`]: every record goes, in one batch with the
/// [`Erasure`] that [`finish`] (or [`resume`], after a stop) completes.
pub fn begin_patient(state: &AppState, account_id: &str, p: &Patient) -> crate::Result<Erasure> {
    let mut batch = Batch::new();
    let erasure = Erasure {
        account_id: account_id.into(),
        patient_id: Some(p.id.clone()),
        documents: patient_records(state, &mut batch, account_id, p)?,
        email: None,
    };
    batch.put(erasure.key(), &erasure);
    state.patients.apply(&batch)?;
    managed_account_goes(state, &erasure.account_id, false);
    Ok(erasure)
}

/// Erases an account and everything attached to it: patients with their documents and
/// answers, what it wrote in Q&A (withdrawn from partners), its notices, member record,
/// pending registration, sessions, the email index, the reasons written about it in the
/// audit log and its mails still in the outbox; then rewrites the database so that no
/// old copy of any of it stays readable on disk. Returns how many patients were erased.
pub fn erase_account(state: &AppState, account: &Account) -> crate::Result<usize> {
    let (erasure, patients) = begin_account(state, account)?;
    finish(state, erasure)?;
    Ok(patients)
}

/// The first step of [`erase_account`]: every record goes, in one batch with the
/// [`Erasure`] that [`finish`] (or [`resume`], after a stop) completes; how many patients.
pub fn begin_account(state: &AppState, account: &Account) -> crate::Result<(Erasure, usize)> {
    let mut batch = Batch::new();
    let patients = state.patients.of(&account.id)?;
    let mut documents = Vec::new();
    for p in &patients {
        documents.extend(patient_records(state, &mut batch, &account.id, p)?);
    }
    let qa = crate::qa::moderation::erase_account(&state.qa, &mut batch, &account.id)
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    documents.extend(
        state
            .messages
            .erase_account(&mut batch, &account.id)
            .map_err(|e| StoreError::Backend(e.to_string()))?,
    );
    documents.sort();
    documents.dedup();
    state.audit.forget_reasons(&mut batch, &account.id)?;
    state.audit.record_in(
        &mut batch,
        &crate::audit::Entry {
            at: crate::clock::now(),
            actor: account.id.to_string(),
            action: crate::audit::Action::AccountDeleted,
            account_id: account.id.clone(),
            patient_id: None,
            document_id: None,
            reason: None,
        },
    )?;
    state.registrations.delete_member(&mut batch, &account.id);
    state
        .registrations
        .clear_pending_in(&mut batch, &account.email);
    state.sessions.end_all_in(&mut batch, &account.id)?;
    state.accounts.delete(&mut batch, account);
    let erasure = Erasure {
        account_id: account.id.clone(),
        patient_id: None,
        documents,
        email: Some(account.email.clone()),
    };
    batch.put(erasure.key(), &erasure);
    state.patients.apply(&batch)?;
    for question in &qa.questions {
        crate::qa::search::reindex(&state.qa, question);
    }
    if let Some(f) = state.qa.share() {
        f.send_queued();
    }
    managed_account_goes(state, &account.id, true);
    Ok((erasure, patients.len()))
}

/// The Matrix account the node manages for the member leaves the rooms of the
/// conversations erased; with the whole account it is erased too (its session ended, its
/// keys removed). Done in the background: the homeserver may be slow or down, and the
/// account's next sync leaves rooms whose conversation is gone anyway.
fn managed_account_goes(state: &AppState, account: &crate::ids::AccountId, whole: bool) {
    let (Some(f), Ok(runtime)) = (
        state.federation.clone(),
        tokio::runtime::Handle::try_current(),
    ) else {
        return;
    };
    if !whole {
        // Its next sync leaves the rooms of the conversations erased.
        let _in_runtime = runtime.enter();
        f.wake_managed(account);
        return;
    }
    let account = account.clone();
    runtime.spawn(async move {
        if let Err(e) = f.erase_managed(&account).await {
            tracing::warn!(error = %e, "an erased member's managed Matrix account was not cleared yet");
        }
    });
}

/// What is left of an erasure whose records are gone: its files, its mails, the rewrite
/// of the database, then its own record. Each step may run again after a stop.
pub fn finish(state: &AppState, mut erasure: Erasure) -> crate::Result<()> {
    for id in &erasure.documents {
        state.documents.vault().erase(id)?;
    }
    if let Some(email) = erasure.email.take() {
        if let Err(error) = crate::mail::forget_recipient(&state.config.outbox_path(), &email) {
            tracing::error!(%error, "could not remove an erased member's mails from the outbox");
        }
        // The address must not outlive the rewrite below.
        erasure.documents.clear();
        let mut batch = Batch::new();
        batch.put(erasure.key(), &erasure);
        state.kv.apply(&batch)?;
    }
    state.kv.forget_removed()?;
    state.kv.remove(Tree::Erasures, erasure.key().as_bytes())?;
    Ok(())
}

/// Finishes every erasure a stop cut short; how many. Run before the node serves.
pub fn resume(state: &AppState) -> crate::Result<usize> {
    let pending = state.kv.scan_prefix(Tree::Erasures, b"")?;
    for (_, value) in &pending {
        let erasure: Erasure = decode(value).map_err(StoreError::from)?;
        tracing::warn!(
            account = %erasure.account_id,
            patient = erasure.patient_id.as_deref().unwrap_or("(whole account)"),
            "finishing an erasure a stop interrupted"
        );
        finish(state, erasure)?;
    }
    Ok(pending.len())
}
