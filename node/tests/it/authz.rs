//! Who may see and change what: every route × every role, in one table.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex, Validation};

use crate::validation::{Node, PDF};

const CSRF: &str = "abababababababababababababababababababababababababababababababab";
const BOUNDARY: &str = "authzboundary";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Ok,
    /// 303 to a path starting with this.
    To(&'static str),
    /// This status.
    Is(u16),
}

enum Kind {
    Form,
    Multipart,
    Json,
}

async fn call(
    node: &Node,
    method: &Method,
    path: &str,
    session: Option<&str>,
    kind: &Kind,
    body: &str,
) -> (StatusCode, Option<String>, String) {
    let mut cookie = format!("raremesh_csrf={CSRF}");
    if let Some(t) = session {
        cookie.push_str(&format!("; raremesh_session={t}"));
    }
    let content_type = match kind {
        Kind::Form => "application/x-www-form-urlencoded".to_owned(),
        Kind::Multipart => format!("multipart/form-data; boundary={BOUNDARY}"),
        Kind::Json => "application/json".to_owned(),
    };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", CSRF)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .expect("req");
    let (status, bytes, headers) = node.send(req).await;
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn every_route_for_every_role() {
    let node = Node::new(|_| {});
    // The owner: a member whose patient is not validated yet (documents sent).
    let (owner_id, owner) = node.account("authz.owner@example.org", Role::Member, true);
    let patient = node
        .state
        .patients
        .add(
            &owner_id,
            PatientInput {
                display_name: "Hiddenchild".into(),
                birth_year: 2018,
                sex: Sex::Male,
                relation: Relation::Parent,
                diagnosis: Diagnosis::NotListed {
                    text: "Privatediagnosis".into(),
                },
                organization: None,
            },
        )
        .expect("patient");
    for kind in ["consent", "identity", "medical"] {
        let (s, _) = node
            .upload(&patient, &owner, CSRF, kind, "Secretfilename.pdf", PDF)
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    let doc = node
        .state
        .documents
        .of_patient(&owner_id, &patient.id)
        .expect("docs")
        .remove(0);
    // A validated member with a validated patient of their own.
    let (validated_id, validated) = node.account("authz.validated@example.org", Role::Member, true);
    let theirs = node.patient(&validated_id, "Validatedchild", &["HP:0001250"]);
    node.approve(&theirs);
    let asker = node
        .state
        .registrations
        .member(&validated_id)
        .expect("m")
        .expect("m");
    let question = raremesh::qa::actions::ask(
        &node.state.qa,
        &asker,
        &raremesh::qa::actions::Draft {
            title: "Authz question".into(),
            body: "Body".into(),
            ..Default::default()
        },
    )
    .expect("question");
    let answer = raremesh::qa::actions::answer(&node.state.qa, &asker, &question.id, "Own answer")
        .expect("answer");
    let (qid, aid) = (question.id.clone(), answer.id.clone());
    let roles: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("owner (unvalidated member)", Some(owner.clone())),
        ("validated member", Some(validated.clone())),
        (
            "another member",
            Some(
                node.account("authz.other@example.org", Role::Member, true)
                    .1,
            ),
        ),
        (
            "validator",
            Some(
                node.account("authz.validator@example.org", Role::Validator, false)
                    .1,
            ),
        ),
        (
            "admin",
            Some(
                node.account("authz.admin@example.org", Role::Admin, false)
                    .1,
            ),
        ),
        (
            "researcher",
            Some(
                node.account("authz.researcher@example.org", Role::Researcher, false)
                    .1,
            ),
        ),
    ];
    let p = &patient.id;
    let symptoms = format!("/patients/{p}/symptoms");
    let review = format!("/validation/{owner_id}/{p}");
    let multipart = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nforged\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 x\r\n--{BOUNDARY}--\r\n"
    );
    use Kind::*;
    use Want::*;
    const SIGNIN: Want = To("/signin");
    const ACCOUNT: Want = To("/account");
    const NONE: Want = Is(404);
    const DENIED: Want = Is(403);
    const UNAUTH: Want = Is(401);
    let get = Method::GET;
    let post = Method::POST;
    // (method, path, body kind, body, expectation per role in the order above)
    let table: Vec<(Method, String, Kind, String, [Want; 7])> = vec![
        (get.clone(), "/".into(), Form, String::new(), [Ok; 7]),
        (
            get.clone(),
            "/api/v1/version".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (
            get.clone(),
            "/register".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (get.clone(), "/signin".into(), Form, String::new(), [Ok; 7]),
        (
            get.clone(),
            "/password/forgot".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (
            get.clone(),
            "/account".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/patients".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            symptoms.clone(),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            symptoms.clone(),
            Form,
            format!("csrf={CSRF}&term=HP%3A0001250&presence=observed"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            post.clone(),
            format!("{symptoms}/remove"),
            Form,
            format!("csrf={CSRF}&term=HP%3A0001250"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            format!("/patients/{p}/documents"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/documents"),
            Multipart,
            multipart.clone(),
            [SIGNIN, DENIED, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/patients/{p}/similar"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/patients/{}/similar", theirs.id),
            Form,
            String::new(),
            [SIGNIN, NONE, Ok, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/terms".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/account/export".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            format!("/patients/{p}/phenopacket"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/account/delete".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/validation".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            review.clone(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            format!("{review}/documents/{}", doc.id),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        // An incomplete decision: refused for staff (422), changes nothing for anyone.
        (
            post.clone(),
            review.clone(),
            Form,
            format!("csrf={CSRF}&decision=reject"),
            [SIGNIN, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            "/validation/audit".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            "/api/v1/me".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/api/v1/patients".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}"),
            Json,
            String::new(),
            [UNAUTH, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/symptoms"),
            Json,
            r#"[{"term":"HP:0001250"}]"#.into(),
            [UNAUTH, Ok, NONE, NONE, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}/documents"),
            Json,
            String::new(),
            [UNAUTH, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            post.clone(),
            format!("/api/v1/patients/{p}/documents?kind=other"),
            Json,
            "<script>".into(),
            [UNAUTH, Is(415), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}/similar"),
            Json,
            String::new(),
            [UNAUTH, Is(409), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/api/v1/validation/queue".into(),
            Json,
            String::new(),
            [UNAUTH, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            format!("/api/v1/validation/{owner_id}/{p}"),
            Json,
            r#"{"decision":"maybe"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            format!("/patients/{p}/edit"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/remove"),
            Form,
            format!("csrf={CSRF}"),
            [SIGNIN, Is(422), NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/account/profile".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/api/v1/consents".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            "/api/v1/export".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}"),
            Json,
            r#"{"display_name":"Hiddenchild","birth_year":1800}"#.into(),
            [UNAUTH, Is(422), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/account/matrix".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/contacts".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/contacts/0123456789abcdef0123456789abcdef".into(),
            Form,
            format!("csrf={CSRF}&answer=accept"),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/pseudonym"),
            Form,
            format!("csrf={CSRF}"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            format!("/patients/{p}/questionnaires"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/research".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, DENIED, DENIED, Ok],
        ),
        (
            post.clone(),
            "/api/v1/research/count".into(),
            Json,
            r#"{"symptom":"HP:0001250"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, Ok],
        ),
        (
            post.clone(),
            "/api/v1/research/distribution".into(),
            Json,
            r#"{"questionnaire":"none","question":"none"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, Is(422)],
        ),
        (
            get.clone(),
            "/questions".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/questions/new".into(),
            Form,
            format!("csrf={CSRF}&title=T&body=B"),
            [
                SIGNIN,
                DENIED,
                To("/questions/"),
                DENIED,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            "/questions/search?q=authz".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/questions/{qid}"),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/questions/{qid}"),
            Form,
            format!("csrf={CSRF}&action=answer&body="),
            [SIGNIN, DENIED, Is(422), DENIED, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/questions/{qid}/answers/{aid}"),
            Form,
            format!("csrf={CSRF}&action=helpful"),
            [SIGNIN, DENIED, DENIED, DENIED, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/questions/settings".into(),
            Form,
            format!("csrf={CSRF}&action=digest_off"),
            [
                SIGNIN,
                To("/questions"),
                To("/questions"),
                To("/questions"),
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            "/moderation".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            "/moderation".into(),
            Form,
            format!("csrf={CSRF}&question={qid}&action=hide&reason="),
            [SIGNIN, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            "/api/v1/questions".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/questions/{qid}"),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            post.clone(),
            format!("/api/v1/questions/{qid}/answers"),
            Json,
            r#"{"body":""}"#.into(),
            [UNAUTH, DENIED, Is(422), DENIED, DENIED, DENIED, DENIED],
        ),
        (
            Method::PUT,
            format!("/api/v1/questions/{qid}"),
            Json,
            r#"{"title":"","body":""}"#.into(),
            [UNAUTH, DENIED, Is(422), DENIED, DENIED, DENIED, DENIED],
        ),
        (
            post.clone(),
            "/api/v1/moderation".into(),
            Json,
            format!(r#"{{"question":"{qid}","action":"hide","reason":""}}"#),
            [UNAUTH, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
    ];
    let private = [
        "Hiddenchild",
        "Privatediagnosis",
        "Secretfilename",
        "authz.owner@example.org",
        "SECRET-PLAINTEXT-MARKER",
    ];
    let mut cells = 0;
    for (method, path, kind, body, wants) in &table {
        for (i, (role, session)) in roles.iter().enumerate() {
            let (status, location, page) =
                call(&node, method, path, session.as_deref(), kind, body).await;
            let ok = match wants[i] {
                Ok => status == StatusCode::OK,
                To(prefix) => {
                    status == StatusCode::SEE_OTHER
                        && location.as_deref().is_some_and(|l| l.starts_with(prefix))
                }
                Is(code) => status.as_u16() == code,
            };
            assert!(
                ok,
                "{method} {path} as {role}: got {status} {location:?}, want {:?}",
                wants[i]
            );
            // The owner's patient, email and documents show only to the owner, and to
            // validators and admins (whose work is to check them).
            let may_see = i == 1 || i == 4 || i == 5;
            if !may_see {
                for secret in private {
                    assert!(
                        !page.contains(secret),
                        "{method} {path} as {role} shows {secret}"
                    );
                }
            }
            cells += 1;
        }
    }
    // Nothing above changed the owner's validation or documents.
    let p = node
        .state
        .patients
        .get(&owner_id, &patient.id)
        .expect("get")
        .expect("patient");
    assert!(matches!(p.validation, Validation::Pending { .. }));
    assert_eq!(node.files().len(), 3);
    // Forged forms change nothing, whoever sends them.
    let (status, _, _) = call(
        &node,
        &Method::POST,
        &symptoms,
        Some(&owner),
        &Form,
        "csrf=forged&term=HP%3A0000256",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    println!(
        "authorization table: {} routes x {} roles = {cells} cells",
        table.len(),
        roles.len()
    );
}
