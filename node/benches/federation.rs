//! Federation throughput and repair: node A publishes 10,000 vectors; how long until node
//! B, on another real Synapse homeserver, holds them all; the bytes of event content per
//! vector; the time for B to rank one of its members against everything received. Then
//! repair: B's Synapse is stopped (SIGTERM), A changes 10 (then 1,000) patients and sends
//! the changes to its own homeserver, B's Synapse starts again; how long from the moment it
//! answers until B holds exactly what A publishes (5 outages each, median). Snapshots are
//! off for this part (resync once an hour). Needs the test setup
//! (`scripts/install-test-deps.sh`: Synapse in `.venv-test`).
//!
//! `cargo bench -p raremesh --bench federation [-- <vectors> [<outages>]]`
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

/// What A publishes (or B holds from A): each vector's sorted terms, sorted.
fn vectors(v: impl Iterator<Item = Vec<String>>) -> Vec<Vec<String>> {
    let mut all: Vec<Vec<String>> = v
        .map(|mut t| {
            t.sort();
            t
        })
        .collect();
    all.sort();
    all
}

fn published(state: &raremesh::AppState) -> Vec<Vec<String>> {
    let f = state.federation.as_ref().expect("federation");
    vectors(
        f.store
            .published()
            .expect("published")
            .into_iter()
            .map(|p| p.vector.terms),
    )
}

fn held(state: &raremesh::AppState) -> Vec<Vec<String>> {
    let f = state.federation.as_ref().expect("federation");
    vectors(
        f.store
            .remote_all()
            .expect("remote")
            .into_iter()
            .filter(|r| !r.retracted)
            .map(|r| r.vector.terms),
    )
}

/// One outage of B's homeserver while A changes `k` patients (each gains or loses one
/// symptom); the time from the homeserver answering again until B holds what A publishes.
async fn outage(
    a: &raremesh::AppState,
    b: &raremesh::AppState,
    hs_b: &mut synapse::Homeserver,
    k: usize,
    round: usize,
) -> Duration {
    let term: raremesh_ontology::HpoId = "HP:0000252".parse().expect("id");
    tokio::task::block_in_place(|| hs_b.stop());
    let mut patients = a.patients.all().expect("patients");
    patients.sort_by(|x, y| x.id.cmp(&y.id));
    for mut p in patients.into_iter().skip(round * 7).take(k) {
        if let Some(i) = p.symptoms.iter().position(|s| s.term == term) {
            p.symptoms.remove(i);
        } else {
            p.symptoms.push(raremesh::registration::patient::Symptom {
                term,
                observed: true,
                onset: None,
            });
        }
        a.patients.save(&p).expect("save");
    }
    // A has sent every change to its homeserver once what it records as published stops
    // moving and differs from what B holds.
    let before = held(b);
    let sent = Instant::now();
    let mut last = published(a);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = published(a);
        if now == last && now != before {
            break;
        }
        assert!(sent.elapsed() < Duration::from_secs(300), "A did not send");
        last = now;
    }
    tokio::task::block_in_place(|| hs_b.start_again());
    let back = Instant::now();
    let want = published(a);
    while held(b) != want {
        assert!(
            back.elapsed() < Duration::from_secs(600),
            "B did not converge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    back.elapsed()
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = numbers.first().copied().unwrap_or(10_000);
    let outages = numbers.get(1).copied().unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path().to_owned();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, mut hs_b) = pair::homeservers(&root, &a, &b);
    let mut config_a = a.config(&hs_a, &b, &hs_b);
    config_a.federation.resync_interval_secs = 3600;
    // The patients exist on A before it starts, shown locally only.
    {
        let (state, _) = raremesh::boot::boot(config_a.clone()).expect("boot a");
        raremesh::demo::seed(
            &state,
            n,
            "demo@a.example.org",
            "a long demo password",
            7,
            false,
        )
        .expect("seed");
    }
    rt.block_on(async {
        let node_a = run(config_a).await;
        let mut config_b = b.config(&hs_b, &a, &hs_a);
        config_b.federation.resync_interval_secs = 3600;
        let node_b = run(config_b).await;
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
        let first = sb.similar.find(&bruno, 10).expect("find");
        let cold = t.elapsed();
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let again = sb.similar.find(&bruno, 10).expect("find");
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

        for k in [10, 1_000] {
            let mut times = Vec::new();
            for round in 0..outages {
                let took = outage(&node_a.state, sb, &mut hs_b, k, round).await;
                println!("  {k} changes, outage {}: {:.2} s", round + 1, took.as_secs_f64());
                times.push(took);
            }
            times.sort();
            println!(
                "{k} changes during an outage of B's homeserver: B held every one {:.2} s (median of {outages}; {:.2} to {:.2} s) after it answered again",
                times[times.len() / 2].as_secs_f64(),
                times[0].as_secs_f64(),
                times[times.len() - 1].as_secs_f64()
            );
        }
        node_a.shut().await;
        node_b.shut().await;
    });
}
