//! A compact binary form of a parsed ontology, kept in the data folder so that a node
//! starts in milliseconds instead of re-parsing 44 MB of release files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::ontology::Core;
use crate::{Error, Ontology, Result, Source};

/// Bump when [`Core`] or anything in it changes shape.
const FORMAT: u32 = 3;
const MAGIC: &[u8; 8] = b"RMONTO\0\0";

/// How a load went.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Whether the binary cache was used.
    pub from_cache: bool,
    /// The cache file (used or written), when a cache folder was given.
    pub cache_file: Option<PathBuf>,
    /// Why an existing cache was not used, or could not be written.
    pub cache_problem: Option<String>,
    /// Wall time of the whole load.
    pub elapsed: Duration,
    /// The source fingerprint: a key for anything derived from this release (indexes).
    pub fingerprint: String,
}

impl Ontology {
    /// Encodes this ontology in the cache format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT.to_le_bytes());
        postcard::to_extend(self.core(), out).map_err(|e| Error::Cache(e.to_string()))
    }

    /// Decodes the cache format.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| Error::Cache("not an ontology cache file".into()))?;
        let (format, body) = body
            .split_at_checked(4)
            .ok_or_else(|| Error::Cache("truncated".into()))?;
        let format = u32::from_le_bytes([format[0], format[1], format[2], format[3]]);
        if format != FORMAT {
            return Err(Error::Cache(format!(
                "format {format}, this build reads {FORMAT}"
            )));
        }
        let core: Core = postcard::from_bytes(body).map_err(|e| Error::Cache(e.to_string()))?;
        Self::from_core(core)
    }

    /// Loads `source`, through a binary cache in `cache_dir` when one is given: the cache is
    /// used when it matches the source's fingerprint, and written after a parse. A damaged
    /// cache is reported and replaced, never fatal.
    pub fn load(source: &Source, cache_dir: Option<&Path>) -> Result<(Self, LoadReport)> {
        let start = Instant::now();
        let fingerprint = source.fingerprint()?;
        let mut report = LoadReport {
            fingerprint: fingerprint.clone(),
            from_cache: false,
            cache_file: None,
            cache_problem: None,
            elapsed: Duration::ZERO,
        };
        let cache_file =
            cache_dir.map(|dir| dir.join(format!("ontology-{fingerprint}-v{FORMAT}.bin")));
        if let Some(file) = &cache_file {
            match std::fs::read(file) {
                Ok(bytes) => match Self::from_bytes(&bytes) {
                    Ok(ontology) => {
                        report.from_cache = true;
                        report.cache_file = cache_file.clone();
                        report.elapsed = start.elapsed();
                        return Ok((ontology, report));
                    }
                    Err(e) => {
                        report.cache_problem = Some(format!("{}: {e}; rebuilding", file.display()))
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => report.cache_problem = Some(format!("{}: {e}", file.display())),
            }
        }
        let texts = source.read()?;
        let ontology = Self::parse_texts(&texts)?;
        if let (Some(dir), Some(file)) = (cache_dir, &cache_file) {
            if let Err(e) = write_atomically(dir, file, &ontology.to_bytes()?) {
                report.cache_problem = Some(format!("{}: {e}", file.display()));
            } else {
                report.cache_file = cache_file.clone();
            }
        }
        report.elapsed = start.elapsed();
        Ok((ontology, report))
    }
}

fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}
