//! Accounts: who can sign in, with which role.

pub mod password;
pub mod throttle;

use crate::ids::AccountId;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode, encode};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A patient or caregiver.
    Member,
    /// Reviews validation documents.
    Validator,
    /// Runs the node.
    Admin,
    /// Queries aggregates only.
    Researcher,
}

impl Role {
    /// Its name, as in config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Validator => "validator",
            Self::Admin => "admin",
            Self::Researcher => "researcher",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "member" => Ok(Self::Member),
            "validator" => Ok(Self::Validator),
            "admin" => Ok(Self::Admin),
            "researcher" => Ok(Self::Researcher),
            other => Err(format!(
                "unknown role {other:?}: member, validator, admin or researcher"
            )),
        }
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Random, 128 bits, hex.
    pub id: AccountId,
    /// Normalized (trimmed, lowercase).
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// Unix seconds.
    pub created_at: u64,
    /// Whether the email address was confirmed.
    pub email_confirmed: bool,
}

impl Record for Account {
    const TREE: Tree = Tree::Accounts;
    const VERSION: u32 = 1;
}

/// Why an account cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not a usable email address.
    #[error("{0:?} is not an email address")]
    InvalidEmail(String),
    /// The password breaks a rule.
    #[error("password: {0}")]
    WeakPassword(String),
    /// Another account has this email.
    #[error("an account with this email address exists already")]
    EmailTaken,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system could not produce randomness or a hash.
    #[error("{0}")]
    Crypto(String),
}

/// Normalizes an email address, or says why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, AccountError> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(e)
    } else {
        Err(AccountError::InvalidEmail(raw.chars().take(80).collect()))
    }
}

/// The accounts of a node.
#[derive(Debug, Clone)]
pub struct Accounts {
    kv: Arc<dyn KvStore>,
}

impl Accounts {
    /// Accounts kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Creates an account; the email must be unused (case-insensitive).
    pub fn create(
        &self,
        email: &str,
        password: &str,
        role: Role,
        email_confirmed: bool,
    ) -> Result<Account, AccountError> {
        let email = normalize_email(email)?;
        password::check(password, &email).map_err(AccountError::WeakPassword)?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| AccountError::Crypto(e.to_string()))?;
        let account = Account {
            id: AccountId::new(id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            email,
            password_hash: password::hash(password).map_err(AccountError::Crypto)?,
            role,
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            email_confirmed,
        };
        // Claim the email first: two concurrent sign-ups cannot both get it.
        if !self.kv.compare_and_swap(
            Tree::AccountsByEmail,
            account.email.as_bytes(),
            None,
            Some(account.id.as_bytes()),
        )? {
            return Err(AccountError::EmailTaken);
        }
        self.kv
            .put(Tree::Accounts, account.id.as_bytes(), &encode(&account))?;
        Ok(account)
    }

    /// Every account.
    pub fn all(&self) -> Result<Vec<Account>, StoreError> {
        self.kv
            .scan_prefix(Tree::Accounts, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// The account with this id.
    pub fn get(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.kv
            .get(Tree::Accounts, id.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// The account with this email (any case).
    pub fn by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        match self.kv.get(Tree::AccountsByEmail, email.as_bytes())? {
            Some(id) => self.get(&AccountId::new(String::from_utf8_lossy(&id))),
            None => Ok(None),
        }
    }

    /// Erases an account and frees its email address.
    pub fn delete(&self, batch: &mut Batch, account: &Account) {
        batch.remove(Tree::Accounts, account.id.as_str());
        batch.remove(Tree::AccountsByEmail, account.email.as_str());
    }

    /// Replaces the password of an account (rules checked).
    pub fn set_password(
        &self,
        account_id: &AccountId,
        new_password: &str,
    ) -> Result<(), AccountError> {
        let mut account = self
            .get(account_id)?
            .ok_or_else(|| AccountError::Crypto("no such account".into()))?;
        password::check(new_password, &account.email).map_err(AccountError::WeakPassword)?;
        account.password_hash = password::hash(new_password).map_err(AccountError::Crypto)?;
        self.kv
            .put(Tree::Accounts, account.id.as_bytes(), &encode(&account))?;
        Ok(())
    }

    /// Issues a single-use password-reset token for an account, valid for an hour.
    pub fn issue_reset(&self, account_id: &AccountId) -> Result<String, StoreError> {
        let token = crate::ids::random_token()?;
        let record = ResetToken {
            account_id: account_id.into(),
            expires_at: crate::clock::now() + 3600,
        };
        self.kv
            .put(Tree::ResetTokens, &reset_key(&token), &encode(&record))?;
        Ok(token)
    }

    /// The account a live reset token is for; `consume` makes it unusable again, and with
    /// it every other reset link of that account (an older mail must not work after a
    /// newer link was used), and forgets expired ones.
    pub fn reset_account(
        &self,
        token: &str,
        consume: bool,
    ) -> Result<Option<AccountId>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = reset_key(token);
        let Some(bytes) = self.kv.get(Tree::ResetTokens, &key)? else {
            return Ok(None);
        };
        let record: ResetToken = decode(&bytes)?;
        if record.expires_at <= crate::clock::now() {
            return Ok(None);
        }
        if consume
            && !self
                .kv
                .compare_and_swap(Tree::ResetTokens, &key, Some(&bytes), None)?
        {
            return Ok(None);
        }
        if consume {
            let now = crate::clock::now();
            for (k, v) in self.kv.scan_prefix(Tree::ResetTokens, b"")? {
                let stale = decode::<ResetToken>(&v).map_or(true, |r| {
                    r.account_id == record.account_id || r.expires_at <= now
                });
                if stale {
                    self.kv.remove(Tree::ResetTokens, &k)?;
                }
            }
        }
        Ok(Some(record.account_id))
    }

    /// The account if `password` is right for `email`. Takes the time of a hash check
    /// even for unknown addresses, so timing does not reveal which addresses have accounts.
    pub fn sign_in(&self, email: &str, password: &str) -> Result<Option<Account>, StoreError> {
        match self.by_email(email)? {
            Some(a) if password::verify(password, &a.password_hash) => Ok(Some(a)),
            Some(_) => Ok(None),
            None => {
                let _ = password::verify(password, dummy_hash());
                Ok(None)
            }
        }
    }
}

/// A hash of a random password, checked against for unknown addresses.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        password::generate()
            .and_then(|p| password::hash(&p))
            .unwrap_or_default()
    })
}

/// A password-reset link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetToken {
    /// The account whose password may be reset.
    pub account_id: AccountId,
    /// Unix seconds after which the link no longer works.
    pub expires_at: u64,
}

impl Record for ResetToken {
    const TREE: Tree = Tree::ResetTokens;
    const VERSION: u32 = 1;
}

fn reset_key(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}
