//! The one source of random identifiers and tokens: the operating system's.

use crate::store::StoreError;

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A secret token (sessions, links, CSRF): 32 random bytes, 64 hex digits.
pub fn random_token() -> Result<String, StoreError> {
    random_hex(32)
}

/// A record id: 16 random bytes, 32 hex digits.
pub fn new_id() -> Result<String, StoreError> {
    random_hex(16)
}
