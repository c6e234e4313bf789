//! Everything Matrix for raremesh: the federation protocol between nodes.
//!
//! This crate holds the rules every protocol event must satisfy before it is sent or after
//! it is received ([`limits`]), the messages ([`protocol`]), their encryption to trusted
//! peers ([`seal`]) and their splitting into events that fit ([`batch`]). It does no I/O:
//! the node sends and receives the events.
#![forbid(unsafe_code)]

pub mod batch;
mod error;
pub mod limits;
pub mod protocol;
pub mod seal;

pub use error::{Error, Result};

/// The namespace of every raremesh event type (`org.raremesh.<name>.v<version>`).
pub const NAMESPACE: &str = "org.raremesh";
