//! `raremesh match` through the real binary: output format, ranking, bad lines, --strict.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_raremesh");

fn run(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("match")
        .args(args)
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", dir.join("data"))
        .output()
        .expect("run raremesh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CANDIDATES: &str = r#"{"id": "marfan-like", "terms": ["HP:0001166", "HP:0001519", "HP:0001083", "HP:0002650"]}
{"id": "epilepsy", "terms": ["HP:0001250", "HP:0001263"], "excluded": ["HP:0000256"]}

{"id": "alt-ids", "terms": ["HP:0005491", "HP:0001250"]}
"#;

const QUERIES: &str = r#"{"id": "q-marfan", "terms": ["HP:0002650", "HP:0001166", "HP:0000098"]}
{"id": "q-seizures", "terms": ["HP:0001250"], "excluded": []}
"#;

fn files(dir: &std::path::Path, candidates: &str, queries: &str) -> (String, String) {
    let c = dir.join("c.jsonl");
    let q = dir.join("q.jsonl");
    std::fs::write(&c, candidates).expect("write");
    std::fs::write(&q, queries).expect("write");
    (c.display().to_string(), q.display().to_string())
}

#[test]
fn ranks_and_writes_one_line_per_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (c, q) = files(dir.path(), CANDIDATES, QUERIES);
    let (ok, out, err) = run(
        dir.path(),
        &["--candidates", &c, "--queries", &q, "--top", "2"],
    );
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["query"], "q-marfan");
    assert_eq!(lines[0]["results"][0]["id"], "marfan-like");
    assert_eq!(lines[0]["results"].as_array().map(Vec::len), Some(2));
    let scores: Vec<f64> = lines[0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["score"].as_f64())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first");
    assert_eq!(lines[1]["query"], "q-seizures");
    assert!(
        ["epilepsy", "alt-ids"]
            .contains(&lines[1]["results"][0]["id"].as_str().unwrap_or_default())
    );
    assert!(err.contains("ranked 3 candidates for 2 queries"), "{err}");
}

#[test]
fn every_measure_and_explanations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (c, q) = files(dir.path(), CANDIDATES, QUERIES);
    for measure in [
        "raremesh",
        "resnik-bma",
        "lin-funsimavg",
        "jc-funsimmax",
        "graphic-bma",
        "jaccard",
        "simgic",
    ] {
        let (ok, out, err) = run(
            dir.path(),
            &["--candidates", &c, "--queries", &q, "--measure", measure],
        );
        assert!(ok, "{measure}: {err}");
        assert_eq!(out.lines().count(), 2, "{measure}");
    }
    let (ok, out, _) = run(
        dir.path(),
        &[
            "--candidates",
            &c,
            "--queries",
            &q,
            "--explain",
            "3",
            "--top",
            "1",
        ],
    );
    assert!(ok);
    let first: Value = serde_json::from_str(out.lines().next().expect("line")).expect("json");
    let why = &first["results"][0]["why"];
    assert!(why.as_array().is_some_and(|w| !w.is_empty()), "{first}");
    assert_eq!(why[0]["shared_name"], "Arachnodactyly", "{first}");
    let (ok, _, err) = run(
        dir.path(),
        &["--candidates", &c, "--queries", &q, "--measure", "cosine"],
    );
    assert!(
        !ok && err.contains("unknown measure") && err.contains("resnik-bma"),
        "{err}"
    );
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = format!(
        "{CANDIDATES}{}",
        "{\"id\": \"bad\", \"terms\": [\"HP:9999999\"]}\nnot json\n{\"id\": \"typo\", \"term\": [\"HP:0001250\"]}\n{\"id\": \"epilepsy\", \"terms\": [\"HP:0001250\"]}\n{\"id\": \"none\", \"terms\": []}\n{\"id\": \"x\", \"terms\": [\"seizure\"]}\n"
    );
    let (c, q) = files(dir.path(), &bad, QUERIES);
    let (ok, out, err) = run(dir.path(), &["--candidates", &c, "--queries", &q]);
    assert!(ok, "{err}");
    for (line, needle) in [
        (5, "HP:9999999"),
        (6, "not a profile"),
        (7, "unknown field `term`"),
        (8, "already used"),
        (9, "no observed term"),
        (10, "not an HPO term id"),
    ] {
        assert!(
            err.contains(&format!("c.jsonl, line {line}: ")) && err.contains(needle),
            "line {line}: {err}"
        );
    }
    assert!(err.contains("6 line(s) skipped"), "{err}");
    assert_eq!(out.lines().count(), 2);
    // --strict: the same input fails the run and writes no result.
    let (ok, out, err) = run(
        dir.path(),
        &["--candidates", &c, "--queries", &q, "--strict"],
    );
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("--strict"), "{err}");
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, _, err) = run(
        dir.path(),
        &[
            "--candidates",
            "/no/such/c.jsonl",
            "--queries",
            "/no/such/q.jsonl",
        ],
    );
    assert!(!ok && err.contains("/no/such/c.jsonl"), "{err}");
}

