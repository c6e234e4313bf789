//! What a raremesh node does, without the web: accounts and sessions, registration,
//! patients and their documents, validation and its audit log, local "people like me",
//! community questions, research questionnaires, match notices, a member's export and
//! erasure, mail, backups, and the federation with partner organizations (through the
//! Matrix layer in `raremesh-bridge`). No HTTP framework or templates here: the web layer
//! (`raremesh-web`) calls this crate, never the other way round.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod beacon;
pub mod boot;
pub mod config;
pub mod demo;
pub mod documents;
pub mod erasure;
mod error;
pub mod export;
pub mod federation;
pub mod files;
pub mod mail;
pub mod messages;
pub mod mme;
pub mod notify;
pub mod phenopacket;
pub mod qa;
pub mod registration;
pub mod research;
pub mod sessions;
pub mod setup;
pub mod similar;
pub mod state;
pub mod terms;

pub use raremesh_core::{clock, i18n, ids, message, store};

pub use error::{Error, Result};
pub use state::AppState;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
