//! Batch matching (`raremesh match`) against the Python `hpo3` package (the `hpo` crate's
//! GraphIC funSimAvg, on all cores) on the same simulated set in the same run: one
//! candidate per Orphanet disease that has at least three annotated features, and 250
//! simulated patients (imprecise terms and noise) as queries. Wall time, CPU time and
//! peak memory of each, as child processes (`scripts/bench-batch.py`).
//!
//! `scripts/bench-batch.sh` (installs hpo3 into .venv-test, then runs this), or
//! `cargo bench -p raremesh --bench batch [-- <queries> <seed>]`.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::io::Write;

use raremesh_ontology::{Ontology, Source};
use raremesh_search::matching::Profile;
use raremesh_search::matching::simulate::{Condition, Rng, Simulator};

fn line(o: &Ontology, id: &str, p: &Profile) -> String {
    let ids = |v: &[raremesh_ontology::TermIdx]| {
        v.iter()
            .map(|t| o.term(*t).id.to_string())
            .collect::<Vec<_>>()
    };
    serde_json::json!({ "id": id, "terms": ids(p.observed()), "excluded": ids(p.excluded()) })
        .to_string()
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let queries = args.first().copied().unwrap_or(250) as usize;
    let seed = args.get(1).copied().unwrap_or(0xBA7C4);
    let cache = std::env::temp_dir().join("raremesh-bench-cache");
    let (o, _) = Ontology::load(&Source::Embedded, Some(&cache)).expect("ontology");
    let sim = Simulator::new(&o);
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("dir");
    // BATCH_BENCH_KEEP=<folder>: the generated files are kept there (not a RAREMESH_ variable:
    // those configure the node this benchmark runs, which refuses unknown keys).
    let keep = std::env::var_os("BATCH_BENCH_KEEP").map(std::path::PathBuf::from);
    let dir_path = keep.unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).expect("dir");
    let mut c = std::fs::File::create(dir_path.join("candidates.jsonl")).expect("file");
    for d in o.diseases() {
        if let Some(p) = sim.patient(d, Condition::Exact, &mut rng) {
            writeln!(c, "{}", line(&o, &d.code.to_string(), &p)).expect("write");
        }
    }
    let mut q = std::fs::File::create(dir_path.join("queries.jsonl")).expect("file");
    let mut made = 0;
    while made < queries {
        let d = &o.diseases()[rng.below(o.diseases().len())];
        if let Some(p) = sim.patient(d, Condition::ImpreciseNoise, &mut rng) {
            writeln!(q, "{}", line(&o, &format!("q{made}-{}", d.code), &p)).expect("write");
            made += 1;
        }
    }
    drop((c, q));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join(".venv-test/bin/python");
    let has_hpo3 = std::process::Command::new(&venv)
        .args(["-c", "import pyhpo"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(root.join("scripts/bench-batch.py"))
        .arg(&dir_path)
        .arg(env!("CARGO_BIN_EXE_raremesh"));
    if has_hpo3 {
        cmd.arg(&venv);
    }
    let status = cmd.status().expect("python3");
    assert!(status.success(), "the benchmark harness failed");
}
