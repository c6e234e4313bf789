//! Who may see and change what: every route × every role, in one table
//! ([`crate::authz_routes`]).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex, Validation};

use crate::authz_routes::{BOUNDARY, Ids, Kind, Want, table};
use crate::validation::{CSRF, Node, PDF};

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
    let symptoms = format!("/patients/{}/symptoms", patient.id);
    let table = table(&Ids {
        p: &patient.id,
        owner_id: &owner_id,
        doc: &doc.id,
        qid: &qid,
        aid: &aid,
        theirs: &theirs.id,
    });
    use Kind::*;
    use Want::*;
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
