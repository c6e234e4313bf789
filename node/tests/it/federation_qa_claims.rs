//! Q&A events a trusted partner could forge in its own room, aimed at content of other
//! rooms, and rooms it could claim: all refused.

use raremesh::accounts::Role;
use raremesh::qa::{actions, moderation};
use raremesh_bridge::ruma::events::TimelineEventType;
use serde_json::json;

/// Events a trusted partner could forge in its own room, aimed at content of other rooms,
/// and rooms it could claim: all refused, delivered as homeserver transactions.
#[tokio::test]
async fn a_partner_cannot_reach_into_other_rooms_or_claim_them() {
    let (node, _) = crate::federation_hostile::hostile_setup();
    let state = node.state.clone();
    let f = state.federation.clone().expect("federation");
    let peer = "@raremesh:b.test";
    f.store
        .set(raremesh::federation::state::Key::OwnQaRoom, "!qa:a.test")
        .expect("set");
    f.store
        .set(
            raremesh::federation::state::Key::PeerQaRoom(peer),
            "!qb:b.test",
        )
        .expect("set");
    // A local question, shared in A's room.
    let (account, _) = node.account("asker@a.test", Role::Member, true);
    node.approve(&node.patient(&account, "Child", &["HP:0001250"]));
    let m = state.registrations.member(&account).expect("m").expect("m");
    let mut q = actions::ask(
        &state.qa,
        &m,
        &actions::Draft {
            title: "Local question".into(),
            body: "Local text".into(),
            ..Default::default()
        },
    )
    .expect("ask");
    q.room = Some("!qa:a.test".into());
    q.event_id = Some("$aq".into());
    state.qa.store.save_question(&q).expect("save");
    f.store
        .set(
            raremesh::federation::state::Key::QaEvent("$aq"),
            &format!("q/{}", q.id),
        )
        .expect("map");
    let ev = |kind: &str, room: &str, id: &str, content: serde_json::Value| json!({ "type": kind, "sender": peer, "room_id": room, "event_id": id, "content": content });
    let wire = |id: &str, title: &str| {
        json!({ "msgtype": "m.text", "body": "text", "org.raremesh.qa.question": {
            "id": id, "title": title, "body": "Partner text", "tags": ["HP:0001250"],
            "language": "en", "author": "Coral Owl 7", "created_at": 1 } })
    };
    let events = vec![
        // A question of B, in B's room: stored.
        ev(
            "m.room.message",
            "!qb:b.test",
            "$bq",
            wire("partnerquestion1", "Partner question"),
        ),
        // A title on two lines: refused.
        ev(
            "m.room.message",
            "!qb:b.test",
            "$bq2",
            wire("partnerquestion2", "Line one\nLine two"),
        ),
        // A redaction in B's room of A's question: refused.
        json!({ "type": "m.room.redaction", "sender": peer, "room_id": "!qb:b.test",
                "event_id": "$r1", "redacts": "$aq", "content": {} }),
        // A reply in B's room to A's question: refused.
        ev(
            "m.room.message",
            "!qb:b.test",
            "$x1",
            json!({ "msgtype": "m.text", "body": "sneaky",
            "m.relates_to": { "rel_type": "m.thread", "event_id": "$aq" } }),
        ),
        // An edit in B's room of A's question: refused.
        ev(
            "m.room.message",
            "!qb:b.test",
            "$x2",
            json!({ "msgtype": "m.text", "body": "* x",
            "m.new_content": wire(&q.id, "Rewritten"),
            "m.relates_to": { "rel_type": "m.replace", "event_id": "$aq" } }),
        ),
        // B sends a question into A's room: refused (only A asks in A's room).
        ev(
            "m.room.message",
            "!qa:a.test",
            "$x3",
            wire("partnerquestion3", "In A's room"),
        ),
        // B claims a room it did not create as its Q&A room: ignored.
        json!({ "type": "m.room.member", "sender": peer, "room_id": "!other:c.test",
                "event_id": "$i1", "state_key": f.config.user_id(),
                "content": { "membership": "invite" },
                "unsigned": { "invite_room_state": [
                    { "type": "m.room.name", "sender": "@someone:c.test", "state_key": "",
                      "content": { "name": raremesh::federation::qa::QA_ROOM_NAME } },
                    { "type": "m.room.create", "sender": "@someone:c.test", "state_key": "",
                      "content": {} } ] } }),
    ];
    let r = f.receive(&parse(&events)).expect("receive");
    assert_eq!(r.dropped.len(), 6, "{:?}", r.dropped);
    let local = state.qa.store.question(&q.id).expect("q").expect("q");
    assert!(local.hidden.is_none() && local.title == "Local question");
    assert!(state.qa.store.answers_of(&q.id).expect("a").is_empty());
    assert!(
        state
            .qa
            .store
            .question("partnerquestion2")
            .expect("q")
            .is_none()
    );
    assert!(
        state
            .qa
            .store
            .question("partnerquestion3")
            .expect("q")
            .is_none()
    );
    assert_eq!(f.qa_room_owner("!other:c.test").expect("o"), None);
    // B's question, hidden here by a validator, stays hidden when B sends it again.
    let partner = state
        .qa
        .store
        .question("partnerquestion1")
        .expect("q")
        .expect("stored");
    assert_eq!(partner.origin.as_deref(), Some(peer));
    let (validator, _) = node.account("validator@a.test", Role::Validator, false);
    moderation::moderate(&state.qa, &validator, &partner.id, None, true, "Off topic")
        .expect("hide");
    let again = vec![ev(
        "m.room.message",
        "!qb:b.test",
        "$bq3",
        wire("partnerquestion1", "Partner question"),
    )];
    f.receive(&parse(&again)).expect("receive");
    let partner = state
        .qa
        .store
        .question("partnerquestion1")
        .expect("q")
        .expect("q");
    assert_eq!(
        partner.hidden.map(|h| h.reason).as_deref(),
        Some("Off topic")
    );

    // A member of B writes from a Matrix app on A's question (in A's room): stored under a
    // pseudonym; their own edit applies; their redaction deletes it here.
    let bob = "@bob:b.test";
    let from_bob = |id: &str, content: serde_json::Value| json!({ "type": "m.room.message", "sender": bob, "room_id": "!qa:a.test", "event_id": id, "content": content });
    let events = vec![
        from_bob(
            "$b1",
            json!({ "msgtype": "m.text", "body": "First words",
            "m.relates_to": { "rel_type": "m.thread", "event_id": "$aq" } }),
        ),
        from_bob(
            "$b2",
            json!({ "msgtype": "m.text", "body": "* Better words",
            "m.new_content": { "msgtype": "m.text", "body": "Better words" },
            "m.relates_to": { "rel_type": "m.replace", "event_id": "$b1" } }),
        ),
    ];
    let r = f.receive(&parse(&events)).expect("receive");
    assert!(r.dropped.is_empty(), "{:?}", r.dropped);
    let a = state.qa.store.answers_of(&q.id).expect("a").remove(0);
    assert_eq!(a.body, "Better words");
    assert!(a.edited_at.is_some());
    assert_eq!(a.author, state.qa.store.display_name(bob));
    assert!(!a.author.contains("bob"));
    let redact = vec![
        json!({ "type": "m.room.redaction", "sender": bob, "room_id": "!qa:a.test",
        "event_id": "$b3", "redacts": "$b1", "content": {} }),
    ];
    f.receive(&parse(&redact)).expect("receive");
    let a = state.qa.store.answers_of(&q.id).expect("a").remove(0);
    assert!(a.body.is_empty() && a.hidden.is_some_and(|h| h.deleted));

    // B withdraws its question, already hidden here: the text goes, this node's hide stays;
    // nothing to restore while the text is gone; sent again, it is still hidden here.
    let withdraw = vec![
        json!({ "type": "m.room.redaction", "sender": peer, "room_id": "!qb:b.test",
        "event_id": "$r9", "redacts": "$bq3", "content": {} }),
    ];
    f.receive(&parse(&withdraw)).expect("receive");
    let p1 = state
        .qa
        .store
        .question("partnerquestion1")
        .expect("q")
        .expect("q");
    assert!(p1.title.is_empty() && p1.body.is_empty());
    assert_eq!(p1.hidden.map(|h| h.reason).as_deref(), Some("Off topic"));
    assert!(
        moderation::moderate(
            &state.qa,
            &validator,
            "partnerquestion1",
            None,
            false,
            "Back"
        )
        .is_err()
    );
    let again = vec![ev(
        "m.room.message",
        "!qb:b.test",
        "$bq4",
        wire("partnerquestion1", "Partner question"),
    )];
    f.receive(&parse(&again)).expect("receive");
    let p1 = state
        .qa
        .store
        .question("partnerquestion1")
        .expect("q")
        .expect("q");
    assert_eq!(p1.title, "Partner question");
    assert_eq!(p1.hidden.map(|h| h.reason).as_deref(), Some("Off topic"));
}

