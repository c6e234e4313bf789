//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading an ontology or parsing an identifier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// A required release file is missing from an ontology folder.
    #[error(
        "{dir}: no {file} (an HPO release folder needs hp.obo and phenotype.hpoa, plain or .gz)"
    )]
    MissingFile {
        /// The folder that was searched.
        dir: PathBuf,
        /// The file name that was expected.
        file: &'static str,
    },
    /// A release file is malformed; `line` is 1-based (0 when the problem is the file as a whole).
    #[error("{file}, line {line}: {message}")]
    Parse {
        /// Which file (`hp.obo`, `phenotype.hpoa`, a translation).
        file: String,
        /// The 1-based line number, or 0 for a problem with the whole file.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Not an HPO identifier of the form `HP:0000000`.
    #[error("not an HPO term id: {0:?} (expected the form HP:0000118)")]
    InvalidHpoId(String),
    /// Not an Orphanet identifier of the form `ORPHA:558`.
    #[error("not an ORPHA code: {0:?} (expected the form ORPHA:558)")]
    InvalidOrphaCode(String),
    /// The binary cache could not be encoded or decoded.
    #[error("ontology cache: {0}")]
    Cache(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn parse(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Self::Parse {
            file: file.into(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }
}
