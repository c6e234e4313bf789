use age::x25519::Identity;
use raremesh_bridge::Error;
use raremesh_bridge::batch::seal_all;
use raremesh_bridge::limits::MAX_CONTENT_BYTES;
use raremesh_bridge::protocol::{AgeBand, Op, Payload, Vector};
use raremesh_bridge::seal::{open, seal, to_content};
use serde_json::json;

fn vector(i: u64) -> Vector {
    Vector {
        pseudonym: format!("{i:032x}"),
        rev: 1,
        terms: vec![
            "HP:0001250".into(),
            "HP:0001252".into(),
            format!("HP:{:07}", 3_000_000 + i),
        ],
        excluded: vec!["HP:0000365".into()],
        orpha: Some(558),
        age_band: Some(AgeBand::Child),
        contactable: true,
    }
}

#[test]
fn a_sealed_batch_opens_for_each_peer_and_no_one_else() {
    let (b, c, outsider) = (
        Identity::generate(),
        Identity::generate(),
        Identity::generate(),
    );
    let payload = Payload::Update {
        ops: vec![
            Op::Upsert(vector(1)),
            Op::Retract {
                pseudonym: format!("{:032x}", 2),
                rev: 7,
            },
        ],
    };
    let content = to_content(&seal(&payload, &[b.to_public(), c.to_public()]).unwrap()).unwrap();
    let text = content.to_string();
    assert!(
        !text.contains("HP:0001250") && !text.contains("orpha"),
        "ciphertext only"
    );
    for id in [&b, &c] {
        let (_, got) = open(&content, id).unwrap();
        assert_eq!(got, payload);
    }
    assert!(matches!(open(&content, &outsider), Err(Error::Decrypt(_))));
}

#[test]
fn bad_events_are_refused_with_a_reason() {
    let me = Identity::generate();
    let good = to_content(
        &seal(
            &Payload::Update {
                ops: vec![Op::Upsert(vector(3))],
            },
            &[me.to_public()],
        )
        .unwrap(),
    )
    .unwrap();
    let mut v2 = good.clone();
    v2["v"] = json!(2);
    assert!(matches!(open(&v2, &me), Err(Error::Version(2))));
    let mut extra = good.clone();
    extra["note"] = json!("hello");
    assert!(matches!(open(&extra, &me), Err(Error::Malformed(_))));
    let mut float = good.clone();
    float["v"] = json!(1.5);
    assert!(matches!(open(&float, &me), Err(Error::NotCanonical(_))));
    let not_base64 = json!({"v": 1, "batch": "x", "ciphertext": "%%%"});
    assert!(matches!(open(&not_base64, &me), Err(Error::Malformed(_))));
    let huge = json!({"v": 1, "batch": "x", "ciphertext": "A".repeat(70_000)});
    assert!(matches!(open(&huge, &me), Err(Error::TooLarge { .. })));
    assert!(matches!(
        open(&json!("just a string"), &me),
        Err(Error::Malformed(_))
    ));
    // Well sealed, but breaking the payload's rules.
    for bad in [
        Vector {
            pseudonym: "Alice Smith".into(),
            ..vector(1)
        },
        Vector {
            terms: vec!["HP:12".into()],
            ..vector(1)
        },
        Vector {
            terms: vec![],
            ..vector(1)
        },
        Vector {
            terms: vec!["HP:0001250".into(), "HP:0001250".into()],
            ..vector(1)
        },
        Vector {
            terms: (0..501).map(|i| format!("HP:{i:07}")).collect(),
            ..vector(1)
        },
    ] {
        let content = to_content(
            &seal(
                &Payload::Update {
                    ops: vec![Op::Upsert(bad.clone())],
                },
                &[me.to_public()],
            )
            .unwrap(),
        )
        .unwrap();
        assert!(
            matches!(open(&content, &me), Err(Error::Invalid(_))),
            "{bad:?}"
        );
    }
    // A payload with a field the protocol does not have (free text, say) is refused.
    let sneaky = serde_json::to_vec(&json!({"kind": "update", "ops": [
        {"op": "upsert", "pseudonym": format!("{:032x}", 1), "rev": 1, "terms": ["HP:0001250"], "name": "Alice"}
    ]}))
    .unwrap();
    let enc =
        age::Encryptor::with_recipients(std::iter::once(&me.to_public() as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    std::io::Write::write_all(&mut w, &sneaky).unwrap();
    w.finish().unwrap();
    use base64::Engine;
    let content = json!({"v": 1, "batch": "b", "ciphertext": base64::engine::general_purpose::STANDARD.encode(out)});
    assert!(matches!(open(&content, &me), Err(Error::Malformed(_))));
}

#[test]
fn ten_thousand_vectors_split_into_events_that_fit() {
    let peers: Vec<_> = (0..3).map(|_| Identity::generate()).collect();
    let recipients: Vec<_> = peers.iter().map(Identity::to_public).collect();
    let ops: Vec<Op> = (0..10_000).map(|i| Op::Upsert(vector(i))).collect();
    let events = seal_all(ops, &recipients, |ops, _, _| Payload::Update { ops }).unwrap();
    let mut seen = 0;
    for e in &events {
        let size = serde_json::to_vec(e).unwrap().len();
        assert!(size <= MAX_CONTENT_BYTES, "{size}");
        let (_, Payload::Update { ops }) = open(&to_content(e).unwrap(), &peers[2]).unwrap() else {
            panic!("an update")
        };
        seen += ops.len();
    }
    assert_eq!(seen, 10_000);
    let bytes: usize = events
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap().len())
        .sum();
    println!(
        "10,000 vectors: {} events, {:.0} bytes of event content per vector",
        events.len(),
        bytes as f64 / 10_000.0
    );
}
