//! Storage: a small key-value trait ([`KvStore`]) with a sled implementation for nodes
//! and an in-memory one for tests, and typed, versioned records on top ([`Record`]).
//!
//! Every write is flushed to disk before it returns: data a member gave is not lost when
//! the node is killed.

mod batch;
mod memory;
mod record;
mod sled_store;

pub use batch::{Batch, Write};
pub use memory::MemoryStore;
pub use record::{Record, RecordError, decode, encode};
pub use sled_store::SledStore;

/// The named trees (tables) of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// Account id → account record.
    Accounts,
    /// Normalized email → account id (unique).
    AccountsByEmail,
    /// SHA-256 of a session token → session record.
    Sessions,
    /// `<account id>/<token hash>` → empty: an account's sessions, to end them all.
    SessionsByAccount,
    /// SHA-256 of an emailed link's token → what the link does (single use).
    EmailTokens,
    /// Account id → the member's personal information and registration progress.
    Members,
    /// Normalized email → step 1 of a registration waiting for its link to be opened.
    PendingRegistrations,
    /// `<account id>/<patient id>` → a patient of that member.
    Patients,
    /// SHA-256 of a password-reset link's token → the account and expiry (single use).
    ResetTokens,
    /// `<account id>/<patient id>/<document id>` → a validation document's record.
    Documents,
    /// `<time, 16 hex digits of nanoseconds><random>` → one audit entry, in time order.
    Audit,
    /// `<peer user id> <pseudonym>` → a vector received from a trusted peer (or its
    /// retraction, kept to refuse older revisions).
    RemoteVectors,
    /// Pseudonym → what this node last published under it (revision and content hash).
    Published,
    /// Name → value: the federation's own state (the node's room, invited peers, peers'
    /// rooms).
    FederationState,
    /// Matrix event id → when it was applied (each event is applied once, whichever way
    /// it arrived: the homeserver's push or the node's sync).
    AppliedEvents,
    /// Contact request id → the request, as this node sees it.
    Contacts,
    /// `<account id>/<patient id>` → the matches a patient's member was told about.
    MatchNotices,
    /// `<account id>/<patient id>/<questionnaire id>` → a patient's answers.
    Answers,
    /// `<researcher id>/<period>` → budget spent; `q/<period>/<query>` → a cached answer.
    ResearchBudget,
    /// Question id → a community question.
    Questions,
    /// `<question id>/<answer id>` → an answer.
    QaAnswers,
    /// `<account id>/<time><question id>` → a notice about a question; `pref/<account id>`
    /// → the member's digest choice; `salt` → the secret behind display names.
    QaNotices,
    /// `<account id>` or `<account id>/<patient id>` → an erasure whose records are gone
    /// and whose files (documents, mails in the outbox, shared Q&A events) may not be yet:
    /// finished at the next start if a stop cut it short.
    Erasures,
    /// Messaging between members: `c/<conversation>` a conversation, `m/<conversation>/<seq>`
    /// its messages, `p/<account id>/<conversation>` a member's place in it (read up to,
    /// left, last mail), `r/<request>` a contact request within the organization,
    /// `b/<account id>/<handle>` someone a member blocked, `x/<report>` a reported message.
    Messaging,
    /// Matchmaker Exchange: `secret` → the key behind the pseudonyms matchmakers see;
    /// `n/<account id>/<patient id>` → how often clinicians' queries found a patient.
    Matchmaking,
}

impl Tree {
    /// The tree's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::AccountsByEmail => "accounts_by_email",
            Self::Sessions => "sessions",
            Self::SessionsByAccount => "sessions_by_account",
            Self::EmailTokens => "email_tokens",
            Self::Members => "members",
            Self::PendingRegistrations => "pending_registrations",
            Self::Patients => "patients",
            Self::ResetTokens => "reset_tokens",
            Self::Documents => "documents",
            Self::Audit => "audit",
            Self::RemoteVectors => "remote_vectors",
            Self::Published => "published",
            Self::FederationState => "federation_state",
            Self::AppliedEvents => "federation_events",
            Self::Contacts => "contacts",
            Self::MatchNotices => "match_notices",
            Self::Answers => "answers",
            Self::ResearchBudget => "research_budget",
            Self::Questions => "questions",
            Self::QaAnswers => "qa_answers",
            Self::QaNotices => "qa_notices",
            Self::Erasures => "erasures",
            Self::Messaging => "messaging",
            Self::Matchmaking => "matchmaking",
        }
    }
}

/// A counter of changes to the records that matching reads (patients, members, received
/// vectors): a cache built at one count is stale at another. Each change also wakes the
/// federation publisher.
#[derive(Debug, Clone, Default)]
pub struct Changes(
    std::sync::Arc<std::sync::atomic::AtomicU64>,
    std::sync::Arc<tokio::sync::Notify>,
);

impl Changes {
    /// Counts one change.
    pub fn bump(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.1.notify_one();
    }

    /// Waits for the next change (or returns at once if one happened since the last wait).
    pub async fn changed(&self) {
        self.1.notified().await;
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (I/O, corruption, lock held by another process).
    #[error("database: {0}")]
    Backend(String),
    /// A stored record cannot be read.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// The result type of storage operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// One exported entry: the tree's name, the key, the value.
pub type Entry = (String, Vec<u8>, Vec<u8>);

/// What [`KvStore::visit_prefix`] gives each entry to (key, value).
pub type VisitEntry<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<()> + 'a;

/// What [`KvStore::export`] gives each entry to (tree name, key, value).
pub type Visit<'a> = dyn FnMut(&str, &[u8], &[u8]) -> StoreResult<()> + 'a;

/// A byte-level key-value store with named trees.
pub trait KvStore: Send + Sync + std::fmt::Debug {
    /// The value under `key`.
    fn get(&self, tree: Tree, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;
    /// Sets `key` to `value` (durably, before returning).
    fn put(&self, tree: Tree, key: &[u8], value: &[u8]) -> StoreResult<()>;
    /// Removes `key`; whether it was there.
    fn remove(&self, tree: Tree, key: &[u8]) -> StoreResult<bool>;
    /// Sets `key` to `new` only if it currently holds `old` (`None`: absent); whether it did.
    /// Durable before returning.
    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> StoreResult<bool>;
    /// Applies every write of `batch` atomically (all or none, also across a crash) and
    /// durably, before returning.
    fn apply(&self, batch: &Batch) -> StoreResult<()>;
    /// All entries whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>>;
    /// [`Self::scan_prefix`] one entry at a time, without holding them all (key, value),
    /// in key order.
    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut VisitEntry<'_>,
    ) -> StoreResult<()> {
        for (k, v) in self.scan_prefix(tree, prefix)? {
            visit(&k, &v)?;
        }
        Ok(())
    }
    /// Every entry of every tree as it is at one moment, given to `visit` (tree name, key,
    /// value); writers wait until `visit` is done for all and `held` has returned
    /// (readers do not). `held` is for files that go with the records.
    fn export(
        &self,
        visit: &mut Visit<'_>,
        held: &mut dyn FnMut() -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// Makes every removed or overwritten value unreadable on disk now, not at some later
    /// compaction (after erasing a member). Writers wait while it runs. A store that
    /// keeps nothing on disk has nothing to do.
    fn forget_removed(&self) -> StoreResult<()> {
        Ok(())
    }
}
