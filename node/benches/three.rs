//! Three nodes on three real Synapse homeservers (loopback), each trusting the other two:
//! how long until each holds the others' vectors, then what a resync round costs on the
//! wire, measured in the homeservers' databases, beside the same round computed from
//! events sealed as the nodes seal them (the figures `--bench partners` prints for larger
//! federations). Needs the test setup (`scripts/install-test-deps.sh`: Synapse in
//! `.venv-test`).
//!
//! `cargo bench -p raremesh --bench three [-- <vectors per node>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[allow(dead_code)] // shared with the tests
#[path = "../tests/it/pair.rs"]
mod pair;
#[path = "shared/resync_cost.rs"]
mod resync_cost;
#[allow(dead_code)]
#[path = "../tests/it/synapse.rs"]
mod synapse;

use std::time::Instant;

use pair::{Side, run, wait_for};
use raremesh::config::PeerConfig;
use raremesh::federation::Keys;
use raremesh_bridge::protocol::Payload;
use synapse::Homeserver;

const ROUND_SECS: u64 = 5;

/// A protocol event as a homeserver stored it: which node sent it, what it carries (if
/// one of the three keys opens it), its content's size.
struct Stored {
    sender: String,
    kind: &'static str,
    ops: usize,
    content_bytes: usize,
}

fn stored(hs: &Homeserver, keys: &[Keys]) -> Vec<Stored> {
    let mut out = Vec::new();
    for row in hs.query("SELECT json FROM event_json ORDER BY rowid") {
        let json = row[0].as_str().unwrap_or_default();
        let e: serde_json::Value = serde_json::from_str(json).expect("json");
        if e["type"] != "org.raremesh.batch" {
            continue;
        }
        let payload = keys
            .iter()
            .find_map(|k| raremesh_bridge::seal::open(&e["content"], k.identity()).ok())
            .map(|(_, p)| p);
        let (kind, ops) = match payload {
            Some(Payload::SnapshotRequest { .. }) => ("request", 0),
            Some(Payload::Snapshot { ops, since, .. }) => {
                (if since.is_some() { "changes" } else { "whole" }, ops.len())
            }
            Some(Payload::Update { ops }) => ("update", ops.len()),
            Some(_) => ("other", 0),
            None => ("unopened", 0),
        };
        out.push(Stored {
            sender: e["sender"].as_str().unwrap_or_default().to_owned(),
            kind,
            ops,
            content_bytes: serde_json::to_vec(&e["content"]).expect("json").len(),
        });
    }
    out
}

