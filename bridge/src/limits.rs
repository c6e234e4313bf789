//! The limits Matrix puts on events: no floats, integers within ±(2^53-1), at most
//! 64 KiB per event, `type` and `state_key` at most 255 bytes. Checked before sending
//! (so batches are split in time) and on receipt (so bad events are dropped with a reason).

use serde_json::Value;

use crate::{Error, Result};

/// The largest event Matrix accepts, in bytes (the whole PDU, signatures included).
pub const MAX_EVENT_BYTES: usize = 65_536;
/// Bytes kept free for what the homeserver adds around the content (ids, hashes,
/// signatures, `unsigned`).
pub const ENVELOPE_RESERVE: usize = 4_096;
/// The largest content this project sends in one event.
pub const MAX_CONTENT_BYTES: usize = MAX_EVENT_BYTES - ENVELOPE_RESERVE;
/// Largest integer allowed in canonical JSON.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Checks an event type and an optional state key against the 255-byte limit.
pub fn check_identifiers(event_type: &str, state_key: Option<&str>) -> Result<()> {
    if event_type.len() > 255 {
        return Err(Error::IdentifierTooLong {
            what: "type",
            len: event_type.len(),
        });
    }
    match state_key {
        Some(k) if k.len() > 255 => Err(Error::IdentifierTooLong {
            what: "state_key",
            len: k.len(),
        }),
        _ => Ok(()),
    }
}

/// Checks event content: canonical JSON as Matrix defines it (ruma's
/// `CanonicalJsonValue`: no floats, integers within ±(2^53-1)), and its canonical
/// serialization under [`MAX_CONTENT_BYTES`]. Returns that size.
pub fn check_content(content: &Value) -> Result<usize> {
    let canonical = ruma::CanonicalJsonValue::try_from(content.clone())
        .map_err(|e| Error::NotCanonical(e.to_string()))?;
    let size = canonical.to_string().len();
    if size > MAX_CONTENT_BYTES {
        return Err(Error::TooLarge {
            size,
            max: MAX_CONTENT_BYTES,
        });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integers_in_range_pass() {
        assert!(check_content(&json!({"score": 9_007_199_254_740_991_i64, "n": -9_007_199_254_740_991_i64, "t": ["HP:0000256"]})).is_ok());
    }

    #[test]
    fn floats_and_big_integers_are_refused() {
        for bad in [
            json!({"a": [1, {"b": 0.5}]}),
            json!({"a/b": 9_007_199_254_740_992_i64}),
            json!(u64::MAX),
        ] {
            assert!(
                matches!(check_content(&bad), Err(Error::NotCanonical(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn oversized_content_is_refused() {
        let big = "x".repeat(MAX_CONTENT_BYTES);
        assert!(matches!(
            check_content(&json!({ "x": big })),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn identifiers_are_limited_to_255_bytes() {
        assert!(check_identifiers("org.raremesh.profile.v1", Some("")).is_ok());
        assert!(check_identifiers(&"t".repeat(256), None).is_err());
        assert!(check_identifiers("x", Some(&"k".repeat(256))).is_err());
    }
}
