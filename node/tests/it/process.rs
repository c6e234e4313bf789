//! The real `raremesh` binary: check-config, serve, SIGTERM, and a broken ontology folder.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raremesh");

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RAREMESH_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("run raremesh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_example_and_names_bad_keys() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.example.toml");
    let (ok, out, err) = run(&["check-config", example], &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("configuration is valid") && out.contains("server.bind = 127.0.0.1:8080"),
        "{out}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nbind = \"127.0.0.1:8080\"\ntimeout = 5\n").expect("write");
    let (ok, _, err) = run(&["check-config", bad.to_str().expect("utf8")], &[]);
    assert!(!ok);
    assert!(err.contains("line 3") && err.contains("timeout"), "{err}");
    let (ok, _, err) = run(&["check-config"], &[("RAREMESH_SEARCH__MAX_LIMIT", "1000")]);
    assert!(!ok && err.contains("RAREMESH_SEARCH__MAX_LIMIT"), "{err}");
}

#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", &data)
        .env("RAREMESH_SERVER__BIND", "127.0.0.1:0")
        .env("RAREMESH_LOG__LEVEL", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let base = loop {
        let line = lines.next().expect("server printed a line").expect("utf8");
        if let Some(at) = line.find("listening on http://") {
            let url = line[at + "listening on ".len()..]
                .trim()
                .trim_end_matches("\u{1b}[0m")
                .to_owned();
            break url;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
    };
    let body = reqwest::blocking::get(format!("{base}/api/v1/version"))
        .expect("get")
        .text()
        .expect("text");
    assert!(body.contains("2025-01-16"), "{body}");
    // The data folder holds the caches after the first start.
    assert!(data.join("cache").read_dir().expect("cache dir").count() >= 1);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
}

#[test]
fn a_broken_ontology_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let onto = dir.path().join("hpo");
    std::fs::create_dir(&onto).expect("mkdir");
    std::fs::write(onto.join("hp.obo"), "format-version: 1.2\ndata-version: hp/releases/x\n\n[Term]\nid: HP:0000001\nname: All\n\n[Term]\nid: HP:0000002\nname: Cut\nis_a: HP:00000").expect("write");
    std::fs::write(onto.join("phenotype.hpoa"), "#version: x\n").expect("write");
    let (ok, _, err) = run(
        &["serve"],
        &[
            (
                "RAREMESH_DATA_DIR",
                dir.path().join("data").to_str().expect("utf8"),
            ),
            ("RAREMESH_ONTOLOGY__DIR", onto.to_str().expect("utf8")),
            ("RAREMESH_SERVER__BIND", "127.0.0.1:0"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("ontology.dir") && err.contains("hp.obo, line 11"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn demo_data_fills_an_empty_node_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8");
    let env = [("RAREMESH_DATA_DIR", data)];
    let (ok, out, err) = run(&["admin", "demo-data", "--patients", "40"], &env);
    assert!(ok, "{err}");
    assert!(
        out.contains("added 40 simulated validated patients"),
        "{out}"
    );
    assert!(out.contains("password (shown once): "), "{out}");
    let (ok, _, err) = run(&["admin", "demo-data", "--patients", "40"], &env);
    assert!(!ok);
    assert!(err.contains("already has members"), "{err}");
}

#[test]
fn demo_nodes_share_by_default_and_differ_by_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fill = |name: &str, extra: &[&str]| {
        let data = dir.path().join(name);
        let data_s = data.to_str().expect("utf-8").to_owned();
        let mut args = vec!["admin", "demo-data", "--patients", "30"];
        args.extend_from_slice(extra);
        let (ok, _, err) = run(&args, &[("RAREMESH_DATA_DIR", data_s.as_str())]);
        assert!(ok, "{err}");
        let config = raremesh::config::Config {
            data_dir: data,
            ..Default::default()
        };
        let (state, _) = raremesh::boot::boot(config).expect("boot");
        let members = state.registrations.members().expect("members");
        let mut terms: Vec<String> = state
            .patients
            .all()
            .expect("patients")
            .iter()
            .flat_map(|p| p.symptoms.iter().map(|s| s.term.to_string()))
            .collect();
        terms.sort();
        (members, terms)
    };
    let (a, terms_a) = fill("a", &["--seed", "1"]);
    assert!(
        a.iter()
            .all(|m| m.consents.federated_matching && m.consents.research),
        "demo members consent to matching across organizations and to research"
    );
    let (_, terms_b) = fill("b", &["--seed", "2"]);
    assert_ne!(terms_a, terms_b, "another seed, another population");
    let (c, terms_c) = fill("c", &["--seed", "1", "--no-sharing"]);
    assert_eq!(terms_a, terms_c, "the same seed, the same population");
    assert!(
        c.iter()
            .all(|m| !m.consents.federated_matching && !m.consents.research)
    );
}

#[test]
fn a_reader_that_went_away_is_no_panic_and_check_config_refuses_what_serve_would() {
    // `raremesh check-config | head -1` where head is already gone: standard output is a
    // pipe nobody reads.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(BIN)
        .args(["check-config"])
        .env_remove("RAREMESH_CONFIG")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
    // A data folder no system can create is refused by check-config as by serve, by name.
    let (ok, _, err) = run(&["check-config"], &[("RAREMESH_DATA_DIR", "data\u{1}x")]);
    assert!(ok, "a control character is a valid file name: {err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("nul.toml");
    std::fs::write(&bad, "data_dir = \"data\\u0000x\"\n").expect("write");
    let (ok, _, err) = run(&["check-config", bad.to_str().expect("utf8")], &[]);
    assert!(
        !ok && err.contains("data_dir") && err.contains("NUL"),
        "{err}"
    );
}

#[test]
fn an_admin_made_member_can_add_patients_at_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args([
            "admin",
            "create-user",
            "--email",
            "made.by.admin@example.org",
            "--role",
            "member",
            "--password-stdin",
        ])
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = raremesh::config::Config {
        data_dir: data,
        ..Default::default()
    };
    let (state, _) = raremesh::boot::boot(config).expect("boot");
    let account = state
        .accounts
        .by_email("made.by.admin@example.org")
        .expect("read")
        .expect("account");
    let member = state
        .registrations
        .member(&account.id)
        .expect("read")
        .expect("a member record, so that patients can be added");
    assert_eq!(member.step, 2);
}
