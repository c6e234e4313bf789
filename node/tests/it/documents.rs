//! Documents and terms from a member's side: removing a document sent by mistake, the
//! consent form to print, and the terms in each member's language.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::registration::patient::Validation;

use crate::validation::{CSRF, JPEG, Node, PDF, PNG};

#[tokio::test]
async fn a_member_removes_a_document_sent_by_mistake_until_a_validator_decides() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("oops@example.org", Role::Member, true);
    let p = node.patient(&member, "Noa", &["HP:0001250"]);
    for (kind, name, bytes) in [
        ("consent", "consent.pdf", PDF),
        ("identity", "id.jpg", JPEG),
        ("medical", "wrong-letter.png", PNG),
    ] {
        let (s, body) = node.upload(&p, &session, CSRF, kind, name, bytes).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    }
    assert!(matches!(node.status(&p), Validation::Pending { .. }));
    let docs = node
        .state
        .documents
        .of_patient(&member, &p.id)
        .expect("docs");
    let wrong = docs
        .iter()
        .find(|d| d.name == "wrong-letter.png")
        .expect("doc");
    let (_, page) = node
        .get(&format!("/patients/{}/documents", p.id), &session)
        .await;
    assert!(
        page.contains(&format!("/documents/{}/remove", wrong.id)),
        "{page}"
    );
    // Removed: its record and its file are gone; a required one missing again, the patient
    // no longer waits for review.
    let remove = format!("/patients/{}/documents/{}/remove", p.id, wrong.id);
    let (s, _) = node
        .post_form(&remove, &session, &format!("csrf={CSRF}"))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(node.files().len(), 2, "{:?}", node.files());
    assert!(
        node.state
            .documents
            .get(&member, &p.id, &wrong.id)
            .expect("get")
            .is_none()
    );
    assert_eq!(node.status(&p), Validation::NotSubmitted);
    // Someone else cannot, and a forged form does nothing.
    let (_, other) = node.account("not.theirs@example.org", Role::Member, true);
    let keep = docs.iter().find(|d| d.name == "consent.pdf").expect("doc");
    let theirs = format!("/patients/{}/documents/{}/remove", p.id, keep.id);
    let (s, _) = node
        .post_form(&theirs, &other, &format!("csrf={CSRF}"))
        .await;
    assert_ne!(s, StatusCode::SEE_OTHER);
    let (s, _) = node.post_form(&theirs, &session, "csrf=forged").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(node.files().len(), 2);
    // Once a validator decided, documents stay.
    let (s, _) = node
        .upload(&p, &session, CSRF, "medical", "letter.png", PNG)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    node.approve(&p);
    let (s, page) = node
        .post_form(&theirs, &session, &format!("csrf={CSRF}"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("can no longer be removed"), "{page}");
    assert_eq!(node.files().len(), 3);
}

#[tokio::test]
async fn an_organizations_terms_are_shown_in_each_members_language_where_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("terms.txt");
    std::fs::write(&file, "Our own terms.\n\nA second paragraph.").expect("write");
    std::fs::write(dir.path().join("terms.fr.txt"), "Nos propres conditions.").expect("write");
    let node = Node::new(|c| c.terms.file = Some(file.clone()));
    let (fr, fr_session) = node.account("francoise@example.org", Role::Member, true);
    let (es, es_session) = node.account("esteban@example.org", Role::Member, true);
    for (id, lang) in [(&fr, "fr"), (&es, "es")] {
        let mut m = node.state.registrations.member(id).expect("m").expect("m");
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
    }
    let (_, page) = node.get("/terms", &fr_session).await;
    assert!(
        page.contains("Nos propres conditions.") && !page.contains("Our own terms."),
        "{page}"
    );
    let (_, page) = node.get("/terms", &es_session).await;
    assert!(
        page.contains("Our own terms.")
            && page.contains("se muestran en el idioma en que la organización las escribió"),
        "no Spanish text: the organization's, marked: {page}"
    );
}

#[tokio::test]
async fn the_documents_page_offers_a_consent_form_in_the_members_language() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("forma@example.org", Role::Member, true);
    let mut m = node
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let p = node.patient(&member, "Iker", &["HP:0001250"]);
    let (_, page) = node
        .get(&format!("/patients/{}/documents", p.id), &session)
        .await;
    assert!(page.contains("href=\"/documents/consent-form\""), "{page}");
    let (s, form) = node.get("/documents/consent-form", &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("Formulario de consentimiento informado") && form.contains("Firma"),
        "{form}"
    );
    assert!(
        form.contains(&node.state.config.node.name),
        "the organization is named"
    );
}

#[tokio::test]
async fn an_organization_offers_its_own_consent_form_in_each_language() {
    let dir = tempfile::tempdir().expect("dir");
    let own = dir.path().join("consent.pdf");
    std::fs::write(&own, b"%PDF-1.4\n% the organization's form\n%%EOF\n").expect("write");
    std::fs::write(
        dir.path().join("consent.es.pdf"),
        b"%PDF-1.4\n% el formulario de la asociacion\n%%EOF\n",
    )
    .expect("write");
    let node = Node::new(|c| c.documents.consent_form = Some(own.clone()));
    let (member, session) = node.account("propia@example.org", Role::Member, true);
    let (s, body) = node.get("/documents/consent-form", &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("the organization's form"), "{body}");
    let mut m = node
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let (s, body) = node.get("/documents/consent-form", &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("el formulario de la asociacion"), "{body}");

    // The configuration refuses a form that is not a PDF, naming the file.
    std::fs::write(dir.path().join("consent.fr.pdf"), b"not a pdf").expect("write");
    let mut config = (*node.state.config).clone();
    config.documents.consent_form = Some(own);
    let err = config.validate().expect_err("not a PDF").to_string();
    assert!(
        err.contains("documents.consent_form") && err.contains("consent.fr.pdf"),
        "{err}"
    );
}
