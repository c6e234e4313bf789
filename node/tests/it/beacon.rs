//! The GA4GH Beacon v2 endpoint through the router: every response valid against the
//! Beacon v2 framework's schemas (`node/tests/ga4gh/beacon-v2`, checked by
//! `scripts/beacon-validate.py`); counts with descendants, diseases, sex and age bands,
//! nothing under k, the same answer to the same query, a budget, tokens, the audit.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::config::{BeaconClient, Secret};
use raremesh::registration::patient::{Diagnosis, Sex};
use raremesh_ontology::OrphaCode;
use serde_json::{Value, json};

use crate::validation::Node;

const TOKEN_A: &str = "beacon-token-of-tool-a-0123456789abcdef";
const TOKEN_B: &str = "beacon-token-of-tool-b-0123456789abcdef";

/// Checks `doc` against a schema of the Beacon v2 framework.
pub(crate) fn valid(schema: &str, doc: &Value) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let schemas = root.join("tests/ga4gh/beacon-v2");
    let file = format!("framework/json/responses/{schema}");
    let out = crate::script::run(
        "beacon-validate.py",
        &[schemas.as_os_str(), file.as_ref()],
        doc.to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "{schema}: {}{}\n{doc:#}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn call(node: &Node, req: Request<Body>) -> (StatusCode, Value) {
    let (status, body, _) = node.send(req).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, v)
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::empty()).expect("req")
}

fn post(path: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut r = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).expect("req")
}

fn query(filters: &[&str], granularity: &str) -> Value {
    json!({
        "meta": { "apiVersion": "v2.0.0" },
        "query": {
            "filters": filters.iter().map(|f| json!({ "id": f, "includeDescendantTerms": true })).collect::<Vec<_>>(),
            "requestedGranularity": granularity,
        }
    })
}

