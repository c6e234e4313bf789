//! Registration step 3 through the router: patients, diagnosis by ORPHA code, by name
//! (suggestions without JavaScript), not listed, or none; who sees what.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::accounts::Role;
use raremesh::registration::{Member, PersonalInfo, Registrant};
use tower::ServiceExt;

use crate::state;

const CSRF: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

/// A member at step 2 with a session; returns the session token and account id.
fn member(email: &str, registrant: Registrant) -> (String, String) {
    let s = state();
    let account = s
        .accounts
        .create(email, "a good long password", Role::Member, true)
        .expect("account");
    let info = PersonalInfo {
        name: "Sam <i>Tester</i>".into(),
        email: account.email.clone(),
        country: "Spain".into(),
        language: "en".into(),
        registrant,
    };
    s.registrations
        .save_member(&Member {
            account_id: account.id.clone(),
            info,
            step: 2,
        })
        .expect("member");
    (s.sessions.start(&account.id).expect("session"), account.id)
}

async fn get(path: &str, session: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(path);
    if let Some(t) = session {
        req = req.header(header::COOKIE, format!("raremesh_session={t}"));
    }
    let res = raremesh::http::app(state())
        .oneshot(req.body(Body::empty()).expect("req"))
        .await
        .expect("res");
    let status = res.status();
    (
        status,
        String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes())
            .into_owned(),
    )
}

async fn post(session: &str, csrf: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let mut body = format!("csrf={csrf}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", enc(v)));
    }
    let req = Request::post("/patients")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::COOKIE,
            format!("raremesh_session={session}; raremesh_csrf={CSRF}"),
        )
        .body(Body::from(body))
        .expect("req");
    let res = raremesh::http::app(state())
        .oneshot(req)
        .await
        .expect("res");
    let status = res.status();
    (
        status,
        String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes())
            .into_owned(),
    )
}

fn child<'a>(
    name: &'a str,
    diagnosis: &'a str,
    disease: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("display_name", name),
        ("birth_year", "2016"),
        ("sex", "female"),
        ("relation", "parent"),
        ("diagnosis", diagnosis),
        ("disease", disease),
        ("diagnosis_text", text),
        ("organization", "Asociación Rara"),
    ]
}

#[tokio::test]
async fn a_caregiver_adds_patients() {
    let (session, account_id) = member("carer.patients@example.org", Registrant::Caregiver);
    let (s, page) = get("/patients", Some(&session)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Step 3 of 5"));

    // By ORPHA code.
    let (s, _) = post(&session, CSRF, &child("Lucía", "orpha", "ORPHA:558", "")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // As the browser's suggestion list gives it ("code name").
    let (s, _) = post(
        &session,
        CSRF,
        &child("Pablo", "orpha", "ORPHA:586 Cystic fibrosis", ""),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // By name only: no guess, but suggestions to pick from.
    let (s, page) = post(&session, CSRF, &child("Nora", "orpha", "marfan", "")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Which of these is it?") && page.contains("value=\"ORPHA:558\""),
        "{page}"
    );
    assert!(page.contains("value=\"Nora\""), "what was typed is kept");
    // Not listed: the member's words, escaped on output.
    let (s, _) = post(&session, CSRF, &child("Nora", "not_listed", "", "")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = post(
        &session,
        CSRF,
        &child("Nora", "not_listed", "", "<script>x()</script> syndrome"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = post(&session, CSRF, &child("Teo", "none_yet", "", "")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    let (_, page) = get("/patients", Some(&session)).await;
    for want in [
        "Lucía",
        "Marfan syndrome (ORPHA:558)",
        "Cystic fibrosis (ORPHA:586)",
        "&lt;script&gt;x()",
        "Teo",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }
    assert!(!page.contains("<script>x()"));
    let s = state();
    assert_eq!(s.patients.of(&account_id).expect("patients").len(), 4);
    assert_eq!(
        s.registrations
            .member(&account_id)
            .expect("member")
            .map(|m| m.step),
        Some(3)
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let (session, account_id) = member("bad.patients@example.org", Registrant::Caregiver);
    for (field, value, message) in [
        ("birth_year", "1800", "Enter the year of birth"),
        ("birth_year", "3000", "Enter the year of birth"),
        ("birth_year", "twenty", "Enter the year of birth"),
        ("sex", "robot", "Choose an answer"),
        ("relation", "", "Choose your relation"),
        ("diagnosis", "", "Choose one of the three answers"),
        (
            "disease",
            "ORPHA:999999999",
            "Pick the disease from the list",
        ),
        ("display_name", "", "Enter a name or nickname"),
    ] {
        let mut fields = child("Ok", "orpha", "ORPHA:558", "");
        for f in fields.iter_mut() {
            if f.0 == field {
                f.1 = value;
            }
        }
        let (s, page) = post(&session, CSRF, &fields).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(page.contains(message), "{field}={value}: {message}");
    }
    let (s, _) = post(&session, "forged", &child("Ok", "none_yet", "", "")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        state()
            .patients
            .of(&account_id)
            .expect("patients")
            .is_empty()
    );
}

#[tokio::test]
async fn members_see_only_their_own_patients() {
    let (a, _) = member("first.owner@example.org", Registrant::Caregiver);
    let (b, _) = member("second.owner@example.org", Registrant::AdultPatient);
    let (s, _) = post(&a, CSRF, &child("Secretname", "none_yet", "", "")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = get("/patients", Some(&b)).await;
    assert!(!page.contains("Secretname"));
    // An adult patient's form is prefilled with their own name and "I am the patient".
    assert!(
        page.contains("value=\"Sam &lt;i&gt;Tester&lt;")
            && page.contains("value=\"myself\" selected"),
        "{page}"
    );
    let (s, _) = get("/patients", None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}
