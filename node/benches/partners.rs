//! A node that receives from many partners, at the protocol level: the node runs as its
//! own process (release build) with 2,000 simulated validated patients of its own and
//! `<partners>` trusted peers in its configuration. Each peer's vectors (`<per partner>`
//! simulated patients) are sealed for the node as that peer would seal them, wrapped in
//! Matrix events, and pushed through the node's application-service endpoint
//! (ruma's `push_events` request, 50 events a transaction, as a homeserver sends them): the real receive path, without homeservers. Measured: the time to apply
//! them all, the node's memory, and a member's "people like me" page against them all.
//! Then the size of a resync round, computed from events sealed as the node seals them,
//! for federations of 2 to `<partners>` + 1 nodes.
//!
//! `cargo bench -p raremesh --bench partners [-- <partners> <per partner>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[path = "shared/resync_cost.rs"]
mod resync_cost;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raremesh_bridge::batch::seal_all;
use raremesh_bridge::protocol::{AgeBand, Op, Payload, Vector, random_id};
use raremesh_bridge::seal::{addressed, to_content};
use raremesh_ontology::{Ontology, Source};
use raremesh_search::matching::simulate::{Condition, Rng, Simulator};

const PASSWORD: &str = "a long benchmark password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cookie `name` set by a response.
fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

/// A protocol event from `user` as its homeserver would push it.
fn event(user: &str, id: &str, ts: u64, content: &serde_json::Value) -> serde_json::Value {
    let server = user.split(':').nth(1).expect("server");
    serde_json::json!({
        "type": "org.raremesh.batch",
        "event_id": format!("${id}:{server}"),
        "sender": user,
        "room_id": format!("!room:{server}"),
        "origin_server_ts": ts,
        "content": content,
    })
}

