//! A member with no Matrix app talks with a member of a partner organization who uses one,
//! on two real Synapses: Anna (node A) only has the Messages page; Bruno (node B) reads and
//! writes in matrix-nio with end-to-end encryption. Anna accepts Bruno's request on her
//! contacts page, the node opens the conversation with the Matrix account it manages for
//! her, and both write both ways. The room is encrypted and ends up holding Bruno and
//! Anna's managed account only; A's homeserver keeps no message text. Node A then runs as
//! its own process, is killed (SIGKILL) while Bruno writes, and on restart its managed
//! account reads what came meanwhile, with the same keys, and goes on talking.

use std::time::Duration;

use crate::federation::nio;
use crate::federation_restart::{NodeProcess, log_tail};
use crate::pair::{Side, member, run, wait_for};
use crate::validation::CSRF;

/// The texts of the messages exchanged (none may be found on a homeserver in clear).
const FROM_BRUNO: &str = "Hola, soy Bruno, de la otra organizacion";
const FROM_ANNA: &str = "Hello Bruno, this is Anna writing from the Messages page";
const WHILE_DOWN: &str = "Bruno writes while the node of Anna is down";
const AFTER_ASK: &str = "Bruno asks again after the restart";
const AFTER_REPLY: &str = "Anna answers after the restart";

/// Bob (Bruno's Matrix app) says `say` in `room` and waits for `expect` there, on a
/// thread of its own while the test answers through Anna's page.
fn bob_exchange(
    hs: &str,
    room: &str,
    say: &'static str,
    expect: &'static str,
) -> std::thread::JoinHandle<String> {
    let (hs, room) = (hs.to_owned(), room.to_owned());
    std::thread::spawn(move || {
        nio(&[
            "exchange",
            &hs,
            "bob",
            "bob long password",
            &room,
            say,
            expect,
        ])
    })
}

