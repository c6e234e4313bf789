//! The home page in real headless Chromium, driven over the WebDriver protocol
//! (ChromeDriver). `scripts/test.sh` installs Debian's `chromium` and `chromium-driver`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::driver::Driver;
use crate::socket::spawn_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_in_headless_chromium() {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;

    // Without typing: the page says what it is and shows the HPO version.
    d.goto(&format!("{base}/")).await;
    let footer = d.text("footer").await;
    assert!(
        footer.contains("Human Phenotype Ontology (version 2025-01-16)"),
        "{footer}"
    );
    assert!(d.text("label[for=q]").await.contains("Symptom"));
    // The accessibility check sees a page's faults: the home page has none; an image
    // without a text alternative, added here, is one.
    assert_eq!(d.accessibility().await, Vec::<String>::new());
    d.script("const i = document.createElement('img'); i.src = '/assets/none.png'; document.querySelector('main').appendChild(i); return true;").await;
    let found = d.accessibility().await;
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")),
        "{found:?}"
    );
    d.goto(&format!("{base}/")).await;

    // With JavaScript: suggestions appear while typing, lay words included.
    d.type_into("#q", "large head").await;
    let results = d.wait_for_text("#results", "Macrocephaly").await;
    assert!(results.starts_with("Macrocephaly"), "{results}");
    assert!(
        results.contains("matches \u{201c}Large head\u{201d}"),
        "{results}"
    );

    // The form itself (what works without JavaScript): submit with Enter.
    d.type_into("#q", "\u{E007}").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !d
        .script("return location.search")
        .await
        .as_str()
        .unwrap_or_default()
        .contains("q=large+head")
    {
        assert!(Instant::now() < deadline, "form did not submit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let results = d.wait_for_text("#results", "Macrocephaly").await;
    assert!(results.contains("HP:0000256"), "{results}");

    // Typos still find the symptom.
    d.goto(&format!("{base}/?q=siezure")).await;
    assert!(d.text("#results li").await.starts_with("Seizure"));

    // The page fits a phone screen: no horizontal scrolling.
    let overflow = d
        .script("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(overflow, Value::Bool(true));

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_registration_in_headless_chromium() {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;
    let started = Instant::now();
    let email = "browser.journey@example.org";

    d.goto(&format!("{base}/register")).await;
    d.click("#r-caregiver").await;
    d.type_into("#name", "Lena Browser").await;
    d.type_into("#email", email).await;
    d.type_into("#country", "France").await;
    d.screenshot("01-register-step1").await;
    d.click("button[type=submit]").await;
    assert!(
        d.wait_for_text("h1", "Check your email")
            .await
            .contains("Check your email")
    );
    d.screenshot("02-check-your-email").await;

    // The link from the mail in the outbox.
    let outbox = crate::state().config.outbox_path();
    let mail = std::fs::read_dir(outbox)
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains(&format!("To: {email}")))
        .expect("confirmation mail");
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("/register/confirm/").expect("link");
    let link = format!("{base}{}", &mail[at..at + "/register/confirm/".len() + 64]);

    d.goto(&link).await;
    assert!(d.text("h1").await.contains("Choose your password"));
    d.type_into("#password", "lena picks a long password").await;
    d.type_into("#password_again", "lena picks a long password")
        .await;
    d.screenshot("03-choose-password").await;
    d.click("button[type=submit]").await;
    // Registered: the next step, the patient, comes at once.
    assert!(
        d.wait_for_text("main", "Step 3 of 5")
            .await
            .contains("Tell us about the patient")
    );
    d.goto(&format!("{base}/account")).await;
    let account = d.wait_for_text("main", "Registration: 2 of 5").await;
    assert!(
        account.contains("Hello Lena Browser") && account.contains(email),
        "{account}"
    );
    d.screenshot("04-account").await;

    // Sign out, and back in.
    d.click("form[action='/signout'] button").await;
    // Sign-out lands on the home page; wait for it before going elsewhere.
    assert!(
        d.wait_for_text("h1", "Find people like you")
            .await
            .contains("Find people like you")
    );
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", "lena picks a long password").await;
    d.click("button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Registration: 2 of 5")
            .await
            .contains(email)
    );
    d.screenshot("05-signed-in-again").await;

    // Step 3: a child, with the disease found by name.
    d.goto(&format!("{base}/patients")).await;
    d.type_into("#display_name", "Théo").await;
    d.type_into("#birth_year", "2017").await;
    d.script("document.getElementById('sex').value = 'male'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-orpha").await;
    d.type_into("#disease", "marfan").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    // Typed by name: the page offers the matches; pick the first and save again.
    assert!(
        d.wait_for_text("main", "Which of these is it?")
            .await
            .contains("Marfan syndrome")
    );
    d.click("#s-1").await;
    d.screenshot("06-pick-the-disease").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    // Saved: on to the child's symptoms (step 4).
    assert!(d.wait_for_text("h1", "Théo").await.contains("Théo"));
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "Marfan syndrome (ORPHA:558)")
            .await
            .contains("Théo")
    );

    // A second child, with no diagnosis yet.
    d.type_into("#display_name", "Emma").await;
    d.type_into("#birth_year", "2020").await;
    d.script("document.getElementById('sex').value = 'female'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-none").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    assert!(d.wait_for_text("h1", "Emma").await.contains("Emma"));
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "Emma")
            .await
            .contains("Théo")
    );
    let theo = d
        .script("return Array.from(document.querySelectorAll('ul.patients li')).find(li => li.textContent.includes('Théo')).querySelector('a').getAttribute('href').split('/')[2]")
        .await
        .as_str()
        .expect("Théo's id")
        .to_owned();

    // Step 4: a symptom in lay words.
    d.goto(&format!("{base}/patients/{theo}/symptoms")).await;
    d.type_into("#term", "large head").await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    assert!(
        d.wait_for_text("main", "Which of these is it?")
            .await
            .contains("Macrocephaly")
    );
    d.screenshot("07-pick-the-symptom").await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    assert!(
        d.wait_for_text("ul.symptoms", "Macrocephaly")
            .await
            .contains("Macrocephaly")
    );
    // Another, picked from the suggestions that appear while typing.
    d.type_into("#term", "tall").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let suggestion = loop {
        let v = d
            .script(
                "var o = document.querySelector('#term-options option'); return o ? o.value : null",
            )
            .await;
        if let Some(v) = v.as_str() {
            break v.to_owned();
        }
        assert!(Instant::now() < deadline, "no suggestions appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(suggestion.starts_with("HP:"), "{suggestion}");
    d.script("document.getElementById('term').value = ''").await;
    d.type_into("#term", &suggestion).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let picked = suggestion
        .split_once(' ')
        .expect("id and name")
        .1
        .to_owned();
    assert!(
        d.wait_for_text("ul.symptoms", &picked)
            .await
            .contains("Macrocephaly")
    );
    d.screenshot("08-symptoms").await;

    // Step 5: terms and consents.
    d.goto(&format!("{base}/terms")).await;
    d.click("#accept").await;
    d.click("#local_matching").await;
    d.click("#federated_matching").await;
    d.screenshot("09-terms").await;
    d.click("form[action='/terms'] button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Registration: 5 of 5")
            .await
            .contains("5 of 5")
    );
    d.screenshot("10-registered").await;

    // Validation: three documents for Théo, chosen from the computer's files.
    let files = tempfile::tempdir().expect("tempdir");
    for (kind, name, bytes) in [
        ("consent", "consent.pdf", crate::validation::PDF),
        ("identity", "id-card.jpg", crate::validation::JPEG),
        ("medical", "cardiology-letter.pdf", crate::validation::PDF),
    ] {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        d.goto(&format!("{base}/patients/{theo}/documents")).await;
        d.script(&format!("document.getElementById('kind').value = '{kind}'"))
            .await;
        d.type_into("#file", &path.display().to_string()).await;
        if kind == "medical" {
            d.screenshot("11-documents").await;
        }
        d.click("main form[enctype] button[type=submit]").await;
        assert!(d.wait_for_text("table", name).await.contains(name));
    }
    assert!(d.text("p.status").await.contains("documents sent"));
    d.screenshot("12-documents-sent").await;

    // Another member of this organization, validated, with a similar child.
    let s = crate::state();
    let other = s
        .accounts
        .create(
            "browser.other@example.org",
            "another long password",
            raremesh::accounts::Role::Member,
            true,
        )
        .expect("account");
    s.registrations
        .save_member(&raremesh::registration::Member {
            account_id: other.id.clone(),
            info: raremesh::registration::PersonalInfo {
                name: "Other Parent".into(),
                email: other.email.clone(),
                country: "Spain".into(),
                language: "es".into(),
                registrant: raremesh::registration::Registrant::Caregiver,
            },
            step: 5,
            consents: raremesh::registration::Consents {
                terms_version: Some("1".into()),
                terms_accepted_at: Some(1),
                local_matching: true,
                ..Default::default()
            },
            matrix: None,
        })
        .expect("member");
    let mut similar = s
        .patients
        .add(
            &other.id,
            raremesh::registration::patient::PatientInput {
                display_name: "Othername".into(),
                birth_year: 2015,
                sex: raremesh::registration::patient::Sex::Male,
                relation: raremesh::registration::patient::Relation::Parent,
                diagnosis: raremesh::registration::patient::Diagnosis::NoneYet,
                organization: None,
            },
        )
        .expect("patient");
    similar.symptoms = ["HP:0000256", "HP:0000098"]
        .iter()
        .map(|t| raremesh::registration::patient::Symptom {
            term: t.parse().expect("id"),
            observed: true,
            onset: None,
        })
        .collect();
    similar.validation = raremesh::registration::patient::Validation::Approved {
        at: 1,
        by: "seed".into(),
    };
    s.patients.save(&similar).expect("save");

    // A validator signs in, finds Théo in the queue and approves.
    s.accounts
        .create(
            "browser.validator@example.org",
            "validator long password",
            raremesh::accounts::Role::Validator,
            true,
        )
        .expect("validator");
    d.goto(&format!("{base}/account")).await;
    d.click("form[action='/signout'] button").await;
    d.wait_for_text("h1", "Find people like you").await;
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", "browser.validator@example.org").await;
    d.type_into("#password", "validator long password").await;
    d.click("button[type=submit]").await;
    d.wait_for_text("main", "Validation queue").await;
    d.click("a[href='/validation']").await;
    assert!(
        d.wait_for_text("main", "Théo")
            .await
            .contains("Waiting for review")
    );
    d.screenshot("13-validation-queue").await;
    d.click("main table a").await;
    assert!(
        d.wait_for_text("main", "cardiology-letter.pdf")
            .await
            .contains("Lena Browser")
    );
    d.click("#approve").await;
    d.screenshot("14-review").await;
    d.click("main form button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Recent decisions")
            .await
            .contains("approved")
    );
    d.goto(&format!("{base}/account")).await;
    d.click("form[action='/signout'] button").await;
    d.wait_for_text("h1", "Find people like you").await;

    // Lena sees the status, and patients like Théo, with what they share.
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", "lena picks a long password").await;
    d.click("button[type=submit]").await;
    d.wait_for_text("main", "Registration: 5 of 5").await;
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "validated")
            .await
            .contains("validated")
    );
    d.click("ul.patients a[href$='/similar']").await;
    let page = d.wait_for_text("main", "What makes them similar").await;
    assert!(
        page.contains(&raremesh::similar::pseudonym(&similar.id))
            && page.contains("Macrocephaly")
            && !page.contains("Othername"),
        "{page}"
    );
    d.screenshot("15-people-like-me").await;
    println!(
        "browser journey (5 registration steps with two patients, documents, validation, people like me): {:.1} s",
        started.elapsed().as_secs_f64()
    );

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
