//! Several writes that land together or not at all ([`KvStore::apply`]).

use super::{Record, Tree, encode};

/// One write of a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Sets a key.
    Put {
        /// The tree.
        tree: Tree,
        /// The key.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Removes a key (absent is fine).
    Remove {
        /// The tree.
        tree: Tree,
        /// The key.
        key: Vec<u8>,
    },
}

impl Write {
    /// The tree written.
    pub fn tree(&self) -> Tree {
        match self {
            Self::Put { tree, .. } | Self::Remove { tree, .. } => *tree,
        }
    }
}

/// Writes across any trees, applied atomically and durably by [`KvStore::apply`]: after
/// a crash either every one of them is there or none. Later writes to a key win.
///
/// [`KvStore::apply`]: super::KvStore::apply
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch(Vec<Write>);

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` of `tree` to raw bytes.
    pub fn put_raw(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.0.push(Write::Put {
            tree,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Stores `record` under `key` in its tree.
    pub fn put<T: Record>(&mut self, key: impl Into<Vec<u8>>, record: &T) {
        self.put_raw(T::TREE, key, encode(record));
    }

    /// Removes `key` of `tree`.
    pub fn remove(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.0.push(Write::Remove {
            tree,
            key: key.into(),
        });
    }

    /// The writes, in order.
    pub fn writes(&self) -> &[Write] {
        &self.0
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The trees written, each once, in a fixed order.
    pub fn trees(&self) -> Vec<Tree> {
        let mut trees: Vec<Tree> = self.0.iter().map(Write::tree).collect();
        trees.sort();
        trees.dedup();
        trees
    }
}
