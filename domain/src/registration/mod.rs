//! Registration, steps 1 and 2: personal information, then a confirmation link by mail,
//! then the password. (Steps 3 to 5, patients, symptoms and legal terms, build on the
//! member record created here.)

pub mod patient;

use crate::clock::now;
use crate::ids::AccountId;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::normalize_email;
use crate::ids::random_token;
use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode, encode};

/// How long a confirmation link works.
pub const LINK_LIFETIME_SECS: u64 = 24 * 3600;

/// Who registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Registrant {
    /// An adult patient registering for themselves.
    AdultPatient,
    /// A parent or carer of one or more minors.
    Caregiver,
}

/// The languages the pages are offered in.
pub const LANGUAGES: [(&str, &str); 3] = [("en", "English"), ("es", "Español"), ("fr", "Français")];

/// Step 1: personal information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalInfo {
    /// Full name (kept on this node only).
    pub name: String,
    /// Normalized email address.
    pub email: String,
    /// Country of residence.
    pub country: String,
    /// Preferred language (`en`, `es`, `fr`).
    pub language: String,
    /// Who registers.
    pub registrant: Registrant,
}

/// Field errors of step 1: (field name, message key in the catalogues).
pub type FieldErrors = Vec<(&'static str, String)>;

impl PersonalInfo {
    /// Checks the raw form values; errors name the field they belong to.
    pub fn parse(
        name: &str,
        email: &str,
        country: &str,
        language: &str,
        registrant: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push(("name", "register.error.name".into()));
        }
        let email = match normalize_email(email) {
            Ok(e) => e,
            Err(_) => {
                errors.push((
                    "email",
                    "Enter an email address like name@example.org.".into(),
                ));
                String::new()
            }
        };
        let country = country.trim();
        if country.is_empty()
            || country.chars().count() > 60
            || country.chars().any(char::is_control)
        {
            errors.push(("country", "register.error.country".into()));
        }
        if !LANGUAGES.iter().any(|(code, _)| *code == language) {
            errors.push(("language", "register.error.language".into()));
        }
        let registrant = match registrant {
            "adult_patient" => Some(Registrant::AdultPatient),
            "caregiver" => Some(Registrant::Caregiver),
            _ => {
                errors.push((
                    "registrant",
                    "Say whether you are the patient or a caregiver.".into(),
                ));
                None
            }
        };
        match registrant {
            Some(registrant) if errors.is_empty() => Ok(Self {
                name: name.to_owned(),
                email,
                country: country.to_owned(),
                language: language.to_owned(),
                registrant,
            }),
            _ => Err(errors),
        }
    }
}

/// What an emailed link does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailToken {
    /// The registration it confirms.
    pub info: PersonalInfo,
    /// Unix seconds after which the link no longer works.
    pub expires_at: u64,
}

impl Record for EmailToken {
    const TREE: Tree = Tree::EmailTokens;
    const VERSION: u32 = 1;
}

/// A member's record: personal information and how far registration went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The account.
    pub account_id: AccountId,
    /// Step 1.
    pub info: PersonalInfo,
    /// The last registration step completed (2 after the password is set).
    pub step: u8,
    /// Step 5: the terms accepted and the optional consents. Absent in records written
    /// before step 5 existed: read as nothing accepted.
    #[serde(default)]
    pub consents: Consents,
    /// The member's Matrix account, for private chats with the members they agree to
    /// talk to.
    #[serde(default)]
    pub matrix: Option<MatrixLink>,
}

/// A member's Matrix account, proven by a code the node sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixLink {
    /// The Matrix user id, e.g. `@lena:matrix.org`.
    pub user_id: String,
    /// Whether the member entered the code sent to that account.
    pub verified: bool,
    /// SHA-256 of the code sent (hex), until verified.
    #[serde(default)]
    pub code_hash: Option<String>,
    /// The room the code was sent in; once verified, where the node sends notices.
    #[serde(default)]
    pub room: Option<String>,
    /// Failed attempts at the code.
    #[serde(default)]
    pub attempts: u32,
}

/// What a member agreed to, with when. Each optional consent can be withdrawn at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consents {
    /// The version of the terms accepted, if any.
    pub terms_version: Option<String>,
    /// When they were accepted (Unix seconds).
    pub terms_accepted_at: Option<u64>,
    /// Matched with members of partner organizations (pseudonymous symptom lists shared).
    pub federated_matching: bool,
    /// Contactable by other members in private messaging.
    pub contactable: bool,
    /// Invited to research questionnaires.
    pub research: bool,
    /// Shown (without name) to other members of this organization whose patients are
    /// similar. Absent in records written before it existed: read as not given.
    #[serde(default)]
    pub local_matching: bool,
    /// Mail me (and mark on the page) new or notably better matches.
    #[serde(default)]
    pub notify_matches: bool,
    /// With federated matching: the vector also carries the ORPHA diagnosis.
    #[serde(default)]
    pub share_diagnosis: bool,
    /// With federated matching: the vector also carries a coarse age band.
    #[serde(default)]
    pub share_age_band: bool,
    /// Clinicians in matchmaking networks (Matchmaker Exchange) may find the member's
    /// validated patients: their symptoms and ORPHA diagnosis, with the organization as
    /// contact. Separate from every other consent; off by default.
    #[serde(default)]
    pub matchmaking: bool,
    /// When the optional consents last changed (Unix seconds).
    pub updated_at: Option<u64>,
}

