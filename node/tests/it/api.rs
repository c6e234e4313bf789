//! The JSON API driven in-process with `oneshot`: answers, errors, and bad input.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::state;

async fn get(uri: &str) -> (StatusCode, Value) {
    let app = raremesh::http::app(state());
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

fn first_id(body: &Value) -> &str {
    body["results"][0]["id"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn health_and_version() {
    let (s, b) = get("/healthz").await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, b) = get("/api/v1/version").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["app"], raremesh::VERSION);
    assert_eq!(b["hpo"]["version"], "hp/releases/2025-01-16");
    assert!(
        b["hpo"]["acknowledgement"]
            .as_str()
            .is_some_and(|a| a.contains("Human Phenotype Ontology (version 2025-01-16)"))
    );
    assert!(
        b["orphanet"]["attribution"]
            .as_str()
            .is_some_and(|a| a.contains("CC BY 4.0"))
    );
}

#[tokio::test]
async fn term_search() {
    let (s, b) = get("/api/v1/terms?q=large%20head&limit=3").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first_id(&b), "HP:0000256");
    assert_eq!(b["results"][0]["matched"], "Large head");
    assert_eq!(b["results"][0]["matched_kind"], "layperson_synonym");
    assert_eq!(b["results"].as_array().map(Vec::len), Some(3));
    let (_, b) = get("/api/v1/terms?q=siezure").await;
    assert_eq!(first_id(&b), "HP:0001250");
    assert_eq!(
        b["results"].as_array().map(Vec::len),
        Some(10),
        "default limit"
    );
}

#[tokio::test]
async fn term_search_in_the_askers_language() {
    // lang=: Spanish words, the Spanish name with the English one.
    let (s, b) = get("/api/v1/terms?q=convulsiones&lang=es&limit=3").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["lang"], "es");
    assert_eq!(first_id(&b), "HP:0001250");
    assert_eq!(b["results"][0]["name"], "Convulsiones");
    assert_eq!(b["results"][0]["name_lang"], "es");
    assert_eq!(b["results"][0]["name_en"], "Seizure");
    assert_eq!(b["results"][0]["confident"], true);
    // Accept-Language, when lang= is not given.
    let app = raremesh::http::app(state());
    let res = app
        .oneshot(
            Request::get("/api/v1/terms?q=grosse%20t%C3%AAte&limit=3")
                .header("accept-language", "fr-CH, fr;q=0.9, en;q=0.8")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let b: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(b["lang"], "fr");
    assert_eq!(first_id(&b), "HP:0000256");
    assert_eq!(b["results"][0]["name"], "Macrocéphalie");
    // Vague words: nothing is confident.
    let (_, b) = get("/api/v1/terms?q=cabeza&lang=es").await;
    assert!(
        b["results"]
            .as_array()
            .is_some_and(|r| !r.is_empty() && r.iter().all(|h| h["confident"] == false)),
        "{b}"
    );
    // A language the node has no translation for is English; a malformed one is refused.
    let (_, b) = get("/api/v1/terms?q=seizure&lang=xx").await;
    assert_eq!(b["lang"], "en");
    let (s, b) = get("/api/v1/terms?q=seizure&lang=%3Cscript%3E").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "invalid_lang");
    // One term in French, names of its parents too.
    let (_, b) = get("/api/v1/terms/HP:0000256?lang=fr").await;
    assert_eq!(
        (&b["name"], &b["name_en"], &b["lang"]),
        (
            &Value::from("Macrocéphalie"),
            &Value::from("Macrocephaly"),
            &Value::from("fr")
        )
    );
}

#[tokio::test]
async fn term_detail_and_resolution() {
    let (s, b) = get("/api/v1/terms/HP:0000256").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["name"], "Macrocephaly");
    assert_eq!(b["parents"][0]["id"], "HP:0040194");
    assert!(b["synonyms"].as_array().is_some_and(|s| {
        s.iter()
            .any(|x| x["text"] == "Big head" && x["layperson"] == true)
    }));
    assert!(b.get("resolution").is_none());
    let (s, b) = get("/api/v1/terms/HP:0005491").await;
    assert_eq!(
        (s, &b["id"], &b["resolution"], &b["requested_id"]),
        (
            StatusCode::OK,
            &Value::from("HP:0000256"),
            &Value::from("alt_id"),
            &Value::from("HP:0005491")
        )
    );
    let (_, b) = get("/api/v1/terms/HP:0000057").await;
    assert_eq!(
        (&b["id"], &b["resolution"]),
        (
            &Value::from("HP:0008665"),
            &Value::from("replaced_obsolete")
        )
    );
}

#[tokio::test]
async fn disease_search_and_detail() {
    let (s, b) = get("/api/v1/diseases?q=marfan").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["results"][0]["code"], "ORPHA:558");
    let (_, b) = get("/api/v1/diseases?q=ORPHA:558&limit=1").await;
    assert_eq!(b["results"][0]["name"], "Marfan syndrome");
    for path in ["/api/v1/diseases/558", "/api/v1/diseases/ORPHA:558"] {
        let (s, b) = get(path).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["name"], "Marfan syndrome");
        let ann = b["annotations"].as_array().expect("annotations");
        assert!(ann.len() > 50);
        let per_mille: Vec<u64> = ann
            .iter()
            .filter_map(|a| a["frequency"]["per_mille"].as_u64())
            .collect();
        assert!(
            per_mille.windows(2).all(|w| w[0] >= w[1]),
            "most frequent first"
        );
        assert!(
            ann.iter()
                .any(|a| a["id"] == "HP:0001519" && a["frequency"]["id"] == "HP:0040281")
        );
    }
}

