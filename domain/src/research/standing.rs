//! "Where I stand": for each question, how comparable patients answered, with the
//! patient's own answer marked; shown only when at least `k` patients answered it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::Research;
use super::answers::{Answers, Value};
use super::questionnaire::{Kind, Question};
use crate::registration::patient::{Diagnosis, Patient};

/// One bar of a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    /// What it counts.
    pub label: String,
    /// How many patients.
    pub count: u32,
    /// Whether it holds the patient's own answer.
    pub mine: bool,
    /// Its length in the chart, 0 to 300.
    pub width: u32,
}

/// One question's distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The question's id.
    pub id: String,
    /// The question.
    pub text: String,
    /// How many comparable patients answered it.
    pub answered: u32,
    /// Whether it is shown (at least `k` answered).
    pub shown: bool,
    /// The bars (empty when not shown).
    pub bars: Vec<Bar>,
    /// A sentence for screen readers and the chart's text alternative.
    pub summary: String,
}

fn labels(q: &Question, v: &Value) -> Vec<String> {
    match (q.kind, v) {
        (Kind::Single, Value::Text(t)) => vec![t.clone()],
        (Kind::Multiple, Value::List(l)) => l.clone(),
        (Kind::Scale, Value::Int(n)) => vec![n.to_string()],
        (Kind::Number, Value::Int(_) | Value::Text(_)) => {
            let n = match v {
                Value::Int(n) => *n,
                // A decimal answer counts in the bin of its whole part.
                Value::Text(t) => match t.parse::<f64>() {
                    Ok(x) => x.floor() as i64,
                    Err(_) => return Vec::new(),
                },
                Value::List(_) => return Vec::new(),
            };
            let (min, max) = (q.min.unwrap_or(0), q.max.unwrap_or(1));
            let width = ((max - min) / 5).max(1);
            let bin = ((n - min) / width).min(4);
            let lo = min + bin * width;
            let hi = if bin == 4 { max } else { lo + width - 1 };
            vec![format!(
                "{lo}–{hi}{}",
                if q.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", q.unit)
                }
            )]
        }
        (Kind::Date, Value::Text(t)) => vec![t.chars().take(4).collect()],
        _ => Vec::new(),
    }
}

fn categories(q: &Question) -> Vec<String> {
    match q.kind {
        Kind::Single | Kind::Multiple => q.options.clone(),
        Kind::Scale => (q.min.unwrap_or(0)..=q.max.unwrap_or(0))
            .map(|n| n.to_string())
            .collect(),
        Kind::Number => {
            let (min, max) = (q.min.unwrap_or(0), q.max.unwrap_or(1));
            (0..5)
                .filter_map(|b| labels(q, &Value::Int(min + b * ((max - min) / 5).max(1))).pop())
                .collect()
        }
        Kind::Date => Vec::new(),
    }
}

/// A test on patients.
pub type Filter<'a> = Box<dyn Fn(&Patient) -> bool + 'a>;

/// Who a patient is compared with, in words (a catalogue message), and the test for it.
pub fn comparable<'a>(
    research: &'a Research,
    ontology: &'a raremesh_ontology::Ontology,
    own: &Patient,
) -> (crate::message::Message, Filter<'a>) {
    use crate::message::Message;
    match own.diagnosis {
        Diagnosis::Orpha { code } => match research.group_of(code) {
            Some(g) => {
                let name = g.name.clone();
                (
                    Message::new("research.compared_group").with("group", name),
                    Box::new(
                        move |p: &Patient| matches!(p.diagnosis, Diagnosis::Orpha { code: c } if g.orpha.contains(&c.number())),
                    ),
                )
            }
            None => (
                Message::new("research.compared_disease").with(
                    "disease",
                    ontology
                        .disease(code)
                        .map_or_else(|| code.to_string(), |d| d.name.clone()),
                ),
                Box::new(
                    move |p: &Patient| matches!(p.diagnosis, Diagnosis::Orpha { code: c } if c == code),
                ),
            ),
        },
        _ => (
            Message::new("research.compared_all"),
            Box::new(|_: &Patient| true),
        ),
    }
}

/// The distributions of a questionnaire's questions among `others` (submitted answers of
/// comparable patients, the patient's own included), with `own` marked.
pub fn standings(
    k: u32,
    questions: &[Question],
    own: &Answers,
    others: &[&Answers],
) -> Vec<Standing> {
    questions
        .iter()
        .map(|q| {
            let mut counts: BTreeMap<String, u32> =
                categories(q).into_iter().map(|c| (c, 0)).collect();
            let order: HashMap<String, usize> = categories(q)
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c, i))
                .collect();
            let mut answered = 0;
            for a in others {
                if let Some(v) = a.values.get(&q.id) {
                    answered += 1;
                    for l in labels(q, v) {
                        *counts.entry(l).or_default() += 1;
                    }
                }
            }
            let mine: Vec<String> = own
                .values
                .get(&q.id)
                .map(|v| labels(q, v))
                .unwrap_or_default();
            let shown = answered >= k;
            let max = counts.values().copied().max().unwrap_or(0).max(1);
            let mut bars: Vec<Bar> = if shown {
                counts
                    .iter()
                    .map(|(label, &count)| Bar {
                        label: label.clone(),
                        count,
                        mine: mine.contains(label),
                        width: count * 300 / max,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            bars.sort_by_key(|b| order.get(&b.label).copied().unwrap_or(usize::MAX));
            let summary = if shown {
                let parts: Vec<String> = bars
                    .iter()
                    .map(|b| {
                        format!(
                            "{}: {}{}",
                            b.label,
                            b.count,
                            if b.mine { " (your answer)" } else { "" }
                        )
                    })
                    .collect();
                format!("{answered} patients answered. {}.", parts.join("; "))
            } else {
                format!("Fewer than {k} comparable patients answered: not shown, to protect them.")
            };
            Standing {
                id: q.id.clone(),
                text: q.text.clone(),
                answered,
                shown,
                bars,
                summary,
            }
        })
        .collect()
}
