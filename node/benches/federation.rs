//! Federation throughput: node A publishes 10,000 vectors; how long until node B, on another
//! real Synapse homeserver, holds them all; the bytes of event content per vector; and the
//! time for B to rank one of its members against everything received. Needs the test
//! setup (`scripts/install-test-deps.sh`: Synapse in `.venv-test`).
//!
//! `cargo bench -p raremesh --bench federation [-- <vectors>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[allow(dead_code)] // shared with the tests
#[path = "../tests/it/pair.rs"]
mod pair;
#[allow(dead_code)]
#[path = "../tests/it/synapse.rs"]
mod synapse;

use std::time::{Duration, Instant};

use pair::{Side, member, run, wait_for};

fn remote_count(state: &raremesh::AppState) -> usize {
    state
        .federation
        .as_ref()
        .expect("federation")
        .store
        .remote_all()
        .expect("remote")
        .len()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path().to_owned();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = pair::homeservers(&root, &a, &b);
    let config_a = a.config(&hs_a, &b, &hs_b);
    // The patients exist on A before it starts, shown locally only.
    {
        let (state, _) = raremesh::boot::boot(config_a.clone()).expect("boot a");
        raremesh::demo::seed(&state, n, "demo@a.example.org", "a long demo password", 7)
            .expect("seed");
    }
    rt.block_on(async {
        let node_a = run(config_a).await;
        let node_b = run(b.config(&hs_b, &a, &hs_a)).await;
        let bruno = member(
            &node_b.state,
            "bruno@b.example.org",
            "Brunochild",
            &["HP:0001250", "HP:0001252", "HP:0001263"],
            true,
        );
        // Federation established: B's one vector reached A.
        wait_for("the rooms", 120, || remote_count(&node_a.state) == 1).await;
        let members = node_a.state.registrations.members().expect("members");
        println!("publishing {n} vectors from A ({} members consent now)", members.len());
        let started = Instant::now();
        for mut m in members {
            m.consents.federated_matching = true;
            node_a.state.registrations.save_member(&m).expect("save");
        }
        let mut last = 0;
        while remote_count(&node_b.state) < n {
            assert!(started.elapsed() < Duration::from_secs(600), "timed out");
            let now = remote_count(&node_b.state);
            if now != last && now % 2000 < last % 2000 {
                println!("  {now} on B after {:.1} s", started.elapsed().as_secs_f64());
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let took = started.elapsed();
        // What went over the wire for this: A's update events (the snapshots that the
        // tests' short resync interval adds are left out), opened with B's key.
        let b_keys = raremesh::federation::Keys::open_or_create(&b.data.join("federation"))
            .expect("keys");
        let (mut bytes, mut content_bytes, mut vectors, mut events) = (0usize, 0usize, 0usize, 0usize);
        for row in hs_a.query("SELECT json FROM event_json") {
            let json = row[0].as_str().unwrap_or_default();
            let e: serde_json::Value = serde_json::from_str(json).expect("json");
            if e["type"] != "org.raremesh.batch" {
                continue;
            }
            if let Ok((_, raremesh_bridge::protocol::Payload::Update { ops })) =
                raremesh_bridge::seal::open(&e["content"], b_keys.identity())
            {
                events += 1;
                vectors += ops.len();
                bytes += json.len();
                content_bytes += serde_json::to_vec(&e["content"]).expect("json").len();
            }
        }
        println!(
            "{n} vectors from A held by B after {:.2} s ({:.0} vectors/s)",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
        println!(
            "A's updates: {events} events for {vectors} operations; {:.0} bytes of event content per vector ({:.0} with the event's envelope, signatures and hashes, as A's homeserver stores it)",
            content_bytes as f64 / vectors as f64,
            bytes as f64 / vectors as f64
        );
        let sb = &node_b.state;
        let t = Instant::now();
        let first = sb.similar.find(&sb.similar_sources(), &bruno, 10).expect("find");
        let cold = t.elapsed();
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let again = sb.similar.find(&sb.similar_sources(), &bruno, 10).expect("find");
            times.push(t.elapsed());
            assert_eq!(again.len(), first.len());
        }
        times.sort();
        println!(
            "B ranks its member against {n} received vectors: {:.1} ms the first time (pool built), then median {:.2} ms (20 runs); {} matches shown",
            cold.as_secs_f64() * 1e3,
            times[10].as_secs_f64() * 1e3,
            first.len()
        );
        node_a.shut().await;
        node_b.shut().await;
    });
}
