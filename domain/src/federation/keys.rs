//! The node's federation keys, created on first use in `data/federation/`: an age identity
//! (peers encrypt to its public key) and a secret for pseudonyms (keyed hashes of patient
//! ids, so no peer can link a pseudonym to a patient or to another node's pseudonyms).

use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519::Identity;
use sha2::{Digest, Sha256};

use super::FederationError;

/// The keys.
pub struct Keys {
    identity: Identity,
    pseudonym_secret: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), FederationError> {
    crate::files::write_new_private(path, text.as_bytes())
        .map_err(|e| FederationError::Keys(format!("{}: {e}", path.display())))
}

impl Keys {
    /// Reads the keys from `dir`, creating the missing ones.
    pub fn open_or_create(dir: &Path) -> Result<Self, FederationError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| FederationError::Keys(format!("{}: {e}", dir.display())))?;
        let id_path = dir.join("identity.txt");
        if !id_path.exists() {
            let id = Identity::generate();
            write_private(
                &id_path,
                &format!(
                    "# raremesh federation key; public key: {}\n{}\n",
                    id.to_public(),
                    id.to_string().expose_secret()
                ),
            )?;
        }
        let text = std::fs::read_to_string(&id_path)
            .map_err(|e| FederationError::Keys(format!("{}: {e}", id_path.display())))?;
        let identity = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .and_then(|l| Identity::from_str(l).ok())
            .ok_or_else(|| {
                FederationError::Keys(format!("{}: no age identity", id_path.display()))
            })?;
        let secret_path = dir.join("pseudonym.key");
        if !secret_path.exists() {
            let mut b = [0u8; 32];
            getrandom::fill(&mut b)
                .map_err(|e| FederationError::Keys(format!("no randomness: {e}")))?;
            write_private(
                &secret_path,
                &format!(
                    "{}\n",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ),
            )?;
        }
        let hex = std::fs::read_to_string(&secret_path)
            .map_err(|e| FederationError::Keys(format!("{}: {e}", secret_path.display())))?;
        let hex = hex.trim();
        let mut pseudonym_secret = [0u8; 32];
        if hex.len() != 64 {
            return Err(FederationError::Keys(format!(
                "{}: not 64 hex digits",
                secret_path.display()
            )));
        }
        for (i, b) in pseudonym_secret.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| {
                FederationError::Keys(format!("{}: not hex", secret_path.display()))
            })?;
        }
        Ok(Self {
            identity,
            pseudonym_secret,
        })
    }

    /// The age identity peers encrypt to.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The public key (`age1...`) to give peers.
    pub fn public_key(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// The pseudonym of a patient: HMAC-SHA256 of its random id and rotation count under
    /// the node's secret, first 16 bytes in hex. A new rotation count gives an unrelated
    /// pseudonym.
    pub fn pseudonym(&self, patient_id: &str, rotation: u32) -> String {
        let mac = hmac_sha256(
            &self.pseudonym_secret,
            format!("raremesh-pseudonym-v1\0{patient_id}\0{rotation}").as_bytes(),
        );
        mac[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Keys {
    /// The key of the node's Matrix device stores (its sync position and end-to-end
    /// encryption keys): derived from the node's secret, so a copy of the device folder
    /// alone cannot be read.
    pub fn device_key(&self) -> [u8; 32] {
        hmac_sha256(&self.pseudonym_secret, b"raremesh-device-store-v1")
    }

    /// The name under which the node manages a Matrix account for a member: 20 hex digits
    /// of an HMAC of the member's account id, so that the account id never reaches a
    /// homeserver and the name is the same after every restart.
    pub fn managed_name(&self, account_id: &str) -> String {
        let mac = hmac_sha256(
            &self.pseudonym_secret,
            format!("raremesh-managed-account-v1\0{account_id}").as_bytes(),
        );
        mac[..10].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key of the stores of the Matrix account the node manages for a member (named
    /// `name`): one key per account, derived from the node's secret.
    pub fn managed_key(&self, name: &str) -> [u8; 32] {
        hmac_sha256(
            &self.pseudonym_secret,
            format!("raremesh-managed-store-v1\0{name}").as_bytes(),
        )
    }
}

/// HMAC-SHA256 (RFC 2104) with a key of at most 64 bytes.
pub(crate) fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2_shape() {
        // RFC 4231 test case 2 uses a 4-byte key ("Jefe"), zero-padded like ours.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
