//! Notices of messaging in a member's Matrix app, on a real Synapse with matrix-nio: a
//! member confirms their Matrix account by the code the node sends; the room stays, and a
//! contact request and a new message are told there (as notices, without the message's
//! text), besides the mail.

use crate::federation::nio;
use crate::pair::{Side, member, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_a_matrix_app_is_told_of_requests_and_messages_there() {
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let sa = node_a.state.clone();
    let fa = sa.federation.clone().expect("federation");
    let lena = tokio::task::block_in_place(|| hs_a.register("lena", "lena long password"));
    let symptoms = ["HP:0001250", "HP:0001252", "HP:0001263"];
    let anna = member(&sa, "anna@a.example.org", "Annachild", &symptoms, false);
    let bruno = member(&sa, "bruno@a.example.org", "Brunochild", &symptoms, false);
    let of = |p: &raremesh::registration::patient::Patient| {
        sa.registrations
            .member(&p.account_id)
            .expect("m")
            .expect("m")
    };

    // Bruno confirms his Matrix account with the code the node sends there.
    let mut bruno_m = of(&bruno);
    fa.start_link(&mut bruno_m, &lena).await.expect("link");
    let url = hs_a.url.clone();
    let code = tokio::task::block_in_place(|| nio(&["code", &url, "lena", "lena long password"]));
    fa.confirm_link(&mut bruno_m, &code)
        .await
        .expect("confirmed");
    let link = of(&bruno).matrix.expect("link");
    assert!(link.verified);
    let room = link.room.expect("the room stays for notices");

    // Anna asks to get in touch: Bruno is told in his Matrix app, in that room.
    let anna_m = of(&anna);
    sa.messages
        .ask(
            &anna_m,
            &anna.id,
            &raremesh::messages::handle(bruno.id.as_str()),
        )
        .await
        .expect("ask");
    let told: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        nio(&["notice", &url, "lena", "lena long password", "/contacts"])
    }))
    .expect("json");
    assert_eq!(told["room"], room.as_str());
    assert_eq!(told["msgtype"], "m.notice");

    // Bruno accepts; Anna writes: Bruno is told, without the message's text.
    let request = sa
        .messages
        .requests_of(bruno.account_id.as_str())
        .expect("requests")
        .remove(0);
    let conversation = sa
        .messages
        .answer(&of(&bruno), &request.id, true)
        .await
        .expect("accept")
        .conversation
        .expect("conversation");
    sa.messages
        .send(&anna_m, &conversation, "Secret words only Bruno reads")
        .await
        .expect("send");
    let told: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        nio(&[
            "notice",
            &url,
            "lena",
            "lena long password",
            &format!("/messages/{conversation}"),
        ])
    }))
    .expect("json");
    assert_eq!(told["room"], room.as_str());
    let body = told["body"].as_str().expect("text");
    assert!(!body.contains("Secret words"), "{body}");
    // The homeserver holds no message text either.
    let events = hs_a.query("SELECT json FROM event_json");
    assert!(
        !events
            .iter()
            .any(|e| e[0].as_str().is_some_and(|j| j.contains("Secret words"))),
        "the message's text reached the homeserver"
    );
    node_a.shut().await;
    drop(hs_b);
}
