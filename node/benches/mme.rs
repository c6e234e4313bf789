//! The Matchmaker Exchange endpoint: quality on the MME project's 50 benchmark patients
//! (each queried with every second feature: the rank of its own record, and the mean
//! reciprocal rank of the first other patient with its disorder), raremesh's measure
//! against the standard Resnik best-match average; then `POST /mme/match` latency over
//! loopback on a node with 10,000 simulated validated patients, against `GET /healthz` in
//! the same run.
//!
//! `cargo bench -p raremesh --bench mme [-- <patients> <queries>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use raremesh::config::{Config, MmeClient, Secret};
use raremesh::mme::wire::MmePatient;
use raremesh_search::matching::{Combine, IcTable, Matcher, Measure, Profile, TermSim};
use serde_json::{Value, json};

const TOKEN: &str = "benchmark-mme-token-0123456789abcdef";
const MEDIA: &str = "application/vnd.ga4gh.matchmaker.v1.0+json";

fn benchmark() -> Vec<MmePatient> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mme/benchmark_patients.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("benchmark file")).expect("read")
}

fn profile(o: &raremesh_ontology::Ontology, p: &MmePatient, every: usize) -> Profile {
    let mut observed = Vec::new();
    let mut excluded = Vec::new();
    for f in p.features.iter().step_by(every) {
        if let Some(t) = f.id.parse().ok().and_then(|id| o.resolve(id)) {
            if f.is_observed() {
                observed.push(t);
            } else {
                excluded.push(t);
            }
        }
    }
    excluded.retain(|t| !observed.contains(t));
    Profile::from_terms(observed, excluded, None)
}

/// (own record first, mean rank of own record, same-disorder MRR, queries with a
/// same-disorder patient) for one measure.
fn quality(
    o: &raremesh_ontology::Ontology,
    ic: &IcTable,
    measure: Measure,
    bench: &[MmePatient],
) -> (usize, f64, f64, usize) {
    let stored: Vec<Profile> = bench.iter().map(|p| profile(o, p, 1)).collect();
    let disorder = |i: usize| bench[i].disorders.first().map(|d| d.id.clone());
    let matcher = Matcher::new(o, ic, measure);
    let (mut first, mut rank_sum, mut rr, mut with) = (0, 0usize, 0.0, 0);
    for (i, p) in bench.iter().enumerate() {
        let q = profile(o, p, 2);
        let prepared = matcher.prepare(&q);
        let mut scored: Vec<(usize, f32)> = stored
            .iter()
            .enumerate()
            .map(|(j, c)| (j, matcher.score(&prepared, c)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let own = scored.iter().position(|(j, _)| *j == i).expect("own") + 1;
        rank_sum += own;
        if own == 1 {
            first += 1;
        }
        if let Some(r) = scored
            .iter()
            .filter(|(j, _)| *j != i)
            .position(|(j, _)| disorder(i).is_some() && disorder(*j) == disorder(i))
        {
            rr += 1.0 / (r + 1) as f64;
            with += 1;
        }
    }
    (
        first,
        rank_sum as f64 / bench.len() as f64,
        rr / with as f64,
        with,
    )
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let patients = args.first().copied().unwrap_or(10_000);
    let queries = args.get(1).copied().unwrap_or(500);
    let bench = benchmark();

    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.mme.enabled = true;
    config.mme.contact_name = "Benchmark desk".into();
    config.mme.contact_href = "mailto:desk@example.org".into();
    config.mme.requests_per_window = 10_000;
    config.mme.clients = vec![MmeClient {
        name: "bench".into(),
        token: Secret::from(TOKEN.to_owned()),
    }];
    let (state, _) = raremesh::boot::boot(config).expect("boot");

    println!(
        "MME benchmark set: {} patients, each queried with every second feature",
        bench.len()
    );
    for (name, measure) in [
        ("raremesh (the node's)", Measure::default()),
        (
            "resnik-bma (standard)",
            Measure::Pairwise(TermSim::Resnik, Combine::Bma),
        ),
    ] {
        let (first, mean, mrr, with) = quality(&state.ontology, &state.ic, measure, &bench);
        println!(
            "  {name:24} own record first {first}/50, mean rank {mean:.2}; same-disorder MRR {mrr:.3} ({with} queries)"
        );
    }

    let t = Instant::now();
    raremesh::demo::seed(
        &state,
        patients,
        "bench@example.org",
        "a long benchmark password",
        0x5EED,
        true,
    )
    .expect("demo data");
    println!(
        "{patients} simulated validated patients (consenting to matchmaking) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = raremesh::http::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let client = reqwest::Client::new();
        let bodies: Vec<String> = (0..queries)
            .map(|i| {
                let p = &bench[i % bench.len()];
                json!({
                    "patient": {
                        "id": format!("q{i}"),
                        "contact": { "name": "Bench", "href": "mailto:b@example.org" },
                        "features": p.features.iter().step_by(2).collect::<Vec<_>>(),
                        "test": true,
                    }
                })
                .to_string()
            })
            .collect();
        // The first search builds the pool of candidates; it is kept until a change.
        let t = Instant::now();
        let first = client
            .post(format!("{url}/mme/match"))
            .header("Content-Type", MEDIA)
            .header("X-Auth-Token", TOKEN)
            .body(bodies[0].clone())
            .send()
            .await
            .expect("first");
        assert!(first.status().is_success());
        println!(
            "first search (reads {patients} patients into the pool): {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let mut healthz = Vec::new();
        let mut search = Vec::new();
        let mut results = 0;
        for body in &bodies {
            let t = Instant::now();
            let r = client
                .get(format!("{url}/healthz"))
                .send()
                .await
                .expect("healthz");
            assert!(r.status().is_success());
            r.bytes().await.expect("body");
            healthz.push(t.elapsed());
            let t = Instant::now();
            let r = client
                .post(format!("{url}/mme/match"))
                .header("Content-Type", MEDIA)
                .header("X-Auth-Token", TOKEN)
                .body(body.clone())
                .send()
                .await
                .expect("search");
            assert!(r.status().is_success());
            let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
            search.push(t.elapsed());
            results += v["results"].as_array().map_or(0, Vec::len);
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (h50, h99) = (
            percentile(&mut healthz, 0.5),
            percentile(&mut healthz, 0.99),
        );
        let (s50, s99) = (percentile(&mut search, 0.5), percentile(&mut search, 0.99));
        println!("{queries} searches over loopback, one at a time ({results} results in all):");
        println!(
            "  GET /healthz (reference)  p50 {:.3} ms  p99 {:.3} ms",
            ms(h50),
            ms(h99)
        );
        println!(
            "  POST /mme/match           p50 {:.2} ms  p99 {:.2} ms  ({:.0}x /healthz at p50)",
            ms(s50),
            ms(s99),
            s50.as_secs_f64() / h50.as_secs_f64()
        );
    });
}
