//! How likely a member is to help with a question.

use raremesh_search::matching::{Matcher, Measure, Prepared, Profile};

use super::Question;
use super::Service;
use crate::registration::patient::Patient;

/// The profile of a question's tags (none without symptom tags).
pub fn question_profile(qa: &Service, q: &Question) -> Option<Profile> {
    Profile::new(&qa.ontology, &q.tags, &[], q.disease).ok()
}

/// What ranking a member's feed needs about the member, computed once per feed.
pub struct Helper {
    /// The profiles of the member's validated patients, prepared once: each question is
    /// then scored against them in reverse (`Matcher::score_reverse`), which gives the
    /// score the question's profile would give them, without preparing every question.
    profiles: Vec<Prepared>,
    /// The member's language.
    language: String,
    /// Helpful marks and accepted answers the member's answers received.
    helpfulness: u32,
}

impl Helper {
    /// The member with these patients, language and helpfulness.
    pub fn new(qa: &Service, patients: &[Patient], language: &str, helpfulness: u32) -> Self {
        let matcher = Matcher::new(&qa.ontology, &qa.ic, Measure::default());
        Self {
            profiles: patients
                .iter()
                .filter(|p| p.validation.is_approved())
                .filter_map(|p| p.profile(&qa.ontology))
                .map(|p| matcher.prepare(&p))
                .collect(),
            language: language.to_owned(),
            helpfulness,
        }
    }
}

/// How likely a member is to help with a question, from 0 to about 1.2: the similarity of
/// their validated patients to the question's tags (weight 0.5) and to the asker's patient
/// (0.3), their helpful answers so far (up to 0.2), and the language (0.1).
pub fn helper_score(qa: &Service, q: &Question, helper: &Helper) -> f32 {
    let matcher = Matcher::new(&qa.ontology, &qa.ic, Measure::default());
    let best = |query: &Profile| -> f32 {
        helper
            .profiles
            .iter()
            .map(|c| matcher.score_reverse(c, query))
            .fold(0.0, f32::max)
    };
    let tags = question_profile(qa, q).map_or(0.0, |p| best(&p));
    let asker = q
        .patient_id
        .as_ref()
        .and_then(|id| qa.patients.get(&q.account_id, id).ok().flatten())
        .and_then(|p| p.profile(&qa.ontology))
        .map_or(0.0, |p| best(&p));
    combine(
        tags,
        asker,
        helper.helpfulness,
        q.language == helper.language,
    )
}

/// The weighted sum behind [`helper_score`]: similarity to the question's tags and to the
/// asker's patient (0 to 1 each), helpful marks received so far, same language.
pub fn combine(tags: f32, asker: f32, helpfulness: u32, same_language: bool) -> f32 {
    let helped = (helpfulness.min(10) as f32) / 10.0;
    0.5 * tags + 0.3 * asker + 0.2 * helped + if same_language { 0.1 } else { 0.0 }
}

/// Scores many members for one question: the question's profiles are prepared once, and
/// each member's patients are scored as candidates (what telling the likely helpers about
/// a new question needs).
pub struct QuestionScorer<'a> {
    matcher: Matcher<'a>,
    tags: Option<Prepared>,
    asker: Option<Prepared>,
    language: String,
}

impl<'a> QuestionScorer<'a> {
    /// A scorer for `q`.
    pub fn new(qa: &'a Service, q: &Question) -> Self {
        let matcher = Matcher::new(&qa.ontology, &qa.ic, Measure::default());
        let asker = q
            .patient_id
            .as_ref()
            .and_then(|id| qa.patients.get(&q.account_id, id).ok().flatten())
            .and_then(|p| p.profile(&qa.ontology));
        Self {
            tags: question_profile(qa, q).map(|p| matcher.prepare(&p)),
            asker: asker.map(|p| matcher.prepare(&p)),
            language: q.language.clone(),
            matcher,
        }
    }

    /// The score of [`helper_score`] for a member with these validated patients'
    /// profiles, helpfulness and language.
    pub fn score(&self, profiles: &[Profile], helpfulness: u32, language: &str) -> f32 {
        let best = |p: &Option<Prepared>| {
            p.as_ref().map_or(0.0, |p| {
                profiles
                    .iter()
                    .map(|c| self.matcher.score(p, c))
                    .fold(0.0, f32::max)
            })
        };
        combine(
            best(&self.tags),
            best(&self.asker),
            helpfulness,
            language == self.language,
        )
    }
}
