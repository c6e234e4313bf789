//! The validators' pages in the validator's language: the queue, a review, a refused
//! decision, the audit log, question moderation and the federation status, in Spanish and
//! French.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::registration::patient::Validation;

use crate::validation::{CSRF, Node};

async fn page(node: &Node, session: &str, lang: &str, path: &str) -> (StatusCode, String) {
    let (s, b, _) = node
        .send(
            Request::get(path)
                .header(
                    header::COOKIE,
                    format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                )
                .header(header::ACCEPT_LANGUAGE, lang)
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    (s, String::from_utf8_lossy(&b).into_owned())
}

async fn decide(node: &Node, session: &str, lang: &str, path: &str) -> (StatusCode, String) {
    let (s, b, _) = node
        .send(
            Request::post(path)
                .header(
                    header::COOKIE,
                    format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                )
                .header(header::ACCEPT_LANGUAGE, lang)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={CSRF}&decision=reject&reason=")))
                .expect("req"),
        )
        .await;
    (s, String::from_utf8_lossy(&b).into_owned())
}

#[tokio::test]
async fn validators_read_their_pages_in_their_language() {
    let node = Node::new(|_| {});
    let (member, _) = node.account("lucia.i18n@example.org", Role::Member, true);
    let mut p = node.patient(&member, "Lucía", &["HP:0001250"]);
    p.validation = Validation::Pending { since: 1 };
    node.state.patients.save(&p).expect("pending");
    let (_, validator) = node.account("validadora@example.org", Role::Validator, false);
    let review = format!("/validation/{member}/{}", p.id);

    let cases = [
        (
            "es",
            [
                "En espera de revisión (1)",
                "Revisión: Lucía",
                "Aprobar: los documentos",
                "Diga por qué",
                "Registro de auditoría",
            ],
        ),
        (
            "fr",
            [
                "En attente d’examen (1)",
                "Examen: Lucía",
                "Approuver : les documents",
                "Dites pourquoi",
                "Journal d’audit",
            ],
        ),
    ];
    for (lang, [queue, title, approve, refused, audit]) in cases {
        let (s, body) = page(&node, &validator, lang, "/validation").await;
        assert_eq!(s, StatusCode::OK, "{lang}");
        assert!(body.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
        assert!(body.contains(queue), "{lang} queue: {body}");
        assert!(!body.contains("Waiting for review"), "{lang}: English left");

        let (s, body) = page(&node, &validator, lang, &review).await;
        assert_eq!(s, StatusCode::OK, "{lang}");
        assert!(
            body.contains(title) && body.contains(approve),
            "{lang} review: {body}"
        );
        assert!(!body.contains("Your decision"), "{lang}: English left");

        // A rejection without a reason is refused in the validator's language.
        let (s, body) = decide(&node, &validator, lang, &review).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        assert!(body.contains(refused), "{lang} refusal: {body}");

        let (s, body) = page(&node, &validator, lang, "/validation/audit").await;
        assert_eq!(s, StatusCode::OK, "{lang}");
        assert!(body.contains(audit), "{lang} audit: {body}");
    }
    assert!(
        matches!(node.status(&p), Validation::Pending { .. }),
        "nothing decided"
    );
}

#[tokio::test]
async fn admins_read_the_federation_status_in_their_language() {
    // Without federation, and with one whose homeserver does not answer.
    let off = Node::new(|_| {});
    let (_, admin) = off.account("admin.off@example.org", Role::Admin, false);
    let (s, body) = page(&off, &admin, "es", "/admin/federation").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("La federación no está activada"), "{body}");
    let (_, member) = off.account("member.off@example.org", Role::Member, true);
    let (s, _) = page(&off, &member, "es", "/admin/federation").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (on, _) = crate::federation_hostile::hostile_setup();
    let (_, admin) = on.account("admin.on@example.org", Role::Admin, false);
    for (lang, words) in [
        (
            "es",
            [
                "Estado de la federación",
                "Con problemas",
                "el servidor doméstico no responde",
                "todavía sin invitación",
            ],
        ),
        (
            "fr",
            [
                "État de la fédération",
                "En difficulté",
                "le serveur d’accueil ne répond pas",
                "pas encore d’invitation",
            ],
        ),
        (
            "en",
            [
                "Federation status",
                "Not healthy",
                "the homeserver does not answer",
                "no invitation yet",
            ],
        ),
    ] {
        let (s, body) = page(&on, &admin, lang, "/admin/federation").await;
        assert_eq!(s, StatusCode::OK, "{lang}");
        for w in words {
            assert!(body.contains(w), "{lang}: {w} in {body}");
        }
    }
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_goes_back() {
    let node = Node::new(|_| {});
    let (s, _, headers) = node
        .send(
            Request::get("/language/fr")
                .header(
                    header::REFERER,
                    "https://elsewhere.example.org/validation?x=1",
                )
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/validation?x=1",
        "back, on this node"
    );
    let cookie = headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(cookie.starts_with("raremesh_lang=fr;"), "{cookie}");
    let (s, _, _) = node
        .send(
            Request::get("/language/xx")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A page read with that cookie is in French, its switch marking it.
    let (_, body, _) = node
        .send(
            Request::get("/signin")
                .header(header::COOKIE, "raremesh_lang=fr")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("<html lang=\"fr\""), "{page}");
    assert!(
        page.contains("href=\"/language/fr\" lang=\"fr\" hreflang=\"fr\" aria-current=\"true\""),
        "{page}"
    );
}

/// The mail that tells a member what the validators decided is in the member's language,
/// whatever the validator's.
#[tokio::test]
async fn the_decision_mail_is_in_the_members_language() {
    let node = Node::new(|_| {});
    let (_, validator) = node.account("validatrice@example.org", Role::Validator, false);
    for (lang, email, rejected, approved) in [
        // (Words without accents: the stored mail may encode the others.)
        (
            "es",
            "marta.decision@example.org",
            "hay que revisar los documentos de Marta",
            "Ya puede ver pacientes como",
        ),
        (
            "fr",
            "lea.decision@example.org",
            "les documents de Marta sont",
            "le patient est maintenant valid",
        ),
    ] {
        let (member, _) = node.account(email, Role::Member, true);
        let mut m = node
            .state
            .registrations
            .member(&member)
            .expect("m")
            .expect("m");
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        let mut p = node.patient(&member, "Marta", &["HP:0001250"]);
        p.validation = Validation::Pending { since: 1 };
        node.state.patients.save(&p).expect("pending");
        let review = format!("/validation/{member}/{}", p.id);
        // The validator reads English; the member gets their own language.
        let (s, _, _) = node
            .send(
                Request::post(&review)
                    .header(
                        header::COOKIE,
                        format!("raremesh_csrf={CSRF}; raremesh_session={validator}"),
                    )
                    .header(header::ACCEPT_LANGUAGE, "en")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!(
                        "csrf={CSRF}&decision=reject&reason=Falta+la+firma"
                    )))
                    .expect("req"),
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{lang}");
        let mails = node.outbox();
        let mail = mails
            .iter()
            .find(|x| x.contains(email))
            .expect("a mail to the member");
        assert!(
            mail.contains(rejected) && mail.contains("Falta la firma"),
            "{lang}: {mail}"
        );
        assert!(!mail.contains("need another look"), "{lang}: {mail}");
        p.validation = Validation::Pending { since: 2 };
        node.state.patients.save(&p).expect("pending");
        let (s, _, _) = node
            .send(
                Request::post(&review)
                    .header(
                        header::COOKIE,
                        format!("raremesh_csrf={CSRF}; raremesh_session={validator}"),
                    )
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("csrf={CSRF}&decision=approve")))
                    .expect("req"),
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{lang}");
        assert!(
            node.outbox()
                .iter()
                .any(|x| x.contains(email) && x.contains(approved)),
            "{lang}: the approval mail"
        );
    }
}
