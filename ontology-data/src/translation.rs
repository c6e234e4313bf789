//! Term names and synonyms in other languages, from the HPO Internationalization Effort's
//! files: `hp-<lang>.babelon.tsv` (translated labels, with a status: `OFFICIAL` ones are
//! shown as the term's name, others only help search) and, where there is one,
//! `hp-<lang>.synonyms.tsv` (translated synonyms; several in one cell are separated by
//! `|`). Columns are found by their header, since the files of each language order them
//! differently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, HpoId, Result, TermIdx};

/// Longest synonym kept (longer cells are sentences, not names).
const MAX_SYNONYM_CHARS: usize = 100;

/// One language's names and synonyms of the terms it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    /// The language code from the file name (`es`, `fr`, ...).
    pub lang: String,
    /// Term index → its official name in this language.
    names: BTreeMap<u32, String>,
    /// Term index → other names in this language (unofficial labels and synonyms).
    synonyms: BTreeMap<u32, Vec<String>>,
}

/// The texts of one language's files.
#[derive(Debug, Clone)]
pub struct TranslationTexts {
    /// The language code (`es`).
    pub lang: String,
    /// `hp-<lang>.babelon.tsv`.
    pub babelon: String,
    /// `hp-<lang>.synonyms.tsv`, if the language has one.
    pub synonyms: Option<String>,
}

impl Translation {
    /// The term's official name in this language.
    pub fn name(&self, t: TermIdx) -> Option<&str> {
        self.names.get(&t.0).map(String::as_str)
    }

    /// The term's other names in this language.
    pub fn synonyms(&self, t: TermIdx) -> &[String] {
        self.synonyms.get(&t.0).map_or(&[], Vec::as_slice)
    }

    /// How many terms have an official name in this language.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// How many synonyms this language has, in all.
    pub fn synonym_count(&self) -> usize {
        self.synonyms.values().map(Vec::len).sum()
    }

    /// Parses one language's files; `resolve` gives the live term of an HPO id (alternative
    /// and replaced ids resolve; unknown and obsolete ones are skipped).
    pub(crate) fn parse(
        texts: &TranslationTexts,
        resolve: impl Fn(HpoId) -> Option<TermIdx>,
    ) -> Result<Self> {
        let file = format!("hp-{}.babelon.tsv", texts.lang);
        let mut t = Self {
            lang: texts.lang.clone(),
            ..Self::default()
        };
        let rows = Table::parse(&texts.babelon, &file)?;
        let subject = rows.column("subject_id")?;
        let value = rows.column("translation_value")?;
        let predicate = rows.column("predicate_id").ok();
        let status = rows.column("translation_status").ok();
        for row in rows.rows() {
            if predicate.is_some_and(|p| cell(&row, p) != "rdfs:label") {
                continue;
            }
            let Some(term) = cell(&row, subject).parse().ok().and_then(&resolve) else {
                continue;
            };
            let text = cell(&row, value).trim();
            if text.is_empty() {
                continue;
            }
            let official = status.is_none_or(|s| cell(&row, s) == "OFFICIAL");
            if official && !t.names.contains_key(&term.0) {
                t.names.insert(term.0, text.to_owned());
            } else {
                t.add_synonym(term, text);
            }
        }
        if let Some(synonyms) = &texts.synonyms {
            let file = format!("hp-{}.synonyms.tsv", texts.lang);
            let rows = Table::parse(synonyms, &file)?;
            let subject = rows.column("subject_id")?;
            let value = rows.column("translation_value")?;
            let status = rows
                .column("Status")
                .or_else(|_| rows.column("translation_status"))
                .ok();
            for row in rows.rows() {
                if status.is_some_and(|s| cell(&row, s) == "NOT_TRANSLATED") {
                    continue;
                }
                let Some(term) = cell(&row, subject).parse().ok().and_then(&resolve) else {
                    continue;
                };
                for text in cell(&row, value).split('|') {
                    t.add_synonym(term, text.trim());
                }
            }
        }
        // A synonym equal to the name (ignoring case) adds nothing.
        for (term, list) in &mut t.synonyms {
            let name = t.names.get(term).map(|n| n.to_lowercase());
            list.retain(|s| name.as_deref() != Some(s.to_lowercase().as_str()));
        }
        t.synonyms.retain(|_, l| !l.is_empty());
        Ok(t)
    }

