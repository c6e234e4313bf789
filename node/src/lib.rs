//! The `raremesh` command and the names it and its tests use: the domain
//! (`raremesh-domain`), the web (`raremesh-web`) and the shared core (`raremesh-core`)
//! under one roof.
#![forbid(unsafe_code)]

pub use raremesh_domain::*;
pub use raremesh_web::{connections, http, metrics, serve};
