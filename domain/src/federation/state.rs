//! The names of what the federation remembers about itself (one tree,
//! `federation_state`): one [`Key`] per kind of thing, so no caller writes a name by hand.
//! The stored names are the ones nodes have always written (`peer_room:<user id>`...), so
//! a data folder of an earlier release reads the same.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One value of the federation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// This node's own room → its id.
    OwnRoom,
    /// This node's own Q&A room → its id.
    OwnQaRoom,
    /// A peer (user id) invited to the node's room → `1`.
    Invited(&'a str),
    /// A peer (user id) invited to the node's Q&A room → `1`.
    QaInvited(&'a str),
    /// A peer's room, by the peer's user id → the room id.
    PeerRoom(&'a str),
    /// A peer's Q&A room, by the peer's user id → the room id.
    PeerQaRoom(&'a str),
    /// A peer's room (id) the node has joined → `1`.
    Joined(&'a str),
    /// A Q&A room (id) known to be end-to-end encrypted → `1`.
    QaEncrypted(&'a str),
    /// An event (id) the node's device could not decrypt yet → its room's id.
    Undecrypted(&'a str),
    /// A peer's Q&A room (id) the node has joined → `1`.
    QaJoined(&'a str),
    /// A contact room (id) the node is in until both members joined → `1`.
    ContactRoom(&'a str),
    /// A contact room (id) in which a member talks through the account the node manages
    /// for them → `<account id> <conversation id>`.
    ManagedRoom(&'a str),
    /// An event (id) of a managed room its account could not decrypt yet →
    /// `<since> <room id>`.
    ManagedUndecrypted(&'a str),
    /// A Q&A event (id) → what it is here: `q/<question>` or `a/<question>/<answer>`.
    QaEvent(&'a str),
    /// An edit (event id) this node sent of one of its Q&A events (id) → `1`.
    QaEdit {
        /// The event edited.
        event: &'a str,
        /// The edit.
        edit: &'a str,
    },
    /// The last revision published under a pseudonym.
    LastRev(&'a str),
    /// The publishing clock: the last revision or snapshot time handed out.
    Clock,
    /// A peer (user id) → `<as_of> <full_as_of>`: the point of the last answer to a
    /// snapshot request received whole from it (the next request asks for what changed
    /// since), and of the last whole snapshot.
    SyncedFrom(&'a str),
    /// The last event id seen in a room.
    LastEvent(&'a str),
    /// A room's catch-up checkpoint (the event the last walk reached back to).
    CaughtUp(&'a str),
    /// A room's checkpoint as it was before the last walk.
    CaughtUpBefore(&'a str),
    /// A received contact message waiting to be handled (JSON), by sender and batch.
    Inbox {
        /// The peer.
        sender: &'a str,
        /// The batch id.
        batch: &'a str,
    },
    /// A Q&A event waiting to be sent (JSON), in order of `at` (milliseconds).
    QaOut {
        /// When it was queued.
        at: u64,
        /// Its transaction id.
        txn: &'a str,
    },
    /// A part of a snapshot being received, by sender, request and part.
    SnapshotPart {
        /// The peer.
        sender: &'a str,
        /// The request answered.
        request: &'a str,
        /// The part number.
        part: u64,
    },
}

/// A kind of [`Key`] with many values, for listing them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Every [`Key::Invited`].
    Invited,
    /// Every [`Key::QaInvited`].
    QaInvited,
    /// Every [`Key::PeerRoom`].
    PeerRoom,
    /// Every [`Key::PeerQaRoom`].
    PeerQaRoom,
    /// Every [`Key::Inbox`].
    Inbox,
    /// Every [`Key::QaOut`], oldest first.
    QaOut,
    /// Every [`Key::Undecrypted`].
    Undecrypted,
    /// Every [`Key::ManagedRoom`].
    ManagedRoom,
    /// Every [`Key::ManagedUndecrypted`].
    ManagedUndecrypted,
    /// Every [`Key::QaEdit`] of one event.
    QaEditsOf(&'a str),
    /// Every [`Key::LastRev`].
    LastRev,
    /// Every [`Key::SnapshotPart`] of one sender's answer to one request.
    SnapshotParts {
        /// The peer.
        sender: &'a str,
        /// The request.
        request: &'a str,
    },
}

impl Kind<'_> {
    /// The start every name of this kind has.
    pub fn prefix(&self) -> String {
        match self {
            Self::Invited => "invited:".into(),
            Self::QaInvited => "qa_invited:".into(),
            Self::PeerRoom => "peer_room:".into(),
            Self::PeerQaRoom => "peer_qa_room:".into(),
            Self::Inbox => "inbox:".into(),
            Self::QaOut => "qa_out:".into(),
            Self::Undecrypted => "undecrypted:".into(),
            Self::ManagedRoom => "managed_room:".into(),
            Self::ManagedUndecrypted => "managed_undecrypted:".into(),
            Self::QaEditsOf(event) => format!("qa_edit:{event}:"),
            Self::LastRev => "last_rev:".into(),
            Self::SnapshotParts { sender, request } => format!("snap:{sender}:{request}:"),
        }
    }
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OwnRoom => f.write_str("own_room"),
            Self::OwnQaRoom => f.write_str("own_qa_room"),
            Self::Invited(p) => write!(f, "invited:{p}"),
            Self::QaInvited(p) => write!(f, "qa_invited:{p}"),
            Self::PeerRoom(p) => write!(f, "peer_room:{p}"),
            Self::PeerQaRoom(p) => write!(f, "peer_qa_room:{p}"),
            Self::Joined(r) => write!(f, "joined:{r}"),
            Self::QaJoined(r) => write!(f, "qa_joined:{r}"),
            Self::QaEncrypted(r) => write!(f, "qa_encrypted:{r}"),
            Self::Undecrypted(e) => write!(f, "undecrypted:{e}"),
            Self::ContactRoom(r) => write!(f, "contact_room:{r}"),
            Self::ManagedRoom(r) => write!(f, "managed_room:{r}"),
            Self::ManagedUndecrypted(e) => write!(f, "managed_undecrypted:{e}"),
            Self::QaEvent(e) => write!(f, "qa_event:{e}"),
            Self::QaEdit { event, edit } => write!(f, "qa_edit:{event}:{edit}"),
            Self::LastRev(p) => write!(f, "last_rev:{p}"),
            Self::SyncedFrom(p) => write!(f, "synced_from:{p}"),
            Self::Clock => f.write_str("publishing_clock"),
            Self::LastEvent(r) => write!(f, "last_event:{r}"),
            Self::CaughtUp(r) => write!(f, "caught_up:{r}"),
            Self::CaughtUpBefore(r) => write!(f, "caught_up_before:{r}"),
            Self::Inbox { sender, batch } => write!(f, "inbox:{sender}:{batch}"),
            Self::QaOut { at, txn } => write!(f, "qa_out:{at:020}:{txn}"),
            Self::SnapshotPart {
                sender,
                request,
                part,
            } => write!(f, "snap:{sender}:{request}:{part}"),
        }
    }
}

/// A message from a peer waiting to be handled (the value of a [`Key::Inbox`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The peer (its Matrix user id).
    pub peer: String,
    /// The protocol payload, as received (read when it is handled).
    pub payload: serde_json::Value,
    /// How many times handling it failed.
    #[serde(default)]
    pub attempts: u64,
}

/// A Q&A event waiting to be sent (the value of a [`Key::QaOut`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaOutEntry {
    /// The Matrix transaction id it is sent with (the same on every retry).
    pub txn: String,
    /// What to send.
    pub op: crate::qa::Outgoing,
}

/// What a Q&A event is on this node (the value of a [`Key::QaEvent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QaTarget {
    /// A question (by id).
    Question(String),
    /// An answer (by question and answer id).
    Answer {
        /// The question.
        question: String,
        /// The answer.
        answer: String,
    },
}

impl QaTarget {
    /// The question it is, or is an answer to.
    pub fn question(&self) -> &str {
        match self {
            Self::Question(q) | Self::Answer { question: q, .. } => q,
        }
    }

    /// The stored form (`q/<question>` or `a/<question>/<answer>`, as earlier releases
    /// wrote it).
    pub fn encode(&self) -> String {
        match self {
            Self::Question(q) => format!("q/{q}"),
            Self::Answer { question, answer } => format!("a/{question}/{answer}"),
        }
    }

    /// Reads the stored form; None for anything else.
    pub fn decode(stored: &str) -> Option<Self> {
        let parts: Vec<&str> = stored.split('/').collect();
        match parts.as_slice() {
            ["q", q] => Some(Self::Question((*q).to_owned())),
            ["a", q, a] => Some(Self::Answer {
                question: (*q).to_owned(),
                answer: (*a).to_owned(),
            }),
            _ => None,
        }
    }
}

/// The stored name of one entry a listing found (to remove it once handled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(pub(super) String);

impl Name {
    /// What follows the kind's prefix (the peer, the room...).
    pub fn rest<'a>(&'a self, kind: &Kind<'_>) -> &'a str {
        self.0.strip_prefix(&kind.prefix()).unwrap_or(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_ones_earlier_releases_wrote() {
        let names = [
            (Key::OwnRoom, "own_room"),
            (Key::OwnQaRoom, "own_qa_room"),
            (Key::Invited("@n:b"), "invited:@n:b"),
            (Key::QaInvited("@n:b"), "qa_invited:@n:b"),
            (Key::PeerRoom("@n:b"), "peer_room:@n:b"),
            (Key::PeerQaRoom("@n:b"), "peer_qa_room:@n:b"),
            (Key::QaEncrypted("!r:b"), "qa_encrypted:!r:b"),
            (Key::Undecrypted("$e"), "undecrypted:$e"),
            (Key::Joined("!r:b"), "joined:!r:b"),
            (Key::QaJoined("!r:b"), "qa_joined:!r:b"),
            (Key::ContactRoom("!r:b"), "contact_room:!r:b"),
            (Key::ManagedRoom("!r:b"), "managed_room:!r:b"),
            (Key::ManagedUndecrypted("$e"), "managed_undecrypted:$e"),
            (Key::QaEvent("$e"), "qa_event:$e"),
            (
                Key::QaEdit {
                    event: "$e",
                    edit: "$f",
                },
                "qa_edit:$e:$f",
            ),
            (Key::LastRev("p"), "last_rev:p"),
            (Key::LastEvent("!r:b"), "last_event:!r:b"),
            (Key::CaughtUp("!r:b"), "caught_up:!r:b"),
            (Key::CaughtUpBefore("!r:b"), "caught_up_before:!r:b"),
            (
                Key::Inbox {
                    sender: "@n:b",
                    batch: "x",
                },
                "inbox:@n:b:x",
            ),
            (
                Key::QaOut { at: 42, txn: "t" },
                "qa_out:00000000000000000042:t",
            ),
            (
                Key::SnapshotPart {
                    sender: "@n:b",
                    request: "r",
                    part: 3,
                },
                "snap:@n:b:r:3",
            ),
        ];
        for (key, name) in names {
            assert_eq!(key.to_string(), name);
        }
        let kind = Kind::SnapshotParts {
            sender: "@n:b",
            request: "r",
        };
        assert_eq!(Name("snap:@n:b:r:3".into()).rest(&kind), "3");
        assert_eq!(Name("peer_room:@n:b".into()).rest(&Kind::PeerRoom), "@n:b");
        assert_eq!(Kind::QaEditsOf("$e").prefix(), "qa_edit:$e:");
    }

    #[test]
    fn qa_targets_read_what_earlier_releases_wrote() {
        let q = QaTarget::Question("abc".into());
        let a = QaTarget::Answer {
            question: "abc".into(),
            answer: "def".into(),
        };
        assert_eq!(q.encode(), "q/abc");
        assert_eq!(a.encode(), "a/abc/def");
        assert_eq!(QaTarget::decode("q/abc"), Some(q));
        assert_eq!(QaTarget::decode("a/abc/def"), Some(a.clone()));
        assert_eq!(a.question(), "abc");
        for bad in ["", "q", "x/abc", "a/abc", "q/a/b/c"] {
            assert_eq!(QaTarget::decode(bad), None, "{bad}");
        }
    }
}
