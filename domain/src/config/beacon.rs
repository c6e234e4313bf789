//! The `[beacon]` section: the GA4GH Beacon v2 endpoint for researchers' tools.

use serde::{Deserialize, Serialize};

use super::Secret;

/// The GA4GH Beacon v2 endpoint (`/beacon/v2/`): counts of patients by HPO term, Orphanet
/// disease, sex and age band, with the protections of the research counts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconConfig {
    /// Whether the endpoint answers. Off by default.
    pub enabled: bool,
    /// Who may ask: each requester's name (in the audit log; each has its own privacy
    /// budget, `research.budget` per period) and token (sent as `Authorization: Bearer
    /// <token>`; at least 32 characters, different for each).
    pub clients: Vec<BeaconClient>,
    /// A contact for the organization's Beacon, shown in its info: an address
    /// (`mailto:...`) or a web page. Empty: none.
    pub contact: String,
    /// How long a query sent to the whole network (`requestParameters.network`) waits for
    /// the partner organizations' answers before answering with those in (1 to 60
    /// seconds).
    pub network_wait_secs: u64,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            clients: Vec::new(),
            contact: String::new(),
            network_wait_secs: 10,
        }
    }
}

/// One Beacon requester.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconClient {
    /// Its name, 1 to 64 characters.
    pub name: String,
    /// Its token.
    pub token: Secret,
}
