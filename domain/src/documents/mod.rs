//! Validation documents: what a member uploads for each patient (signed consent, ID
//! document, medical proof), stored encrypted ([`Vault`]), with a record per document.

mod file_type;
mod vault;

use crate::ids::{AccountId, PatientId};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use file_type::{FileType, SNIFF_BYTES};
pub use vault::{IdentityFile, Sealer, Vault};

use crate::store::{Batch, KvStore, Record, StoreError, Tree, decode, encode};

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// A key is missing or wrong, or a file does not decrypt.
    #[error("document key: {0}")]
    Key(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DocumentError {
    fn io(path: &Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            error,
        }
    }
}

/// What a document proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The signed informed consent.
    Consent,
    /// An identity document.
    Identity,
    /// Medical proof of the diagnosis (any medical document when there is none yet).
    Medical,
    /// Anything else the member adds later.
    Other,
}

impl DocumentKind {
    /// Every kind, the required ones first.
    pub const ALL: [Self; 4] = [Self::Consent, Self::Identity, Self::Medical, Self::Other];
    /// The kinds a patient needs before review.
    pub const REQUIRED: [Self; 3] = [Self::Consent, Self::Identity, Self::Medical];

    /// The form value.
    pub fn key(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Identity => "identity",
            Self::Medical => "medical",
            Self::Other => "other",
        }
    }

    /// The kind of a form value.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key.trim())
    }
}

/// One stored document (its content is in the vault, encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Random id; also the name of the encrypted file.
    pub id: String,
    /// The member.
    pub account_id: AccountId,
    /// The patient it is for.
    pub patient_id: PatientId,
    /// What it proves.
    pub kind: DocumentKind,
    /// Its type, from its content.
    pub file_type: FileType,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The file name the member's device gave (cleaned; shown to the member and validators).
    pub name: String,
    /// Upload time (Unix seconds).
    pub uploaded_at: u64,
}

impl Record for Document {
    const TREE: Tree = Tree::Documents;
    const VERSION: u32 = 1;
}

/// A file name safe to show and to offer as a download name: no paths, no control
/// characters, at most 80 characters.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ';'))
        .take(80)
        .collect();
    match cleaned.trim() {
        "" => "document".to_owned(),
        s => s.to_owned(),
    }
}

/// Document records and their encrypted files.
#[derive(Debug, Clone)]
pub struct Documents {
    kv: Arc<dyn KvStore>,
    vault: Arc<Vault>,
}

fn key(account_id: &str, patient_id: &str, id: &str) -> Vec<u8> {
    format!("{account_id}/{patient_id}/{id}").into_bytes()
}

impl Documents {
    /// Documents recorded in `kv`, with their files in `vault`.
    pub fn new(kv: Arc<dyn KvStore>, vault: Vault) -> Self {
        Self {
            kv,
            vault: Arc::new(vault),
        }
    }

    /// The vault of encrypted files.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Records a document whose file was sealed.
    pub fn add(&self, d: &Document) -> Result<(), StoreError> {
        self.kv.put(
            Tree::Documents,
            &key(&d.account_id, &d.patient_id, &d.id),
            &encode(d),
        )
    }

    /// The documents of one patient, oldest first.
    pub fn of_patient(
        &self,
        account_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Document>, StoreError> {
        let mut docs: Vec<Document> = self
            .kv
            .scan_prefix(
                Tree::Documents,
                format!("{account_id}/{patient_id}/").as_bytes(),
            )?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(StoreError::from))
            .collect::<Result<_, _>>()?;
        docs.sort_by(|a, b| a.uploaded_at.cmp(&b.uploaded_at).then(a.id.cmp(&b.id)));
        Ok(docs)
    }

    /// One document of a patient.
    pub fn get(
        &self,
        account_id: &str,
        patient_id: &str,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        if [account_id, patient_id, id]
            .iter()
            .any(|p| p.is_empty() || p.contains('/'))
        {
            return Ok(None);
        }
        self.kv
            .get(Tree::Documents, &key(account_id, patient_id, id))?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Erases one document: the record first (so nothing points at a missing file), then
    /// the file. False when there was no such document.
    pub fn remove(
        &self,
        account_id: &str,
        patient_id: &str,
        id: &str,
    ) -> Result<bool, DocumentError> {
        if self.get(account_id, patient_id, id)?.is_none() {
            return Ok(false);
        }
        self.kv
            .remove(Tree::Documents, &key(account_id, patient_id, id))?;
        self.vault.erase(id)?;
        Ok(true)
    }

    /// Adds the removal of every document record of a patient to `batch`; the ids of
    /// their files, which the caller erases once the batch is applied.
    pub fn erase_patient(
        &self,
        batch: &mut Batch,
        account_id: &str,
        patient_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let docs = self.of_patient(account_id, patient_id)?;
        for d in &docs {
            batch.remove(Tree::Documents, key(account_id, patient_id, &d.id));
        }
        Ok(docs.into_iter().map(|d| d.id).collect())
    }
}
