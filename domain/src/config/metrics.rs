//! `[metrics]`: the Prometheus endpoint for the admin's monitoring.

use serde::{Deserialize, Serialize};

use super::Secret;

/// `/metrics`, in the Prometheus text format.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// The bearer token a scrape must send (`Authorization: Bearer <token>`; Prometheus:
    /// `authorization: {credentials: ...}`), at least 16 characters. Empty (the default):
    /// no `/metrics` at all. `raremesh federation tokens` prints suitable random ones.
    pub token: Secret,
}
