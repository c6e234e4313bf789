//! The member JSON API: what the pages do, registration and the account.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use raremesh::accounts::Role;

use crate::validation::{CSRF, Node, PDF};

fn api(method: Method, path: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("req")
}

#[tokio::test]
async fn the_member_api_does_what_the_pages_do() {
    let node = Node::new(|_| {});
    let (_, _) = node.account("api@example.org", Role::Member, true);
    // Sign in for a token; a wrong password is refused.
    let (s, _, _) = node
        .send(api(
            Method::POST,
            "/api/v1/session",
            "",
            Body::from(r#"{"email":"api@example.org","password":"wrong one here"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/session",
            "",
            Body::from(r#"{"email":"api@example.org","password":"a good long password"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = serde_json::from_slice::<serde_json::Value>(&b).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");

    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/patients",
            &token,
            Body::from(r#"{"display_name":"Api child","birth_year":2019,"sex":"male","relation":"parent","diagnosis":"orpha","disease":"ORPHA:558"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let id = json(&b)["id"].as_str().expect("id").to_owned();
    // Bad fields, unknown terms and duplicates: refused, nothing changes.
    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/patients",
            &token,
            Body::from(r#"{"display_name":"","birth_year":"1800"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        json(&b)["error"]["message"]
            .as_str()
            .expect("m")
            .contains("birth_year")
    );
    let symptoms = format!("/api/v1/patients/{id}/symptoms");
    let (s, _, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250"},{"term":"HP:9999999"}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250","weight":0.5}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250","onset":"infantile"},{"term":"HP:0001252","observed":false}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let p = json(&b);
    assert_eq!(p["symptoms"][0]["name"], "Seizure");
    assert_eq!(p["symptoms"][1]["observed"], false);
    // Documents: raw body; the type comes from the content.
    let docs = format!("/api/v1/patients/{id}/documents");
    let (s, b, _) = node
        .send(api(
            Method::POST,
            &format!("{docs}?kind=consent"),
            &token,
            Body::from(b"<svg onload=alert(1)>".to_vec()),
        ))
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(&b)["error"]["code"], "wrong_type");
    for k in ["consent", "identity", "medical"] {
        let (s, _, _) = node
            .send(api(
                Method::POST,
                &format!("{docs}?kind={k}&name=x.pdf"),
                &token,
                Body::from(PDF),
            ))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, b, _) = node
        .send(api(Method::GET, &docs, &token, Body::empty()))
        .await;
    let d = json(&b);
    assert_eq!(d["documents"].as_array().expect("a").len(), 3);
    assert_eq!(d["validation"]["status"], "pending");
    let (s, _, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}/similar"),
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not validated yet");
    // Only validators and admins decide.
    let member_id = json(
        &node
            .send(api(Method::GET, "/api/v1/me", &token, Body::empty()))
            .await
            .1,
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let decide = format!("/api/v1/validation/{member_id}/{id}");
    let (s, _, _) = node
        .send(api(
            Method::POST,
            &decide,
            &token,
            Body::from(r#"{"decision":"approve"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, admin) = node.account("admin@example.org", Role::Admin, false);
    let (_, b, _) = node
        .send(api(
            Method::GET,
            "/api/v1/validation/queue",
            &admin,
            Body::empty(),
        ))
        .await;
    assert_eq!(json(&b)["pending"][0]["patient_id"], id.as_str());
    let (s, b, _) = node
        .send(api(
            Method::POST,
            &decide,
            &admin,
            Body::from(r#"{"decision":"approve"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["status"], "approved");
    let (s, b, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}/similar"),
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(json(&b)["matches"].as_array().is_some());
    // Cookie sessions must send the CSRF header to change anything.
    let cookie = format!("raremesh_csrf={CSRF}; raremesh_session={token}");
    let put = |with_header: bool| {
        let mut r = Request::put(&symptoms)
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if with_header {
            r = r.header("x-csrf-token", CSRF);
        }
        r.body(Body::from(r#"[{"term":"HP:0001250"}]"#))
            .expect("req")
    };
    assert_eq!(node.send(put(false)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(node.send(put(true)).await.0, StatusCode::OK);
    // Another member sees none of it; no token, no data.
    let (_, other) = node.account("api.other@example.org", Role::Member, true);
    let (s, _, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}"),
            &other,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = node
        .send(api(Method::GET, &docs, &other, Body::empty()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = node
        .send(api(
            Method::GET,
            "/api/v1/patients",
            "nonsense",
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Signing out ends the token.
    let (s, _, _) = node
        .send(api(
            Method::DELETE,
            "/api/v1/session",
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = node
        .send(api(Method::GET, "/api/v1/me", &token, Body::empty()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_and_the_account_through_the_api() {
    let node = Node::new(|_| {});
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");
    let call = |m: Method, path: &str, token: &str, body: &str| {
        api(m, path, token, Body::from(body.to_owned()))
    };
    // Step 1: bad fields are named; good ones get 202 and a mail.
    let (s, b, _) = node
        .send(call(Method::POST, "/api/v1/register", "", r#"{"name":"","email":"x","country":"France","language":"de","registrant":"adult_patient"}"#))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = json(&b)["error"]["message"].as_str().expect("m").to_owned();
    assert!(
        msg.contains("name") && msg.contains("email") && msg.contains("language"),
        "{msg}"
    );
    let (s, _, _) = node
        .send(call(Method::POST, "/api/v1/register", "", r#"{"name":"Api Person","email":"api.reg@example.org","country":"France","language":"fr","registrant":"adult_patient"}"#))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let mail = node
        .outbox()
        .into_iter()
        .find(|m| m.contains("api.reg@example.org"))
        .expect("mail");
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("/register/confirm/").expect("link") + "/register/confirm/".len();
    let link = &mail[at..at + 64];
    // Step 2: password rules, then the account and a token; the link works once.
    let (s, _, _) = node
        .send(call(
            Method::POST,
            "/api/v1/register/confirm",
            "",
            &format!(r#"{{"token":"{link}","password":"short"}}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let confirm = format!(r#"{{"token":"{link}","password":"a long api password"}}"#);
    let (s, b, _) = node
        .send(call(Method::POST, "/api/v1/register/confirm", "", &confirm))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = json(&b)["token"].as_str().expect("token").to_owned();
    let (s, _, _) = node
        .send(call(Method::POST, "/api/v1/register/confirm", "", &confirm))
        .await;
    assert_eq!(s, StatusCode::GONE, "a used link is refused");
    // Step 3 and a change.
    let (_, b, _) = node
        .send(call(Method::POST, "/api/v1/patients", &token, r#"{"display_name":"Myself","birth_year":1990,"sex":"female","relation":"myself","diagnosis":"none_yet"}"#))
        .await;
    let id = json(&b)["id"].as_str().expect("id").to_owned();
    let (s, b, _) = node
        .send(call(Method::PUT, &format!("/api/v1/patients/{id}"), &token, r#"{"display_name":"Me","birth_year":1990,"sex":"female","relation":"myself","diagnosis":"not_listed","diagnosis_text":"Something rare"}"#))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["diagnosis"]["text"], "Something rare");
    // Step 5: acceptance is required once; consents can be withdrawn.
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"local_matching":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"accept":true,"local_matching":true,"research":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["consents"]["terms_version"], "1");
    let (_, b, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"local_matching":true}"#,
        ))
        .await;
    assert_eq!(json(&b)["consents"]["research"], false, "withdrawn");
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"accept":true,"sell_my_data":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields are refused");
    // Details, export.
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/me",
            &token,
            r#"{"name":"Api P.","country":"Spain","language":"es","registrant":"adult_patient"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b, _) = node
        .send(call(Method::GET, "/api/v1/export", &token, ""))
        .await;
    let all = json(&b);
    assert_eq!(all["member"]["info"]["name"], "Api P.");
    assert_eq!(all["member"]["info"]["email"], "api.reg@example.org");
    assert_eq!(all["patients"][0]["record"]["display_name"], "Me");
    assert!(!all.to_string().contains("$argon2"), "no password hash");
    // Remove the patient, then the account (the password is asked).
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            &format!("/api/v1/patients/{id}"),
            &token,
            "",
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            "/api/v1/me",
            &token,
            r#"{"password":"wrong"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            "/api/v1/me",
            &token,
            r#"{"password":"a long api password"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        node.state
            .accounts
            .by_email("api.reg@example.org")
            .expect("lookup")
            .is_none()
    );
    let (s, _, _) = node.send(call(Method::GET, "/api/v1/me", &token, "")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
