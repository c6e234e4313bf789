//! Community questions on one node: asking, answering, the answer that helped, helpful
//! marks, edits and deletions, refused input, who reads, the form and its languages.

use axum::http::StatusCode;
use raremesh::accounts::Role;

use crate::validation::Node;

pub const CSRF: &str = "abababababababababababababababababababababababababababababababab";

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
        .store
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
    let a = node.state.qa.store.answers_of(&q.id).expect("a").remove(0);
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
    let a = node.state.qa.store.answers_of(&q.id).expect("a").remove(0);
    assert!(a.accepted && a.helpful.len() == 1);
    let (_, page) = node.get(&path, &newcomer).await;
    assert!(
        page.contains("The answer that helped") && page.contains("ketogenic"),
        "{page}"
    );
    assert_eq!(
        node.state.qa.store.helpfulness(&a.account_id).expect("h"),
        3
    );
}

pub async fn api(
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

pub fn validated(node: &Node, email: &str, terms: &[&str]) -> (raremesh::ids::AccountId, String) {
    let (id, session) = node.account(email, Role::Member, true);
    let p = node.patient(&id, "Child", terms);
    node.approve(&p);
    (id, session)
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
        node.state.qa.store.questions().expect("q").is_empty(),
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
    let stored = node
        .state
        .qa
        .store
        .question(&qid)
        .expect("q")
        .expect("tombstone");
    assert!(
        stored.title.is_empty() && stored.body.is_empty(),
        "the text is erased"
    );
    assert!(
        node.state.qa.store.answers_of(&qid).expect("a")[0]
            .body
            .is_empty()
    );
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
        .store
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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack: Vec<_> = ["core/src", "domain/src", "web/src", "node/src"]
        .iter()
        .map(|d| root.join(d))
        .collect();
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
                    .chain(text.match_indices("\"contacts.err."))
                    .chain(text.match_indices("\"matrix."))
                {
                    let rest = &text[i + 1..];
                    let key = &rest[..rest.find('"').expect("closing quote")];
                    if !key.ends_with(".html") {
                        used.insert(key.to_owned());
                    }
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
