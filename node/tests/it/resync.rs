//! Periodic resyncs ask each peer for what changed since its last answer, and each answer
//! is sealed for the asking node alone: two nodes on two real Synapse homeservers, the
//! answers read back from the answering node's homeserver database.

use raremesh::federation::Keys;
use raremesh_bridge::protocol::{Op, Payload};

use crate::pair::{Side, add_symptom, member, remote_terms, run, wait_for};

/// One answer to a snapshot request, as stored on a homeserver.
#[derive(Debug)]
struct Answer {
    to: Option<String>,
    since: Option<u64>,
    as_of: u64,
    upserts: usize,
    retractions: usize,
}

/// Every answer to a snapshot request in `hs`'s database that `keys` can open, oldest
/// first.
fn answers(hs: &crate::synapse::Homeserver, keys: &Keys) -> Vec<Answer> {
    let mut out = Vec::new();
    for row in hs.query("SELECT json FROM event_json ORDER BY rowid") {
        let json = row[0].as_str().unwrap_or_default();
        let event: serde_json::Value = serde_json::from_str(json).expect("event json");
        if event["type"] != "org.raremesh.batch" {
            continue;
        }
        let content = &event["content"];
        let Ok((_, payload)) = raremesh_bridge::seal::open(content, keys.identity()) else {
            continue;
        };
        if let Payload::Snapshot {
            since, as_of, ops, ..
        } = payload
        {
            out.push(Answer {
                to: content["to"].as_str().map(str::to_owned),
                since,
                as_of,
                upserts: ops.iter().filter(|o| matches!(o, Op::Upsert(_))).count(),
                retractions: ops
                    .iter()
                    .filter(|o| matches!(o, Op::Retract { .. }))
                    .count(),
            });
        }
    }
    out
}

/// How many snapshot requests in `hs`'s database `keys` can open.
fn requests(hs: &crate::synapse::Homeserver, keys: &Keys) -> usize {
    hs.query("SELECT json FROM event_json")
        .iter()
        .filter_map(|row| serde_json::from_str::<serde_json::Value>(row[0].as_str()?).ok())
        .filter(|e| e["type"] == "org.raremesh.batch")
        .filter_map(|e| raremesh_bridge::seal::open(&e["content"], keys.identity()).ok())
        .filter(|(_, p)| matches!(p, Payload::SnapshotRequest { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_bring_only_what_changed_and_only_to_the_asking_node() {
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let mut config_b = b.config(&hs_b, &a, &hs_a);
    config_b.federation.resync_interval_secs = 5;
    let node_b = run(config_b).await;
    let b_user = node_b.state.config.federation.user_id();

    let mut patients = Vec::new();
    for i in 0..6 {
        patients.push(member(
            &node_a.state,
            &format!("m{i}@a.example.org"),
            &format!("Child{i}"),
            &["HP:0001250", "HP:0001252", "HP:0001263"],
            true,
        ));
    }
    wait_for("A's six vectors on B", 120, || {
        remote_terms(&node_b.state).len() == 6
    })
    .await;
    let b_keys = Keys::open_or_create(&b.data.join("federation")).expect("keys");
    let a_keys = Keys::open_or_create(&a.data.join("federation")).expect("keys");
    // Two more resync rounds from B once all six arrived: A has nothing new, so it
    // answers nothing.
    let settled = answers(&hs_a, &b_keys).len();
    let asked = requests(&hs_b, &a_keys);
    wait_for("two more resync requests from B", 60, || {
        requests(&hs_b, &a_keys) >= asked + 2
    })
    .await;
    let seen = answers(&hs_a, &b_keys);
    assert!(
        seen[settled..].iter().all(|a| a.since.is_none()),
        "a peer with nothing new sends no answer: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|a| a.to.as_deref() == Some(b_user.as_str())),
        "every answer is addressed to B: {seen:?}"
    );
    assert!(
        seen.first().is_some_and(|a| a.since.is_none()),
        "B's first request (no point yet) got everything: {seen:?}"
    );

    // One patient changes, another member withdraws: the next answer holds those two.
    add_symptom(&node_a.state, &patients[0], "HP:0000256");
    let mut m = node_a
        .state
        .registrations
        .member(&patients[1].account_id)
        .expect("m")
        .expect("m");
    m.consents.federated_matching = false;
    node_a.state.registrations.save_member(&m).expect("save");
    wait_for("the change and the retraction on B", 60, || {
        let t = remote_terms(&node_b.state);
        t.len() == 5 && t.iter().any(|t| t.contains(&"HP:0000256".to_owned()))
    })
    .await;
    wait_for("a resync answer with the change", 60, || {
        answers(&hs_a, &b_keys)[settled..]
            .iter()
            .any(|a| a.since.is_some())
    })
    .await;
    let seen = answers(&hs_a, &b_keys);
    // Each request asks from the point of an earlier answer B received whole.
    for (i, a) in seen.iter().enumerate() {
        if let Some(since) = a.since {
            assert!(
                seen[..i].iter().any(|b| b.as_of == since),
                "answer {i} is since a point no answer gave: {seen:?}"
            );
        }
    }
    // Each change is in exactly one answer (the first after it), and nothing else is.
    // (The change may fall on either side of one request, so it may take two answers.)
    let sent = seen
        .iter()
        .skip(settled)
        .filter(|a| a.since.is_some())
        .fold((0, 0), |(u, r), a| (u + a.upserts, r + a.retractions));
    assert_eq!(sent, (1, 1), "one upsert and one retraction: {seen:?}");
    println!("answers to B: {seen:?}");

    node_a.shut().await;
    node_b.shut().await;
}
