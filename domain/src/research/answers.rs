//! A patient's answers to a questionnaire: kept with the questionnaire's version, as a
//! draft until submitted, changeable afterwards.

use crate::ids::{AccountId, PatientId};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::questionnaire::{Kind, Questionnaire};
use crate::store::{Record, Tree};

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number (scale, number).
    Int(i64),
    /// Several options (multiple choice).
    List(Vec<String>),
    /// One option, or a date (`YYYY-MM-DD`).
    Text(String),
}

/// The answers of one patient to one questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// The questionnaire.
    pub questionnaire: String,
    /// Its version when last saved.
    pub version: u32,
    /// The member.
    pub account_id: AccountId,
    /// The patient.
    pub patient_id: PatientId,
    /// Question id → answer (unanswered questions are absent).
    pub values: BTreeMap<String, Value>,
    /// Submitted (a draft otherwise).
    pub submitted: bool,
    /// Last saved (Unix seconds).
    pub updated_at: u64,
}

impl Record for Answers {
    const TREE: Tree = Tree::Answers;
    const VERSION: u32 = 1;
}

/// The store key of a patient's answers.
pub fn key(account: &str, patient: &str, questionnaire: &str) -> Vec<u8> {
    format!("{account}/{patient}/{questionnaire}").into_bytes()
}

fn valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&y) && (1..=days).contains(&d) && s.len() == 10
}

/// Reads a form (pairs, repeated names for multiple choice; options are sent by their
/// number): the answers, or the questions at fault with a message.
pub fn parse(
    q: &Questionnaire,
    form: &[(String, String)],
) -> Result<BTreeMap<String, Value>, Vec<(String, &'static str)>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for question in &q.questions {
        let name = format!("q-{}", question.id);
        let given: Vec<&str> = form
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if given.is_empty() {
            continue;
        }
        let option = |v: &str| {
            v.parse::<usize>()
                .ok()
                .and_then(|i| question.options.get(i))
                .cloned()
        };
        let value = match question.kind {
            Kind::Single => match (given.len(), given.first().and_then(|v| option(v))) {
                (1, Some(o)) => Some(Value::Text(o)),
                _ => None,
            },
            Kind::Multiple => {
                let opts: Option<Vec<String>> = given.iter().map(|v| option(v)).collect();
                opts.map(|mut o| {
                    o.dedup();
                    Value::List(o)
                })
            }
            Kind::Number if question.decimals > 0 => given
                .first()
                .filter(|_| given.len() == 1)
                .and_then(|v| decimal(v, question.decimals))
                .filter(|(n, _)| {
                    question.min.is_none_or(|m| *n >= m as f64)
                        && question.max.is_none_or(|m| *n <= m as f64)
                })
                .map(|(_, text)| Value::Text(text)),
            Kind::Scale | Kind::Number => given
                .first()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|n| {
                    given.len() == 1
                        && question.min.is_none_or(|m| *n >= m)
                        && question.max.is_none_or(|m| *n <= m)
                })
                .map(Value::Int),
            Kind::Date => given
                .first()
                .filter(|v| given.len() == 1 && valid_date(v))
                .map(|v| Value::Text((*v).to_owned())),
        };
        match value {
            Some(v) => {
                values.insert(question.id.clone(), v);
            }
            None => errors.push((question.id.clone(), "research.error.answer")),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// A number with at most `decimals` digits after a decimal comma or point: its value and
/// its stored form (a point, no trailing zeros: `27,50` is `27.5`).
pub fn decimal(given: &str, decimals: u8) -> Option<(f64, String)> {
    let t = given.trim().replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = match whole.strip_prefix('-') {
        Some(w) => !w.is_empty() && digits(w),
        None => !whole.is_empty() && digits(whole),
    };
    if !whole_ok || !digits(frac) || frac.len() > usize::from(decimals) || t.ends_with('.') {
        return None;
    }
    let value: f64 = t.parse().ok()?;
    let frac = frac.trim_end_matches('0');
    let text = if frac.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{frac}")
    };
    Some((value, text))
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_take_a_comma_or_a_point() {
        assert_eq!(decimal("27,5", 1), Some((27.5, "27.5".into())));
        assert_eq!(decimal(" 27.5 ", 2), Some((27.5, "27.5".into())));
        assert_eq!(decimal("27,50", 2), Some((27.5, "27.5".into())));
        assert_eq!(decimal("27", 1), Some((27.0, "27".into())));
        assert_eq!(decimal("-3,25", 2), Some((-3.25, "-3.25".into())));
        for bad in [
            "27,55", "27,", ",5", "2 7", "27,5,1", "abc", "", "1e3", "27.5kg",
        ] {
            assert_eq!(decimal(bad, 1), None, "{bad}");
        }
    }
}
