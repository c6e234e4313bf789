//! The messaging benchmark (`scripts/bench-messaging.sh`; ignored in the suite): node A
//! with many members who talk with a partner's member through the Matrix accounts the
//! node manages for them, on two real Synapses. Each conversation is an end-to-end
//! encrypted room between a member's managed account and `bob` on the other homeserver
//! (a matrix-nio client with encryption, one device for the whole run).
//!
//! It measures, in one run:
//! - making the accounts and their rooms (the time, the node's memory after, the disk the
//!   accounts' keys take);
//! - messages per second end to end, from the Messages page on A (the form a member posts)
//!   to bob's app on the other homeserver, decrypted, with `ACTIVE` conversations busy at
//!   once, and each message's delay; the node's CPU and peak memory meanwhile;
//! - the reference: the same messages between members of A (no Matrix on the way).
//!
//! `RAREMESH_BENCH_MEMBERS` (1000), `RAREMESH_BENCH_ACTIVE` (50), `RAREMESH_BENCH_EACH`
//! (10 messages per busy conversation).

use std::time::Instant;

use raremesh::federation::{CONTACT_ROOM_NAME, Contact, ContactStatus};
use raremesh_bridge::client::NewRoom;
use raremesh_bridge::rooms::RoomKind;

use crate::federation::nio;
use crate::pair::{Side, member, run};
use crate::validation::{CSRF, Node};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU seconds this process used so far (user and system).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are the 14th and 15th fields of the line (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

fn du(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench-messaging.sh"]
async fn messages_through_managed_accounts() {
    let members = setting("RAREMESH_BENCH_MEMBERS", 1000);
    let active = setting("RAREMESH_BENCH_ACTIVE", 50).min(members);
    let each = setting("RAREMESH_BENCH_EACH", 10);
    let test_root = crate::pair::test_root();
    let root = test_root.path.clone();
    let (a, b) = (Side::new(&root, "a"), Side::new(&root, "b"));
    let (hs_a, hs_b) = crate::pair::homeservers(&root, &a, &b);
    let node_a = run(a.config(&hs_a, &b, &hs_b)).await;
    let sa = node_a.state.clone();
    let fa = sa.federation.clone().expect("federation");
    let bob = tokio::task::block_in_place(|| hs_b.register("bob", "bob long password"));
    let bob_id: raremesh_bridge::ruma::OwnedUserId = bob.parse().expect("bob");
    let bob_store = root.join("bob-device");
    let store = bob_store.display().to_string();
    let ub = hs_b.url.clone();
    let rss_start = status_kib("VmRSS:");

    // The members, each with a conversation in a room with bob.
    let started = Instant::now();
    let mut people = Vec::new();
    for i in 0..members {
        let p = member(
            &sa,
            &format!("member{i}@a.example.org"),
            &format!("Child{i}"),
            &["HP:0001250", "HP:0001252", "HP:0001263"],
            true,
        );
        people.push(p);
    }
    let rss_members = status_kib("VmRSS:");
    let mut conversations = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let managed = fa.managed_user(p.account_id.as_str());
        let room = fa
            .client
            .create_room(
                RoomKind::Contact,
                CONTACT_ROOM_NAME,
                NewRoom {
                    invite: vec![managed.parse().expect("managed"), bob_id.clone()],
                    direct: true,
                    encrypted: true,
                    ..NewRoom::default()
                },
            )
            .await
            .expect("room")
            .to_string();
        let contact = Contact {
            request: format!("bench{i}"),
            outgoing: false,
            peer: format!("@raremesh:{}", hs_b.server_name),
            account_id: p.account_id.clone(),
            patient_id: p.id.clone(),
            local_pseudonym: format!("{:032x}", i + 1),
            remote_pseudonym: format!("{:032x}", i + 100_000),
            status: ContactStatus::Accepted,
            room: Some(room.clone()),
            conversation: None,
            created_at: 0,
        };
        let conversation = fa
            .talk_through_managed(&contact, &room)
            .await
            .expect("conversation");
        conversations.push((p.account_id.clone(), conversation));
        if (i + 1) % 100 == 0 {
            eprintln!("{} accounts made in {:?}", i + 1, started.elapsed());
        }
    }
    let accounts_secs = started.elapsed().as_secs_f64();
    let joined: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        nio(&[
            "join-all",
            &ub,
            "bob",
            "bob long password",
            &store,
            &members.to_string(),
        ])
    }))
    .expect("json");
    assert_eq!(joined["joined"], members as u64, "{joined}");
    let setup_secs = started.elapsed().as_secs_f64();
    let rss_setup = status_kib("VmRSS:");
    let disk = du(&a.data.join("federation/managed"));

    // The busy conversations: each member posts the form of the Messages page.
    let web = Node::from_state(sa.clone());
    let sessions: Vec<(String, String)> = conversations[..active]
        .iter()
        .map(|(account, c)| (sa.sessions.start(account).expect("session"), c.clone()))
        .collect();
    let total = active * each;
    let ready = root.join("bob-ready");
    let receiver = {
        let (ub, store, ready) = (ub.clone(), store.clone(), ready.display().to_string());
        std::thread::spawn(move || {
            nio(&[
                "receive",
                &ub,
                "bob",
                "bob long password",
                &store,
                "bench",
                &total.to_string(),
                &ready,
            ])
        })
    };
    crate::pair::wait_for("bob's app to be ready", 600, || ready.exists()).await;
    let cpu_before = cpu_secs();
    let sent_from = std::time::SystemTime::now();
    let t0 = Instant::now();
    for round in 0..each {
        for (n, (session, c)) in sessions.iter().enumerate() {
            let body = format!("csrf={CSRF}&body=bench+{}+{n}+{round}", now_ms());
            let (status, _) = web
                .post_form(&format!("/messages/{c}"), session, &body)
                .await;
            assert_eq!(status, axum::http::StatusCode::SEE_OTHER);
        }
    }
    let posting_secs = t0.elapsed().as_secs_f64();
    let got: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        receiver.join().expect("nio")
    }))
    .expect("json");
    let cpu_used = cpu_secs() - cpu_before;
    let start_epoch = sent_from
        .duration_since(std::time::UNIX_EPOCH)
        .expect("epoch")
        .as_secs_f64();
    let last = got["last"].as_f64().expect("last");
    let wall = last - start_epoch;
    let received = got["received"].as_u64().expect("received");
    assert_eq!(received, total as u64, "{got}");
    let delays: Vec<f64> = got["delays_ms"]
        .as_array()
        .expect("delays")
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let rss_peak = status_kib("VmHWM:");
    let open = fa.managed_open();

    // The reference, in the same run: the same number of messages between two members of
    // this organization (no Matrix on the way).
    let (x, y) = (&people[0], &people[1]);
    let xm = sa
        .registrations
        .member(&x.account_id)
        .expect("m")
        .expect("m");
    let ym = sa
        .registrations
        .member(&y.account_id)
        .expect("m")
        .expect("m");
    sa.messages
        .ask(&xm, &x.id, &raremesh::messages::handle(y.id.as_str()))
        .await
        .expect("ask");
    let request = sa.messages.requests_of(y.account_id.as_str()).expect("r")[0]
        .id
        .clone();
    let local = sa
        .messages
        .answer(&ym, &request, true)
        .await
        .expect("accept")
        .conversation
        .expect("conversation");
    let xs = sa.sessions.start(&x.account_id).expect("session");
    let t1 = Instant::now();
    for n in 0..total {
        // The per-member limit (60 messages a quarter of an hour) applies: the throttle is
        // cleared between batches so that the reference measures the work, not the limit.
        if n % 50 == 0 {
            sa.throttle.clear(&format!("messages:{}", x.account_id));
        }
        let (status, _) = web
            .post_form(
                &format!("/messages/{local}"),
                &xs,
                &format!("csrf={CSRF}&body=local+{n}"),
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::SEE_OTHER);
    }
    let local_secs = t1.elapsed().as_secs_f64();

    let rate = total as f64 / wall;
    let local_rate = total as f64 / local_secs;
    println!(
        "messaging benchmark: {members} members with a managed Matrix account and a conversation, {active} busy, {each} messages each"
    );
    println!(
        "  setup: accounts and rooms {accounts_secs:.1} s ({:.0} ms each); with bob's joins {setup_secs:.1} s",
        accounts_secs * 1000.0 / members as f64
    );
    println!(
        "  node memory (RSS): {:.0} MiB at start, {:.0} MiB with the members, {:.0} MiB after the accounts and rooms, {:.0} MiB peak; managed accounts open now: {open} (at most {})",
        rss_start as f64 / 1024.0,
        rss_members as f64 / 1024.0,
        rss_setup as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
        raremesh::federation::managed::OPEN_AT_ONCE
    );
    println!(
        "  keys on disk: {:.1} MiB for {members} accounts ({:.0} KiB each)",
        disk as f64 / 1_048_576.0,
        disk as f64 / 1024.0 / members as f64
    );
    println!(
        "  end to end (Messages page on A -> bob's app on B, decrypted): {total} messages in {wall:.1} s = {rate:.1} messages/s; posting took {posting_secs:.2} s"
    );
    println!(
        "  delay per message: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms; undecryptable at bob: {}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.9),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(f64::NAN),
        got["undecryptable"]
    );
    println!(
        "  node CPU meanwhile: {cpu_used:.1} s over {wall:.1} s = {:.2} cores (of 2)",
        cpu_used / wall
    );
    println!(
        "  reference, same run: {total} messages between two members of A in {local_secs:.2} s = {local_rate:.0} messages/s (ratio {:.3})",
        rate / local_rate
    );
    node_a.shut().await;
    drop(hs_b);
}
