//! Backups of a node, running or stopped, and their restore into an empty data folder.
//!
//! An archive is a gzip-compressed tar holding `database.bin` (every record of every
//! tree, dumped while writes wait, so records agree with each other), `files/...` (every
//! other file of the data folder that is not rebuilt at start: encrypted documents, the
//! document and federation keys, the study key; hard-linked while writes still wait, so a
//! document a record names is in the archive even if it is deleted a moment later) and,
//! last, `raremesh-backup.json`: what the archive holds, with the SHA-256 of each part. A
//! restore checks every part against it and leaves nothing behind when one is wrong.

mod file;
pub mod socket;

pub use file::{Written, from_file, to_file};

use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Entry, KvStore, SledStore, StoreError};

const DATABASE: &str = "database.bin";
const MANIFEST: &str = "raremesh-backup.json";
const MAGIC: &[u8] = b"raremesh-db 1\n";
/// Folders of the data folder an archive does not carry as files: the database (dumped
/// instead), its rewrite leftovers, what start-up rebuilds, and mail already sent.
const NOT_COPIED: &[&str] = &["db", "db.next", "db.old", "cache", "search", "outbox"];
/// The node's Matrix device (SQLite stores that matrix-sdk writes on its own, so no copy
/// of them while the node runs is consistent): a restored node makes a new device, which
/// syncs and joins its rooms again.
const DEVICE_DIR: &str = "federation/device";
/// The Matrix accounts the node manages for members (the same kind of stores): a restored
/// node makes a new device for each at its next sync.
const MANAGED_DIR: &str = "federation/managed";

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive is not a raremesh backup, is cut short, or does not match its manifest.
    #[error("the archive {0}")]
    Archive(String),
    /// The data folder to restore into is in use.
    #[error("{0}")]
    Target(String),
    /// An age recipient or identity cannot be used.
    #[error("{0}")]
    Key(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |error| BackupError::Io {
        path: path.to_owned(),
        error,
    }
}

/// What an archive holds (its last entry).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The archive format.
    pub format: u32,
    /// The version of raremesh that wrote it.
    pub node_version: String,
    /// When the database was dumped (seconds since 1970).
    pub created_at: u64,
    /// Records in `database.bin`.
    pub records: u64,
    /// SHA-256 of `database.bin`, hex.
    pub database_sha256: String,
    /// Every file, by its path in the data folder.
    pub files: Vec<FileEntry>,
}

