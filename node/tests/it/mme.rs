//! The Matchmaker Exchange endpoint (`/mme/match`, `/mme/heartbeat`) through the router
//! and over a real socket: the MME benchmark's 50 patients find themselves; the versioned
//! media types, tokens, malformed and oversize bodies, rate limits; only consenting,
//! validated patients, the organization as contact; the audit; the member's notice and
//! withdrawal; a second node sending a patient's profile to the first.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::config::{MmeClient, Secret};
use raremesh::mme::wire::MmePatient;
use raremesh::registration::patient::{Diagnosis, Patient};
use raremesh_ontology::OrphaCode;
use serde_json::{Value, json};

use crate::validation::{CSRF, Node};

pub(crate) const TOKEN: &str = "mme-token-of-the-clinic-0123456789abcdef";
pub(crate) const OTHER: &str = "mme-token-of-another-one-0123456789abcdef";
const V10: &str = "application/vnd.ga4gh.matchmaker.v1.0+json";

pub(crate) fn benchmark() -> Vec<MmePatient> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mme/benchmark_patients.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("benchmark file"))
        .expect("benchmark patients read as MME patients")
}

pub(crate) fn mme_node(tweak: impl FnOnce(&mut raremesh::config::Config)) -> Node {
    Node::new(|c| {
        c.node.name = "Rare A".into();
        c.mme.enabled = true;
        c.mme.contact_name = "Matchmaking desk of Rare A".into();
        c.mme.contact_href = "mailto:matchmaking@rare-a.example.org".into();
        c.mme.clients = vec![
            MmeClient {
                name: "clinic".into(),
                token: Secret::from(TOKEN.to_owned()),
            },
            MmeClient {
                name: "other".into(),
                token: Secret::from(OTHER.to_owned()),
            },
        ];
        tweak(c);
    })
}

fn search(token: Option<&str>, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut r = Request::post("/mme/match");
    if let Some(t) = token {
        r = r.header("X-Auth-Token", t);
    }
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    r.body(body.into()).expect("request")
}

async fn call(node: &Node, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let (status, body, headers) = node.send(req).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, v, headers)
}

/// A request for a patient with these features (all observed).
fn asking(features: &[&str]) -> Value {
    json!({
        "patient": {
            "id": "query-1",
            "contact": { "name": "Dr Query", "href": "mailto:query@clinic.example.org" },
            "features": features.iter().map(|f| json!({ "id": f })).collect::<Vec<_>>(),
        }
    })
}

/// The patient a result's pseudonym stands for.
fn which(node: &Node, client: &str, made: &[Patient], id: &str) -> usize {
    made.iter()
        .position(|p| {
            node.state
                .matchmaker
                .pseudonym("in", client, &p.id)
                .expect("pseudonym")
                == id
        })
        .expect("a result is one of the loaded patients")
}