fn main() {
    let per_node = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(1_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path().to_owned();
    let sides = [
        Side::new(&root, "a"),
        Side::new(&root, "b"),
        Side::new(&root, "c"),
    ];
    let starts: Vec<_> = sides
        .iter()
        .map(|side| {
            let (side, root) = (side.clone(), root.clone());
            std::thread::spawn(move || {
                Homeserver::start_with(&root.join(format!("hs-{}", side.name)), None, |name| {
                    vec![side.registration_from_command(&root, name)]
                })
            })
        })
        .collect();
    let hs: Vec<Homeserver> = starts
        .into_iter()
        .map(|t| t.join().expect("homeserver"))
        .collect();
    let configs: Vec<raremesh::config::Config> = (0..3)
        .map(|i| {
            let (j, k) = ((i + 1) % 3, (i + 2) % 3);
            let mut c = sides[i].config(&hs[i], &sides[j], &hs[j]);
            c.federation.peers.push(PeerConfig {
                name: format!("Organization {}", sides[k].name.to_uppercase()),
                user_id: format!("@raremesh:{}", hs[k].server_name),
                age_key: sides[k].key.clone(),
            });
            c.federation.resync_interval_secs = ROUND_SECS;
            c
        })
        .collect();
    // Each node's patients exist before it starts, shown locally only until they consent.
    for (i, c) in configs.iter().enumerate() {
        let (state, _) = raremesh::boot::boot(c.clone()).expect("boot");
        raremesh::demo::seed(
            &state,
            per_node,
            &format!("demo@{}.example.org", sides[i].name),
            "a long demo password",
            7 + i as u64,
            false,
        )
        .expect("seed");
    }
    let keys: Vec<Keys> = sides
        .iter()
        .map(|s| Keys::open_or_create(&s.data.join("federation")).expect("keys"))
        .collect();
    rt.block_on(async {
        let mut nodes = Vec::new();
        for c in &configs {
            nodes.push(run(c.clone()).await);
        }
        // Everyone consents at once on every node; the clock runs until each node holds
        // the other two's vectors.
        let started = Instant::now();
        for n in &nodes {
            for mut m in n.state.registrations.members().expect("members") {
                m.consents.federated_matching = true;
                n.state.registrations.save_member(&m).expect("save");
            }
        }
        let mut last = Instant::now();
        loop {
            let held: Vec<usize> = nodes.iter().map(|n| pair::remote_terms(&n.state).len()).collect();
            let published: Vec<usize> = nodes
                .iter()
                .map(|n| {
                    n.state
                        .federation
                        .as_ref()
                        .expect("federation")
                        .store
                        .published()
                        .expect("published")
                        .len()
                })
                .collect();
            let want: Vec<usize> = (0..3)
                .map(|i| published[(i + 1) % 3] + published[(i + 2) % 3])
                .collect();
            // demo-data's patients and its signing-in member's.
            if published.iter().all(|&p| p > per_node) && held == want {
                break;
            }
            if last.elapsed().as_secs() >= 10 {
                println!("  after {:.0} s: published {published:?}, held {held:?}", started.elapsed().as_secs_f64());
                last = Instant::now();
            }
            assert!(started.elapsed().as_secs() < 900, "no convergence");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let converged = started.elapsed();
        println!(
            "# Three nodes, three Synapse homeservers, {} vectors each\n\nEvery node held the other two's {} vectors {:.1} s after all members consented.\n",
            per_node + 1,
            2 * (per_node + 1),
            converged.as_secs_f64()
        );

        // Quiet rounds: nothing changes; each node asks its peers every ROUND_SECS.
        let a_user = format!("@raremesh:{}", hs[0].server_name);
        let requests_by_a = |hs: &Homeserver| {
            stored(hs, &keys)
                .iter()
                .filter(|s| s.kind == "request" && s.sender == a_user)
                .count()
        };
        // Let the resyncs that brought the vectors settle, then count from a request on.
        let settle = requests_by_a(&hs[0]) + 2;
        wait_for("resyncs after the vectors", 60, || requests_by_a(&hs[0]) >= settle).await;
        let before = stored(&hs[0], &keys).len();
        let first = requests_by_a(&hs[0]);
        let rounds = 4;
        wait_for("four quiet rounds", 120, || {
            requests_by_a(&hs[0]) >= first + rounds
        })
        .await;
        let quiet: Vec<Stored> = stored(&hs[0], &keys).into_iter().skip(before).collect();
        let sum = |v: &[&Stored]| v.iter().map(|s| s.content_bytes).sum::<usize>();
        let of = |kind: &str| quiet.iter().filter(|s| s.kind == kind).collect::<Vec<_>>();
        let (req, changes, whole) = (of("request"), of("changes"), of("whole"));
        println!(
            "| what A's homeserver stored, a round (mean of {rounds} quiet rounds) | events | bytes of content |\n|---|---|---|"
        );
        let per_round = |v: &[&Stored]| {
            (
                v.len() as f64 / rounds as f64,
                sum(v) as f64 / rounds as f64,
            )
        };
        for (what, v) in [
            ("snapshot requests (from all three nodes)", &req),
            ("answers with changes", &changes),
            ("whole snapshots", &whole),
        ] {
            let (e, b) = per_round(v);
            println!("| {what} | {e:.1} | {b:.0} |");
        }

        // Ten changes on each node; the next round's answers carry them (and the pushes).
        let mark = stored(&hs[0], &keys).len();
        for n in &nodes {
            for p in n.state.patients.all().expect("patients").into_iter().take(10) {
                pair::add_symptom(&n.state, &p, "HP:0000252");
            }
        }
        let now = requests_by_a(&hs[0]);
        wait_for("two rounds after the changes", 60, || {
            requests_by_a(&hs[0]) >= now + 2
        })
        .await;
        let after: Vec<Stored> = stored(&hs[0], &keys).into_iter().skip(mark).collect();
        let answers: Vec<&Stored> = after.iter().filter(|s| s.kind == "changes").collect();
        let updates: Vec<&Stored> = after.iter().filter(|s| s.kind == "update").collect();
        println!(
            "\nAfter 10 changes on each node: {} updates pushed ({} operations, {} bytes); {} answers with changes ({} operations, {} bytes) stored on A's homeserver in the next two rounds.\n",
            updates.len(),
            updates.iter().map(|s| s.ops).sum::<usize>(),
            sum(&updates),
            answers.len(),
            answers.iter().map(|s| s.ops).sum::<usize>(),
            sum(&answers),
        );

        // The same round computed as `--bench partners` computes it, for three nodes.
        let peers: Vec<(String, age::x25519::Recipient)> = (1..3)
            .map(|i| {
                (
                    format!("@raremesh:{}", hs[i].server_name),
                    keys[i].public_key().parse().expect("key"),
                )
            })
            .collect();
        let request_bytes = resync_cost::request_bytes(&peers, 1_800_000_000_000);
        let (e, b) = per_round(&req);
        println!(
            "Computed for three nodes: one request is {request_bytes} bytes of content, so a quiet round puts 3 requests, {} bytes, in the rooms A's homeserver holds; measured: {e:.1} requests, {b:.0} bytes a round.",
            3 * request_bytes
        );
        for n in nodes {
            n.shut().await;
        }
    });
}
