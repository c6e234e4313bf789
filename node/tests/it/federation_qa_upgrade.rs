//! A Q&A room of an earlier release (not encrypted, its questions in clear) is replaced by
//! an end-to-end encrypted one at the first start of this release, on two real Synapse
//! homeservers: the questions are sent again there, the partner keeps one copy of each and
//! sends its answers again in the new threads, and the old room's copies are redacted.

use raremesh::federation::qa::QA_ROOM_NAME;
use raremesh::federation::state::{Key, Kind};
use raremesh::qa::actions;
use raremesh_bridge::client::NewRoom;
use raremesh_bridge::rooms::RoomKind;
use raremesh_bridge::ruma::events::TimelineEventType;
use serde_json::json;

use crate::pair::{Side, member, run, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_qa_room_of_an_earlier_release_is_replaced_by_an_encrypted_one() {
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let config_a = a.config(&hs_a, &b, &hs_b);
    let node_b = run(b.config(&hs_b, &a, &hs_a)).await;
    let sb = node_b.state.clone();
    let fb = sb.federation.clone().expect("b");
    let bruno = member(
        &sb,
        "bruno@b.example.org",
        "Brunochild",
        &["HP:0001250"],
        true,
    );
    let bruno_m = sb
        .registrations
        .member(&bruno.account_id)
        .expect("m")
        .expect("m");

    // A as an earlier release left it: a plain Q&A room with B in it, and a question
    // shared there in clear.
    let (old_room, q, old_event) = {
        let (sa, _) = raremesh::boot::boot(config_a.clone()).expect("boot");
        let fa = sa.federation.clone().expect("a");
        let anna = member(
            &sa,
            "anna@a.example.org",
            "Annachild",
            &["HP:0001250"],
            true,
        );
        let anna_m = sa
            .registrations
            .member(&anna.account_id)
            .expect("m")
            .expect("m");
        let b_user = fb.config.user_id();
        let room = fa
            .client
            .create_room(
                RoomKind::Qa,
                QA_ROOM_NAME,
                NewRoom {
                    invite: vec![b_user.parse().expect("user id")],
                    ..NewRoom::default()
                },
            )
            .await
            .expect("plain room")
            .to_string();
        assert!(!fa.client.is_encrypted(&room).await.expect("state"));
        fa.store.set(Key::OwnQaRoom, &room).expect("set");
        wait_for("B in A's plain Q&A room", 90, || {
            fb.qa_rooms().is_ok_and(|r| r.contains(&room))
        })
        .await;
        let mut q = actions::ask(
            &sa.qa,
            &anna_m,
            &actions::Draft {
                title: "Plain question from before".into(),
                body: "Sent in clear by the earlier release.".into(),
                tags: vec!["HP:0001250".into()],
                ..Default::default()
            },
        )
        .expect("ask");
        // Sent as the earlier release sent it (the queue it left is emptied).
        for (name, _) in fa.store.scan(Kind::QaOut).expect("queue") {
            fa.store.unset_name(&name).expect("unset");
        }
        let content = json!({
            "msgtype": "m.text",
            "body": format!("Question from {}: {}", q.author, q.title),
            "org.raremesh.qa.question": {
                "id": q.id, "title": q.title, "body": q.body, "tags": ["HP:0001250"],
                "language": "en", "author": q.author, "created_at": q.created_at,
            },
        });
        let event = fa
            .client
            .send(
                &room,
                &TimelineEventType::RoomMessage.to_string(),
                "earlier-release-1",
                &content,
            )
            .await
            .expect("sent in clear")
            .to_string();
        q.room = Some(room.clone());
        q.event_id = Some(event.clone());
        sa.qa.store.save_question(&q).expect("save");
        fa.store
            .set(Key::QaEvent(&event), &format!("q/{}", q.id))
            .expect("map");
        (room, q, event)
    };

    // B has the question from the plain room, and Bruno answers it there (in clear).
    wait_for("the plain question on B", 60, || {
        sb.qa
            .store
            .question(&q.id)
            .ok()
            .flatten()
            .is_some_and(|x| x.room.as_deref() == Some(old_room.as_str()))
    })
    .await;
    let answer = actions::answer(
        &sb.qa,
        &bruno_m,
        &q.id,
        "Written before the upgrade: a calm bedtime helped.",
    )
    .expect("answer");
    wait_for("Bruno's answer shared in the plain room", 60, || {
        sb.qa
            .store
            .answer(&q.id, &answer.id)
            .ok()
            .flatten()
            .is_some_and(|a| a.event_id.is_some())
    })
    .await;
    let plain_answer = sb
        .qa
        .store
        .answer(&q.id, &answer.id)
        .expect("a")
        .expect("a")
        .event_id
        .expect("sent");

    // A starts with this release: a new, encrypted room; the question is sent again.
    let node_a = run(config_a).await;
    let sa = node_a.state.clone();
    let fa = sa.federation.clone().expect("a");
    wait_for("A's encrypted Q&A room", 90, || {
        fa.own_qa_room()
            .ok()
            .flatten()
            .is_some_and(|r| r != old_room)
    })
    .await;
    let new_room = fa.own_qa_room().expect("r").expect("room");
    assert!(fa.client.is_encrypted(&new_room).await.expect("state"));
    wait_for("the question moved on B, one copy", 120, || {
        sb.qa
            .store
            .question(&q.id)
            .ok()
            .flatten()
            .is_some_and(|x| x.room.as_deref() == Some(new_room.as_str()))
    })
    .await;
    let on_b = sb.qa.store.question(&q.id).expect("q").expect("q");
    assert!(on_b.hidden.is_none(), "not taken for a withdrawal");
    assert_eq!(on_b.body, q.body);
    assert_ne!(on_b.event_id.as_deref(), Some(old_event.as_str()));
    // B sends Bruno's answer again, in the new thread; A has it from there.
    let room_of = |event: &str| {
        hs_b.query(&format!(
            "SELECT room_id FROM events WHERE event_id = '{event}'"
        ))
        .first()
        .and_then(|r| r[0].as_str().map(ToOwned::to_owned))
    };
    // (B may send it again more than once: once the copies on both sides agree.)
    let event_of = |state: &raremesh::AppState| {
        state
            .qa
            .store
            .answer(&q.id, &answer.id)
            .ok()
            .flatten()
            .filter(|a| a.hidden.is_none())
            .and_then(|a| a.event_id)
    };
    wait_for("Bruno's answer again in the new room, on A too", 90, || {
        event_of(&sb).is_some_and(|e| {
            room_of(&e).as_deref() == Some(new_room.as_str()) && event_of(&sa) == Some(e)
        })
    })
    .await;
    let again = event_of(&sb).expect("sent");
    assert_ne!(again, plain_answer);
    // The new copies are encrypted; the old room's are redacted.
    let encrypted = TimelineEventType::RoomEncrypted.to_string();
    let kind_of = |event: &str| {
        hs_a.query(&format!(
            "SELECT type FROM events WHERE event_id = '{event}'"
        ))
        .first()
        .and_then(|r| r[0].as_str().map(ToOwned::to_owned))
    };
    assert_eq!(kind_of(&again).as_deref(), Some(encrypted.as_str()));
    let new_question = on_b.event_id.clone().expect("event");
    assert_eq!(kind_of(&new_question).as_deref(), Some(encrypted.as_str()));
    wait_for("the old room's copies redacted", 60, || {
        let redacted: Vec<String> = hs_a
            .query("SELECT redacts FROM redactions")
            .into_iter()
            .filter_map(|r| r[0].as_str().map(ToOwned::to_owned))
            .collect();
        redacted.contains(&old_event)
    })
    .await;
    let on_a = sa.qa.store.question(&q.id).expect("q").expect("q");
    assert!(on_a.hidden.is_none() && on_a.room.as_deref() == Some(new_room.as_str()));

    node_a.shut().await;
    node_b.shut().await;
    drop(hs_b);
}
