//! Community questions on one node: asking, answering, the answer that helped, helpful
//! marks, and a feed ranked by how likely the member is to help.

use axum::http::StatusCode;
use raremesh::accounts::Role;

use crate::validation::Node;

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

#[tokio::test]
async fn members_ask_answer_and_see_the_questions_they_can_help_with_first() {
    let node = Node::new(|_| {});
    let person = |email: &str, terms: &[&str], validated: bool| {
        let (id, session) = node.account(email, Role::Member, true);
        let p = node.patient(&id, "Child", terms);
        if validated {
            node.approve(&p);
        }
        (id, session, p)
    };
    let (_, asker, asker_patient) =
        person("asker@example.org", &["HP:0001250", "HP:0001252"], true);
    let (_, other_asker, _) = person("other@example.org", &["HP:0000365"], true);
    let (_, helper, _) = person("helper@example.org", &["HP:0002069", "HP:0001252"], true);
    let (_, newcomer, _) = person("new@example.org", &["HP:0001250"], false);

    // Not validated: may read, not ask.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &newcomer,
            &format!("csrf={CSRF}&title=T&body=B"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bad tags are refused.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &asker,
            &format!("csrf={CSRF}&title=T&body=B&tags=HP%3A9999999"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A seizure question (about the asker's patient), and an unrelated hearing question
    // asked later.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &asker,
            &format!(
                "csrf={CSRF}&title=Night+seizures+%3Cscript%3E&body=What+helped+you%3F&tags=HP%3A0001250&patient={}",
                asker_patient.id
            ),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = node
        .post_form(
            "/questions/new",
            &other_asker,
            &format!("csrf={CSRF}&title=Hearing+aids&body=Which+brand%3F&tags=HP%3A0000365"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // The helper (seizures and hypotonia) sees the seizure question first, though newer is
    // the hearing one; the script in a title is shown as text.
    let (_, feed) = node.get("/questions", &helper).await;
    let (seiz, hear) = (
        feed.find("Night seizures").expect("seizures"),
        feed.find("Hearing aids").expect("hearing"),
    );
    assert!(seiz < hear, "{feed}");
    assert!(feed.contains("&lt;script&gt;") && !feed.contains("<script>"));
    let q = node
        .state
        .qa
        .questions()
        .expect("q")
        .into_iter()
        .find(|q| q.title.starts_with("Night"))
        .expect("q");
    // The helper answers; the newcomer cannot; the asker marks it; another marks helpful.
    let path = format!("/questions/{}", q.id);
    assert_eq!(
        node.post_form(&path, &newcomer, &format!("csrf={CSRF}&body=Hi"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        node.post_form(
            &path,
            &helper,
            &format!("csrf={CSRF}&body=A+ketogenic+diet+helped+us")
        )
        .await
        .0,
        StatusCode::SEE_OTHER
    );
    let a = node.state.qa.answers_of(&q.id).expect("a").remove(0);
    let mark = format!("{path}/answers/{}", a.id);
    assert_eq!(
        node.post_form(&mark, &helper, &format!("csrf={CSRF}&action=helpful"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "not one's own"
    );
    assert_eq!(
        node.post_form(&mark, &other_asker, &format!("csrf={CSRF}&action=accept"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "only the asker accepts"
    );
    assert_eq!(
        node.post_form(&mark, &asker, &format!("csrf={CSRF}&action=accept"))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        node.post_form(&mark, &other_asker, &format!("csrf={CSRF}&action=helpful"))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let a = node.state.qa.answers_of(&q.id).expect("a").remove(0);
    assert!(a.accepted && a.helpful.len() == 1);
    let (_, page) = node.get(&path, &newcomer).await;
    assert!(
        page.contains("The answer that helped") && page.contains("ketogenic"),
        "{page}"
    );
    assert_eq!(node.state.qa.helpfulness(&a.account_id).expect("h"), 3);
}

async fn api(
    node: &Node,
    method: &str,
    path: &str,
    session: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {session}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_owned()))
        .expect("req");
    let (s, bytes, _) = node.send(req).await;
    (
        s,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn validated(node: &Node, email: &str, terms: &[&str]) -> (String, String) {
    let (id, session) = node.account(email, Role::Member, true);
    let p = node.patient(&id, "Child", terms);
    node.approve(&p);
    (id, session)
}

#[tokio::test]
async fn new_questions_notify_likely_helpers_within_a_daily_cap_and_followers_get_answers() {
    let node = Node::new(|c| {
        c.qa.notify_top = 2;
        c.qa.max_notices_per_day = 2;
        c.qa.min_fit = 30;
    });
    let (asker_id, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (close_id, close) = validated(&node, "close@example.org", &["HP:0007359", "HP:0001252"]);
    let (near_id, _) = validated(&node, "near@example.org", &["HP:0002069"]);
    let (far_id, far) = validated(&node, "far@example.org", &["HP:0000365"]);
    // The seizure question reaches the two members with seizures, not the one with a
    // hearing impairment.
    let (s, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Seizures at night","body":"What helped you?","tags":["HP:0001250"]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let qid = q["id"].as_str().expect("id").to_owned();
    let notices = |id: &str| raremesh::qa::notices::of(&node.state, id).expect("notices");
    assert_eq!(notices(&close_id).len(), 1);
    assert_eq!(notices(&near_id).len(), 1);
    assert!(notices(&far_id).is_empty(), "not a likely helper");
    assert!(notices(&asker_id).is_empty(), "not the asker");
    // The feed shows the notice and the member's best fit first.
    let (_, page) = node.get("/questions", &close).await;
    assert!(page.contains("you may be able to help with") && page.contains("Seizures at night"));
    // Two more seizure questions: the cap (two a day) stops the third notice.
    for title in ["Second seizure question", "Third seizure question"] {
        let (s, _) = api(
            &node,
            "POST",
            "/api/v1/questions",
            &asker,
            &format!(r#"{{"title":"{title}","body":"Body","tags":["HP:0001250"]}}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let qn = |id: &str| {
        notices(id)
            .iter()
            .filter(|n| n.kind == raremesh::qa::notices::Kind::Question)
            .count()
    };
    assert_eq!(qn(&close_id), 2, "never more than the daily cap");
    // The member who follows is told about answers; the digest mail goes out once.
    let (s, _) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/follow"),
        &far,
        r#"{"follow":true}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = node
        .post_form(
            "/questions/settings",
            &far,
            &format!("csrf={CSRF}&action=digest_on"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, a) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/answers"),
        &close,
        r#"{"body":"A ketogenic diet helped."}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert!(
        notices(&far_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer)
    );
    assert!(
        notices(&asker_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer),
        "the asker follows their question"
    );
    assert!(
        !notices(&close_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer),
        "not about one's own answer"
    );
    let before = node.outbox().len();
    assert_eq!(
        raremesh::qa::notices::send_digests(&node.state)
            .await
            .expect("digest"),
        1
    );
    let mails = node.outbox();
    assert_eq!(mails.len(), before + 1);
    let mail = mails
        .iter()
        .find(|m| m.contains("community questions"))
        .expect("digest mail");
    assert!(mail.contains(&format!("/questions/{qid}")), "{mail}");
    assert!(
        !mail.contains("ketogenic"),
        "the digest names the question, not the answers' text"
    );
    assert_eq!(
        raremesh::qa::notices::send_digests(&node.state)
            .await
            .expect("digest"),
        0,
        "once a day"
    );
    // The JSON feed carries the fit and the notices.
    let (s, feed) = api(&node, "GET", "/api/v1/questions", &close, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(feed["questions"][0]["fit"].as_u64().expect("fit") > 0);
    assert!(!feed["notices"].as_array().expect("n").is_empty());
}

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
        .qa_search
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
            .qa_search
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
async fn bad_questions_and_answers_are_refused_and_scripts_are_text() {
    let node = Node::new(|_| {});
    let (_, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let long = "x".repeat(5001);
    for (body, want) in [
        (
            r#"{"title":"","body":"b"}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"   "}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!(r#"{{"title":"{}","body":"b"}}"#, "t".repeat(151)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!(r#"{{"title":"t","body":"{long}"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"Line one\nLine two","body":"b"}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"b\u0000"}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"b","tags":["HP:9999999"]}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"b","tags":["seizure"]}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"b","disease":"ORPHA:0"}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"title":"t","body":"b","colour":"red"}"#.to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (r#"{"title":"t""#.to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = api(&node, "POST", "/api/v1/questions", &asker, &body).await;
        assert_eq!(s, want, "{body}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let tags: Vec<String> = node.state.ontology.terms()[1..22]
        .iter()
        .map(|t| format!("\"{}\"", t.id))
        .collect();
    let (s, _) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        &format!(r#"{{"title":"t","body":"b","tags":[{}]}}"#, tags.join(",")),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        node.state.qa.questions().expect("q").is_empty(),
        "nothing stored"
    );
    // A form that failed keeps what was typed.
    let (s, page) = node
        .post_form(
            "/questions/new",
            &asker,
            &format!("csrf={CSRF}&title=&body=My+long+story"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("My long story"));
    // Scripts are shown as text: on the page, in search snippets, in the JSON.
    let (s, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"<img src=x onerror=alert(1)>","body":"<script>alert('seizure')</script> seizure diary"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let qid = q["id"].as_str().expect("id");
    let (_, page) = node.get(&format!("/questions/{qid}"), &asker).await;
    assert!(
        !page.contains("<script>alert") && !page.contains("<img src=x"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;"));
    let (_, results) = node.get("/questions/search?q=seizure+diary", &asker).await;
    assert!(results.contains("<b>diary</b>"), "{results}");
    assert!(
        !results.contains("<script>alert") && !results.contains("<img src=x"),
        "{results}"
    );
    // Six questions in a quarter of an hour are too many.
    let mut last = StatusCode::CREATED;
    for i in 0..6 {
        last = api(
            &node,
            "POST",
            "/api/v1/questions",
            &asker,
            &format!(r#"{{"title":"Q{i}","body":"b"}}"#),
        )
        .await
        .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn authors_edit_and_delete_their_own_only() {
    let node = Node::new(|_| {});
    let (_, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (_, other) = validated(&node, "other@example.org", &["HP:0001250"]);
    let (_, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Old title","body":"Old text"}"#,
    )
    .await;
    let qid = q["id"].as_str().expect("id").to_owned();
    let (s, _) = api(
        &node,
        "PUT",
        &format!("/api/v1/questions/{qid}"),
        &other,
        r#"{"title":"Mine now","body":"x"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api(
        &node,
        "PUT",
        &format!("/api/v1/questions/{qid}"),
        &asker,
        r#"{"title":"New title","body":"New text"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["edited_at"].as_u64().is_some());
    let (_, a) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/answers"),
        &other,
        r#"{"body":"First answer"}"#,
    )
    .await;
    let aid = a["id"].as_str().expect("id").to_owned();
    let (s, _) = api(
        &node,
        "PUT",
        &format!("/api/v1/questions/{qid}/answers/{aid}"),
        &asker,
        r#"{"body":"Hijacked"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api(
        &node,
        "PUT",
        &format!("/api/v1/questions/{qid}/answers/{aid}"),
        &other,
        r#"{"body":"Better answer"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/answers/{aid}/marks"),
        &asker,
        r#"{"action":"accept"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = api(
        &node,
        "GET",
        &format!("/api/v1/questions/{qid}"),
        &asker,
        "",
    )
    .await;
    assert_eq!(v["title"], "New title");
    assert_eq!(v["answers"][0]["body"], "Better answer");
    assert_eq!(v["answers"][0]["accepted"], true);
    assert!(
        v["answers"][0]["author"]
            .as_str()
            .is_some_and(|a| !a.is_empty() && !a.contains('@'))
    );
    let (s, _) = api(
        &node,
        "DELETE",
        &format!("/api/v1/questions/{qid}/answers/{aid}"),
        &other,
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api(
        &node,
        "DELETE",
        &format!("/api/v1/questions/{qid}"),
        &other,
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api(
        &node,
        "DELETE",
        &format!("/api/v1/questions/{qid}"),
        &asker,
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api(
        &node,
        "GET",
        &format!("/api/v1/questions/{qid}"),
        &asker,
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let stored = node.state.qa.question(&qid).expect("q").expect("tombstone");
    assert!(
        stored.title.is_empty() && stored.body.is_empty(),
        "the text is erased"
    );
    assert!(
        node.state.qa.answers_of(&qid).expect("a")[0]
            .body
            .is_empty()
    );
}

#[tokio::test]
async fn search_is_language_aware_and_finds_questions_tagged_with_narrower_symptoms() {
    let node = Node::new(|_| {});
    let mut ids = std::collections::HashMap::new();
    for (key, lang, title, body, tags) in [
        (
            "focal",
            "en",
            "Sleep after a bad night",
            "She wakes up tired, what do you do?",
            vec!["HP:0007359"],
        ),
        (
            "swim",
            "en",
            "Swimming lessons",
            "Is swimming safe for children with low muscle tone?",
            vec!["HP:0001252"],
        ),
        (
            "es",
            "es",
            "Convulsiones nocturnas",
            "Mi hija tiene convulsiones por la noche. ¿Qué medicamentos usáis?",
            vec![],
        ),
        (
            "fr",
            "fr",
            "Les crises pendant l'école",
            "Comment les enseignants gèrent-ils les crises d'épilepsie ?",
            vec![],
        ),
        (
            "hearing",
            "en",
            "Hearing aids at school",
            "Which hearing aids work best in a classroom?",
            vec!["HP:0000365"],
        ),
        (
            "diet",
            "en",
            "Ketogenic diet recipes",
            "We started the ketogenic diet; recipes please.",
            vec![],
        ),
    ] {
        let (id, session) = node.account(&format!("{key}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        node.approve(&node.patient(&id, "Child", &["HP:0001250"]));
        let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
        let (s, q) = api(
            &node,
            "POST",
            "/api/v1/questions",
            &session,
            &serde_json::json!({"title": title, "body": body, "tags": tags.iter().map(|t| t.trim_matches('"')).collect::<Vec<_>>()}).to_string(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{q}");
        ids.insert(q["id"].as_str().expect("id").to_owned(), key);
    }
    let (_, reader) = validated(&node, "reader@example.org", &["HP:0001250"]);
    let (_, a) = api(&node, "GET", "/api/v1/questions", &reader, "").await;
    let diet = a["questions"]
        .as_array()
        .expect("q")
        .iter()
        .find(|q| q["title"] == "Ketogenic diet recipes")
        .expect("diet")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    api(
        &node,
        "POST",
        &format!("/api/v1/questions/{diet}/answers"),
        &reader,
        r#"{"body":"Try almond flour pancakes."}"#,
    )
    .await;
    // Query → the question expected first.
    for (query, first) in [
        ("seizure", "focal"), // tagged with a narrower term only
        ("Focal-onset seizure", "focal"),
        ("HP:0001250", "focal"),
        ("swimming", "swim"), // stemmed: "swim" ← "swimming"
        ("swim", "swim"),
        ("hypotonia", "swim"), // the tag's name, not in the text
        ("convulsión", "es"),  // Spanish stemming and accents
        ("crise", "fr"),       // French: "crises" → "crise"
        ("épilepsie", "fr"),
        ("hearing aid", "hearing"),
        ("pancakes", "diet"), // in an answer
    ] {
        let (s, v) = api(
            &node,
            "GET",
            &format!("/api/v1/questions/search?q={}", urlencode(query)),
            &reader,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let results = v["results"].as_array().expect("results");
        let got: Vec<&str> = results
            .iter()
            .map(|r| {
                ids.get(r["id"].as_str().unwrap_or_default())
                    .copied()
                    .unwrap_or("?")
            })
            .collect();
        assert_eq!(got.first().copied(), Some(first), "{query:?} → {got:?}");
        assert!(
            results[0]["snippet_html"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
    let (_, v) = api(
        &node,
        "GET",
        "/api/v1/questions/search?q=ketogenic",
        &reader,
        "",
    )
    .await;
    assert!(
        v["results"][0]["snippet_html"]
            .as_str()
            .expect("s")
            .contains("<b>ketogenic</b>"),
        "{v}"
    );
    let (_, v) = api(
        &node,
        "GET",
        "/api/v1/questions/search?q=zebrafish",
        &reader,
        "",
    )
    .await;
    assert!(v["results"].as_array().expect("r").is_empty());
    // Query syntax never fails.
    for q in ["\"unclosed", "AND OR", "title_en:x", "(((", "*"] {
        let (s, _) = api(
            &node,
            "GET",
            &format!("/api/v1/questions/search?q={}", urlencode(q)),
            &reader,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{q}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn targeting_beats_newest_first_on_simulated_members() {
    let node = Node::new(|_| {});
    let e = raremesh::qa::evaluate::run(&node.state.ontology, &node.state.ic, 120, 60, 20, 7);
    assert!(
        e.ranked_precision_at_5 > e.newest_precision_at_5 * 1.5,
        "{e:?}"
    );
    assert!(e.ranked_mrr > e.newest_mrr, "{e:?}");
    assert!(
        e.told_precision_at_5 > e.random_precision_at_5 * 1.5,
        "{e:?}"
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
    raremesh::export::delete_account(&node.state, &account).expect("delete");
    let q = node.state.qa.question(&qid).expect("q").expect("tombstone");
    assert!(q.title.is_empty() && q.body.is_empty());
    let answers = node.state.qa.answers_of(&sid).expect("a");
    assert!(answers.iter().all(|a| !a.body.contains("Vanishing")));
    let found = node
        .state
        .qa_search
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

#[tokio::test]
async fn an_organization_can_keep_questions_for_validated_members() {
    let node = Node::new(|c| c.qa.readers = raremesh::config::Readers::Validated);
    let (_, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (_, newcomer) = node.account("new@example.org", Role::Member, true);
    let (_, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Members only","body":"Body"}"#,
    )
    .await;
    let qid = q["id"].as_str().expect("id").to_owned();
    for path in [
        "/questions".to_owned(),
        format!("/questions/{qid}"),
        "/questions/search?q=members".to_owned(),
    ] {
        let (s, page) = node.get(&path, &newcomer).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains("Members only"));
    }
    for path in [
        "/api/v1/questions".to_owned(),
        format!("/api/v1/questions/{qid}"),
        "/api/v1/questions/search?q=members".to_owned(),
    ] {
        let (s, _) = api(&node, "GET", &path, &newcomer, "").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    let (s, _) = node.get(&format!("/questions/{qid}"), &asker).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_form_takes_symptom_and_disease_names_and_speaks_the_members_language() {
    let node = Node::new(|_| {});
    let (id, session) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (s, page) = node
        .post_form(
            "/questions/new",
            &session,
            &format!("csrf={CSRF}&title=T&body=B&symptom1=Not+a+symptom+at+all&symptom2=Hypotonia"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Not a symptom at all") && page.contains("Hypotonia"),
        "kept"
    );
    let (s, _) = node
        .post_form(
            "/questions/new",
            &session,
            &format!(
                "csrf={CSRF}&title=Names&body=B&symptom1=seizure&symptom2=HP%3A0001252+Hypotonia&disease=ORPHA%3A558+Marfan+syndrome"
            ),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let q = node
        .state
        .qa
        .questions()
        .expect("q")
        .into_iter()
        .find(|q| q.title == "Names")
        .expect("stored");
    let tags: Vec<String> = q.tags.iter().map(ToString::to_string).collect();
    assert_eq!(tags, ["HP:0001250", "HP:0001252"]);
    assert_eq!(
        q.disease.map(|d| d.to_string()).as_deref(),
        Some("ORPHA:558")
    );
    let mut m = node.state.registrations.member(&id).expect("m").expect("m");
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let (_, page) = node.get("/questions", &session).await;
    assert!(page.contains("Preguntas de la comunidad"), "{page}");
    let (_, page) = node.get(&format!("/questions/{}", q.id), &session).await;
    assert!(page.contains("Respuestas") && page.contains("Volver a las preguntas"));
    // Refusals too.
    let (s, page) = node
        .post_form(
            "/questions/new",
            &session,
            &format!("csrf={CSRF}&title=&body=B"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Escriba un título (hasta 150 caracteres)."),
        "{page}"
    );
}

#[test]
fn every_message_a_member_can_read_is_in_every_catalogue() {
    let catalogs = raremesh::http::i18n::Catalogs::load().expect("catalogues");
    let mut used = std::collections::BTreeSet::new();
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                for (i, _) in text
                    .match_indices("\"qa.err.")
                    .chain(text.match_indices("\"qa.mail."))
                {
                    let rest = &text[i + 1..];
                    let key = &rest[..rest.find('"').expect("closing quote")];
                    used.insert(key.to_owned());
                }
            }
        }
    }
    assert!(used.len() > 20, "{used:?}");
    for lang in ["en", "es", "fr"] {
        let keys: std::collections::BTreeSet<&str> = catalogs.keys(lang).into_iter().collect();
        let missing: Vec<_> = used.iter().filter(|k| !keys.contains(k.as_str())).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
    }
}

#[tokio::test]
async fn scoring_one_question_for_many_members_gives_the_feed_scores() {
    let node = Node::new(|_| {});
    let (asker_id, asker) = validated(&node, "asker@example.org", &["HP:0001250", "HP:0001263"]);
    let (_, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        &format!(
            r#"{{"title":"T","body":"B","tags":["HP:0001250","HP:0000365"],"patient":"{}"}}"#,
            node.state.patients.of(&asker_id).expect("p")[0].id
        ),
    )
    .await;
    let q = node
        .state
        .qa
        .question(q["id"].as_str().expect("id"))
        .expect("q")
        .expect("q");
    let scorer = raremesh::qa::QuestionScorer::new(&node.state, &q);
    for (i, terms) in [
        &["HP:0007359"][..],
        &["HP:0000365", "HP:0001252"],
        &["HP:0002069", "HP:0001263"],
    ]
    .iter()
    .enumerate()
    {
        let (id, _) = validated(&node, &format!("m{i}@example.org"), terms);
        let patients = node.state.patients.of(&id).expect("p");
        let m = node.state.registrations.member(&id).expect("m").expect("m");
        let feed = raremesh::qa::helper_score(
            &node.state,
            &q,
            &raremesh::qa::Helper::new(&node.state, &patients, &m.info.language, 3),
        );
        let profiles: Vec<_> = patients
            .iter()
            .filter_map(|p| raremesh::similar::profile(&node.state.ontology, p))
            .collect();
        let one = scorer.score(&profiles, 3, &m.info.language);
        assert!(
            (feed - one).abs() < 1e-4,
            "{terms:?}: feed {feed}, notices {one}"
        );
        assert!(feed > 0.0);
    }
}
