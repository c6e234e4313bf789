//! What messaging stores: conversations, their messages, each member's place in them,
//! contact requests within the organization, blocks and reports.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, PatientId};
use crate::store::{Record, Tree};

/// Who takes part in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Who {
    /// A member of this organization, for one of their patients.
    Local {
        /// The member.
        account_id: AccountId,
        /// The patient they asked or were asked about.
        patient_id: PatientId,
    },
    /// A member of a partner organization, known only by their node and their patient's
    /// pseudonym there.
    Remote {
        /// The partner node's Matrix user id.
        peer: String,
        /// The patient's pseudonym on that node.
        pseudonym: String,
    },
    /// A member whose account or patient was erased: what they wrote is gone.
    Gone,
}

impl Who {
    /// The local member, if this is one.
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Self::Local { account_id, .. } => Some(account_id),
            Self::Remote { .. } | Self::Gone => None,
        }
    }

    /// What a block is kept under: the member (a local one), or the partner's patient.
    pub fn block_key(&self) -> String {
        match self {
            Self::Local { account_id, .. } => format!("account:{account_id}"),
            Self::Remote { peer, pseudonym } => format!("remote:{peer} {pseudonym}"),
            Self::Gone => "gone".to_owned(),
        }
    }
}

/// One side of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Who.
    pub who: Who,
    /// How the other side sees them ("Patient 3F2A1C"): never a name.
    pub label: String,
    /// Their organization's name (`None`: this one).
    pub organization: Option<String>,
    /// Whether they left the conversation (or blocked the other): then nobody writes more.
    pub left: bool,
}

/// A private conversation between two members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Random id.
    pub id: String,
    /// The two sides.
    pub parties: Vec<Party>,
    /// Its Matrix room, when it has one.
    pub room: Option<String>,
    /// When it opened (Unix seconds).
    pub created_at: u64,
    /// When its last message was written.
    pub last_at: u64,
    /// The number of its last message (0: none yet).
    pub last_seq: u64,
}

impl Record for Conversation {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

impl Conversation {
    /// The side of a local member, if they are in it.
    pub fn side_of(&self, account_id: &str) -> Option<usize> {
        self.parties
            .iter()
            .position(|p| p.who.account().is_some_and(|a| a == account_id))
    }

    /// The other side of `side`.
    pub fn other(&self, side: usize) -> &Party {
        &self.parties[1 - side.min(1)]
    }

    /// Whether both are still in it (so either may write).
    pub fn open(&self) -> bool {
        self.parties.len() == 2 && !self.parties.iter().any(|p| p.left)
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Its number in the conversation, from 1.
    pub seq: u64,
    /// The side that wrote it (an index into the conversation's parties).
    pub from: usize,
    /// The text.
    pub body: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Its Matrix event, when it went through a room.
    pub event_id: Option<String>,
    /// An image sent with it (when the organization allows them).
    #[serde(default)]
    pub image: Option<Image>,
}

/// An image sent with a message: a file of the document vault, encrypted like documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The vault file's id.
    pub id: String,
    /// Its type, recognized from its content (`image/jpeg`, `image/png`, `image/webp`).
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Record for ChatMessage {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

/// A member's place in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The last message they have seen.
    pub read_seq: u64,
    /// When they were last told of a new message by mail.
    pub mailed_at: Option<u64>,
}

impl Record for Place {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

/// Where a contact request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the other member.
    Pending,
    /// Accepted: a conversation is open.
    Accepted,
    /// Declined.
    Declined,
}

impl RequestStatus {
    /// The catalogue key's last part.
    pub fn key(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }
}

/// A contact request between two members of this organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Random id.
    pub id: String,
    /// The member who asked.
    pub from_account: AccountId,
    /// Their patient.
    pub from_patient: PatientId,
    /// The member asked.
    pub to_account: AccountId,
    /// Their patient.
    pub to_patient: PatientId,
    /// Where it stands.
    pub status: RequestStatus,
    /// When asked (Unix seconds).
    pub created_at: u64,
    /// The conversation, once accepted.
    pub conversation: Option<String>,
}

impl Record for Request {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

/// Someone a member blocked: no further requests or messages from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// When (Unix seconds).
    pub at: u64,
}

impl Record for Block {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

/// A message reported to the organization's validators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Random id.
    pub id: String,
    /// The conversation.
    pub conversation: String,
    /// The message's number.
    pub seq: u64,
    /// The member who reported it.
    pub reporter: AccountId,
    /// Their reason.
    pub reason: String,
    /// A copy of the message (the validators read it even if it is later removed).
    pub body: String,
    /// The message's image, if it had one.
    #[serde(default)]
    pub image: Option<Image>,
    /// How the author appears ("Patient 3F2A1C", and their organization).
    pub author: String,
    /// The author, when a member of this organization.
    pub author_account: Option<AccountId>,
    /// When reported (Unix seconds).
    pub at: u64,
    /// Closed by a validator: who and when.
    pub closed: Option<(String, u64)>,
}

impl Record for Report {
    const TREE: Tree = Tree::Messaging;
    const VERSION: u32 = 1;
}

/// Keys of the messaging tree.
pub(crate) mod key {
    /// A conversation.
    pub fn conversation(id: &str) -> String {
        format!("c/{id}")
    }
    /// A message.
    pub fn message(conversation: &str, seq: u64) -> String {
        format!("m/{conversation}/{seq:016x}")
    }
    /// The messages of a conversation.
    pub fn messages(conversation: &str) -> String {
        format!("m/{conversation}/")
    }
    /// A member's place in a conversation.
    pub fn place(account: &str, conversation: &str) -> String {
        format!("p/{account}/{conversation}")
    }
    /// A member's places.
    pub fn places(account: &str) -> String {
        format!("p/{account}/")
    }
    /// A request.
    pub fn request(id: &str) -> String {
        format!("r/{id}")
    }
    /// A block.
    pub fn block(account: &str, whom: &str) -> String {
        format!("b/{account}/{whom}")
    }
    /// A member's blocks.
    pub fn blocks(account: &str) -> String {
        format!("b/{account}/")
    }
    /// A report.
    pub fn report(id: &str) -> String {
        format!("x/{id}")
    }
    /// The conversation held in a Matrix room → its id.
    pub fn room(room: &str) -> String {
        format!("k/{room}")
    }
    /// A Matrix event of a conversation → `<conversation>/<seq>`.
    pub fn event(event: &str) -> String {
        format!("e/{event}")
    }
}
