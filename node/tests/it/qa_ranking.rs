//! Community questions on one node: whom a question reaches (ranking, notices, the daily
//! cap, the digest), the evaluation against newest-first, and search.

use axum::http::StatusCode;
use raremesh::accounts::Role;

use crate::qa::{CSRF, api, validated};
use crate::validation::Node;

#[tokio::test]
async fn new_questions_notify_likely_helpers_within_a_daily_cap_and_followers_get_answers() {
    let node = Node::new(|c| {
        c.qa.notify_top = 2;
        c.qa.max_notices_per_day = 2;
        c.qa.min_fit = 30;
    });
    let (asker_id, asker) = validated(&node, "asker@example.org", &["HP:0001250"]);
    let (close_id, close) = validated(&node, "close@example.org", &["HP:0007359", "HP:0001252"]);
    let (near_id, _) = validated(&node, "near@example.org", &["HP:0002069"]);
    let (far_id, far) = validated(&node, "far@example.org", &["HP:0000365"]);
    // The seizure question reaches the two members with seizures, not the one with a
    // hearing impairment.
    let (s, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        r#"{"title":"Seizures at night","body":"What helped you?","tags":["HP:0001250"]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let qid = q["id"].as_str().expect("id").to_owned();
    let notices = |id: &str| raremesh::qa::notices::of(&node.state.qa, id).expect("notices");
    assert_eq!(notices(&close_id).len(), 1);
    assert_eq!(notices(&near_id).len(), 1);
    assert!(notices(&far_id).is_empty(), "not a likely helper");
    assert!(notices(&asker_id).is_empty(), "not the asker");
    // The feed shows the notice and the member's best fit first.
    let (_, page) = node.get("/questions", &close).await;
    assert!(page.contains("you may be able to help with") && page.contains("Seizures at night"));
    // Two more seizure questions: the cap (two a day) stops the third notice.
    for title in ["Second seizure question", "Third seizure question"] {
        let (s, _) = api(
            &node,
            "POST",
            "/api/v1/questions",
            &asker,
            &format!(r#"{{"title":"{title}","body":"Body","tags":["HP:0001250"]}}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let qn = |id: &str| {
        notices(id)
            .iter()
            .filter(|n| n.kind == raremesh::qa::notices::Kind::Question)
            .count()
    };
    assert_eq!(qn(&close_id), 2, "never more than the daily cap");
    // The member who follows is told about answers; the digest mail goes out once.
    let (s, _) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/follow"),
        &far,
        r#"{"follow":true}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = node
        .post_form(
            "/questions/settings",
            &far,
            &format!("csrf={CSRF}&action=digest_on"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, a) = api(
        &node,
        "POST",
        &format!("/api/v1/questions/{qid}/answers"),
        &close,
        r#"{"body":"A ketogenic diet helped."}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert!(
        notices(&far_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer)
    );
    assert!(
        notices(&asker_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer),
        "the asker follows their question"
    );
    assert!(
        !notices(&close_id)
            .iter()
            .any(|n| n.kind == raremesh::qa::notices::Kind::Answer),
        "not about one's own answer"
    );
    let before = node.outbox().len();
    assert_eq!(
        raremesh::qa::notices::send_digests(&node.state.qa)
            .await
            .expect("digest"),
        1
    );
    let mails = node.outbox();
    assert_eq!(mails.len(), before + 1);
    let mail = mails
        .iter()
        .find(|m| m.contains("community questions"))
        .expect("digest mail");
    assert!(mail.contains(&format!("/questions/{qid}")), "{mail}");
    assert!(
        !mail.contains("ketogenic"),
        "the digest names the question, not the answers' text"
    );
    assert_eq!(
        raremesh::qa::notices::send_digests(&node.state.qa)
            .await
            .expect("digest"),
        0,
        "once a day"
    );
    // The JSON feed carries the fit and the notices.
    let (s, feed) = api(&node, "GET", "/api/v1/questions", &close, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(feed["questions"][0]["fit"].as_u64().expect("fit") > 0);
    assert!(!feed["notices"].as_array().expect("n").is_empty());
}

#[tokio::test]
async fn search_is_language_aware_and_finds_questions_tagged_with_narrower_symptoms() {
    let node = Node::new(|_| {});
    let mut ids = std::collections::HashMap::new();
    for (key, lang, title, body, tags) in [
        (
            "focal",
            "en",
            "Sleep after a bad night",
            "She wakes up tired, what do you do?",
            vec!["HP:0007359"],
        ),
        (
            "swim",
            "en",
            "Swimming lessons",
            "Is swimming safe for children with low muscle tone?",
            vec!["HP:0001252"],
        ),
        (
            "es",
            "es",
            "Convulsiones nocturnas",
            "Mi hija tiene convulsiones por la noche. ¿Qué medicamentos usáis?",
            vec![],
        ),
        (
            "fr",
            "fr",
            "Les crises pendant l'école",
            "Comment les enseignants gèrent-ils les crises d'épilepsie ?",
            vec![],
        ),
        (
            "hearing",
            "en",
            "Hearing aids at school",
            "Which hearing aids work best in a classroom?",
            vec!["HP:0000365"],
        ),
        (
            "diet",
            "en",
            "Ketogenic diet recipes",
            "We started the ketogenic diet; recipes please.",
            vec![],
        ),
    ] {
        let (id, session) = node.account(&format!("{key}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        node.approve(&node.patient(&id, "Child", &["HP:0001250"]));
        let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
        let (s, q) = api(
            &node,
            "POST",
            "/api/v1/questions",
            &session,
            &serde_json::json!({"title": title, "body": body, "tags": tags.iter().map(|t| t.trim_matches('"')).collect::<Vec<_>>()}).to_string(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{q}");
        ids.insert(q["id"].as_str().expect("id").to_owned(), key);
    }
    let (_, reader) = validated(&node, "reader@example.org", &["HP:0001250"]);
    let (_, a) = api(&node, "GET", "/api/v1/questions", &reader, "").await;
    let diet = a["questions"]
        .as_array()
        .expect("q")
        .iter()
        .find(|q| q["title"] == "Ketogenic diet recipes")
        .expect("diet")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    api(
        &node,
        "POST",
        &format!("/api/v1/questions/{diet}/answers"),
        &reader,
        r#"{"body":"Try almond flour pancakes."}"#,
    )
    .await;
    // Query → the question expected first.
    for (query, first) in [
        ("seizure", "focal"), // tagged with a narrower term only
        ("Focal-onset seizure", "focal"),
        ("HP:0001250", "focal"),
        ("swimming", "swim"), // stemmed: "swim" ← "swimming"
        ("swim", "swim"),
        ("hypotonia", "swim"), // the tag's name, not in the text
        ("convulsión", "es"),  // Spanish stemming and accents
        ("crise", "fr"),       // French: "crises" → "crise"
        ("épilepsie", "fr"),
        ("hearing aid", "hearing"),
        ("pancakes", "diet"), // in an answer
    ] {
        let (s, v) = api(
            &node,
            "GET",
            &format!("/api/v1/questions/search?q={}", urlencode(query)),
            &reader,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let results = v["results"].as_array().expect("results");
        let got: Vec<&str> = results
            .iter()
            .map(|r| {
                ids.get(r["id"].as_str().unwrap_or_default())
                    .copied()
                    .unwrap_or("?")
            })
            .collect();
        assert_eq!(got.first().copied(), Some(first), "{query:?} → {got:?}");
        assert!(
            results[0]["snippet_html"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
    let (_, v) = api(
        &node,
        "GET",
        "/api/v1/questions/search?q=ketogenic",
        &reader,
        "",
    )
    .await;
    assert!(
        v["results"][0]["snippet_html"]
            .as_str()
            .expect("s")
            .contains("<b>ketogenic</b>"),
        "{v}"
    );
    let (_, v) = api(
        &node,
        "GET",
        "/api/v1/questions/search?q=zebrafish",
        &reader,
        "",
    )
    .await;
    assert!(v["results"].as_array().expect("r").is_empty());
    // Query syntax never fails.
    for q in ["\"unclosed", "AND OR", "title_en:x", "(((", "*"] {
        let (s, _) = api(
            &node,
            "GET",
            &format!("/api/v1/questions/search?q={}", urlencode(q)),
            &reader,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{q}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn targeting_beats_newest_first_on_simulated_members() {
    let node = Node::new(|_| {});
    let e = raremesh::qa::evaluate::run(&node.state.ontology, &node.state.ic, 120, 60, 20, 7);
    assert!(
        e.ranked_precision_at_5 > e.newest_precision_at_5 * 1.5,
        "{e:?}"
    );
    assert!(e.ranked_mrr > e.newest_mrr, "{e:?}");
    assert!(
        e.told_precision_at_5 > e.random_precision_at_5 * 1.5,
        "{e:?}"
    );
}

#[tokio::test]
async fn scoring_one_question_for_many_members_gives_the_feed_scores() {
    let node = Node::new(|_| {});
    let (asker_id, asker) = validated(&node, "asker@example.org", &["HP:0001250", "HP:0001263"]);
    let (_, q) = api(
        &node,
        "POST",
        "/api/v1/questions",
        &asker,
        &format!(
            r#"{{"title":"T","body":"B","tags":["HP:0001250","HP:0000365"],"patient":"{}"}}"#,
            node.state.patients.of(&asker_id).expect("p")[0].id
        ),
    )
    .await;
    let q = node
        .state
        .qa
        .store
        .question(q["id"].as_str().expect("id"))
        .expect("q")
        .expect("q");
    let scorer = raremesh::qa::QuestionScorer::new(&node.state.qa, &q);
    for (i, terms) in [
        &["HP:0007359"][..],
        &["HP:0000365", "HP:0001252"],
        &["HP:0002069", "HP:0001263"],
    ]
    .iter()
    .enumerate()
    {
        let (id, _) = validated(&node, &format!("m{i}@example.org"), terms);
        let patients = node.state.patients.of(&id).expect("p");
        let m = node.state.registrations.member(&id).expect("m").expect("m");
        let feed = raremesh::qa::helper_score(
            &node.state.qa,
            &q,
            &raremesh::qa::Helper::new(&node.state.qa, &patients, &m.info.language, 3),
        );
        let profiles: Vec<_> = patients
            .iter()
            .filter_map(|p| p.profile(&node.state.ontology))
            .collect();
        let one = scorer.score(&profiles, 3, &m.info.language);
        assert!(
            (feed - one).abs() < 1e-4,
            "{terms:?}: feed {feed}, notices {one}"
        );
        assert!(feed > 0.0);
    }
}

/// A word with one typo still finds its question, below exact matches; a symptom named in
/// Spanish or French (or the same word in English) finds the questions tagged with it.
#[tokio::test]
async fn search_forgives_a_typo_and_knows_symptom_words_in_three_languages() {
    let node = Node::new(|_| {});
    let mut ids = std::collections::HashMap::new();
    for (key, title, body, tags) in [
        (
            "night",
            "Bad nights",
            "Our son has seizures at night and wakes up exhausted.",
            vec![],
        ),
        (
            "tagged",
            "Medication at school",
            "Who gives the midday dose at school?",
            vec!["HP:0001250"],
        ),
        (
            "hearing",
            "Hearing aids",
            "Which hearing aids work best in a classroom?",
            vec!["HP:0000365"],
        ),
    ] {
        let (id, session) = node.account(&format!("{key}.typo@example.org"), Role::Member, true);
        node.approve(&node.patient(&id, "Child", &["HP:0001250"]));
        let (s, q) = api(
            &node,
            "POST",
            "/api/v1/questions",
            &session,
            &serde_json::json!({"title": title, "body": body, "tags": tags}).to_string(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{q}");
        ids.insert(q["id"].as_str().expect("id").to_owned(), key);
    }
    let (_, reader) = validated(&node, "typo.reader@example.org", &["HP:0001250"]);
    let found = |query: &'static str| {
        let (node, reader, ids) = (&node, reader.clone(), ids.clone());
        async move {
            let (s, v) = api(
                node,
                "GET",
                &format!("/api/v1/questions/search?q={}", urlencode(query)),
                &reader,
                "",
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            v["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|r| {
                    ids.get(r["id"].as_str().unwrap_or_default())
                        .copied()
                        .unwrap_or("?")
                })
                .collect::<Vec<&str>>()
        }
    };
    for (query, first) in [
        ("siezures", "night"), // one typo (two letters swapped)
        ("exhaustd", "night"),
        ("hearing aisd", "hearing"),
        ("convulsiones", "tagged"), // Spanish name of Seizure
        ("épilepsie", "tagged"),    // French
        ("convulsions", "tagged"),  // the same word, plural aside
    ] {
        let got = found(query).await;
        assert_eq!(got.first().copied(), Some(first), "{query:?} → {got:?}");
    }
    // The exact word finds both (the text and the tag); two typos find nothing.
    let got = found("seizures").await;
    assert!(got.contains(&"night") && got.contains(&"tagged"), "{got:?}");
    assert!(found("szeiures").await.is_empty());
}
