//! The registration journey and a symptom NOT present, in Spanish and in French, in
//! headless Chromium.

use serde_json::{Value, json};

use crate::driver::Driver;
use crate::socket::spawn_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_member_registers_and_describes_symptoms_in_spanish() {
    journey_in(Journey {
        lang: "es",
        name: "Lucía Navegador",
        email: "lucia.navegador@example.org",
        mail_says: "Para continuar su registro",
        child: "Mateo",
        words: "convulsiones",
        shown: "Convulsiones",
        english: "(Seizure)",
        term: "HP:0001250",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_member_registers_and_describes_symptoms_in_french() {
    journey_in(Journey {
        lang: "fr",
        name: "Élodie Navigatrice",
        email: "elodie.navigatrice@example.org",
        mail_says: "Pour poursuivre votre inscription",
        child: "Léo",
        words: "surdité",
        shown: "Hypoacousie",
        english: "(Hearing impairment)",
        term: "HP:0000365",
    })
    .await;
}

/// A registration and a symptom NOT present, in one language.
struct Journey {
    lang: &'static str,
    name: &'static str,
    email: &'static str,
    mail_says: &'static str,
    child: &'static str,
    words: &'static str,
    shown: &'static str,
    english: &'static str,
    term: &'static str,
}

async fn journey_in(j: Journey) {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;
    let t = |key: &str| raremesh::http::i18n::shared().text(j.lang, key).to_owned();
    let shot = |n: &str| format!("{}-{n}", j.lang);

    // Step 1 in the member's language, with the mail in it.
    d.goto(&format!("{base}/register?lang={}", j.lang)).await;
    assert_eq!(d.text("h1").await, t("register.title"));
    d.click("#r-caregiver").await;
    d.type_into("#name", j.name).await;
    d.type_into("#email", j.email).await;
    d.type_into("#country", "Europa").await;
    d.screenshot(&shot("01-register")).await;
    d.click("button[type=submit]").await;
    d.wait_for_text("h1", &t("register.sent_title")).await;
    d.screenshot(&shot("02-check-email")).await;
    let outbox = crate::state().config.outbox_path();
    let mail = std::fs::read_dir(outbox)
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains(&format!("To: {}", j.email)))
        .expect("confirmation mail")
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains(j.mail_says), "{mail}");
    let at = mail.find("/register/confirm/").expect("link");
    let link = format!("{base}{}", &mail[at..at + "/register/confirm/".len() + 64]);

    // Step 2, then straight on to step 3: a child with no diagnosis yet.
    d.goto(&link).await;
    assert_eq!(d.text("h1").await, t("register.password_title"));
    d.type_into("#password", "a long password of this member")
        .await;
    d.type_into("#password_again", "a long password of this member")
        .await;
    d.click("button[type=submit]").await;
    d.wait_for_text("h1", &t("patient.title")).await;
    d.screenshot(&shot("03-patients")).await;
    d.type_into("#display_name", j.child).await;
    d.type_into("#birth_year", "2019").await;
    d.script("document.getElementById('sex').value = 'male'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-none").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;

    // Step 4: the member's words, NOT present, from birth: offered in the member's
    // language with the English name, and kept as chosen.
    d.wait_for_text("h1", j.child).await;
    d.type_into("#term", j.words).await;
    d.click("#p-exc").await;
    d.script("document.getElementById('onset').value = 'congenital'; return true;")
        .await;
    d.screenshot(&shot("04-symptoms")).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let pick = d.wait_for_text("main", &t("symptom.pick")).await;
    assert!(pick.contains(j.shown) && pick.contains(j.english), "{pick}");
    let kept = d
        .script("return [document.getElementById('p-exc').checked, document.getElementById('onset').value];")
        .await;
    assert_eq!(kept, json!([true, "congenital"]), "NOT and the onset kept");
    // Pick the term meant (ticked already when the words name it for sure).
    let id = j.term;
    d.script(&format!(
        "document.querySelector('input[name=term][value=\"{id}\"]').checked = true; return true;"
    ))
    .await;
    d.screenshot(&shot("05-which-is-it")).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let listed = d.wait_for_text("ul.symptoms", j.shown).await;
    assert!(listed.contains(&t("symptom.not")), "{listed}");
    d.screenshot(&shot("06-symptoms-saved")).await;
    let s = crate::state();
    let account = s
        .accounts
        .by_email(j.email)
        .expect("read")
        .expect("account");
    let patient = &s.patients.of(&account.id).expect("patients")[0];
    let stored = patient
        .symptoms
        .iter()
        .find(|x| x.term.to_string() == j.term)
        .expect("stored");
    assert!(!stored.observed, "stored as NOT present");
    assert_eq!(
        stored
            .onset
            .map(raremesh::registration::patient::Onset::key),
        Some("congenital")
    );

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}

/// The pages of validators, moderators, researchers and admins, in Spanish and French:
/// each fits a phone and passes axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pages_in_spanish_and_french_fit_a_phone_and_pass_axe() {
    use raremesh::accounts::Role;
    use raremesh::registration::Registrant;
    use raremesh::registration::patient::{Diagnosis, PatientInput, Relation, Sex, Validation};

    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;
    let s = crate::state();
    let (_, member) = crate::patients::member("staff.pages@example.org", Registrant::Caregiver);
    let mut p = s
        .patients
        .add(
            &member,
            PatientInput {
                display_name: "Nerea".into(),
                birth_year: 2018,
                sex: Sex::Female,
                relation: Relation::Parent,
                diagnosis: Diagnosis::NoneYet,
                organization: None,
            },
        )
        .expect("patient");
    p.validation = Validation::Pending { since: 1 };
    s.patients.save(&p).expect("pending");
    for (email, role) in [
        ("staff.validator@example.org", Role::Validator),
        ("staff.researcher@example.org", Role::Researcher),
        ("staff.admin@example.org", Role::Admin),
    ] {
        s.accounts
            .create(email, "a long staff password", role, true)
            .expect("account");
    }
    let sign_in = |email: &'static str, lang: &'static str| {
        let (d, base) = (&d, &base);
        async move { d.sign_in(base, lang, email, "a long staff password").await }
    };
    let sign_out = || d.sign_out(&base);
    for lang in ["es", "fr"] {
        let t = |key: &str| raremesh::http::i18n::shared().text(lang, key).to_owned();
        sign_in("staff.validator@example.org", lang).await;
        d.goto(&format!("{base}/validation")).await;
        let h1 = d.wait_for_text("h1", &t("validation.title")).await;
        let lang_now = d
            .script("return document.documentElement.lang + ' ' + document.cookie")
            .await;
        eprintln!("h1 {h1:?} {lang_now}");
        d.screenshot(&format!("{lang}-staff-1-queue")).await;
        d.goto(&format!("{base}/validation/{member}/{}", p.id))
            .await;
        d.wait_for_text("main", &t("validation.your_decision"))
            .await;
        d.screenshot(&format!("{lang}-staff-2-review")).await;
        d.goto(&format!("{base}/validation/audit")).await;
        let shown = d.wait_for_text("h1", &t("validation.audit_title")).await;
        assert!(
            shown.contains(&t("validation.audit_title")),
            "{lang}: {shown}"
        );
        d.screenshot(&format!("{lang}-staff-3-audit")).await;
        d.goto(&format!("{base}/moderation")).await;
        let shown = d.wait_for_text("h1", &t("moderation.title")).await;
        assert!(shown.contains(&t("moderation.title")), "{lang}: {shown}");
        d.screenshot(&format!("{lang}-staff-4-moderation")).await;
        sign_out().await;
        sign_in("staff.researcher@example.org", lang).await;
        d.goto(&format!("{base}/research")).await;
        let shown = d.wait_for_text("h1", &t("research.count_title")).await;
        assert!(
            shown.contains(&t("research.count_title")),
            "{lang}: {shown}"
        );
        d.screenshot(&format!("{lang}-staff-5-research")).await;
        sign_out().await;
        sign_in("staff.admin@example.org", lang).await;
        d.goto(&format!("{base}/admin/federation")).await;
        let shown = d.wait_for_text("h1", &t("federation_status.title")).await;
        assert!(
            shown.contains(&t("federation_status.title")),
            "{lang}: {shown}"
        );
        d.screenshot(&format!("{lang}-staff-6-federation")).await;
        sign_out().await;
        // The member's patient page says what clinicians' matchmakers found and offers to
        // stop it; the validator's page sends the profile to a matchmaking network.
        let mut m = s.registrations.member(&member).expect("m").expect("m");
        m.info.language = lang.into();
        m.consents.matchmaking = true;
        s.registrations.save_member(&m).expect("save");
        d.sign_in(
            &base,
            lang,
            "staff.pages@example.org",
            "a good long password",
        )
        .await;
        d.goto(&format!("{base}/patients/{}/edit", p.id)).await;
        d.wait_for_text("#matchmaking", &t("mme.patient_title"))
            .await;
        d.wait_for_text("main", &t("mme.withdraw")).await;
        d.screenshot(&format!("{lang}-staff-7-member-matchmaking"))
            .await;
        sign_out().await;
        sign_in("staff.validator@example.org", lang).await;
        d.goto(&format!("{base}/validation/{member}/{}/mme", p.id))
            .await;
        d.wait_for_text("h1", &t("mme.send_title")).await;
        d.screenshot(&format!("{lang}-staff-8-mme-send")).await;
        sign_out().await;
    }
    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