/// The loaded patients a response's results stand for, best first (as client "clinic").
fn ranks(node: &Node, made: &[Patient], v: &Value) -> Vec<usize> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            which(
                node,
                "clinic",
                made,
                r["patient"]["id"].as_str().expect("id"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_benchmark_patients_find_themselves_and_their_disorder_first() {
    let node = mme_node(|c| c.mme.max_results = 50);
    let bench = benchmark();
    let made = raremesh::demo::load_mme(&node.state, &bench).expect("load");
    let disorder = |i: usize| bench[i].disorders.first().map(|d| d.id.clone());
    let mut own_first = 0;
    let mut reciprocal = Vec::new();
    for (i, p) in bench.iter().enumerate() {
        // Every second feature, as a clinician who saw part of the picture.
        let half: Vec<Value> = p
            .features
            .iter()
            .step_by(2)
            .map(|f| serde_json::to_value(f).expect("feature"))
            .collect();
        let body = json!({
            "patient": {
                "id": format!("query-{i}"),
                "contact": { "name": "Dr Query", "href": "https://clinic.example.org/contact" },
                "features": half,
                "test": true,
            }
        });
        let (st, v, headers) = call(&node, search(Some(TOKEN), Some(V10), body.to_string())).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(headers[header::CONTENT_TYPE], V10);
        let ranked: Vec<usize> = ranks(&node, &made, &v);
        let scores: Vec<f64> = v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["score"]["patient"].as_f64().expect("score"))
            .collect();
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "best first: {scores:?}"
        );
        if ranked.first() == Some(&i) {
            own_first += 1;
        }
        // The best-ranked other patient with the same disorder (0 when none was returned).
        let shared =
            disorder(i).is_some() && (0..bench.len()).any(|j| j != i && disorder(j) == disorder(i));
        if shared {
            let r = ranked
                .iter()
                .filter(|j| **j != i)
                .position(|j| disorder(*j) == disorder(i));
            reciprocal.push(r.map_or(0.0, |r| 1.0 / (r + 1) as f64));
        }
    }
    let mrr = reciprocal.iter().sum::<f64>() / reciprocal.len() as f64;
    eprintln!(
        "own record first for {own_first} of 50; same-disorder MRR {mrr:.3} over {} queries",
        reciprocal.len()
    );
    assert!(
        own_first >= 45,
        "own record first for only {own_first} of 50"
    );
    // 30 patients share their disorder with another (7 have none); by chance the first of
    // them would come at about rank 10 (MRR ~0.1).
    assert_eq!(reciprocal.len(), 30);
    assert!(mrr > 0.6, "same-disorder MRR {mrr:.3}");
    // Test queries are answered but tell no member.
    assert!(made.iter().all(|p| {
        node.state
            .matchmaker
            .notice(&p.account_id, &p.id)
            .expect("notice")
            .is_none()
    }));
}

#[tokio::test]
async fn a_disorder_the_node_can_read_ranks_its_patients_first() {
    let node = mme_node(|c| c.mme.max_results = 50);
    let bench = benchmark();
    let made = raremesh::demo::load_mme(&node.state, &bench).expect("load");
    // MIM:117650 (Cerebrocostomandibular syndrome) maps to ORPHA:1393 by the annotations'
    // names; 12 benchmark patients have it.
    let ccms: Vec<usize> = (0..bench.len())
        .filter(|i| bench[*i].disorders.iter().any(|d| d.id == "MIM:117650"))
        .collect();
    assert_eq!(ccms.len(), 12);
    assert!(ccms.iter().all(|i| made[*i].diagnosis
        == Diagnosis::Orpha {
            code: OrphaCode::from_number(1393)
        }));
    // Somebody else's features, with that disorder named by its OMIM id.
    let other = (0..bench.len()).find(|i| !ccms.contains(i)).expect("other");
    let body = json!({
        "patient": {
            "id": "query-ccms",
            "contact": { "name": "Dr Query", "href": "mailto:q@clinic.example.org" },
            "features": bench[other].features,
            "disorders": [{ "id": "MIM:117650" }],
        }
    });
    let (st, v, _) = call(&node, search(Some(TOKEN), Some(V10), body.to_string())).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ranked: Vec<usize> = ranks(&node, &made, &v);
    let mut first: Vec<usize> = ranked[..12].to_vec();
    first.sort_unstable();
    assert_eq!(first, ccms, "the 12 patients with the disorder come first");
    assert!(v["results"][0]["patient"]["disorders"][0]["id"] == "Orphanet:1393");
    // Not a test: each patient found is counted for its member.
    let n = node
        .state
        .matchmaker
        .notice(&made[ccms[0]].account_id, &made[ccms[0]].id)
        .expect("notice")
        .expect("counted");
    assert_eq!(n.count, 1);
}

