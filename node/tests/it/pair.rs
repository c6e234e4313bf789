//! Two raremesh nodes, each with its own real Synapse homeserver, federating on loopback:
//! shared by the federation tests and the federation benchmark.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raremesh::AppState;
use raremesh::accounts::Role;
use raremesh::config::{Config, FederationConfig, PeerConfig, Secret};
use raremesh::federation::Keys;
use raremesh::registration::patient::{
    Diagnosis, Patient, PatientInput, Relation, Sex, Symptom, Validation,
};
use raremesh::registration::{Consents, Member, PersonalInfo, Registrant};

use crate::synapse::Homeserver;

/// The `raremesh` binary, without the `RAREMESH_*` variables of the test's own environment
/// (such as `RAREMESH_KEEP_TEST_DIR`, which the node would refuse as an unknown key).
pub fn raremesh_command() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_raremesh"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("RAREMESH_") {
            c.env_remove(k);
        }
    }
    c
}

/// The ports chosen for this binary's nodes, held bound until a node serves on them:
/// between choosing a port and serving, no other socket (a homeserver's outgoing
/// connection, another test's) can take it.
static RESERVED: std::sync::Mutex<Vec<std::net::TcpListener>> = std::sync::Mutex::new(Vec::new());

/// A free port, held bound for a node of this binary ([`take_reserved`]).
pub fn reserve_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("address").port();
    RESERVED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(listener);
    port
}

/// The listener held for `port`, if it still is (the node serves on it; dropping it frees
/// the port for a node in another process).
pub fn take_reserved(port: u16) -> Option<std::net::TcpListener> {
    let mut held = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    let i = held
        .iter()
        .position(|l| l.local_addr().is_ok_and(|a| a.port() == port))?;
    Some(held.swap_remove(i))
}

#[derive(Clone)]
pub struct Side {
    pub name: &'static str,
    pub data: PathBuf,
    pub port: u16,
    pub as_token: String,
    pub hs_token: String,
    pub key: String,
}

impl Side {
    pub fn new(root: &Path, name: &'static str) -> Self {
        let data = root.join(name).join("data");
        let keys = Keys::open_or_create(&data.join("federation")).expect("keys");
        let token = || raremesh::ids::random_token().expect("token");
        Self {
            name,
            port: reserve_port(),
            as_token: token(),
            hs_token: token(),
            key: keys.public_key(),
            data,
        }
    }

    /// The application service registration, as `raremesh federation registration` prints
    /// it for this side's tokens, address and homeserver name.
    pub fn registration_from_command(&self, root: &Path, server_name: &str) -> PathBuf {
        let out = raremesh_command()
            .args(["federation", "registration", "--url"])
            .arg(format!("http://127.0.0.1:{}", self.port))
            .env("RAREMESH_DATA_DIR", &self.data)
            .env("RAREMESH_FEDERATION__SERVER_NAME", server_name)
            .env("RAREMESH_FEDERATION__AS_TOKEN", &self.as_token)
            .env("RAREMESH_FEDERATION__HS_TOKEN", &self.hs_token)
            .output()
            .expect("raremesh federation registration");
        assert!(
            out.status.success(),
            "registration failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = root.join(format!("{}-registration.yaml", self.name));
        std::fs::write(&path, &out.stdout).expect("write");
        path
    }

    pub fn config(&self, hs: &Homeserver, peer: &Side, peer_hs: &Homeserver) -> Config {
        Config {
            data_dir: self.data.clone(),
            node: raremesh::config::NodeConfig {
                name: format!("Organization {}", self.name.to_uppercase()),
            },
            server: raremesh::config::ServerConfig {
                bind: ([127, 0, 0, 1], self.port).into(),
                public_url: format!("http://127.0.0.1:{}", self.port),
                ..Default::default()
            },
            federation: FederationConfig {
                enabled: true,
                homeserver_url: hs.url.clone(),
                server_name: hs.server_name.clone(),
                as_token: Secret::from(self.as_token.clone()),
                hs_token: Secret::from(self.hs_token.clone()),
                publish_interval_secs: 1,
                resync_interval_secs: 5,
                peers: vec![PeerConfig {
                    name: format!("Organization {}", peer.name.to_uppercase()),
                    user_id: format!("@raremesh:{}", peer_hs.server_name),
                    age_key: peer.key.clone(),
                }],
                ..Default::default()
            },
            ..Config::default()
        }
    }
}

/// A test's folder, kept after the test when `RAREMESH_KEEP_TEST_DIR` is set (logs,
/// databases); logging to the test's output is on.
pub struct TestRoot {
    _guard: Option<tempfile::TempDir>,
    pub path: PathBuf,
}

pub fn test_root() -> TestRoot {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("raremesh=info")),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let (guard, path) = if std::env::var_os("RAREMESH_KEEP_TEST_DIR").is_some() {
        let path = dir.keep();
        (None, path)
    } else {
        let path = dir.path().to_owned();
        (Some(dir), path)
    };
    println!("test folder: {}", path.display());
    TestRoot {
        _guard: guard,
        path,
    }
}

