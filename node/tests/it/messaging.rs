//! Messages between members of one organization, through the node's pages: asking to get
//! in touch from "people like me", double opt-in, a conversation both read and write
//! (with the script's long poll waking on a new message), mails without the message's
//! text, who may see what, reports to validators, leaving and blocking, limits, a restart
//! and an erasure.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::ids::AccountId;
use raremesh::registration::patient::Patient;

use crate::validation::{CSRF, Node};

/// Symptoms shared by the test's patients (seizures, hypotonia, developmental delay).
const SYMPTOMS: &[&str] = &["HP:0001250", "HP:0001252", "HP:0001263"];

/// A member with one validated patient, who agreed to be shown and contacted (or not).
pub(crate) fn member(node: &Node, email: &str, contactable: bool) -> (AccountId, String, Patient) {
    let (id, session) = node.account(email, Role::Member, true);
    let s = &node.state;
    let mut m = s.registrations.member(&id).expect("m").expect("m");
    m.consents.contactable = contactable;
    s.registrations.save_member(&m).expect("save");
    let p = node.patient(&id, &format!("Child of {email}"), SYMPTOMS);
    node.approve(&p);
    (id, session, p)
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut all = vec![("csrf", CSRF)];
    all.extend_from_slice(fields);
    serde_urlencoded::to_string(&all).expect("form")
}

/// The value of `name="…" value="…"` inputs in a page, in order.
fn hidden_values(page: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    page.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &page[i + needle.len()..];
            rest[..rest.find('"').expect("end")].to_owned()
        })
        .collect()
}

