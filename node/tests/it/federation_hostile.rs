//! Hostile input to the federation, and a bad `[federation]` section (no homeserver).

use raremesh::config::{FederationConfig, PeerConfig, Secret};
use raremesh_bridge::protocol::Payload;

/// A node with federation configured toward a homeserver that is never called, and the
/// identity of its one trusted peer.
pub fn hostile_setup() -> (crate::validation::Node, age::x25519::Identity) {
    let peer = age::x25519::Identity::generate();
    let key = peer.to_public().to_string();
    let node = crate::validation::Node::new(move |c| {
        c.federation = FederationConfig {
            enabled: true,
            homeserver_url: "http://127.0.0.1:9".into(),
            server_name: "a.test".into(),
            as_token: Secret::from("as-token-0123456789abcdef".to_owned()),
            hs_token: Secret::from("hs-token-0123456789abcdef".to_owned()),
            peers: vec![PeerConfig {
                name: "Organization B".into(),
                user_id: "@raremesh:b.test".into(),
                age_key: key,
            }],
            ..Default::default()
        };
    });
    (node, peer)
}

fn event(sender: &str, content: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "type": "org.raremesh.batch",
        "sender": sender,
        "room_id": "!room:b.test",
        "event_id": "$e",
        "content": content,
    })
}

