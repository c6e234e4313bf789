//! Registration steps 1 and 2 through the router, with the confirmation mail read from
//! the outbox folder.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::state;

use crate::web::{Res, enc, send};

fn post(path: &str, csrf: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let mut body = format!("csrf={csrf}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", enc(v)));
    }
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("raremesh_csrf={csrf}"))
        .body(Body::from(body))
        .expect("req")
}

fn csrf_value() -> String {
    "ab".repeat(32)
}

/// Decodes quoted-printable (soft line breaks and =XX).
fn qp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(v) = (b[i] == b'=' && i + 2 < b.len())
            .then(|| u8::from_str_radix(&s[i + 1..i + 3], 16).ok())
            .flatten()
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mails_to(address: &str) -> Vec<String> {
    let outbox: PathBuf = state().config.outbox_path();
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter(|m| m.contains(&format!("To: {address}")))
        .map(|m| qp(&m))
        .collect()
}

fn link_in(mail: &str) -> Option<String> {
    let at = mail.find("/register/confirm/")?;
    Some(mail[at..at + "/register/confirm/".len() + 64].to_owned())
}

fn step1(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("registrant", "caregiver".into()),
        ("name", "Ana <b>Pérez</b>".into()),
        ("email", email.into()),
        ("country", "Spain".into()),
        ("language", "es".into()),
    ]
}

async fn submit_step1(email: &str) -> Res {
    let fields = step1(email);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    send(post("/register", &csrf_value(), &pairs)).await
}