fn parse(events: &[serde_json::Value]) -> Vec<raremesh_bridge::event::Incoming> {
    events
        .iter()
        .map(|e| raremesh_bridge::event::Incoming::parse(e, None).expect("a valid envelope"))
        .collect()
}

/// In encrypted Q&A rooms a node writes through its device (`@<node>-device:<server>`):
/// a trusted peer's device writes for that peer and no one else, another server's device
/// for no one; a question moves only to its node's current Q&A room; the redactions that
/// clear a replaced plain room withdraw nothing; an encrypted event handed over by the
/// homeserver is not taken as applied, so its decrypted copy (same id) still is.
#[tokio::test]
async fn devices_write_for_their_own_node_only() {
    let (node, _) = crate::federation_hostile::hostile_setup();
    let state = node.state.clone();
    let f = state.federation.clone().expect("federation");
    let peer = "@raremesh:b.test";
    let peer_device = "@raremesh-device:b.test";
    f.store
        .set(raremesh::federation::state::Key::OwnQaRoom, "!qa:a.test")
        .expect("set");
    f.store
        .set(
            raremesh::federation::state::Key::PeerQaRoom(peer),
            "!qb:b.test",
        )
        .expect("set");
    let (account, _) = node.account("asker@a.test", Role::Member, true);
    node.approve(&node.patient(&account, "Child", &["HP:0001250"]));
    let m = state.registrations.member(&account).expect("m").expect("m");
    let local = actions::ask(
        &state.qa,
        &m,
        &actions::Draft {
            title: "Local question".into(),
            body: "Local text".into(),
            ..Default::default()
        },
    )
    .expect("ask");
    let ev = |sender: &str, kind: &str, room: &str, id: &str, content: serde_json::Value| json!({ "type": kind, "sender": sender, "room_id": room, "event_id": id, "content": content });
    let wire = |id: &str, title: &str| {
        json!({ "msgtype": "m.text", "body": "text", "org.raremesh.qa.question": {
            "id": id, "title": title, "body": "Partner text", "tags": ["HP:0001250"],
            "language": "en", "author": "Coral Owl 7", "created_at": 1 } })
    };
    let encrypted = json!({ "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA" });
    let (message, encrypted_kind, redaction) = (
        TimelineEventType::RoomMessage.to_string(),
        TimelineEventType::RoomEncrypted.to_string(),
        TimelineEventType::RoomRedaction.to_string(),
    );
    let events = vec![
        // Handed over encrypted by the homeserver: left for the device.
        ev(peer_device, &encrypted_kind, "!qb:b.test", "$d1", encrypted),
        // The same event, decrypted by the device: B's question.
        ev(
            peer_device,
            &message,
            "!qb:b.test",
            "$d1",
            wire("devicequestion1", "From B's device"),
        ),
        // B's device asking in A's room: refused (only A asks there).
        ev(
            peer_device,
            &message,
            "!qa:a.test",
            "$d2",
            wire("devicequestion2", "In A's room"),
        ),
        // A device of another server, in B's room: refused.
        ev(
            "@raremesh-device:c.test",
            &message,
            "!qb:b.test",
            "$d3",
            wire("devicequestion3", "From C"),
        ),
        // A user of B's server named like a device of someone else: refused.
        ev(
            "@evil-device:b.test",
            &message,
            "!qb:b.test",
            "$d4",
            wire("devicequestion4", "From evil"),
        ),
        // B's device claiming A's question as B's: refused.
        ev(
            peer_device,
            &message,
            "!qb:b.test",
            "$d5",
            wire(&local.id, "Taken over"),
        ),
    ];
    let r = f.receive(&parse(&events)).expect("receive");
    assert_eq!(r.dropped.len(), 4, "{:?}", r.dropped);
    let from_device = state
        .qa
        .store
        .question("devicequestion1")
        .expect("q")
        .expect("the decrypted copy is applied");
    assert_eq!(from_device.origin.as_deref(), Some(peer), "written for B");
    for id in ["devicequestion2", "devicequestion3", "devicequestion4"] {
        assert!(state.qa.store.question(id).expect("q").is_none(), "{id}");
    }
    let still = state.qa.store.question(&local.id).expect("q").expect("q");
    assert_eq!(still.title, "Local question");
    assert_eq!(still.origin, None);

    // B's plain room is replaced: a redaction clearing it withdraws nothing; the question
    // sent again elsewhere than B's Q&A room is refused, in B's new room it moves there.
    let moved = vec![
        json!({ "type": redaction, "sender": peer, "room_id": "!qb:b.test",
        "event_id": "$d6", "redacts": "$d1",
        "content": { "reason": raremesh::federation::qa::MOVED_REASON } }),
    ];
    let r = f.receive(&parse(&moved)).expect("receive");
    assert!(r.dropped.is_empty(), "{:?}", r.dropped);
    let q = state
        .qa
        .store
        .question("devicequestion1")
        .expect("q")
        .expect("q");
    assert!(q.hidden.is_none() && q.title == "From B's device");
    f.store
        .set(
            raremesh::federation::state::Key::PeerQaRoom(peer),
            "!qb2:b.test",
        )
        .expect("set");
    let r = f
        .receive(&parse(&[ev(
            peer_device,
            &message,
            "!qb2:b.test",
            "$d7",
            wire("devicequestion1", "From B's device"),
        )]))
        .expect("receive");
    assert!(r.dropped.is_empty(), "{:?}", r.dropped);
    let q = state
        .qa
        .store
        .question("devicequestion1")
        .expect("q")
        .expect("q");
    assert_eq!(q.room.as_deref(), Some("!qb2:b.test"));
    assert_eq!(q.event_id.as_deref(), Some("$d7"));
}
