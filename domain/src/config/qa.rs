//! `[qa]`: who is told about new community questions, and how often.

use serde::{Deserialize, Serialize};

/// Community questions and answers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QaConfig {
    /// How many members, the most likely to help, are told about each new question
    /// (0 to 50; 0 tells nobody).
    pub notify_top: u32,
    /// The most question notices one member receives a day (1 to 50).
    pub max_notices_per_day: u32,
    /// The lowest fit (0 to 100, as shown on the feed) worth a notice.
    pub min_fit: u32,
    /// Who reads the questions: `members` (every member, the default) or `validated`
    /// (members with a validated patient). Asking and answering always need a validated
    /// patient.
    pub readers: Readers,
}

/// Who reads community questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Readers {
    /// Every member.
    Members,
    /// Members with a validated patient.
    Validated,
}

impl Default for QaConfig {
    fn default() -> Self {
        Self {
            notify_top: 5,
            max_notices_per_day: 3,
            min_fit: 40,
            readers: Readers::Members,
        }
    }
}
