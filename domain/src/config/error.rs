//! Configuration errors that name the key, the source, and the line where known.

use std::fmt;

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The dotted key concerned (`server.bind`), or empty for the file as a whole.
    pub key: String,
    /// Where the value came from: a file path or an environment variable.
    pub origin: Option<String>,
    /// The 1-based line in the file, where known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn invalid(key: &str, message: String) -> Self {
        Self {
            key: key.to_owned(),
            origin: None,
            line: None,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}")?;
            if let Some(line) = self.line {
                write!(f, ", line {line}")?;
            }
            write!(f, ": ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}
