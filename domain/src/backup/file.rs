//! Backups as files: written under a temporary name and renamed once complete (a backup
//! cut short never looks like one), optionally encrypted to age recipients; read back,
//! decrypted with an age identity file when they are encrypted.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{BackupError, Manifest, Summary, io, socket};
use crate::store::SledStore;

const AGE_HEADER: &[u8] = b"age-encryption.org/v1";

enum Output {
    Plain(BufWriter<std::fs::File>),
    Age(age::stream::StreamWriter<BufWriter<std::fs::File>>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Age(w) => w.flush(),
        }
    }
}

impl Output {
    fn finish(self) -> std::io::Result<()> {
        let buffered = match self {
            Self::Plain(w) => w,
            Self::Age(w) => w.finish()?,
        };
        buffered
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()
    }
}

/// What [`to_file`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// What the archive holds.
    pub summary: Summary,
    /// The archive's size on disk.
    pub bytes: u64,
    /// Whether a running node made it (through its admin socket) rather than this
    /// process from the stopped node's folder.
    pub from_running_node: bool,
}

/// Writes a backup of the node whose data folder is `data` to `out`: from the running
/// node through its admin socket, or from the folder itself when the node is stopped.
/// Encrypted to every age recipient in `recipients` (`age1...`) when there are any.
pub fn to_file(data: &Path, out: &Path, recipients: &[String]) -> Result<Written, BackupError> {
    let recipients = recipients
        .iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r.trim())
                .map_err(|e| BackupError::Key(format!("--encrypt-to {r}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut name = out.as_os_str().to_owned();
    name.push(".part");
    let tmp = PathBuf::from(name);
    let result = write_to(data, &tmp, &recipients);
    match result {
        Ok((summary, from_running_node)) => {
            std::fs::rename(&tmp, out).map_err(io(out))?;
            let bytes = std::fs::metadata(out).map_err(io(out))?.len();
            Ok(Written {
                summary,
                bytes,
                from_running_node,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_to(
    data: &Path,
    tmp: &Path,
    recipients: &[age::x25519::Recipient],
) -> Result<(Summary, bool), BackupError> {
    let file = std::fs::File::create(tmp).map_err(io(tmp))?;
    let file = BufWriter::with_capacity(1 << 20, file);
    let mut output = if recipients.is_empty() {
        Output::Plain(file)
    } else {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| BackupError::Key(e.to_string()))?;
        Output::Age(encryptor.wrap_output(file).map_err(io(tmp))?)
    };
    let made = match socket::fetch_backup(&socket::path(data), &mut output)? {
        Some(summary) => (summary, true),
        None => {
            let db = data.join("db");
            if !db.exists() {
                return Err(BackupError::Target(format!(
                    "{}: no database here; is data_dir right?",
                    db.display()
                )));
            }
            let store = SledStore::open(&db).map_err(|e| {
                BackupError::Target(format!(
                    "{e} (a running node answers backups on {}; is it another version?)",
                    socket::path(data).display()
                ))
            })?;
            (super::write(&store, data, &mut output)?, false)
        }
    };
    output.finish().map_err(io(tmp))?;
    Ok(made)
}

/// The x25519 identities in an age identity file (`AGE-SECRET-KEY-...` lines).
fn identities(path: &Path) -> Result<Vec<age::x25519::Identity>, BackupError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        .map(|l| {
            age::x25519::Identity::from_str(l)
                .map_err(|e| BackupError::Key(format!("{}: {e}", path.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(BackupError::Key(format!(
            "{}: no AGE-SECRET-KEY line",
            path.display()
        )));
    }
    Ok(keys)
}

/// Restores the backup file `archive` into the empty data folder `data`, decrypting it
/// with `identity` (an age identity file) when it is encrypted.
pub fn from_file(
    archive: &Path,
    identity: Option<&Path>,
    data: &Path,
) -> Result<(Manifest, Summary), BackupError> {
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let encrypted = reader
        .fill_buf()
        .map_err(io(archive))?
        .starts_with(AGE_HEADER);
    if !encrypted {
        return super::restore(reader, data);
    }
    let Some(identity) = identity else {
        return Err(BackupError::Key(format!(
            "{} is encrypted: give --identity with the age identity file of one of its recipients",
            archive.display()
        )));
    };
    let keys = identities(identity)?;
    let decryptor = age::Decryptor::new_buffered(reader)
        .map_err(|e| BackupError::Key(format!("{}: {e}", archive.display())))?;
    let decrypted = decryptor
        .decrypt(keys.iter().map(|k| k as &dyn age::Identity))
        .map_err(|e| BackupError::Key(format!("{}: {e}", archive.display())))?;
    super::restore(decrypted, data)
}
