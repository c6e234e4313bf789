//! The OpenAPI description of the JSON API (`GET /api/v1/openapi.json`): a valid OpenAPI
//! 3.1 document (checked by `scripts/openapi-validate.py` with openapi-spec-validator);
//! every documented operation is served; every API route is documented; its examples,
//! and real answers of the node, are valid against its schemas.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use raremesh::accounts::Role;
use serde_json::{Value, json};

use crate::validation::Node;

/// The API modules: each registers its routes only through `utoipa_axum::routes!`,
/// which describes them.
const API_MODULES: [&str; 9] = [
    "openapi",
    "meta",
    "terms",
    "diseases",
    "member_api",
    "validation_api",
    "account_api",
    "questions_api",
    "research_api",
];

async fn call(
    node: &Node,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let (status, bytes, _) = node
        .send(r.body(Body::from(body.to_owned())).expect("req"))
        .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Whether a concrete path (query string aside) is an instance of a template.
fn instance_of(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let m: Method = method.to_uppercase().parse().expect("method");
            out.push((m, path.clone()));
        }
    }
    out
}

#[tokio::test]
async fn the_description_covers_every_route_and_holds_for_real_answers() {
    let node = Node::new(|_| ());
    let (st, doc) = call(&node, Method::GET, "/openapi.json", None, "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().expect("openapi").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "{} operations", ops.len());

    // Each documented operation is served: the API's own "no endpoint" and "no such
    // method" answers never come back.
    for (method, path) in &ops {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let (st, v) = call(&node, method.clone(), &concrete, None, "{}").await;
        assert!(
            st != StatusCode::METHOD_NOT_ALLOWED
                && !(st == StatusCode::NOT_FOUND && v["error"]["code"] == "not_found"),
            "{method} {path}: {st} {v}"
        );
    }

    // Every API route is described: the API modules register routes only through
    // `routes!` (which describes them), and every API route of the authorization table
    // (which walks the router's routes) is in the description.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/http");
    for module in API_MODULES {
        let text = std::fs::read_to_string(src.join(format!("{module}.rs"))).expect("source");
        let api = text
            .split("fn api()")
            .nth(1)
            .unwrap_or_else(|| panic!("{module}.rs has an api()"));
        let body = &api[..api.find("\n}\n").unwrap_or(api.len())];
        assert!(
            body.contains("routes!") && !body.contains(".route("),
            "{module}.rs: every API route through routes!"
        );
    }
    let account = raremesh::ids::AccountId::new("owner");
    let ids = crate::authz_routes::Ids {
        p: "p1",
        owner_id: &account,
        doc: "d1",
        qid: "q1",
        aid: "a1",
        theirs: "p2",
    };
    for (method, path, ..) in crate::authz_routes::table(&ids) {
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        assert!(
            ops.iter()
                .any(|(m, t)| *m == method && instance_of(t, rest)),
            "{method} {path} is not described"
        );
    }

    // Real answers, checked against the description's schemas.
    let (member_id, token) = node.account("openapi@example.org", Role::Member, true);
    let patient = node.patient(&member_id, "Child", &["HP:0001250", "HP:0001263"]);
    let (_, staff) = node.account("staff@example.org", Role::Validator, false);
    let (_, researcher) = node.account("researcher@example.org", Role::Researcher, false);
    let pid = patient.id.to_string();
    let mut answers = Vec::new();
    let asks: Vec<(Method, String, &str, Option<&str>, &str)> = vec![
        (Method::GET, "/version".into(), "/version", None, ""),
        (Method::GET, "/terms?q=seizure".into(), "/terms", None, ""),
        (
            Method::GET,
            "/terms/HP:0001250?lang=es".into(),
            "/terms/{id}",
            None,
            "",
        ),
        (
            Method::GET,
            "/terms/HP:9999999".into(),
            "/terms/{id}",
            None,
            "",
        ),
        (
            Method::GET,
            "/diseases?q=marfan".into(),
            "/diseases",
            None,
            "",
        ),
        (
            Method::GET,
            "/diseases/ORPHA:558".into(),
            "/diseases/{orpha}",
            None,
            "",
        ),
        (Method::GET, "/me".into(), "/me", Some(&token), ""),
        (Method::GET, "/me".into(), "/me", None, ""),
        (
            Method::GET,
            "/patients".into(),
            "/patients",
            Some(&token),
            "",
        ),
        (
            Method::GET,
            format!("/patients/{pid}"),
            "/patients/{id}",
            Some(&token),
            "",
        ),
        (
            Method::PUT,
            format!("/patients/{pid}/symptoms"),
            "/patients/{id}/symptoms",
            Some(&token),
            r#"[{"term": "HP:0001250", "onset": "infantile"}, {"term": "HP:0000252", "observed": false}]"#,
        ),
        (
            Method::GET,
            format!("/patients/{pid}/documents"),
            "/patients/{id}/documents",
            Some(&token),
            "",
        ),
        (
            Method::GET,
            format!("/patients/{pid}/similar"),
            "/patients/{id}/similar",
            Some(&token),
            "",
        ),
        (
            Method::GET,
            "/consents".into(),
            "/consents",
            Some(&token),
            "",
        ),
        (
            Method::PUT,
            "/consents".into(),
            "/consents",
            Some(&token),
            r#"{"accept": true, "local_matching": true, "research": true}"#,
        ),
        (
            Method::GET,
            "/questions".into(),
            "/questions",
            Some(&token),
            "",
        ),
        (
            Method::GET,
            "/questions/search?q=sleep".into(),
            "/questions/search",
            Some(&token),
            "",
        ),
        (
            Method::GET,
            "/validation/queue".into(),
            "/validation/queue",
            Some(&staff),
            "",
        ),
        (
            Method::POST,
            "/research/count".into(),
            "/research/count",
            Some(&researcher),
            r#"{"symptom": "HP:0001250"}"#,
        ),
        (
            Method::POST,
            "/research/count".into(),
            "/research/count",
            Some(&researcher),
            r#"{"symptom": "x"}"#,
        ),
        (
            Method::POST,
            "/session".into(),
            "/session",
            None,
            r#"{"email": "openapi@example.org", "password": "wrong"}"#,
        ),
    ];
    for (method, path, template, who, body) in asks {
        let (st, v) = call(&node, method.clone(), &path, who, body).await;
        answers.push(json!({ "method": method.as_str(), "path": template, "status": st.as_u16(), "body": v }));
    }
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    if let Ok(keep) = std::env::var("RAREMESH_OPENAPI_OUT") {
        std::fs::write(keep, doc.to_string()).expect("write");
    }
    let out = crate::script::run(
        "openapi-validate.py",
        &[file.as_os_str()],
        Value::Array(answers).to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
}