impl Record for Member {
    const TREE: Tree = Tree::Members;
    const VERSION: u32 = 1;
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Registration storage.
#[derive(Debug, Clone)]
pub struct Registrations {
    kv: Arc<dyn KvStore>,
    changes: crate::store::Changes,
}

/// What a confirmation link turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Good: the registration it confirms.
    Valid(PersonalInfo),
    /// Used already, expired, or never issued.
    Invalid,
}

impl Registrations {
    /// Registrations kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>, changes: crate::store::Changes) -> Self {
        Self { kv, changes }
    }

    /// Issues a single-use link token for step 1's information.
    pub fn issue(&self, info: &PersonalInfo) -> Result<String, StoreError> {
        let token = random_token()?;
        let record = EmailToken {
            info: info.clone(),
            expires_at: now() + LINK_LIFETIME_SECS,
        };
        self.kv
            .put(Tree::EmailTokens, &hash(&token), &encode(&record))?;
        Ok(token)
    }

    /// Looks a link token up without using it.
    pub fn check(&self, token: &str) -> Result<LinkState, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(LinkState::Invalid);
        }
        match self.kv.get(Tree::EmailTokens, &hash(token))? {
            Some(bytes) => {
                let t: EmailToken = decode(&bytes)?;
                Ok(if t.expires_at > now() {
                    LinkState::Valid(t.info)
                } else {
                    LinkState::Invalid
                })
            }
            None => Ok(LinkState::Invalid),
        }
    }

    /// Uses a link token: it works once (removed atomically).
    pub fn consume(&self, token: &str) -> Result<LinkState, StoreError> {
        let state = self.check(token)?;
        if let LinkState::Valid(_) = &state {
            let key = hash(token);
            let Some(current) = self.kv.get(Tree::EmailTokens, &key)? else {
                return Ok(LinkState::Invalid);
            };
            if !self
                .kv
                .compare_and_swap(Tree::EmailTokens, &key, Some(&current), None)?
            {
                return Ok(LinkState::Invalid);
            }
        }
        Ok(state)
    }

    /// Keeps step 1 until the link is opened (for "send the link again").
    pub fn set_pending(&self, info: &PersonalInfo) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(info).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.kv
            .put(Tree::PendingRegistrations, info.email.as_bytes(), &bytes)
    }

    /// Step 1 of the registration waiting for this address, if any.
    pub fn pending(&self, email: &str) -> Result<Option<PersonalInfo>, StoreError> {
        match self.kv.get(Tree::PendingRegistrations, email.as_bytes())? {
            Some(b) => Ok(serde_json::from_slice(&b).ok()),
            None => Ok(None),
        }
    }

    /// Forgets the pending registration of an address.
    pub fn clear_pending(&self, email: &str) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        self.clear_pending_in(&mut batch, email);
        self.kv.apply(&batch)
    }

    /// Adds the removal of an address's pending registration to `batch`.
    pub fn clear_pending_in(&self, batch: &mut Batch, email: &str) {
        batch.remove(Tree::PendingRegistrations, email);
    }

    /// Moves a member's registration past the symptoms step (step 4) once `patient` has
    /// an observed symptom; saved only when it moves.
    pub fn symptoms_given(
        &self,
        member: &mut Member,
        patient: &patient::Patient,
    ) -> Result<(), StoreError> {
        if member.step < 4 && patient.symptoms.iter().any(|s| s.observed) {
            member.step = 4;
            self.save_member(member)?;
        }
        Ok(())
    }

    /// Stores a member's record.
    pub fn save_member(&self, member: &Member) -> Result<(), StoreError> {
        let result = self
            .kv
            .put(Tree::Members, member.account_id.as_bytes(), &encode(member));
        self.changes.bump();
        result
    }

    /// Adds the erasure of a member's record to `batch` (the caller counts the change
    /// once the batch is applied).
    pub fn delete_member(&self, batch: &mut Batch, account_id: &AccountId) {
        batch.remove(Tree::Members, account_id.as_str());
    }

    /// The members whose consents satisfy `given` (with the terms accepted).
    pub fn consenting(
        &self,
        given: impl Fn(&Consents) -> bool,
    ) -> Result<std::collections::HashSet<AccountId>, StoreError> {
        Ok(self
            .members()?
            .into_iter()
            .filter(|m| m.consents.terms_version.is_some() && given(&m.consents))
            .map(|m| m.account_id)
            .collect())
    }

    /// Every member record.
    pub fn members(&self) -> Result<Vec<Member>, StoreError> {
        self.kv
            .scan_prefix(Tree::Members, b"")?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect()
    }

    /// A member's record.
    pub fn member(&self, account_id: &AccountId) -> Result<Option<Member>, StoreError> {
        self.kv
            .get(Tree::Members, account_id.as_bytes())?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }
}
