//! Slows down password guessing and mail flooding: after a few events (failed sign-ins,
//! mails sent) for one key, further ones are refused for a while. Kept in memory (a
//! restart forgets it).
//!
//! Sign-in uses growing delays rather than a lockout, counted three ways: failures for one
//! account from one client address (after 3, the next try waits 1 s, then 2, 4... up to 15
//! minutes after the last failure), for one client address across accounts (after 20), and
//! for one account from everywhere (after 50). So someone guessing from elsewhere slows
//! down their own tries, not the member's, and the member is never locked out for longer
//! than the delay; 127.0.0.1 and ::1 (a reverse proxy on the same machine) are not counted
//! as clients of their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window over which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The longest sign-in delay.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins for one account from one client before delays start.
const PAIR_FREE: usize = 3;
/// Failed sign-ins from one client, all accounts, before delays start.
const CLIENT_FREE: usize = 20;
/// Failed sign-ins for one account, from everywhere, before delays start.
const ACCOUNT_FREE: usize = 50;

/// The keys a sign-in counts under: account and client, client (when it is one of its own:
/// not 127.0.0.1 or ::1, where a reverse proxy on the same machine connects from, and not
/// unknown), account.
fn sign_in_keys(email: &str, client: Option<IpAddr>) -> Vec<String> {
    let proxy = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => *v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6.is_loopback(),
    };
    let client = client.filter(|ip| !proxy(ip));
    let who = client.map_or_else(|| "local".to_owned(), |ip| ip.to_string());
    let mut keys = vec![format!("signin:{email}|{who}")];
    if let Some(ip) = client {
        keys.push(format!("signin-client:{ip}"));
    }
    keys.push(format!("signin-account:{email}"));
    keys
}

/// Recent failures per key (a normalized email address).
#[derive(Debug, Default)]
pub struct Throttle(Mutex<HashMap<String, Vec<Instant>>>);

impl Throttle {
    /// If `key` had `max` events or more within [`WINDOW`], how long until it has fewer.
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

    /// How long `key` must still wait: after `free` events in the window, 1 s after the
    /// last one, doubling with each further event, at most 15 minutes.
    pub fn delay(&self, key: &str, free: usize) -> Option<Duration> {
        let mut map = self.0.lock().ok()?;
        let now = Instant::now();
        let list = map.get_mut(key)?;
        list.retain(|t| now.duration_since(*t) < WINDOW);
        let over = list.len().checked_sub(free)?;
        let needed = Duration::from_secs(1u64 << over.min(10)).min(MAX_DELAY);
        let since = now.duration_since(*list.last()?);
        (since < needed).then(|| needed - since)
    }

    /// How long a sign-in for `email` from `client` must wait, if at all.
    pub fn sign_in_wait(&self, email: &str, client: Option<IpAddr>) -> Option<Duration> {
        let keys = sign_in_keys(email, client);
        let pair = self.delay(&keys[0], PAIR_FREE);
        let from_client = (keys.len() == 3)
            .then(|| self.delay(&keys[1], CLIENT_FREE))
            .flatten();
        let account = keys.last().and_then(|k| self.delay(k, ACCOUNT_FREE));
        [pair, from_client, account].into_iter().flatten().max()
    }

    /// Records a failed sign-in.
    pub fn sign_in_failed(&self, email: &str, client: Option<IpAddr>) {
        for k in sign_in_keys(email, client) {
            self.record(&k);
        }
    }

    /// Forgets the failures of this account from this client, and from everywhere (after
    /// a successful sign-in).
    pub fn sign_in_succeeded(&self, email: &str, client: Option<IpAddr>) {
        let keys = sign_in_keys(email, client);
        self.clear(&keys[0]);
        if let Some(k) = keys.last() {
            self.clear(k);
        }
    }

    /// Forgets the events of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}
