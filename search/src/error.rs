//! The error type of this crate.

/// Everything that can go wrong in search and matching.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tantivy index failed (open, build or query).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index folder could not be prepared.
    #[error("search index folder {path}: {error}")]
    Io {
        /// The folder concerned.
        path: std::path::PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// An on-disk index does not match the loaded ontology.
    #[error("search index at {0} does not match the loaded ontology")]
    Mismatch(std::path::PathBuf),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
