//! Everything Matrix for raremesh: the connection to the organization's homeserver, the
//! application service endpoint, rooms, sending, receiving, and the federation protocol
//! between nodes.
//!
//! - [`client`]: the node's calls to its homeserver as the application service user (ruma
//!   request types); [`rooms`]: the kinds of rooms raremesh makes, by `m.room.create` type.
//! - [`appservice`]: the transactions the homeserver pushes; [`timeline`]: catching up
//!   from the rooms' timelines after an outage, back to the last event applied;
//!   both give [`event::Incoming`] events, applied once by event id.
//! - [`device`]: the node's own device, a matrix-sdk client with its session, sync
//!   position and end-to-end encryption keys on disk: sync from where it stopped after any
//!   outage, encrypted rooms read and written.
//! - [`drops`]: every dropped event logged and counted by reason.
//! - [`registration`]: the registration file the homeserver reads.
//! - The protocol: the rules every event must satisfy ([`limits`]), the messages
//!   ([`protocol`]), their encryption to trusted peers ([`seal`]) and their splitting into
//!   events that fit ([`batch`]).
#![forbid(unsafe_code)]

pub mod appservice;
pub mod batch;
pub mod client;
pub mod device;
pub mod drops;
mod error;
pub mod event;
pub mod limits;
pub mod protocol;
pub mod registration;
pub mod rooms;
pub mod seal;
pub mod timeline;

pub use error::{Error, Result};
/// The Matrix types this crate speaks in (one copy, shared with matrix-sdk).
pub use ruma;

/// The namespace of every raremesh event type (`org.raremesh.<name>.v<version>`).
pub const NAMESPACE: &str = "org.raremesh";