/// The two homeservers of sides `a` and `b`, started side by side, each loading what
/// `raremesh federation registration` prints for its side.
pub fn homeservers(root: &Path, a: &Side, b: &Side) -> (Homeserver, Homeserver) {
    let start = |side: &Side| {
        let (side, root) = (side.clone(), root.to_owned());
        std::thread::spawn(move || {
            Homeserver::start_with(&root.join(format!("hs-{}", side.name)), None, |name| {
                vec![side.registration_from_command(&root, name)]
            })
        })
    };
    let (ta, tb) = (start(a), start(b));
    (ta.join().expect("hs a"), tb.join().expect("hs b"))
}

/// Changes a member's consents.
pub fn set_consents(
    state: &AppState,
    account_id: &raremesh::ids::AccountId,
    change: impl FnOnce(&mut raremesh::registration::Consents),
) {
    let mut m = state
        .registrations
        .member(account_id)
        .expect("member")
        .expect("member");
    change(&mut m.consents);
    state.registrations.save_member(&m).expect("save");
}

pub struct Running {
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
    federation: Option<tokio::task::JoinHandle<()>>,
}

pub async fn run(config: Config) -> Running {
    let (state, _) = raremesh::boot::boot(config).expect("boot");
    assert!(state.federation.is_some(), "{:?}", state.federation_problem);
    // The port held since the test chose it; a node started again binds it again (a
    // connection of the earlier run may hold it for a moment).
    let mut bound = take_reserved(state.config.server.bind.port());
    if bound.is_none() {
        wait_for("the node's port to be free", 60, || {
            bound = std::net::TcpListener::bind(state.config.server.bind).ok();
            bound.is_some()
        })
        .await;
    }
    let listener = bound.expect("bound");
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let federation = state.federation.clone().map(|f| f.start());
    let app = raremesh::http::app(state.clone());
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    Running {
        state,
        stop: Some(tx),
        handle,
        federation,
    }
}

impl Running {
    /// Stops the node at once, as a crash would: requests in flight are cut.
    pub async fn kill(mut self) {
        self.handle.abort();
        let _ = (&mut self.handle).await;
        if let Some(f) = self.federation.take() {
            f.abort();
            let _ = f.await;
        }
        self.stop.take();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    pub async fn shut(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.handle.await;
        if let Some(f) = self.federation.take() {
            f.abort();
            let _ = f.await;
        }
        // Tasks spawned for one request (a join, a snapshot) end within moments.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A member who agreed to everything, with one validated patient.
pub fn member(
    state: &AppState,
    email: &str,
    name: &str,
    terms: &[&str],
    federated: bool,
) -> Patient {
    let a = state
        .accounts
        .create(email, "a good long password", Role::Member, true)
        .expect("account");
    state
        .registrations
        .save_member(&Member {
            account_id: a.id.clone(),
            info: PersonalInfo {
                name: format!("{name} Parent"),
                email: a.email.clone(),
                country: "France".into(),
                language: "en".into(),
                registrant: Registrant::Caregiver,
            },
            step: 5,
            consents: Consents {
                terms_version: Some("1".into()),
                terms_accepted_at: Some(1),
                local_matching: true,
                federated_matching: federated,
                share_diagnosis: true,
                share_age_band: true,
                contactable: true,
                ..Consents::default()
            },
            matrix: None,
        })
        .expect("member");
    let mut p = state
        .patients
        .add(
            &a.id,
            PatientInput {
                display_name: name.into(),
                birth_year: 2016,
                sex: Sex::Female,
                relation: Relation::Parent,
                diagnosis: Diagnosis::NotListed {
                    text: format!("{name}'s private words"),
                },
                organization: None,
            },
        )
        .expect("patient");
    p.symptoms = terms
        .iter()
        .map(|t| Symptom {
            term: t.parse().expect("id"),
            observed: true,
            onset: None,
        })
        .collect();
    p.validation = Validation::Approved {
        at: 1,
        by: "test".into(),
    };
    state.patients.save(&p).expect("save");
    p
}

pub async fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) -> Duration {
    wait_for_or(what, secs, ok, String::new).await
}

/// Like [`wait_for`]; on timeout the message ends with what `explain` says.
pub async fn wait_for_or(
    what: &str,
    secs: u64,
    mut ok: impl FnMut() -> bool,
    explain: impl FnOnce() -> String,
) -> Duration {
    let started = Instant::now();
    while !ok() {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}\n{}",
            explain()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// Waits until node `f` holds `peer`'s vector under `pseudonym`, marked contactable.
pub async fn wait_for_contactable(
    f: &raremesh::federation::Federation,
    peer: &str,
    pseudonym: &str,
    secs: u64,
) {
    wait_for("a partner's contactable vector", secs, || {
        f.store
            .remote(peer, pseudonym)
            .ok()
            .flatten()
            .is_some_and(|r| r.vector.contactable)
    })
    .await;
}

/// Adds an observed symptom (`term`, an HPO id) to a patient, as its member would.
pub fn add_symptom(state: &AppState, patient: &Patient, term: &str) {
    let mut p = state
        .patients
        .get(&patient.account_id, &patient.id)
        .expect("g")
        .expect("p");
    p.symptoms.push(Symptom {
        term: term.parse().expect("id"),
        observed: true,
        onset: None,
    });
    state.patients.save(&p).expect("save");
}

pub fn remote_terms(state: &AppState) -> Vec<Vec<String>> {
    let f = state.federation.as_ref().expect("federation");
    f.store
        .remote_all()
        .expect("remote")
        .into_iter()
        .map(|r| r.vector.terms)
        .collect()
}
