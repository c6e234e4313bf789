//! Community questions: search latency over a few thousand questions (tantivy, with the
//! symptom expansion), against a plain scan of every question's text in the same run; and
//! the targeting evaluation (ranked feed vs newest first, told members vs random ones).
//!
//! `cargo bench -p raremesh --bench qa [-- <questions>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[allow(dead_code)] // shared with the tests
#[path = "../tests/it/pair.rs"]
mod pair;
#[allow(dead_code)]
#[path = "../tests/it/synapse.rs"]
mod synapse;

use std::time::{Duration, Instant};

use raremesh::config::Config;
use raremesh::qa::{Question, evaluate};
use raremesh_search::matching::simulate::Rng;

const EN: &[&str] = &[
    "seizures",
    "night",
    "sleep",
    "school",
    "therapy",
    "medication",
    "diet",
    "walking",
    "speech",
    "hearing",
    "feeding",
    "tube",
    "physiotherapy",
    "wheelchair",
    "doctor",
    "tired",
    "swimming",
    "holidays",
    "siblings",
    "insurance",
    "pain",
    "muscle",
    "tone",
    "glasses",
    "epilepsy",
    "melatonin",
    "ketogenic",
    "hospital",
    "waking",
    "crying",
    "teacher",
    "routine",
];
const ES: &[&str] = &[
    "convulsiones",
    "noche",
    "dormir",
    "escuela",
    "terapia",
    "medicamentos",
    "dieta",
    "caminar",
    "habla",
    "audición",
    "alimentación",
    "médico",
    "cansada",
    "natación",
    "vacaciones",
    "hermanos",
    "dolor",
    "músculos",
    "epilepsia",
    "hospital",
];
const FR: &[&str] = &[
    "crises",
    "nuit",
    "sommeil",
    "école",
    "thérapie",
    "médicaments",
    "régime",
    "marcher",
    "parole",
    "audition",
    "alimentation",
    "médecin",
    "fatiguée",
    "natation",
    "vacances",
    "frères",
    "douleur",
    "muscles",
    "épilepsie",
    "hôpital",
];

