//! Registration step 3 through the router: patients, diagnosis by ORPHA code, by name
//! (suggestions without JavaScript), not listed, or none; who sees what.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::accounts::Role;
use raremesh::registration::{Member, PersonalInfo, Registrant};
use tower::ServiceExt;

use crate::state;
use crate::web::enc;

const CSRF: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

/// A member at step 2 with a session; returns the session token and account id.
pub(crate) fn member(email: &str, registrant: Registrant) -> (String, raremesh::ids::AccountId) {
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
            consents: Default::default(),
            matrix: None,
        })
        .expect("member");
    (s.sessions.start(&account.id).expect("session"), account.id)
}

pub(crate) async fn get(path: &str, session: Option<&str>) -> (StatusCode, String) {
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
    // An expired (or forged) form saves nothing, and shows again what was typed.
    let (s, page) = post(&session, "forged", &child("Kept Name", "none_yet", "", "")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(page.contains("Kept Name"), "the typed name is shown again");
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

pub(crate) async fn post_to(
    path: &str,
    session: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut body = format!("csrf={CSRF}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", enc(v)));
    }
    let req = Request::post(path)
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

#[tokio::test]
async fn terms_are_accepted_with_their_version_and_consents_can_be_withdrawn() {
    let (session, account_id) = member("terms.owner@example.org", Registrant::AdultPatient);
    let (st, page) = get("/terms", Some(&session)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("Step 5 of 5") && page.contains("The terms (version 1)"));
    // Consents without accepting the terms: refused, nothing recorded.
    let (st, page) = post_to("/terms", &session, &[("research", "yes")]).await;
    assert!(
        st == StatusCode::UNPROCESSABLE_ENTITY && page.contains("tick the box"),
        "{page}"
    );
    // What was ticked stays ticked, for the member to add the missing box only.
    assert!(
        page.contains("name=\"research\" value=\"yes\" checked"),
        "{page}"
    );
    assert!(!page.contains("name=\"contactable\" value=\"yes\" checked"));
    assert!(
        !page.contains("four separate"),
        "the page counts its choices right"
    );
    let s = state();
    assert_eq!(
        s.registrations
            .member(&account_id)
            .expect("member")
            .map(|m| m.consents.terms_version),
        Some(None)
    );
    // Accept, with two of the three consents.
    let (st, _) = post_to(
        "/terms",
        &session,
        &[
            ("accept", "yes"),
            ("federated_matching", "yes"),
            ("research", "yes"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let m = s
        .registrations
        .member(&account_id)
        .expect("member")
        .expect("member");
    assert_eq!(m.consents.terms_version.as_deref(), Some("1"));
    // Registration done: the pages no longer count steps.
    let (_, page) = get("/patients", Some(&session)).await;
    assert!(!page.contains("Step 3 of 5"), "{page}");
    let (_, page) = get("/terms", Some(&session)).await;
    assert!(!page.contains("Step 5 of 5"), "{page}");
    // The account page says what comes next: validation.
    let (_, page) = get("/account", Some(&session)).await;
    assert!(
        page.contains("Registration is complete") && page.contains("validator"),
        "{page}"
    );
    assert!(
        m.consents.terms_accepted_at.is_some()
            && m.consents.federated_matching
            && m.consents.research
            && !m.consents.contactable
    );
    assert_eq!(m.step, 5);
    // Later: withdraw research, keep the rest; the acceptance stays as it was.
    let accepted_at = m.consents.terms_accepted_at;
    let (st, page) = get("/terms", Some(&session)).await;
    assert!(st == StatusCode::OK && page.contains("You accepted version 1"));
    let (st, _) = post_to("/terms", &session, &[("federated_matching", "yes")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let m = s
        .registrations
        .member(&account_id)
        .expect("member")
        .expect("member");
    assert!(m.consents.federated_matching && !m.consents.research);
    assert_eq!(m.consents.terms_accepted_at, accepted_at);
    let (_, account) = get("/account", Some(&session)).await;
    assert!(
        account.contains("Registration: 5 of 5 steps done"),
        "{account}"
    );
    // Not signed in: no terms page.
    assert_eq!(get("/terms", None).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_member_exports_and_deletes_their_data() {
    use raremesh::registration::patient::{Diagnosis, Onset, PatientInput, Relation, Sex, Symptom};
    let (session, account_id) = member("export.owner@example.org", Registrant::Caregiver);
    let s = state();
    let mut p = s
        .patients
        .add(
            &account_id,
            PatientInput {
                display_name: "Ivo".into(),
                birth_year: 2014,
                sex: Sex::Male,
                relation: Relation::Parent,
                diagnosis: Diagnosis::Orpha {
                    code: "ORPHA:558".parse().expect("code"),
                },
                organization: None,
            },
        )
        .expect("patient");
    p.symptoms = vec![
        Symptom {
            term: "HP:0001166".parse().expect("id"),
            observed: true,
            onset: Some(Onset::Childhood),
        },
        Symptom {
            term: "HP:0001250".parse().expect("id"),
            observed: false,
            onset: None,
        },
    ];
    s.patients.save(&p).expect("save");

    let (st, body) = get("/account/export", Some(&session)).await;
    assert_eq!(st, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["account"]["email"], "export.owner@example.org");
    assert_eq!(v["member"]["info"]["name"], "Sam <i>Tester</i>");
    assert_eq!(v["patients"][0]["record"]["display_name"], "Ivo");
    let pp = &v["patients"][0]["phenopacket"];
    assert_eq!(pp["metaData"]["phenopacketSchemaVersion"], "2.0");
    assert_eq!(pp["subject"]["sex"], "MALE");
    assert_eq!(pp["diseases"][0]["term"]["id"], "ORPHA:558");
    assert_eq!(
        pp["phenotypicFeatures"][0]["type"],
        serde_json::json!({"id": "HP:0001166", "label": "Arachnodactyly"})
    );
    assert_eq!(
        pp["phenotypicFeatures"][0]["onset"]["ontologyClass"]["id"],
        "HP:0011463"
    );
    assert_eq!(pp["phenotypicFeatures"][1]["excluded"], true);
    assert!(
        pp["metaData"]["created"]
            .as_str()
            .is_some_and(|c| c.len() == 20 && c.ends_with('Z'))
    );
    assert!(
        !body.contains("password_hash") && !body.contains("argon2"),
        "no secret in the export"
    );

    let (st, one) = get(&format!("/patients/{}/phenopacket", p.id), Some(&session)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(one.contains("\"phenopacketSchemaVersion\": \"2.0\""));
    let (other, other_id) = member("export.other@example.org", Registrant::Caregiver);
    assert_eq!(
        get(&format!("/patients/{}/phenopacket", p.id), Some(&other))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Another member's patient is "no such page", as a page in the reader's language.
    let mut spanish = state()
        .registrations
        .member(&other_id)
        .expect("read")
        .expect("member");
    spanish.info.language = "es".into();
    state().registrations.save_member(&spanish).expect("save");
    let (st, page) = get(&format!("/patients/{}/edit", p.id), Some(&other)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(
        page.contains("<html lang=\"es\"") && page.contains("Esta página no existe"),
        "{page}"
    );
    assert_eq!(get("/account/export", None).await.0, StatusCode::SEE_OTHER);

    // Deleting needs the password; then everything is gone and the address is free again.
    let (st, page) = post_to(
        "/account/delete",
        &session,
        &[("password", "not the password")],
    )
    .await;
    assert!(st == StatusCode::FORBIDDEN && page.contains("nothing was deleted"));
    assert!(s.accounts.get(&account_id).expect("get").is_some());
    let (st, _) = post_to(
        "/account/delete",
        &session,
        &[("password", "a good long password")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(s.accounts.get(&account_id).expect("get").is_none());
    assert!(
        s.accounts
            .by_email("export.owner@example.org")
            .expect("lookup")
            .is_none()
    );
    assert!(
        s.registrations
            .member(&account_id)
            .expect("member")
            .is_none()
    );
    assert!(s.patients.of(&account_id).expect("patients").is_empty());
    assert!(s.sessions.get(&session).expect("session").is_none());
    assert_eq!(
        get("/account", Some(&session)).await.0,
        StatusCode::SEE_OTHER
    );
    s.accounts
        .create(
            "export.owner@example.org",
            "a fresh long password",
            Role::Member,
            true,
        )
        .expect("the address can register again");
}

#[test]
fn timestamps_are_rfc3339() {
    assert_eq!(raremesh::clock::rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        raremesh::clock::rfc3339(951_782_400),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(
        raremesh::clock::rfc3339(1_764_090_000),
        "2025-11-25T17:00:00Z"
    );
}
