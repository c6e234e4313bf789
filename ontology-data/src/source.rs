//! Where a release comes from: the files shipped in this crate, or a folder an admin names.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::translation::TranslationTexts;
use crate::{Error, Result};

static HP_OBO_GZ: &[u8] = include_bytes!("../data/hp.obo.gz");
static PHENOTYPE_HPOA_GZ: &[u8] = include_bytes!("../data/phenotype.hpoa.gz");

/// A shipped translation: language, `hp-<lang>.babelon.tsv.gz`, and
/// `hp-<lang>.synonyms.tsv.gz` where there is one.
type Shipped = (&'static str, &'static [u8], Option<&'static [u8]>);

/// The official translations shipped.
static TRANSLATIONS_GZ: [Shipped; 5] = [
    (
        "de",
        include_bytes!("../data/translations/hp-de.babelon.tsv.gz"),
        Some(include_bytes!("../data/translations/hp-de.synonyms.tsv.gz")),
    ),
    (
        "es",
        include_bytes!("../data/translations/hp-es.babelon.tsv.gz"),
        Some(include_bytes!("../data/translations/hp-es.synonyms.tsv.gz")),
    ),
    (
        "fr",
        include_bytes!("../data/translations/hp-fr.babelon.tsv.gz"),
        Some(include_bytes!("../data/translations/hp-fr.synonyms.tsv.gz")),
    ),
    (
        "it",
        include_bytes!("../data/translations/hp-it.babelon.tsv.gz"),
        None,
    ),
    (
        "pt",
        include_bytes!("../data/translations/hp-pt.babelon.tsv.gz"),
        None,
    ),
];

/// A source of `hp.obo`, `phenotype.hpoa` and the translations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The HPO 2025-01-16 release shipped (unmodified, gzip-compressed) in this crate, with
    /// the official German, Spanish, French, Italian and Portuguese translations.
    Embedded,
    /// A folder holding an official release: `hp.obo` and `phenotype.hpoa`, plain or `.gz`,
    /// and any translations as `hp-<lang>.babelon.tsv` (with `hp-<lang>.synonyms.tsv`
    /// where there is one), plain or `.gz`, in the folder or its `translations/`.
    Dir(PathBuf),
}

/// The release files, decompressed.
#[derive(Debug)]
pub struct SourceTexts {
    /// The text of `hp.obo`.
    pub obo: String,
    /// The text of `phenotype.hpoa`.
    pub hpoa: String,
    /// The translations, by language code.
    pub translations: Vec<TranslationTexts>,
}

/// A translation's files in a folder: language, babelon file, synonyms file.
type TranslationFiles = (String, PathBuf, Option<PathBuf>);

/// The translations in `dir` and `dir/translations`, sorted by language.
fn translation_files(dir: &Path) -> Result<Vec<TranslationFiles>> {
    let mut out: Vec<TranslationFiles> = Vec::new();
    for d in [dir.to_owned(), dir.join("translations")] {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let base = name.strip_suffix(".gz").unwrap_or(name);
            let Some(lang) = base
                .strip_prefix("hp-")
                .and_then(|b| b.strip_suffix(".babelon.tsv"))
            else {
                continue;
            };
            let valid = (2..=8).contains(&lang.len())
                && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid || out.iter().any(|(l, _, _)| l == lang) {
                continue;
            }
            let synonyms = [
                d.join(format!("hp-{lang}.synonyms.tsv")),
                d.join(format!("hp-{lang}.synonyms.tsv.gz")),
            ]
            .into_iter()
            .find(|p| p.is_file());
            out.push((lang.to_owned(), path, synonyms));
        }
    }
    out.sort();
    Ok(out)
}

impl Source {
    /// A short fingerprint of the source bytes: caches built from other bytes are not used.
    pub fn fingerprint(&self) -> Result<String> {
        let (a, b, mut translations) = match self {
            Self::Embedded => {
                let mut t = crc32fast::Hasher::new();
                for (lang, babelon, synonyms) in &TRANSLATIONS_GZ {
                    t.update(lang.as_bytes());
                    t.update(babelon);
                    t.update(synonyms.unwrap_or_default());
                }
                (HP_OBO_GZ.to_vec(), PHENOTYPE_HPOA_GZ.to_vec(), t)
            }
            Self::Dir(dir) => {
                let obo = find(dir, "hp.obo")?;
                let hpoa = find(dir, "phenotype.hpoa")?;
                let mut t = crc32fast::Hasher::new();
                for (lang, babelon, synonyms) in translation_files(dir)? {
                    t.update(lang.as_bytes());
                    t.update(&read(&babelon)?);
                    if let Some(s) = synonyms {
                        t.update(&read(&s)?);
                    }
                }
                (read(&obo)?, read(&hpoa)?, t)
            }
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&a);
        let first = h.finalize();
        let mut h = crc32fast::Hasher::new();
        h.update(&b);
        translations.update(&[0]);
        Ok(format!(
            "{first:08x}{:08x}{:08x}{:x}",
            h.finalize(),
            translations.finalize(),
            a.len() + b.len()
        ))
    }

    /// Reads (and decompresses) both files.
    pub fn read(&self) -> Result<SourceTexts> {
        match self {
            Self::Embedded => Ok(SourceTexts {
                obo: gunzip(HP_OBO_GZ, Path::new("<embedded>/hp.obo.gz"))?,
                hpoa: gunzip(PHENOTYPE_HPOA_GZ, Path::new("<embedded>/phenotype.hpoa.gz"))?,
                translations: TRANSLATIONS_GZ
                    .iter()
                    .map(|(lang, babelon, synonyms)| {
                        let path = |kind: &str| format!("<embedded>/hp-{lang}.{kind}.tsv.gz");
                        Ok(TranslationTexts {
                            lang: (*lang).to_owned(),
                            babelon: gunzip(babelon, Path::new(&path("babelon")))?,
                            synonyms: synonyms
                                .map(|s| gunzip(s, Path::new(&path("synonyms"))))
                                .transpose()?,
                        })
                    })
                    .collect::<Result<_>>()?,
            }),
            Self::Dir(dir) => Ok(SourceTexts {
                obo: read_text(&find(dir, "hp.obo")?)?,
                hpoa: read_text(&find(dir, "phenotype.hpoa")?)?,
                translations: translation_files(dir)?
                    .into_iter()
                    .map(|(lang, babelon, synonyms)| {
                        Ok(TranslationTexts {
                            lang,
                            babelon: read_text(&babelon)?,
                            synonyms: synonyms.as_deref().map(read_text).transpose()?,
                        })
                    })
                    .collect::<Result<_>>()?,
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
