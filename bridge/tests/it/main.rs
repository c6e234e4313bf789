//! The protocol from the outside: sealing, opening, batching, and what is refused.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests may panic

mod protocol;
mod wire;
