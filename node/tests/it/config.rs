//! Configuration: the example file, defaults, environment overrides, and clear errors.

use std::collections::BTreeSet;
use std::path::Path;

use raremesh::config::{Config, load, load_str};

fn example_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.example.toml"))
        .expect("example")
}

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Dotted keys of a TOML table.
fn keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => keys(t, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn the_example_lists_every_key_with_its_default_and_a_comment() {
    let text = example_text();
    // As shipped, the example is the defaults.
    let parsed = load_str(&text, "config.example.toml", no_env()).expect("example parses");
    assert_eq!(parsed, Config::default());
    // With the optional keys uncommented, it still parses and names every key of the struct.
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }) =>
            {
                rest.to_owned()
            }
            Some(rest) if rest.starts_with('[') && rest.ends_with(']') => rest.to_owned(),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let terms = dir.path().join("terms.txt");
    std::fs::write(&terms, "Our terms.").expect("write");
    let consent = dir.path().join("consent.pdf");
    std::fs::write(&consent, "%PDF-1.4\n%%EOF\n").expect("write");
    let identity = dir.path().join("identity.txt");
    std::fs::write(
        &identity,
        format!(
            "# a test key\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(
                &age::x25519::Identity::generate().to_string()
            )
        ),
    )
    .expect("write");
    let with_dir = uncommented
        .replace(
            "/etc/raremesh/questionnaires",
            &dir.path().display().to_string(),
        )
        .replace(
            "/etc/raremesh/documents-identity.txt",
            &identity.display().to_string(),
        )
        .replace("/srv/hpo/2026-02-16", &dir.path().display().to_string())
        .replace("/etc/raremesh/terms.txt", &terms.display().to_string())
        .replace("/etc/raremesh/consent.pdf", &consent.display().to_string());
    let full: Config = toml::from_str(&with_dir).expect("uncommented example parses");
    assert!(full.ontology.dir.is_some() && full.mail.smtp.is_some() && full.terms.file.is_some());
    full.validate().expect("the uncommented example is valid");
    let mut in_example = BTreeSet::new();
    keys(
        &toml::from_str(&with_dir).expect("table"),
        "",
        &mut in_example,
    );
    let mut in_struct = BTreeSet::new();
    keys(
        &toml::Table::try_from(&full).expect("serialize"),
        "",
        &mut in_struct,
    );
    assert_eq!(
        in_example, in_struct,
        "config.example.toml and the Config struct disagree"
    );
    // Every key line is documented by the comment line above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let is_key = l.split_once(" = ").is_some() && !l.starts_with('#');
        if is_key {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "line {} has no comment: {l}",
                i + 1
            );
        }
    }
}

#[test]
fn no_file_means_defaults() {
    let c = load(None, no_env()).expect("defaults");
    assert_eq!(c, Config::default());
    assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
}

#[test]
fn environment_overrides_the_file() {
    let c = load_str(
        "[server]\nbind = \"127.0.0.1:9000\"\n",
        "test.toml",
        env(&[
            ("RAREMESH_SERVER__BIND", "0.0.0.0:7000"),
            ("RAREMESH_SEARCH__DEFAULT_LIMIT", "5"),
            ("RAREMESH_NODE__NAME", "Rare Org"),
            ("RAREMESH_CONFIG", "ignored.toml"),
            ("OTHER_VAR", "x"),
        ]),
    )
    .expect("loads");
    assert_eq!(c.server.bind.to_string(), "0.0.0.0:7000");
    assert_eq!(c.search.default_limit, 5);
    assert_eq!(c.node.name, "Rare Org");
}

fn err(text: &str, env_pairs: &[(&str, &str)]) -> String {
    load_str(text, "test.toml", env(env_pairs))
        .expect_err("must fail")
        .to_string()
}

#[test]
fn errors_name_the_key_and_the_line() {
    let e = err("[server]\nbnid = \"x\"\n", &[]);
    assert!(e.contains("test.toml, line 2") && e.contains("bnid"), "{e}");
    let e = err("[server]\nrequest_timeout_secs = \"soon\"\n", &[]);
    assert!(
        e.contains("line 2") && e.contains("server.request_timeout_secs"),
        "{e}"
    );
    let e = err("[server]\nbind = \"not an address\"\n", &[]);
    assert!(e.contains("line 2") && e.contains("server.bind"), "{e}");
    let e = err("data_dir = \n", &[]);
    assert!(e.contains("line 1"), "{e}");
    let e = err("[nodes]\nname = \"x\"\n", &[]);
    assert!(e.contains("nodes"), "{e}");
}

#[test]
fn impossible_values_name_the_key() {
    for (text, key) in [
        (
            "[server]\nrequest_timeout_secs = 0\n",
            "server.request_timeout_secs",
        ),
        ("[search]\ndefault_limit = 60\n", "search.default_limit"),
        ("[search]\nmax_limit = 500\n", "search.max_limit"),
        ("[search]\nmax_query_chars = 3\n", "search.max_query_chars"),
        ("[node]\nname = \"  \"\n", "node.name"),
        ("data_dir = \"\"\n", "data_dir"),
        ("[ontology]\ndir = \"/no/such/folder\"\n", "ontology.dir"),
        ("[log]\nlevel = \"loud=[\"\n", "log.level"),
    ] {
        let e = err(text, &[]);
        assert!(e.contains(key), "{text:?} -> {e}");
    }
}

