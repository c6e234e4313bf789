//! The JSON API's answers, as stored snapshots (`snapshots/`): what a member's app or a
//! script reads. Ids, tokens and times differ every run and are redacted; everything else
//! is the wire format, so a change to it shows in review as a changed snapshot.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use raremesh::accounts::Role;
use serde_json::Value;

use crate::validation::Node;

fn request(method: Method, path: &str, token: &str, body: &str) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if !token.is_empty() {
        r = r.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    r.body(Body::from(body.to_owned())).expect("request")
}

async fn call(node: &Node, method: Method, path: &str, token: &str, body: &str) -> Value {
    let (status, bytes, _) = node.send(request(method, path, token, body)).await;
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    serde_json::json!({ "status": status.as_u16(), "body": json })
}

/// The shape of a long answer: every list cut to its first three entries (an ontology
/// release changes the rest, not the format).
fn first_three(mut v: Value) -> Value {
    match &mut v {
        Value::Array(items) => {
            items.truncate(3);
            for i in items {
                *i = first_three(i.take());
            }
        }
        Value::Object(fields) => {
            for (_, f) in fields.iter_mut() {
                *f = first_three(f.take());
            }
        }
        _ => {}
    }
    v
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".body.id" => "[id]",
            ".body.token" => "[token]",
            ".body.**.account_id" => "[id]",
            ".body.patients[].id" => "[id]",
            ".body.documents[].id" => "[id]",
            ".body.**.created_at" => "[time]",
            ".body.**.updated_at" => "[time]",
            ".body.**.accepted_at" => "[time]",
            ".body.**.terms_accepted_at" => "[time]",
            ".body.**.uploaded_at" => "[time]",
        });
    };
}

#[tokio::test]
async fn the_member_api_keeps_its_answers() {
    let node = Node::new(|_| {});
    let (_, _) = node.account("snap@example.org", Role::Member, true);
    let signed = call(
        &node,
        Method::POST,
        "/api/v1/session",
        "",
        r#"{"email":"snap@example.org","password":"a good long password"}"#,
    )
    .await;
    assert_eq!(signed["status"], 201);
    let token = signed["body"]["token"].as_str().expect("token").to_owned();
    snapshot!("session_created", signed);
    snapshot!(
        "session_refused",
        call(
            &node,
            Method::POST,
            "/api/v1/session",
            "",
            r#"{"email":"snap@example.org","password":"not the password"}"#,
        )
        .await
    );
    let added = call(
        &node,
        Method::POST,
        "/api/v1/patients",
        &token,
        r#"{"display_name":"Snap child","birth_year":2019,"sex":"male","relation":"parent","diagnosis":"orpha","disease":"ORPHA:558"}"#,
    )
    .await;
    assert_eq!(added["status"], 201, "{added}");
    let id = added["body"]["id"].as_str().expect("id").to_owned();
    snapshot!("patient_created", added);
    let symptoms = call(
        &node,
        Method::PUT,
        &format!("/api/v1/patients/{id}/symptoms"),
        &token,
        r#"[{"term":"HP:0001250"},{"term":"HP:0001263","observed":false}]"#,
    )
    .await;
    snapshot!("symptoms_saved", symptoms);
    snapshot!(
        "patient",
        call(
            &node,
            Method::GET,
            &format!("/api/v1/patients/{id}"),
            &token,
            ""
        )
        .await
    );
    snapshot!(
        "patients",
        call(&node, Method::GET, "/api/v1/patients", &token, "").await
    );
    let (status, _, _) = node
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!(
                    "/api/v1/patients/{id}/documents?kind=consent&name=consent.pdf"
                ))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(crate::validation::PDF))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    snapshot!(
        "documents",
        call(
            &node,
            Method::GET,
            &format!("/api/v1/patients/{id}/documents"),
            &token,
            ""
        )
        .await
    );
    snapshot!(
        "me",
        call(&node, Method::GET, "/api/v1/me", &token, "").await
    );
    snapshot!(
        "patient_refused",
        call(
            &node,
            Method::POST,
            "/api/v1/patients",
            &token,
            r#"{"display_name":"","birth_year":"1800"}"#,
        )
        .await
    );
    snapshot!(
        "unauthenticated",
        call(&node, Method::GET, "/api/v1/patients", "", "").await
    );
    snapshot!(
        "unknown_patient",
        call(
            &node,
            Method::GET,
            "/api/v1/patients/0123456789abcdef0123456789abcdef",
            &token,
            ""
        )
        .await
    );
    snapshot!(
        "no_such_path",
        call(&node, Method::GET, "/api/v1/nothing-here", &token, "").await
    );
    snapshot!(
        "method_not_allowed",
        call(&node, Method::PATCH, "/api/v1/patients", &token, "").await
    );
    snapshot!(
        "disease",
        first_three(call(&node, Method::GET, "/api/v1/diseases/ORPHA:558", "", "").await)
    );
    snapshot!(
        "term",
        first_three(call(&node, Method::GET, "/api/v1/terms/HP:0001250", "", "").await)
    );
    let gone = call(
        &node,
        Method::DELETE,
        &format!("/api/v1/patients/{id}"),
        &token,
        "",
    )
    .await;
    assert_eq!(gone["status"], StatusCode::NO_CONTENT.as_u16());
}