/// Asks from A's similar page, accepts as B: the conversation's id.
async fn in_touch(
    node: &Node,
    a: &(AccountId, String, Patient),
    b: &(AccountId, String, Patient),
) -> String {
    let (_, sa, pa) = a;
    let (_, sb, _) = b;
    let (status, page) = node.get(&format!("/patients/{}/similar", pa.id), sa).await;
    assert_eq!(status, StatusCode::OK);
    let handle = hidden_values(&page, "local");
    assert_eq!(handle.len(), 1, "one contactable local match: {page}");
    let (status, _) = node
        .post_form(
            &format!("/patients/{}/contact", pa.id),
            sa,
            &form(&[("local", &handle[0])]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, contacts) = node.get("/contacts", sb).await;
    let ids: Vec<String> = contacts
        .match_indices("action=\"/contacts/")
        .map(|(i, _)| {
            let rest = &contacts[i + 18..];
            rest[..rest.find('"').expect("end")].to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "B sees one request: {contacts}");
    let (status, _, res) = node
        .send(
            axum::http::Request::post(format!("/contacts/{}", ids[0]))
                .header(
                    axum::http::header::COOKIE,
                    format!("raremesh_csrf={CSRF}; raremesh_session={sb}"),
                )
                .header(
                    axum::http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(axum::body::Body::from(form(&[
                    ("kind", "local"),
                    ("answer", "accept"),
                ])))
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to = res["location"].to_str().expect("location").to_owned();
    to.strip_prefix("/messages/")
        .expect("to the conversation")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_of_one_organization_talk_privately() {
    let node = Node::new(|_| {});
    let anna = member(&node, "anna@example.org", true);
    let bruno = member(&node, "bruno@example.org", true);
    let (_, s_other, _) = member(&node, "carla@example.org", false);
    let (_, sa, pa) = &anna;
    let (_, sb, _) = &bruno;

    // Carla is not contactable: she is not offered to Anna, and cannot ask anyone.
    let (_, contacts) = node.get("/contacts", sa).await;
    assert_eq!(hidden_values(&contacts, "local").len(), 1, "{contacts}");
    let (_, carla_similar) = node.get("/contacts", &s_other).await;
    assert!(carla_similar.contains("not agreed to be contactable"));

    let id = in_touch(&node, &anna, &bruno).await;
    // Asking again is refused.
    let (_, page) = node.get(&format!("/patients/{}/similar", pa.id), sa).await;
    let handle = hidden_values(&page, "local");
    let (status, again) = node
        .post_form(
            &format!("/patients/{}/contact", pa.id),
            sa,
            &form(&[("local", &handle[0])]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.contains("You asked already"), "{again}");

    // Bruno's page waits for news; Anna writes; the waiting request answers with it.
    let waiting = {
        let state = node.state.clone();
        let (id, sb) = (id.clone(), sb.clone());
        tokio::spawn(async move {
            let n = Node::from_state(state);
            n.get(&format!("/messages/{id}/after/0"), &sb).await
        })
    };
    let secret = "Our daughter started the ketogenic diet in May";
    let (status, _) = node
        .post_form(&format!("/messages/{id}"), sa, &form(&[("body", secret)]))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, news) = tokio::time::timeout(std::time::Duration::from_secs(20), waiting)
        .await
        .expect("the long poll answered when the message came")
        .expect("task");
    assert_eq!(status, StatusCode::OK);
    let news: serde_json::Value = serde_json::from_str(&news).expect("json");
    assert_eq!(news["messages"][0]["body"], secret, "{news}");
    assert_eq!(news["messages"][0]["mine"], false);

    // Bruno's list shows the conversation; his page shows the message and marks it read.
    let (_, list) = node.get("/messages", sb).await;
    assert!(list.contains(&format!("/messages/{id}")), "{list}");
    let (status, conv) = node.get(&format!("/messages/{id}"), sb).await;
    assert_eq!(status, StatusCode::OK);
    assert!(conv.contains(secret));
    assert!(!conv.contains("Child of anna"), "no name is shown");
    assert!(!conv.contains("anna@example.org"), "no address is shown");
    let (status, _) = node
        .post_form(
            &format!("/messages/{id}"),
            sb,
            &form(&[("body", "Hello Anna's family!")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, conv) = node.get(&format!("/messages/{id}"), sa).await;
    assert!(
        conv.contains("Hello Anna&#x27;s family!") || conv.contains("Hello Anna's family!"),
        "{conv}"
    );

    // Mails: the request (to Bruno), the acceptance (to Anna), one new-message mail each;
    // none holds a message's text.
    let outbox = node.outbox();
    assert!(
        outbox
            .iter()
            .all(|m| !m.contains(secret) && !m.contains("Hello Anna"))
    );
    let to = |who: &str| {
        outbox
            .iter()
            .filter(|m| m.contains(&format!("To: {who}")))
            .count()
    };
    assert_eq!(
        to("bruno@example.org"),
        2,
        "request + first message: {outbox:?}"
    );
    assert_eq!(
        to("anna@example.org"),
        2,
        "accepted + first message: {outbox:?}"
    );
    // A second message within the hour sends no further mail.
    let (status, _) = node
        .post_form(
            &format!("/messages/{id}"),
            sa,
            &form(&[("body", "One more thing")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(node.outbox().len(), outbox.len());

    // Empty and overlong messages are refused, and what was typed stays on the page.
    let (status, page) = node
        .post_form(&format!("/messages/{id}"), sa, &form(&[("body", "   ")]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Write a message first"));
    let long = "x".repeat(raremesh::messages::MAX_MESSAGE + 1);
    let (status, page) = node
        .post_form(&format!("/messages/{id}"), sa, &form(&[("body", &long)]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(&long), "the text typed is kept");

    // Nobody else sees it, reads what follows, writes in it or reports from it.
    for path in [
        format!("/messages/{id}"),
        format!("/messages/{id}/after/0"),
        format!("/messages/{id}/report/1"),
    ] {
        let (status, page) = node.get(&path, &s_other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains(secret));
    }
    let (status, _) = node
        .post_form(
            &format!("/messages/{id}"),
            &s_other,
            &form(&[("body", "intruder")]),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, conv) = node.get(&format!("/messages/{id}"), sa).await;
    assert!(!conv.contains("intruder"));
    // Signed out: to the sign-in page.
    let (status, _) = node.get(&format!("/messages/{id}"), "nobody").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_reach_validators_and_blocks_end_contact() {
    let node = Node::new(|_| {});
    let anna = member(&node, "anna@example.org", true);
    let bruno = member(&node, "bruno@example.org", true);
    let (_, validator) = node.account("validator@example.org", Role::Validator, false);
    let (_, sa, pa) = &anna;
    let (_, sb, _) = &bruno;
    let id = in_touch(&node, &anna, &bruno).await;
    let rude = "Send me your bank details";
    node.post_form(&format!("/messages/{id}"), sa, &form(&[("body", rude)]))
        .await;

    // One cannot report one's own message; Bruno reports Anna's, with a reason.
    let (status, _) = node.get(&format!("/messages/{id}/report/1"), sa).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = node
        .post_form(
            &format!("/messages/{id}/report/1"),
            sb,
            &form(&[("reason", "")]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Please say why"));
    let (status, _) = node
        .post_form(
            &format!("/messages/{id}/report/1"),
            sb,
            &form(&[("reason", "Asking for money")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Members may not open the reports; the validator reads the message and the reason.
    let (status, _) = node.get("/validation/reports", sb).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = node.get("/validation/reports", &validator).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(rude) && page.contains("Asking for money"),
        "{page}"
    );
    let report = page
        .split("action=\"/validation/reports/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a report")
        .to_owned();
    let (status, _) = node
        .post_form(
            &format!("/validation/reports/{report}"),
            &validator,
            &form(&[("note", "Warned the member")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = node.get("/validation/reports", &validator).await;
    assert!(!page.contains(rude), "closed reports leave the list");
    let actions: Vec<_> = node
        .state
        .audit
        .recent(10)
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&raremesh::audit::Action::MessageReported));
    assert!(actions.contains(&raremesh::audit::Action::ReportClosed));

    // Bruno blocks Anna: the conversation ends for both, and she cannot ask again.
    let (status, _) = node
        .post_form(
            &format!("/messages/{id}"),
            sb,
            &form(&[("action", "block")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = node
        .post_form(&format!("/messages/{id}"), sa, &form(&[("body", "Hello?")]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("The other member left"), "{page}");
    // Asking about his other patient is refused as if he did not accept requests: the
    // block covers the member, and is not told.
    let second = node.patient(&bruno.0, "Second child of Bruno", SYMPTOMS);
    node.approve(&second);
    let handle = raremesh::messages::handle(&second.id);
    let (status, page) = node
        .post_form(
            &format!("/patients/{}/contact", pa.id),
            sa,
            &form(&[("local", &handle)]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("does not accept contact requests"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_survive_a_restart_and_go_with_an_erased_member() {
    let dir = tempfile::tempdir().expect("dir");
    let config = raremesh::config::Config {
        data_dir: dir.path().join("data"),
        ..raremesh::config::Config::default()
    };
    let (state, _) = raremesh::boot::boot(config.clone()).expect("boot");
    let node = Node::from_state(state);
    let anna = member(&node, "anna@example.org", true);
    let bruno = member(&node, "bruno@example.org", true);
    let id = in_touch(&node, &anna, &bruno).await;
    let hers = "A message from Anna that must be erased with her";
    let his = "A message from Bruno that stays his";
    node.post_form(
        &format!("/messages/{id}"),
        &anna.1,
        &form(&[("body", hers)]),
    )
    .await;
    node.post_form(
        &format!("/messages/{id}"),
        &bruno.1,
        &form(&[("body", his)]),
    )
    .await;
    drop(node);

    // After a restart both still read both messages.
    let (state, _) = raremesh::boot::boot(config.clone()).expect("boot again");
    let node = Node::from_state(state);
    let (_, page) = node.get(&format!("/messages/{id}"), &bruno.1).await;
    assert!(page.contains(hers) && page.contains(his), "{page}");

    // Anna deletes her account: her messages go; Bruno keeps his, in an ended conversation.
    let (status, _) = node
        .post_form(
            "/account/delete",
            &anna.1,
            &form(&[("password", "a good long password")]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = node.get(&format!("/messages/{id}"), &bruno.1).await;
    assert!(!page.contains(hers), "{page}");
    assert!(page.contains(his));
    assert!(page.contains("The other member left"));
    let mut dump = Vec::new();
    node.state
        .kv
        .export(
            &mut |_, k, v| {
                dump.extend_from_slice(k);
                dump.extend_from_slice(v);
                Ok(())
            },
            &mut || Ok(()),
        )
        .expect("export");
    let dump = String::from_utf8_lossy(&dump);
    assert!(!dump.contains(hers), "her message is not in the database");
    drop(node);
    let files = std::fs::read_dir(dir.path().join("data"))
        .expect("data")
        .flatten()
        .map(|e| e.path())
        .collect::<Vec<_>>();
    for f in walk(&files) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes.windows(hers.len()).any(|w| w == hers.as_bytes()),
            "{} holds the erased message",
            f.display()
        );
    }
}

fn walk(roots: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = roots.to_vec();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_and_request_limits() {
    let node = Node::new(|_| {});
    let anna = member(&node, "anna@example.org", true);
    let bruno = member(&node, "bruno@example.org", true);
    let id = in_touch(&node, &anna, &bruno).await;
    let mut refused = None;
    for i in 0..=raremesh::messages::MESSAGES_PER_WINDOW {
        let (status, page) = node
            .post_form(
                &format!("/messages/{id}"),
                &anna.1,
                &form(&[("body", &format!("message {i}"))]),
            )
            .await;
        if status != StatusCode::SEE_OTHER {
            refused = Some((i, status, page));
            break;
        }
    }
    let (i, status, page) = refused.expect("a flood is stopped");
    assert_eq!(i, raremesh::messages::MESSAGES_PER_WINDOW);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("many messages in a short time"), "{page}");
}
