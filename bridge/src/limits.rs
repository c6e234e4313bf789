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

/// Checks event content: only integers in range, and the serialized size under
/// [`MAX_CONTENT_BYTES`]. Returns the serialized size.
pub fn check_content(content: &Value) -> Result<usize> {
    check_numbers(content, &mut String::new())?;
    let size = serde_json::to_vec(content)
        .map_err(|e| Error::Serialize(e.to_string()))?
        .len();
    if size > MAX_CONTENT_BYTES {
        return Err(Error::TooLarge {
            size,
            max: MAX_CONTENT_BYTES,
        });
    }
    Ok(size)
}

fn check_numbers(v: &Value, path: &mut String) -> Result<()> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) {
                    return Err(Error::IntegerRange {
                        path: pointer(path),
                    });
                }
            } else if n.as_u64().is_some() {
                return Err(Error::IntegerRange {
                    path: pointer(path),
                });
            } else {
                return Err(Error::Float {
                    path: pointer(path),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                check_numbers(item, path)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                check_numbers(item, path)?;
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
    Ok(())
}

fn pointer(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
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
    fn floats_and_big_integers_are_named() {
        assert_eq!(
            check_content(&json!({"a": [1, {"b": 0.5}]})),
            Err(Error::Float {
                path: "/a/1/b".into()
            })
        );
        assert_eq!(
            check_content(&json!({"a/b": 9_007_199_254_740_992_i64})),
            Err(Error::IntegerRange {
                path: "/a~1b".into()
            })
        );
        assert_eq!(
            check_content(&json!(u64::MAX)),
            Err(Error::IntegerRange { path: "/".into() })
        );
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
