//! The node's own Matrix device (matrix-sdk) against a real Synapse and a third-party
//! client (matrix-nio): it reads and writes an end-to-end encrypted room, and after a
//! restart it is the same device, with its keys, and syncs on from where it stopped.

use std::time::{Duration, Instant};

use raremesh_bridge::client::{Homeserver as Client, NewRoom};
use raremesh_bridge::device::Device;
use raremesh_bridge::event::Incoming;
use raremesh_bridge::rooms::RoomKind;
use raremesh_bridge::ruma::events::TimelineEventType;
use raremesh_bridge::ruma::{OwnedRoomId, OwnedUserId};

use crate::federation::nio;
use crate::pair::{Side, test_root};
use crate::synapse::Homeserver;

/// Syncs until an event satisfying `found` arrives (deadline `secs`); every event seen.
async fn sync_until(
    device: &Device,
    secs: u64,
    mut found: impl FnMut(&Incoming) -> bool,
) -> Vec<Incoming> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    loop {
        let s = device.sync(Duration::from_secs(1)).await.expect("sync");
        let hit = s.events.iter().any(&mut found);
        seen.extend(s.events);
        if hit {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "not arrived in {secs} s; seen {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_device_reads_and_writes_an_encrypted_room_and_keeps_its_keys_and_position() {
    let root = test_root();
    let side = Side::new(&root.path, "a");
    let hs = {
        let (side, root) = (side.clone(), root.path.clone());
        std::thread::spawn(move || {
            Homeserver::start_with(&root.join("hs"), None, |name| {
                vec![side.registration_from_command(&root, name)]
            })
        })
        .join()
        .expect("homeserver")
    };
    let client = Client::new(&hs.url, &side.as_token).expect("client");
    let user: OwnedUserId = format!("@raremesh-device:{}", hs.server_name)
        .try_into()
        .expect("user id");
    let dir = side.data.join("federation/device");
    let device = Device::open(&client, &user, &dir, &[7; 32])
        .await
        .expect("open the device");
    let device_id = device.device_id().to_owned();
    let alice = hs.register("alice", "alice-password-1");

    let room: OwnedRoomId = client
        .create_room(
            RoomKind::Contact,
            "encrypted test room",
            NewRoom {
                invite: vec![user.clone(), alice.clone().try_into().expect("alice")],
                encrypted: true,
                ..NewRoom::default()
            },
        )
        .await
        .expect("create an encrypted room");
    device.join(&room).await.expect("the device joins");
    device.sync(Duration::from_secs(1)).await.expect("sync");
    assert!(device.is_encrypted(&room).await, "the room is encrypted");

    // Alice (matrix-nio) sends an encrypted text and waits for the device's answer.
    let (url, r) = (hs.url.clone(), room.to_string());
    let nio_run = std::thread::spawn(move || {
        nio(&[
            "exchange",
            &url,
            "alice",
            "alice-password-1",
            &r,
            "hello from a Matrix app",
            "hello from the node",
        ])
    });
    let seen = sync_until(&device, 90, |e| e.text() == Some("hello from a Matrix app")).await;
    let from_alice = seen
        .iter()
        .find(|e| e.text() == Some("hello from a Matrix app"))
        .expect("alice's text");
    assert_eq!(from_alice.sender.as_str(), alice, "sent by alice");
    device
        .send_text(&room, "hello from the node")
        .await
        .expect("the device sends");
    let out: serde_json::Value =
        serde_json::from_str(&nio_run.join().expect("nio")).expect("nio json");
    assert_eq!(out["received"], "hello from the node", "{out}");
    assert_eq!(
        out["was_encrypted"], true,
        "the node's text came encrypted: {out}"
    );

    // The homeserver holds no text of either: only m.room.encrypted events.
    let (message, encrypted) = (
        TimelineEventType::RoomMessage.to_string(),
        TimelineEventType::RoomEncrypted.to_string(),
    );
    let rows = hs.query(&format!(
        "SELECT type, json FROM events JOIN event_json USING (event_id) WHERE events.room_id = '{room}' AND type IN ('{message}', '{encrypted}')"
    ));
    assert!(rows.len() >= 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row[0], encrypted.as_str(), "{row}");
        let json = row[1].as_str().unwrap_or_default();
        assert!(
            !json.contains("hello from"),
            "plain text on the homeserver: {json}"
        );
    }

    // The node stops; while it is away, alice sends again (from another device of hers).
    drop(device);
    nio(&[
        "send",
        &hs.url,
        "alice",
        "alice-password-1",
        room.as_str(),
        r#"{"msgtype": "m.text", "body": "while you were away"}"#,
    ]);
    let device = Device::open(&client, &user, &dir, &[7; 32])
        .await
        .expect("open again");
    assert_eq!(
        device.device_id(),
        device_id,
        "the same device after a restart"
    );
    let seen = sync_until(&device, 60, |e| e.text() == Some("while you were away")).await;
    assert!(
        !seen
            .iter()
            .any(|e| e.text() == Some("hello from a Matrix app")),
        "the sync went on from where it stopped, not from the beginning: {seen:?}"
    );

    // Stores that do not open with the node's key (its secret was replaced) are not
    // read: the node makes a new device instead of failing for ever.
    drop(device);
    let other = Device::open(&client, &user, &dir, &[8; 32])
        .await
        .expect("a new device");
    assert_ne!(
        other.device_id(),
        device_id,
        "the stores are encrypted with the key: another key gets a new device"
    );
}