/// A batch ranks each query exactly as the engine ranks it alone (the node's "people like
/// me" path): the same candidates, in the same order, with the same scores, for every
/// measure family, with more queries than threads.
#[test]
fn a_batch_ranks_each_query_as_that_query_alone() {
    use raremesh::batch::{Options, read_profiles, run as run_batch};
    use raremesh_search::matching::simulate::{Condition, Rng, Simulator};
    use raremesh_search::matching::{CandidateSet, IcTable, Matcher, Measure};

    let state = crate::state();
    let o = &state.ontology;
    let sim = Simulator::new(o);
    let mut rng = Rng::new(0x5A3E);
    let line = |id: String, p: &raremesh_search::matching::Profile| {
        let ids = |v: &[raremesh_ontology::TermIdx]| {
            v.iter()
                .map(|t| o.term(*t).id.to_string())
                .collect::<Vec<_>>()
        };
        serde_json::json!({ "id": id, "terms": ids(p.observed()), "excluded": ids(p.excluded()) })
            .to_string()
    };
    let mut draw = |n: usize, condition: Condition, prefix: &str| {
        let mut out = String::new();
        let mut made = 0;
        while made < n {
            let d = &o.diseases()[rng.below(o.diseases().len())];
            if let Some(p) = sim.patient(d, condition, &mut rng) {
                out.push_str(&line(format!("{prefix}{made}"), &p));
                out.push('\n');
                made += 1;
            }
        }
        out
    };
    let candidates = draw(700, Condition::Exact, "c");
    let mut queries = draw(37, Condition::ImpreciseNoise, "q");
    queries.push_str(&draw(8, Condition::Excluded, "x"));
    let c = read_profiles(o, "c", candidates.as_bytes()).expect("read");
    let q = read_profiles(o, "q", queries.as_bytes()).expect("read");
    assert!(c.skipped.is_empty() && q.skipped.is_empty());
    let ic = IcTable::from_annotations(o);
    let mut set = CandidateSet::new();
    for (_, p) in &c.profiles {
        set.push(p);
    }
    for measure in [
        Measure::default(),
        "resnik-bma".parse().expect("measure"),
        "graphic-funsimavg".parse().expect("measure"),
        "simgic".parse().expect("measure"),
    ] {
        let mut out = Vec::new();
        run_batch(
            o,
            &c,
            &q,
            Options {
                top: 10,
                measure,
                explain: 0,
                ic_from_candidates: false,
            },
            &mut out,
        )
        .expect("run");
        let lines: Vec<Value> = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), q.profiles.len());
        let matcher = Matcher::new(o, &ic, measure);
        for ((qid, qp), got) in q.profiles.iter().zip(&lines) {
            assert_eq!(got["query"], qid.as_str());
            let alone: Vec<(String, f32)> = matcher
                .top_k(qp, &set, 10)
                .iter()
                .map(|s| (c.profiles[s.index].0.clone(), s.score))
                .collect();
            let batch: Vec<(String, f32)> = got["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|r| {
                    (
                        r["id"].as_str().expect("id").to_owned(),
                        r["score"].as_f64().expect("score") as f32,
                    )
                })
                .collect();
            assert_eq!(batch, alone, "{measure}: {qid}");
        }
    }
}
