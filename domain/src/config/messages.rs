//! The `[messages]` section: private messages between members.

use serde::{Deserialize, Serialize};

/// Private messages between members.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagesConfig {
    /// Whether members may add an image (JPEG, PNG or WebP, recognized from its content)
    /// to a message. Off by default: only text.
    pub attachments: bool,
    /// The largest image accepted, in bytes (1 KiB to 10 MiB).
    pub max_image_bytes: u64,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        Self {
            attachments: false,
            max_image_bytes: 2 * 1024 * 1024,
        }
    }
}
