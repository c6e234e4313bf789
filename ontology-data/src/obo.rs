//! A parser for the OBO 1.2 flat file format, limited to what HPO releases use.

use crate::term::{Synonym, SynonymScope};
use crate::{Error, HpoId, Result};

const FILE: &str = "hp.obo";

/// A `[Term]` stanza as written in the file.
#[derive(Debug, Default)]
pub(crate) struct RawTerm {
    pub id: u32,
    pub line: usize,
    pub name: String,
    pub definition: Option<String>,
    pub synonyms: Vec<Synonym>,
    /// Parent ids with the line they were given on.
    pub is_a: Vec<(u32, usize)>,
    pub alt_ids: Vec<u32>,
    pub obsolete: bool,
    pub replaced_by: Option<u32>,
}

/// The parsed file: its data version and its term stanzas.
#[derive(Debug)]
pub(crate) struct RawObo {
    pub data_version: String,
    pub terms: Vec<RawTerm>,
}

/// Parses an `hp.obo` text.
pub(crate) fn parse(text: &str) -> Result<RawObo> {
    let mut data_version = None;
    let mut terms = Vec::new();
    let mut current: Option<RawTerm> = None;
    let mut in_header = true;
    let mut in_term = false;
    let mut seen_format = false;

    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('!') {
            continue;
        }
        if line.starts_with('[') {
            if in_header && !seen_format {
                return Err(Error::parse(
                    FILE,
                    line_no,
                    "no format-version header: not an OBO file",
                ));
            }
            in_header = false;
            if let Some(t) = current.take() {
                terms.push(finish(t)?);
            }
            in_term = line == "[Term]";
            if in_term {
                current = Some(RawTerm {
                    line: line_no,
                    ..RawTerm::default()
                });
            }
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            return Err(Error::parse(
                FILE,
                line_no,
                format!("expected `tag: value`, found {:?}", short(line)),
            ));
        };
        let value = value.trim_start();
        if in_header {
            match tag {
                "format-version" => seen_format = true,
                "data-version" => data_version = Some(value.trim().to_owned()),
                _ => {}
            }
            if !seen_format {
                return Err(Error::parse(
                    FILE,
                    line_no,
                    "no format-version header: not an OBO file",
                ));
            }
            continue;
        }
        let Some(term) = current.as_mut().filter(|_| in_term) else {
            continue;
        };
        let err = |m: String| Error::parse(FILE, line_no, m);
        match tag {
            "id" => term.id = hp_number(value).map_err(|e| err(e.to_string()))?,
            "name" => term.name = value.trim().to_owned(),
            "def" => term.definition = Some(quoted(value).map_err(err)?.0),
            "synonym" => term.synonyms.push(synonym(value).map_err(err)?),
            "is_a" => {
                let target = value.split_whitespace().next().unwrap_or_default();
                term.is_a
                    .push((hp_number(target).map_err(|e| err(e.to_string()))?, line_no));
            }
            "alt_id" => term
                .alt_ids
                .push(hp_number(value).map_err(|e| err(e.to_string()))?),
            "is_obsolete" => term.obsolete = value.trim() == "true",
            "replaced_by" => {
                term.replaced_by = Some(hp_number(value).map_err(|e| err(e.to_string()))?)
            }
            _ => {}
        }
    }
    if let Some(t) = current.take() {
        terms.push(finish(t)?);
    }
    if !seen_format {
        return Err(Error::parse(
            FILE,
            0,
            "empty file or no format-version header",
        ));
    }
    let data_version =
        data_version.ok_or_else(|| Error::parse(FILE, 0, "no data-version header"))?;
    if terms.is_empty() {
        return Err(Error::parse(FILE, 0, "no [Term] stanza"));
    }
    Ok(RawObo {
        data_version,
        terms,
    })
}