#[tokio::test]
async fn register_confirm_and_choose_a_password() {
    let csrf = csrf_value();
    // Step 1 with mistakes: errors next to the fields, values kept, nothing sent.
    let bad = send(post(
        "/register",
        &csrf,
        &[
            ("name", ""),
            ("email", "not-an-address"),
            ("country", "Spain"),
            ("language", "xx"),
        ],
    ))
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in [
        "Enter your name",
        "Enter an email address",
        "Choose a language",
        "patient or a caregiver",
    ] {
        assert!(bad.body.contains(msg), "{msg}");
    }
    assert!(bad.body.contains("value=\"Spain\"") && bad.body.contains("aria-invalid=\"true\""));
    let forged = send(post("/register", "wrong", &[("name", "x")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Step 1 done: a generic answer, and a link by mail.
    let ok = submit_step1("ana.register@example.org").await;
    assert_eq!(
        (ok.status, ok.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/register/sent"))
    );
    let mails = mails_to("ana.register@example.org");
    assert_eq!(mails.len(), 1);
    let link = link_in(&mails[0]).expect("link in the mail");
    assert!(
        mails[0].contains("Hola, Ana <b>Pérez</b>:"),
        "plain text mail keeps the name as typed, in the language chosen: {}",
        mails[0]
    );
    assert!(
        mails[0].contains("Para continuar su registro") && !mails[0].contains("Hello"),
        "{}",
        mails[0]
    );

    // Step 2: the link opens the password form; the name is escaped in the page.
    let page = send(Request::get(&link).body(Body::empty()).expect("req")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Ana &lt;b&gt;Pérez&lt;") && !page.body.contains("<b>Pérez"),
        "{}",
        page.body
    );
    let weak = send(post(
        &link,
        &csrf,
        &[("password", "short"), ("password_again", "short")],
    ))
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mismatch = send(post(
        &link,
        &csrf,
        &[
            ("password", "a good long password"),
            ("password_again", "a good long passwort"),
        ],
    ))
    .await;
    // Step 2 speaks the language chosen in step 1 (Spanish here).
    assert!(
        mismatch.status == StatusCode::UNPROCESSABLE_ENTITY
            && mismatch.body.contains("Las dos contraseñas no coinciden"),
        "{}",
        mismatch.body
    );
    assert!(mismatch.body.contains("<html lang=\"es\">"));
    let done = send(post(
        &link,
        &csrf,
        &[
            ("password", "a good long password"),
            ("password_again", "a good long password"),
        ],
    ))
    .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/patients")),
        "registered: on to step 3"
    );
    let session = done
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("raremesh_session="))
        .and_then(|c| c.split(';').next())
        .expect("signed in")
        .to_owned();
    let account = send(
        Request::get("/account")
            .header(header::COOKIE, format!("raremesh_session={session}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    // Ana chose Spanish on step 1: her account page speaks it.
    assert!(
        account.body.contains("Registro: 2 de 5 pasos hechos.")
            && account.body.contains("Cerrar sesión")
            && !account.body.contains("Sign out"),
        "{}",
        account.body
    );

    // The link works once.
    let again = send(Request::get(&link).body(Body::empty()).expect("req")).await;
    assert_eq!(again.status, StatusCode::GONE);
    let replay = send(post(
        &link,
        &csrf,
        &[
            ("password", "another long password"),
            ("password_again", "another long password"),
        ],
    ))
    .await;
    assert_eq!(replay.status, StatusCode::GONE);
    let garbage = send(
        Request::get("/register/confirm/123")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::GONE);

    // Registering again with the same address: the same answer, and a mail saying so.
    let twice = submit_step1("ANA.register@example.org").await;
    assert_eq!(
        (twice.status, twice.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/register/sent"))
    );
    let mails = mails_to("ana.register@example.org");
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].contains("que ya tiene una cuenta") && link_in(&mails[1]).is_none(),
        "{}",
        mails[1]
    );
}

#[tokio::test]
async fn the_link_can_be_sent_again_without_revealing_anything() {
    let csrf = csrf_value();
    submit_step1("resend.me@example.org").await;
    let r = send(post(
        "/register/resend",
        &csrf,
        &[("email", "resend.me@example.org")],
    ))
    .await;
    assert_eq!(
        (r.status, r.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/register/sent"))
    );
    let unknown = send(post(
        "/register/resend",
        &csrf,
        &[("email", "never.registered@example.org")],
    ))
    .await;
    assert_eq!(
        (unknown.status, unknown.location.as_deref()),
        (r.status, r.location.as_deref())
    );
    let mails = mails_to("resend.me@example.org");
    assert_eq!(mails.len(), 2);
    assert_ne!(link_in(&mails[0]), link_in(&mails[1]));
    assert!(mails_to("never.registered@example.org").is_empty());
    // At most three mails per address per window.
    for _ in 0..3 {
        send(post(
            "/register/resend",
            &csrf,
            &[("email", "resend.me@example.org")],
        ))
        .await;
    }
    assert_eq!(mails_to("resend.me@example.org").len(), 3);
}

#[tokio::test]
async fn the_registration_pages_speak_english_spanish_and_french() {
    let fr = send(
        Request::get("/register?lang=fr")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert!(
        fr.body.contains("<html lang=\"fr\">") && fr.body.contains("Qui s’inscrit ?"),
        "{}",
        fr.body
    );
    assert!(fr.cookies.iter().any(|c| c.starts_with("raremesh_lang=fr")));
    let remembered = send(
        Request::get("/register")
            .header(header::COOKIE, "raremesh_lang=fr")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert!(remembered.body.contains("Votre nom"));
    let es = send(
        Request::get("/register")
            .header(header::ACCEPT_LANGUAGE, "es-ES,es;q=0.9,en;q=0.8")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert!(es.body.contains("<html lang=\"es\">") && es.body.contains("¿Quién se registra?"));
    let other = send(
        Request::get("/register")
            .header(header::ACCEPT_LANGUAGE, "de-DE")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert!(
        other.body.contains("<html lang=\"en\">") && other.body.contains("Who is registering?")
    );
    // Errors are translated too.
    let bad = send(
        Request::post("/register")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::COOKIE,
                format!("raremesh_csrf={}; raremesh_lang=fr", csrf_value()),
            )
            .body(Body::from(format!(
                "csrf={}&name=&email=x&country=&language=fr",
                csrf_value()
            )))
            .expect("req"),
    )
    .await;
    assert!(bad.body.contains("Indiquez votre nom"), "{}", bad.body);
}

#[test]
fn every_catalogue_has_every_registration_text() {
    let catalogs = raremesh::http::i18n::Catalogs::load().expect("catalogues parse");
    let en: std::collections::BTreeSet<&str> = catalogs.keys("en").into_iter().collect();
    for lang in ["es", "fr"] {
        let keys: std::collections::BTreeSet<&str> = catalogs.keys(lang).into_iter().collect();
        assert!(
            keys.is_subset(&en),
            "{lang} has keys English lacks: {:?}",
            keys.difference(&en).collect::<Vec<_>>()
        );
        let missing: Vec<_> = en
            .iter()
            .filter(|k| {
                (k.starts_with("register.")
                    || k.starts_with("common.")
                    || k.starts_with("patient.")
                    || k.starts_with("qa.")
                    || k.starts_with("symptom.")
                    || k.starts_with("terms.")
                    || k.starts_with("documents.")
                    || k.starts_with("similar.")
                    || k.starts_with("profile."))
                    && !keys.contains(*k)
            })
            .collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
    }
    // Every t("...") in the templates exists in English.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/templates");
    for entry in std::fs::read_dir(dir).expect("templates").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("t(\"") {
            let standalone = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
            let after = &rest[at + 3..];
            if standalone {
                let key = after.split('"').next().unwrap_or_default();
                let dynamic = after[key.len()..].starts_with("\" ~");
                let known = if dynamic {
                    en.iter().any(|k| k.starts_with(key))
                } else {
                    en.contains(key)
                };
                assert!(known, "{}: unknown key {key}", entry.path().display());
            }
            rest = after;
        }
    }
}

/// Every text exists in Spanish and French, and none is left in English there: a value equal
/// to the English one is a missed translation unless it is the same word in that language.
#[test]
fn no_text_is_left_in_english_in_spanish_or_french() {
    let catalogs = raremesh::http::i18n::Catalogs::load().expect("catalogues parse");
    // The same word in the other language, or a name.
    const SAME: &[(&str, &str)] = &[
        ("fr", "documents.status"),
        ("fr", "patient.relation_parent"),
        ("fr", "research.patients"),
        ("fr", "research.count_patients"),
        ("fr", "research.title"),
        ("fr", "account.questions"),
        ("fr", "consent_form.signature"),
        ("fr", "account.messages"),
        ("fr", "common.nav_messages"),
        ("fr", "messages.title"),
        ("fr", "common.patient_pseudonym"),
        ("fr", "mme.contact"),
        ("fr", "mme.score"),
    ];
    for lang in ["es", "fr"] {
        let mut untranslated = Vec::new();
        let mut missing = Vec::new();
        for key in catalogs.keys("en") {
            let en = catalogs.text("en", key);
            if !catalogs.keys(lang).contains(&key) {
                missing.push(key);
            } else if catalogs.text(lang, key) == en
                && en.chars().any(char::is_alphabetic)
                && !SAME.contains(&(lang, key))
            {
                untranslated.push(format!("{key} = {en:?}"));
            }
        }
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(
            untranslated.is_empty(),
            "{lang} still in English: {untranslated:?}"
        );
    }
}

/// Pages whose words come from the catalogues only: a template with words of its own is
/// English for everyone. The ones still written in English are listed, so the list can only
/// shrink.
#[test]
fn templates_take_their_words_from_the_catalogues() {
    const STILL_ENGLISH: &[&str] = &[];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/templates");
    let mut with_words = Vec::new();
    for entry in std::fs::read_dir(dir).expect("templates").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".html") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        // Drop template code, tags and entities; what is left is shown as written.
        let mut plain = String::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let next = ["{{", "{%", "<", "&"]
                .iter()
                .filter_map(|m| rest.find(m).map(|i| (i, *m)))
                .min();
            let Some((i, open)) = next else {
                plain.push_str(rest);
                break;
            };
            plain.push_str(&rest[..i]);
            let close = match open {
                "{{" => "}}",
                "{%" => "%}",
                "<" => ">",
                _ => ";",
            };
            rest = rest[i..]
                .find(close)
                .map_or("", |j| &rest[i + j + close.len()..]);
            plain.push(' ');
        }
        // Names, the same in every language.
        const NAMES: &[&str] = &[
            "raremesh",
            "MB",
            "Phenopacket",
            "English",
            "Español",
            "Français",
        ];
        let words = plain
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() > 1 && !NAMES.contains(w))
            .count();
        if words > 0 {
            with_words.push(name);
        }
    }
    with_words.sort();
    let still: Vec<String> = STILL_ENGLISH.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(with_words, still, "templates with words of their own");
}
