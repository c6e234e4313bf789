//! Two raremesh nodes federating through two real Synapse homeservers on loopback.

use std::time::Duration;

use raremesh::federation::Keys;
use raremesh_bridge::protocol::Payload;

use crate::pair::{Side, add_symptom, member, remote_terms, run, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_vectors_through_two_synapses() {
    // RAREMESH_KEEP_TEST_DIR=1 keeps the homeservers' folders (logs, databases).
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, mut hs_b) = crate::pair::homeservers(&root, &a, &b);
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let node_b = run(b.config(&hs_b, &a, &hs_a)).await;

    // Seizure, hypotonia, global developmental delay on A; close symptoms on B.
    let anna = member(
        &node_a.state,
        "anna@a.example.org",
        "Annachild",
        &["HP:0001250", "HP:0001252", "HP:0001263"],
        true,
    );
    let _kept = member(
        &node_a.state,
        "kept@a.example.org",
        "Keptchild",
        &["HP:0001250", "HP:0001252"],
        false,
    );
    let bruno = member(
        &node_b.state,
        "bruno@b.example.org",
        "Brunochild",
        &["HP:0002069", "HP:0001252", "HP:0001263"],
        true,
    );

    let took = wait_for("A's vector on B", 90, || {
        remote_terms(&node_b.state).len() == 1
    })
    .await;
    println!(
        "first vector from A reached B in {:.1} s (rooms created and joined)",
        took.as_secs_f64()
    );
    wait_for("B's vector on A", 60, || {
        remote_terms(&node_a.state).len() == 1
    })
    .await;
    assert_eq!(
        remote_terms(&node_b.state)[0],
        vec!["HP:0001250", "HP:0001252", "HP:0001263"],
        "only the consenting patient is shared"
    );

    // B's member sees A's patient among people like Bruno, with the organization's name.
    let sb = &node_b.state;
    let matches = sb.similar.find(&bruno, 10).expect("similar");
    let remote = matches
        .iter()
        .find(|m| m.organization.as_deref() == Some("Organization A"))
        .expect("a match from A");
    assert!(
        remote
            .shared
            .iter()
            .any(|s| s.common == "Global developmental delay")
    );
    assert_eq!(remote.age_band.as_deref(), Some("6-11"));
    // And A's member sees B's patient.
    let sa = &node_a.state;
    let anna_now = sa
        .patients
        .get(&anna.account_id, &anna.id)
        .expect("g")
        .expect("p");
    let from_b = sa.similar.find(&anna_now, 10).expect("similar");
    assert!(
        from_b
            .iter()
            .any(|m| m.organization.as_deref() == Some("Organization B"))
    );
    assert!(!remote.pseudonym.contains("Anna"));

    // Changes propagate: a new symptom, then a withdrawn consent.
    add_symptom(&node_a.state, &anna, "HP:0000256");
    let took = wait_for("the update on B", 30, || {
        remote_terms(&node_b.state)
            .first()
            .is_some_and(|t| t.contains(&"HP:0000256".to_owned()))
    })
    .await;
    println!("an update reached B in {:.2} s", took.as_secs_f64());

    // B's homeserver goes down while A's profiles change; back up, B converges.
    tokio::task::block_in_place(|| hs_b.stop());
    let carla = member(
        &node_a.state,
        "carla@a.example.org",
        "Carlachild",
        &["HP:0000098", "HP:0001166"],
        true,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::block_in_place(|| hs_b.restart());
    wait_for("convergence after B's homeserver came back", 60, || {
        remote_terms(&node_b.state).len() == 2
    })
    .await;

    // Node B is killed and restarted meanwhile changes go on: nothing lost, no duplicates.
    let b_config = (*node_b.state.config).clone();
    node_b.kill().await;
    let mut m = node_a
        .state
        .registrations
        .member(&anna.account_id)
        .expect("m")
        .expect("m");
    m.consents.federated_matching = false;
    node_a.state.registrations.save_member(&m).expect("save");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let node_b = run(b_config).await;
    wait_for("the retraction after B restarted", 120, || {
        remote_terms(&node_b.state).len() == 1
    })
    .await;
    let left = node_b
        .state
        .federation
        .as_ref()
        .expect("f")
        .store
        .remote_all()
        .expect("r");
    assert_eq!(left.len(), 1, "no duplicates: {left:?}");
    assert_eq!(left[0].vector.terms, vec!["HP:0000098", "HP:0001166"]);

    // Carla's member asks for a new pseudonym: B holds the new one only.
    let old = left[0].vector.pseudonym.clone();
    let mut c = node_a
        .state
        .patients
        .get(&carla.account_id, &carla.id)
        .expect("g")
        .expect("p");
    c.pseudonym_rotation += 1;
    node_a.state.patients.save(&c).expect("save");
    let fb = node_b.state.federation.clone().expect("f");
    wait_for("the new pseudonym on B", 60, || {
        fb.store
            .remote_all()
            .is_ok_and(|r| r.len() == 1 && r[0].vector.pseudonym != old)
    })
    .await;

    // Privacy: what A's homeserver stored for protocol events is ciphertext, and every
    // payload A sent holds only pseudonyms, HPO ids, ORPHA codes and age bands.
    let rows = hs_a.query("SELECT json FROM event_json");
    let b_keys = Keys::open_or_create(&b.data.join("federation")).expect("keys");
    let mut protocol_events = 0;
    let mut opened = 0;
    for row in rows {
        let json = row[0].as_str().unwrap_or_default();
        let event: serde_json::Value = serde_json::from_str(json).expect("event json");
        if event["type"] != "org.raremesh.batch" {
            continue;
        }
        protocol_events += 1;
        let content = &event["content"];
        let keys: Vec<&str> = content
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        // v, batch, ciphertext, and `to` on what is sealed for one peer only.
        assert!(
            keys.iter()
                .all(|k| ["v", "batch", "ciphertext", "to"].contains(k)),
            "{keys:?}"
        );
        for secret in [
            "Annachild",
            "Keptchild",
            "Carlachild",
            "anna@",
            "HP:0001250",
            "private words",
            "birth_year",
        ] {
            assert!(!json.contains(secret), "{secret} in a stored event");
        }
        // A's events open with B's key (B's own are sealed for A).
        if let Ok((_, payload)) = raremesh_bridge::seal::open(content, b_keys.identity()) {
            opened += 1;
            let text = serde_json::to_string(&payload).expect("json");
            for secret in [
                "Annachild",
                "Keptchild",
                "Carlachild",
                "Parent",
                "@a.example.org",
                "private words",
                "France",
            ] {
                assert!(!text.contains(secret), "{secret} in a sent payload");
            }
            if let Payload::Update { ops } | Payload::Snapshot { ops, .. } = payload {
                assert!(ops.iter().all(|o| o.pseudonym().len() == 32));
            }
        }
    }
    assert!(opened > 0, "some of A's payloads were checked");
    assert!(
        protocol_events >= 4,
        "{protocol_events} protocol events stored"
    );

    // Carla's member deletes their account: the vector is retracted from B.
    let carla_account = node_a
        .state
        .accounts
        .get(&carla.account_id)
        .expect("g")
        .expect("a");
    raremesh::erasure::erase_account(&node_a.state, &carla_account).expect("delete");
    wait_for("the retraction of a deleted account", 60, || {
        remote_terms(&node_b.state).is_empty()
    })
    .await;

    // A stops trusting B: what B sent is erased from A, and B's events are refused.
    let mut a_config = (*node_a.state.config).clone();
    assert_eq!(
        remote_terms(&node_a.state).len(),
        1,
        "A holds Bruno's vector"
    );
    node_a.shut().await;
    a_config.federation.peers.clear();
    let node_a = run(a_config).await;
    wait_for("B's data erased from A", 30, || {
        remote_terms(&node_a.state).is_empty()
    })
    .await;

    node_a.shut().await;
    node_b.shut().await;
}

/// Runs the third-party client (matrix-nio) script; its standard output.
pub fn nio(args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/matrix_client.py");
    let out = std::process::Command::new(crate::synapse::venv().join("python"))
        .arg(script)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "matrix-nio {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matched_members_talk_in_a_private_room() {
    // RAREMESH_KEEP_TEST_DIR=1 keeps the homeservers' folders (logs, databases).
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let node_b = run(b.config(&hs_b, &a, &hs_a)).await;
    let (sa, sb) = (node_a.state.clone(), node_b.state.clone());
    let (fa, fb) = (
        sa.federation.clone().expect("a"),
        sb.federation.clone().expect("b"),
    );
    let alice = tokio::task::block_in_place(|| hs_a.register("alice", "alice long password"));
    let bob = tokio::task::block_in_place(|| hs_b.register("bob", "bob long password"));
    let anna = member(
        &sa,
        "anna@a.example.org",
        "Annachild",
        &["HP:0001250", "HP:0001252", "HP:0001263"],
        true,
    );
    let bruno = member(
        &sb,
        "bruno@b.example.org",
        "Brunochild",
        &["HP:0002069", "HP:0001252", "HP:0001263"],
        true,
    );

    // Each member links their Matrix account with the code their node sends there.
    for (state, f, account, mxid, hs, user, pw) in [
        (
            &sa,
            &fa,
            &anna.account_id,
            &alice,
            &hs_a,
            "alice",
            "alice long password",
        ),
        (
            &sb,
            &fb,
            &bruno.account_id,
            &bob,
            &hs_b,
            "bob",
            "bob long password",
        ),
    ] {
        let mut m = state.registrations.member(account).expect("m").expect("m");
        let refused = f.confirm_link(&mut m, "000000").await;
        assert!(refused.is_err(), "no code asked yet");
        f.start_link(&mut m, mxid).await.expect("link");
        let url = hs.url.clone();
        let code = tokio::task::block_in_place(|| nio(&["code", &url, user, pw]));
        assert_eq!(code.len(), 6, "{code}");
        assert!(f.confirm_link(&mut m, "999999x").await.is_err());
        f.confirm_link(&mut m, &code).await.expect("confirm");
        assert!(
            state
                .registrations
                .member(account)
                .expect("m")
                .expect("m")
                .matrix
                .expect("l")
                .verified
        );
    }

    // B's member finds A's patient, contactable, and asks.
    let anna_pseudonym = fa.keys.pseudonym(&anna.id, 0);
    let peer_a = format!("@raremesh:{}", hs_a.server_name);
    crate::pair::wait_for_contactable(&fb, &peer_a, &anna_pseudonym, 90).await;
    let bruno_member = sb
        .registrations
        .member(&bruno.account_id)
        .expect("m")
        .expect("m");
    let asked = fb
        .request_contact(&bruno_member, &bruno.id, &peer_a, &anna_pseudonym)
        .await
        .expect("request");
    assert!(
        fb.request_contact(&bruno_member, &bruno.id, &peer_a, &anna_pseudonym)
            .await
            .is_err(),
        "asking twice is refused"
    );
    wait_for("the request on A", 60, || {
        fa.contacts_of(&anna.account_id)
            .is_ok_and(|c| c.iter().any(|c| c.request == asked.request))
    })
    .await;
    // The mail to Anna's member follows the request (sent after it is stored): wait for it.
    wait_for("Anna's member told by mail", 60, || {
        std::fs::read_dir(sa.config.outbox_path()).is_ok_and(|d| d.count() >= 1)
    })
    .await;
    // Nothing about Anna went to B before she accepts.
    assert!(
        fb.contacts_of(&bruno.account_id).expect("c")[0]
            .room
            .is_none()
    );

    let anna_member = sa
        .registrations
        .member(&anna.account_id)
        .expect("m")
        .expect("m");
    let accepted = fa
        .answer_contact(&anna_member, &asked.request, true)
        .await
        .expect("accept");
    let room = accepted.room.expect("room");
    wait_for("the answer on B", 60, || {
        fb.contacts_of(&bruno.account_id)
            .is_ok_and(|c| c[0].status == raremesh::federation::ContactStatus::Accepted)
    })
    .await;

    // Both talk through a third-party client; the nodes are no longer in the room.
    let (ua, ub) = (hs_a.url.clone(), hs_b.url.clone());
    let out = tokio::task::block_in_place(|| {
        nio(&[
            "chat",
            &ua,
            "alice",
            "alice long password",
            &ub,
            "bob",
            "bob long password",
            &room,
        ])
    });
    let result: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        result["received"], "Hello from a member of the other organization",
        "{out}"
    );
    assert_eq!(result["encrypted_room"], true, "{out}");
    assert_eq!(result["was_encrypted"], true, "{out}");
    let members = result["members"].as_array().expect("members");
    assert_eq!(members.len(), 2, "only the two members remain: {out}");

    node_a.shut().await;
    node_b.shut().await;
}
