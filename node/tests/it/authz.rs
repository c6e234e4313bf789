//! Who may see and change what: every page route × every role, in one table.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::accounts::Role;
use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex};
use raremesh::registration::{Member, PersonalInfo, Registrant};
use tower::ServiceExt;

use crate::state;

const CSRF: &str = "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef";

fn signed_in(email: &str, role: Role, member: bool) -> String {
    let s = state();
    let a = s
        .accounts
        .create(email, "a good long password", role, true)
        .expect("account");
    if member {
        let info = PersonalInfo {
            name: format!("Name of {email}"),
            email: a.email.clone(),
            country: "Spain".into(),
            language: "en".into(),
            registrant: Registrant::Caregiver,
        };
        s.registrations
            .save_member(&Member {
                account_id: a.id.clone(),
                info,
                step: 2,
                consents: Default::default(),
            })
            .expect("member");
    }
    s.sessions.start(&a.id).expect("session")
}

async fn call(
    method: &Method,
    path: &str,
    session: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, String) {
    let mut cookie = format!("raremesh_csrf={CSRF}");
    if let Some(t) = session {
        cookie.push_str(&format!("; raremesh_session={t}"));
    }
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("req");
    let res = raremesh::http::app(state())
        .oneshot(req)
        .await
        .expect("res");
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (
        status,
        location,
        String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes())
            .into_owned(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Ok,
    /// 303 to this path.
    To(&'static str),
    NotFound,
}

#[tokio::test]
async fn every_route_for_every_role() {
    let owner = signed_in("authz.owner@example.org", Role::Member, true);
    let s = state();
    let owner_id = s
        .sessions
        .get(&owner)
        .expect("get")
        .expect("session")
        .account_id;
    let patient = s
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
    let roles: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("owner (member)", Some(owner.clone())),
        (
            "another member",
            Some(signed_in("authz.other@example.org", Role::Member, true)),
        ),
        (
            "validator",
            Some(signed_in(
                "authz.validator@example.org",
                Role::Validator,
                false,
            )),
        ),
        (
            "admin",
            Some(signed_in("authz.admin@example.org", Role::Admin, false)),
        ),
        (
            "researcher",
            Some(signed_in(
                "authz.researcher@example.org",
                Role::Researcher,
                false,
            )),
        ),
    ];
    let symptoms = format!("/patients/{}/symptoms", patient.id);
    let add_symptom = format!("csrf={CSRF}&term=HP%3A0001250&presence=observed");
    let own = move |i: usize| i == 1;
    // (method, path, body, expectation per role in the order above)
    use Want::*;
    let table: Vec<(Method, String, String, [Want; 6])> = vec![
        (
            Method::GET,
            "/".into(),
            String::new(),
            [Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/api/v1/version".into(),
            String::new(),
            [Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/register".into(),
            String::new(),
            [Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/signin".into(),
            String::new(),
            [Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/password/forgot".into(),
            String::new(),
            [Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/account".into(),
            String::new(),
            [To("/signin"), Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            "/patients".into(),
            String::new(),
            [
                To("/signin"),
                Ok,
                Ok,
                To("/account"),
                To("/account"),
                To("/account"),
            ],
        ),
        (
            Method::GET,
            symptoms.clone(),
            String::new(),
            [
                To("/signin"),
                Ok,
                NotFound,
                To("/account"),
                To("/account"),
                To("/account"),
            ],
        ),
        (
            Method::POST,
            symptoms.clone(),
            add_symptom.clone(),
            [
                To("/signin"),
                To("/patients/"),
                NotFound,
                To("/account"),
                To("/account"),
                To("/account"),
            ],
        ),
        (
            Method::POST,
            format!("{symptoms}/remove"),
            format!("csrf={CSRF}&term=HP%3A0001250"),
            [
                To("/signin"),
                To("/patients/"),
                NotFound,
                To("/account"),
                To("/account"),
                To("/account"),
            ],
        ),
        (
            Method::GET,
            "/terms".into(),
            String::new(),
            [
                To("/signin"),
                Ok,
                Ok,
                To("/account"),
                To("/account"),
                To("/account"),
            ],
        ),
        (
            Method::GET,
            "/account/export".into(),
            String::new(),
            [To("/signin"), Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::GET,
            format!("/patients/{}/phenopacket", patient.id),
            String::new(),
            [To("/signin"), Ok, NotFound, NotFound, NotFound, NotFound],
        ),
        (
            Method::GET,
            "/account/delete".into(),
            String::new(),
            [To("/signin"), Ok, Ok, Ok, Ok, Ok],
        ),
    ];
    let mut cells = 0;
    for (method, path, body, wants) in &table {
        for (i, (role, session)) in roles.iter().enumerate() {
            let (status, location, page) = call(method, path, session.as_deref(), body).await;
            let ok = match wants[i] {
                Ok => status == StatusCode::OK,
                To(prefix) => {
                    status == StatusCode::SEE_OTHER
                        && location.as_deref().is_some_and(|l| l.starts_with(prefix))
                }
                NotFound => status == StatusCode::NOT_FOUND,
            };
            assert!(
                ok,
                "{method} {path} as {role}: got {status} {location:?}, want {:?}",
                wants[i]
            );
            // The owner's patient never shows on anyone else's page or download.
            if !own(i) {
                assert!(
                    !page.contains("Hiddenchild") && !page.contains("Privatediagnosis"),
                    "{method} {path} as {role} shows the owner's patient"
                );
            }
            cells += 1;
        }
    }
    // Forged forms change nothing, whoever sends them.
    let (status, _, _) = call(
        &Method::POST,
        &symptoms,
        Some(&owner),
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
