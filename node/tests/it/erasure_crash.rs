//! Erasures the node is killed in the middle of: nothing is ever half-deleted. A stop
//! between the two steps (records gone, files not yet) is finished at the next start;
//! SIGKILL at any moment of a `DELETE` leaves the patient whole or gone.

use std::path::Path;
use std::time::{Duration, Instant};

use raremesh::store::{KvStore, SledStore, Tree};
use serde_json::{Value, json};

use crate::hardening::{Server, create_member};
use crate::validation::PDF;

const PASSWORD: &str = "the member's long password";

/// A member signed in to a running node, speaking its JSON API.
struct Api<'a> {
    server: &'a Server,
    http: reqwest::blocking::Client,
    token: String,
}

impl<'a> Api<'a> {
    fn sign_in(server: &'a Server, email: &str) -> Self {
        let http = reqwest::blocking::Client::new();
        let r = http
            .post(format!("{}/api/v1/session", server.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .expect("sign in");
        assert_eq!(r.status().as_u16(), 201);
        let token = r.json::<Value>().expect("json")["token"]
            .as_str()
            .expect("token")
            .to_owned();
        Self {
            server,
            http,
            token,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server.base)
    }

    /// A new patient with `documents` uploaded; its id and its documents' ids.
    fn patient_with_documents(&self, name: &str, documents: usize) -> (String, Vec<String>) {
        let r = self
            .http
            .post(self.url("/patients"))
            .bearer_auth(&self.token)
            .json(
                &json!({"display_name": name, "birth_year": 2016, "sex": "female",
                          "relation": "parent", "diagnosis": "none_yet"}),
            )
            .send()
            .expect("patient");
        assert_eq!(r.status().as_u16(), 201);
        let id = r.json::<Value>().expect("json")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let docs = (0..documents)
            .map(|_| {
                let r = self
                    .http
                    .post(self.url(&format!("/patients/{id}/documents?kind=medical&name=x.pdf")))
                    .bearer_auth(&self.token)
                    .body(PDF)
                    .send()
                    .expect("upload");
                assert_eq!(r.status().as_u16(), 201);
                r.json::<Value>().expect("json")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();
        (id, docs)
    }

    /// The member's patients, each with the ids of its documents.
    fn patients(&self) -> Vec<(String, Vec<String>)> {
        let r = self
            .http
            .get(self.url("/patients"))
            .bearer_auth(&self.token)
            .send()
            .expect("patients");
        assert_eq!(r.status().as_u16(), 200);
        let list = r.json::<Value>().expect("json");
        let list = list
            .get("patients")
            .and_then(Value::as_array)
            .cloned()
            .or_else(|| list.as_array().cloned())
            .expect("a list of patients");
        list.iter()
            .map(|p| {
                let id = p["id"].as_str().expect("id").to_owned();
                let r = self
                    .http
                    .get(self.url(&format!("/patients/{id}/documents")))
                    .bearer_auth(&self.token)
                    .send()
                    .expect("documents");
                assert_eq!(r.status().as_u16(), 200);
                let docs = r.json::<Value>().expect("json")["documents"]
                    .as_array()
                    .expect("documents")
                    .iter()
                    .map(|d| d["id"].as_str().expect("id").to_owned())
                    .collect();
                (id, docs)
            })
            .collect()
    }
}

/// Whether the encrypted file of document `id` is in the data folder.
fn file_of(data: &Path, id: &str) -> bool {
    data.join("documents").join(format!("{id}.age")).is_file()
}

/// How many erasures the database holds unfinished (the node stopped).
fn unfinished(data: &Path) -> usize {
    let store = SledStore::open(&data.join("db")).expect("open the database");
    store.scan_prefix(Tree::Erasures, b"").expect("scan").len()
}

/// Child half of the first test: the first step of an erasure, then abort (no second
/// step, no destructors).
#[test]
fn erasure_begin_then_abort() {
    let (Ok(data), Ok(what)) = (
        std::env::var("RAREMESH_TEST_ERASE_DATA"),
        std::env::var("RAREMESH_TEST_ERASE_WHAT"),
    ) else {
        return; // only does something when the crash test runs it
    };
    let config =
        raremesh::config::load(None, [("RAREMESH_DATA_DIR".to_owned(), data)]).expect("config");
    let (state, _) = raremesh::boot::boot(config).expect("boot");
    let account = state
        .accounts
        .by_email("dora@example.org")
        .expect("lookup")
        .expect("the member");
    match what.strip_prefix("patient:") {
        Some(id) => {
            let p = state
                .patients
                .of(&account.id)
                .expect("patients")
                .into_iter()
                .find(|p| p.id == id)
                .expect("the patient");
            raremesh::erasure::begin_patient(&state, &account.id, &p).expect("begin");
        }
        None => {
            raremesh::erasure::begin_account(&state, &account).expect("begin");
        }
    }
    println!("BEGUN");
    std::process::abort();
}

fn begin_then_abort(data: &Path, what: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "erasure_crash::erasure_begin_then_abort",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RAREMESH_TEST_ERASE_DATA", data)
        .env("RAREMESH_TEST_ERASE_WHAT", what)
        .output()
        .expect("run the child");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("BEGUN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the child must die by abort");
}

#[test]
fn an_erasure_cut_short_between_its_steps_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    create_member(&data, "dora@example.org");
    let server = Server::start(&data, &[]);
    let api = Api::sign_in(&server, "dora@example.org");
    let (first, first_docs) = api.patient_with_documents("Fen", 2);
    let (second, second_docs) = api.patient_with_documents("Ash", 1);
    drop(server);
    // A mail to her is still in the outbox (as the file outbox keeps it).
    let outbox = data.join("outbox");
    std::fs::create_dir_all(&outbox).expect("outbox");
    std::fs::write(
        outbox.join("0001-waiting.eml"),
        "From: node@example.org\r\nTo: dora@example.org\r\nSubject: hello\r\n\r\nbody\r\n",
    )
    .expect("mail");

    // Killed right after the first step of erasing the first patient: its records are
    // gone, its files are not, and the database says what is left.
    begin_then_abort(&data, &format!("patient:{first}"));
    assert!(first_docs.iter().all(|d| file_of(&data, d)));
    assert_eq!(unfinished(&data), 1);
    // The next start finishes it before serving.
    let server = Server::start(&data, &[("RAREMESH_LOG__LEVEL", "info")]);
    assert!(
        server
            .output()
            .contains("finishing an erasure a stop interrupted"),
        "{}",
        server.output()
    );
    assert!(first_docs.iter().all(|d| !file_of(&data, d)));
    assert!(second_docs.iter().all(|d| file_of(&data, d)));
    let api = Api::sign_in(&server, "dora@example.org");
    assert_eq!(api.patients(), vec![(second.clone(), second_docs.clone())]);
    drop(server);
    assert_eq!(unfinished(&data), 0);

    // The same for the whole account: after the start nothing of it is left, the mail
    // to her included.
    begin_then_abort(&data, "account");
    assert!(second_docs.iter().all(|d| file_of(&data, d)));
    assert!(outbox.join("0001-waiting.eml").exists());
    let server = Server::start(&data, &[]);
    assert!(second_docs.iter().all(|d| !file_of(&data, d)));
    assert!(!outbox.join("0001-waiting.eml").exists());
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"email": "dora@example.org", "password": PASSWORD}))
        .send()
        .expect("sign in");
    assert_eq!(r.status().as_u16(), 401);
    drop(server);
    assert_eq!(unfinished(&data), 0);
}

