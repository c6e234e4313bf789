//! Questionnaires for members who do not write English: written per language (falling
//! back to the file's own, marked), and decimal numbers with a comma.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::research::answers::Value;

use crate::validation::{CSRF, Node};

const BODY: &str = r#"
id = "body"
version = 1
title = "Body"
[[questions]]
id = "weight"
text = "Weight"
kind = "number"
min = 1
max = 200
unit = "kg"
decimals = 1
[[questions]]
id = "teeth"
text = "Teeth"
kind = "number"
min = 0
max = 32
"#;

#[tokio::test]
async fn a_decimal_comma_is_a_number() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("body.toml"), BODY).expect("write");
    let path = dir.path().to_owned();
    let node = Node::new(move |c| c.research.questionnaires_dir = Some(path));
    let (id, session) = node.account("coma@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&id).expect("m").expect("m");
    m.consents.research = true;
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let p = node.patient(&id, "Iker", &["HP:0001250"]);
    node.approve(&p);
    let form = format!("/patients/{}/questionnaires/body", p.id);
    let stored = || {
        node.state
            .research
            .answers(&p.account_id, &p.id, "body")
            .expect("read")
    };

    // Too many decimals, a decimal where a whole number is asked, out of range: refused,
    // nothing stored.
    for bad in [
        "q-weight=27,55&q-teeth=20",
        "q-weight=27,5&q-teeth=20,5",
        "q-weight=200,1&q-teeth=20",
    ] {
        let (s, _) = node
            .post_form(&form, &session, &format!("csrf={CSRF}&{bad}&action=draft"))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(stored().is_none(), "{bad}");
    }

    // A comma or a point: the same number, kept with a point, shown with the member's comma.
    let (s, _) = node
        .post_form(
            &form,
            &session,
            &format!("csrf={CSRF}&q-weight=27%2C5&q-teeth=20&action=draft"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let a = stored().expect("saved");
    assert_eq!(a.values.get("weight"), Some(&Value::Text("27.5".into())));
    assert_eq!(a.values.get("teeth"), Some(&Value::Int(20)));
    let (_, page) = node.get(&form, &session).await;
    assert!(page.contains("value=\"27,5\""), "{page}");
    assert!(page.contains("inputmode=\"decimal\""), "{page}");
    let (s, _) = node
        .post_form(
            &form,
            &session,
            &format!("csrf={CSRF}&q-weight=27.5&q-teeth=20&action=submit"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(stored().expect("saved").submitted);
}

const DAILY: &str = r#"
id = "daily"
version = 1
title = "Daily life"
[translations.es]
title = "Vida diaria"
description = "Cómo vive el paciente cada día."
[[questions]]
id = "mobility"
text = "How does the patient move around?"
kind = "single"
options = ["Walks unaided", "Walks with help", "Wheelchair"]
[questions.translations.es]
text = "¿Cómo se desplaza el paciente?"
options = ["Camina sin ayuda", "Camina con ayuda", "Silla de ruedas"]
[[questions]]
id = "fatigue"
text = "How tired is the patient most days?"
kind = "scale"
min = 0
max = 4
labels = ["Not at all", "Very"]
[questions.translations.es]
text = "¿Qué tan cansado está el paciente la mayoría de los días?"
labels = ["Nada", "Mucho"]
"#;

#[tokio::test]
async fn a_questionnaire_is_shown_in_the_members_language_and_kept_in_its_own() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("daily.toml"), DAILY).expect("write");
    let path = dir.path().to_owned();
    let node = Node::new(move |c| {
        c.research.questionnaires_dir = Some(path);
        c.research.k = 2;
        c.research.allow_small_k = true;
    });
    let member = |email: &str, lang: &str| {
        let (id, session) = node.account(email, Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, email, &["HP:0001250"]);
        node.approve(&p);
        (p, session)
    };
    let (es, es_session) = member("vida@example.org", "es");
    let (fr, fr_session) = member("vie@example.org", "fr");

    let form = |p: &raremesh::registration::patient::Patient| {
        format!("/patients/{}/questionnaires/daily", p.id)
    };
    let (_, list) = node
        .get(&format!("/patients/{}/questionnaires", es.id), &es_session)
        .await;
    assert!(list.contains("Vida diaria"), "{list}");
    let (_, page) = node.get(&form(&es), &es_session).await;
    assert!(
        page.contains("¿Cómo se desplaza el paciente?")
            && page.contains("Silla de ruedas")
            && page.contains("Nada")
            && !page.contains("Wheelchair")
            && !page.contains("se muestran en el idioma en que la organización"),
        "{page}"
    );
    // A language without a translation reads the file's own words, marked.
    let (_, page) = node.get(&form(&fr), &fr_session).await;
    assert!(
        page.contains("How does the patient move around?")
            && page.contains("dans la langue dans laquelle l’association les a écrites"),
        "{page}"
    );

    // The answer is kept as the file's own option, whatever the language it was given in.
    for (p, session) in [(&es, &es_session), (&fr, &fr_session)] {
        let (s, _) = node
            .post_form(
                &form(p),
                session,
                &format!("csrf={CSRF}&q-mobility=2&q-fatigue=3&action=submit"),
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let a = node
            .state
            .research
            .answers(&p.account_id, &p.id, "daily")
            .expect("read")
            .expect("answers");
        assert_eq!(
            a.values.get("mobility"),
            Some(&Value::Text("Wheelchair".into()))
        );
    }

    // Where I stand: the question, the options and the sentence read by screen readers
    // in Spanish.
    let (s, page) = node
        .get(
            &format!("/patients/{}/questionnaires/daily/results", es.id),
            &es_session,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("¿Cómo se desplaza el paciente?")
            && page.contains("Silla de ruedas: 2 (su respuesta)")
            && page.contains("2 pacientes respondieron.")
            && !page.contains("patients answered"),
        "{page}"
    );
}

#[test]
fn a_translation_with_other_options_is_refused_naming_the_key() {
    let bad = DAILY.replace(
        r#"options = ["Camina sin ayuda", "Camina con ayuda", "Silla de ruedas"]"#,
        r#"options = ["Camina sin ayuda", "Silla de ruedas"]"#,
    );
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("daily.toml"), bad).expect("write");
    let mut config = raremesh::config::Config::default();
    config.research.questionnaires_dir = Some(dir.path().to_owned());
    let err = raremesh::research::Research::load(
        &config,
        std::sync::Arc::new(raremesh::store::MemoryStore::default()),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("daily.toml") && err.contains("questions[0].translations.es.options"),
        "{err}"
    );
}

#[tokio::test]
async fn researchers_count_in_their_language() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let node = Node::new(|_| {});
    let (_, session) = node.account("investigadora@example.org", Role::Researcher, false);
    let send = |req: axum::http::request::Builder, body: String| {
        let req = req
            .header(
                header::COOKIE,
                format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
            )
            .header(header::ACCEPT_LANGUAGE, "es")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("req");
        node.send(req)
    };
    let (s, body, _) = send(Request::get("/research"), String::new()).await;
    let page = String::from_utf8_lossy(&body);
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Recuentos de investigación") && page.contains("Tramo de edad"),
        "{page}"
    );
    let (s, body, _) = send(
        Request::post("/research"),
        format!("csrf={CSRF}&symptom=HP%3A9999999"),
    )
    .await;
    let page = String::from_utf8_lossy(&body);
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("no es un término HPO"), "{page}");
    let (s, body, _) = send(Request::post("/research"), format!("csrf={CSRF}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        String::from_utf8_lossy(&body).contains("indique al menos un criterio"),
        "no criterion"
    );
}
