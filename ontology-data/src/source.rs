//! Where a release comes from: the files shipped in this crate, or a folder an admin names.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::{Error, Result};

static HP_OBO_GZ: &[u8] = include_bytes!("../data/hp.obo.gz");
static PHENOTYPE_HPOA_GZ: &[u8] = include_bytes!("../data/phenotype.hpoa.gz");

/// A source of `hp.obo` and `phenotype.hpoa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The HPO 2025-01-16 release shipped (unmodified, gzip-compressed) in this crate.
    Embedded,
    /// A folder holding an official release: `hp.obo` and `phenotype.hpoa`, plain or `.gz`.
    Dir(PathBuf),
}

/// The two release files, decompressed.
#[derive(Debug)]
pub struct SourceTexts {
    /// The text of `hp.obo`.
    pub obo: String,
    /// The text of `phenotype.hpoa`.
    pub hpoa: String,
}

impl Source {
    /// A short fingerprint of the source bytes: caches built from other bytes are not used.
    pub fn fingerprint(&self) -> Result<String> {
        let (a, b) = match self {
            Self::Embedded => (HP_OBO_GZ.to_vec(), PHENOTYPE_HPOA_GZ.to_vec()),
            Self::Dir(dir) => {
                let obo = find(dir, "hp.obo")?;
                let hpoa = find(dir, "phenotype.hpoa")?;
                (read(&obo)?, read(&hpoa)?)
            }
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&a);
        let first = h.finalize();
        let mut h = crc32fast::Hasher::new();
        h.update(&b);
        Ok(format!(
            "{first:08x}{:08x}{:x}",
            h.finalize(),
            a.len() + b.len()
        ))
    }

    /// Reads (and decompresses) both files.
    pub fn read(&self) -> Result<SourceTexts> {
        match self {
            Self::Embedded => Ok(SourceTexts {
                obo: gunzip(HP_OBO_GZ, Path::new("<embedded>/hp.obo.gz"))?,
                hpoa: gunzip(PHENOTYPE_HPOA_GZ, Path::new("<embedded>/phenotype.hpoa.gz"))?,
            }),
            Self::Dir(dir) => Ok(SourceTexts {
                obo: read_text(&find(dir, "hp.obo")?)?,
                hpoa: read_text(&find(dir, "phenotype.hpoa")?)?,
            }),
        }
    }

    /// The embedded, compressed files, e.g. for shipping them on with an export.
    pub fn embedded_files() -> [(&'static str, &'static [u8]); 2] {
        [
            ("hp.obo.gz", HP_OBO_GZ),
            ("phenotype.hpoa.gz", PHENOTYPE_HPOA_GZ),
        ]
    }
}

fn find(dir: &Path, name: &'static str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        ));
    }
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(Error::MissingFile {
        dir: dir.to_owned(),
        file: name,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = read(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        return gunzip(&bytes, path);
    }
    String::from_utf8(bytes).map_err(|_| Error::io(path, invalid("not UTF-8 text")))
}

fn gunzip(bytes: &[u8], path: &Path) -> Result<String> {
    let mut out = String::with_capacity(bytes.len() * 8);
    GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}
