//! The real binary against what a careless machine or a hostile client does: files other
//! users could read, pages a browser would keep, a token in a log, one client opening
//! hundreds of half-sent requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_raremesh");
const CSRF: &str = "abababababababababababababababababababababababababababababababab";

/// `raremesh serve` with `env`; its address, and everything it prints.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    output: Arc<Mutex<String>>,
}

impl Server {
    pub(crate) fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .env_remove("RAREMESH_CONFIG")
            .env_remove("RUST_LOG")
            .env("RAREMESH_DATA_DIR", data)
            .env("RAREMESH_SERVER__BIND", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let _ = tx.send(line[at + "listening on ".len()..].trim().to_owned());
                }
                if let Ok(mut o) = sink.lock() {
                    o.push_str(&line);
                    o.push('\n');
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(180))
            .expect("the server started");
        Self {
            child,
            base,
            output,
        }
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn open_to_others(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("meta");
        if meta.permissions().mode() & 0o077 != 0 {
            out.push(format!(
                "{} {:o}",
                p.display(),
                meta.permissions().mode() & 0o777
            ));
        }
        if meta.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
    out
}

#[test]
fn the_data_folder_is_private_pages_are_not_kept_and_tokens_stay_out_of_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    // A data folder left readable by everyone (an older version, a copy, a careless umask).
    std::fs::create_dir_all(data.join("outbox")).expect("dir");
    std::fs::write(data.join("outbox/old.eml"), "an old mail").expect("write");
    for p in [&data, &data.join("outbox")] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::set_permissions(
        data.join("outbox/old.eml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let server = Server::start(
        &data,
        &[(
            "RAREMESH_LOG__LEVEL",
            "raremesh=debug,tower_http=debug,info",
        )],
    );
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // A registration: a mail with a confirmation link lands in the outbox.
    let sent = http
        .post(format!("{}/register", server.base))
        .header("cookie", format!("raremesh_csrf={CSRF}"))
        .form(&[
            ("csrf", CSRF),
            ("registrant", "caregiver"),
            ("name", "Rosa"),
            ("email", "rosa@example.org"),
            ("country", "Spain"),
            ("language", "es"),
        ])
        .send()
        .expect("register");
    assert_eq!(sent.status(), reqwest::StatusCode::SEE_OTHER);
    let mail = std::fs::read_dir(data.join("outbox"))
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains("rosa@example.org"))
        .expect("the mail")
        .replace("=\r\n", "")
        .replace("=\n", "");
    let at = mail.find("/register/confirm/").expect("link");
    let token = &mail[at + "/register/confirm/".len()..at + "/register/confirm/".len() + 64];
    let page = http
        .get(format!("{}/register/confirm/{token}", server.base))
        .send()
        .expect("confirm page");
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    // Pages and answers are not kept by browsers or proxies; the stylesheet may be.
    assert_eq!(
        page.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("")),
        Some("no-store")
    );
    let api = http
        .get(format!("{}/api/v1/version", server.base))
        .send()
        .expect("api");
    assert_eq!(
        api.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("")),
        Some("no-store")
    );
    let css = http
        .get(format!("{}/assets/style.css", server.base))
        .send()
        .expect("css");
    assert!(
        css.headers()
            .get("cache-control")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("public"))
    );
    // Every file and folder, old and new, is the node's user's only.
    let open = open_to_others(&data);
    assert!(open.is_empty(), "readable by others: {open:?}");
    let log = server.output();
    assert!(
        log.contains("made it private"),
        "the fix is reported: {log}"
    );
    // The request was logged (debug), its token was not.
    assert!(log.contains("/register/confirm/"), "{log}");
    assert!(!log.contains(token), "a token in the log");
}

#[test]
fn one_client_cannot_take_the_node_from_everyone_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(
        &dir.path().join("data"),
        &[
            ("RAREMESH_SERVER__MAX_CONNECTIONS_PER_IP", "20"),
            ("RAREMESH_SERVER__REQUEST_TIMEOUT_SECS", "1"),
            ("RAREMESH_SERVER__IDLE_TIMEOUT_SECS", "1"),
            ("RAREMESH_LOG__LEVEL", "info"),
        ],
    );
    let addr: std::net::SocketAddr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    // 400 half-sent requests from another address (127.0.0.2, loopback too).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut held = Vec::new();
    for _ in 0..400 {
        let Some(mut s) = connect_from_another_address(&rt, addr) else {
            continue;
        };
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        held.push(s);
    }
    assert!(
        held.len() >= 300,
        "the attack opened {} connections",
        held.len()
    );
    // Everyone else is served meanwhile.
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for _ in 0..5 {
        let r = http
            .get(format!("{}/healthz", server.base))
            .send()
            .expect("healthz answers during the attack");
        assert!(r.status().is_success());
    }
    // The node closed what it did not admit and, after the idle time, the rest.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut closed = 0;
    for s in &mut held {
        let _ = s.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10)),
        ));
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Ok(_) | Err(_) => {}
        }
    }
    assert_eq!(
        closed,
        held.len(),
        "every half-sent request was closed by the node"
    );
    let log = server.output();
    assert!(log.contains("too many connections"), "{log}");
}

