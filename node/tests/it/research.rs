//! Questionnaires: definitions checked with file and key, answers kept across a restart,
//! drafts, and "where I stand" shown only above k.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::registration::patient::Diagnosis;

use crate::validation::Node;

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

const DAILY: &str = r#"
id = "daily-life"
version = 1
title = "Daily life"
[[questions]]
id = "mobility"
text = "How does the patient move around?"
kind = "single"
options = ["Walks unaided", "Walks with help", "Wheelchair"]
[[questions]]
id = "fatigue"
text = "How tired is the patient most days?"
kind = "scale"
min = 0
max = 4
labels = ["Not at all", "Very"]
[[questions]]
id = "aids"
text = "Which aids does the patient use?"
kind = "multiple"
options = ["Orthoses", "Ventilation", "None"]
[[questions]]
id = "diagnosed"
text = "When was the diagnosis made?"
kind = "date"
"#;

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn questionnaire_files_with_errors_name_the_file_and_key() {
    let cases = [
        ("id = 1", "id"),
        (
            &DAILY.replace("kind = \"single\"", "kind = \"essay\""),
            "questions[0].kind",
        ),
        (
            &DAILY.replace(
                r#"options = ["Walks unaided", "Walks with help", "Wheelchair"]"#,
                r#"options = ["Only one"]"#,
            ),
            "questions[0].options",
        ),
        (&DAILY.replace("max = 4", "max = 0"), "questions[1].max"),
        (
            &DAILY.replace("id = \"fatigue\"", "id = \"mobility\""),
            "questions[1].id",
        ),
        (
            &DAILY.replace("version = 1", "version = 1\ngroups = [\"unknown\"]"),
            "groups[0]",
        ),
        (
            &DAILY.replace(
                "title = \"Daily life\"",
                "title = \"Daily life\"\ncolour = \"red\"",
            ),
            "colour",
        ),
        ("this is not toml", ""),
    ];
    for (text, key) in cases {
        let dir = folder(&[("q.toml", text)]);
        let err = raremesh::research::questionnaire::load_dir(dir.path(), &Default::default())
            .expect_err(text);
        assert!(err.file.ends_with("q.toml"), "{err}");
        assert_eq!(err.key, key, "{err}");
    }
    let dir = folder(&[("a.toml", DAILY), ("b.toml", DAILY)]);
    let err = raremesh::research::questionnaire::load_dir(dir.path(), &Default::default())
        .expect_err("duplicate ids");
    assert!(err.file.ends_with("b.toml") && err.key == "id", "{err}");
}