/// One file of an archive.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Its path in the data folder (`/`-separated).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what comes through it.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A consistent copy of a node's data, staged in its data folder until archived.
#[derive(Debug)]
struct Staged {
    dir: PathBuf,
    records: u64,
    database_sha256: String,
    files: Vec<String>,
    created_at: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every regular file under `data` an archive carries, as paths relative to it.
fn files_to_copy(data: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(data.join(&rel))? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = rel.join(&*name);
            let kind = entry.file_type()?;
            if rel.as_os_str().is_empty()
                && (NOT_COPIED.contains(&&*name) || name.starts_with("backup-"))
            {
                continue;
            }
            if path == Path::new(DEVICE_DIR) || path == Path::new(MANAGED_DIR) {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !name.ends_with(".part") && !name.starts_with('.') {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn stage(kv: &dyn KvStore, data: &Path) -> Result<Staged, BackupError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let dir = data.join(format!("backup-{}", nanos.as_nanos()));
    std::fs::create_dir_all(dir.join("files")).map_err(io(&dir))?;
    let mut staged = Staged {
        dir,
        records: 0,
        database_sha256: String::new(),
        files: Vec::new(),
        created_at: nanos.as_secs(),
    };
    let db_path = staged.dir.join(DATABASE);
    let file = std::fs::File::create(&db_path).map_err(io(&db_path))?;
    let mut out = Hashing {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let io_store = |e: std::io::Error| StoreError::Backend(format!("backup: {e}"));
    out.write_all(MAGIC).map_err(io_store)?;
    let mut records = 0u64;
    let mut files = Vec::new();
    let staged_files = staged.dir.join("files");
    kv.export(
        &mut |tree, key, value| {
            records += 1;
            let name = tree.as_bytes();
            out.write_all(&(name.len() as u16).to_be_bytes())
                .and_then(|()| out.write_all(name))
                .and_then(|()| out.write_all(&(key.len() as u32).to_be_bytes()))
                .and_then(|()| out.write_all(key))
                .and_then(|()| out.write_all(&(value.len() as u32).to_be_bytes()))
                .and_then(|()| out.write_all(value))
                .map_err(io_store)
        },
        &mut || {
            // Still holding writes off: the files that go with the records.
            for rel in files_to_copy(data).map_err(io_store)? {
                let target = staged_files.join(&rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io_store)?;
                }
                let source = data.join(&rel);
                if std::fs::hard_link(&source, &target).is_err() {
                    std::fs::copy(&source, &target).map_err(io_store)?;
                }
                files.push(rel.to_string_lossy().replace('\\', "/"));
            }
            Ok(())
        },
    )?;
    out.flush().map_err(io(&db_path))?;
    staged.records = records;
    staged.database_sha256 = hex(out.hash.finalize());
    staged.files = files;
    Ok(staged)
}

/// What a backup or restore did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Records of the database.
    pub records: u64,
    /// Files besides the database (documents, keys).
    pub files: usize,
    /// Bytes of the files, uncompressed.
    pub file_bytes: u64,
}

/// Writes an archive of the node whose data folder is `data` and database `kv` to `out`.
/// Writes wait only while the database is dumped and the files linked.
pub fn write(kv: &dyn KvStore, data: &Path, out: impl Write) -> Result<Summary, BackupError> {
    let staged = stage(kv, data)?;
    let archive_err = |e: std::io::Error| BackupError::Archive(format!("cannot be written: {e}"));
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let db_path = staged.dir.join(DATABASE);
    tar.append_path_with_name(&db_path, DATABASE)
        .map_err(archive_err)?;
    let mut entries = Vec::new();
    let mut file_bytes = 0;
    for rel in &staged.files {
        let path = staged.dir.join("files").join(rel);
        let file = std::fs::File::open(&path).map_err(io(&path))?;
        let size = file.metadata().map_err(io(&path))?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_cksum();
        let mut reader = HashingReader {
            inner: file,
            hash: Sha256::new(),
            bytes: 0,
        };
        tar.append_data(&mut header, format!("files/{rel}"), &mut reader)
            .map_err(archive_err)?;
        if reader.bytes != size {
            return Err(BackupError::Archive(format!(
                "{rel} changed while archived"
            )));
        }
        file_bytes += size;
        entries.push(FileEntry {
            path: rel.clone(),
            size,
            sha256: hex(reader.hash.finalize()),
        });
    }
    let manifest = Manifest {
        format: 1,
        node_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: staged.created_at,
        records: staged.records,
        database_sha256: staged.database_sha256.clone(),
        files: entries,
    };
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, json.as_slice())
        .map_err(archive_err)?;
    let gz = tar.into_inner().map_err(archive_err)?;
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(archive_err)?;
    Ok(Summary {
        records: staged.records,
        files: staged.files.len(),
        file_bytes,
    })
}

/// The entries of a database dump.
struct Dump<R> {
    r: HashingReader<R>,
    failed: bool,
}

impl<R: Read> Dump<R> {
    fn read_exact_or_end(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.r.read(&mut buf[filled..])?;
            if n == 0 {
                return if filled == 0 {
                    Ok(false)
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                };
            }
            filled += n;
        }
        Ok(true)
    }

    fn chunk(&mut self, len: usize) -> std::io::Result<Vec<u8>> {
        let mut v = vec![0; len];
        self.r.read_exact(&mut v)?;
        Ok(v)
    }

    fn entry(&mut self) -> std::io::Result<Option<Entry>> {
        let mut len = [0u8; 2];
        if !self.read_exact_or_end(&mut len)? {
            return Ok(None);
        }
        let name = String::from_utf8(self.chunk(u16::from_be_bytes(len) as usize)?)
            .map_err(|_| std::io::Error::other("a tree name is not UTF-8"))?;
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len)?;
        let key = self.chunk(u32::from_be_bytes(len) as usize)?;
        self.r.read_exact(&mut len)?;
        let value = self.chunk(u32::from_be_bytes(len) as usize)?;
        Ok(Some((name, key, value)))
    }
}

impl<R: Read> Iterator for Dump<R> {
    type Item = Result<Entry, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.entry() {
            Ok(e) => e.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(StoreError::Backend(format!(
                    "the archive's database is cut short or damaged: {e}"
                ))))
            }
        }
    }
}

/// Whether `dir` is missing or empty.
fn is_empty(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

/// A relative path of an archive entry inside `files/`, refused if it could leave the
/// data folder.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix("files").ok()?;
    let ok =
        !rel.as_os_str().is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    ok.then(|| rel.to_owned())
}