    fn add_synonym(&mut self, term: TermIdx, text: &str) {
        if text.is_empty() || text.chars().count() > MAX_SYNONYM_CHARS {
            return;
        }
        let list = self.synonyms.entry(term.0).or_default();
        let lower = text.to_lowercase();
        if !list.iter().any(|s| s.to_lowercase() == lower) {
            list.push(text.to_owned());
        }
    }
}

/// A tab-separated table with a header line (a second line of ROBOT template codes, as in
/// the synonyms files, is skipped).
struct Table<'a> {
    file: String,
    header: Vec<&'a str>,
    body: Vec<&'a str>,
}

impl<'a> Table<'a> {
    fn parse(text: &'a str, file: &str) -> Result<Self> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| Error::parse(file, 1, "empty file"))?
            .split('\t')
            .map(str::trim)
            .collect();
        let body = lines
            .filter(|l| !l.trim().is_empty() && !l.starts_with("ID\t"))
            .collect();
        Ok(Self {
            file: file.to_owned(),
            header,
            body,
        })
    }

    fn column(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| Error::parse(self.file.as_str(), 1, format!("no column {name}")))
    }

    fn rows(&self) -> impl Iterator<Item = Vec<&'a str>> + '_ {
        self.body.iter().map(|l| l.split('\t').collect())
    }
}

fn cell<'a>(row: &[&'a str], i: usize) -> &'a str {
    row.get(i).copied().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(id: HpoId) -> Option<TermIdx> {
        match id.to_string().as_str() {
            "HP:0001250" => Some(TermIdx(7)),
            "HP:0000256" => Some(TermIdx(3)),
            _ => None,
        }
    }

    #[test]
    fn columns_are_found_by_name_and_statuses_kept_apart() {
        let texts = TranslationTexts {
            lang: "fr".into(),
            babelon: "subject_id\tpredicate_id\ttranslation_status\ttranslation_value\n\
                HP:0001250\trdfs:label\tOFFICIAL\tÉpilepsie\n\
                HP:0001250\tIAO:0000115\tOFFICIAL\tUne définition.\n\
                HP:0001250\trdfs:label\tCANDIDATE\tCrises\n\
                HP:0000256\trdfs:label\tCANDIDATE\tGrosse tête\n\
                HP:9999999\trdfs:label\tOFFICIAL\tInconnu\n"
                .into(),
            synonyms: Some(
                "subject_id\ttranslation_value\tcomment\tStatus\n\
                 ID\tAL oboInOwl:hasExactSynonym@fr\t\t\n\
                 HP:0001250\tconvulsions|épilepsie|Épilepsie\t\tCANDIDATE\n\
                 HP:0000256\tmacrocéphalie\t\tNOT_TRANSLATED\n"
                    .into(),
            ),
        };
        let t = Translation::parse(&texts, resolve).expect("parse");
        assert_eq!(t.name(TermIdx(7)), Some("Épilepsie"));
        assert_eq!(t.synonyms(TermIdx(7)), ["Crises", "convulsions"]);
        assert_eq!(t.name(TermIdx(3)), None, "a candidate label is not a name");
        assert_eq!(t.synonyms(TermIdx(3)), ["Grosse tête"]);
        assert_eq!(t.name_count(), 1);
    }

    #[test]
    fn a_file_without_the_columns_is_refused() {
        let texts = TranslationTexts {
            lang: "xx".into(),
            babelon: "a\tb\nHP:0001250\tx\n".into(),
            synonyms: None,
        };
        let e = Translation::parse(&texts, resolve).expect_err("no columns");
        assert!(e.to_string().contains("subject_id"), "{e}");
    }
}
