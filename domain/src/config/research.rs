//! `[research]`: questionnaires, disease groups and the smallest count ever shown.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Research questionnaires and aggregates.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResearchConfig {
    /// A folder of questionnaire files (`*.toml`, one questionnaire each), read and checked
    /// at start-up; errors name the file and the key. When unset, there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub questionnaires_dir: Option<PathBuf>,
    /// The smallest number of patients a distribution or count is shown for (5 to 1000;
    /// 2 to 4 only with `allow_small_k`).
    pub k: u32,
    /// Allow `k` from 2 to 4. With k = 2, each of two members who answered a question reads
    /// the other's exact answer: only for a node whose members all agreed to that.
    pub allow_small_k: bool,
    /// Disease groups questionnaires can target and results compare within.
    pub groups: Vec<GroupConfig>,
    /// The privacy cost of one researcher query (ε of the noise added, 0.01 to 10):
    /// smaller is more private and noisier.
    pub epsilon_per_query: f64,
    /// What a researcher may spend per period (in ε; 0.01 to 1000).
    pub budget: f64,
    /// What all the researchers of one partner node may spend together per period (in ε;
    /// `budget` to 10000): a partner names its researchers itself, so inventing names must
    /// not buy more answers.
    pub node_budget: f64,
    /// The budget period in days (1 to 366): the budget refills at its start.
    pub budget_period_days: u32,
}

impl Default for ResearchConfig {
    fn default() -> Self {
        Self {
            questionnaires_dir: None,
            k: 10,
            allow_small_k: false,
            groups: Vec::new(),
            epsilon_per_query: 0.5,
            budget: 5.0,
            node_budget: 15.0,
            budget_period_days: 30,
        }
    }
}

/// A group of diseases, e.g. the rare neuromuscular disorders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// A short id, used by questionnaires (`neuromuscular`): lowercase letters, digits, `-`.
    pub id: String,
    /// The name shown to members.
    pub name: String,
    /// The ORPHA codes of the group's diseases.
    pub orpha: Vec<u32>,
}
