//! Sealing payloads for the trusted peers (age, to each peer's public key) and opening
//! what a peer sealed for this node. Only ciphertext goes into Matrix events.

use std::io::{Read, Write};

use age::x25519::{Identity, Recipient};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::protocol::{EVENT_TYPE, Envelope, MAX_PAYLOAD_BYTES, Payload, VERSION, random_id};
use crate::{Error, Result, limits};

/// Encrypts `payload` to every recipient and wraps it in an [`Envelope`], checked against
/// Matrix's limits.
pub fn seal(payload: &Payload, recipients: &[Recipient]) -> Result<Envelope> {
    let json = serde_json::to_vec(payload).map_err(|e| Error::Serialize(e.to_string()))?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::Serialize(format!("no recipients: {e}")))?;
    let mut out = Vec::with_capacity(json.len() + 512);
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::Serialize(e.to_string()))?;
    w.write_all(&json)
        .and_then(|()| w.finish().map(|_| ()))
        .map_err(|e| Error::Serialize(e.to_string()))?;
    let envelope = Envelope {
        v: ruma::UInt::new_saturating(VERSION),
        batch: random_id()?,
        ciphertext: STANDARD.encode(out),
        to: None,
    };
    to_content(&envelope)?;
    Ok(envelope)
}

/// Marks an envelope sealed for one peer node only (`node`: its Matrix user id), so that
/// the other peers skip it unopened.
pub fn addressed(mut envelope: Envelope, node: &str) -> Result<Envelope> {
    envelope.to = Some(node.to_owned());
    to_content(&envelope)?;
    Ok(envelope)
}

/// The event content of an envelope, checked against Matrix's limits.
pub fn to_content(envelope: &Envelope) -> Result<Value> {
    let content = serde_json::to_value(envelope).map_err(|e| Error::Serialize(e.to_string()))?;
    limits::check_identifiers(EVENT_TYPE, None)?;
    limits::check_content(&content)?;
    Ok(content)
}

/// Reads a received event's content: version, form, size, then decryption with this
/// node's identity, then the payload's own checks. Every failure says why.
pub fn open(content: &Value, identity: &Identity) -> Result<(Envelope, Payload)> {
    limits::check_content(content)?;
    if let Some(v) = content.get("v").and_then(Value::as_u64)
        && v != VERSION
    {
        return Err(Error::Version(v));
    }
    let envelope: Envelope = serde_json::from_value(content.clone())
        .map_err(|e| Error::Malformed(format!("envelope: {e}")))?;
    let raw = STANDARD
        .decode(envelope.ciphertext.as_bytes())
        .map_err(|e| Error::Malformed(format!("ciphertext is not base64: {e}")))?;
    let decryptor = age::Decryptor::new(&raw[..]).map_err(|e| Error::Decrypt(e.to_string()))?;
    let reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| Error::Decrypt(e.to_string()))?;
    let mut json = Vec::new();
    reader
        .take(MAX_PAYLOAD_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| Error::Decrypt(e.to_string()))?;
    if json.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::TooLarge {
            size: json.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|e| Error::Malformed(format!("payload: {e}")))?;
    payload.check()?;
    Ok((envelope, payload))
}
