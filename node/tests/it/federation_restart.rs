//! Federation that survives real outages: two real Synapses; node A in this process, node
//! B as a separate `raremesh serve` process. B's homeserver is stopped (SIGTERM, then
//! SIGKILL), node B is killed (SIGKILL), and both at once; during each outage A publishes
//! updates, a retraction, a question and an answer. B converges without any snapshot
//! (resync once an hour), every change present, none twice. A plain Matrix user's protocol
//! events in B's room are dropped, logged once, counted and redacted. The registrations
//! the homeservers load are the real command's output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use raremesh::AppState;
use raremesh::federation::status::Status;
use raremesh::qa::actions;
use raremesh::registration::patient::{Patient, Symptom};

use crate::pair::{
    Side, homeservers, member, raremesh_command, run, set_consents, test_root, wait_for,
    wait_for_or,
};
use crate::synapse::{Homeserver, stop_process};

/// How long each outage lasts at least (the changes are made, and sent by A, inside it).
const OUTAGE: Duration = Duration::from_secs(30);

/// A node, as its own process.
pub(crate) struct NodeProcess {
    port: u16,
    config: PathBuf,
    status: PathBuf,
    pub(crate) log: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    pub(crate) fn new(
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
            port: side.port,
            config,
            status: side.data.join("federation/status.json"),
            log: root.join(format!("{}-node.log", side.name)),
            child: None,
        }
    }

    pub(crate) fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        // A status from before the start must not count.
        let _ = std::fs::remove_file(&self.status);
        // The port this test held for node B: freed for its process.
        drop(crate::pair::take_reserved(self.port));
        self.child = Some(
            raremesh_command()
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

    pub(crate) fn stop(&mut self, signal: &str) {
        if let Some(c) = self.child.take() {
            stop_process(c, signal, Duration::from_secs(30));
        }
    }

    /// What B holds from A: (vectors, questions, answers), from the status it writes.
    fn holds(&self) -> Option<(usize, usize, usize)> {
        let s = Status::read(&self.status).ok()?;
        s.peers.first().map(|p| (p.vectors, p.questions, p.answers))
    }
}

/// The longest a node may take to hold everything after an outage ends (the time taken is
/// printed).
const CONVERGE_SECS: u64 = 300;

/// The last lines of a log, for a failure message.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop("-KILL");
    }
}

/// What A shares: each patient's sorted terms, by patient id.
fn published(state: &AppState) -> BTreeMap<String, Vec<String>> {
    let f = state.federation.as_ref().expect("federation");
    f.store
        .published()
        .expect("published")
        .into_iter()
        .map(|p| {
            let mut t = p.vector.terms;
            t.sort();
            (p.patient, t)
        })
        .collect()
}

/// Everything A is asked to share, keyed like [`published`].
struct Model(BTreeMap<String, Vec<String>>);