fn finish(t: RawTerm) -> Result<RawTerm> {
    if t.id == 0 && t.name.is_empty() {
        return Err(Error::parse(FILE, t.line, "[Term] stanza without id"));
    }
    if t.name.is_empty() {
        return Err(Error::parse(
            FILE,
            t.line,
            format!("{} has no name", HpoId::from_number(t.id)),
        ));
    }
    Ok(t)
}

fn hp_number(s: &str) -> Result<u32> {
    s.trim().parse::<HpoId>().map(HpoId::number)
}

/// Reads a double-quoted OBO string with its escapes; returns it and the rest of the line.
fn quoted(value: &str) -> std::result::Result<(String, &str), String> {
    let body = value
        .strip_prefix('"')
        .ok_or_else(|| format!("expected a quoted string, found {:?}", short(value)))?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'W')) => out.push(' '),
                Some((_, other)) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("unterminated quoted string".to_owned())
}

/// `"text" SCOPE [TYPE] [refs]`
fn synonym(value: &str) -> std::result::Result<Synonym, String> {
    let (text, rest) = quoted(value)?;
    let mut words = rest.split_whitespace();
    let scope = match words.next() {
        Some("EXACT") => SynonymScope::Exact,
        Some("BROAD") => SynonymScope::Broad,
        Some("NARROW") => SynonymScope::Narrow,
        Some("RELATED") => SynonymScope::Related,
        other => return Err(format!("unknown synonym scope {other:?}")),
    };
    let layperson = words.next() == Some("layperson");
    Ok(Synonym {
        text,
        scope,
        layperson,
    })
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "format-version: 1.2\ndata-version: hp/releases/test\n\n[Term]\nid: HP:0000001\nname: All\n\n[Term]\nid: HP:0000002\nname: Child\ndef: \"A \\\"quoted\\\" def.\" [PMID:1]\nsynonym: \"Kid\" EXACT layperson []\nsynonym: \"Offspring\" BROAD []\nis_a: HP:0000001 ! All\nalt_id: HP:0000003\n\n[Term]\nid: HP:0000004\nname: obsolete old\nis_obsolete: true\nreplaced_by: HP:0000002\n\n[Typedef]\nid: part_of\nname: part of\n";

    #[test]
    fn parses_a_small_release() -> Result<()> {
        let obo = parse(SAMPLE)?;
        assert_eq!(obo.data_version, "hp/releases/test");
        assert_eq!(obo.terms.len(), 3);
        let child = &obo.terms[1];
        assert_eq!(child.definition.as_deref(), Some("A \"quoted\" def."));
        assert_eq!(child.synonyms.len(), 2);
        assert!(child.synonyms[0].layperson && !child.synonyms[1].layperson);
        assert_eq!(child.is_a, vec![(1, 14)]);
        assert_eq!(child.alt_ids, vec![3]);
        assert!(obo.terms[2].obsolete);
        assert_eq!(obo.terms[2].replaced_by, Some(2));
        Ok(())
    }

    #[test]
    fn rejects_what_is_not_obo() {
        for (text, want) in [
            ("", "empty file"),
            ("hello\n", "expected `tag: value`"),
            ("[Term]\nid: HP:0000001\n", "no format-version"),
            (
                "format-version: 1.2\n[Term]\nid: HP:0000001\nname: x\n",
                "no data-version",
            ),
            (
                "format-version: 1.2\ndata-version: x\n[Term]\nid: HP:1\nname: x\n",
                "not an HPO term id",
            ),
            (
                "format-version: 1.2\ndata-version: x\n[Term]\nid: HP:0000001\n",
                "has no name",
            ),
            (
                "format-version: 1.2\ndata-version: x\n[Term]\nid: HP:0000001\nname: x\ndef: \"open\n",
                "unterminated",
            ),
        ] {
            match parse(text) {
                Err(e) => assert!(e.to_string().contains(want), "{e} should mention {want}"),
                Ok(_) => panic!("{text:?} should fail"),
            }
        }
    }
}
