//! The upgrade path: a data folder written by an earlier release (`tests/fixtures/`, made
//! with `scripts/make-upgrade-fixture.sh` and that release's binary) opens in this one,
//! and everything its members gave is there.

use std::path::Path;

use serde_json::{Value, json};

use crate::hardening::Server;

/// Unpacks a fixture into `into` (it holds `data/`).
fn unpack(fixture: &str, into: &Path) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let file = std::fs::File::open(&path).expect("the fixture");
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(into)
        .expect("unpack");
}

fn sign_in(http: &reqwest::blocking::Client, base: &str, email: &str, password: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .expect("sign in");
    assert_eq!(r.status().as_u16(), 201, "{email} signs in");
    r.json::<Value>().expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn get(http: &reqwest::blocking::Client, url: String, token: &str) -> Value {
    let r = http.get(url).bearer_auth(token).send().expect("get");
    assert_eq!(r.status().as_u16(), 200);
    r.json().expect("json")
}

#[test]
fn a_data_folder_of_the_previous_release_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().expect("tmp");
    unpack("data-0.1.0-7cfe52f.tar.gz", dir.path());
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let http = reqwest::blocking::Client::new();
    let base = &server.base;
    // The member, their patients with symptoms and document, their question.
    let token = sign_in(
        &http,
        base,
        "fixture@example.org",
        "fixture member's password",
    );
    let patients = get(&http, format!("{base}/api/v1/patients"), &token);
    let list = patients["patients"].as_array().expect("patients");
    assert_eq!(list.len(), 2, "{patients}");
    let child = list
        .iter()
        .find(|p| p["display_name"] == "Fixture child")
        .expect("the patient added over the API");
    let id = child["id"].as_str().expect("id");
    let patient = get(&http, format!("{base}/api/v1/patients/{id}"), &token);
    assert_eq!(patient["diagnosis"]["code"], "ORPHA:558");
    let symptoms: Vec<(&str, bool)> = patient["symptoms"]
        .as_array()
        .expect("symptoms")
        .iter()
        .map(|s| {
            (
                s["term"].as_str().expect("term"),
                s["observed"].as_bool().expect("observed"),
            )
        })
        .collect();
    assert_eq!(symptoms, [("HP:0001250", true), ("HP:0001263", false)]);
    let docs = get(
        &http,
        format!("{base}/api/v1/patients/{id}/documents"),
        &token,
    );
    let docs = docs["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), 1);
    let doc = docs[0]["id"].as_str().expect("id");
    assert!(data.join("documents").join(format!("{doc}.age")).is_file());
    let questions = get(
        &http,
        format!("{base}/api/v1/questions/search?q=fever"),
        &token,
    );
    assert!(
        questions.to_string().contains("seizures after a fever"),
        "{questions}"
    );
    // The validator still signs in and sees the queue; the demo patients are matched
    // against.
    let validator = sign_in(
        &http,
        base,
        "validator@example.org",
        "the validator's password",
    );
    get(&http, format!("{base}/api/v1/validation/queue"), &validator);
    let validated = list
        .iter()
        .find(|p| p["validation"]["status"] == "approved")
        .expect("the demo member's validated patient");
    let similar = get(
        &http,
        format!(
            "{base}/api/v1/patients/{}/similar",
            validated["id"].as_str().expect("id")
        ),
        &token,
    );
    let matches = similar["matches"].as_array().expect("matches");
    assert!(
        !matches.is_empty(),
        "the demo patients are matched: {similar}"
    );
    assert!(matches.iter().all(|m| m["score"].as_u64().is_some()));
    // And it keeps working: a change is stored and read back.
    let r = http
        .put(format!("{base}/api/v1/patients/{id}/symptoms"))
        .bearer_auth(&token)
        .json(&json!([{"term": "HP:0001250"}]))
        .send()
        .expect("put");
    assert!(r.status().is_success());
}