/// Restores the archive `input` (gzip-compressed tar, as [`write`] makes it) into `data`,
/// which must be missing or empty. On any error, what was written is removed again.
pub fn restore(input: impl Read, data: &Path) -> Result<(Manifest, Summary), BackupError> {
    if !is_empty(data)? {
        return Err(BackupError::Target(format!(
            "{}: not empty; restore into a new, empty data folder (or move this one away)",
            data.display()
        )));
    }
    std::fs::create_dir_all(data).map_err(io(data))?;
    let result = restore_into(input, data);
    if result.is_err()
        && let Ok(entries) = std::fs::read_dir(data)
    {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
    result
}

fn restore_into(input: impl Read, data: &Path) -> Result<(Manifest, Summary), BackupError> {
    let bad = |m: String| BackupError::Archive(m);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(input));
    let mut database: Option<(u64, String)> = None;
    let mut files: Vec<FileEntry> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("is not a raremesh backup: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("is cut short or damaged: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("names a file it cannot hold: {e}")))?
            .into_owned();
        if path == Path::new(DATABASE) {
            let mut magic = vec![0; MAGIC.len()];
            entry
                .read_exact(&mut magic)
                .map_err(|e| bad(format!("database is cut short: {e}")))?;
            if magic != MAGIC {
                return Err(bad("holds a database this version cannot read".into()));
            }
            let mut dump = Dump {
                r: HashingReader {
                    inner: &mut entry,
                    hash: Sha256::new(),
                    bytes: 0,
                },
                failed: false,
            };
            dump.r.hash.update(MAGIC);
            let count = SledStore::import(&data.join("db"), &mut dump)?;
            database = Some((count as u64, hex(dump.r.hash.finalize())));
        } else if path == Path::new(MANIFEST) {
            let mut json = Vec::new();
            entry
                .read_to_end(&mut json)
                .map_err(|e| bad(format!("manifest is cut short: {e}")))?;
            manifest = Some(
                serde_json::from_slice(&json)
                    .map_err(|e| bad(format!("manifest cannot be read: {e}")))?,
            );
        } else if let Some(rel) = safe_relative(&path) {
            let target = data.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let file = std::fs::File::create(&target).map_err(io(&target))?;
            let mut out = Hashing {
                inner: BufWriter::new(file),
                hash: Sha256::new(),
                bytes: 0,
            };
            std::io::copy(&mut entry, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| bad(format!("file {} is cut short: {e}", rel.display())))?;
            if let Ok(f) = out.inner.into_inner() {
                f.sync_all().map_err(io(&target))?;
            }
            files.push(FileEntry {
                path: rel.to_string_lossy().replace('\\', "/"),
                size: out.bytes,
                sha256: hex(out.hash.finalize()),
            });
        } else {
            return Err(bad(format!(
                "holds {}, which a raremesh backup never does",
                path.display()
            )));
        }
    }
    let manifest = manifest.ok_or_else(|| bad("has no manifest: it is cut short".into()))?;
    let (records, sha) = database.ok_or_else(|| bad("holds no database".into()))?;
    if manifest.format != 1 {
        return Err(bad(format!("is of format {}, not 1", manifest.format)));
    }
    if records != manifest.records || sha != manifest.database_sha256 {
        return Err(bad(format!(
            "database does not match its manifest ({records} records, {} expected)",
            manifest.records
        )));
    }
    let mut got = files.clone();
    got.sort_by(|a, b| a.path.cmp(&b.path));
    let mut want = manifest.files.clone();
    want.sort_by(|a, b| a.path.cmp(&b.path));
    if got != want {
        return Err(bad("files do not match its manifest".into()));
    }
    let summary = Summary {
        records,
        files: files.len(),
        file_bytes: files.iter().map(|f| f.size).sum(),
    };
    Ok((manifest, summary))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::{MemoryStore, Tree};

    #[test]
    fn an_archive_round_trips_and_a_damaged_one_leaves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("documents")).expect("dir");
        std::fs::create_dir_all(data.join("cache")).expect("dir");
        std::fs::write(data.join("documents/a.age"), b"sealed bytes").expect("write");
        std::fs::write(data.join("documents/b.part"), b"half an upload").expect("write");
        std::fs::write(data.join("cache/ontology.bin"), b"rebuilt").expect("write");
        let kv = Arc::new(MemoryStore::new());
        kv.put(Tree::Members, b"m1", b"member one").expect("put");
        kv.put(Tree::Patients, b"m1/p1", b"patient one")
            .expect("put");
        let mut archive = Vec::new();
        let summary = write(kv.as_ref(), &data, &mut archive).expect("backup");
        assert_eq!((summary.records, summary.files), (2, 1));
        assert_eq!(
            std::fs::read_dir(&data).expect("dir").count(),
            2,
            "the staging folder is gone"
        );
        let target = dir.path().join("restored");
        let (manifest, summary) = restore(archive.as_slice(), &target).expect("restore");
        assert_eq!((manifest.records, summary.files), (2, 1));
        assert_eq!(
            std::fs::read(target.join("documents/a.age")).expect("read"),
            b"sealed bytes"
        );
        assert!(!target.join("cache").exists() && !target.join("documents/b.part").exists());
        let db = SledStore::open(&target.join("db")).expect("open");
        assert_eq!(
            db.get(Tree::Patients, b"m1/p1").expect("get").as_deref(),
            Some(&b"patient one"[..])
        );
        drop(db);
        // Not into a folder with something in it.
        assert!(matches!(
            restore(archive.as_slice(), &target),
            Err(BackupError::Target(_))
        ));
        // Cut short, or one byte changed: refused, and the folder is left empty.
        for damaged in [
            archive[..archive.len() / 2].to_vec(),
            archive[..archive.len() - 30].to_vec(),
        ] {
            let t = dir.path().join(format!("t{}", damaged.len()));
            assert!(restore(damaged.as_slice(), &t).is_err());
            assert_eq!(std::fs::read_dir(&t).expect("dir").count(), 0);
        }
    }
}
