//! Everything Matrix for raremesh: the federation protocol between nodes.
//!
//! This crate holds the rules every protocol event must satisfy before it is sent or after
//! it is received ([`limits`]); the event types themselves live beside them, one file per
//! event type, under the [`NAMESPACE`].
#![forbid(unsafe_code)]

mod error;
pub mod limits;

pub use error::{Error, Result};

/// The namespace of every raremesh event type (`org.raremesh.<name>.v<version>`).
pub const NAMESPACE: &str = "org.raremesh";
