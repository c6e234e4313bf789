//! `raremesh setup` and `raremesh federation add-peer`, run as an admin would (the real
//! binary), and what they write fed to the real programs: `check-config` and `serve`, and
//! two real Synapse homeservers loading the registration files, with which the two nodes
//! federate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use raremesh::federation::status::Status;

use crate::pair::{raremesh_command, test_root, wait_for_or};
use crate::synapse::{Homeserver, free_port, stop_process};

/// Runs the binary with `stdin`; (success, stdout, stderr).
fn run(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = raremesh_command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("raremesh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn setup_asks_what_it_needs_and_writes_a_configuration_serve_accepts() {
    let root = test_root();
    // Interactive, the answers piped in: name, public address (default), where it
    // listens (default), data folder (default), admin, homeserver (none).
    let out = root.path.join("a/raremesh.toml");
    let (ok, stdout, stderr) = run(
        &["setup", "--out", out.to_str().expect("path")],
        "Asociación Ejemplo\n\n\n\nadmin@a.example.org\nnone\n",
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("The organization's name"),
        "asked: {stderr}"
    );
    assert!(stdout.contains("password (shown once"), "{stdout}");
    assert!(!out.with_file_name("raremesh-registration.yaml").exists());
    let text = std::fs::read_to_string(&out).expect("config");
    assert!(text.contains("name = \"Asociación Ejemplo\"") && text.contains("enabled = false"));
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600, "the configuration holds secrets");
    let (ok, stdout, stderr) = run(&["check-config", out.to_str().expect("path")], "");
    assert!(ok, "check-config refuses what setup wrote: {stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    // The data folder is next to the file, absolute, and holds the admin.
    assert!(
        root.path.join("a/data/db").exists(),
        "the admin is in the data folder next to the file"
    );

    // A second run does not overwrite anything.
    let (ok, _, stderr) = run(
        &[
            "setup",
            "--non-interactive",
            "--out",
            out.to_str().expect("path"),
            "--name",
            "Other",
            "--admin-email",
            "x@a.example.org",
        ],
        "",
    );
    assert!(!ok && stderr.contains("exists already"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).expect("config"), text);

    // Non-interactive without the name: refused, naming the flag; nothing written.
    let other = root.path.join("b/raremesh.toml");
    let (ok, _, stderr) = run(
        &[
            "setup",
            "--non-interactive",
            "--out",
            other.to_str().expect("path"),
            "--admin-email",
            "x@b.example.org",
        ],
        "",
    );
    assert!(!ok && stderr.contains("--name"), "{stderr}");
    assert!(!other.exists());

    // Behind a reverse proxy (as in docker/compose.yaml): the proxy's network is trusted.
    let proxied = root.path.join("c/raremesh.toml");
    let (ok, _, stderr) = run(
        &[
            "setup",
            "--non-interactive",
            "--out",
            proxied.to_str().expect("path"),
            "--name",
            "Behind a proxy",
            "--admin-email",
            "x@c.example.org",
            "--trusted-proxy",
            "172.16.0.0/12",
            "--no-federation",
        ],
        "",
    );
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = run(&["check-config", proxied.to_str().expect("path")], "");
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("172.16.0.0/12"),
        "check-config shows the trusted proxy: {stdout}"
    );
    // A partner's block is checked even while federation is off.
    let before = std::fs::read_to_string(&proxied).expect("config");
    let (ok, _, stderr) = add_peer(
        &proxied,
        "-",
        "[[federation.peers]]\nname = \"x\"\nuser_id = \"@raremesh:x.example.org\"\nage_key = \"not a key\"\n",
    );
    assert!(!ok && stderr.contains("age_key"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&proxied).expect("config"), before);

    // In the container image the data folder and the address come from the environment,
    // as for `serve`: setup takes them as its defaults.
    let env_dir = root.path.join("e/elsewhere");
    let in_image = root.path.join("e/raremesh.toml");
    let out = raremesh_command()
        .args([
            "setup",
            "--non-interactive",
            "--out",
            in_image.to_str().expect("path"),
            "--name",
            "In a container",
            "--admin-email",
            "x@e.example.org",
            "--no-federation",
        ])
        .env("RAREMESH_DATA_DIR", &env_dir)
        .env("RAREMESH_SERVER__BIND", "0.0.0.0:8080")
        .output()
        .expect("setup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&in_image).expect("config");
    assert!(
        text.contains(&format!("data_dir = {:?}", env_dir.display().to_string()))
            && text.contains("bind = \"0.0.0.0:8080\""),
        "{text}"
    );
}

/// One organization, set up by the commands: its folder, its port, its printed blocks.
struct Org {
    config: PathBuf,
    port: u16,
    registration: PathBuf,
    whoami: String,
}

fn setup_org(root: &Path, name: &str, server_name: &str, hs_url: &str) -> Org {
    let port = free_port();
    let config = root.join(name).join("raremesh.toml");
    let (ok, stdout, stderr) = run(
        &[
            "setup",
            "--non-interactive",
            "--out",
            config.to_str().expect("path"),
            "--name",
            &format!("Organization {}", name.to_uppercase()),
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &format!("http://127.0.0.1:{port}"),
            "--admin-email",
            &format!("admin@{name}.example.org"),
            "--admin-password-stdin",
            "--homeserver-url",
            hs_url,
            "--server-name",
            server_name,
        ],
        "a long admin password 1\n",
    );
    assert!(ok, "setup {name}: {stderr}");
    let registration = std::fs::canonicalize(config.with_file_name("raremesh-registration.yaml"))
        .expect("registration written");
    assert!(
        stdout.contains("app_service_config_files:")
            && stdout.contains(&format!("{:?}", registration.display().to_string())),
        "setup prints the homeserver's lines with the registration's path: {stdout}"
    );
    #[cfg(unix)]
    assert_eq!(
        mode(&registration),
        0o600,
        "the registration holds both tokens"
    );
    let whoami = stdout[stdout.find("[[federation.peers]]").expect("whoami block")..]
        .lines()
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    Org {
        config,
        port,
        registration,
        whoami,
    }
}

/// `raremesh --config CONFIG federation add-peer BLOCK` (`-`: the block is `stdin`).
fn add_peer(config: &Path, block: &str, stdin: &str) -> (bool, String, String) {
    run(
        &[
            "--config",
            config.to_str().expect("path"),
            "federation",
            "add-peer",
            block,
        ],
        stdin,
    )
}

fn serve(org: &Org, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log");
    raremesh_command()
        .args(["--config", org.config.to_str().expect("path"), "serve"])
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("serve")
}

fn status(org: &Org) -> Option<Status> {
    let out = raremesh_command()
        .args([
            "--config",
            org.config.to_str().expect("path"),
            "federation",
            "status",
            "--json",
        ])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organizations_set_up_by_the_commands_federate_on_real_homeservers() {
    let root = test_root();
    let path = root.path.clone();
    // Each homeserver loads the registration `raremesh setup` wrote for it; the server
    // names have dots only through the port, as on loopback.
    let start = |name: &'static str| {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut org = None;
            let hs = Homeserver::start_with_url(
                &path.join(format!("hs-{name}")),
                None,
                |server, url| {
                    let o = setup_org(&path, name, server, url);
                    let reg = o.registration.clone();
                    org = Some(o);
                    vec![reg]
                },
            );
            (hs, org.expect("set up"))
        })
    };
    let (ta, tb) = (start("a"), start("b"));
    let (hs_a, a) = ta.join().expect("a");
    let (hs_b, b) = tb.join().expect("b");

    // Each admin adds the other's block (from a file, and from standard input).
    let block_b = path.join("b-block.toml");
    std::fs::write(&block_b, &b.whoami).expect("block");
    let (ok, stdout, stderr) = add_peer(&a.config, block_b.to_str().expect("path"), "");
    assert!(ok && stdout.contains("is now a partner"), "{stderr}");
    let (ok, _, stderr) = add_peer(&b.config, "-", &a.whoami);
    assert!(ok, "{stderr}");
    // Twice: refused, the file unchanged.
    let before = std::fs::read_to_string(&a.config).expect("config");
    let (ok, _, stderr) = add_peer(&a.config, block_b.to_str().expect("path"), "");
    assert!(!ok && stderr.contains("already a partner"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&a.config).expect("config"), before);
    // Garbage: refused, the file unchanged.
    let (ok, _, stderr) = add_peer(
        &a.config,
        "-",
        "[[federation.peers]]\nname = \"x\"\nuser_id = \"not a user id\"\nage_key = \"age1nope\"\n",
    );
    assert!(!ok, "a malformed block is refused: {stderr}");
    assert_eq!(std::fs::read_to_string(&a.config).expect("config"), before);

    // Simulated validated patients on each side, then both nodes serve.
    for (org, seed) in [(&a, "1"), (&b, "2")] {
        let (ok, _, stderr) = run(
            &[
                "--config",
                org.config.to_str().expect("path"),
                "admin",
                "demo-data",
                "--patients",
                "12",
                "--seed",
                seed,
            ],
            "",
        );
        assert!(ok, "demo-data: {stderr}");
    }
    let node_a = serve(&a, &path.join("node-a.log"));
    let node_b = serve(&b, &path.join("node-b.log"));
    let explain = || {
        format!(
            "A: {:?}\nB: {:?}\nnode B log tail: {}",
            status(&a).map(|s| s.to_text()),
            status(&b).map(|s| s.to_text()),
            std::fs::read_to_string(path.join("node-b.log"))
                .unwrap_or_default()
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    let holds = |org: &Org| {
        status(org).is_some_and(|s| {
            s.healthy() && s.peers.first().is_some_and(|p| p.joined && p.vectors > 0)
        })
    };
    let took = wait_for_or(
        "both nodes healthy, holding the other's vectors",
        240,
        || tokio::task::block_in_place(|| holds(&a) && holds(&b)),
        explain,
    )
    .await;
    println!(
        "two organizations set up by the commands federate {:.1} s after their nodes started",
        took.as_secs_f64()
    );
    // The operator's own check says so too.
    for org in [&a, &b] {
        let (ok, stdout, _) = run(
            &[
                "--config",
                org.config.to_str().expect("path"),
                "federation",
                "status",
            ],
            "",
        );
        assert!(ok && stdout.contains("federation: healthy"), "{stdout}");
    }
    let _ = (a.port, b.port);
    stop_process(node_a, "-TERM", Duration::from_secs(20));
    stop_process(node_b, "-TERM", Duration::from_secs(20));
    drop((hs_a, hs_b));
}
