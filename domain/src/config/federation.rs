//! `[federation]`: the connection to the organization's Matrix homeserver (as an
//! application service) and the trusted peer nodes.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// The federation with other organizations' nodes, over Matrix.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Off until an admin has registered the node with the homeserver and listed peers.
    pub enabled: bool,
    /// The homeserver's client-server API, e.g. `https://matrix.rare.example.org` (or
    /// `http://127.0.0.1:8008` on the same machine).
    pub homeserver_url: String,
    /// The homeserver's server name: the part after `:` in its user ids, e.g.
    /// `rare.example.org`.
    pub server_name: String,
    /// The node's Matrix user: `@<sender_localpart>:<server_name>`.
    pub sender_localpart: String,
    /// The token the node sends to the homeserver (from the application service
    /// registration). Never printed or logged.
    pub as_token: Secret,
    /// The token the homeserver sends to the node. Never printed or logged.
    pub hs_token: Secret,
    /// Seconds between two checks for profiles to publish or retract (1 to 3600); changes
    /// are also published as soon as they happen.
    pub publish_interval_secs: u64,
    /// Seconds between two requests to every peer for what it changed since its last
    /// answer (everything the first time and once a week; 5 to 604800). A node that was
    /// down gets what it missed from its homeserver, which queues it; after its
    /// homeserver was down, or a lost copy, this request repairs it.
    pub resync_interval_secs: u64,
    /// The nodes this node trusts: it sends them its members' vectors (encrypted to their
    /// keys) and accepts theirs. Each peer's admin prints these values with
    /// `raremesh federation whoami`.
    pub peers: Vec<PeerConfig>,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            homeserver_url: String::new(),
            server_name: String::new(),
            sender_localpart: "raremesh".to_owned(),
            as_token: Secret::default(),
            hs_token: Secret::default(),
            publish_interval_secs: 30,
            resync_interval_secs: 3600,
            peers: Vec::new(),
        }
    }
}

/// A trusted peer node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The organization's name, shown to members next to its matches (1 to 120 characters).
    pub name: String,
    /// The peer node's Matrix user id, e.g. `@raremesh:other.example.org`.
    pub user_id: String,
    /// The peer node's age public key (`age1...`).
    pub age_key: String,
}

/// Whether `s` has the form of a Matrix user id (`@localpart:server`).
pub fn is_user_id(s: &str) -> bool {
    s.len() <= 255
        && s.strip_prefix('@')
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(local, server)| {
                !local.is_empty()
                    && local.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-/+".contains(&b)
                    })
                    && !server.is_empty()
                    && !server.chars().any(|c| c.is_whitespace() || c == '/')
            })
}

impl FederationConfig {
    /// The node's Matrix user id.
    pub fn user_id(&self) -> String {
        format!("@{}:{}", self.sender_localpart, self.server_name)
    }

    /// Checks the section when federation is enabled; the error names the key. A node
    /// whose federation section is wrong still serves its members (without federation).
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if !self.enabled {
            return Ok(());
        }
        let url = self.homeserver_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.split_once("://").is_none_or(|(_, h)| h.is_empty())
        {
            return bad(
                "federation.homeserver_url",
                format!(
                    "{:?} is not an http:// or https:// address",
                    self.homeserver_url
                ),
            );
        }
        let sn = self.server_name.trim();
        if sn.is_empty()
            || sn
                .chars()
                .any(|c| c.is_whitespace() || c == '/' || c == '@')
        {
            return bad(
                "federation.server_name",
                format!("{:?} is not a homeserver name", self.server_name),
            );
        }
        if !is_user_id(&self.user_id()) {
            return bad(
                "federation.sender_localpart",
                format!(
                    "{:?} cannot be a Matrix user name (lowercase letters, digits, ._=-/+)",
                    self.sender_localpart
                ),
            );
        }
        for (key, token) in [
            ("federation.as_token", &self.as_token),
            ("federation.hs_token", &self.hs_token),
        ] {
            if token.expose().len() < 16 {
                return bad(key, "must be set, at least 16 characters".into());
            }
        }
        if self.as_token == self.hs_token {
            return bad(
                "federation.hs_token",
                "must differ from federation.as_token".into(),
            );
        }
        if !(1..=3600).contains(&self.publish_interval_secs) {
            return bad(
                "federation.publish_interval_secs",
                format!("{} is not between 1 and 3600", self.publish_interval_secs),
            );
        }
        if !(5..=604_800).contains(&self.resync_interval_secs) {
            return bad(
                "federation.resync_interval_secs",
                format!("{} is not between 5 and 604800", self.resync_interval_secs),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.peers.iter().enumerate() {
            let key = |k: &str| format!("federation.peers[{i}].{k}");
            let name = p.name.trim();
            if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
                return bad(&key("name"), "must be 1 to 120 characters".into());
            }
            if !is_user_id(&p.user_id) {
                return bad(
                    &key("user_id"),
                    format!("{:?} is not a Matrix user id (@name:server)", p.user_id),
                );
            }
            if p.user_id == self.user_id() {
                return bad(&key("user_id"), "is this node itself".into());
            }
            if !seen.insert(p.user_id.as_str()) {
                return bad(&key("user_id"), format!("{} is listed twice", p.user_id));
            }
            if p.age_key.trim().parse::<age::x25519::Recipient>().is_err() {
                return bad(
                    &key("age_key"),
                    format!("{:?} is not an age public key (age1...)", p.age_key),
                );
            }
        }
        Ok(())
    }
}
