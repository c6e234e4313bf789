//! Hostile input to the federation, and a bad `[federation]` section (no homeserver).

use raremesh::config::{FederationConfig, PeerConfig, Secret};
use raremesh_bridge::event::{Incoming, Invitation};
use raremesh_bridge::protocol::{EVENT_TYPE, Payload};
use raremesh_bridge::rooms::RoomKind;
use raremesh_bridge::ruma::{OwnedRoomId, OwnedUserId};

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

/// A protocol event with a new event id each time.
fn event(sender: &str, content: serde_json::Value) -> Incoming {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let serde_json::Value::Object(content) = content else {
        panic!("event content is an object");
    };
    Incoming::message(
        id(&format!("$e{n}")),
        &id::<OwnedRoomId>("!room:b.test"),
        id(sender),
        EVENT_TYPE,
        content,
    )
}

/// A Matrix identifier of the test.
fn id<T: TryFrom<String>>(s: &str) -> T {
    T::try_from(s.to_owned()).unwrap_or_else(|_| panic!("{s} is a valid id"))
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
    let cases: Vec<(&str, Incoming, &str)> = vec![
        (
            "untrusted sender",
            event("@mallory:evil.test", good.clone()),
            "not a trusted peer",
        ),
        (
            "not an object",
            event("@raremesh:b.test", serde_json::json!({"hello": "world"})),
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
        let _ = i;
        let r = f.receive(&[e]).expect("receive");
        assert_eq!(r.stored, 0, "{what}: nothing stored");
        assert!(
            r.dropped.iter().any(|d| d.contains(reason)),
            "{what}: {:?} should say {reason:?}",
            r.dropped
        );
        assert!(f.store.remote_all().expect("all").is_empty(), "{what}");
    }
    // An invitation from a stranger is not followed.
    let node_user = id::<OwnedUserId>("@raremesh:a.test");
    let invite = Incoming::invitation(
        Some(id("$inv")),
        &id::<OwnedRoomId>("!x:evil.test"),
        id("@mallory:evil.test"),
        &node_user,
        Invitation {
            kind: Some(RoomKind::Federation),
            creator: Some(id("@mallory:evil.test")),
        },
    );
    let r = f.receive(&[invite]).expect("receive");
    assert!(r.dropped.iter().any(|d| d.contains("not a trusted peer")));
    // A trusted peer's invitation to a room without raremesh's room type (whatever its
    // name says) is not followed either.
    let named = Incoming::invitation(
        Some(id("$named")),
        &id::<OwnedRoomId>("!named:b.test"),
        id("@raremesh:b.test"),
        &node_user,
        Invitation {
            kind: None,
            creator: Some(id("@raremesh:b.test")),
        },
    );
    let r = f.receive(&[named]).expect("receive");
    assert!(
        r.dropped.iter().any(|d| d.contains("not a raremesh room")),
        "{:?}",
        r.dropped
    );
    assert_eq!(
        f.store
            .get(raremesh::federation::state::Key::PeerQaRoom(
                "@raremesh:b.test"
            ))
            .expect("get"),
        None
    );

    // The good event is stored once; the same event again (by push and sync, or a
    // retried transaction), a replay and an older revision change nothing.
    let first = event("@raremesh:b.test", good.clone());
    let r = f.receive(std::slice::from_ref(&first)).expect("r");
    assert_eq!(r.stored, 1);
    let r = f.receive(&[first]).expect("r");
    assert_eq!(
        (r.stored, r.stale, r.repeated),
        (0, 0, 1),
        "the same event is applied once"
    );
    let r = f.receive(&[event("@raremesh:b.test", good)]).expect("r");
    assert_eq!((r.stored, r.stale), (0, 1), "a replayed event is stale");
    let older = sealed(
        vec![Op::Upsert(vector(&["HP:0001250", "HP:0001252"], 4))],
        &me,
    );
    let r = f.receive(&[event("@raremesh:b.test", older)]).expect("r");
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
    f.receive(&[event("@raremesh:b.test", retract)]).expect("r");
    assert!(f.store.remote_all().expect("all").is_empty());
    let again = sealed(vec![Op::Upsert(vector(&["HP:0001250"], 5))], &me);
    let r = f.receive(&[event("@raremesh:b.test", again)]).expect("r");
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

/// A homeserver numbers its transactions from 1 again after a restart: a transaction id
/// seen before is no reason to skip its events (each is applied once by event id).
#[tokio::test]
async fn a_reused_transaction_id_with_new_events_is_applied() {
    use raremesh_bridge::protocol::{Op, Vector};
    use raremesh_bridge::seal::{seal, to_content};
    let (node, _peer) = hostile_setup();
    let f = node.state.federation.clone().expect("federation");
    let me: age::x25519::Recipient = f.keys.public_key().parse().expect("key");
    let push = |event_id: &str, pseudonym: &str| {
        let content = to_content(
            &seal(
                &Payload::Update {
                    ops: vec![Op::Upsert(Vector {
                        pseudonym: pseudonym.into(),
                        rev: 1,
                        terms: vec!["HP:0001250".into()],
                        excluded: Vec::new(),
                        orpha: None,
                        age_band: None,
                        contactable: false,
                    })],
                },
                std::slice::from_ref(&me),
            )
            .expect("seal"),
        )
        .expect("content");
        let body = serde_json::json!({"events": [{
            "type": "org.raremesh.batch", "sender": "@raremesh:b.test",
            "room_id": "!room:b.test", "event_id": event_id, "content": content,
            "origin_server_ts": 1
        }]});
        axum::http::Request::put("/_matrix/app/v1/transactions/1")
            .header("content-type", "application/json")
            .header("authorization", "Bearer hs-token-0123456789abcdef")
            .body(axum::body::Body::from(body.to_string()))
            .expect("req")
    };
    let (s, _, _) = node
        .send(push("$before", "0123456789abcdef0123456789abcdef"))
        .await;
    assert_eq!(s.as_u16(), 200);
    // The homeserver restarted: transaction 1 again, with other events.
    let (s, _, _) = node
        .send(push("$after", "fedcba9876543210fedcba9876543210"))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(f.store.remote_all().expect("all").len(), 2);
    // A retry of the same transaction changes nothing.
    let (s, _, _) = node
        .send(push("$after", "fedcba9876543210fedcba9876543210"))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(f.store.remote_all().expect("all").len(), 2);
    // An event without a sender is refused, never taken for one from an empty sender.
    let bad = serde_json::json!({"events": [{"type": "org.raremesh.batch", "room_id": "!room:b.test", "event_id": "$nosender", "content": {}}]});
    let (s, _, _) = node
        .send(
            axum::http::Request::put("/_matrix/app/v1/transactions/2")
                .header("content-type", "application/json")
                .header("authorization", "Bearer hs-token-0123456789abcdef")
                .body(axum::body::Body::from(bad.to_string()))
                .expect("req"),
        )
        .await;
    assert_eq!(
        s.as_u16(),
        200,
        "acknowledged: retrying cannot make it valid"
    );
    assert!(!f.store.applied("$nosender").expect("applied"));
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