/// Pushes `events` to the node as transaction `txn`, as a homeserver does (ruma's
/// `push_events` request), and checks that the node took them.
async fn push(
    http: &reqwest::Client,
    url: &str,
    hs_token: &str,
    txn: &str,
    events: &[serde_json::Value],
) {
    let request =
        raremesh_bridge::appservice::push_request(url, hs_token, txn, events).expect("transaction");
    let r = http
        .execute(request.try_into().expect("request"))
        .await
        .expect("transaction");
    assert!(r.status().is_success(), "transaction {txn}: {}", r.status());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let partners = args.first().copied().unwrap_or(50);
    let per_partner = args.get(1).copied().unwrap_or(10_000);
    let bin = env!("CARGO_BIN_EXE_raremesh");
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");

    // The node's own members: 2,000 simulated validated patients and one who signs in.
    let mut seed = Command::new(bin)
        .args([
            "admin",
            "demo-data",
            "--patients",
            "2000",
            "--email",
            "bench@example.org",
            "--password-stdin",
        ])
        .env("RAREMESH_DATA_DIR", &data)
        .env("RAREMESH_LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo-data");
    writeln!(seed.stdin.take().expect("stdin"), "{PASSWORD}").expect("password");
    let out = seed.wait_with_output().expect("demo-data");
    assert!(out.status.success(), "demo-data failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let similar = text
        .split_whitespace()
        .find(|w| w.starts_with("/patients/") && w.ends_with("/similar"))
        .expect("the similar page's path")
        .to_owned();

    // The node's keys, made before it starts (it keeps them), and its peers'.
    let keys = raremesh::federation::Keys::open_or_create(&data.join("federation")).expect("keys");
    let node_key: age::x25519::Recipient = keys.public_key().parse().expect("key");
    let peers: Vec<(String, age::x25519::Identity)> = (0..partners)
        .map(|i| {
            (
                format!("@raremesh:p{i}.example.org"),
                age::x25519::Identity::generate(),
            )
        })
        .collect();
    let port = free_port();
    let hs_token = "h".repeat(40);
    let mut config = format!(
        "data_dir = {data:?}\n\n[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\n[log]\nlevel = \"warn\"\n\n[federation]\nenabled = true\nhomeserver_url = \"http://127.0.0.1:{}\"\nserver_name = \"x.example.org\"\nas_token = \"{}\"\nhs_token = \"{hs_token}\"\nresync_interval_secs = 3600\n",
        free_port(),
        "a".repeat(40),
    );
    for (i, (user, id)) in peers.iter().enumerate() {
        config.push_str(&format!(
            "\n[[federation.peers]]\nname = \"Partner {i}\"\nuser_id = \"{user}\"\nage_key = \"{}\"\n",
            id.to_public()
        ));
    }
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).expect("config");
    let child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Redirects are not followed: the session cookie comes with the sign-in's redirect.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let started = Instant::now();
    while http
        .get(format!("{}/healthz", node.url))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the node did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = node.child.id();
    let (rss_start, _) = memory(pid);

    // The partners' vectors, sealed for the node.
    let (o, _) = Ontology::load(&Source::Embedded, None).expect("ontology");
    let sim = Simulator::new(&o);
    let mut rng = Rng::new(0x50_7A27);
    let ids = |v: &[raremesh_ontology::TermIdx]| -> Vec<String> {
        v.iter().map(|t| o.term(*t).id.to_string()).collect()
    };
    let rev = 1_800_000_000_000u64;
    let mut batches: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    let mut vector_bytes = 0usize;
    for (user, _) in &peers {
        let mut ops = Vec::with_capacity(per_partner);
        while ops.len() < per_partner {
            let d = &o.diseases()[rng.below(o.diseases().len())];
            let Some(p) = sim.patient(d, Condition::ImpreciseNoise, &mut rng) else {
                continue;
            };
            ops.push(Op::Upsert(Vector {
                pseudonym: random_id().expect("id"),
                rev,
                terms: ids(p.observed()),
                excluded: ids(p.excluded()),
                orpha: Some(u64::from(d.code.number())),
                age_band: Some(AgeBand::Child),
                contactable: rng.chance(500),
            }));
        }
        let events = seal_all(ops, std::slice::from_ref(&node_key), |ops, _, _| {
            Payload::Update { ops }
        })
        .expect("seal");
        let contents: Vec<serde_json::Value> = events
            .iter()
            .map(|e| to_content(e).expect("content"))
            .collect();
        vector_bytes += contents.iter().map(|c| c.to_string().len()).sum::<usize>();
        batches.push((user.clone(), contents));
    }
    let events_total: usize = batches.iter().map(|(_, c)| c.len()).sum();

    // Pushed as a homeserver pushes: one transaction at a time, 50 events each.
    let mut all: Vec<serde_json::Value> = Vec::with_capacity(events_total);
    for (user, contents) in &batches {
        for c in contents {
            let n = all.len() as u64;
            all.push(event(user, &format!("e{n}"), 1_800_000_000_000 + n, c));
        }
    }
    let started = Instant::now();
    let mut peak_during = 0.0f64;
    for (t, chunk) in all.chunks(50).enumerate() {
        push(&http, &node.url, &hs_token, &format!("bench{t}"), chunk).await;
        peak_during = peak_during.max(memory(pid).0);
    }
    let applied = started.elapsed();
    let (rss_applied, _) = memory(pid);
    println!(
        "applied {} vectors in {:.1} s; RSS {rss_start:.0} MiB before, {rss_applied:.0} MiB after",
        partners * per_partner,
        applied.as_secs_f64()
    );

    // A member's "people like me" page, against the node's own patients and all received.
    let r = http
        .get(format!("{}/signin", node.url))
        .send()
        .await
        .expect("signin");
    let csrf = cookie(&r, "raremesh_csrf").expect("csrf cookie");
    let r = http
        .post(format!("{}/signin", node.url))
        .header(reqwest::header::COOKIE, format!("raremesh_csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "bench@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("signin");
    let session = cookie(&r, "raremesh_session").expect("session cookie");
    let cookies = format!("raremesh_csrf={csrf}; raremesh_session={session}");
    let page = |http: reqwest::Client, cookies: String, url: String| async move {
        let t = Instant::now();
        let r = http
            .get(url)
            .header(reqwest::header::COOKIE, cookies)
            .send()
            .await
            .expect("page");
        assert!(r.status().is_success(), "{}", r.status());
        let body = r.text().await.expect("body");
        (t.elapsed(), body)
    };
    let url = format!("{}{similar}", node.url);
    let (first, body) = page(http.clone(), cookies.clone(), url.clone()).await;
    let partners_shown = (0..partners)
        .filter(|i| {
            body.contains(&format!("Partner {i}<")) || body.contains(&format!("Partner {i} "))
        })
        .count();
    let mut times = Vec::new();
    for _ in 0..200 {
        times.push(page(http.clone(), cookies.clone(), url.clone()).await.0);
    }
    times.sort();
    // One more vector arrives: every ranking is stale, and the pool is built again (in the
    // background, for a pool this large); the same page meanwhile.
    let user = &peers[0].0;
    let one = seal_all(
        vec![Op::Upsert(Vector {
            pseudonym: random_id().expect("id"),
            rev,
            terms: vec!["HP:0001250".into(), "HP:0001263".into()],
            excluded: vec![],
            orpha: None,
            age_band: None,
            contactable: false,
        })],
        std::slice::from_ref(&node_key),
        |ops, _, _| Payload::Update { ops },
    )
    .expect("seal");
    let content = to_content(&one[0]).expect("content");
    let last = event(user, "one", 1_900_000_000_000, &content);
    push(&http, &node.url, &hs_token, "bench-one", &[last]).await;
    let mut during = Vec::new();
    for _ in 0..200 {
        during.push(page(http.clone(), cookies.clone(), url.clone()).await.0);
    }
    during.sort();
    let (rss_end, hwm) = memory(pid);
    drop(node);

    println!("# A node receiving from {partners} partners ({per_partner} vectors each)\n");
    println!("| what | measured |\n|---|---|");
    println!(
        "| vectors received | {} in {events_total} events ({:.0} bytes of event content per vector) |",
        partners * per_partner,
        vector_bytes as f64 / (partners * per_partner) as f64
    );
    println!(
        "| time to apply them all (through the application-service endpoint, 50 events a transaction) | {:.1} s ({:.0} vectors/s) |",
        applied.as_secs_f64(),
        (partners * per_partner) as f64 / applied.as_secs_f64()
    );
    println!(
        "| node memory (RSS): started, 2,000 own patients / while applying, highest sampled / applied / after the pages | {rss_start:.0} / {peak_during:.0} / {rss_applied:.0} / {rss_end:.0} MiB (peak {hwm:.0} MiB) |"
    );
    println!(
        "| people like me, first request after the vectors arrived (ranking pool rebuilt) | {:.0} ms |",
        first.as_secs_f64() * 1e3
    );
    println!(
        "| people like me, the same page 200 times (kept ranking) | p50 {:.2} ms, p99 {:.2} ms |",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    println!(
        "| people like me, 200 times right after one more vector arrived (the pool rebuilt in the background meanwhile) | p50 {:.2} ms, p99 {:.2} ms, slowest {:.0} ms |",
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        percentile(&during, 1.0)
    );
    println!("| partners among the page's matches | {partners_shown} |\n");

    // A resync round, from events sealed as the node seals them: each node sends one
    // request (its point for each peer, sealed for every peer), and each peer that has
    // changes answers it alone.
    println!(
        "# One resync round: bytes of event content, per node\n\n| nodes | request sent (one) | requests received | answers received, nothing changed | answers received, 10 vectors changed at each peer | before: whole snapshots received ({per_partner} vectors a peer) |\n|---|---|---|---|---|---|"
    );
    let vectors: Vec<Vector> = (0..10)
        .map(|i| Vector {
            pseudonym: random_id().expect("id"),
            rev: rev + i,
            terms: vec![
                "HP:0001250".into(),
                "HP:0001263".into(),
                "HP:0000252".into(),
            ],
            excluded: vec![],
            orpha: Some(558),
            age_band: Some(AgeBand::Child),
            contactable: true,
        })
        .collect();
    let per_vector = vector_bytes as f64 / (partners * per_partner) as f64;
    for nodes in [2usize, 5, 10, 20, partners + 1] {
        let peers_of: Vec<(String, age::x25519::Recipient)> = (1..nodes)
            .map(|i| {
                (
                    format!("@raremesh:p{i}.example.org"),
                    age::x25519::Identity::generate().to_public(),
                )
            })
            .collect();
        let request_bytes = resync_cost::request_bytes(&peers_of, rev);
        let answer = seal_all(
            vectors.iter().cloned().map(Op::Upsert).collect(),
            std::slice::from_ref(&peers_of[0].1),
            |ops, part, last| Payload::Snapshot {
                request: random_id().expect("id"),
                part: part as u64,
                last,
                as_of: rev,
                ops,
                since: Some(rev),
            },
        )
        .expect("seal");
        let answer_bytes: usize = answer
            .into_iter()
            .map(|e| {
                to_content(&addressed(e, "@raremesh:x.example.org").expect("to"))
                    .expect("content")
                    .to_string()
                    .len()
            })
            .sum();
        let peers_n = nodes - 1;
        // Before: every node asked every peer for everything, and every peer's answer
        // (sealed for all its peers) reached every node in its room: about (n - 1)²
        // whole snapshots reached each node a round.
        let before = (peers_n * peers_n) as f64 * per_partner as f64 * per_vector;
        println!(
            "| {nodes} | {request_bytes} | {} | 0 | {} | {:.0} MB |",
            peers_n * request_bytes,
            peers_n * answer_bytes,
            before / 1e6
        );
    }
}
