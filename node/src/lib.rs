//! The raremesh node: configuration, start-up, the web UI and JSON API.
//!
//! The binary (`src/main.rs`) is a thin command line over this library; tests build the
//! whole router with [`http::app`] and drive it in-process or over a real socket.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod boot;
pub mod config;
pub mod connections;
pub mod demo;
pub mod documents;
pub mod erasure;
mod error;
pub mod export;
pub mod federation;
pub mod files;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod qa;
pub mod registration;
pub mod research;
pub mod serve;
pub mod sessions;
pub mod setup;
pub mod similar;
pub mod state;
pub mod store;

pub use error::{Error, Result};
pub use state::AppState;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