fn words(rng: &mut Rng, vocab: &[&str], n: usize) -> String {
    (0..n)
        .map(|_| vocab[rng.below(vocab.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, _) = raremesh::boot::boot(Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    })
    .expect("boot");
    // Members to tell about new questions: simulated validated patients (a few per member).
    let t = Instant::now();
    raremesh::demo::seed(
        &state,
        2000,
        "demo@example.org",
        "a long demo password",
        5,
        false,
    )
    .expect("seed");
    let members = state.registrations.members().expect("members").len();
    println!(
        "{members} members with 2000 validated patients seeded in {:.2?}",
        t.elapsed()
    );
    let o = &state.ontology;
    let used: Vec<_> = o
        .terms()
        .iter()
        .filter(|t| o.resolve(t.id).is_some_and(|i| o.disease_count(i) > 0))
        .map(|t| t.id)
        .collect();
    let mut rng = Rng::new(11);
    let mut questions = Vec::new();
    for i in 0..n {
        let (lang, vocab) = match rng.below(10) {
            0..=6 => ("en", EN),
            7 | 8 => ("es", ES),
            _ => ("fr", FR),
        };
        let tags = (0..1 + rng.below(3))
            .map(|_| used[rng.below(used.len())])
            .collect();
        let body_words = 60 + rng.below(120);
        let q = Question {
            id: format!("bench{i:08}"),
            account_id: format!("acct{}", rng.below(500)).into(),
            patient_id: None,
            title: words(&mut rng, vocab, 6),
            body: words(&mut rng, vocab, body_words),
            tags,
            disease: None,
            language: lang.into(),
            created_at: i as u64,
            author: "Teal Heron 1".into(),
            origin: None,
            room: None,
            event_id: None,
            edited_at: None,
            hidden: None,
            reports: Vec::new(),
            followers: Vec::new(),
        };
        state.qa.store.save_question(&q).expect("save");
        questions.push(q);
    }
    let t = Instant::now();
    let index = raremesh::qa::search::build(o, &state.qa.store).expect("index");
    let build = t.elapsed();
    // Queries: words of each language, two-word queries, symptom names, HPO ids.
    let mut queries: Vec<String> = Vec::new();
    for i in 0..1000 {
        queries.push(match i % 5 {
            0 => EN[rng.below(EN.len())].to_owned(),
            1 => words(&mut rng, EN, 2),
            2 => ES[rng.below(ES.len())].to_owned(),
            3 => FR[rng.below(FR.len())].to_owned(),
            _ => {
                let t = used[rng.below(used.len())];
                if i % 2 == 0 {
                    t.to_string()
                } else {
                    o.term(o.resolve(t).expect("t")).name.clone()
                }
            }
        });
    }
    let mut times = Vec::new();
    let mut hits = 0usize;
    for q in &queries {
        let t = Instant::now();
        hits += index
            .search(o, &state.autocomplete, q, 20)
            .expect("search")
            .len();
        times.push(t.elapsed());
    }
    times.sort();
    // The reference: a lowercase substring scan of every question for every query word.
    let mut scan = Vec::new();
    for q in &queries {
        let t = Instant::now();
        let wanted: Vec<String> = q
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let found = questions
            .iter()
            .filter(|x| {
                let text = format!("{} {}", x.title, x.body).to_lowercase();
                wanted.iter().any(|w| text.contains(w.as_str()))
            })
            .take(20)
            .count();
        std::hint::black_box(found);
        scan.push(t.elapsed());
    }
    scan.sort();
    println!("questions: {n} (en 70%, es 20%, fr 10%), index built in {build:.2?}");
    println!(
        "search, {} queries ({hits} hits): p50 {:.2?}  p95 {:.2?}  p99 {:.2?}  max {:.2?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    println!(
        "plain scan (reference): p50 {:.2?}  p99 {:.2?}; search p99 / scan p99 = {:.2}",
        percentile(&scan, 0.5),
        percentile(&scan, 0.99),
        percentile(&times, 0.99).as_secs_f64() / percentile(&scan, 0.99).as_secs_f64()
    );
    // A member's ranked feed over every question (what `/questions` computes).
    let reader = pair::member(
        &state,
        "reader@example.org",
        "Reader",
        &["HP:0001250", "HP:0001252", "HP:0001263"],
        false,
    );
    let m = state
        .registrations
        .member(&reader.account_id)
        .expect("m")
        .expect("m");
    let mut feed = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let ranked = raremesh::qa::actions::feed(&state.qa, &m).expect("feed");
        std::hint::black_box(ranked.len());
        feed.push(t.elapsed());
    }
    feed.sort();
    println!(
        "a member's ranked feed over {n} questions: median {:.2?}, max {:.2?} (21 runs)",
        feed[10], feed[20]
    );
    // Telling the likely helpers about a new question (done when it is asked or arrives).
    let mut told_times = Vec::new();
    for q in questions.iter().take(11) {
        let t = Instant::now();
        let mut batch = raremesh::store::Batch::new();
        let told = raremesh::qa::notices::target(&state.qa, &mut batch, q).expect("target");
        state.kv.apply(&batch).expect("notices");
        std::hint::black_box(told.len());
        told_times.push(t.elapsed());
    }
    told_times.sort();
    println!(
        "choosing whom to tell about a new question among {members} members: median {:.2?}, max {:.2?} (11 questions)",
        told_times[5], told_times[10]
    );
    println!();
    println!("targeting evaluation (members, questions, diseases, seed): ranked vs newest first");
    println!(
        "| members | questions | diseases | seed | P@5 ranked | P@5 newest | MRR ranked | MRR newest | told P@5 | random P@5 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (members, qs, diseases, seed) in [(200, 100, 20, 1), (200, 100, 20, 2), (400, 200, 40, 3)] {
        let e = evaluate::run(o, &state.ic, members, qs, diseases, seed);
        println!(
            "| {} | {} | {} | {seed} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            e.members,
            e.questions,
            e.diseases,
            e.ranked_precision_at_5,
            e.newest_precision_at_5,
            e.ranked_mrr,
            e.newest_mrr,
            e.told_precision_at_5,
            e.random_precision_at_5
        );
    }
}
