//! An in-memory [`KvStore`] for fast tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Batch, KvStore, StoreError, StoreResult, Tree, Visit, Write};

type Trees = BTreeMap<Tree, BTreeMap<Vec<u8>, Vec<u8>>>;

/// Keeps everything in memory; gone when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Trees>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Trees) -> T) -> StoreResult<T> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

impl KvStore for MemoryStore {
    fn get(&self, tree: Tree, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.with(|t| t.get(&tree).and_then(|m| m.get(key).cloned()))
    }

    fn put(&self, tree: Tree, key: &[u8], value: &[u8]) -> StoreResult<()> {
        self.with(|t| {
            t.entry(tree)
                .or_default()
                .insert(key.to_vec(), value.to_vec());
        })
    }

    fn remove(&self, tree: Tree, key: &[u8]) -> StoreResult<bool> {
        self.with(|t| t.entry(tree).or_default().remove(key).is_some())
    }

    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> StoreResult<bool> {
        self.with(|t| {
            let m = t.entry(tree).or_default();
            if m.get(key).map(Vec::as_slice) != old {
                return false;
            }
            match new {
                Some(v) => m.insert(key.to_vec(), v.to_vec()),
                None => m.remove(key),
            };
            true
        })
    }

    fn apply(&self, batch: &Batch) -> StoreResult<()> {
        self.with(|t| {
            for write in batch.writes() {
                match write {
                    Write::Put { tree, key, value } => {
                        t.entry(*tree)
                            .or_default()
                            .insert(key.clone(), value.clone());
                    }
                    Write::Remove { tree, key } => {
                        t.entry(*tree).or_default().remove(key);
                    }
                }
            }
        })
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with(|t| {
            t.get(&tree)
                .map(|m| {
                    m.range(prefix.to_vec()..)
                        .take_while(|(k, _)| k.starts_with(prefix))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn export(
        &self,
        visit: &mut Visit<'_>,
        held: &mut dyn FnMut() -> StoreResult<()>,
    ) -> StoreResult<()> {
        let guard = self
            .0
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        for (tree, entries) in guard.iter() {
            for (k, v) in entries {
                visit(tree.name(), k, v)?;
            }
        }
        held()
    }
}
