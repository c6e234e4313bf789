//! `raremesh admin backup` while the real node serves and takes writes, `admin restore`
//! into another data folder, and a node started on the restored folder: every record and
//! document acknowledged before the backup began is there and readable.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::hardening::{BIN, Server};

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

/// `raremesh admin <args>` on `data`, with `stdin`; success, stdout, stderr.
pub(crate) fn admin(data: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .arg("admin")
        .args(args)
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn api(
    http: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Vec<u8>>,
    json_body: Value,
) -> (u16, Value) {
    let mut r = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.body(b);
    } else if !json_body.is_null() {
        r = r.json(&json_body);
    }
    let r = r.send().expect("request");
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

fn token(http: &reqwest::blocking::Client, base: &str, email: &str, password: &str) -> String {
    let (s, v) = api(
        http,
        reqwest::Method::POST,
        &format!("{base}/api/v1/session"),
        "",
        None,
        json!({"email": email, "password": password}),
    );
    assert_eq!(s, 201, "{email}: {v}");
    v["token"].as_str().expect("token").to_owned()
}

/// A signed-in page session (the validator's pages take the cookie).
fn page_cookie(base: &str, email: &str, password: &str) -> String {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .post(format!("{base}/signin"))
        .header("cookie", format!("raremesh_csrf={CSRF}"))
        .form(&[("csrf", CSRF), ("email", email), ("password", password)])
        .send()
        .expect("sign in");
    assert_eq!(r.status().as_u16(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("raremesh_session="))
        .expect("session cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    format!("{session}; raremesh_csrf={CSRF}")
}

#[derive(Default)]
struct Acknowledged {
    patients: Vec<(String, String)>,
    documents: Vec<(String, String, Vec<u8>)>,
}

#[test]
fn a_backup_of_a_node_under_writes_restores_every_acknowledged_record_and_document() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let (ok, _, err) = admin(&data, &["demo-data", "--patients", "300"], "");
    assert!(ok, "{err}");
    for (email, role) in [
        ("writer@example.org", "member"),
        ("check@example.org", "validator"),
    ] {
        let (ok, _, err) = admin(
            &data,
            &[
                "create-user",
                "--email",
                email,
                "--role",
                role,
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(ok, "{err}");
    }
    let server = Server::start(
        &data,
        &[
            ("RAREMESH_LOG__LEVEL", "info"),
            ("RAREMESH_DOCUMENTS__MAX_PER_PATIENT", "100"),
        ],
    );
    let base = server.base.clone();
    let http = reqwest::blocking::Client::new();
    let writer = token(&http, &base, "writer@example.org", "a long enough password");
    // A writer adds patients and documents without pause; each is noted once answered.
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop, base, writer) =
            (acked.clone(), stop.clone(), base.clone(), writer.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                // Up to the 20 patients a member may have, then documents for them.
                let known = acked.lock().expect("lock").patients.clone();
                let id = if known.len() < 20 {
                    let name = format!("Load patient {n}");
                    let (s, v) = api(
                        &http,
                        reqwest::Method::POST,
                        &format!("{base}/api/v1/patients"),
                        &writer,
                        None,
                        json!({"display_name": name, "birth_year": 2012, "sex": "female",
                               "relation": "parent", "diagnosis": "none_yet"}),
                    );
                    assert_eq!(s, 201, "{v}");
                    let id = v["id"].as_str().expect("id").to_owned();
                    acked
                        .lock()
                        .expect("lock")
                        .patients
                        .push((id.clone(), name));
                    id
                } else {
                    known[n % known.len()].0.clone()
                };
                let mut pdf = format!("%PDF-1.4\n% document {n}\n").into_bytes();
                pdf.extend(std::iter::repeat_n(b'x', 20_000 + n * 7));
                pdf.extend_from_slice(b"\n%%EOF\n");
                let (s, v) = api(
                    &http,
                    reqwest::Method::POST,
                    &format!("{base}/api/v1/patients/{id}/documents?kind=medical&name=d{n}.pdf"),
                    &writer,
                    Some(pdf.clone()),
                    Value::Null,
                );
                assert_eq!(s, 201, "{v}");
                let doc = v["id"].as_str().expect("id").to_owned();
                acked.lock().expect("lock").documents.push((id, doc, pdf));
            }
        })
    };
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while acked.lock().expect("lock").documents.len() < n {
            assert!(std::time::Instant::now() < deadline, "the writer is stuck");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(10);
    // Backups while writes go on: a plain one and one encrypted to an age recipient.
    let before = {
        let a = acked.lock().expect("lock");
        (a.patients.clone(), a.documents.clone())
    };
    let archive = dir.path().join("node.tar.gz");
    let (ok, out, err) = admin(
        &data,
        &["backup", "--out", archive.to_str().expect("path")],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("made by the running node"), "{out}");
    let records = |out: &str| {
        let at = out.find(" records").expect("records");
        out[..at]
            .rsplit(' ')
            .next()
            .expect("n")
            .parse::<u64>()
            .expect("number")
    };
    let backed_up = records(&out);
    let key = age::x25519::Identity::generate();
    let identity = dir.path().join("backup-key.txt");
    std::fs::write(
        &identity,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&key.to_string())
        ),
    )
    .expect("key");
    let sealed = dir.path().join("node.tar.gz.age");
    let (ok, out, err) = admin(
        &data,
        &[
            "backup",
            "--out",
            sealed.to_str().expect("path"),
            "--encrypt-to",
            &key.to_public().to_string(),
        ],
        "",
    );
    assert!(ok && out.contains("encrypted"), "{out}{err}");
    let n = acked.lock().expect("lock").documents.len();
    wait_for(n + 5);
    stop.store(true, Ordering::SeqCst);
    load.join().expect("writer");
    let staged: Vec<_> = std::fs::read_dir(&data)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("backup-"))
        .collect();
    assert!(staged.is_empty(), "the node left its staging folder");
    drop(server);
    // Restores: into a folder with something in it, refused; encrypted without the key,
    // refused; a damaged archive, refused and nothing left behind.
    let (ok, _, err) = admin(&data, &["restore", archive.to_str().expect("path")], "");
    assert!(!ok && err.contains("not empty"), "{err}");
    let elsewhere = dir.path().join("other");
    let (ok, _, err) = admin(&elsewhere, &["restore", sealed.to_str().expect("path")], "");
    assert!(!ok && err.contains("--identity"), "{err}");
    let bytes = std::fs::read(&archive).expect("archive");
    let damaged = dir.path().join("damaged.tar.gz");
    std::fs::write(&damaged, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let (ok, _, err) = admin(
        &elsewhere,
        &["restore", damaged.to_str().expect("path")],
        "",
    );
    assert!(!ok, "{err}");
    assert!(
        std::fs::read_dir(&elsewhere).map_or(0, Iterator::count) == 0,
        "a failed restore leaves nothing"
    );
    // Both archives restore, and a node on each has everything acknowledged before.
    let plain = dir.path().join("restored");
    let (ok, out, err) = admin(&plain, &["restore", archive.to_str().expect("path")], "");
    assert!(ok, "{err}");
    assert!(out.contains("restored into"), "{out}");
    assert_eq!(
        records(&out),
        backed_up,
        "every record of the archive: {out}"
    );
    let (ok, _, err) = admin(
        &elsewhere,
        &[
            "restore",
            sealed.to_str().expect("path"),
            "--identity",
            identity.to_str().expect("path"),
        ],
        "",
    );
    assert!(ok, "{err}");
    for restored in [&plain, &elsewhere] {
        let server = Server::start(restored, &[("RAREMESH_LOG__LEVEL", "info")]);
        let base = server.base.clone();
        let writer = token(&http, &base, "writer@example.org", "a long enough password");
        let (s, v) = api(
            &http,
            reqwest::Method::GET,
            &format!("{base}/api/v1/patients"),
            &writer,
            None,
            Value::Null,
        );
        assert_eq!(s, 200);
        let listed = v.to_string();
        for (id, name) in &before.0 {
            assert!(
                listed.contains(id) && listed.contains(name),
                "{name} is missing"
            );
        }
        let (_, me) = api(
            &http,
            reqwest::Method::GET,
            &format!("{base}/api/v1/me"),
            &writer,
            None,
            Value::Null,
        );
        let account = me["id"].as_str().expect("account id").to_owned();
        let cookie = page_cookie(&base, "check@example.org", "a long enough password");
        for (patient, doc, pdf) in &before.1 {
            let r = http
                .get(format!(
                    "{base}/validation/{account}/{patient}/documents/{doc}"
                ))
                .header("cookie", &cookie)
                .send()
                .expect("open document");
            assert_eq!(r.status().as_u16(), 200, "document {doc}");
            assert_eq!(&r.bytes().expect("bytes")[..], &pdf[..], "document {doc}");
        }
        drop(server);
    }
}
