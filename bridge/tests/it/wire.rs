//! The wire format, as stored snapshots (`snapshots/`): every payload kind and the event
//! content that carries it. A change here changes what partner nodes receive; it shows in
//! review as a changed snapshot, and needs a new protocol version if old nodes cannot read
//! it.

use raremesh_bridge::protocol::{
    AgeBand, BatchEventContent, Bin, CountStatus, DistributionStatus, EVENT_TYPE, Op, Payload,
    ResearchCriteria, VERSION, Vector,
};

const ID: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";

fn vector(contactable: bool) -> Vector {
    Vector {
        pseudonym: ID.into(),
        rev: 1_700_000_000_000,
        terms: vec!["HP:0001250".into(), "HP:0001263".into()],
        excluded: vec!["HP:0000252".into()],
        orpha: Some(558),
        age_band: Some(AgeBand::Child),
        contactable,
    }
}

/// One payload of each kind, each valid by the protocol's own checks.
fn payloads() -> Vec<(&'static str, Payload)> {
    vec![
        (
            "update",
            Payload::Update {
                ops: vec![
                    Op::Upsert(vector(true)),
                    Op::Upsert(Vector {
                        pseudonym: OTHER.into(),
                        rev: 2,
                        terms: vec!["HP:0001250".into()],
                        excluded: Vec::new(),
                        orpha: None,
                        age_band: None,
                        contactable: false,
                    }),
                    Op::Retract {
                        pseudonym: OTHER.into(),
                        rev: 3,
                    },
                ],
            },
        ),
        (
            "snapshot_request",
            Payload::SnapshotRequest {
                request: ID.into(),
                since: Default::default(),
            },
        ),
        (
            "snapshot_request_since",
            Payload::SnapshotRequest {
                request: ID.into(),
                since: [("@raremesh:b.example.org".to_owned(), 1_700_000_000_500)].into(),
            },
        ),
        (
            "qa_resend",
            Payload::QaResend {
                room: "!qa:a.example.org".into(),
            },
        ),
        (
            "snapshot",
            Payload::Snapshot {
                request: ID.into(),
                part: 0,
                last: true,
                as_of: 1_700_000_000_500,
                ops: vec![Op::Upsert(vector(false))],
                since: None,
            },
        ),
        (
            "snapshot_changes",
            Payload::Snapshot {
                request: ID.into(),
                part: 0,
                last: true,
                as_of: 1_700_000_009_000,
                ops: vec![
                    Op::Upsert(vector(true)),
                    Op::Retract {
                        pseudonym: OTHER.into(),
                        rev: 1_700_000_008_000,
                    },
                ],
                since: Some(1_699_999_999_000),
            },
        ),
        (
            "contact_request",
            Payload::ContactRequest {
                request: ID.into(),
                from: OTHER.into(),
                to: ID.into(),
            },
        ),
        (
            "contact_answer",
            Payload::ContactAnswer {
                request: ID.into(),
                accepted: true,
                room: Some("!room:b.example.org".into()),
            },
        ),
        (
            "research_query",
            Payload::ResearchQuery {
                query: ID.into(),
                researcher: OTHER.into(),
                criteria: ResearchCriteria {
                    symptom: Some("HP:0001250".into()),
                    orpha: Some(558),
                    age_band: Some(AgeBand::Teen),
                },
            },
        ),
        (
            "research_answer",
            Payload::ResearchAnswer {
                query: ID.into(),
                count: Some(12),
                status: CountStatus::Ok,
                k: 5,
            },
        ),
        (
            "distribution_query",
            Payload::DistributionQuery {
                query: ID.into(),
                questionnaire: "daily-life".into(),
                question: "sleep".into(),
                orpha: Some(558),
            },
        ),
        (
            "distribution_answer",
            Payload::DistributionAnswer {
                query: ID.into(),
                status: DistributionStatus::Ok,
                answered: 9,
                bins: vec![
                    Bin {
                        label: "Well".into(),
                        count: 6,
                    },
                    Bin {
                        label: "Badly".into(),
                        count: 3,
                    },
                ],
            },
        ),
    ]
}

#[test]
fn every_payload_kind_keeps_its_wire_form() {
    for (name, payload) in payloads() {
        payload.check().expect("a valid payload");
        insta::assert_json_snapshot!(format!("payload_{name}"), payload);
        // What is sent is what is read back.
        let text = serde_json::to_string(&payload).expect("json");
        assert_eq!(
            serde_json::from_str::<Payload>(&text).expect("read back"),
            payload
        );
    }
}

#[test]
fn a_resend_request_names_a_room() {
    for room in ["", "qa:a.example.org", "!", "#alias:a.example.org"] {
        let p = Payload::QaResend { room: room.into() };
        assert!(p.check().is_err(), "{room:?} taken for a room id");
    }
}

#[test]
fn the_event_that_carries_a_batch_keeps_its_wire_form() {
    let content = BatchEventContent {
        v: VERSION.try_into().expect("version"),
        batch: ID.into(),
        ciphertext: "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOQ".into(),
        to: None,
    };
    insta::assert_json_snapshot!("batch_event_content", content);
    let addressed = BatchEventContent {
        to: Some("@raremesh:b.example.org".into()),
        ..content
    };
    insta::assert_json_snapshot!("batch_event_content_addressed", addressed);
    insta::assert_snapshot!("batch_event_type", EVENT_TYPE);
}

#[test]
fn statuses_a_newer_node_may_send_read_as_the_safe_answer() {
    let count: Payload = serde_json::from_value(serde_json::json!({
        "kind": "research_answer", "query": ID, "status": "budget_spent", "k": 5
    }))
    .expect("known status");
    assert!(matches!(
        count,
        Payload::ResearchAnswer {
            status: CountStatus::BudgetSpent,
            ..
        }
    ));
    let newer: Payload = serde_json::from_value(serde_json::json!({
        "kind": "research_answer", "query": ID, "status": "rate_limited", "k": 5
    }))
    .expect("unknown status");
    assert!(matches!(
        newer,
        Payload::ResearchAnswer {
            status: CountStatus::Unsupported,
            ..
        }
    ));
    let newer: Payload = serde_json::from_value(serde_json::json!({
        "kind": "distribution_answer", "query": ID, "status": "busy", "answered": 0
    }))
    .expect("unknown status");
    assert!(matches!(
        newer,
        Payload::DistributionAnswer {
            status: DistributionStatus::UnknownQuestion,
            ..
        }
    ));
}
