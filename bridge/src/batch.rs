//! Splitting many operations into payloads whose sealed events stay under Matrix's 64 KiB.

use crate::protocol::{Envelope, Op, Payload};
use crate::seal::seal;
use crate::{Error, Result};
use age::x25519::Recipient;

/// Plaintext bytes per payload to aim for: base64 grows it by a third, age adds a header
/// per recipient and 16 bytes per 64 KiB, so this stays well under the content limit.
const TARGET_PAYLOAD_BYTES: usize = 36_000;

/// Seals `ops` into as few events as fit, in order; `wrap` builds each payload from its
/// share of the operations (an update, or the parts of a snapshot).
pub fn seal_all(
    ops: Vec<Op>,
    recipients: &[Recipient],
    wrap: impl Fn(Vec<Op>, usize, bool) -> Payload,
) -> Result<Vec<Envelope>> {
    let mut groups: Vec<Vec<Op>> = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for op in ops {
        let len = serde_json::to_vec(&op)
            .map_err(|e| Error::Serialize(e.to_string()))?
            .len()
            + 1;
        if !current.is_empty() && size + len > TARGET_PAYLOAD_BYTES {
            groups.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.push(op);
    }
    if !current.is_empty() || groups.is_empty() {
        groups.push(current);
    }
    let n = groups.len();
    let mut out = Vec::with_capacity(n);
    for (i, g) in groups.into_iter().enumerate() {
        out.push(seal(&wrap(g, i, i + 1 == n), recipients)?);
    }
    Ok(out)
}