impl Model {
    fn key(p: &Patient) -> String {
        format!("{}/{}", p.account_id, p.id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_b_converges_after_homeserver_and_node_outages() {
    let test_root = test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, mut hs_b) = homeservers(&root, &a, &b);
    let mut config_a = a.config(&hs_a, &b, &hs_b);
    config_a.federation.resync_interval_secs = 3600;
    let node_a = run(config_a).await;
    let mut node_b = NodeProcess::new(&b, &hs_b, &a, &hs_a, &root);
    node_b.start();
    let sa = node_a.state.clone();
    let fa = sa.federation.clone().expect("federation");

    let mut model = Model(BTreeMap::new());
    let add = |email: &str, name: &str, terms: &[&str], model: &mut Model| {
        let p = member(&sa, email, name, terms, true);
        let mut t: Vec<String> = terms.iter().map(|t| (*t).to_owned()).collect();
        t.sort();
        model.0.insert(Model::key(&p), t);
        p
    };
    let anna = add(
        "anna@a.example.org",
        "Annachild",
        &["HP:0001250", "HP:0001252"],
        &mut model,
    );
    let ben = add("ben@a.example.org", "Benchild", &["HP:0001263"], &mut model);
    let log = node_b.log.clone();
    let explain = || log_tail(&log);
    let took = wait_for_or(
        "the first vectors on B",
        180,
        || node_b.holds() == Some((2, 0, 0)),
        explain,
    )
    .await;
    println!(
        "first vectors from A on B in {:.1} s (rooms made and joined)",
        took.as_secs_f64()
    );
    wait_for("A's Q&A room joined by B", 120, || {
        fa.own_qa_room().ok().flatten().is_some()
            && Status::read(&node_b.status)
                .is_ok_and(|s| s.peers.first().is_some_and(|p| p.qa_room.is_some()))
    })
    .await;

    let add_symptom = |p: &Patient, term: &str, model: &mut Model| {
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
        if let Some(t) = model.0.get_mut(&Model::key(&p)) {
            t.push(term.to_owned());
            t.sort();
        }
    };
    // Consent on or off; when on, A shares the patient's observed symptoms as they are now.
    let share = |p: &Patient, on: bool, model: &mut Model| {
        set_consents(&sa, &p.account_id, |c| c.federated_matching = on);
        if on {
            let p = sa
                .patients
                .get(&p.account_id, &p.id)
                .expect("g")
                .expect("p");
            let mut t: Vec<String> = p
                .symptoms
                .iter()
                .filter(|s| s.observed)
                .map(|s| s.term.to_string())
                .collect();
            t.sort();
            model.0.insert(Model::key(&p), t);
        } else {
            model.0.remove(&Model::key(p));
        }
    };
    let ask = |title: &str| {
        let m = sa
            .registrations
            .member(&anna.account_id)
            .expect("m")
            .expect("m");
        let q = actions::ask(
            &sa.qa,
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
        let answer = actions::answer(&sa.qa, &other, &q.id, "A calm evening routine helped us.")
            .expect("answer");
        (q.id, answer.id)
    };
    // Everything A should send is sent (to its own homeserver): the vectors it publishes
    // are the model, the question and answer have their Matrix events.
    let sent = |model: &Model, qa: &(String, String)| {
        published(&sa) == model.0
            && sa
                .qa
                .store
                .question(&qa.0)
                .ok()
                .flatten()
                .is_some_and(|q| q.event_id.is_some())
            && sa
                .qa
                .store
                .answer(&qa.0, &qa.1)
                .ok()
                .flatten()
                .is_some_and(|a| a.event_id.is_some())
    };

    // 1. B's homeserver stopped (SIGTERM), then killed (SIGKILL), while A changes.
    for (round, (how, hard)) in [("SIGTERM", false), ("SIGKILL", true)]
        .into_iter()
        .enumerate()
    {
        let n = round + 1;
        tokio::task::block_in_place(|| if hard { hs_b.kill() } else { hs_b.stop() });
        let outage = tokio::time::Instant::now();
        add_symptom(
            &anna,
            if hard { "HP:0000256" } else { "HP:0000252" },
            &mut model,
        );
        share(&ben, false, &mut model); // a retraction
        let qa = ask(&format!("Night seizures ({how})"));
        wait_for("A to send the changes and the retraction", 60, || {
            sent(&model, &qa)
        })
        .await;
        // Published again: the newest state is what counts.
        share(&ben, true, &mut model);
        add_symptom(
            &ben,
            if hard { "HP:0000098" } else { "HP:0001166" },
            &mut model,
        );
        wait_for("A to send the re-publication", 60, || sent(&model, &qa)).await;
        // The outage lasts its full length: the scenario, not a wait for something.
        tokio::time::sleep_until(outage + OUTAGE).await;
        tokio::task::block_in_place(|| hs_b.start_again());
        let took = wait_for_or(
            &format!("B after its homeserver's {how}"),
            // The Q&A question asked during the outage is encrypted: its room key travels
            // as a separate to-device message, which a homeserver sends again to the one
            // that was down on its own retry schedule.
            CONVERGE_SECS,
            || node_b.holds() == Some((2, n, n)),
            explain,
        )
        .await;
        println!(
            "B's homeserver {how} for {} s: B held every change {:.1} s after it was back",
            OUTAGE.as_secs(),
            took.as_secs_f64()
        );
    }

    // 2. Node B killed (SIGKILL) while A publishes, restarted once A has sent it all.
    let carla = add(
        "carla@a.example.org",
        "Carlachild",
        &["HP:0000098"],
        &mut model,
    );
    // B's Matrix device (matrix-sdk, its stores in B's data folder) has synced.
    let device_of = |status: &Path| {
        Status::read(status)
            .ok()
            .and_then(|s| s.device)
            .filter(|d| d.last_sync.is_some())
            .map(|d| d.device_id)
    };
    wait_for("B's device to sync", 60, || {
        device_of(&node_b.status).is_some()
    })
    .await;
    let device_b = device_of(&node_b.status).expect("device");
    node_b.stop("-KILL");
    add_symptom(&carla, "HP:0001166", &mut model);
    share(&anna, false, &mut model);
    let qa = ask("Hearing tests (node B killed)");
    wait_for("A to send while node B is down", 60, || sent(&model, &qa)).await;
    node_b.start();
    let took = wait_for_or(
        "B after node B was killed",
        CONVERGE_SECS,
        || node_b.holds() == Some((2, 3, 3)),
        explain,
    )
    .await;
    println!(
        "node B SIGKILL, restarted: every change held {:.1} s after its start",
        took.as_secs_f64()
    );
    wait_for("B's device to sync after the kill", 60, || {
        device_of(&node_b.status).is_some()
    })
    .await;
    assert_eq!(
        device_of(&node_b.status).as_deref(),
        Some(device_b.as_str()),
        "after SIGKILL, node B syncs on with the same device (its stores survived)"
    );

    // 3. Both down at once: B's homeserver and node; A changes; both back.
    node_b.stop("-TERM");
    tokio::task::block_in_place(|| hs_b.stop());
    let outage = tokio::time::Instant::now();
    share(&anna, true, &mut model);
    add_symptom(&carla, "HP:0000252", &mut model);
    let qa = ask("Sleep (both down)");
    wait_for("A to send while B is down", 60, || sent(&model, &qa)).await;
    tokio::time::sleep_until(outage + OUTAGE).await;
    tokio::task::block_in_place(|| hs_b.start_again());
    node_b.start();
    let took = wait_for_or(
        "B after both were down",
        180,
        || node_b.holds() == Some((3, 4, 4)),
        explain,
    )
    .await;
    println!(
        "B's homeserver and node both down for {} s: every change held {:.1} s after both were back",
        OUTAGE.as_secs(),
        took.as_secs_f64()
    );

    // 4. A plain Matrix user in B's room sends protocol events through the homeservers: a
    // replay of a real envelope of A's, garbage, a version B does not speak. B drops each
    // once, says why in its log, counts it, and redacts it in its room; A drops them too.
    let b_room = Status::read(&node_b.status)
        .expect("status")
        .own_room
        .expect("B's room");
    let mallory = tokio::task::block_in_place(|| hs_b.register("mallory", "mallory long password"));
    let as_b = raremesh_bridge::client::Homeserver::new(&hs_b.url, &b.as_token).expect("client");
    as_b.invite(&b_room, &mallory)
        .await
        .expect("invite mallory");
    let real = hs_b.query(&format!(
        "SELECT event_json.json FROM event_json JOIN events USING (event_id) \
         WHERE events.type = 'org.raremesh.batch' AND events.sender = '@raremesh:{}' LIMIT 1",
        hs_a.server_name
    ));
    let real: serde_json::Value =
        serde_json::from_str(real[0][0].as_str().expect("event json")).expect("event");
    let mut v2 = real["content"].clone();
    v2["v"] = serde_json::json!(2);
    let contents = [
        real["content"].to_string(),
        serde_json::json!({ "garbage": [1, 2, 3] }).to_string(),
        v2.to_string(),
    ];
    let (url_b, room_arg) = (hs_b.url.clone(), b_room.clone());
    let out = tokio::task::block_in_place(|| {
        let mut args = vec![
            "send-typed",
            url_b.as_str(),
            "mallory",
            "mallory long password",
            room_arg.as_str(),
            "org.raremesh.batch",
        ];
        args.extend(contents.iter().map(String::as_str));
        crate::federation::nio(&args)
    });
    let hostile: Vec<String> = serde_json::from_str(&out).expect("event ids");
    let dropped_lines = |id: &str| {
        std::fs::read_to_string(&node_b.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("event dropped") && l.contains(id))
            .map(ToOwned::to_owned)
            .collect::<Vec<_>>()
    };
    wait_for_or(
        "B to drop the three hostile events",
        60,
        || hostile.iter().all(|id| !dropped_lines(id).is_empty()),
        explain,
    )
    .await;
    for id in &hostile {
        let lines = dropped_lines(id);
        assert!(
            lines[0].contains(&mallory) && lines[0].contains("untrusted"),
            "{lines:?}"
        );
    }
    wait_for("B to redact the hostile events in its room", 60, || {
        let redacted: Vec<String> = hs_b
            .query("SELECT redacts FROM redactions")
            .into_iter()
            .filter_map(|r| r[0].as_str().map(ToOwned::to_owned))
            .collect();
        hostile.iter().all(|id| redacted.contains(id))
    })
    .await;
    let untrusted = |s: &Status| {
        s.dropped
            .iter()
            .find(|(r, _)| r == "untrusted")
            .map_or(0, |(_, n)| *n)
    };
    wait_for("B's status to count the drops", 30, || {
        Status::read(&node_b.status).is_ok_and(|s| untrusted(&s) >= 3)
    })
    .await;
    // A walk of every room (once a minute) passes over them: still logged once each.
    let walked = Status::read(&node_b.status).expect("status").last_catch_up;
    wait_for("B's next walk of every room", 90, || {
        Status::read(&node_b.status).is_ok_and(|s| s.last_catch_up > walked)
    })
    .await;
    for id in &hostile {
        assert_eq!(dropped_lines(id).len(), 1, "{id} logged once");
    }

    // What B holds is exactly what A publishes, once: B's database, once B stopped.
    node_b.stop("-TERM");
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
    let mut shared: Vec<Vec<String>> = model.0.values().cloned().collect();
    shared.sort();
    assert_eq!(held, shared, "B holds exactly what A publishes");
    let titles: Vec<String> = sb
        .qa
        .store
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
    assert_eq!(
        sb.qa.store.all_answers().expect("a").len(),
        4,
        "each answer once"
    );
}

/// The registration `raremesh federation registration` prints for a server name with dots
/// (and one with an IP and a port, in every pair of the suite) is what Synapse loads: it
/// starts, and knows the application service's user by its token.
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
