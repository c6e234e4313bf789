//! Registration step 4 through the router: symptoms by lay words or id, in the member's
//! language, present or NOT, with an onset; nothing wrong ticked by default.

use axum::http::StatusCode;
use raremesh::registration::Registrant;

use crate::patients::{get, member, post_to};
use crate::state;

#[tokio::test]
async fn symptoms_are_added_by_lay_words_or_id_and_removed() {
    use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex};
    let (session, account_id) = member("symptoms.owner@example.org", Registrant::Caregiver);
    let s = state();
    let patient = s
        .patients
        .add(
            &account_id,
            PatientInput {
                display_name: "Mia".into(),
                birth_year: 2019,
                sex: Sex::Female,
                relation: Relation::Parent,
                diagnosis: Diagnosis::NoneYet,
                organization: None,
            },
        )
        .expect("patient");
    let path = format!("/patients/{}/symptoms", patient.id);
    let (st, page) = get(&path, Some(&session)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("Step 4 of 5") && page.contains("No symptom yet."));

    // Lay words: matches to pick from, the obvious one first.
    let (st, page) = post_to(&path, &session, &[("term", "large head")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let first = page.find("value=\"HP:").map(|i| &page[i + 7..i + 17]);
    assert_eq!(first, Some("HP:0000256"), "Macrocephaly offered first");
    // Picked (or typed as an id), observed, with an onset.
    let (st, _) = post_to(
        &path,
        &session,
        &[
            ("term", "HP:0000256"),
            ("presence", "observed"),
            ("onset", "congenital"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // The suggestion list's form "id name", and an excluded symptom.
    let (st, _) = post_to(
        &path,
        &session,
        &[("term", "HP:0001250 Seizure"), ("presence", "excluded")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, page) = get(&path, Some(&session)).await;
    assert!(
        page.contains("<strong>Macrocephaly</strong>") && page.contains("At birth or before"),
        "{page}"
    );
    assert!(
        page.contains("Does not have: <strong>Seizure</strong>"),
        "{page}"
    );
    assert_eq!(
        s.registrations
            .member(&account_id)
            .expect("member")
            .map(|m| m.step),
        Some(4)
    );

    // An alternative id updates the same symptom rather than adding a second one.
    let (st, _) = post_to(
        &path,
        &session,
        &[("term", "HP:0005491"), ("presence", "excluded")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let stored = s
        .patients
        .get(&account_id, &patient.id)
        .expect("get")
        .expect("patient");
    assert_eq!(stored.symptoms.len(), 2);
    assert!(
        stored
            .symptoms
            .iter()
            .any(|x| x.term.to_string() == "HP:0000256" && !x.observed)
    );

    // Removing.
    let (st, _) = post_to(
        &format!("{path}/remove"),
        &session,
        &[("term", "HP:0001250")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(
        s.patients
            .get(&account_id, &patient.id)
            .expect("get")
            .expect("patient")
            .symptoms
            .len(),
        1
    );

    // Unknown words: nothing matches, nothing stored; another member cannot see or change it.
    let (st, page) = post_to(&path, &session, &[("term", "qqqzzzxxyy")]).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY && page.contains("Nothing matches"));
    let (other, _) = member("symptoms.other@example.org", Registrant::Caregiver);
    assert_eq!(get(&path, Some(&other)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post_to(&path, &other, &[("term", "HP:0001250")]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.patients
            .get(&account_id, &patient.id)
            .expect("get")
            .expect("patient")
            .symptoms
            .len(),
        1
    );
}

#[tokio::test]
async fn a_spanish_member_finds_symptoms_in_spanish_and_nothing_wrong_is_ticked() {
    use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex};
    let (session, account_id) = member("sintomas@example.org", Registrant::Caregiver);
    let s = state();
    let mut m = s.registrations.member(&account_id).expect("m").expect("m");
    m.info.language = "es".into();
    s.registrations.save_member(&m).expect("save");
    let patient = s
        .patients
        .add(
            &account_id,
            PatientInput {
                display_name: "Lucía".into(),
                birth_year: 2018,
                sex: Sex::Female,
                relation: Relation::Parent,
                diagnosis: Diagnosis::NoneYet,
                organization: None,
            },
        )
        .expect("patient");
    let path = format!("/patients/{}/symptoms", patient.id);
    let checked = |page: &str| -> Vec<String> {
        page.match_indices("name=\"term\" value=\"")
            .filter_map(|(i, _)| {
                let rest = &page[i + 19..];
                let end = rest.find('"')?;
                let tag_end = rest.find('>')?;
                rest[..tag_end]
                    .contains("checked")
                    .then(|| rest[..end].to_owned())
            })
            .collect()
    };

    // The member's words, "does NOT have" and an onset: Convulsiones, in Spanish, with the
    // English name beside it, ticked because the words name it; the choices kept.
    let (st, page) = post_to(
        &path,
        &session,
        &[
            ("term", "convulsiones"),
            ("presence", "excluded"),
            ("onset", "congenital"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Convulsiones") && page.contains("(Seizure)"),
        "{page}"
    );
    assert_eq!(checked(&page), ["HP:0001250"], "{page}");
    assert!(
        page.contains("value=\"excluded\" checked"),
        "NOT kept: {page}"
    );
    assert!(
        page.contains("value=\"congenital\" selected"),
        "onset kept: {page}"
    );
    assert!(page.contains("Ninguno de estos"), "{page}");

    // Vague words: suggestions, none ticked.
    let (_, page) = post_to(
        &path,
        &session,
        &[("term", "cabeza"), ("presence", "observed")],
    )
    .await;
    assert!(page.contains("value=\"HP:"), "suggestions: {page}");
    assert!(
        checked(&page).is_empty(),
        "nothing ticked: {:?}",
        checked(&page)
    );

    // "None of these", other words: searched again, choices still kept.
    let (_, page) = post_to(
        &path,
        &session,
        &[
            ("term", ""),
            ("words", "cabeza grande"),
            ("presence", "excluded"),
        ],
    )
    .await;
    assert!(page.contains("Macrocefalia"), "{page}");
    assert!(page.contains("value=\"excluded\" checked"), "{page}");

    // Picking the term stores it as excluded, with the onset.
    let (st, _) = post_to(
        &path,
        &session,
        &[
            ("term", "HP:0001250"),
            ("presence", "excluded"),
            ("onset", "congenital"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let stored = s
        .patients
        .get(&account_id, &patient.id)
        .expect("get")
        .expect("patient");
    let seizure = &stored.symptoms[0];
    assert_eq!(seizure.term.to_string(), "HP:0001250");
    assert!(!seizure.observed, "stored as NOT present");
    assert_eq!(
        seizure
            .onset
            .map(raremesh::registration::patient::Onset::key),
        Some("congenital")
    );
    let (_, page) = get(&path, Some(&session)).await;
    assert!(page.contains("<strong>Convulsiones</strong>"), "{page}");
    // The header knows who is signed in, in the member's language.
    assert!(
        page.contains(">Su cuenta<") && page.contains(">Sus pacientes<"),
        "{page}"
    );
    assert!(!page.contains("href=\"/register\""), "{page}");
    let (_, terms) = get("/terms", Some(&session)).await;
    assert!(
        terms.contains("Este nodo lo gestiona una organización de pacientes")
            && !terms.contains("This node is run by"),
        "the built-in terms in Spanish: {terms}"
    );
    let (_, anonymous) = get("/signin", None).await;
    assert!(
        anonymous.contains("href=\"/register\"") && !anonymous.contains("href=\"/account\""),
        "{anonymous}"
    );
}
