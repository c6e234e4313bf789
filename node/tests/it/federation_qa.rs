//! Community questions across two nodes on two real Synapse homeservers: a question asked
//! on A reaches B and is targeted there; answers from B's web pages and from a third-party
//! Matrix client (matrix-nio) reach A under pseudonyms; edits, deletions and moderation
//! propagate (hostile room events: `federation_qa_claims.rs`).

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::qa::{actions, moderation};
use raremesh::registration::MatrixLink;
use raremesh_bridge::ruma::events::TimelineEventType;
use serde_json::json;

use crate::federation::nio;
use crate::pair::{Side, member, run, wait_for};
use crate::validation::Node;

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_answers_edits_and_moderation_cross_two_homeservers() {
    // RAREMESH_KEEP_TEST_DIR=1 keeps the homeservers' folders (logs, databases).
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let mut config_b = b.config(&hs_b, &a, &hs_a);
    config_b.qa.min_fit = 25;
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let node_b = run(config_b).await;
    let (sa, sb) = (node_a.state.clone(), node_b.state.clone());
    let (fa, fb) = (
        sa.federation.clone().expect("a"),
        sb.federation.clone().expect("b"),
    );
    let bob = tokio::task::block_in_place(|| hs_b.register("bob", "bob long password"));
    let mallory = tokio::task::block_in_place(|| hs_a.register("mallory", "mallory long password"));
    let anna = member(
        &sa,
        "anna@a.example.org",
        "Annachild",
        &["HP:0001250", "HP:0001252"],
        true,
    );
    let bruno = member(
        &sb,
        "bruno@b.example.org",
        "Brunochild",
        &["HP:0002069", "HP:0001252"],
        true,
    );
    let carl = member(
        &sb,
        "carl@b.example.org",
        "Carlchild",
        &["HP:0000365"],
        true,
    );
    let (web_a, web_b) = (Node::from_state(sa.clone()), Node::from_state(sb.clone()));

    wait_for("both Q&A rooms joined by both nodes", 90, || {
        fa.qa_rooms().is_ok_and(|r| r.len() == 2) && fb.qa_rooms().is_ok_and(|r| r.len() == 2)
    })
    .await;

    // Anna asks on A.
    let anna_m = sa
        .registrations
        .member(&anna.account_id)
        .expect("m")
        .expect("m");
    let q = actions::ask(
        &sa.qa,
        &anna_m,
        &actions::Draft {
            title: "Night seizures: what helped?".into(),
            body: "Our daughter has seizures at night. What helped yours?".into(),
            tags: vec!["HP:0001250".into()],
            patient: Some(anna.id.to_string()),
            ..Default::default()
        },
    )
    .expect("ask");
    wait_for("the question on B", 60, || {
        sb.qa.store.question(&q.id).ok().flatten().is_some()
    })
    .await;
    let on_b = sb.qa.store.question(&q.id).expect("q").expect("q");
    assert_eq!(on_b.title, q.title);
    assert_eq!(on_b.tags, q.tags);
    assert_eq!(on_b.author, q.author, "the asker's pseudonym travels");
    assert!(!on_b.author.contains("Anna"));
    assert_eq!(on_b.patient_id, None, "nothing about the patient leaves A");
    // Targeted on B: high for Bruno (seizures), low for Carl (hearing).
    let fit = |state: &raremesh::AppState, account: &raremesh::ids::AccountId| {
        let m = state.registrations.member(account).expect("m").expect("m");
        actions::feed(&state.qa, &m)
            .expect("feed")
            .into_iter()
            .find(|(_, x)| x.id == q.id)
            .map(|(f, _)| f)
            .expect("in the feed")
    };
    let (fb_bruno, fb_carl) = (fit(&sb, &bruno.account_id), fit(&sb, &carl.account_id));
    assert!(fb_bruno > fb_carl + 20, "Bruno {fb_bruno}, Carl {fb_carl}");
    let told = |state: &raremesh::AppState, account: &str| {
        raremesh::qa::notices::of(&state.qa, account)
            .expect("n")
            .iter()
            .any(|n| n.question_id == q.id)
    };
    // The notices are made once the question is stored (in the same pass for everyone).
    wait_for("Bruno's notice of the question", 60, || {
        told(&sb, &bruno.account_id)
    })
    .await;
    assert!(!told(&sb, &carl.account_id), "Carl is not");

    // Bruno answers on B's web pages.
    let bruno_session = sb.sessions.start(&bruno.account_id).expect("session");
    let (s, _) = web_b
        .post_form(
            &format!("/questions/{}", q.id),
            &bruno_session,
            &format!("csrf={CSRF}&action=answer&body=A+ketogenic+diet+helped+our+son."),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let bruno_name = sb.qa.store.display_name(&bruno.account_id);
    wait_for("Bruno's answer on A", 60, || {
        sa.qa
            .store
            .answers_of(&q.id)
            .is_ok_and(|a| a.iter().any(|a| a.body.contains("ketogenic")))
    })
    .await;
    let on_a = sa.qa.store.answers_of(&q.id).expect("a");
    let from_b = on_a
        .iter()
        .find(|a| a.body.contains("ketogenic"))
        .expect("a");
    assert_eq!(from_b.author, bruno_name);
    assert!(!from_b.author.contains("Bruno"));
    // The asker's notice and the search index follow the stored answer.
    wait_for("the asker's notice of the answer", 60, || {
        told(&sa, &anna.account_id)
    })
    .await;
    wait_for("the answer indexed on A", 60, || {
        sa.qa
            .index
            .search(&sa.ontology, &sa.autocomplete, "ketogenic", 5)
            .is_ok_and(|found| found.first().map(|f| f.id.as_str()) == Some(q.id.as_str()))
    })
    .await;

    // Bruno joins from his Matrix app (bob on B's homeserver) and answers there.
    let mut bruno_m = sb
        .registrations
        .member(&bruno.account_id)
        .expect("m")
        .expect("m");
    bruno_m.matrix = Some(MatrixLink {
        user_id: bob.clone(),
        verified: true,
        code_hash: None,
        room: None,
        attempts: 0,
    });
    sb.registrations.save_member(&bruno_m).expect("save");
    let (s, _) = web_b
        .post_form(
            "/questions/settings",
            &bruno_session,
            &format!("csrf={CSRF}&action=matrix"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let room = fa.own_qa_room().expect("r").expect("room");
    let root = sa
        .qa
        .store
        .question(&q.id)
        .expect("q")
        .expect("q")
        .event_id
        .expect("shared");
    let reply = json!({
        "msgtype": "m.text",
        "body": "Melatonin at bedtime helped us too.",
        "m.relates_to": { "rel_type": "m.thread", "event_id": root },
    });
    let (url_b, bob_c) = (hs_b.url.clone(), reply.to_string());
    let out = tokio::task::block_in_place(|| {
        nio(&["send", &url_b, "bob", "bob long password", &room, &bob_c])
    });
    let nio_event: Vec<String> = serde_json::from_str(&out).expect("ids");
    wait_for("the Matrix answer on A", 60, || {
        sa.qa
            .store
            .answers_of(&q.id)
            .is_ok_and(|a| a.iter().any(|a| a.body.contains("Melatonin")))
    })
    .await;
    let from_matrix = sa
        .qa
        .store
        .answers_of(&q.id)
        .expect("a")
        .into_iter()
        .find(|a| a.body.contains("Melatonin"))
        .expect("a");
    assert_eq!(from_matrix.origin.as_deref(), Some(bob.as_str()));
    assert_eq!(from_matrix.event_id.as_deref(), Some(nio_event[0].as_str()));
    assert!(
        !from_matrix.author.contains("bob"),
        "{}",
        from_matrix.author
    );
    let anna_session = sa.sessions.start(&anna.account_id).expect("session");
    let (_, page) = web_a
        .get(&format!("/questions/{}", q.id), &anna_session)
        .await;
    assert!(
        page.contains("Melatonin") && page.contains(&from_matrix.author),
        "{page}"
    );
    assert!(!page.contains(&bob), "the Matrix id is not shown");
    wait_for("the Matrix answer on B too", 60, || {
        sb.qa
            .store
            .answers_of(&q.id)
            .is_ok_and(|a| a.iter().any(|a| a.body.contains("Melatonin")))
    })
    .await;

    // Hostile events in A's room: a question not sent by A, a thread on it, an answer
    // too long, an edit of someone else's answer. All dropped; A goes on.
    let bad = [
        json!({ "msgtype": "m.text", "body": "fake", "org.raremesh.qa.question": {
            "id": "fakefakefake", "title": "Fake", "body": "Fake", "language": "en",
            "author": "Fake", "created_at": 1 } }),
        json!({ "msgtype": "m.text", "body": "a thread on the refused question",
            "m.relates_to": { "rel_type": "m.thread", "event_id": "$PREV" } }),
        json!({ "msgtype": "m.text", "body": "x".repeat(6000),
            "m.relates_to": { "rel_type": "m.thread", "event_id": root } }),
        json!({ "msgtype": "m.text", "body": "* hijacked",
            "m.new_content": { "msgtype": "m.text", "body": "hijacked" },
            "m.relates_to": { "rel_type": "m.replace", "event_id": from_b.event_id.clone().expect("e") } }),
        json!({ "msgtype": "m.text", "body": "After the hostile ones",
            "m.relates_to": { "rel_type": "m.thread", "event_id": root } }),
    ];
    let contents: Vec<String> = bad.iter().map(ToString::to_string).collect();
    let url_a = hs_a.url.clone();
    // Mallory (on A's homeserver) is invited by Anna's organization like any member.
    fa.invite_to_qa(&mallory).await.expect("invite");
    let out = tokio::task::block_in_place(|| {
        let mut args = vec![
            "send",
            url_a.as_str(),
            "mallory",
            "mallory long password",
            room.as_str(),
        ];
        args.extend(contents.iter().map(String::as_str));
        nio(&args)
    });
    wait_for("the message after the hostile ones", 60, || {
        sa.qa
            .store
            .answers_of(&q.id)
            .is_ok_and(|a| a.iter().any(|a| a.body == "After the hostile ones"))
    })
    .await;
    assert!(sa.qa.store.question("fakefakefake").expect("q").is_none());
    let answers = sa.qa.store.answers_of(&q.id).expect("a");
    assert!(answers.iter().all(|a| a.body.len() < 6000));
    assert!(answers.iter().all(|a| !a.body.contains("hijacked")));
    assert!(
        answers
            .iter()
            .all(|a| a.body != "a thread on the refused question")
    );
    assert!(sb.qa.store.question("fakefakefake").expect("q").is_none());
    // The forged question, the thread on it, the long answer and the hijacking edit are
    // redacted in A's room, so Matrix apps reading it do not show them.
    let sent: Vec<String> = serde_json::from_str(&out).expect("ids");
    wait_for("A to redact the refused events in its Q&A room", 60, || {
        let redacted: Vec<String> = hs_a
            .query("SELECT redacts FROM redactions")
            .into_iter()
            .filter_map(|r| r[0].as_str().map(ToOwned::to_owned))
            .collect();
        sent[..4].iter().all(|id| redacted.contains(id))
    })
    .await;
    let redacted = hs_a.query(&format!(
        "SELECT 1 FROM redactions WHERE redacts = '{}'",
        sent[4]
    ));
    assert!(redacted.is_empty(), "the good answer stays");

    // Edits travel both ways.
    actions::edit_question(
        &sa.qa,
        &anna_m,
        &q.id,
        "Night seizures: what helped you?",
        "Our daughter has seizures at night, mostly after midnight.",
    )
    .expect("edit");
    wait_for("the edit on B", 60, || {
        sb.qa
            .store
            .question(&q.id)
            .ok()
            .flatten()
            .is_some_and(|x| x.body.contains("after midnight"))
    })
    .await;
    let bruno_answer = sb
        .qa
        .store
        .answers_of(&q.id)
        .expect("a")
        .into_iter()
        .find(|a| a.account_id == bruno.account_id)
        .expect("own");
    actions::edit_answer(
        &sb.qa,
        &bruno_m,
        &q.id,
        &bruno_answer.id,
        "A ketogenic diet helped our son within a month.",
    )
    .expect("edit answer");
    wait_for("the answer's edit on A", 60, || {
        sa.qa
            .store
            .answer(&q.id, &bruno_answer.id)
            .ok()
            .flatten()
            .is_some_and(|a| a.body.contains("within a month"))
    })
    .await;

    // A validator on A hides the Matrix answer: it disappears on B.
    let (validator, _) = web_a.account("validator@a.example.org", Role::Validator, false);
    moderation::moderate(
        &sa.qa,
        &validator,
        &q.id,
        Some(&from_matrix.id),
        true,
        "Medical advice without context",
    )
    .expect("hide");
    wait_for("the hidden answer hidden on B", 60, || {
        sb.qa
            .store
            .answer(&q.id, &from_matrix.id)
            .ok()
            .flatten()
            .is_some_and(|a| a.hidden.is_some() && a.body.is_empty())
    })
    .await;
    // Bruno deletes his answer on B: it goes from A.
    actions::delete_answer(&sb.qa, &bruno_m, &q.id, &bruno_answer.id).expect("delete");
    wait_for("the deleted answer gone from A", 60, || {
        sa.qa
            .store
            .answer(&q.id, &bruno_answer.id)
            .ok()
            .flatten()
            .is_some_and(|a| a.hidden.is_some() && a.body.is_empty())
    })
    .await;
    // The question itself hidden on A: hidden on B, out of B's feed and search.
    moderation::moderate(&sa.qa, &validator, &q.id, None, true, "Asked twice").expect("hide q");
    wait_for("the hidden question hidden on B", 60, || {
        sb.qa
            .store
            .question(&q.id)
            .ok()
            .flatten()
            .is_some_and(|x| x.hidden.is_some())
    })
    .await;
    let bruno_feed = actions::feed(&sb.qa, &bruno_m).expect("feed");
    assert!(bruno_feed.iter().all(|(_, x)| x.id != q.id));
    // The search index follows the stored question.
    wait_for("the hidden question out of B's search", 60, || {
        sb.qa
            .index
            .search(&sb.ontology, &sb.autocomplete, "midnight", 5)
            .is_ok_and(|found| found.is_empty())
    })
    .await;
    // Restored on A: shared again, visible again on B.
    moderation::moderate(
        &sa.qa,
        &validator,
        &q.id,
        None,
        false,
        "Not a duplicate after all",
    )
    .expect("restore");
    wait_for("the restored question on B", 60, || {
        sb.qa
            .store
            .question(&q.id)
            .ok()
            .flatten()
            .is_some_and(|x| x.hidden.is_none() && x.body.contains("midnight"))
    })
    .await;

    // The Q&A rooms are end-to-end encrypted: neither homeserver's database holds a
    // question's, an answer's or an edit's text (nor its search index).
    let room_b = fb.own_qa_room().expect("r").expect("room");
    let encrypted = TimelineEventType::RoomEncrypted.to_string();
    for (hs, room) in [(&hs_a, &room), (&hs_b, &room_b)] {
        assert!(
            !hs.query(&format!(
                "SELECT 1 FROM current_state_events WHERE room_id = '{room}' AND type = 'm.room.encryption'"
            ))
            .is_empty(),
            "{room} is encrypted"
        );
        let events: Vec<String> = hs
            .query("SELECT json FROM event_json")
            .iter()
            .filter_map(|r| r[0].as_str().map(ToOwned::to_owned))
            .collect();
        assert!(
            events.iter().any(|e| e.contains(&encrypted)),
            "encrypted events are stored"
        );
        for text in [
            "Night seizures",
            "seizures at night",
            "ketogenic",
            "Melatonin",
            "After the hostile ones",
            "midnight",
            "within a month",
        ] {
            assert!(
                !events.iter().any(|e| e.contains(text)),
                "{text:?} is in clear in a homeserver's database"
            );
            assert!(
                hs.query(&format!(
                    "SELECT 1 FROM event_search WHERE value LIKE '%{text}%'"
                ))
                .is_empty(),
                "{text:?} is in a homeserver's search index"
            );
        }
    }

    node_a.shut().await;
    node_b.shut().await;
}
