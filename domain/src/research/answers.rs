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
            Kind::Scale | Kind::Number => given
                .first()
                .and_then(|v| v.parse::<i64>().ok())
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