/// A TCP connection to `addr` from 127.0.0.2.
fn connect_from_another_address(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
) -> Option<std::net::TcpStream> {
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind("127.0.0.2:0".parse().ok()?).ok()?;
        let stream = socket.connect(addr).await.ok()?;
        stream.into_std().ok()
    })
    .and_then(|s| s.set_nonblocking(false).ok().map(|()| s))
}

/// A member account made with `admin create-user` in `data`, with "the member's long
/// password".
pub(crate) fn create_member(data: &Path, email: &str) {
    let mut made = Command::new(BIN)
        .args(["admin", "create-user", "--email", email, "--password-stdin"])
        .env_remove("RAREMESH_CONFIG")
        .env("RAREMESH_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("create-user");
    made.stdin
        .take()
        .expect("stdin")
        .write_all(b"the member's long password\n")
        .expect("password");
    assert!(made.wait().expect("wait").success());
}

/// An HTTP client whose connections come from `from` (a loopback address).
fn client(from: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().expect("ip"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[test]
fn someone_guessing_from_elsewhere_slows_down_only_their_own_tries() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    create_member(&data, "guarded@example.org");
    let server = Server::start(&data, &[("RAREMESH_LOG__LEVEL", "raremesh=info,warn")]);
    let sign_in = |c: &reqwest::blocking::Client, password: &str| {
        c.post(format!("{}/signin", server.base))
            .header("cookie", format!("raremesh_csrf={CSRF}"))
            .form(&[
                ("csrf", CSRF),
                ("email", "guarded@example.org"),
                ("password", password),
            ])
            .send()
            .expect("sign in")
            .status()
            .as_u16()
    };
    // Ten wrong guesses from 127.0.0.2: the first three are checked, then they wait.
    let guesser = client("127.0.0.2");
    let answers: Vec<u16> = (0..10).map(|_| sign_in(&guesser, "a guess")).collect();
    assert_eq!(&answers[..3], &[401, 401, 401], "{answers:?}");
    assert!(answers[3..].contains(&429), "{answers:?}");
    // The guesser waits even with the right password...
    assert_eq!(sign_in(&guesser, "the member's long password"), 429);
    // ...the member, elsewhere, signs in at once.
    assert_eq!(
        sign_in(&client("127.0.0.1"), "the member's long password"),
        303
    );
}

#[test]
fn behind_a_trusted_proxy_each_member_counts_by_their_own_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    create_member(&data, "proxied@example.org");
    // The proxy is 127.0.0.1; 127.0.0.2 is a client that reaches the node directly.
    let server = Server::start(
        &data,
        &[
            ("RAREMESH_LOG__LEVEL", "raremesh=info,warn"),
            ("RAREMESH_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
        ],
    );
    let sign_in = |c: &reqwest::blocking::Client, forwarded: &str, password: &str| {
        c.post(format!("{}/signin", server.base))
            .header("cookie", format!("raremesh_csrf={CSRF}"))
            .header("x-forwarded-for", forwarded)
            .form(&[
                ("csrf", CSRF),
                ("email", "proxied@example.org"),
                ("password", password),
            ])
            .send()
            .expect("sign in")
            .status()
            .as_u16()
    };
    let (proxy, direct) = (client("127.0.0.1"), client("127.0.0.2"));
    // A guesser behind the proxy is slowed down...
    let answers: Vec<u16> = (0..8)
        .map(|_| sign_in(&proxy, "198.51.100.7", "a guess"))
        .collect();
    assert_eq!(&answers[..3], &[401, 401, 401], "{answers:?}");
    assert!(answers[3..].contains(&429), "{answers:?}");
    // ...so is one who reaches the node directly and claims the member's address (the
    // header counts only from the proxy)...
    let answers: Vec<u16> = (0..8)
        .map(|_| sign_in(&direct, "198.51.100.8", "a guess"))
        .collect();
    assert!(answers[3..].contains(&429), "{answers:?}");
    // ...and the member, behind the same proxy from another address, signs in at once.
    assert_eq!(
        sign_in(&proxy, "198.51.100.8", "the member's long password"),
        303
    );
}
