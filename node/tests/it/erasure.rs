//! "Delete my account" on the real binary: afterwards nothing of the member can be read
//! anywhere in the data folder, while the node runs and after it stops, and everyone
//! else's data is still there.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::hardening::{BIN, Server};

/// Every file under `dir` in which `needle` occurs (as bytes, or lower-cased).
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let (exact, lower) = (needle.as_bytes(), needle.to_lowercase());
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let holds = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
        if holds(exact) || holds(lower.as_bytes()) {
            found.push(p.display().to_string());
        }
    }
    found
}

fn call(
    http: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let mut r = http.request(method, url).bearer_auth(token);
    if !body.is_null() {
        r = r.json(&body);
    }
    let r = r.send().expect("request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn a_deleted_member_cannot_be_read_anywhere_in_the_data_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let email = "ana.quillfeather@example.org";
    let (name, child, question) = (
        "Anastasia Quillfeather",
        "Zebedee Marchbanks",
        "Does anyone else see frostwhistle rashes after swimming",
    );
    // A node with simulated members, and Ana, whose patient is validated.
    let mut demo = Command::new(BIN)
        .args(["admin", "demo-data", "--patients", "60", "--email", email])
        .arg("--password-stdin")
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("demo-data");
    demo.stdin
        .take()
        .expect("stdin")
        .write_all(b"ana's long password\n")
        .expect("password");
    assert!(demo.wait().expect("wait").success());
    let mut bob = Command::new(BIN)
        .args(["admin", "create-user", "--email", "bob@example.org"])
        .args(["--role", "member", "--password-stdin"])
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("create-user");
    bob.stdin
        .take()
        .expect("stdin")
        .write_all(b"bob's long password\n")
        .expect("password");
    assert!(bob.wait().expect("wait").success());
    let server = Server::start(&data, &[("RAREMESH_LOG__LEVEL", "info")]);
    let http = reqwest::blocking::Client::new();
    let url = |p: &str| format!("{}/api/v1{p}", server.base);
    let sign_in = |email: &str, password: &str| {
        let (s, v) = call(
            &http,
            reqwest::Method::POST,
            url("/session"),
            "",
            json!({"email": email, "password": password}),
        );
        (s, v["token"].as_str().unwrap_or_default().to_owned())
    };
    let (s, token) = sign_in(email, "ana's long password");
    assert_eq!(s, 201);
    // Ana gives her name, a second patient, a question, several times over (each change
    // leaves an old copy in the database's log).
    for round in 0..3 {
        let (s, v) = call(
            &http,
            reqwest::Method::PUT,
            url("/me"),
            &token,
            json!({"name": format!("{name} {round}"), "country": "Portugal",
                   "language": "en", "registrant": "caregiver"}),
        );
        assert_eq!(s, 204, "{v}");
    }
    let (s, v) = call(
        &http,
        reqwest::Method::PUT,
        url("/me"),
        &token,
        json!({"name": name, "country": "Portugal", "language": "en", "registrant": "caregiver"}),
    );
    assert_eq!(s, 204, "{v}");
    let (s, v) = call(
        &http,
        reqwest::Method::POST,
        url("/patients"),
        &token,
        json!({"display_name": child, "birth_year": 2017, "sex": "male",
               "relation": "parent", "diagnosis": "orpha", "disease": "ORPHA:558"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        &http,
        reqwest::Method::POST,
        url("/questions"),
        &token,
        json!({"title": question, "body": format!("{question}, asks {name}.")}),
    );
    assert_eq!(s, 201, "{v}");
    let (_, bob) = sign_in("bob@example.org", "bob's long password");
    let (s, v) = call(
        &http,
        reqwest::Method::POST,
        url("/patients"),
        &bob,
        json!({"display_name": "Bob's daughter", "birth_year": 2015, "sex": "female",
               "relation": "parent", "diagnosis": "none_yet"}),
    );
    assert_eq!(s, 201, "{v}");
    let bobs = |token: &str| {
        let (s, v) = call(
            &http,
            reqwest::Method::GET,
            url("/patients"),
            token,
            Value::Null,
        );
        assert_eq!(s, 200, "{v}");
        v.to_string()
    };
    for needle in [email, name, child, question] {
        assert!(
            !files_holding(&data, needle).is_empty(),
            "{needle} is on disk before the deletion (the search can see it)"
        );
    }
    // Delete my account.
    let (s, v) = call(
        &http,
        reqwest::Method::DELETE,
        url("/me"),
        &token,
        json!({"password": "ana's long password"}),
    );
    assert_eq!(s, 204, "{v}");
    // At once, with the node running: nothing of her anywhere in the folder.
    for needle in [email, name, child, question] {
        let found = files_holding(&data, needle);
        assert!(found.is_empty(), "{needle} still readable in {found:?}");
    }
    // Everyone else's data is intact.
    assert!(bobs(&bob).contains("Bob's daughter"));
    let log = server.output();
    assert!(!log.contains(email), "the address in the log: {log}");
    let (s, _) = sign_in(email, "ana's long password");
    assert_eq!(s, 401);
    drop(server);
    // After a stop (SIGKILL) and a start the database opens, nothing came back.
    let server = Server::start(&data, &[("RAREMESH_LOG__LEVEL", "info")]);
    for needle in [email, name, child, question] {
        let found = files_holding(&data, needle);
        assert!(found.is_empty(), "{needle} came back in {found:?}");
    }
    let http = reqwest::blocking::Client::new();
    let (s, v) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/session", server.base),
        "",
        json!({"email": "bob@example.org", "password": "bob's long password"}),
    );
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().expect("token");
    let (s, v) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/api/v1/patients", server.base),
        token,
        Value::Null,
    );
    assert_eq!(s, 200);
    assert!(v.to_string().contains("Bob's daughter"), "{v}");
}
