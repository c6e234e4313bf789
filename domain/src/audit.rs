//! The audit log: who did what to which validation, and when. Entries name accounts and
//! patients by their random ids only; they never hold documents or personal details.

use crate::ids::{AccountId, PatientId};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A member uploaded a document.
    DocumentUploaded,
    /// A member removed a document not yet reviewed.
    DocumentRemoved,
    /// A validator or admin opened (decrypted) a document.
    DocumentOpened,
    /// A patient was sent to the review queue (all required documents present).
    ValidationRequested,
    /// A validator approved a patient.
    ValidationApproved,
    /// A validator rejected a patient, with a reason.
    ValidationRejected,
    /// A member deleted their account (documents and records erased).
    AccountDeleted,
    /// A researcher asked a count (the query and the answer given are in `reason`).
    ResearchQuery,
    /// A validator hid a community question or answer, with a reason (`document_id` names
    /// it: `question:<id>` or `answer:<question id>/<answer id>`).
    QaHidden,
    /// A validator restored a hidden question or answer, with a reason.
    QaRestored,
    /// A member reported a private message to the validators (`document_id`:
    /// `report:<id>`).
    MessageReported,
    /// A validator closed a report about a private message, with a note.
    ReportClosed,
    /// An admin imported a GA4GH Phenopacket into a patient (`reason`: how many symptoms
    /// were added and changed, and the diagnosis set).
    PhenopacketImported,
    /// A clinicians' matchmaker searched (`actor`: `mme <client>`; `reason`: what the
    /// request used and how many results it got).
    MmeMatch,
    /// An admin or validator sent a patient's profile to a matchmaker (`reason`: which,
    /// and what came back).
    MmeSent,
}

impl Action {
    /// The stable name, as shown in the log.
    pub fn name(self) -> &'static str {
        match self {
            Self::DocumentUploaded => "document_uploaded",
            Self::DocumentRemoved => "document_removed",
            Self::DocumentOpened => "document_opened",
            Self::ValidationRequested => "validation_requested",
            Self::ValidationApproved => "validation_approved",
            Self::ValidationRejected => "validation_rejected",
            Self::AccountDeleted => "account_deleted",
            Self::ResearchQuery => "research_query",
            Self::QaHidden => "qa_hidden",
            Self::QaRestored => "qa_restored",
            Self::MessageReported => "message_reported",
            Self::ReportClosed => "report_closed",
            Self::PhenopacketImported => "phenopacket_imported",
            Self::MmeMatch => "mme_match",
            Self::MmeSent => "mme_sent",
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When (Unix seconds).
    pub at: u64,
    /// The account that acted.
    pub actor: String,
    /// What it did.
    pub action: Action,
    /// The member account concerned.
    pub account_id: AccountId,
    /// The patient concerned, if any.
    pub patient_id: Option<PatientId>,
    /// The document concerned, if any.
    pub document_id: Option<String>,
    /// A rejection's reason (erased with the member's account).
    pub reason: Option<String>,
}

impl Record for Entry {
    const TREE: Tree = Tree::Audit;
    const VERSION: u32 = 1;
}

/// The audit log of a node (append-only, except that deleting an account erases the
/// reasons written about it).
#[derive(Debug, Clone)]
pub struct Audit {
    kv: Arc<dyn KvStore>,
}

impl Audit {
    /// The log kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Appends an entry (durably).
    pub fn record(&self, entry: &Entry) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        self.record_in(&mut batch, entry)?;
        self.kv.apply(&batch)
    }

    /// Adds an entry to `batch`.
    pub fn record_in(&self, batch: &mut Batch, entry: &Entry) -> Result<(), StoreError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut r = [0u8; 4];
        getrandom::fill(&mut r).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
        let key = format!(
            "{nanos:016x}{}",
            r.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        batch.put(key, entry);
        Ok(())
    }

    /// The latest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let all = self.kv.scan_prefix(Tree::Audit, b"")?;
        all.iter()
            .rev()
            .take(limit)
            .map(|(_, v)| decode(v).map_err(StoreError::from))
            .collect()
    }

    /// Erases the free-text reasons of the entries about an account (its deletion keeps
    /// the rest: who acted on which random ids, and when).
    pub fn forget_reasons(&self, batch: &mut Batch, account_id: &str) -> Result<usize, StoreError> {
        let mut n = 0;
        for (k, v) in self.kv.scan_prefix(Tree::Audit, b"")? {
            let mut e: Entry = decode(&v)?;
            if e.account_id == account_id && e.reason.is_some() {
                e.reason = None;
                batch.put(k, &e);
                n += 1;
            }
        }
        Ok(n)
    }
}
