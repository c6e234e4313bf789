//! Community questions on one node: reports, moderation with audited reasons, and what
//! goes when an account is deleted.

use axum::http::StatusCode;
use raremesh::accounts::Role;

use crate::qa::{CSRF, api, validated};
use crate::validation::Node;

#[tokio::test]
async fn validators_hide_and_restore_reported_content_with_an_audited_reason() {
    let node = Node::new(|_| {});
    let (_, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (_, reader) = validated(&node, "reader@example.org", &["HP:0001250"]);
    let (validator_id, validator) = node.account("validator@example.org", Role::Validator, false);
    let (s, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Buy my miracle pills","body":"Cheap pills cure seizures","tags":["HP:0001250"]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let qid = q["id"].as_str().expect("id").to_owned();
    let (s, _) = node
        .post_form(
            &format!("/questions/{qid}"),
            &reader,
            &format!("csrf={CSRF}&action=report&reason=Spam"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Members do not moderate.
    let (s, _) = node
        .post_form(
            "/moderation",
            &reader,
            &format!("csrf={CSRF}&question={qid}&action=hide&reason=x"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, page) = node.get("/moderation", &validator).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("miracle pills") && page.contains("Spam"),
        "{page}"
    );
    // A reason is required.
    let (s, _) = node
        .post_form(
            "/moderation",
            &validator,
            &format!("csrf={CSRF}&question={qid}&action=hide&reason="),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = node
        .post_form(
            "/moderation",
            &validator,
            &format!("csrf={CSRF}&question={qid}&action=hide&reason=Advertising"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, feed) = node.get("/questions", &reader).await;
    assert!(!feed.contains("miracle"), "hidden from the feed");
    let (_, page) = node.get(&format!("/questions/{qid}"), &reader).await;
    assert!(
        page.contains("Advertising") && !page.contains("Cheap pills"),
        "{page}"
    );
    let found = node
        .state
        .qa
        .index
        .search(&node.state.ontology, &node.state.autocomplete, "pills", 10)
        .expect("search");
    assert!(found.is_empty(), "hidden content is not searchable");
    let (s, _) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/answers"),
        &reader,
        r#"{"body":"x"}"#,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a hidden question takes no answers"
    );
    let audit = node.state.audit.recent(10).expect("audit");
    let e = audit
        .iter()
        .find(|e| e.action == raremesh::audit::Action::QaHidden)
        .expect("audited");
    assert_eq!(e.actor, validator_id);
    assert_eq!(e.reason.as_deref(), Some("Advertising"));
    // Restored through the JSON API.
    let (s, _) = api(
        &node,
        "POST",
        "/api/v1/moderation",
        &validator,
        &format!(r#"{{"question":"{qid}","action":"restore","reason":"Reviewed again"}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, page) = node.get(&format!("/questions/{qid}"), &reader).await;
    assert!(page.contains("Cheap pills"));
    assert_eq!(
        node.state
            .qa
            .index
            .search(&node.state.ontology, &node.state.autocomplete, "pills", 10)
            .expect("s")
            .len(),
        1
    );
    assert!(
        node.state
            .audit
            .recent(10)
            .expect("a")
            .iter()
            .any(|e| e.action == raremesh::audit::Action::QaRestored)
    );
}

#[tokio::test]
async fn a_deleted_account_takes_its_questions_and_answers_with_it() {
    let node = Node::new(|_| {});
    let (asker_id, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (_, other) = validated(&node, "other@example.org", &["HP:0001250"]);
    let (_, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Vanishing question","body":"Private story of our family"}"#,
    )
    .await;
    let qid = q["id"].as_str().expect("id").to_owned();
    let (_, theirs) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &other,
        r#"{"title":"Staying question","body":"Body"}"#,
    )
    .await;
    let sid = theirs["id"].as_str().expect("id").to_owned();
    api(
        &node,
        "POST",
        &format!("/api/v1/questions/{sid}/answers"),
        &asker,
        r#"{"body":"Vanishing answer"}"#,
    )
    .await;
    let (_, export) = api(&node, "GET", "/api/v1/export", &asker, "").await;
    assert_eq!(
        export["questions"][0]["title"], "Vanishing question",
        "{export}"
    );
    assert_eq!(export["answers"][0]["body"], "Vanishing answer");
    let account = node.state.accounts.get(&asker_id).expect("a").expect("a");
    raremesh::erasure::erase_account(&node.state, &account).expect("delete");
    let q = node
        .state
        .qa
        .store
        .question(&qid)
        .expect("q")
        .expect("tombstone");
    assert!(q.title.is_empty() && q.body.is_empty());
    let answers = node.state.qa.store.answers_of(&sid).expect("a");
    assert!(answers.iter().all(|a| !a.body.contains("Vanishing")));
    let found = node
        .state
        .qa
        .index
        .search(
            &node.state.ontology,
            &node.state.autocomplete,
            "vanishing",
            10,
        )
        .expect("s");
    assert!(found.is_empty());
    let (s, v) = api(
        &node,
        "GET",
        &format!("/api/v1/questions/{sid}"),
        &other,
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["answers"].as_array().expect("a").is_empty(), "{v}");
}