#[test]
fn environment_errors_name_the_variable() {
    let e = err("", &[("RAREMESH_SERVER__BIND", "nowhere")]);
    assert!(
        e.contains("RAREMESH_SERVER__BIND") && e.contains("server.bind"),
        "{e}"
    );
    let e = err("", &[("RAREMESH_SERVER__NOPE", "1")]);
    assert!(e.contains("RAREMESH_SERVER__NOPE"), "{e}");
    let e = err("", &[("RAREMESH_SEARCH__MAX_LIMIT", "0")]);
    assert!(e.contains("search.max_limit"), "{e}");
    let e = err("", &[("RAREMESH___", "1")]);
    assert!(e.contains("RAREMESH___"), "{e}");
}

#[test]
fn a_missing_file_is_named() {
    let e = load(Some(Path::new("/no/such/raremesh.toml")), no_env())
        .expect_err("fails")
        .to_string();
    assert!(e.contains("/no/such/raremesh.toml"), "{e}");
}

#[test]
fn secrets_are_never_printed() {
    let c = load_str(
        "[mail.smtp]\nhost = \"smtp.example.org\"\nusername = \"node\"\npassword = \"hunter2-very-secret\"\n",
        "test.toml",
        env(&[]),
    )
    .expect("loads");
    assert_eq!(
        c.mail.smtp.as_ref().map(|s| s.password.expose()),
        Some("hunter2-very-secret")
    );
    for shown in [
        c.summary(),
        format!("{c:?}"),
        toml::to_string(&c).expect("toml"),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    assert!(c.summary().contains("password set"), "{}", c.summary());
    let e = err(
        "[mail.smtp]\nhost = \"smtp.example.org\"\nusername = \"node\"\n",
        &[],
    );
    assert!(e.contains("mail.smtp.password"), "{e}");
    let e = err("[mail]\nfrom = \"not an address\"\n", &[]);
    assert!(e.contains("mail.from"), "{e}");
    let e = err("[mail.smtp]\nhost = \"h\"\nsecurity = \"ssl\"\n", &[]);
    assert!(
        e.contains("line 3") && e.contains("mail.smtp.security"),
        "{e}"
    );
}

#[test]
fn cookies_are_secure_behind_https() {
    let https = load_str(
        "[server]\npublic_url = \"https://rare.example.org\"\n",
        "t.toml",
        env(&[]),
    )
    .expect("loads");
    assert!(https.secure_cookies());
    assert!(!Config::default().secure_cookies());
    let e = err("[server]\npublic_url = \"rare.example.org\"\n", &[]);
    assert!(e.contains("server.public_url"), "{e}");
}

#[test]
fn document_settings_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_key = dir.path().join("bad.txt");
    std::fs::write(&bad_key, "AGE-SECRET-KEY-1NOTAKEY\n").expect("write");
    let cases = [
        (
            format!(
                "[documents]\nidentity_file = {:?}",
                bad_key.display().to_string()
            ),
            "documents.identity_file",
        ),
        (
            "[documents]\nidentity_file = \"/nonexistent/id.txt\"".to_owned(),
            "documents.identity_file",
        ),
        (
            "[documents]\nrecipients = [\"age1notakey\"]".to_owned(),
            "documents.recipients[0]",
        ),
        (
            "[documents]\ntypes = [\"application/pdf\", \"text/html\"]".to_owned(),
            "documents.types[1]",
        ),
        ("[documents]\ntypes = []".to_owned(), "documents.types"),
        (
            "[documents]\nmax_bytes = 10".to_owned(),
            "documents.max_bytes",
        ),
        (
            "[documents]\nmax_per_patient = 0".to_owned(),
            "documents.max_per_patient",
        ),
    ];
    for (toml, key) in cases {
        let err = raremesh::config::load_str(&toml, "test.toml", Vec::new()).expect_err(&toml);
        assert_eq!(err.key, key, "{toml}: {err}");
    }
}

#[test]
fn federation_settings_are_checked() {
    let on = "[federation]\nenabled = true\nhomeserver_url = \"http://127.0.0.1:8008\"\nserver_name = \"rare.example.org\"\nas_token = \"0123456789abcdef-as\"\nhs_token = \"0123456789abcdef-hs\"\n";
    let peer = "[[federation.peers]]\nname = \"Org B\"\nuser_id = \"@raremesh:b.example.org\"\nage_key = \"age1notakey\"\n";
    let cases = [
        (
            on.replace("http://127.0.0.1:8008", "matrix.example.org"),
            "federation.homeserver_url",
        ),
        (
            on.replace("rare.example.org", "bad name"),
            "federation.server_name",
        ),
        (
            on.replace("0123456789abcdef-as", "short"),
            "federation.as_token",
        ),
        (
            on.replace("0123456789abcdef-hs", "0123456789abcdef-as"),
            "federation.hs_token",
        ),
        (
            format!("{on}resync_interval_secs = 1\n"),
            "federation.resync_interval_secs",
        ),
        (format!("{on}{peer}"), "federation.peers[0].age_key"),
        (
            format!(
                "{on}{}",
                peer.replace("@raremesh:b.example.org", "raremesh")
            ),
            "federation.peers[0].user_id",
        ),
    ];
    for (toml, key) in cases {
        let config =
            raremesh::config::load_str(&toml, "test.toml", Vec::new()).expect("the rest loads");
        let err = config.federation.check().expect_err(&toml);
        assert_eq!(err.key, key, "{toml}: {err}");
    }
    let config = raremesh::config::load_str(on, "test.toml", Vec::new()).expect("loads");
    config.federation.check().expect("valid");
}
