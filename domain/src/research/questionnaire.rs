//! Questionnaires: defined by admins in TOML files, checked at start-up with errors that
//! name the file and the key.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A questionnaire.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    /// A short id (`daily-life`): lowercase letters, digits, `-`; unique.
    pub id: String,
    /// Raised by the admin when questions change; answers keep the version they were
    /// given under.
    pub version: u32,
    /// The title members see.
    pub title: String,
    /// A sentence about what it is for.
    #[serde(default)]
    pub description: String,
    /// Disease group ids (from `[research]`) it is for; empty: every patient.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The questions, in order.
    pub questions: Vec<Question>,
    /// The language the file is written in (`en` unless said); answers are kept in it.
    #[serde(default = "english")]
    pub language: String,
    /// The title and description in other languages, by language code (`[translations.es]`).
    #[serde(default)]
    pub translations: BTreeMap<String, QuestionnaireText>,
}

fn english() -> String {
    "en".to_owned()
}

/// A questionnaire's title and description in another language.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireText {
    /// The title.
    pub title: String,
    /// The description.
    #[serde(default)]
    pub description: String,
}

/// A question's words in another language; the options and the scale's words in the same
/// order as the question's own (an answer is kept as the question's own option).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionText {
    /// The question.
    pub text: String,
    /// The choices, in the same order.
    #[serde(default)]
    pub options: Vec<String>,
    /// The scale's words, in the same order.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// A question.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// A short id, unique in the questionnaire.
    pub id: String,
    /// The question.
    pub text: String,
    /// What kind of answer.
    pub kind: Kind,
    /// The choices (single and multiple choice).
    #[serde(default)]
    pub options: Vec<String>,
    /// The smallest value (scale, number).
    #[serde(default)]
    pub min: Option<i64>,
    /// The largest value (scale, number).
    #[serde(default)]
    pub max: Option<i64>,
    /// Words for the ends of a scale, e.g. `["Not at all", "Very much"]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The unit of a number (`kg`).
    #[serde(default)]
    pub unit: String,
    /// Digits a number may have after the decimal separator (0 to 3; 0: a whole number).
    /// Members write either separator (`27,5` or `27.5`).
    #[serde(default)]
    pub decimals: u8,
    /// The question in other languages, by language code (`[questions.translations.es]`).
    #[serde(default)]
    pub translations: BTreeMap<String, QuestionText>,
}

/// The kinds of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One of the options.
    Single,
    /// Any of the options.
    Multiple,
    /// A whole number from `min` to `max`, with words at the ends.
    Scale,
    /// A number from `min` to `max` (whole unless the question allows `decimals`).
    Number,
    /// A date (year, month, day).
    Date,
}

/// A problem in a questionnaire file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {message}")]
pub struct DefinitionError {
    /// The file.
    pub file: String,
    /// The key at fault (`questions[2].options`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn short_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A questionnaire as a member reads it in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The questionnaire with its words in that language where it has them (ids, kinds,
    /// ranges and the order of options unchanged).
    pub questionnaire: Questionnaire,
    /// Whether every word is in that language (otherwise some are in the file's own).
    pub complete: bool,
}

impl Questionnaire {
    /// The questionnaire in `lang`: its translation where there is one, its own words
    /// elsewhere. Answers are still read and kept against `self`.
    pub fn shown_in(&self, lang: &str) -> Shown {
        let mut q = self.clone();
        if lang == self.language {
            return Shown {
                questionnaire: q,
                complete: true,
            };
        }
        let mut complete = true;
        match self.translations.get(lang) {
            Some(t) => {
                q.title = t.title.clone();
                q.description = t.description.clone();
            }
            None => complete = false,
        }
        for x in &mut q.questions {
            let Some(t) = x.translations.get(lang).cloned() else {
                complete = false;
                continue;
            };
            x.text = t.text;
            if t.options.len() == x.options.len() {
                x.options = t.options;
            } else {
                complete = false;
            }
            if t.labels.len() == x.labels.len() {
                x.labels = t.labels;
            } else {
                complete = false;
            }
            if let Some(u) = t.unit {
                x.unit = u;
            }
        }
        Shown {
            questionnaire: q,
            complete,
        }
    }
}

