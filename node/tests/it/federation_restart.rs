//! Federation that survives real outages: two real Synapses; node A in this process, node
//! B as a separate `raremesh serve` process. B's homeserver is stopped (SIGTERM, then
//! SIGKILL), node B is killed (SIGKILL), and both at once, each for a while during which A
//! publishes updates, a retraction, a question and an answer; B converges without any
//! snapshot (resync once an hour), every change present, none twice. The registrations
//! the homeservers load are the real command's output.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raremesh::federation::status::Status;
use raremesh::qa::actions;
use raremesh::registration::patient::Symptom;

use crate::pair::{Side, member, run};
use crate::synapse::Homeserver;

/// Node B, as its own process.
struct NodeProcess {
    config: PathBuf,
    status: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    fn write_config(
        side: &Side,
        hs: &Homeserver,
        peer: &Side,
        peer_hs: &Homeserver,
        root: &Path,
    ) -> Self {
        let config = root.join(format!("{}.toml", side.name));
        let text = format!(
            "data_dir = {data:?}\n\n[node]\nname = \"Organization {upper}\"\n\n[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\n[log]\nlevel = \"raremesh=info,raremesh_bridge=info,warn\"\n\n[federation]\nenabled = true\nhomeserver_url = {hs_url:?}\nserver_name = {hs_name:?}\nas_token = {as_token:?}\nhs_token = {hs_token:?}\npublish_interval_secs = 1\nresync_interval_secs = 3600\n\n[[federation.peers]]\nname = \"Organization {peer_upper}\"\nuser_id = \"@raremesh:{peer_name}\"\nage_key = {peer_key:?}\n",
            data = side.data.display().to_string(),
            upper = side.name.to_uppercase(),
            port = side.port,
            hs_url = hs.url,
            hs_name = hs.server_name,
            as_token = side.as_token,
            hs_token = side.hs_token,
            peer_upper = peer.name.to_uppercase(),
            peer_name = peer_hs.server_name,
            peer_key = peer.key,
        );
        std::fs::write(&config, text).expect("config");
        Self {
            config,
            status: side.data.join("federation/status.json"),
            log: root.join(format!("{}-node.log", side.name)),
            child: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let _ = std::fs::remove_file(&self.status);
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_raremesh"))
                .arg("--config")
                .arg(&self.config)
                .arg("serve")
                .env_remove("RUST_LOG")
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .expect("start node B"),
        );
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args([signal, &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The status the running node wrote (fresh: written after `since`).
    fn status(&self, since: u64) -> Option<Status> {
        Status::read(&self.status).ok().filter(|s| s.at >= since)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.signal("-KILL");
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Waits until B's status shows what A publishes: `vectors`, `questions`, `answers`.
async fn converge(b: &NodeProcess, what: &str, secs: u64, want: (usize, usize, usize)) -> Duration {
    let started = Instant::now();
    let since = unix_now();
    loop {
        let got = b
            .status(since)
            .and_then(|s| s.peers.first().map(|p| (p.vectors, p.questions, p.answers)));
        if got == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}: B holds {got:?}, A publishes {want:?}\n{}",
            b.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_b_converges_after_homeserver_and_node_outages() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("raremesh=info")
        .with_test_writer()
        .try_init();
    let mut guard = Some(tempfile::tempdir().expect("tempdir"));
    let root: PathBuf = if std::env::var_os("RAREMESH_KEEP_TEST_DIR").is_some() {
        guard.take().expect("dir").keep()
    } else {
        guard.as_ref().expect("dir").path().to_owned()
    };
    println!("test folder: {}", root.display());
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    // The homeservers load what `raremesh federation registration` prints.
    let (pa, pb) = (root.join("hs-a"), root.join("hs-b"));
    let (ra, rb) = (root.clone(), root.clone());
    let (a2, b2) = (
        Side {
            name: a.name,
            data: a.data.clone(),
            port: a.port,
            as_token: a.as_token.clone(),
            hs_token: a.hs_token.clone(),
            key: a.key.clone(),
        },
        Side {
            name: b.name,
            data: b.data.clone(),
            port: b.port,
            as_token: b.as_token.clone(),
            hs_token: b.hs_token.clone(),
            key: b.key.clone(),
        },
    );
    let ta = std::thread::spawn(move || {
        Homeserver::start_with(&pa, None, |name| {
            vec![a2.registration_from_command(&ra, name)]
        })
    });
    let tb = std::thread::spawn(move || {
        Homeserver::start_with(&pb, None, |name| {
            vec![b2.registration_from_command(&rb, name)]
        })
    });
    let (hs_a, mut hs_b) = (ta.join().expect("hs a"), tb.join().expect("hs b"));
    let mut config_a = a.config(&hs_a, &b, &hs_b);
    config_a.federation.resync_interval_secs = 3600;
    let node_a = run(config_a).await;
    let mut node_b = NodeProcess::write_config(&b, &hs_b, &a, &hs_a, &root);
    node_b.start();
    let sa = node_a.state.clone();

    let anna = member(
        &sa,
        "anna@a.example.org",
        "Annachild",
        &["HP:0001250", "HP:0001252"],
        true,
    );
    let ben = member(&sa, "ben@a.example.org", "Benchild", &["HP:0001263"], true);
    let took = converge(&node_b, "the first vectors on B", 180, (2, 0, 0)).await;
    println!(
        "first vectors from A on B in {:.1} s (rooms made and joined)",
        took.as_secs_f64()
    );
    crate::pair::wait_for("A's Q&A room joined by B", 120, || {
        sa.federation
            .as_ref()
            .is_some_and(|f| f.own_qa_room().ok().flatten().is_some())
            && node_b
                .status(0)
                .is_some_and(|s| s.peers.first().is_some_and(|p| p.qa_room.is_some()))
    })
    .await;

    let add_symptom = |p: &raremesh::registration::patient::Patient, term: &str| {
        let mut p = sa
            .patients
            .get(&p.account_id, &p.id)
            .expect("g")
            .expect("p");
        p.symptoms.push(Symptom {
            term: term.parse().expect("id"),
            observed: true,
            onset: None,
        });
        sa.patients.save(&p).expect("save");
    };
    let consent = |p: &raremesh::registration::patient::Patient, on: bool| {
        let mut m = sa
            .registrations
            .member(&p.account_id)
            .expect("m")
            .expect("m");
        m.consents.federated_matching = on;
        sa.registrations.save_member(&m).expect("save");
    };
    let ask = |title: &str| {
        let m = sa
            .registrations
            .member(&anna.account_id)
            .expect("m")
            .expect("m");
        let q = actions::ask(
            &sa,
            &m,
            &actions::Draft {
                title: title.into(),
                body: "What helped your child?".into(),
                tags: vec!["HP:0001250".into()],
                ..Default::default()
            },
        )
        .expect("ask");
        let other = sa
            .registrations
            .member(&ben.account_id)
            .expect("m")
            .expect("m");
        actions::answer(&sa, &other, &q.id, "A calm evening routine helped us.").expect("answer");
    };
    let outage = Duration::from_secs(30);
    let mut figures = Vec::new();

    // 1. B's homeserver stopped (SIGTERM) while A changes; then killed (SIGKILL).
    for (how, hard) in [("SIGTERM", false), ("SIGKILL", true)] {
        let expected_questions = figures.len() + 1;
        tokio::task::block_in_place(|| if hard { hs_b.kill() } else { hs_b.stop() });
        add_symptom(&anna, if hard { "HP:0000256" } else { "HP:0000252" });
        consent(&ben, false); // a retraction
        ask(&format!("Night seizures ({how})"));
        tokio::time::sleep(outage).await;
        consent(&ben, true); // published again: the newest state is what counts
        add_symptom(&ben, if hard { "HP:0000098" } else { "HP:0001166" });
        tokio::task::block_in_place(|| hs_b.start_again());
        let took = converge(
            &node_b,
            &format!("B after its homeserver's {how}"),
            120,
            (2, expected_questions, expected_questions),
        )
        .await;
        println!(
            "B's homeserver {how} for {} s: B held every change {:.1} s after it was back",
            outage.as_secs(),
            took.as_secs_f64()
        );
        figures.push(took);
    }

    // 2. Node B killed (SIGKILL) while A publishes a burst, restarted.
    let carla = member(
        &sa,
        "carla@a.example.org",
        "Carlachild",
        &["HP:0000098"],
        true,
    );
    node_b.signal("-KILL");
    add_symptom(&carla, "HP:0001166");
    consent(&anna, false);
    ask("Hearing tests (node B killed)");
    tokio::time::sleep(Duration::from_secs(5)).await;
    node_b.start();
    let took = converge(&node_b, "B after node B was killed", 120, (2, 3, 3)).await;
    println!(
        "node B SIGKILL, restarted: every change held {:.1} s after its start",
        took.as_secs_f64()
    );

    // 3. Both down at once: B's homeserver and node; A changes; both back.
    node_b.signal("-TERM");
    tokio::task::block_in_place(|| hs_b.stop());
    consent(&anna, true);
    add_symptom(&carla, "HP:0000252");
    ask("Sleep (both down)");
    tokio::time::sleep(outage).await;
    tokio::task::block_in_place(|| hs_b.start_again());
    node_b.start();
    let took = converge(&node_b, "B after both were down", 180, (3, 4, 4)).await;
    println!(
        "B's homeserver and node both down for {} s: every change held {:.1} s after both were back",
        outage.as_secs(),
        took.as_secs_f64()
    );

    // What B holds is exactly what A publishes, once: open B's database once it stopped.
    node_b.signal("-TERM");
    let b_config =
        raremesh::config::load(Some(&node_b.config), std::iter::empty::<(String, String)>())
            .expect("config");
    let (sb, _) = raremesh::boot::boot(b_config).expect("boot B");
    let fb = sb.federation.as_ref().expect("federation");
    let mut held: Vec<Vec<String>> = fb
        .store
        .remote_all()
        .expect("remote")
        .into_iter()
        .filter(|r| !r.retracted)
        .map(|r| {
            let mut t = r.vector.terms;
            t.sort();
            t
        })
        .collect();
    held.sort();
    let fa = sa.federation.as_ref().expect("federation");
    let mut published: Vec<Vec<String>> = fa
        .store
        .published()
        .expect("published")
        .into_iter()
        .map(|p| {
            let mut t = p.vector.terms;
            t.sort();
            t
        })
        .collect();
    published.sort();
    assert_eq!(held, published, "B holds exactly what A publishes");
    let titles: Vec<String> = sb
        .qa
        .questions()
        .expect("q")
        .into_iter()
        .map(|q| q.title)
        .collect();
    assert_eq!(titles.len(), 4, "each question once: {titles:?}");
    for t in [
        "Night seizures (SIGTERM)",
        "Night seizures (SIGKILL)",
        "Hearing tests (node B killed)",
        "Sleep (both down)",
    ] {
        assert_eq!(
            titles.iter().filter(|x| x.as_str() == t).count(),
            1,
            "{t} once in {titles:?}"
        );
    }
    assert_eq!(sb.qa.all_answers().expect("a").len(), 4, "each answer once");
    drop(sb);
    drop(node_a);
    drop(hs_b);
}

/// The registration `raremesh federation registration` prints for a server name with dots
/// (and one with an IP and a port, in the pair above) is what Synapse loads: it starts, and
/// knows the application service's user by its token.
#[test]
fn synapse_loads_the_registration_for_a_dotted_server_name() {
    let root = tempfile::tempdir().expect("tempdir");
    let side = Side::new(root.path(), "a");
    let dir = root.path().join("hs");
    let path = root.path().to_owned();
    let hs = Homeserver::start_with(&dir, Some("rare-a.example.org"), |name| {
        vec![side.registration_from_command(&path, name)]
    });
    let text = std::fs::read_to_string(root.path().join("a-registration.yaml")).expect("file");
    assert!(text.contains("rare-a\\.example\\.org"), "{text}");
    let whoami: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/_matrix/client/v3/account/whoami", hs.url))
        .bearer_auth(&side.as_token)
        .send()
        .expect("whoami")
        .json()
        .expect("json");
    assert_eq!(
        whoami["user_id"], "@raremesh:rare-a.example.org",
        "{whoami}"
    );
}