#[test]
fn a_delete_killed_at_any_moment_leaves_the_patient_whole_or_gone() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    create_member(&data, "dora@example.org");
    let (mut whole, mut gone) = (0, 0);
    for round in 0..8u64 {
        let server = Server::start(&data, &[]);
        let api = Api::sign_in(&server, "dora@example.org");
        let (id, docs) = api.patient_with_documents(&format!("Patient {round}"), 2);
        // DELETE, and SIGKILL the node at one of three moments, in turn: at once (the
        // request may not have arrived), when the first document file is gone (the
        // records are erased, the files not all), or once the node answered.
        let url = api.url(&format!("/patients/{id}"));
        let (http, token) = (api.http.clone(), api.token.clone());
        let delete = std::thread::spawn(move || {
            http.delete(url)
                .bearer_auth(token)
                .send()
                .ok()
                .map(|r| r.status().as_u16())
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let moment = |done: &dyn Fn() -> bool| {
            while !done() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        match round % 3 {
            0 => {}
            1 => moment(&|| delete.is_finished() || docs.iter().any(|d| !file_of(&data, d))),
            _ => moment(&|| delete.is_finished()),
        }
        drop(server);
        let answered = delete.join().expect("thread");
        // Whatever the moment, the next start serves a consistent node.
        let server = Server::start(&data, &[]);
        let api = Api::sign_in(&server, "dora@example.org");
        let patients = api.patients();
        for (patient, documents) in &patients {
            for d in documents {
                assert!(
                    file_of(&data, d),
                    "patient {patient}: document {d} has no file"
                );
            }
        }
        match patients.iter().find(|(p, _)| *p == id) {
            Some((_, documents)) => {
                let (mut listed, mut sent) = (documents.clone(), docs.clone());
                listed.sort();
                sent.sort();
                assert_eq!(listed, sent, "round {round}: half of its documents");
                assert_ne!(answered, Some(204), "round {round}: answered, not done");
                whole += 1;
            }
            None => {
                assert!(
                    docs.iter().all(|d| !file_of(&data, d)),
                    "round {round}: erased, its files not"
                );
                gone += 1;
            }
        }
        drop(server);
        assert_eq!(unfinished(&data), 0, "round {round}");
    }
    println!("whole {whole}, gone {gone}");
    assert_eq!(whole + gone, 8);
}
