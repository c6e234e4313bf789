//! A questionnaire and "where I stand" in real headless Chromium, in Spanish and French, at
//! phone width with axe-core (the driver is `driver.rs`'s).

use raremesh::accounts::Role;
use serde_json::Value;

use crate::driver::Driver;
use crate::socket::serve_state;
use crate::validation::{CSRF, Node};

const DAILY: &str = r#"
id = "daily"
version = 1
title = "Daily life"
[translations.es]
title = "Vida diaria"
[translations.fr]
title = "Vie quotidienne"
[[questions]]
id = "mobility"
text = "How does the patient move around?"
kind = "single"
options = ["Walks unaided", "Walks with help", "Wheelchair"]
[questions.translations.es]
text = "¿Cómo se desplaza el paciente?"
options = ["Camina sin ayuda", "Camina con ayuda", "Silla de ruedas"]
[questions.translations.fr]
text = "Comment le patient se déplace-t-il ?"
options = ["Marche sans aide", "Marche avec aide", "Fauteuil roulant"]
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
[questions.translations.fr]
text = "À quel point le patient est-il fatigué la plupart des jours ?"
labels = ["Pas du tout", "Très"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questionnaires_and_where_i_stand_in_spanish_and_french_fit_a_phone() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("daily.toml"), DAILY).expect("write");
    let path = dir.path().to_owned();
    let node = Node::new(move |c| {
        c.research.questionnaires_dir = Some(path);
        c.research.k = 2;
        c.research.allow_small_k = true;
    });
    // Others who answered, so that "where I stand" has something to show.
    for (i, option) in [0, 1, 2, 2].into_iter().enumerate() {
        let (id, session) = node.account(&format!("other{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "Other", &["HP:0001250"]);
        node.approve(&p);
        node.post_form(
            &format!("/patients/{}/questionnaires/daily", p.id),
            &session,
            &format!("csrf={CSRF}&q-mobility={option}&q-fatigue={i}&action=submit"),
        )
        .await;
    }
    let (base, stop, _handle) = serve_state(node.state.clone()).await;
    let d = Driver::start().await;
    for (lang, title, question, option) in [
        (
            "es",
            "Vida diaria",
            "¿Cómo se desplaza el paciente?",
            "Silla de ruedas",
        ),
        (
            "fr",
            "Vie quotidienne",
            "Comment le patient se déplace-t-il ?",
            "Fauteuil roulant",
        ),
    ] {
        let email = format!("stand.{lang}@example.org");
        let (id, _) = node.account(&email, Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "Niño", &["HP:0001250"]);
        node.approve(&p);

        d.sign_in(&base, lang, &email, "a good long password").await;

        // The list, then the form: answered in the browser.
        d.goto(&format!("{base}/patients/{}/questionnaires", p.id))
            .await;
        let list = d.wait_for_text("main", title).await;
        assert!(list.contains(title), "{lang}: {list}");
        d.screenshot(&format!("{lang}-research-1-list")).await;
        d.goto(&format!("{base}/patients/{}/questionnaires/daily", p.id))
            .await;
        let form = d.wait_for_text("main", question).await;
        assert!(
            form.contains(question) && form.contains(option),
            "{lang}: {form}"
        );
        d.screenshot(&format!("{lang}-research-2-form")).await;
        d.click("input[name=q-mobility][value='2']").await;
        d.click("input[name=q-fatigue][value='3']").await;
        d.click("button[name=action][value=submit]").await;
        d.wait_for_text("main", "").await;
        let answers = node
            .state
            .research
            .answers(&p.account_id, &p.id, "daily")
            .expect("read");
        assert!(answers.is_some(), "{lang}: the browser's answers are kept");

        // Where I stand, in the member's language, on a phone.
        d.goto(&format!(
            "{base}/patients/{}/questionnaires/daily/results",
            p.id
        ))
        .await;
        let stand = d.wait_for_text("main", option).await;
        assert!(
            stand.contains(question) && stand.contains(option),
            "{lang}: {stand}"
        );
        assert!(
            !stand.contains("Wheelchair") && !stand.contains("patients who answered"),
            "{lang}: English left: {stand}"
        );
        let compared = raremesh::http::i18n::shared().text(lang, "research.compared_all");
        assert!(stand.contains(compared), "{lang}: {stand}");
        d.screenshot(&format!("{lang}-research-3-where-i-stand"))
            .await;

        d.sign_out(&base).await;
    }
    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
