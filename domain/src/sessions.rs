//! Sign-in sessions: a random token in a cookie; only its SHA-256 is stored, so a copy of
//! the database does not let anyone sign in.

use crate::clock::now;
use crate::ids::AccountId;
use crate::ids::random_token;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode, encode};

/// How long a session lasts without signing in again.
pub const LIFETIME_SECS: u64 = 14 * 24 * 3600;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The signed-in account.
    pub account_id: AccountId,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds after which the session is void.
    pub expires_at: u64,
    /// The SHA-256 of the CSRF cookie the session was started with in a browser: forms
    /// sent with this session must carry that token, not another (absent for sessions
    /// without a browser, such as API bearer tokens).
    #[serde(default)]
    pub csrf: Option<String>,
}

impl Record for Session {
    const TREE: Tree = Tree::Sessions;
    const VERSION: u32 = 1;
}

/// The sessions of a node.
#[derive(Debug, Clone)]
pub struct Sessions {
    kv: Arc<dyn KvStore>,
}

/// The SHA-256 of a token, hex (what is stored of session and CSRF tokens).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sessions {
    /// Sessions kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Starts a session for the account; returns the token (for a bearer header).
    pub fn start(&self, account_id: &AccountId) -> Result<String, StoreError> {
        self.start_bound(account_id, None)
    }

    /// Starts a session for a browser, bound to its CSRF token `csrf`; returns the token
    /// for the cookie.
    pub fn start_bound(
        &self,
        account_id: &AccountId,
        csrf: Option<&str>,
    ) -> Result<String, StoreError> {
        let token = random_token()?;
        let hash = token_hash(&token);
        let created_at = now();
        let session = Session {
            account_id: account_id.into(),
            created_at,
            expires_at: created_at + LIFETIME_SECS,
            csrf: csrf.map(token_hash),
        };
        self.kv.put(
            Tree::SessionsByAccount,
            format!("{account_id}/{hash}").as_bytes(),
            b"",
        )?;
        self.kv
            .put(Tree::Sessions, hash.as_bytes(), &encode(&session))?;
        Ok(token)
    }

    /// The live session for a cookie token.
    pub fn get(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(bytes) = self.kv.get(Tree::Sessions, token_hash(token).as_bytes())? else {
            return Ok(None);
        };
        let session: Session = decode(&bytes)?;
        Ok((session.expires_at > now()).then_some(session))
    }

    /// Binds a live session to another CSRF token (the browser's cookie had gone).
    pub fn rebind(&self, token: &str, csrf: &str) -> Result<(), StoreError> {
        let hash = token_hash(token);
        if let Some(bytes) = self.kv.get(Tree::Sessions, hash.as_bytes())? {
            let mut session: Session = decode(&bytes)?;
            session.csrf = Some(token_hash(csrf));
            self.kv
                .put(Tree::Sessions, hash.as_bytes(), &encode(&session))?;
        }
        Ok(())
    }

    /// Ends one session.
    pub fn end(&self, token: &str) -> Result<(), StoreError> {
        let hash = token_hash(token);
        if let Some(bytes) = self.kv.get(Tree::Sessions, hash.as_bytes())? {
            let session: Session = decode(&bytes)?;
            self.kv.remove(
                Tree::SessionsByAccount,
                format!("{}/{hash}", session.account_id).as_bytes(),
            )?;
        }
        self.kv.remove(Tree::Sessions, hash.as_bytes())?;
        Ok(())
    }

    /// Ends every session of an account ("sign out everywhere"); how many there were.
    pub fn end_all(&self, account_id: &AccountId) -> Result<usize, StoreError> {
        let mut batch = Batch::new();
        let ended = self.end_all_in(&mut batch, account_id)?;
        self.kv.apply(&batch)?;
        Ok(ended)
    }

    /// Adds the end of every session of an account to `batch`; how many.
    pub fn end_all_in(
        &self,
        batch: &mut Batch,
        account_id: &AccountId,
    ) -> Result<usize, StoreError> {
        let prefix = format!("{account_id}/");
        let keys = self
            .kv
            .scan_prefix(Tree::SessionsByAccount, prefix.as_bytes())?;
        for (key, _) in &keys {
            batch.remove(Tree::Sessions, &key[prefix.len()..]);
            batch.remove(Tree::SessionsByAccount, key.as_slice());
        }
        Ok(keys.len())
    }
}
