//! The error type of the node library.

use std::path::PathBuf;

use crate::config::ConfigError;

/// Everything that can stop the node from starting or a command from completing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be used.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The data folder cannot be created or written.
    #[error("data_dir: {path}: {error}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The ontology release cannot be loaded.
    #[error("{origin}: {error}")]
    Ontology {
        /// `shipped HPO release` or `ontology.dir`.
        origin: String,
        /// The loader's error.
        error: raremesh_ontology::Error,
    },
    /// The search index cannot be opened or built.
    #[error("search index: {0}")]
    Search(#[from] raremesh_search::Error),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// An account operation was refused.
    #[error("{0}")]
    Account(#[from] crate::accounts::AccountError),
    /// The terms file cannot be read.
    #[error("terms.file: {0}")]
    Terms(String),
    /// The document vault cannot be opened.
    #[error("documents: {0}")]
    Documents(#[from] crate::documents::DocumentError),
    /// A questionnaire file is wrong.
    #[error("questionnaire {0}")]
    Research(#[from] crate::research::DefinitionError),
    /// Demonstration data cannot be added.
    #[error("demo data: {0}")]
    Demo(String),
    /// Mail cannot be set up.
    #[error("mail: {0}")]
    Mail(String),
    /// Listening or serving failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// The result type of the node library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