macro_rules! qa_snapshot {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".body.id" => "[id]",
            ".body.answers[].id" => "[id]",
            ".body.questions[].id" => "[id]",
            ".body.results[].id" => "[id]",
            ".body.notices" => "[notices]",
            ".body.**.author" => "[display name]",
            ".body.**.created_at" => "[time]",
            ".body.**.edited_at" => "[time]",
            ".body.**.score" => "[score]",
        });
    };
}

#[tokio::test]
async fn the_questions_api_keeps_its_answers() {
    let node = Node::new(|_| {});
    let (asker, asker_token) = node.account("asker@example.org", Role::Member, true);
    let (helper, helper_token) = node.account("helper@example.org", Role::Member, true);
    for (account, name) in [(&asker, "Asker child"), (&helper, "Helper child")] {
        let p = node.patient(account, name, &["HP:0001250"]);
        node.approve(&p);
    }
    let asked = call(
        &node,
        Method::POST,
        "/api/v1/questions",
        &asker_token,
        r#"{"title":"Seizures after a fever: what helped you","body":"Every fever brings a seizure. What did your doctors suggest?","tags":["HP:0001250"]}"#,
    )
    .await;
    assert_eq!(asked["status"], 201, "{asked}");
    let id = asked["body"]["id"].as_str().expect("id").to_owned();
    qa_snapshot!("question_asked", asked);
    let answered = call(
        &node,
        Method::POST,
        &format!("/api/v1/questions/{id}/answers"),
        &helper_token,
        r#"{"body":"A cooling routine and a rescue plan from our neurologist."}"#,
    )
    .await;
    assert_eq!(answered["status"], 201, "{answered}");
    qa_snapshot!("answer_given", answered);
    qa_snapshot!(
        "question_shown",
        call(
            &node,
            Method::GET,
            &format!("/api/v1/questions/{id}"),
            &asker_token,
            ""
        )
        .await
    );
    qa_snapshot!(
        "questions_found",
        call(
            &node,
            Method::GET,
            "/api/v1/questions/search?q=fever",
            &helper_token,
            ""
        )
        .await
    );
    qa_snapshot!(
        "feed",
        call(&node, Method::GET, "/api/v1/questions", &helper_token, "").await
    );
    qa_snapshot!(
        "question_refused",
        call(
            &node,
            Method::POST,
            "/api/v1/questions",
            &asker_token,
            r#"{"title":"","body":""}"#,
        )
        .await
    );
}
