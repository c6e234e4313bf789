//! The `[mme]` section: the Matchmaker Exchange endpoint for clinicians' matchmakers, and
//! the matchmakers this organization may send a patient's profile to.

use serde::{Deserialize, Serialize};

use super::Secret;

/// The Matchmaker Exchange (MME search API v1) endpoint, `POST /mme/match`: clinicians'
/// matchmakers find patients similar to theirs among the validated patients whose member
/// consented to it; the answer names the organization as contact, never the member.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MmeConfig {
    /// Whether `/mme/match` and `/mme/heartbeat` answer. Off by default; when on, at least
    /// one client and a contact are needed.
    pub enabled: bool,
    /// The contact named in every result, in place of the member: the organization's
    /// person or desk for matchmaking follow-ups (1 to 255 characters).
    pub contact_name: String,
    /// How to reach that contact: a `mailto:` address or an `https://` page (required when
    /// enabled).
    pub contact_href: String,
    /// The most results one request gets (1 to 50).
    pub max_results: usize,
    /// The most requests one client may make in 15 minutes (1 to 10,000); more get a 429.
    pub requests_per_window: usize,
    /// Whether this is the organization's production system (the heartbeat says so).
    pub production: bool,
    /// The matchmakers that may ask: each one's name (in the audit log) and the token it
    /// sends in `X-Auth-Token` (at least 32 characters, different for each).
    pub clients: Vec<MmeClient>,
    /// The matchmakers an admin or validator may send a patient's profile to: each one's
    /// name, base URL (`https://...`, or `http://` on this machine only; `/match` is added)
    /// and the token this node sends.
    pub servers: Vec<MmeServer>,
}

impl Default for MmeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            contact_name: String::new(),
            contact_href: String::new(),
            max_results: 10,
            requests_per_window: 300,
            production: true,
            clients: Vec::new(),
            servers: Vec::new(),
        }
    }
}

/// One matchmaker that may ask this node.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MmeClient {
    /// Its name, 1 to 64 characters.
    pub name: String,
    /// Its token.
    pub token: Secret,
}

/// One matchmaker this node may ask.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MmeServer {
    /// Its name, 1 to 64 characters, as admins see it.
    pub name: String,
    /// Its base URL; requests go to `<url>/match`.
    pub url: String,
    /// The token this node sends it in `X-Auth-Token`.
    pub token: Secret,
}
