//! Real Synapse homeservers for the federation tests: each on loopback with a plain-HTTP
//! client port and a TLS federation port (a self-signed certificate; the server name is
//! `127.0.0.1:<federation port>`, so no DNS is involved), started from the project's
//! `.venv-test` (installed by `scripts/install-test-deps.sh`) and stopped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The folder of the test virtual environment's programs.
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test/bin")
}

/// One running homeserver.
pub struct Homeserver {
    /// `127.0.0.1:<federation port>`.
    pub server_name: String,
    /// The client-server API, e.g. `http://127.0.0.1:18008`.
    pub url: String,
    fed_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Homeserver {
    /// Writes the configuration and starts the server, with a server name of its own
    /// (default `127.0.0.1:<federation port>`); `registrations` makes the application
    /// service files the server loads once the server name is known. Returns once its
    /// client and federation ports answer.
    pub fn start_with(
        dir: &Path,
        name: Option<&str>,
        registrations: impl FnOnce(&str) -> Vec<PathBuf>,
    ) -> Self {
        Self::start_with_url(dir, name, |name, _| registrations(name))
    }

    /// Like [`Homeserver::start_with`]; `registrations` gets the client-server address
    /// too (`http://127.0.0.1:<port>`).
    pub fn start_with_url(
        dir: &Path,
        name: Option<&str>,
        registrations: impl FnOnce(&str, &str) -> Vec<PathBuf>,
    ) -> Self {
        let python = venv().join("python");
        assert!(
            python.exists(),
            "Synapse is needed: run scripts/install-test-deps.sh (it installs matrix-synapse into .venv-test)"
        );
        std::fs::create_dir_all(dir).expect("dir");
        let (client, fed) = (free_port(), free_port());
        let server_name = name.map_or_else(|| format!("127.0.0.1:{fed}"), str::to_owned);
        let appservices = registrations(&server_name, &format!("http://127.0.0.1:{client}"));
        let d = dir.display();
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(dir.join("tls.key"))
            .arg("-out")
            .arg(dir.join("tls.crt"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl (scripts/install-test-deps.sh installs it)");
        assert!(
            status.success(),
            "openssl could not make a test certificate"
        );
        let services: Vec<String> = appservices
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect();
        // A homeserver for tests only: loopback federation with unverified certificates,
        // no rate limits, no presence.
        let config = format!(
            r#"server_name: "{server_name}"
pid_file: "{d}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{client}/"
report_stats: false
listeners:
  - port: {client}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    resources: [{{names: [client], compress: false}}]
  - port: {fed}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: true
    resources: [{{names: [federation], compress: false}}]
tls_certificate_path: "{d}/tls.crt"
tls_private_key_path: "{d}/tls.key"
database:
  name: sqlite3
  args: {{database: "{d}/homeserver.db"}}
log_config: "{d}/log.config"
media_store_path: "{d}/media"
signing_key_path: "{d}/signing.key"
registration_shared_secret: "raremesh-test-secret"
macaroon_secret_key: "raremesh-test-macaroon"
form_secret: "raremesh-test-form"
enable_registration: false
bcrypt_rounds: 4
enable_metrics: false
federation_verify_certificates: false
federation:
  max_long_retry_delay: 5s
  destination_min_retry_interval: 1s
  destination_max_retry_interval: 3s
  destination_retry_multiplier: 1.5
federation_ip_range_blacklist: []
ip_range_blacklist: []
trusted_key_servers: []
suppress_key_server_warning: true
presence: {{enabled: false}}
federation_rr_transactions_per_room_per_second: 9999
rc_message: {{per_second: 9999, burst_count: 9999}}
rc_registration: {{per_second: 9999, burst_count: 9999}}
rc_login:
  address: {{per_second: 9999, burst_count: 9999}}
  account: {{per_second: 9999, burst_count: 9999}}
  failed_attempts: {{per_second: 9999, burst_count: 9999}}
rc_joins:
  local: {{per_second: 9999, burst_count: 9999}}
  remote: {{per_second: 9999, burst_count: 9999}}
rc_invites:
  per_room: {{per_second: 9999, burst_count: 9999}}
  per_user: {{per_second: 9999, burst_count: 9999}}
  per_issuer: {{per_second: 9999, burst_count: 9999}}
rc_federation: {{window_size: 1000, sleep_limit: 10, sleep_delay: 500, reject_limit: 99999, concurrent: 3}}
app_service_config_files: [{}]
"#,
            services.join(", ")
        );
        std::fs::write(dir.join("homeserver.yaml"), config).expect("config");
        // RAREMESH_TEST_SYNAPSE_LOG=INFO (or DEBUG) for more in homeserver.log.
        let level = std::env::var("RAREMESH_TEST_SYNAPSE_LOG")
            .ok()
            .filter(|l| ["DEBUG", "INFO", "WARNING"].contains(&l.as_str()))
            .unwrap_or_else(|| "WARNING".to_owned());
        std::fs::write(
            dir.join("log.config"),
            format!(
                "version: 1\nformatters:\n  f: {{format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\nhandlers:\n  file: {{class: logging.FileHandler, formatter: f, filename: '{d}/homeserver.log'}}\nroot: {{level: {level}, handlers: [file]}}\ndisable_existing_loggers: false\n"
            ),
        )
        .expect("log config");
        let mut hs = Self {
            fed_port: fed,
            server_name,
            url: format!("http://127.0.0.1:{client}"),
            dir: dir.to_owned(),
            child: None,
        };
        hs.run();
        hs
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stdout.log"))
            .expect("log");
        let child = Command::new(venv().join("python"))
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.join("homeserver.yaml"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start synapse");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        let client = reqwest::blocking::Client::new();
        let fed_port = self.fed_port;
        loop {
            let up = client
                .get(format!("{}/_matrix/client/versions", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok_and(|r| r.status().is_success())
                && std::net::TcpStream::connect(("127.0.0.1", fed_port)).is_ok();
            if up {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "synapse exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "synapse did not start in 120 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            stop_process(c, "-TERM", Duration::from_secs(10));
        }
    }

    /// Starts the stopped server again, with its data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Kills the server with SIGKILL, as a crash or an out-of-memory kill would.
    pub fn kill(&mut self) {
        if let Some(c) = self.child.take() {
            stop_process(c, "-KILL", Duration::from_secs(10));
        }
    }

    /// Starts the server again after [`Homeserver::stop`] or [`Homeserver::kill`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.run();
    }

    /// Rows of the server's database, through Python's sqlite3 (one JSON value per row).
    pub fn query(&self, sql: &str) -> Vec<serde_json::Value> {
        let out = Command::new(venv().join("python"))
            .args([
                "-c",
                "import json,sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in c.execute(sys.argv[2]): print(json.dumps(list(r)))",
            ])
            .arg(self.dir.join("homeserver.db"))
            .arg(sql)
            .output()
            .expect("python");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Registers a user with the shared secret; returns the user id.
    pub fn register(&self, name: &str, password: &str) -> String {
        let status = Command::new(venv().join("register_new_matrix_user"))
            .args([
                "-u",
                name,
                "-p",
                password,
                "--no-admin",
                "-k",
                "raremesh-test-secret",
            ])
            .arg(&self.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("register_new_matrix_user");
        assert!(status.success(), "registering {name} failed");
        format!("@{name}:{}", self.server_name)
    }
}

/// Sends `signal` (`-TERM`, `-KILL`) to a process and waits until it has exited; SIGKILL
/// if it is still running after `grace`.
pub fn stop_process(mut child: Child, signal: &str, grace: Duration) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args([signal, &pid]).status();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    if rx.recv_timeout(grace).is_err() {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        let _ = rx.recv_timeout(Duration::from_secs(30));
    }
}

impl Drop for Homeserver {
    fn drop(&mut self) {
        self.stop();
    }
}
