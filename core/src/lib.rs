//! What every raremesh crate shares and nothing else: the database behind a small trait
//! ([`store::KvStore`], with sled on disk, memory for tests, typed versioned records and
//! atomic batches), the one clock ([`clock`]), the one source of random ids and tokens
//! ([`ids`]), and the message catalogues with the message type every user-facing error
//! is written in ([`i18n`], [`message`]). No web, no Matrix, no templates.
#![forbid(unsafe_code)]

pub mod clock;
pub mod i18n;
pub mod ids;
pub mod message;
pub mod store;
