//! Encryption of documents with age: every file is encrypted, as it arrives, to the node's
//! identity and the extra recipients in config. The plaintext exists only in memory.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};

use super::DocumentError;

/// The encrypted document files of a node and the keys to them.
pub struct Vault {
    dir: PathBuf,
    identity: Identity,
    recipients: Vec<Recipient>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("public_key", &self.identity.to_public().to_string())
            .field("recipients", &self.recipients.len())
            .finish_non_exhaustive()
    }
}

/// Where the identity that opens the documents is.
#[derive(Debug, Clone, Copy)]
pub enum IdentityFile<'a> {
    /// The node's own, created on first start.
    Own(&'a Path),
    /// One the organization configured (`documents.identity_file`); it must exist.
    Configured(&'a Path),
}

impl Vault {
    /// Opens the vault in `dir`, decrypting with the identity in `place` and encrypting
    /// to it and to `recipients` (age public keys, `documents.recipients`). The node's own
    /// identity file is created on first start (readable by the node's user only); one the
    /// organization configured must exist.
    pub fn open(
        dir: PathBuf,
        place: IdentityFile<'_>,
        recipients: &[String],
    ) -> Result<Self, DocumentError> {
        std::fs::create_dir_all(&dir).map_err(|e| DocumentError::io(&dir, e))?;
        let path = match place {
            IdentityFile::Configured(p) => p,
            IdentityFile::Own(p) => {
                if !p.exists() {
                    create_identity(p)?;
                }
                p
            }
        };
        let identity = Self::read_identity(path)?;
        let mut recipients_keys = vec![identity.to_public()];
        for r in recipients {
            let r = Recipient::from_str(r.trim())
                .map_err(|e| DocumentError::Key(format!("documents.recipients: {e}")))?;
            recipients_keys.push(r);
        }
        // Finished documents only: temporary files of uploads cut short are removed.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".part") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(Self {
            dir,
            identity,
            recipients: recipients_keys,
        })
    }

    /// Reads an identity file: `#` comments and one `AGE-SECRET-KEY-1...` line.
    pub fn read_identity(path: &Path) -> Result<Identity, DocumentError> {
        let text = std::fs::read_to_string(path).map_err(|e| DocumentError::io(path, e))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| {
                DocumentError::Key(format!("{}: no AGE-SECRET-KEY-1 line", path.display()))
            })?;
        Identity::from_str(line).map_err(|_| {
            DocumentError::Key(format!(
                "{}: not an age identity (AGE-SECRET-KEY-1...)",
                path.display()
            ))
        })
    }

    /// The node's public key (`age1...`).
    pub fn public_key(&self) -> String {
        self.identity.to_public().to_string()
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.age"))
    }

    /// Starts writing document `id`: bytes given to the writer are encrypted before they
    /// reach the disk. The file appears under its name only when [`Sealer::finish`] succeeds.
    pub fn sealer(&self, id: &str) -> Result<Sealer, DocumentError> {
        let path = self.path(id);
        let tmp = self.dir.join(format!("{id}.part"));
        let file = File::create(&tmp).map_err(|e| DocumentError::io(&tmp, e))?;
        let encryptor = age::Encryptor::with_recipients(
            self.recipients.iter().map(|r| r as &dyn age::Recipient),
        )
        .map_err(|e| DocumentError::Key(e.to_string()))?;
        let writer = encryptor
            .wrap_output(BufWriter::new(file))
            .map_err(|e| DocumentError::io(&tmp, e))?;
        Ok(Sealer {
            tmp,
            path,
            writer: Some(writer),
            written: 0,
            done: false,
        })
    }

    /// The plaintext of document `id`, decrypted in memory.
    pub fn open_document(&self, id: &str) -> Result<Vec<u8>, DocumentError> {
        let path = self.path(id);
        let file = File::open(&path).map_err(|e| DocumentError::io(&path, e))?;
        let decryptor = age::Decryptor::new(std::io::BufReader::new(file))
            .map_err(|e| DocumentError::Key(format!("{}: {e}", path.display())))?;
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(|e| DocumentError::Key(format!("{}: {e}", path.display())))?;
        let mut out = Vec::new();
        reader
            .read_to_end(&mut out)
            .map_err(|e| DocumentError::io(&path, e))?;
        Ok(out)
    }

    /// Erases document `id` (absent is fine).
    pub fn erase(&self, id: &str) -> Result<(), DocumentError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DocumentError::io(&path, e)),
        }
    }

    /// Whether the encrypted file of document `id` exists.
    pub fn exists(&self, id: &str) -> bool {
        self.path(id).is_file()
    }
}

fn create_identity(path: &Path) -> Result<(), DocumentError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DocumentError::io(dir, e))?;
    }
    let identity = Identity::generate();
    let text = format!(
        "# raremesh document key, created {}\n# public key: {}\n{}\n",
        crate::clock::rfc3339(crate::clock::now()),
        identity.to_public(),
        identity.to_string().expose_secret()
    );
    crate::files::write_new_private(path, text.as_bytes()).map_err(|e| DocumentError::io(path, e))
}

/// A document being written: encrypted as it goes, into a temporary file that is removed
/// unless [`Sealer::finish`] succeeds.
pub struct Sealer {
    tmp: PathBuf,
    path: PathBuf,
    writer: Option<age::stream::StreamWriter<BufWriter<File>>>,
    written: u64,
    done: bool,
}

impl Sealer {
    /// Encrypts and writes more of the document.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), DocumentError> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| DocumentError::io(&self.tmp, std::io::Error::other("finished")))?;
        w.write_all(bytes)
            .map_err(|e| DocumentError::io(&self.tmp, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Plaintext bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Ends the encryption, flushes to disk and gives the file its name.
    pub fn finish(mut self) -> Result<u64, DocumentError> {
        let err = |e| DocumentError::io(&self.tmp, e);
        let w = self
            .writer
            .take()
            .ok_or_else(|| err(std::io::Error::other("finished")))?;
        let buf = w.finish().map_err(err)?;
        let file = buf.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&self.tmp, &self.path).map_err(err)?;
        self.done = true;
        Ok(self.written)
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        if !self.done {
            self.writer = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
