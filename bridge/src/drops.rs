//! Every event the node drops is logged once, at `warn`, with its sender, room, event id
//! and reason, and counted by reason (the counts are shown on the federation status and
//! can be exported as metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// Why an event was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The envelope is not a valid Matrix event (missing or invalid id, sender, room).
    Malformed,
    /// The sender is not a trusted peer (or not the node the room belongs to).
    Untrusted,
    /// The content is not what the protocol says (form, limits, HPO ids, version).
    Invalid,
    /// The payload does not decrypt with this node's key.
    Undecryptable,
    /// A protocol version this node does not speak.
    Version,
    /// An invitation to a room that is not one of the kinds the node joins, or not from
    /// the right node.
    Invitation,
    /// An edit, reply or redaction of something it may not touch.
    Forbidden,
}

impl DropReason {
    /// Every reason, in the order counts are shown.
    pub const ALL: [Self; 7] = [
        Self::Malformed,
        Self::Untrusted,
        Self::Invalid,
        Self::Undecryptable,
        Self::Version,
        Self::Invitation,
        Self::Forbidden,
    ];

    /// Its name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Untrusted => "untrusted",
            Self::Invalid => "invalid",
            Self::Undecryptable => "undecryptable",
            Self::Version => "version",
            Self::Invitation => "invitation",
            Self::Forbidden => "forbidden",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

static COUNTS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// Logs a dropped event and counts it.
pub fn dropped(reason: DropReason, sender: &str, room: &str, event_id: &str, why: &str) {
    COUNTS[reason.index()].fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        reason = reason.as_str(),
        %sender,
        %room,
        event_id,
        "event dropped: {why}"
    );
}

/// The number of events dropped for each reason since the process started.
pub fn counts() -> Vec<(&'static str, u64)> {
    DropReason::ALL
        .iter()
        .map(|r| (r.as_str(), COUNTS[r.index()].load(Ordering::Relaxed)))
        .collect()
}

/// Which reason a protocol error is.
pub fn reason_of(e: &crate::Error) -> DropReason {
    match e {
        crate::Error::Version(_) => DropReason::Version,
        crate::Error::Decrypt(_) => DropReason::Undecryptable,
        _ => DropReason::Invalid,
    }
}
