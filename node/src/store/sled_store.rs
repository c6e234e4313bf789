//! The [`KvStore`] of a node: sled on disk.

use std::path::Path;

use super::{KvStore, StoreError, StoreResult, Tree};

/// A sled database in a folder.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the database in `dir`. Fails clearly when another process (a
    /// running node) holds it.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let db = sled::Config::new().path(dir).open().map_err(|e| match e {
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
        })?;
        Ok(Self { db })
    }

    fn tree(&self, tree: Tree) -> StoreResult<sled::Tree> {
        self.db.open_tree(tree.name()).map_err(backend)
    }

    fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(backend)
    }
}

impl KvStore for SledStore {
    fn get(&self, tree: Tree, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .tree(tree)?
            .get(key)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn put(&self, tree: Tree, key: &[u8], value: &[u8]) -> StoreResult<()> {
        self.tree(tree)?.insert(key, value).map_err(backend)?;
        self.flush()
    }

    fn remove(&self, tree: Tree, key: &[u8]) -> StoreResult<bool> {
        let was = self.tree(tree)?.remove(key).map_err(backend)?.is_some();
        self.flush()?;
        Ok(was)
    }

    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> StoreResult<bool> {
        let swapped = self
            .tree(tree)?
            .compare_and_swap(key, old, new)
            .map_err(backend)?
            .is_ok();
        if swapped {
            self.flush()?;
        }
        Ok(swapped)
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree(tree)?
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(backend))
            .collect()
    }
}
