//! The web side of a raremesh node: the router of pages and JSON API ([`http::app`]), who
//! is asking ([`http::extract`]), the templates and the listener with its connection
//! limits ([`connections`], [`serve`]). Everything a handler does is in
//! `raremesh-domain`; tests build the router in-process with [`http::app`].
#![forbid(unsafe_code)]

pub mod connections;
pub mod http;
pub mod metrics;
pub mod serve;

pub use raremesh_domain::{AppState, Error, Result, VERSION};
