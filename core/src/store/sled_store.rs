//! The [`KvStore`] of a node: sled on disk.
//!
//! sled keeps the old versions of a value in its log files until it happens to compact
//! them, so a removed record stays readable in the folder for a while.
//! [`KvStore::forget_removed`] makes removal final at once: it copies the live records
//! into a new folder (`db.next`), swaps it in for the old one (`db` → `db.old`,
//! `db.next` → `db`) and removes the old folder. A crash at any point of the swap is
//! finished (or undone) by the next [`SledStore::open`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{Batch, Entry, KvStore, StoreError, StoreResult, Tree, Visit, VisitEntry, Write};

/// A sled database in a folder.
#[derive(Debug, Clone)]
pub struct SledStore {
    inner: Arc<RwLock<Inner>>,
    /// Held shared by each write, exclusively by an export (readers go on meanwhile).
    writes: Arc<RwLock<()>>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    db: Option<sled::Db>,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{}: {e}", path.display()))
}

/// `db` → `db.<suffix>`, next to it.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dir.with_file_name(name)
}

/// sled's page cache (its default is 1 GiB, which a node receiving hundreds of thousands of
/// partners' vectors fills: it would hold most of the database in memory).
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

fn open_db(dir: &Path) -> StoreResult<sled::Db> {
    // Every write flushes before it returns, so sled's background flusher is not needed;
    // without it, the last handle dropped lets go of the files at once (a rewrite swaps
    // folders and opens the new one right after).
    sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .cache_capacity(CACHE_BYTES)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io)
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("lock") =>
            {
                StoreError::Backend(format!(
                    "{}: in use by another process (is the node running? stop it first)",
                    dir.display()
                ))
            }
            other => StoreError::Backend(format!("{}: {other}", dir.display())),
        })
}

/// Opens a database whose last handle in this process was just dropped: should sled still
/// hold its lock for a moment, the open is tried again, for up to ten seconds.
fn reopen_db(dir: &Path) -> StoreResult<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open_db(dir) {
            Err(StoreError::Backend(m))
                if m.contains("in use by another process")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Finishes or undoes a swap a crash interrupted. `db.next` is complete once `db` has
/// been moved away, so: without `db`, `db.next` goes in (or `db.old` back, if the copy
/// is not there); with a `db`, `db.next` is a copy cut short and `db.old` a folder not
/// yet removed.
fn recover(dir: &Path) -> StoreResult<()> {
    let next = sibling(dir, "next");
    let old = sibling(dir, "old");
    if !dir.exists() {
        for complete in [&next, &old] {
            if complete.exists() {
                std::fs::rename(complete, dir).map_err(io(complete))?;
                tracing::warn!(path = %dir.display(), "finished a database rewrite a stop interrupted");
                break;
            }
        }
    }
    for leftover in [next, old] {
        if leftover.exists() {
            std::fs::remove_dir_all(&leftover).map_err(io(&leftover))?;
        }
    }
    Ok(())
}

/// Every tree of `from`, copied into a new database at `to`, flushed.
fn copy_all(from: &sled::Db, to: &Path) -> StoreResult<()> {
    let new = open_db(to)?;
    for name in from.tree_names() {
        let (source, target) = (
            from.open_tree(&name).map_err(backend)?,
            new.open_tree(&name).map_err(backend)?,
        );
        let mut batch = sled::Batch::default();
        for entry in source.iter() {
            let (k, v) = entry.map_err(backend)?;
            batch.insert(k, v);
        }
        target.apply_batch(batch).map_err(backend)?;
    }
    new.flush().map_err(backend)?;
    Ok(())
}

impl Inner {
    /// The open database.
    fn db(&self) -> StoreResult<&sled::Db> {
        self.db
            .as_ref()
            .ok_or_else(|| StoreError::Backend("database closed by a failed rewrite".into()))
    }
}

impl SledStore {
    /// Opens (or creates) the database in `dir`. Fails clearly when another process (a
    /// running node) holds it.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        recover(dir)?;
        let db = open_db(dir)?;
        Ok(Self {
            inner: Arc::new(RwLock::new(Inner {
                dir: dir.to_owned(),
                db: Some(db),
            })),
            writes: Arc::new(RwLock::new(())),
        })
    }

    /// Creates the database in `dir` (which must not exist) from exported entries (tree
    /// name, key, value); how many. Durable when it returns.
    pub fn import(
        dir: &Path,
        entries: impl Iterator<Item = StoreResult<Entry>>,
    ) -> StoreResult<usize> {
        if dir.exists() {
            return Err(StoreError::Backend(format!(
                "{}: already exists; a restore needs an empty data folder",
                dir.display()
            )));
        }
        let db = open_db(dir)?;
        let mut count = 0;
        for entry in entries {
            let (tree, key, value) = entry?;
            db.open_tree(tree.as_bytes())
                .and_then(|t| t.insert(key, value))
                .map_err(backend)?;
            count += 1;
        }
        db.flush().map_err(backend)?;
        Ok(count)
    }

    /// The state, read-locked (a rewrite waits for it).
    fn read(&self) -> StoreResult<std::sync::RwLockReadGuard<'_, Inner>> {
        self.inner
            .read()
            .map_err(|_| StoreError::Backend("database lock poisoned".into()))
    }

    fn writing(&self) -> StoreResult<std::sync::RwLockReadGuard<'_, ()>> {
        self.writes
            .read()
            .map_err(|_| StoreError::Backend("database lock poisoned".into()))
    }

    /// Runs `f` on one tree, the database held open (a rewrite waits for it).
    fn with<T>(
        &self,
        tree: Tree,
        f: impl FnOnce(&sled::Tree, &sled::Db) -> Result<T, sled::Error>,
    ) -> StoreResult<T> {
        let inner = self.read()?;
        let db = inner.db()?;
        let t = db.open_tree(tree.name()).map_err(backend)?;
        f(&t, db).map_err(backend)
    }
}

