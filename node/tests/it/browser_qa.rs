//! Community questions in real headless Chromium (the driver is `browser.rs`'s).

use crate::driver::Driver;
use crate::socket::spawn_server;

/// Community questions in a real browser: a member asks with the form, another finds the
/// question first in their feed, answers, and finds it again by searching a symptom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_answering_and_searching_questions_in_headless_chromium() {
    let (base, stop, _handle) = spawn_server().await;
    let state = crate::state();
    crate::pair::member(
        &state,
        "browser.asker@example.org",
        "Askerchild",
        &["HP:0001250", "HP:0001252"],
        false,
    );
    crate::pair::member(
        &state,
        "browser.helper@example.org",
        "Helperchild",
        &["HP:0007359"],
        false,
    );
    let d = Driver::start().await;
    let sign_in = |email: &'static str| {
        let (d, base) = (&d, base.clone());
        async move {
            d.goto(&format!("{base}/signin")).await;
            d.type_into("#email", email).await;
            d.type_into("#password", "a good long password").await;
            d.click("button[type=submit]").await;
            d.wait_for_text("main", "signed in as").await;
        }
    };
    sign_in("browser.asker@example.org").await;
    d.goto(&format!("{base}/questions/new")).await;
    d.type_into("#title", "Browser <b>night</b> spells").await;
    d.type_into(
        "#body",
        "Our daughter has spells at night. What helped yours?",
    )
    .await;
    d.type_into("#symptom1", "Seizure").await;
    d.screenshot("qa-01-ask").await;
    d.click("form[action='/questions/new'] button[type=submit]")
        .await;
    let h1 = d.wait_for_text("h1", "Browser").await;
    assert_eq!(h1, "Browser <b>night</b> spells", "markup stays text");
    assert!(d.text("main").await.contains("Seizure"), "the tag's name");
    d.screenshot("qa-02-question").await;
    d.goto(&format!("{base}/account")).await;
    d.click("form[action='/signout'] button").await;
    d.wait_for_text("h1", "Find people like you").await;

    sign_in("browser.helper@example.org").await;
    d.goto(&format!("{base}/questions")).await;
    let feed = d.wait_for_text("ol.questions", "Browser").await;
    assert!(feed.contains("Browser <b>night</b> spells"), "{feed}");
    d.screenshot("qa-03-feed").await;
    d.click("ol.questions li a").await;
    d.wait_for_text("h1", "Browser").await;
    d.type_into("#body", "A fixed bedtime helped our son.")
        .await;
    d.click("button[name=action][value=answer]").await;
    let answers = d.wait_for_text("ul.answers", "fixed bedtime").await;
    assert!(answers.contains("fixed bedtime"), "{answers}");
    d.screenshot("qa-04-answered").await;
    // Searching the parent symptom finds the question; the match is highlighted.
    d.goto(&format!("{base}/questions/search?q=spells")).await;
    let results = d.wait_for_text("ol.results", "Browser").await;
    assert!(results.contains("Browser <b>night</b> spells"), "{results}");
    assert_eq!(d.text("p.snippet b").await.to_lowercase(), "spells");
    d.goto(&format!("{base}/questions/search?q=seizure")).await;
    let results = d.wait_for_text("ol.results", "Browser").await;
    assert!(results.contains("night"), "a symptom search: {results}");
    d.screenshot("qa-05-search").await;
    let _ = stop.send(());
}