#[tokio::test]
async fn unknown_ids_are_404_with_the_id_named() {
    for (path, code, needle) in [
        ("/api/v1/terms/HP:9999999", "unknown_term", "HP:9999999"),
        ("/api/v1/terms/HP:0001726", "obsolete_term", "HP:0001726"),
        (
            "/api/v1/diseases/ORPHA:999999999",
            "unknown_disease",
            "ORPHA:999999999",
        ),
        ("/api/v1/nothing", "not_found", "/api/v1/nothing"),
    ] {
        let (s, b) = get(path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(b["error"]["code"], code, "{path}");
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle)),
            "{path}: {b}"
        );
    }
}

#[tokio::test]
async fn malformed_ids_are_400() {
    for (path, code) in [
        ("/api/v1/terms/seizure", "invalid_term_id"),
        ("/api/v1/terms/HP:12", "invalid_term_id"),
        ("/api/v1/diseases/marfan", "invalid_orpha_code"),
        ("/api/v1/diseases/%00%01", "invalid_orpha_code"),
    ] {
        let (s, b) = get(path).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{path}: {b}"
        );
    }
}

#[tokio::test]
async fn bad_queries_get_a_normal_answer_or_a_clear_400() {
    let huge = "a".repeat(10_000);
    let control: String = (1u8..32).map(|b| format!("%{b:02X}")).collect();
    for q in [
        "",
        "%20%20",
        "%22",
        "%3A",
        "*",
        "(",
        "%22seizure%22%20AND%20(x%3A*)",
        &control,
        "%F0%9F%99%82",
        "HP%3A",
        "ORPHA%3A",
    ] {
        for endpoint in ["terms", "diseases"] {
            let (s, b) = get(&format!("/api/v1/{endpoint}?q={q}")).await;
            assert_eq!(s, StatusCode::OK, "{endpoint} q={q}: {b}");
            assert!(b["results"].is_array());
        }
    }
    let (s, b) = get(&format!("/api/v1/terms?q={huge}")).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query_too_long"))
    );
    for limit in ["0", "51", "-1", "abc", "1e3", "99999999999999999999999"] {
        let (s, b) = get(&format!("/api/v1/terms?q=seizure&limit={limit}")).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_limit")),
            "limit={limit}"
        );
    }
    // Invalid UTF-8 is decoded with replacement characters: a normal, empty answer.
    let (s, b) = get("/api/v1/terms?q=%FF%FE").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = get("/api/v1/terms").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let app = raremesh::http::app(state());
    let res = app
        .oneshot(
            Request::post("/api/v1/terms")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let b: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(b["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn the_home_page_searches_without_javascript() {
    let (s, b) = get("/?q=big+head").await;
    assert_eq!(s, StatusCode::OK);
    let html = b.as_str().expect("html");
    assert!(
        html.contains("Macrocephaly") && html.contains("matches \"Big head\""),
        "{html}"
    );
    assert!(html.contains("Human Phenotype Ontology (version 2025-01-16)"));
    assert!(html.contains("Orphanet"));
    let (_, b) = get("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    let html = b.as_str().expect("html");
    assert!(
        !html.contains("<script>alert(1)") && html.contains("&lt;script&gt;"),
        "escaped"
    );
    let (s, _) = get(&format!("/?q={}", "x".repeat(500))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_oversized_or_non_json_body_is_413_or_415() {
    let post = |body: Vec<u8>, content_type: &'static str| async move {
        let res = raremesh::http::app(state())
            .oneshot(
                Request::post("/api/v1/session")
                    .header("content-type", content_type)
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    };
    let mut huge = br#"{"email": "a@example.org", "password": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
    huge.extend(br#""}"#);
    let (s, b) = post(huge, "application/json").await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["error"]["code"], "too_large");
    let (s, b) = post(b"email=a".to_vec(), "application/x-www-form-urlencoded").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    let (s, b) = post(b"{not json".to_vec(), "application/json").await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::BAD_REQUEST, &Value::from("invalid_body"))
    );
}

#[tokio::test]
async fn the_home_page_speaks_the_visitors_language() {
    let app = raremesh::http::app(state());
    let res = app
        .oneshot(
            Request::get("/?q=convulsiones")
                .header("accept-language", "es-ES,es;q=0.9")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(html.contains("Encuentre personas como usted"), "{html}");
    assert!(
        html.contains("Convulsiones") && html.contains("(Seizure)"),
        "the Spanish name with the English one: {html}"
    );
    assert!(!html.contains("Look up a symptom"), "{html}");
}

#[tokio::test]
async fn not_found_pages_speak_the_visitors_language() {
    let app = raremesh::http::app(state());
    let res = app
        .oneshot(
            Request::get("/no/such/page")
                .header("accept-language", "fr")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&bytes);
    assert!(
        html.contains("lang=\"fr\"") && html.contains("Cette page n’existe pas."),
        "{html}"
    );
}
