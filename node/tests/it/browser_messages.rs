//! The Messages pages in real headless Chromium, in English, Spanish and French, at phone
//! width with axe-core (the driver is `driver.rs`'s): a member asks to get in touch from the
//! contacts page, the other accepts, they write, an answer appears without a reload, and a
//! message is reported.

use raremesh::registration::Member;
use raremesh::registration::patient::Patient;
use serde_json::Value;

use crate::driver::Driver;
use crate::socket::spawn_server;

/// A contactable member with a validated patient, reading in `lang`.
fn member(email: &str, name: &str, lang: &str) -> (Member, Patient) {
    let s = crate::state();
    // Symptoms of their own, so that the two are each other's closest match.
    let p = crate::pair::member(&s, email, name, &["HP:0000256", "HP:0001263"], false);
    let mut m = s
        .registrations
        .member(&p.account_id)
        .expect("member")
        .expect("member");
    m.info.language = lang.into();
    s.registrations.save_member(&m).expect("save");
    (m, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_talk_on_the_messages_pages_in_three_languages_on_a_phone() {
    let (base, stop, _handle) = spawn_server().await;
    let s = crate::state();
    let d = Driver::start().await;
    let lines = [
        (
            "en",
            "Hello, how does your son sleep?",
            "Better since the summer",
        ),
        ("es", "Hola, ¿cómo duerme tu hija?", "Mejor desde el verano"),
        (
            "fr",
            "Bonjour, comment dort votre fils ?",
            "Mieux depuis l'été",
        ),
    ];
    for (lang, hello, answer) in lines {
        let t = |key: &str| raremesh::http::i18n::shared().text(lang, key).to_owned();
        let _asker = member(
            &format!("msg.asker.{lang}@example.org"),
            &format!("Asker{lang}"),
            lang,
        );
        let (other, other_patient) = member(
            &format!("msg.other.{lang}@example.org"),
            &format!("Other{lang}"),
            lang,
        );

        // The asker signs in (the page's language is the member's) and asks from the
        // contacts page, where the other member is offered.
        d.sign_in(
            &base,
            lang,
            &format!("msg.asker.{lang}@example.org"),
            "a good long password",
        )
        .await;
        d.goto(&format!("{base}/contacts")).await;
        let h1 = d.wait_for_text("h1", &t("contacts.title")).await;
        assert_eq!(h1, t("contacts.title"), "{lang}: the contacts page");
        d.screenshot(&format!("{lang}-messages-1-contacts")).await;
        let handle = raremesh::messages::handle(other_patient.id.as_str());
        d.click(&format!(
            "ol.matches form:has(input[name=local][value='{handle}']) button"
        ))
        .await;
        let asked = d
            .wait_for_text("ul.contacts", &t("contacts.status_pending"))
            .await;
        assert!(
            asked.contains(&t("contacts.status_pending")),
            "{lang}: the request waits: {asked}"
        );

        // The other member accepts (in their own session; here through the service).
        let request = s
            .messages
            .requests_of(other.account_id.as_str())
            .expect("requests")
            .into_iter()
            .find(|r| r.to_account == other.account_id)
            .expect("the request reached the other member");
        let accepted = s
            .messages
            .answer(&other, &request.id, true)
            .await
            .expect("accepted");
        let conversation = accepted.conversation.expect("a conversation opened");

        // The list, then the conversation; the asker writes with the form.
        d.goto(&format!("{base}/messages")).await;
        d.wait_for_text("ul.conversations", "").await;
        let h1 = d.text("h1").await;
        assert_eq!(h1, t("messages.title"), "{lang}: the Messages page");
        d.screenshot(&format!("{lang}-messages-2-list")).await;
        d.click(&format!(
            "ul.conversations a[href='/messages/{conversation}']"
        ))
        .await;
        d.wait_for_text("label[for=body]", &t("messages.write"))
            .await;
        d.type_into("#body", hello).await;
        d.click("button[name=action][value=send]").await;
        let chat = d.wait_for_text("#chat", hello).await;
        assert!(chat.contains(hello), "{lang}: the message is shown: {chat}");

        // The other member answers; it appears on the open page without a reload.
        d.script("window.stayedOnThePage = true; return true;")
            .await;
        s.messages
            .send(&other, &conversation, answer)
            .await
            .expect("the answer");
        let chat = d.wait_for_text("#chat", answer).await;
        let named = t("common.patient_pseudonym").replace("{code}", "");
        assert!(
            chat.contains(&named),
            "{lang}: the other member's pseudonym in the page's language: {chat}"
        );
        assert!(
            chat.contains(answer),
            "{lang}: the answer appears by itself: {chat}"
        );
        assert_eq!(
            d.script("return window.stayedOnThePage === true").await,
            Value::Bool(true),
            "{lang}: without a reload"
        );
        d.screenshot(&format!("{lang}-messages-3-conversation"))
            .await;

        // The asker reports the answer to the validators.
        d.click("#chat li.theirs p.report a").await;
        d.wait_for_text("h1", &t("messages.report_title")).await;
        d.screenshot(&format!("{lang}-messages-4-report")).await;
        d.type_into("#reason", "Test report").await;
        d.click("main form button[type=submit]").await;
        let notice = d.wait_for_text("p.status", &t("messages.reported")).await;
        assert!(
            notice.contains(&t("messages.reported")),
            "{lang}: the report is confirmed: {notice}"
        );
        let reports = s.messages.open_reports().expect("reports");
        assert!(
            reports
                .iter()
                .any(|r| r.conversation == conversation && r.body == answer),
            "{lang}: the validators have the reported message"
        );

        d.sign_out(&base).await;
    }
    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