/// A page of a node running as its own process, for a signed-in member.
async fn page(http: &reqwest::Client, url: &str, session: &str) -> String {
    match http
        .get(url)
        .header(
            "cookie",
            format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
        )
        .send()
        .await
    {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_a_matrix_app_talks_with_a_partners_member() {
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);

    // Anna's account on node A, made before A runs as its own process; she has no Matrix
    // account.
    let (anna_pseudonym, managed, session, validator) = {
        let (sa, _) = raremesh::boot::boot(a.config(&hs_a, &b, &hs_b)).expect("boot");
        let anna = member(
            &sa,
            "anna@a.example.org",
            "Annachild",
            &["HP:0001250", "HP:0001252", "HP:0001263"],
            true,
        );
        let fa = sa.federation.clone().expect("a");
        let validator = sa
            .accounts
            .create(
                "validator@a.example.org",
                "a good long password",
                raremesh::accounts::Role::Validator,
                true,
            )
            .expect("validator");
        (
            fa.keys.pseudonym(&anna.id, 0),
            fa.managed_user(anna.account_id.as_str()),
            sa.sessions.start(&anna.account_id).expect("session"),
            sa.sessions.start(&validator.id).expect("session"),
        )
    };
    let mut process_a = NodeProcess::new(&a, &hs_a, &b, &hs_b, &root);
    process_a.start();
    let log = process_a.log.clone();
    let node_b = run(b.config(&hs_b, &a, &hs_a)).await;
    let sb = node_b.state.clone();
    let fb = sb.federation.clone().expect("b");
    let base = format!("http://127.0.0.1:{}", a.port);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http");
    let post = async |path: &str, form: &[(&str, &str)]| {
        let mut fields = vec![("csrf", CSRF)];
        fields.extend_from_slice(form);
        http.post(format!("{base}{path}"))
            .header(
                "cookie",
                format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
            )
            .form(&fields)
            .send()
            .await
            .expect("post")
    };

    // Bruno links his Matrix account, and asks to get in touch with Anna's patient.
    let bob = tokio::task::block_in_place(|| hs_b.register("bob", "bob long password"));
    let bruno = member(
        &sb,
        "bruno@b.example.org",
        "Brunochild",
        &["HP:0002069", "HP:0001252", "HP:0001263"],
        true,
    );
    let mut bruno_m = sb
        .registrations
        .member(&bruno.account_id)
        .expect("m")
        .expect("m");
    fb.start_link(&mut bruno_m, &bob).await.expect("link");
    let ub = hs_b.url.clone();
    let code = tokio::task::block_in_place(|| nio(&["code", &ub, "bob", "bob long password"]));
    fb.confirm_link(&mut bruno_m, &code).await.expect("confirm");
    let peer_a = format!("@raremesh:{}", hs_a.server_name);
    crate::pair::wait_for_contactable(&fb, &peer_a, &anna_pseudonym, 120).await;
    let bruno_pseudonym = fb.keys.pseudonym(&bruno.id, 0);
    wait_for("B's own vector published", 60, || {
        fb.store
            .published_as(&bruno_pseudonym)
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    let asked = fb
        .request_contact(&bruno_m, &bruno.id, &peer_a, &anna_pseudonym)
        .await
        .expect("a member with a Matrix app may ask a member without one");

    // Anna accepts on her contacts page, and lands on the conversation.
    let contacts = format!("{base}/contacts");
    wait_for_page(&http, &contacts, &session, &asked.request, &log).await;
    let accepted = post(
        &format!("/contacts/{}", asked.request),
        &[("answer", "accept")],
    )
    .await;
    assert_eq!(accepted.status(), reqwest::StatusCode::SEE_OTHER);
    let to = accepted
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_owned();
    let conversation = to
        .strip_prefix("/messages/")
        .expect("the conversation")
        .to_owned();
    let conversation_url = format!("{base}/messages/{conversation}");
    wait_for_page(
        &http,
        &format!("{base}/messages"),
        &session,
        "Organization B",
        &log,
    )
    .await;
    wait_for("the answer on B", 60, || {
        fb.contacts_of(&bruno.account_id)
            .is_ok_and(|c| c[0].status == raremesh::federation::ContactStatus::Accepted)
    })
    .await;
    let room = fb.contacts_of(&bruno.account_id).expect("c")[0]
        .room
        .clone()
        .expect("room");

    // Bruno writes in his Matrix app, and waits for Anna's answer there.
    let bruno_side = bob_exchange(&ub, &room, FROM_BRUNO, FROM_ANNA);
    wait_for_page(&http, &conversation_url, &session, FROM_BRUNO, &log).await;
    let sent = post(&format!("/messages/{conversation}"), &[("body", FROM_ANNA)]).await;
    assert_eq!(sent.status(), reqwest::StatusCode::SEE_OTHER);
    let out = tokio::task::block_in_place(|| bruno_side.join().expect("nio"));
    let result: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(result["received"], FROM_ANNA, "{out}\n{}", log_tail(&log));
    assert_eq!(result["encrypted_room"], true, "{out}");
    assert_eq!(result["was_encrypted"], true, "{out}");

    // Anna reports Bruno's message: the validators of her organization read it.
    let reported = post(
        &format!("/messages/{conversation}/report/1"),
        &[("reason", "Testing the report of a partner's message")],
    )
    .await;
    assert_eq!(reported.status(), reqwest::StatusCode::SEE_OTHER);
    wait_for_page(
        &http,
        &format!("{base}/validation/reports"),
        &validator,
        FROM_BRUNO,
        &log,
    )
    .await;

    // The room holds Bruno and Anna's managed account only, once the nodes left it.
    let joined = || {
        let mut users: Vec<String> = hs_a
            .query(&format!(
                "SELECT state_key FROM current_state_events WHERE room_id = '{room}' \
                 AND type = 'm.room.member' AND membership = 'join'"
            ))
            .iter()
            .filter_map(|r| r[0].as_str().map(str::to_owned))
            .collect();
        users.sort();
        users
    };
    let mut expected = vec![managed.clone(), bob.clone()];
    expected.sort();
    wait_for("only the two members in the room", 60, || {
        joined() == expected
    })
    .await;

    // Node A is killed; Bruno writes meanwhile; on restart Anna's account reads it, with
    // what was said before.
    process_a.stop("-KILL");
    let content = serde_json::json!({"msgtype": "m.text", "body": WHILE_DOWN}).to_string();
    tokio::task::block_in_place(|| {
        nio(&["send", &ub, "bob", "bob long password", &room, &content])
    });
    process_a.start();
    wait_for_page(&http, &conversation_url, &session, WHILE_DOWN, &log).await;
    let html = page(&http, &conversation_url, &session).await;
    for old in [FROM_BRUNO, FROM_ANNA] {
        assert!(
            html.contains(old),
            "{old:?} is still on the page after the restart"
        );
    }

    // And they go on talking, both ways.
    let bruno_side = bob_exchange(&ub, &room, AFTER_ASK, AFTER_REPLY);
    wait_for_page(&http, &conversation_url, &session, AFTER_ASK, &log).await;
    let sent = post(
        &format!("/messages/{conversation}"),
        &[("body", AFTER_REPLY)],
    )
    .await;
    assert_eq!(sent.status(), reqwest::StatusCode::SEE_OTHER);
    let out = tokio::task::block_in_place(|| bruno_side.join().expect("nio"));
    let result: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(result["received"], AFTER_REPLY, "{out}\n{}", log_tail(&log));

    // A's homeserver keeps no text of any of these messages.
    let events = hs_a.query("SELECT json FROM event_json");
    assert!(!events.is_empty());
    for text in [FROM_BRUNO, FROM_ANNA, WHILE_DOWN, AFTER_ASK, AFTER_REPLY] {
        assert!(
            !events
                .iter()
                .any(|e| e[0].as_str().is_some_and(|j| j.contains(text))),
            "{text:?} reached A's homeserver in clear"
        );
    }

    // Bruno leaves the room: the conversation ends on Anna's page.
    tokio::task::block_in_place(|| nio(&["leave", &ub, "bob", "bob long password", &room]));
    wait_for_page(&http, &conversation_url, &session, "id=\"ended\"", &log).await;
    let refused = post(
        &format!("/messages/{conversation}"),
        &[("body", "Still there?")],
    )
    .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    // Anna deletes her account: the account the node managed for her leaves its room, and
    // its keys are gone from the node's data folder.
    let deleted = post("/account/delete", &[("password", "a good long password")]).await;
    assert_eq!(deleted.status(), reqwest::StatusCode::SEE_OTHER);
    let name = managed
        .trim_start_matches("@raremesh-m-")
        .split(':')
        .next()
        .expect("name")
        .to_owned();
    let folder = a.data.join("federation/managed").join(&name);
    wait_for("the managed account erased", 60, || {
        !folder.exists() && !joined().contains(&managed)
    })
    .await;
    process_a.stop("-TERM");
    node_b.shut().await;
}

/// Waits until the conversation page of the node process shows `text`.
async fn wait_for_page(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    text: &str,
    log: &std::path::Path,
) {
    let runtime = tokio::runtime::Handle::current();
    crate::pair::wait_for_or(
        &format!("{text:?} on {url}"),
        120,
        || {
            tokio::task::block_in_place(|| runtime.block_on(page(http, url, session)))
                .contains(text)
        },
        || log_tail(log),
    )
    .await;
}
