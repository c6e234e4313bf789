//! Typed, versioned records: each value is stored as `{"v": <version>, "r": <record>}` so
//! that a newer node can read (and upgrade) what an older one wrote.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Tree;

/// A record type stored in one tree.
pub trait Record: Serialize + DeserializeOwned {
    /// The tree it lives in.
    const TREE: Tree;
    /// The current version of its stored form.
    const VERSION: u32;
    /// Reads an older stored form (`version` < `VERSION`). The default knows none.
    fn upgrade(version: u32, _value: serde_json::Value) -> Result<Self, RecordError> {
        Err(RecordError::UnknownVersion {
            tree: Self::TREE.name(),
            version,
        })
    }
}

/// Why stored bytes cannot be read as a record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not a versioned record.
    #[error("{tree}: stored value is not a record: {message}")]
    Malformed {
        /// The tree.
        tree: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A version this build cannot read (written by a newer node, or long gone).
    #[error("{tree}: record version {version} is not readable by this version of raremesh")]
    UnknownVersion {
        /// The tree.
        tree: &'static str,
        /// The stored version.
        version: u32,
    },
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u32,
    r: &'a T,
}

/// The stored bytes of a record.
pub fn encode<T: Record>(record: &T) -> Vec<u8> {
    // Serializing plain data structures to JSON cannot fail.
    serde_json::to_vec(&Envelope {
        v: T::VERSION,
        r: record,
    })
    .unwrap_or_default()
}

/// Reads stored bytes, upgrading older versions.
pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, RecordError> {
    let malformed = |message: String| RecordError::Malformed {
        tree: T::TREE.name(),
        message,
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let version = value
        .get("v")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| malformed("no version".into()))? as u32;
    let record = value
        .get_mut("r")
        .map(serde_json::Value::take)
        .ok_or_else(|| malformed("no record".into()))?;
    match version {
        v if v == T::VERSION => {
            serde_json::from_value(record).map_err(|e| malformed(e.to_string()))
        }
        v if v < T::VERSION => T::upgrade(v, record),
        v => Err(RecordError::UnknownVersion {
            tree: T::TREE.name(),
            version: v,
        }),
    }
}