#[tokio::test]
async fn members_answer_and_see_where_they_stand_above_k() {
    let dir = folder(&[("daily.toml", DAILY)]);
    let path = dir.path().to_owned();
    let node = Node::new(move |c| {
        c.research.questionnaires_dir = Some(path);
        c.research.k = 3;
        c.research.allow_small_k = true;
    });
    let member = |email: &str, answer: &str| {
        let (id, session) = node.account(email, Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let mut p = node.patient(&id, &format!("Child of {email}"), &["HP:0001250"]);
        p.diagnosis = Diagnosis::Orpha {
            code: "ORPHA:558".parse().expect("code"),
        };
        node.state.patients.save(&p).expect("save");
        node.approve(&p);
        (p, session, answer.to_owned())
    };
    let (p1, s1, _) = member("r1@example.org", "0");
    let form = |p: &raremesh::registration::patient::Patient| {
        format!("/patients/{}/questionnaires/daily-life", p.id)
    };
    // A draft with a bad answer is refused and stores nothing; a good draft is kept.
    let (s, page) = node
        .post_form(
            &form(&p1),
            &s1,
            &format!("csrf={CSRF}&q-mobility=7&action=draft"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        node.state
            .research
            .answers(&p1.account_id, &p1.id, "daily-life")
            .expect("a")
            .is_none()
    );
    let (s, _) = node
        .post_form(
            &form(&p1),
            &s1,
            &format!("csrf={CSRF}&q-mobility=0&q-fatigue=3&q-aids=0&q-aids=1&action=draft"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let draft = node
        .state
        .research
        .answers(&p1.account_id, &p1.id, "daily-life")
        .expect("a")
        .expect("draft");
    assert!(!draft.submitted);
    assert_eq!(draft.version, 1);
    // Submitted: below k the distribution is not shown.
    let (s, _) = node
        .post_form(
            &form(&p1),
            &s1,
            &format!("csrf={CSRF}&q-mobility=0&q-fatigue=3&q-diagnosed=2019-05-02&action=submit"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let results = format!("{}/results", form(&p1));
    let (_, page) = node.get(&results, &s1).await;
    assert!(page.contains("Fewer than 3 comparable patients"), "{page}");
    assert!(!page.contains("class=\"chart\""));
    // Two more patients with the same disease answer: now shown, own answer marked.
    for (email, mobility) in [("r2@example.org", "0"), ("r3@example.org", "2")] {
        let (p, s, _) = member(email, mobility);
        let (st, _) = node
            .post_form(
                &form(&p),
                &s,
                &format!("csrf={CSRF}&q-mobility={mobility}&q-fatigue=1&action=submit"),
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
    }
    let (_, page) = node.get(&results, &s1).await;
    assert!(page.contains("class=\"chart\" role=\"img\""), "{page}");
    assert!(page.contains("Walks unaided: 2 (your answer)"), "{page}");
    assert!(page.contains("Wheelchair: 1"), "{page}");
    assert!(page.contains("patients with Marfan syndrome"), "{page}");
    // The date question had one answer only: hidden.
    assert!(page.contains("Fewer than 3"), "{page}");
    // A member without research consent cannot open the form.
    let (id, s4) = node.account("r4@example.org", Role::Member, true);
    let p4 = node.patient(&id, "No consent", &["HP:0001250"]);
    node.approve(&p4);
    let (st, _) = node.get(&form(&p4), &s4).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // Another member cannot read or write someone else's answers.
    let (st, _) = node.get(&results, &s4).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn answers_survive_a_restart() {
    let dir = folder(&[("daily.toml", DAILY)]);
    let data = tempfile::tempdir().expect("data");
    let config = raremesh::config::Config {
        data_dir: data.path().join("data"),
        research: raremesh::config::ResearchConfig {
            questionnaires_dir: Some(dir.path().to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let (account, patient) = {
        let (state, _) = raremesh::boot::boot(config.clone()).expect("boot");
        let node = Node::from_state(state);
        let (id, session) = node.account("keep.answers@example.org", Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "Kept", &["HP:0001250"]);
        node.approve(&p);
        let (s, _) = node
            .post_form(
                &format!("/patients/{}/questionnaires/daily-life", p.id),
                &session,
                &format!("csrf={CSRF}&q-mobility=1&q-fatigue=2&action=draft"),
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        (id, p.id)
    };
    let (state, _) = raremesh::boot::boot(config).expect("boot again");
    let a = state
        .research
        .answers(&account, &patient, "daily-life")
        .expect("read")
        .expect("kept");
    assert_eq!(a.values.len(), 2);
    assert!(!a.submitted);
}

fn seeded(seed: u64) -> impl FnMut() -> f64 {
    // xorshift64, seeded through a multiplication so small seeds do not start small.
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

#[tokio::test]
async fn researchers_get_noisy_counts_within_a_budget() {
    use raremesh::research::query::{Criteria, QueryError, count};
    let node = Node::new(|c| {
        c.research.k = 5;
        c.research.epsilon_per_query = 0.5;
        c.research.budget = 1.0;
    });
    for i in 0..30 {
        let (id, _) = node.account(&format!("pop{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = i % 10 != 0; // three members do not consent
        node.state.registrations.save_member(&m).expect("save");
        let terms: &[&str] = if i < 20 {
            &["HP:0002069"]
        } else {
            &["HP:0000365"]
        };
        let p = node.patient(&id, "P", terms);
        node.approve(&p);
    }
    let (researcher, session) = node.account("researcher@example.org", Role::Researcher, false);
    let seizures = Criteria {
        symptom: Some("HP:0001250".into()),
        ..Default::default()
    };
    // Descendant terms count (bilateral tonic-clonic seizure is a seizure); non-consenting
    // members' patients do not.
    assert_eq!(
        seizures.true_count(node.state.counting()).expect("count"),
        18
    );
    let mut u = seeded(42);
    let first = count(node.state.counting(), &researcher, &seizures, Some(&mut u)).expect("count");
    let n = first.count.expect("above k");
    assert!((8..=28).contains(&n), "{n} is 18 plus noise of scale 2");
    assert!(!first.cached);
    assert!((first.remaining - 0.5).abs() < 1e-9);
    // The same query: the same answer, no cost.
    let again = count(node.state.counting(), &researcher, &seizures, None).expect("count");
    assert_eq!((again.count, again.cached), (first.count, true));
    assert!((again.remaining - 0.5).abs() < 1e-9);
    // A small cell: "fewer than k" (a true count of 0 plus noise stays under 5 here).
    let none = Criteria {
        disease: Some("ORPHA:558".into()),
        ..Default::default()
    };
    let small = count(
        node.state.counting(),
        &researcher,
        &none,
        Some(&mut seeded(7)),
    )
    .expect("count");
    assert_eq!(small.count, None);
    assert!(small.remaining.abs() < 1e-9, "budget spent");
    // The budget is spent: a new query is refused, a repeated one still answered.
    let deaf = Criteria {
        symptom: Some("HP:0000365".into()),
        ..Default::default()
    };
    assert!(matches!(
        count(node.state.counting(), &researcher, &deaf, None),
        Err(QueryError::Budget(_))
    ));
    assert!(count(node.state.counting(), &researcher, &seizures, None).is_ok());
    // Bad criteria are refused without cost.
    let bad = Criteria {
        symptom: Some("HP:9999999".into()),
        ..Default::default()
    };
    assert!(matches!(
        count(node.state.counting(), &researcher, &bad, None),
        Err(QueryError::Invalid(_))
    ));
    // Every query is audited.
    let audited = node
        .state
        .audit
        .recent(50)
        .expect("audit")
        .iter()
        .filter(|e| e.action.name() == "research_query")
        .count();
    assert_eq!(audited, 4);
    // Over HTTP: researchers only, counts only.
    let (s, page) = node.get("/research", &session).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let (_, member) = node.account("curious@example.org", Role::Member, true);
    assert_eq!(
        node.get("/research", &member).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, page) = node
        .post_form(
            "/research",
            &session,
            &format!("csrf={CSRF}&symptom=HP%3A0001250"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("the answer given before"), "{page}");
    assert!(!page.contains("pop1@example.org") && !page.contains("Name of"));
}

/// The attack: learn whether one patient answered "Wheelchair" by comparing a count that
/// includes them with the world where they did not. With ε per query, no strategy can guess
/// right more often than e^ε / (1 + e^ε) (the differential privacy bound); repeating the
/// query gives the same answer, so averaging is impossible, and the budget caps how many
/// different queries can be combined.
#[test]
fn differencing_one_patient_learns_no_more_than_the_budget_allows() {
    use raremesh::research::query::discrete_laplace;
    let epsilon = 0.5;
    let bound = epsilon_bound(epsilon);
    let mut u = seeded(2026);
    let trials = 20_000;
    let mut right = 0;
    for t in 0..trials {
        // The target's answer decides the true count: 14 without them, 15 with them.
        let with_target = t % 2 == 0;
        let truth = 14 + i64::from(with_target);
        let seen = truth + discrete_laplace(epsilon, &mut u);
        // The best test for this noise: a threshold between the two worlds.
        let guess = seen >= 15;
        if guess == with_target {
            right += 1;
        }
    }
    let accuracy = f64::from(right) / f64::from(trials);
    println!("attacker accuracy {accuracy:.3} (bound {bound:.3}, coin 0.5)");
    assert!(accuracy <= bound + 0.01, "{accuracy} > {bound}");
    // The noise has the variance of a discrete Laplace of parameter ε: 2e^-ε / (1-e^-ε)^2.
    let q = (-epsilon).exp();
    let want = 2.0 * q / (1.0 - q).powi(2);
    let samples: Vec<f64> = (0..50_000)
        .map(|_| discrete_laplace(epsilon, &mut u) as f64)
        .collect();
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
    assert!(mean.abs() < 0.1, "mean {mean}");
    assert!(
        (var / want - 1.0).abs() < 0.05,
        "variance {var}, want {want}"
    );
}

/// The error of a federated count: the sum of each node's noise. Measured over many draws at
/// the default ε = 0.5 for two and five nodes.
#[test]
fn federated_count_error_at_the_default_epsilon() {
    use raremesh::research::query::discrete_laplace;
    let mut u = seeded(11);
    for nodes in [2usize, 5] {
        let draws = 20_000;
        let errors: Vec<i64> = (0..draws)
            .map(|_| (0..nodes).map(|_| discrete_laplace(0.5, &mut u)).sum())
            .collect();
        let mean_abs = errors.iter().map(|e| e.abs() as f64).sum::<f64>() / draws as f64;
        let rmse = (errors.iter().map(|e| (e * e) as f64).sum::<f64>() / draws as f64).sqrt();
        let mut abs: Vec<i64> = errors.iter().map(|e| e.abs()).collect();
        abs.sort_unstable();
        let p95 = abs[draws * 95 / 100];
        println!(
            "{nodes} nodes, epsilon 0.5: mean absolute error {mean_abs:.2}, RMSE {rmse:.2}, 95% within +-{p95}"
        );
        // Each node's variance is 2q/(1-q)^2 with q = e^-0.5 (about 7.83).
        let q = (-0.5f64).exp();
        let want = (nodes as f64 * 2.0 * q / (1.0 - q).powi(2)).sqrt();
        assert!((rmse / want - 1.0).abs() < 0.05, "{rmse} vs {want}");
    }
}

fn epsilon_bound(epsilon: f64) -> f64 {
    epsilon.exp() / (1.0 + epsilon.exp())
}

#[tokio::test]
async fn study_exports_are_pseudonymous() {
    let dir = folder(&[("daily.toml", DAILY)]);
    let path = dir.path().to_owned();
    let node = Node::new(move |c| c.research.questionnaires_dir = Some(path));
    let mut ids = Vec::new();
    for (i, consent) in [(0, true), (1, true), (2, false)] {
        let (id, session) = node.account(&format!("study{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = consent;
        node.state.registrations.save_member(&m).expect("save");
        let mut p = node.patient(&id, &format!("Studychild{i}"), &["HP:0001250"]);
        p.diagnosis = Diagnosis::NotListed {
            text: "Private words".into(),
        };
        node.state.patients.save(&p).expect("save");
        node.approve(&p);
        if consent {
            node.post_form(
                &format!("/patients/{}/questionnaires/daily-life", p.id),
                &session,
                &format!("csrf={CSRF}&q-mobility=2&action=submit"),
            )
            .await;
        }
        ids.push(p.id);
    }
    let first = raremesh::research::study::export(
        node.state.counting(),
        &node.state.config.data_dir,
        "study-a",
    )
    .expect("export");
    assert_eq!(first.len(), 2, "only consenting members' patients");
    let text = serde_json::to_string(&first).expect("json");
    for secret in [
        "Studychild",
        "study0@",
        "Private words",
        "Name of",
        &ids[0],
        &ids[1],
        "birth_year",
    ] {
        assert!(!text.contains(secret), "{secret} in a study export");
    }
    assert!(text.contains("HP:0001250") && text.contains("Wheelchair"));
    // Stable within a study, unrelated across studies.
    let again = raremesh::research::study::export(
        node.state.counting(),
        &node.state.config.data_dir,
        "study-a",
    )
    .expect("export");
    let other = raremesh::research::study::export(
        node.state.counting(),
        &node.state.config.data_dir,
        "study-b",
    )
    .expect("export");
    let pseudonyms = |v: &[serde_json::Value]| -> Vec<String> {
        let mut p: Vec<String> = v
            .iter()
            .map(|r| r["pseudonym"].as_str().expect("p").to_owned())
            .collect();
        p.sort();
        p
    };
    assert_eq!(pseudonyms(&first), pseudonyms(&again));
    assert!(
        pseudonyms(&first)
            .iter()
            .all(|p| !pseudonyms(&other).contains(p))
    );
}

#[tokio::test]
async fn researchers_get_distributions_of_choice_answers() {
    use axum::body::Body;
    use axum::http::{Method, Request};
    let dir = folder(&[("daily.toml", DAILY)]);
    let path = dir.path().to_owned();
    let node = Node::new(move |c| {
        c.research.questionnaires_dir = Some(path);
        c.research.k = 2;
        c.research.allow_small_k = true;
        c.research.budget = 10.0;
    });
    for i in 0..6 {
        let (id, session) = node.account(&format!("dist{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "D", &["HP:0001250"]);
        node.approve(&p);
        node.post_form(
            &format!("/patients/{}/questionnaires/daily-life", p.id),
            &session,
            &format!("csrf={CSRF}&q-mobility={}&action=submit", i % 2),
        )
        .await;
    }
    let (_, token) = node.account("dist.researcher@example.org", Role::Researcher, false);
    let ask = |body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/research/distribution")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("req")
    };
    let (s, b, _) = node
        .send(ask(
            r#"{"questionnaire":"daily-life","question":"mobility"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
    let options = v["options"].as_array().expect("options");
    assert_eq!(options.len(), 3);
    assert_eq!(options[0]["option"], "Walks unaided");
    let remaining = options[2]["remaining"].as_f64().expect("remaining");
    assert!(
        (remaining - 8.5).abs() < 1e-9,
        "three options cost 3 x 0.5: {remaining}"
    );
    let (s, _, _) = node
        .send(ask(
            r#"{"questionnaire":"daily-life","question":"fatigue"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not a choice question");
    let (_, member) = node.account("dist.member@example.org", Role::Member, true);
    let (s, _, _) = node
        .send(
            Request::post("/api/v1/research/distribution")
                .header("authorization", format!("Bearer {member}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"questionnaire":"daily-life","question":"mobility"}"#,
                ))
                .expect("req"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Partners, on a node that has none: a clear refusal, nothing spent.
    let (s, b, _) = node
        .send(
            Request::post("/api/v1/research/count")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(r#"{"symptom":"HP:0001250","partners":true}"#))
                .expect("req"),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&b));
    let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(v["error"]["code"], "no_partners", "{v}");
}
