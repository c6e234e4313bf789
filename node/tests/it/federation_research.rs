//! Research across two nodes on two real Synapse homeservers: a researcher's count, and a
//! member's "where I stand" with a partner's distribution.

use crate::pair::{Side, member, remote_terms, run, wait_for};

const BEACON: &str = "beacon-token-of-the-portal-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researchers_count_across_nodes() {
    use tower::ServiceExt;
    let guard = tempfile::tempdir().expect("tempdir");
    let root = guard.path().to_owned();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    // Less noise than the default (ε = 2 per query), so the check below is tight; both
    // nodes run the same questionnaire.
    let questionnaires = root.join("questionnaires");
    std::fs::create_dir_all(&questionnaires).expect("dir");
    std::fs::write(
        questionnaires.join("daily.toml"),
        "id = \"daily-life\"\nversion = 1\ntitle = \"Daily life\"\n[[questions]]\nid = \"mobility\"\ntext = \"How does the patient move around?\"\nkind = \"single\"\noptions = [\"Walks unaided\", \"Walks with help\", \"Wheelchair\"]\n",
    )
    .expect("questionnaire");
    let tune = |mut c: raremesh::config::Config| {
        c.research.questionnaires_dir = Some(questionnaires.clone());
        c.research.epsilon_per_query = 2.0;
        c.research.budget = 20.0;
        c.research.k = 5;
        c.beacon.enabled = true;
        c.beacon.clients = vec![raremesh::config::BeaconClient {
            name: "portal".into(),
            token: raremesh::config::Secret::from(BEACON.to_owned()),
        }];
        c
    };
    let node_a = run(tune(a.config(&hs_a, &b, &hs_b))).await;
    let node_b = run(tune(b.config(&hs_b, &a, &hs_a))).await;
    let (sa, sb) = (node_a.state.clone(), node_b.state.clone());
    let mut first_of_a = None;
    for (state, n, tag) in [(&sa, 15, "a"), (&sb, 12, "b")] {
        for i in 0..n {
            let p = member(
                state,
                &format!("r{i}@{tag}.example.org"),
                "Child",
                &["HP:0002069", "HP:0001263"],
                true,
            );
            let mut m = state
                .registrations
                .member(&p.account_id)
                .expect("m")
                .expect("m");
            m.consents.research = true;
            state.registrations.save_member(&m).expect("save");
            // Everyone answers the questionnaire: on B, 8 walk unaided and 4 use a wheelchair.
            let choice = if tag == "b" && i >= 8 {
                "Wheelchair"
            } else {
                "Walks unaided"
            };
            state
                .research
                .save(&raremesh::research::Answers {
                    questionnaire: "daily-life".into(),
                    version: 1,
                    account_id: p.account_id.clone(),
                    patient_id: p.id.clone(),
                    values: [(
                        "mobility".to_owned(),
                        raremesh::research::answers::Value::Text(choice.into()),
                    )]
                    .into(),
                    submitted: true,
                    updated_at: 1,
                })
                .expect("answers");
            if tag == "a" && i == 0 {
                first_of_a = Some(p);
            }
        }
    }
    // The federation is up once each node holds the other's vectors.
    wait_for("vectors both ways", 120, || {
        remote_terms(&sa).len() == 12 && remote_terms(&sb).len() == 15
    })
    .await;
    let researcher = sa
        .accounts
        .create(
            "scientist@a.example.org",
            "a good long password",
            raremesh::accounts::Role::Researcher,
            true,
        )
        .expect("researcher");
    let session = sa.sessions.start(&researcher.id).expect("session");
    let csrf = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    let res = raremesh::http::app(sa.clone())
        .oneshot(
            axum::http::Request::post("/research")
                .header(
                    "cookie",
                    format!("raremesh_csrf={csrf}; raremesh_session={session}"),
                )
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(format!(
                    "csrf={csrf}&symptom=HP%3A0001250&partners=yes"
                )))
                .expect("req"),
        )
        .await
        .expect("res");
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().expect("loc").to_owned();
    let id = to.trim_start_matches("/research/queries/").to_owned();
    let fa = sa.federation.clone().expect("f");
    wait_for("B's answer", 60, || {
        fa.federated_query(&id)
            .is_ok_and(|q| q.is_some_and(|q| q.answers.len() == 2))
    })
    .await;
    let q = fa.federated_query(&id).expect("q").expect("q");
    let total: u64 = q.answers.values().filter_map(|x| x.count).sum();
    // 27 true patients with a seizure; each node's noise stays within ±5 but with
    // probability about 1 in 100,000 at ε = 2.
    println!(
        "federated count: {total} (true 27), answers {:?}",
        q.answers
    );
    assert!(total.abs_diff(27) <= 10, "{total}");
    assert!(
        q.answers
            .values()
            .all(|x| x.status == raremesh_bridge::protocol::CountStatus::Ok)
    );
    // B audited the query, under the asking node and a pseudonym of the researcher.
    let audited = sb.audit.recent(20).expect("audit");
    let entry = audited
        .iter()
        .find(|e| e.action.name() == "research_query")
        .expect("audited");
    assert!(entry.actor.starts_with("peer @raremesh:") && !entry.actor.contains("scientist"));
    // The page shows each node and the total.
    let res = raremesh::http::app(sa.clone())
        .oneshot(
            axum::http::Request::get(&to)
                .header("cookie", format!("raremesh_session={session}"))
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await
        .expect("res");
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.contains("Organization B") && page.contains(&format!("<td>{total}</td>")),
        "{page}"
    );
    // The JSON API asks the partners too: 202 with this node's count and the query to
    // follow; each node's answer and the total, as on the page.
    let api = |req: axum::http::request::Builder, body: &str| {
        let sa = sa.clone();
        let req = req
            .header("authorization", format!("Bearer {session}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .expect("req");
        async move {
            let res = raremesh::http::app(sa).oneshot(req).await.expect("res");
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .map(|l| l.to_str().expect("l").to_owned());
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .expect("body")
                .to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            (status, location, v)
        }
    };
    let (status, location, asked) = api(
        axum::http::Request::post("/api/v1/research/count"),
        r#"{"symptom":"HP:0001250","partners":true}"#,
    )
    .await;
    assert_eq!(status, 202, "{asked}");
    let href = location.expect("Location");
    assert_eq!(asked["href"], href.as_str());
    assert!(asked["local"]["count"].is_u64(), "{asked}");
    let api_query = asked["query"].as_str().expect("query").to_owned();
    wait_for("every node's answer to the API's query", 60, || {
        fa.federated_query(&api_query)
            .is_ok_and(|q| q.is_some_and(|q| q.answers.len() == 2))
    })
    .await;
    let (status, _, answer) = api(axum::http::Request::get(&href), "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["complete"], true, "every node answered: {answer}");
    let nodes = answer["answers"].as_array().expect("answers");
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n["status"] == "ok"), "{answer}");
    assert_eq!(nodes[0]["this_node"], true);
    assert_eq!(nodes[0]["count"], asked["local"]["count"]);
    assert_eq!(nodes[1]["node"], "Organization B");
    let api_total = answer["total"].as_u64().expect("total");
    assert!(api_total.abs_diff(27) <= 10, "{api_total}");
    assert_eq!(answer["criteria"]["symptom"], "HP:0001250");
    // Another researcher's query is not found; an unknown field is refused.
    let (_, other) = (
        (),
        sa.sessions
            .start(
                &sa.accounts
                    .create(
                        "other.scientist@a.example.org",
                        "a good long password",
                        raremesh::accounts::Role::Researcher,
                        true,
                    )
                    .expect("r")
                    .id,
            )
            .expect("s"),
    );
    let res = raremesh::http::app(sa.clone())
        .oneshot(
            axum::http::Request::get(&href)
                .header("authorization", format!("Bearer {other}"))
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await
        .expect("res");
    assert_eq!(res.status(), 404, "another researcher's query");
    let (status, _, refused) = api(
        axum::http::Request::post("/api/v1/research/count"),
        r#"{"symptom":"HP:0001250","partner":true}"#,
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_body");

    // A Beacon client asks the network: the total of every node's count, and each node's
    // answer, in a response valid against the Beacon v2 count schema.
    let beacon = |body: serde_json::Value| {
        let sa = sa.clone();
        async move {
            let res = raremesh::http::app(sa)
                .oneshot(
                    axum::http::Request::post("/beacon/v2/individuals")
                        .header("authorization", format!("Bearer {BEACON}"))
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(body.to_string()))
                        .expect("req"),
                )
                .await
                .expect("res");
            let status = res.status();
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .expect("body")
                .to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            )
        }
    };
    let (status, v) = beacon(serde_json::json!({
        "meta": { "apiVersion": "v2.0.0" },
        "query": {
            "filters": [{ "id": "HP:0001250" }],
            "requestedGranularity": "count",
            "requestParameters": { "network": true },
        }
    }))
    .await;
    assert_eq!(status, 200, "{v}");
    crate::beacon::valid("beaconCountResponse.json", &v);
    let network = &v["info"]["network"];
    assert_eq!(network["complete"], true, "{v}");
    let nodes = network["answers"].as_array().expect("answers");
    assert_eq!(nodes.len(), 2, "{v}");
    assert!(nodes.iter().all(|n| n["status"] == "ok"), "{v}");
    assert_eq!(nodes[1]["node"], "Organization B");
    let sum: u64 = nodes.iter().filter_map(|n| n["count"].as_u64()).sum();
    assert_eq!(v["responseSummary"]["numTotalResults"], sum);
    assert!(sum.abs_diff(27) <= 10, "{sum}");
    // B counted it for the Beacon client, under A's name for it.
    let counted_by_b: Vec<_> = sb
        .audit
        .recent(50)
        .expect("audit")
        .into_iter()
        .filter(|e| e.action.name() == "research_query")
        .collect();
    assert_eq!(
        counted_by_b.len(),
        3,
        "the page's, the API's and the Beacon's query"
    );
    assert!(
        counted_by_b
            .iter()
            .all(|e| e.actor.starts_with("peer @raremesh:") && !e.actor.contains("portal"))
    );
    // A sex cannot be asked of partners; without the network, it can.
    let (status, v) = beacon(serde_json::json!({
        "query": {
            "filters": [{ "id": "HP:0001250" }, { "id": "NCIT:C16576" }],
            "requestedGranularity": "count",
            "requestParameters": { "network": true },
        }
    }))
    .await;
    assert_eq!(status, 400, "{v}");
    crate::beacon::valid("beaconErrorResponse.json", &v);

    // A member on A sees where they stand among partners' patients too.
    let anna = first_of_a.expect("a member of A");
    let member_session = sa.sessions.start(&anna.account_id).expect("session");
    let results = format!("/patients/{}/questionnaires/daily-life/results", anna.id);
    let get = |path: String| {
        let sa = sa.clone();
        let cookie = format!("raremesh_session={member_session}");
        async move {
            let res = raremesh::http::app(sa)
                .oneshot(
                    axum::http::Request::get(&path)
                        .header("cookie", cookie)
                        .body(axum::body::Body::empty())
                        .expect("req"),
                )
                .await
                .expect("res");
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .expect("body")
                .to_bytes();
            String::from_utf8_lossy(&body).into_owned()
        }
    };
    let first_page = get(results.clone()).await;
    assert!(
        first_page.contains("Walks unaided: 15 (your answer)"),
        "{first_page}"
    );
    wait_for("B's distribution on A", 60, || {
        fa.partner_distributions("daily-life", "mobility", None)
            .is_ok_and(|d| {
                d.peers
                    .values()
                    .any(|p| p.status == raremesh_bridge::protocol::DistributionStatus::Ok)
            })
    })
    .await;
    let page = get(results).await;
    assert!(
        page.contains("In partner organizations: Organization B (12,"),
        "{page}"
    );
    assert!(page.contains("<td>Wheelchair</td><td>4</td>"), "{page}");
    node_a.shut().await;
    node_b.shut().await;
}
