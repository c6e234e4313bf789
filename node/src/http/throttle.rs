//! Slows down password guessing and mail flooding: after a few events (failed sign-ins,
//! mails sent) for one address, further ones are refused for a while. Kept in memory (a
//! restart forgets it).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per address within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window over which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Recent failures per key (a normalized email address).
#[derive(Debug, Default)]
pub struct Throttle(Mutex<HashMap<String, Vec<Instant>>>);

impl Throttle {
    /// If `key` is blocked, how long until it is not.
    pub fn blocked_for(&self, key: &str) -> Option<Duration> {
        self.blocked_for_max(key, MAX_FAILURES)
    }

    /// Like [`Self::blocked_for`] with another limit of events per window.
    pub fn blocked_for_max(&self, key: &str, max: usize) -> Option<Duration> {
        let mut map = self.0.lock().ok()?;
        let now = Instant::now();
        let list = map.get_mut(key)?;
        list.retain(|t| now.duration_since(*t) < WINDOW);
        (list.len() >= max).then(|| WINDOW.saturating_sub(now.duration_since(list[0])))
    }

    /// Records one event (a failed sign-in, a mail sent) for `key`.
    pub fn record(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 100_000 {
                // Bounded memory under a flood of made-up addresses.
                let now = Instant::now();
                map.retain(|_, l| l.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
            }
            map.entry(key.to_owned()).or_default().push(Instant::now());
        }
    }

    /// Forgets the events of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}