impl KvStore for SledStore {
    fn get(&self, tree: Tree, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.with(tree, |t, _| Ok(t.get(key)?.map(|v| v.to_vec())))
    }

    fn put(&self, tree: Tree, key: &[u8], value: &[u8]) -> StoreResult<()> {
        let _writing = self.writing()?;
        self.with(tree, |t, db| {
            t.insert(key, value)?;
            db.flush().map(|_| ())
        })
    }

    fn remove(&self, tree: Tree, key: &[u8]) -> StoreResult<bool> {
        let _writing = self.writing()?;
        self.with(tree, |t, db| {
            let was = t.remove(key)?.is_some();
            db.flush()?;
            Ok(was)
        })
    }

    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> StoreResult<bool> {
        let _writing = self.writing()?;
        self.with(tree, |t, db| {
            let swapped = t.compare_and_swap(key, old, new)?.is_ok();
            if swapped {
                db.flush()?;
            }
            Ok(swapped)
        })
    }

    fn apply(&self, batch: &Batch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let _writing = self.writing()?;
        let inner = self.read()?;
        let db = inner.db()?;
        let names = batch.trees();
        let trees = names
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        let index = |tree: Tree| names.binary_search(&tree).unwrap_or_default();
        trees
            .as_slice()
            .transaction(|views| {
                for write in batch.writes() {
                    let view = &views[index(write.tree())];
                    match write {
                        Write::Put { key, value, .. } => {
                            view.insert(key.as_slice(), value.as_slice())?;
                        }
                        Write::Remove { key, .. } => {
                            view.remove(key.as_slice())?;
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => backend(e),
                TransactionError::Abort(()) => StoreError::Backend("transaction aborted".into()),
            })?;
        db.flush().map_err(backend)?;
        Ok(())
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with(tree, |t, _| {
            t.scan_prefix(prefix)
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect()
        })
    }

    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut VisitEntry<'_>,
    ) -> StoreResult<()> {
        // The database held open throughout, as in `with` (a rewrite waits for it).
        let inner = self.read()?;
        let db = inner.db()?;
        let t = db.open_tree(tree.name()).map_err(backend)?;
        for entry in t.scan_prefix(prefix) {
            let (k, v) = entry.map_err(backend)?;
            visit(&k, &v)?;
        }
        Ok(())
    }

    fn export(
        &self,
        visit: &mut Visit<'_>,
        held: &mut dyn FnMut() -> StoreResult<()>,
    ) -> StoreResult<()> {
        let _no_writes = self
            .writes
            .write()
            .map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
        let inner = self.read()?;
        let db = inner.db()?;
        for name in db.tree_names() {
            let tree = db.open_tree(&name).map_err(backend)?;
            if tree.is_empty() {
                continue;
            }
            let name = String::from_utf8_lossy(&name).into_owned();
            for entry in tree.iter() {
                let (k, v) = entry.map_err(backend)?;
                visit(&name, &k, &v)?;
            }
        }
        held()
    }

    fn forget_removed(&self) -> StoreResult<()> {
        let mut inner = self
            .inner
            .write()
            .map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
        let dir = inner.dir.clone();
        let (next, old) = (sibling(&dir, "next"), sibling(&dir, "old"));
        if next.exists() {
            std::fs::remove_dir_all(&next).map_err(io(&next))?;
        }
        let db = inner.db()?;
        copy_all(db, &next)?;
        // Every reader and writer waits on the lock; dropping the handle closes the old
        // database.
        inner.db = None;
        let swapped = std::fs::rename(&dir, &old)
            .map_err(io(&dir))
            .and_then(|()| std::fs::rename(&next, &dir).map_err(io(&next)))
            .and_then(|()| reopen_db(&dir));
        match swapped {
            Ok(db) => {
                inner.db = Some(db);
                std::fs::remove_dir_all(&old).map_err(io(&old))
            }
            Err(e) => {
                // Back to whichever complete database is there, then report.
                if !dir.exists() {
                    let _ = std::fs::rename(&old, &dir);
                }
                inner.db = reopen_db(&dir).ok();
                Err(e)
            }
        }
    }
}