#[tokio::test]
async fn hostile_events_are_dropped_with_a_reason() {
    use raremesh_bridge::protocol::{Op, Vector};
    use raremesh_bridge::seal::{seal, to_content};
    let (node, _peer) = hostile_setup();
    let f = node.state.federation.clone().expect("federation");
    let me: age::x25519::Recipient = f.keys.public_key().parse().expect("key");
    let vector = |terms: &[&str], rev: u64| Vector {
        pseudonym: "0123456789abcdef0123456789abcdef".into(),
        rev,
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        excluded: Vec::new(),
        orpha: None,
        age_band: None,
        contactable: false,
    };
    let sealed = |ops: Vec<Op>, to: &age::x25519::Recipient| {
        to_content(&seal(&Payload::Update { ops }, std::slice::from_ref(to)).expect("seal"))
            .expect("content")
    };
    let good = sealed(vec![Op::Upsert(vector(&["HP:0001250"], 5))], &me);
    let stranger = age::x25519::Identity::generate().to_public();
    let mut v2 = good.clone();
    v2["v"] = serde_json::json!(2);
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "untrusted sender",
            event("@mallory:evil.test", good.clone()),
            "not a trusted peer",
        ),
        (
            "not an object",
            event("@raremesh:b.test", serde_json::json!("hello")),
            "malformed",
        ),
        (
            "missing fields",
            event("@raremesh:b.test", serde_json::json!({"v": 1})),
            "malformed",
        ),
        ("wrong version", event("@raremesh:b.test", v2), "version 2"),
        (
            "oversized",
            event(
                "@raremesh:b.test",
                serde_json::json!({"v": 1, "batch": "x", "ciphertext": "A".repeat(70_000)}),
            ),
            "Matrix accepts at most",
        ),
        (
            "sealed for another node",
            event(
                "@raremesh:b.test",
                sealed(vec![Op::Upsert(vector(&["HP:0001250"], 5))], &stranger),
            ),
            "does not decrypt",
        ),
        (
            "unknown HPO id",
            event(
                "@raremesh:b.test",
                sealed(vec![Op::Upsert(vector(&["HP:9999999"], 5))], &me),
            ),
            "not a term of this node's HPO release",
        ),
        (
            "free text in a vector",
            event(
                "@raremesh:b.test",
                sealed(
                    vec![Op::Upsert(Vector {
                        pseudonym: "Alice Smith".into(),
                        ..vector(&["HP:0001250"], 5)
                    })],
                    &me,
                ),
            ),
            "not 32 lowercase hex digits",
        ),
    ];
    for (i, (what, e, reason)) in cases.into_iter().enumerate() {
        let r = f
            .receive(&node.state, &format!("t{i}"), &[e])
            .expect("receive");
        assert_eq!(r.stored, 0, "{what}: nothing stored");
        assert!(
            r.dropped.iter().any(|d| d.contains(reason)),
            "{what}: {:?} should say {reason:?}",
            r.dropped
        );
        assert!(f.store.remote_all().expect("all").is_empty(), "{what}");
    }
    // An invitation from a stranger is not followed.
    let invite = serde_json::json!({"type": "m.room.member", "sender": "@mallory:evil.test", "state_key": "@raremesh:a.test", "room_id": "!x:evil.test", "content": {"membership": "invite"}});
    let r = f.receive(&node.state, "inv", &[invite]).expect("receive");
    assert!(r.dropped.iter().any(|d| d.contains("not a trusted peer")));

    // The good event is stored once; a replay and an older revision change nothing.
    let r = f
        .receive(
            &node.state,
            "ok",
            &[event("@raremesh:b.test", good.clone())],
        )
        .expect("r");
    assert_eq!(r.stored, 1);
    let r = f
        .receive(
            &node.state,
            "ok",
            &[event("@raremesh:b.test", good.clone())],
        )
        .expect("r");
    assert_eq!(
        (r.stored, r.stale),
        (0, 0),
        "the same transaction is applied once"
    );
    let r = f
        .receive(&node.state, "replay", &[event("@raremesh:b.test", good)])
        .expect("r");
    assert_eq!((r.stored, r.stale), (0, 1), "a replayed event is stale");
    let older = sealed(
        vec![Op::Upsert(vector(&["HP:0001250", "HP:0001252"], 4))],
        &me,
    );
    let r = f
        .receive(&node.state, "older", &[event("@raremesh:b.test", older)])
        .expect("r");
    assert_eq!((r.stored, r.stale), (0, 1));
    let all = f.store.remote_all().expect("all");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].vector.terms, vec!["HP:0001250"]);
    // A retraction with a newer revision removes it; the tombstone refuses the old one.
    let retract = sealed(
        vec![Op::Retract {
            pseudonym: all[0].vector.pseudonym.clone(),
            rev: 6,
        }],
        &me,
    );
    f.receive(
        &node.state,
        "retract",
        &[event("@raremesh:b.test", retract)],
    )
    .expect("r");
    assert!(f.store.remote_all().expect("all").is_empty());
    let again = sealed(vec![Op::Upsert(vector(&["HP:0001250"], 5))], &me);
    let r = f
        .receive(&node.state, "again", &[event("@raremesh:b.test", again)])
        .expect("r");
    assert_eq!(r.stale, 1);
    assert!(f.store.remote_all().expect("all").is_empty());

    // The endpoint refuses a homeserver without the right token.
    for (auth, want) in [
        (None, 401),
        (Some("Bearer wrong-token-wrong-token"), 403),
        (Some("Bearer hs-token-0123456789abcdef"), 200),
    ] {
        let mut req = axum::http::Request::put("/_matrix/app/v1/transactions/http1")
            .header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let (s, _, _) = node
            .send(
                req.body(axum::body::Body::from(r#"{"events": []}"#))
                    .expect("req"),
            )
            .await;
        assert_eq!(s.as_u16(), want, "{auth:?}");
    }
}

#[tokio::test]
async fn a_bad_federation_section_leaves_members_served() {
    let node = crate::validation::Node::new(|c| {
        c.federation.enabled = true;
        c.federation.homeserver_url = "matrix.example.org".into();
    });
    assert!(node.state.federation.is_none());
    let why = node.state.federation_problem.clone().expect("a problem");
    assert!(why.contains("federation.homeserver_url"), "{why}");
    let (s, _, _) = node
        .send(
            axum::http::Request::get("/healthz")
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(s.as_u16(), 200);
}
