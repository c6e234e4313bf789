//! Private messages between members who both agreed to talk.
//!
//! A member asks to get in touch with the member behind a similar patient (of this
//! organization here, of a partner organization through the federation's contact
//! requests); when the other member accepts, a [`Conversation`] opens between the two.
//! Members read and write it on the Messages pages; either may leave it, block the
//! other (no further requests or messages from them) or report a message to the
//! organization's validators. A new message or request is told by mail, at most once an
//! hour per conversation, in the member's language and without the message's text.
//!
//! Nothing about a member is shown to the other before both agreed: each side sees the
//! other's patient pseudonym and organization, never a name or an address.

mod conversations;
mod erase;
mod images;
mod model;
mod notices;
mod remote;
mod reports;
mod requests;

use std::sync::Arc;

pub use conversations::{Listed, Shown, ShownMessage};
pub use model::{
    Block, ChatMessage, Conversation, Image, Party, Place, Report, Request, RequestStatus, Who,
};
pub use remote::{RemoteMember, RoomState};
pub use requests::{Possible, handle};

use crate::accounts::throttle::Throttle;
use crate::audit::Audit;
use crate::mail::Mailer;
use crate::message::Message;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::similar::Similar;
use crate::store::{KvStore, StoreError};

/// The longest message, in characters.
pub const MAX_MESSAGE: usize = 4000;
/// The longest reason given with a report, in characters.
pub const MAX_REASON: usize = 1000;
/// Messages one member may send within the throttle's window (15 minutes).
pub const MESSAGES_PER_WINDOW: usize = 60;
/// Contact requests one member may make within the throttle's window.
pub const REQUESTS_PER_WINDOW: usize = 10;
/// Requests of one member waiting for an answer at once.
pub const MAX_PENDING: usize = 20;
/// At most one mail per conversation and member within this many seconds.
pub const MAIL_EVERY: u64 = 3600;

/// Why a messaging step is refused.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// Something the member can fix, or a state that does not allow it (a catalogue
    /// message, shown in the member's language).
    #[error("{0}")]
    Refused(Message),
    /// Not there, or not the member's to see (both answered the same way).
    #[error("not found")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An image could not be written or read.
    #[error(transparent)]
    Files(#[from] crate::documents::DocumentError),
}

impl MessagingError {
    fn refused(key: &'static str) -> Self {
        Self::Refused(Message::new(key))
    }
}

/// What messaging is built from.
pub struct Parts {
    /// The database.
    pub kv: Arc<dyn KvStore>,
    /// Members' patients.
    pub patients: Patients,
    /// Members (consents, language, address).
    pub registrations: Registrations,
    /// People like me: who to offer as contacts, most similar first.
    pub similar: Arc<Similar>,
    /// Mail to members.
    pub mailer: Arc<Mailer>,
    /// Rate limits.
    pub throttle: Arc<Throttle>,
    /// The audit log (reports and what validators did with them).
    pub audit: Audit,
    /// The organization's name (in mails).
    pub node_name: String,
    /// The node's address (links in mails).
    pub public_url: String,
    /// The federation, when it runs: notices also go to members' confirmed Matrix accounts.
    pub federation: Option<Arc<crate::federation::Federation>>,
    /// Where images sent with messages are kept (encrypted, like documents).
    pub documents: crate::documents::Documents,
    /// The `[messages]` settings.
    pub settings: crate::config::MessagesConfig,
}

/// Messaging: cheap to clone.
#[derive(Clone)]
pub struct Service(Arc<Inner>);

struct Inner {
    parts: Parts,
    /// One writer at a time (message numbers, request checks).
    write: std::sync::Mutex<()>,
    /// Counts new messages, so that a page waiting for one wakes.
    news: tokio::sync::watch::Sender<u64>,
}

/// Messaging, if it is still there.
#[derive(Clone)]
pub struct WeakService(std::sync::Weak<Inner>);

impl WeakService {
    /// Messaging, while the node runs.
    pub fn upgrade(&self) -> Option<Service> {
        self.0.upgrade().map(Service)
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("messages::Service").finish_non_exhaustive()
    }
}

impl Service {
    /// Messaging over `parts`.
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(Inner {
            parts,
            write: std::sync::Mutex::new(()),
            news: tokio::sync::watch::channel(0).0,
        }))
    }

    /// A handle that does not keep messaging alive (for the federation, which messaging
    /// holds).
    pub fn downgrade(&self) -> WeakService {
        WeakService(Arc::downgrade(&self.0))
    }

    fn parts(&self) -> &Parts {
        &self.0.parts
    }

    fn kv(&self) -> &dyn KvStore {
        self.0.parts.kv.as_ref()
    }

    /// Wakes the pages waiting for news.
    fn announce(&self) {
        self.0.news.send_modify(|n| *n += 1);
    }

    /// A receiver that changes whenever a message is written or a conversation ends:
    /// take it before looking, then wait on it.
    pub fn news(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.news.subscribe()
    }
}
