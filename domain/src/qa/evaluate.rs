//! A small evaluation of question targeting on simulated members and questions: does
//! ranking each member's feed by [`super::combine`] put the questions they can help with
//! first more often than "newest first"? And do the members told about a question
//! ([`super::notices::target`]'s choice) help more often than members picked at random?
//!
//! The simulation: members are patients of a few dozen ORPHA diseases, drawn from the
//! diseases' HPO annotations with vague entries (half the terms replaced by ancestors);
//! each question is asked by one of them, tagged with two to four symptoms of another
//! simulated patient of the same disease; a member *can help* when their patient has the
//! asker's disease. Languages and past helpfulness vary at random, as they would.

use raremesh_ontology::Ontology;
use raremesh_search::matching::simulate::{Condition, Rng, Simulator};
use raremesh_search::matching::{IcTable, Matcher, Measure, Profile};

use super::combine;

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Simulated members.
    pub members: usize,
    /// Simulated questions.
    pub questions: usize,
    /// Diseases drawn from.
    pub diseases: usize,
    /// Share of the top five of a feed that the member can help with: ranked.
    pub ranked_precision_at_5: f64,
    /// The same, newest first.
    pub newest_precision_at_5: f64,
    /// Mean reciprocal rank of the first question the member can help with: ranked.
    pub ranked_mrr: f64,
    /// The same, newest first.
    pub newest_mrr: f64,
    /// Share of the five members told about a question who can help: ranked.
    pub told_precision_at_5: f64,
    /// The same for five members picked at random.
    pub random_precision_at_5: f64,
}

struct Member {
    disease: usize,
    profile: Profile,
    language: usize,
    helpfulness: u32,
}

struct Asked {
    asker: usize,
    tags: Profile,
    language: usize,
}

/// Runs the evaluation with `members` members, `questions` questions, over `diseases`
/// diseases, from `seed`.
#[allow(clippy::needless_range_loop)]
pub fn run(
    ontology: &Ontology,
    ic: &IcTable,
    members: usize,
    questions: usize,
    diseases: usize,
    seed: u64,
) -> Evaluation {
    let sim = Simulator::new(ontology);
    let mut rng = Rng::new(seed);
    let pool: Vec<_> = ontology
        .diseases()
        .iter()
        .filter(|d| d.annotations.len() >= 8)
        .collect();
    let mut chosen = Vec::new();
    while chosen.len() < diseases.min(pool.len()) {
        let d = rng.below(pool.len());
        if !chosen.contains(&d) {
            chosen.push(d);
        }
    }
    let language = |rng: &mut Rng| match rng.below(10) {
        0..=6 => 0,
        7 | 8 => 1,
        _ => 2,
    };
    let mut people = Vec::new();
    while people.len() < members {
        let disease = rng.below(chosen.len());
        let Some(profile) = sim.patient(pool[chosen[disease]], Condition::Imprecise, &mut rng)
        else {
            continue;
        };
        let helpfulness = if rng.chance(300) {
            rng.below(12) as u32
        } else {
            0
        };
        people.push(Member {
            disease,
            profile,
            language: language(&mut rng),
            helpfulness,
        });
    }
    let mut asked = Vec::new();
    while asked.len() < questions {
        let asker = rng.below(people.len());
        let Some(p) = sim.patient(
            pool[chosen[people[asker].disease]],
            Condition::Imprecise,
            &mut rng,
        ) else {
            continue;
        };
        let n = 2 + rng.below(3);
        let mut terms = p.observed().to_vec();
        while terms.len() > n {
            terms.remove(rng.below(terms.len()));
        }
        asked.push(Asked {
            asker,
            tags: Profile::from_terms(terms, Vec::new(), None),
            language: people[asker].language,
        });
    }
    let matcher = Matcher::new(ontology, ic, Measure::default());
    let prepared_tags: Vec<_> = asked.iter().map(|q| matcher.prepare(&q.tags)).collect();
    let prepared_askers: Vec<_> = people.iter().map(|m| matcher.prepare(&m.profile)).collect();
    // score[q][m]: how likely member m is to help with question q.
    let score: Vec<Vec<f32>> = asked
        .iter()
        .enumerate()
        .map(|(qi, q)| {
            people
                .iter()
                .map(|m| {
                    combine(
                        matcher.score(&prepared_tags[qi], &m.profile),
                        matcher.score(&prepared_askers[q.asker], &m.profile),
                        m.helpfulness,
                        m.language == q.language,
                    )
                })
                .collect()
        })
        .collect();
    let helps = |qi: usize, mi: usize| people[mi].disease == people[asked[qi].asker].disease;
    let (mut rp, mut np, mut rm, mut nm, mut counted) = (0.0, 0.0, 0.0, 0.0, 0usize);
    for mi in 0..people.len() {
        let feed: Vec<usize> = (0..asked.len()).filter(|&q| asked[q].asker != mi).collect();
        if !feed.iter().any(|&q| helps(q, mi)) {
            continue;
        }
        counted += 1;
        let mut ranked = feed.clone();
        ranked.sort_by(|&a, &b| score[b][mi].total_cmp(&score[a][mi]).then(b.cmp(&a)));
        // Questions were asked in index order: the newest is the last.
        let newest: Vec<usize> = feed.iter().rev().copied().collect();
        for (list, p, m) in [(&ranked, &mut rp, &mut rm), (&newest, &mut np, &mut nm)] {
            *p += list.iter().take(5).filter(|&&q| helps(q, mi)).count() as f64 / 5.0;
            if let Some(r) = list.iter().position(|&q| helps(q, mi)) {
                *m += 1.0 / (r + 1) as f64;
            }
        }
    }
    let (mut told, mut random) = (0.0, 0.0);
    for (qi, q) in asked.iter().enumerate() {
        let mut others: Vec<usize> = (0..people.len()).filter(|&m| m != q.asker).collect();
        others.sort_by(|&a, &b| score[qi][b].total_cmp(&score[qi][a]));
        told += others.iter().take(5).filter(|&&m| helps(qi, m)).count() as f64 / 5.0;
        let mut hits = 0;
        for _ in 0..5 {
            let m = others[rng.below(others.len())];
            hits += usize::from(helps(qi, m));
        }
        random += hits as f64 / 5.0;
    }
    let c = counted.max(1) as f64;
    let nq = asked.len().max(1) as f64;
    Evaluation {
        members: people.len(),
        questions: asked.len(),
        diseases: chosen.len(),
        ranked_precision_at_5: rp / c,
        newest_precision_at_5: np / c,
        ranked_mrr: rm / c,
        newest_mrr: nm / c,
        told_precision_at_5: told / nq,
        random_precision_at_5: random / nq,
    }
}
