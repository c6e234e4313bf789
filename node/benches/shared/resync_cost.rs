//! The size of one resync request, sealed as a node seals it: shared by the benchmarks
//! that compute a resync round (`partners`) and measure one (`three`).

use std::collections::BTreeMap;

use raremesh_bridge::protocol::{Payload, random_id};
use raremesh_bridge::seal::{seal, to_content};

/// Bytes of event content of a snapshot request naming a point for each of `peers` (Matrix
/// user id, key): sealed for all of them.
pub fn request_bytes(peers: &[(String, age::x25519::Recipient)], point: u64) -> usize {
    let since: BTreeMap<String, u64> = peers.iter().map(|(u, _)| (u.clone(), point)).collect();
    let recipients: Vec<age::x25519::Recipient> = peers.iter().map(|(_, k)| k.clone()).collect();
    let request = seal(
        &Payload::SnapshotRequest {
            request: random_id().expect("id"),
            since,
        },
        &recipients,
    )
    .expect("seal");
    to_content(&request).expect("content").to_string().len()
}