#[tokio::test]
async fn requests_are_checked_as_the_api_says() {
    let node = mme_node(|_| ());
    let good = asking(&["HP:0001250"]).to_string();
    // Tokens.
    let (st, v, _) = call(&node, search(None, Some(V10), good.clone())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["message"].as_str().is_some());
    let (st, _, _) = call(&node, search(Some("wrong-token"), Some(V10), good.clone())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Media types.
    let (st, v, _) = call(
        &node,
        search(Some(TOKEN), Some("application/json"), good.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (st, _, _) = call(&node, search(Some(TOKEN), None, good.clone())).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (st, v, headers) = call(
        &node,
        search(
            Some(TOKEN),
            Some("application/vnd.ga4gh.matchmaker.v2.0+json"),
            good.clone(),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_ACCEPTABLE, "{v}");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/vnd.ga4gh.matchmaker.v1.1+json"
    );
    assert_eq!(v["supportedVersions"], json!(["1.0", "1.1"]));
    // A later minor version is answered in the latest this node speaks.
    let (st, _, headers) = call(
        &node,
        search(
            Some(TOKEN),
            Some("application/vnd.ga4gh.matchmaker.v1.3+json"),
            good.clone(),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/vnd.ga4gh.matchmaker.v1.1+json"
    );
    // Methods.
    let (st, v, _) = call(
        &node,
        Request::get("/mme/match")
            .header("X-Auth-Token", TOKEN)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    // Bodies: not JSON (400); JSON that is not a request (422), each with its reason.
    let (st, v, _) = call(&node, search(Some(TOKEN), Some(V10), "{\"patient\": ")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    for (body, says) in [
        (json!([1, 2]), "object"),
        (json!({ "query": {} }), "patient"),
        (
            json!({ "patient": { "id": "x", "features": [{ "id": "HP:0001250" }] } }),
            "contact",
        ),
        (
            json!({ "patient": { "id": "", "contact": { "name": "a", "href": "mailto:a@b" }, "features": [{ "id": "HP:0001250" }] } }),
            "patient.id",
        ),
        (
            json!({ "patient": { "id": "x", "contact": { "name": "a", "href": "mailto:a@b" } } }),
            "features or genomicFeatures",
        ),
        (
            json!({ "patient": { "id": "x", "contact": { "name": "a", "href": "mailto:a@b" }, "features": [{ "id": "seizures" }] } }),
            "HPO id",
        ),
        (
            json!({ "patient": { "id": "x", "contact": { "name": "a", "href": "mailto:a@b" }, "features": [{ "id": "HP:0001250", "observed": "maybe" }] } }),
            "observed",
        ),
        (
            json!({ "patient": { "id": 7, "contact": { "name": "a", "href": "mailto:a@b" }, "features": [] } }),
            "does not read",
        ),
        (
            json!({ "patient": { "id": "x", "contact": { "name": "a", "href": "mailto:a@b" }, "features": vec![json!({ "id": "HP:0001250" }); 101] } }),
            "at most 100 features",
        ),
    ] {
        let (st, v, _) = call(&node, search(Some(TOKEN), Some(V10), body.to_string())).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let message = v["message"].as_str().expect("message");
        assert!(message.contains(says), "{body}: {message}");
    }
    // Oversize.
    let huge = format!(
        "{{\"patient\": {{\"id\": \"x\", \"label\": \"{}\"}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (st, v, _) = call(&node, search(Some(TOKEN), Some(V10), huge)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    // Unknown and obsolete-without-replacement terms are not an error: nothing matches.
    let (st, v, _) = call(
        &node,
        search(Some(TOKEN), Some(V10), asking(&["HP:9999999"]).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["results"], json!([]));
    // The heartbeat, with a token only.
    let hb = |token: Option<&str>| {
        let mut r = Request::get("/mme/heartbeat");
        if let Some(t) = token {
            r = r.header("X-Auth-Token", t);
        }
        r.body(Body::empty()).expect("req")
    };
    let (st, _, _) = call(&node, hb(None)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v, _) = call(&node, hb(Some(OTHER))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["heartbeat"]["production"], json!(true));
    assert_eq!(
        v["heartbeat"]["accept"],
        json!([V10, "application/vnd.ga4gh.matchmaker.v1.1+json"])
    );
}

#[tokio::test]
async fn only_consenting_validated_patients_are_found_with_the_organization_as_contact() {
    let node = mme_node(|_| ());
    let make = |email: &str, consent: bool, approve: bool| {
        let (id, session) = node.account(email, Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.matchmaking = consent;
        node.state.registrations.save_member(&m).expect("save");
        let mut p = node.patient(&id, "Secret Name", &["HP:0001250", "HP:0001263"]);
        p.diagnosis = Diagnosis::Orpha {
            code: OrphaCode::from_number(558),
        };
        node.state.patients.save(&p).expect("save");
        if approve {
            node.approve(&p);
        }
        (p, session)
    };
    let (found, session) = make("found@example.org", true, true);
    make("private@example.org", false, true);
    make("waiting@example.org", true, false);
    let ask = |token: &'static str| {
        search(
            Some(token),
            Some(V10),
            asking(&["HP:0001250", "HP:0001263"]).to_string(),
        )
    };
    let (st, v, _) = call(&node, ask(TOKEN)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{v}");
    let r = &results[0];
    assert!((r["score"]["patient"].as_f64().expect("score") - 1.0).abs() < 1e-3);
    let patient = &r["patient"];
    assert_eq!(patient["contact"]["name"], "Matchmaking desk of Rare A");
    assert_eq!(patient["contact"]["institution"], "Rare A");
    assert_eq!(
        patient["contact"]["href"],
        "mailto:matchmaking@rare-a.example.org"
    );
    assert_eq!(patient["disorders"][0]["id"], "Orphanet:558");
    assert_eq!(patient["features"].as_array().expect("features").len(), 2);
    // Nothing of the member or the record's own ids.
    let text = v.to_string();
    for secret in [
        "Secret Name",
        "found@example.org",
        "Name of found",
        found.id.as_str(),
        found.account_id.as_str(),
        "2016",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // The pseudonym is the same for the same client, another for another client.
    let first = patient["id"].as_str().expect("id").to_owned();
    let (_, again, _) = call(&node, ask(TOKEN)).await;
    assert_eq!(again["results"][0]["patient"]["id"], first.as_str());
    let (_, other, _) = call(&node, ask(OTHER)).await;
    assert_ne!(other["results"][0]["patient"]["id"], first.as_str());
    // Every request is in the audit log: client, and how many results.
    let audit = node.state.audit.recent(20).expect("audit");
    let searches: Vec<_> = audit
        .iter()
        .filter(|e| e.action == raremesh::audit::Action::MmeMatch)
        .collect();
    assert_eq!(searches.len(), 3);
    assert_eq!(searches[0].actor, "mme other");
    assert!(
        searches[0]
            .reason
            .as_deref()
            .expect("reason")
            .ends_with("-> 1 results")
    );
    // The member sees it on the patient's page, then withdraws.
    let page = format!("/patients/{}/edit", found.id);
    let (st, html) = node.get(&page, &session).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("found this patient 3 times"), "{html}");
    let (st, _) = node
        .post_form(
            &format!("/patients/{}/matchmaking/withdraw", found.id),
            &session,
            &format!("csrf={CSRF}"),
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, v, _) = call(&node, ask(TOKEN)).await;
    assert_eq!(v["results"], json!([]), "withdrawn: found no more");
    let (_, html) = node.get(&page, &session).await;
    assert!(html.contains("can no longer find your patients"), "{html}");
    // Another member cannot withdraw for this one (not their patient).
    let (_, intruder) = node.account("intruder@example.org", Role::Member, true);
    let (st, _) = node
        .post_form(
            &format!("/patients/{}/matchmaking/withdraw", found.id),
            &intruder,
            &format!("csrf={CSRF}"),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_client_has_its_request_limit() {
    let node = mme_node(|c| c.mme.requests_per_window = 2);
    let body = asking(&["HP:0001250"]).to_string();
    for _ in 0..2 {
        let (st, _, _) = call(&node, search(Some(TOKEN), Some(V10), body.clone())).await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, v, headers) = call(&node, search(Some(TOKEN), Some(V10), body.clone())).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Another client is not held back.
    let (st, _, _) = call(&node, search(Some(OTHER), Some(V10), body)).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn the_endpoint_is_off_unless_configured() {
    let node = Node::new(|_| ());
    let (st, _, _) = call(
        &node,
        search(Some(TOKEN), Some(V10), asking(&["HP:0001250"]).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
