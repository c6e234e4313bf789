//! The error type of this crate.

/// Why an event cannot be sent or must be dropped, or a call to the homeserver failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The serialized event is larger than Matrix accepts.
    #[error("event is {size} bytes; Matrix accepts at most {max}")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The content is not canonical JSON as Matrix requires (a float, an integer outside
    /// ±(2^53-1)).
    #[error("content is not canonical JSON: {0}")]
    NotCanonical(String),
    /// An event type or state key longer than Matrix accepts.
    #[error("{what} is {len} bytes; Matrix accepts at most 255")]
    IdentifierTooLong {
        /// `type` or `state_key`.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The content could not be serialized.
    #[error("content cannot be serialized: {0}")]
    Serialize(String),
    /// A protocol version this node does not speak.
    #[error("protocol version {0} is not supported (this node speaks version 1)")]
    Version(u64),
    /// The content or the decrypted payload is not what the protocol says.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The payload does not decrypt with this node's key (not addressed to it, or damaged).
    #[error("does not decrypt: {0}")]
    Decrypt(String),
    /// A value breaks a protocol rule (an id's form, a count, a duplicate).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A Matrix identifier is not valid.
    #[error("{0}")]
    Id(String),
    /// The homeserver could not be reached.
    #[error("homeserver unreachable: {0}")]
    Unreachable(String),
    /// The homeserver refused a call.
    #[error("homeserver: {what}: {status} {errcode}")]
    Refused {
        /// The call (`send`, `join`…).
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The Matrix error code, if any.
        errcode: String,
    },
}

impl Error {
    /// The HTTP status the homeserver refused with, if it did.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether retrying cannot help: the homeserver refused with a 4xx other than 429.
    pub fn is_permanent(&self) -> bool {
        self.status()
            .is_some_and(|s| (400..500).contains(&s) && s != 429)
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