/// A node with the Beacon on, two requesters, k = 3, and little noise (ε = 10: a count is
/// off by one about once in ten thousand).
fn beacon_node(budget: f64) -> Node {
    let node = Node::new(|c| {
        c.server.public_url = "https://rare-a.example.org".into();
        c.beacon.enabled = true;
        c.beacon.contact = "mailto:research@rare-a.example.org".into();
        c.beacon.clients = vec![
            BeaconClient {
                name: "tool-a".into(),
                token: Secret::from(TOKEN_A.to_owned()),
            },
            BeaconClient {
                name: "tool-b".into(),
                token: Secret::from(TOKEN_B.to_owned()),
            },
        ];
        c.research.k = 3;
        c.research.epsilon_per_query = 10.0;
        c.research.budget = budget;
        c.research.node_budget = budget.max(c.research.node_budget);
    });
    // The research population: validated patients of members who consent to research.
    // Children are 10 this year (age band 6-11), adults 36.
    let this_year = raremesh::registration::patient::current_year();
    let (child, adult) = (this_year - 10, this_year - 36);
    let people: [(&str, Sex, u16, Option<u32>); 8] = [
        ("HP:0001250", Sex::Female, child, Some(558)),
        ("HP:0001250", Sex::Female, child, Some(558)),
        ("HP:0001250", Sex::Male, child, Some(558)),
        // Narrower than Seizure: Bilateral tonic-clonic seizure.
        ("HP:0002069", Sex::Female, child, None),
        ("HP:0002069", Sex::Female, adult, None),
        ("HP:0001263", Sex::Male, adult, None),
        ("HP:0001263", Sex::Female, adult, None),
        ("HP:0000365", Sex::Male, adult, Some(558)),
    ];
    for (i, (term, sex, born, orpha)) in people.into_iter().enumerate() {
        let (id, _) = node.account(&format!("beacon{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let mut p = node.patient(&id, "Counted", &[term]);
        p.sex = sex;
        p.birth_year = born;
        if let Some(code) = orpha {
            p.diagnosis = Diagnosis::Orpha {
                code: OrphaCode::from_number(code),
            };
        }
        node.state.patients.save(&p).expect("save");
        node.approve(&p);
    }
    // Not counted: no consent to research; not validated.
    let (id, _) = node.account("noconsent@example.org", Role::Member, true);
    let p = node.patient(&id, "Private", &["HP:0001250"]);
    node.approve(&p);
    let (id, _) = node.account("unvalidated@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&id).expect("m").expect("m");
    m.consents.research = true;
    node.state.registrations.save_member(&m).expect("save");
    node.patient(&id, "Waiting", &["HP:0001250"]);
    node
}

/// The count of a response, or None when under k.
fn counted(v: &Value) -> Option<u64> {
    v["responseSummary"]["numTotalResults"].as_u64()
}

#[tokio::test]
async fn every_beacon_response_is_valid_against_the_beacon_schemas() {
    let node = beacon_node(100.0);
    for (path, schema) in [
        ("/beacon/v2/", "beaconInfoResponse.json"),
        ("/beacon/v2/info", "beaconInfoResponse.json"),
        (
            "/beacon/v2/configuration",
            "beaconConfigurationResponse.json",
        ),
        ("/beacon/v2/map", "beaconMapResponse.json"),
        ("/beacon/v2/entry_types", "beaconEntryTypesResponse.json"),
    ] {
        let (st, v) = call(&node, get(path, None)).await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
        valid(schema, &v);
    }
    let (_, info) = call(&node, get("/beacon/v2/info", None)).await;
    assert_eq!(info["response"]["id"], "org.example.rare-a.beacon");

    // The filtering terms: terms at least k patients have, and the sexes and age bands.
    let (st, v) = call(&node, get("/beacon/v2/filtering_terms", Some(TOKEN_A))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    valid("beaconFilteringTermsResponse.json", &v);
    let ids: Vec<&str> = v["response"]["filteringTerms"]
        .as_array()
        .expect("terms")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    for listed in [
        "HP:0001250",
        "ORPHA:558",
        "NCIT:C16576",
        "age_band:6-11",
        "age_band:65+",
    ] {
        assert!(ids.contains(&listed), "{listed} in {ids:?}");
    }
    for unlisted in ["HP:0002069", "HP:0001263", "HP:0000365"] {
        assert!(
            !ids.contains(&unlisted),
            "{unlisted} has fewer than k: {ids:?}"
        );
    }
    // Made once per period: asked again, the same list, though patients were added.
    let (id, _) = node.account("latecomer@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&id).expect("m").expect("m");
    m.consents.research = true;
    node.state.registrations.save_member(&m).expect("save");
    for i in 0..3 {
        let p = node.patient(&id, &format!("Late{i}"), &["HP:0000508"]);
        node.approve(&p);
    }
    let (_, again) = call(&node, get("/beacon/v2/filtering_terms", Some(TOKEN_A))).await;
    assert_eq!(again, v, "the period's list");
    // The GET form of the oldest age band: `+` reads as a space in a query string.
    let (st, v) = call(
        &node,
        get("/beacon/v2/individuals?filters=age_band:65+", Some(TOKEN_A)),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    valid("beaconBooleanResponse.json", &v);

    // Counts: Seizure with its narrower terms (3 + 2), by POST and by GET.
    let (st, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["HP:0001250"], "count"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    valid("beaconCountResponse.json", &v);
    assert_eq!(v["meta"]["returnedGranularity"], "count");
    assert!(counted(&v).is_some_and(|n| n.abs_diff(5) <= 1), "{v}");
    // The granularity in any case; one of the three only.
    let (st, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["HP:0001250"], "COUNT"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    valid("beaconCountResponse.json", &v);
    let (st, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["HP:0001250"], "everything"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    valid("beaconErrorResponse.json", &v);
    let (st, v) = call(
        &node,
        get(
            "/beacon/v2/individuals?filters=HP:0001250,ORPHA:558&requestedGranularity=count",
            Some(TOKEN_A),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    valid("beaconCountResponse.json", &v);
    assert!(counted(&v).is_some_and(|n| n.abs_diff(3) <= 1), "{v}");
    assert_eq!(
        v["meta"]["receivedRequestSummary"]["filters"],
        json!(["HP:0001250", "ORPHA:558"])
    );
    // Sex and age band: the girls aged 6 to 11 with a seizure.
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["HP:0001250", "NCIT:C16576", "age_band:6-11"], "count"),
        ),
    )
    .await;
    valid("beaconCountResponse.json", &v);
    assert!(counted(&v).is_some_and(|n| n.abs_diff(3) <= 1), "{v}");
    // Boolean, the default; record is answered as a count, never records.
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["ORPHA:558"], "boolean"),
        ),
    )
    .await;
    valid("beaconBooleanResponse.json", &v);
    assert_eq!(v["responseSummary"]["exists"], true);
    assert!(v["responseSummary"].get("numTotalResults").is_none());
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["ORPHA:558"], "record"),
        ),
    )
    .await;
    valid("beaconCountResponse.json", &v);
    assert_eq!(v["meta"]["returnedGranularity"], "count");
    assert!(v.get("response").is_none(), "no result sets: {v}");

    // Under k: not given.
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(&["HP:0001263"], "count"),
        ),
    )
    .await;
    valid("beaconBooleanResponse.json", &v);
    assert_eq!(v["responseSummary"]["exists"], false, "{v}");
    assert_eq!(v["info"]["fewerThanK"], true, "{v}");
    assert!(counted(&v).is_none());

    // Bad requests: a clear error, valid too.
    for (body, says) in [
        (
            query(&["MONDO:0007947"], "count"),
            "not a filter this Beacon knows",
        ),
        (
            query(&["HP:0001250", "HP:0001263"], "count"),
            "one HPO term filter at most",
        ),
        (query(&["HP:9999999"], "count"), "HP:9999999"),
        (query(&["age_band:7-9"], "count"), "not an age band"),
        (
            json!({ "meta": { "apiVersion": "v2.0.0" }, "query": { "filters": [{ "id": "age", "operator": ">", "value": "P5Y" }] } }),
            "alphanumeric filters are not supported",
        ),
        (
            json!({ "query": { "filters": "HP:0001250" } }),
            "cannot be read",
        ),
        (query(&[], "count"), "criterion"),
    ] {
        let (st, v) = call(&node, post("/beacon/v2/individuals", Some(TOKEN_A), &body)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {v}");
        valid("beaconErrorResponse.json", &v);
        let message = v["error"]["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{says:?} in {message:?}");
    }
}

#[tokio::test]
async fn only_requesters_with_a_token_count_and_each_count_is_audited() {
    let node = beacon_node(100.0);
    for token in [None, Some("wrong-token-wrong-token-wrong-token-0000")] {
        let (st, v) = call(&node, get("/beacon/v2/filtering_terms", token)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
        valid("beaconErrorResponse.json", &v);
        let (st, v) = call(
            &node,
            post(
                "/beacon/v2/individuals",
                token,
                &query(&["HP:0001250"], "count"),
            ),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
        assert!(counted(&v).is_none());
    }
    let (st, _) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_B),
            &query(&["HP:0001250"], "count"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let audit = node.state.audit.recent(50).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == raremesh::audit::Action::ResearchQuery
                && e.actor == "beacon tool-b"
                && e.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("HP:0001250"))),
        "{audit:?}"
    );

    // Counts follow the data: two new patients are in the next count, a withdrawn
    // consent is out of the next one (the population read is kept between changes only).
    let mut newcomers = Vec::new();
    for i in 0..2 {
        let (id, _) = node.account(&format!("newcomer{i}@example.org"), Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.consents.research = true;
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "New", &["HP:0001263"]);
        node.approve(&p);
        newcomers.push(id);
    }
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_B),
            &query(&["HP:0001263"], "count"),
        ),
    )
    .await;
    assert!(counted(&v).is_some_and(|n| n.abs_diff(4) <= 1), "{v}");
    let mut m = node
        .state
        .registrations
        .member(&newcomers[1])
        .expect("m")
        .expect("m");
    m.consents.research = false;
    node.state.registrations.save_member(&m).expect("save");
    let (_, v) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_B),
            &query(&["HP:0001263", "NCIT:C16576"], "count"),
        ),
    )
    .await;
    assert_eq!(v["info"]["fewerThanK"], true, "2 left, under k: {v}");

    // Off: nothing there.
    let off = Node::new(|_| {});
    let (st, _) = call(&off, get("/beacon/v2/info", None)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_same_query_gets_the_same_answer_and_a_spent_budget_is_refused() {
    // Budget for two new queries per period (ε = 10 each).
    let node = beacon_node(20.0);
    let ask = |filters: &'static [&'static str]| {
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_A),
            &query(filters, "count"),
        )
    };
    let (_, first) = call(&node, ask(&["HP:0001250"])).await;
    // Asked again, and spelt with an alternative id of the same term: the same answer,
    // from the cache, without spending budget.
    for again in [&["HP:0001250"][..], &["HP:0001275"][..]] {
        let (st, v) = call(&node, ask(again)).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(counted(&v), counted(&first));
        assert_eq!(v["info"]["cached"], true, "{v}");
    }
    let (st, _) = call(&node, ask(&["ORPHA:558"])).await;
    assert_eq!(st, StatusCode::OK);
    // A third new query: refused until the period ends.
    let (st, v) = call(&node, ask(&["NCIT:C20197"])).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    valid("beaconErrorResponse.json", &v);
    assert_eq!(v["error"]["errorCode"], 429);
    assert!(
        v["error"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("budget")),
        "{v}"
    );
    // Another requester has its own budget.
    let (st, _) = call(
        &node,
        post(
            "/beacon/v2/individuals",
            Some(TOKEN_B),
            &query(&["NCIT:C20197"], "count"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
}

#[test]
fn beacon_settings_are_checked_and_tokens_never_printed() {
    let client = |name: &str, token: &str| BeaconClient {
        name: name.into(),
        token: Secret::from(token.to_owned()),
    };
    let with = |enabled: bool, clients: Vec<BeaconClient>| {
        let mut c = raremesh::config::Config::default();
        c.beacon.enabled = enabled;
        c.beacon.clients = clients;
        c
    };
    for (config, key) in [
        (with(true, vec![]), "beacon.clients"),
        (
            with(true, vec![client("a", "short")]),
            "beacon.clients.token",
        ),
        (
            with(
                true,
                vec![client("a", &"x".repeat(40)), client("a", &"y".repeat(40))],
            ),
            "beacon.clients.name",
        ),
        (
            with(
                true,
                vec![client("a", &"x".repeat(40)), client("b", &"x".repeat(40))],
            ),
            "beacon.clients.token",
        ),
        (
            with(false, vec![client("", &"x".repeat(40))]),
            "beacon.clients.name",
        ),
    ] {
        let e = config.validate().expect_err(key).to_string();
        assert!(e.contains(key), "{key} in {e}");
    }
    let ok = with(true, vec![client("portal", TOKEN_A)]);
    ok.validate().expect("valid");
    let summary = ok.summary();
    assert!(
        summary.contains("beacon = on: 1 clients (portal token set)"),
        "{summary}"
    );
    assert!(!summary.contains(TOKEN_A));
    assert!(!format!("{ok:?}").contains(TOKEN_A));
}
