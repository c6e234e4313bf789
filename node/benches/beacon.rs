//! Beacon v2 counts on a node with 10,000 simulated validated patients (all consenting to
//! research): the latency of `POST /beacon/v2/individuals` through the router, for new
//! queries (each counts every patient) and repeated ones (the period's stored answer),
//! against `GET /healthz` in the same run.
//!
//! `cargo bench -p raremesh --bench beacon [-- <patients> <queries>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::config::{BeaconClient, Config, Secret};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "benchmark-beacon-token-0123456789abcdef";

async fn timed(app: &axum::Router, req: Request<Body>) -> (Duration, StatusCode, Value) {
    let t = Instant::now();
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let took = t.elapsed();
    (
        took,
        status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn count(filters: &[String]) -> Request<Body> {
    let body = json!({
        "meta": { "apiVersion": "v2.0.0" },
        "query": {
            "filters": filters.iter().map(|f| json!({ "id": f })).collect::<Vec<_>>(),
            "requestedGranularity": "count",
        }
    });
    Request::post("/beacon/v2/individuals")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(body.to_string()))
        .expect("request")
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
    let queries = args.get(1).copied().unwrap_or(200);
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.beacon.enabled = true;
    config.beacon.clients = vec![BeaconClient {
        name: "bench".into(),
        token: Secret::from(TOKEN.to_owned()),
    }];
    config.research.epsilon_per_query = 0.01;
    config.research.budget = 1000.0;
    config.research.node_budget = 1000.0;
    let (state, _) = raremesh::boot::boot(config).expect("boot");
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
        "{patients} simulated validated patients (consenting to research) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let app = raremesh::http::app(state.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // The terms in use, as a client reads them first.
        let (_, _, terms) = timed(
            &app,
            Request::get("/beacon/v2/filtering_terms")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        let hpo: Vec<String> = terms["response"]["filteringTerms"]
            .as_array()
            .expect("terms")
            .iter()
            .filter_map(|t| t["id"].as_str())
            .filter(|id| id.starts_with("HP:"))
            .map(str::to_owned)
            .collect();
        assert!(!hpo.is_empty(), "no terms in use");
        let sexes = ["NCIT:C16576", "NCIT:C20197"];
        let mut fresh: Vec<Vec<String>> = Vec::new();
        'outer: for t in &hpo {
            for s in sexes {
                fresh.push(vec![t.clone(), s.to_owned()]);
                if fresh.len() == queries {
                    break 'outer;
                }
            }
        }
        let mut healthz = Vec::new();
        let mut new = Vec::new();
        let mut repeated = Vec::new();
        for f in &fresh {
            let (took, st, v) = timed(
                &app,
                Request::get("/healthz").body(Body::empty()).expect("req"),
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            healthz.push(took);
            let (took, st, v) = timed(&app, count(f)).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            assert_eq!(v["info"]["cached"], false);
            new.push(took);
            let (took, st, v) = timed(&app, count(f)).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            assert_eq!(v["info"]["cached"], true);
            repeated.push(took);
        }
        let n = fresh.len();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (h50, h99) = (
            percentile(&mut healthz, 0.5),
            percentile(&mut healthz, 0.99),
        );
        let (n50, n99) = (percentile(&mut new, 0.5), percentile(&mut new, 0.99));
        let (r50, r99) = (
            percentile(&mut repeated, 0.5),
            percentile(&mut repeated, 0.99),
        );
        println!("{n} queries (an HPO term with its narrower terms, and a sex), one at a time:");
        println!(
            "  GET /healthz (reference)      p50 {:.3} ms  p99 {:.3} ms",
            ms(h50),
            ms(h99)
        );
        println!(
            "  individuals, new query        p50 {:.2} ms  p99 {:.2} ms  ({:.0}x /healthz at p50)",
            ms(n50),
            ms(n99),
            n50.as_secs_f64() / h50.as_secs_f64()
        );
        println!(
            "  individuals, repeated query   p50 {:.2} ms  p99 {:.2} ms  ({:.0}x /healthz at p50)",
            ms(r50),
            ms(r99),
            r50.as_secs_f64() / h50.as_secs_f64()
        );
    });
}
