//! The organization's legal terms, by language: `terms.file` with its translations beside
//! it, or the built-in text.

use std::path::{Path, PathBuf};

/// The built-in terms, used until the organization configures its own (`terms.file`), in
/// each language of the pages.
const BUILT_IN: [(&str, &str); 3] = [
    ("en", include_str!("../terms/terms_default.txt")),
    ("es", include_str!("../terms/terms_default.es.txt")),
    ("fr", include_str!("../terms/terms_default.fr.txt")),
];

/// The terms text, by language.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    /// The text everyone sees when there is none in their language.
    main: Vec<String>,
    /// The text in other languages.
    by_lang: Vec<(String, Vec<String>)>,
}

impl Terms {
    /// The paragraphs in `lang`, and whether they are in it (else the main text).
    pub fn paragraphs(&self, lang: &str) -> (&[String], bool) {
        match self.by_lang.iter().find(|(l, _)| l == lang) {
            Some((_, p)) => (p, true),
            None => (&self.main, false),
        }
    }
}

fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The terms text named by the configuration, read once at start-up: `terms.file`, with
/// its translations beside it (`terms.es.txt` next to `terms.txt`), or the built-in text.
pub fn load_terms(config: &crate::config::Config) -> std::io::Result<Terms> {
    let Some(file) = &config.terms.file else {
        return Ok(Terms {
            main: paragraphs(BUILT_IN[0].1),
            by_lang: BUILT_IN
                .iter()
                .map(|(l, t)| ((*l).to_owned(), paragraphs(t)))
                .collect(),
        });
    };
    let main = paragraphs(&std::fs::read_to_string(file)?);
    let mut by_lang = Vec::new();
    for (lang, translated) in beside(file) {
        by_lang.push((
            lang.to_owned(),
            paragraphs(&std::fs::read_to_string(translated)?),
        ));
    }
    Ok(Terms { main, by_lang })
}

/// The translations of an organization's file that sit beside it, named by language
/// (`terms.es.txt` next to `terms.txt`): each language the pages are offered in whose file
/// exists.
pub fn beside(file: &Path) -> impl Iterator<Item = (&'static str, PathBuf)> + '_ {
    crate::registration::LANGUAGES
        .iter()
        .filter_map(move |(lang, _)| {
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let name = match file.extension().and_then(|e| e.to_str()) {
                Some(ext) => format!("{stem}.{lang}.{ext}"),
                None => format!("{stem}.{lang}"),
            };
            let translated = file.with_file_name(name);
            translated.is_file().then_some((*lang, translated))
        })
}