impl Questionnaire {
    /// Checks a parsed questionnaire; `groups` are the known group ids.
    pub fn check(&self, groups: &HashSet<&str>) -> Result<(), (String, String)> {
        let bad = |k: &str, m: &str| Err((k.to_owned(), m.to_owned()));
        if !short_id(&self.id) {
            return bad("id", "must be 1 to 40 lowercase letters, digits, - or _");
        }
        if self.version == 0 {
            return bad("version", "must be 1 or more");
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return bad("title", "must be 1 to 200 characters");
        }
        for (i, g) in self.groups.iter().enumerate() {
            if !groups.contains(g.as_str()) {
                return Err((
                    format!("groups[{i}]"),
                    format!("{g:?} is not a group of [[research.groups]]"),
                ));
            }
        }
        if self.questions.is_empty() {
            return bad("questions", "needs at least one question");
        }
        let lang_ok = |l: &str| {
            (2..=8).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        };
        if !lang_ok(&self.language) {
            return bad("language", "must be a language code such as en, es or fr");
        }
        for (l, t) in &self.translations {
            if !lang_ok(l) {
                return Err((format!("translations.{l}"), "not a language code".into()));
            }
            if t.title.trim().is_empty() || t.title.chars().count() > 200 {
                return Err((
                    format!("translations.{l}.title"),
                    "must be 1 to 200 characters".into(),
                ));
            }
        }
        let mut ids = HashSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let key = |k: &str| format!("questions[{i}].{k}");
            if !short_id(&q.id) {
                return Err((
                    key("id"),
                    "must be 1 to 40 lowercase letters, digits, - or _".into(),
                ));
            }
            if !ids.insert(q.id.as_str()) {
                return Err((key("id"), format!("{:?} is used twice", q.id)));
            }
            if q.text.trim().is_empty() || q.text.chars().count() > 500 {
                return Err((key("text"), "must be 1 to 500 characters".into()));
            }
            for (l, t) in &q.translations {
                let tkey = |k: &str| key(&format!("translations.{l}.{k}"));
                if !lang_ok(l) {
                    return Err((
                        key(&format!("translations.{l}")),
                        "not a language code".into(),
                    ));
                }
                if t.text.trim().is_empty() || t.text.chars().count() > 500 {
                    return Err((tkey("text"), "must be 1 to 500 characters".into()));
                }
                if !t.options.is_empty() && t.options.len() != q.options.len() {
                    return Err((
                        tkey("options"),
                        format!(
                            "has {} options; the question has {}, in the same order",
                            t.options.len(),
                            q.options.len()
                        ),
                    ));
                }
                if !t.labels.is_empty() && t.labels.len() != q.labels.len() {
                    return Err((
                        tkey("labels"),
                        format!(
                            "has {} words; the question has {}",
                            t.labels.len(),
                            q.labels.len()
                        ),
                    ));
                }
            }
            match q.kind {
                Kind::Single | Kind::Multiple => {
                    if q.options.len() < 2 || q.options.len() > 30 {
                        return Err((
                            key("options"),
                            "a choice question needs 2 to 30 options".into(),
                        ));
                    }
                    let distinct: HashSet<&String> = q.options.iter().collect();
                    if distinct.len() != q.options.len()
                        || q.options.iter().any(|o| o.trim().is_empty())
                    {
                        return Err((
                            key("options"),
                            "options must be distinct and not empty".into(),
                        ));
                    }
                }
                Kind::Scale | Kind::Number => {
                    let (Some(min), Some(max)) = (q.min, q.max) else {
                        return Err((key("min"), "a scale or number needs min and max".into()));
                    };
                    if min >= max {
                        return Err((key("max"), format!("{max} is not more than min ({min})")));
                    }
                    if q.decimals > 3 || (q.decimals > 0 && q.kind == Kind::Scale) {
                        return Err((
                            key("decimals"),
                            "a number may have 0 to 3 decimals; a scale none".into(),
                        ));
                    }
                    if q.kind == Kind::Scale && max - min > 20 {
                        return Err((key("max"), "a scale has at most 21 steps".into()));
                    }
                    if !q.options.is_empty() {
                        return Err((key("options"), "only choice questions have options".into()));
                    }
                }
                Kind::Date => {
                    if !q.options.is_empty() {
                        return Err((key("options"), "only choice questions have options".into()));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads and checks every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path, groups: &HashSet<&str>) -> Result<Vec<Questionnaire>, DefinitionError> {
    let err = |file: &str, key: &str, message: String| DefinitionError {
        file: file.to_owned(),
        key: key.to_owned(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        err(
            &dir.display().to_string(),
            "research.questionnaires_dir",
            e.to_string(),
        )
    })?;
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out: Vec<Questionnaire> = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| err(&name, "", e.to_string()))?;
        let de = toml::Deserializer::parse(&text).map_err(|e| err(&name, "", e.to_string()))?;
        let q: Questionnaire = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let message = e.inner().message().to_owned();
            err(&name, if key == "." { "" } else { &key }, message)
        })?;
        q.check(groups)
            .map_err(|(key, message)| err(&name, &key, message))?;
        if out.iter().any(|o| o.id == q.id) {
            return Err(err(
                &name,
                "id",
                format!("{:?} is the id of another questionnaire", q.id),
            ));
        }
        out.push(q);
    }
    Ok(out)
}
