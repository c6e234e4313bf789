//! ORPHA diseases and their HPO annotations.

use serde::{Deserialize, Serialize};

use crate::{OrphaCode, TermIdx};

/// How often a feature is seen in patients with a disease.
///
/// ORPHA rows of `phenotype.hpoa` use the HPO frequency terms HP:0040280–HP:0040285;
/// the other forms of the format (`n/m`, `x%`) are kept as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// HP:0040280, always present (100%).
    Obligate,
    /// HP:0040281, 80–99%.
    VeryFrequent,
    /// HP:0040282, 30–79%.
    Frequent,
    /// HP:0040283, 5–29%.
    Occasional,
    /// HP:0040284, 1–4%.
    VeryRare,
    /// HP:0040285, never present (0%).
    Excluded,
    /// `n/m` patients.
    Ratio {
        /// Patients with the feature.
        n: u32,
        /// Patients examined.
        m: u32,
    },
    /// A percentage, in tenths of a percent (`12.5%` is 125).
    PerMille {
        /// The value in ‰.
        value: u32,
    },
    /// No frequency given.
    Unknown,
}

impl Frequency {
    /// The HPO frequency term id for the categorical forms.
    pub fn hpo_id(self) -> Option<&'static str> {
        Some(match self {
            Self::Obligate => "HP:0040280",
            Self::VeryFrequent => "HP:0040281",
            Self::Frequent => "HP:0040282",
            Self::Occasional => "HP:0040283",
            Self::VeryRare => "HP:0040284",
            Self::Excluded => "HP:0040285",
            _ => return None,
        })
    }

    /// A human label ("Very frequent (80-99%)").
    pub fn label(self) -> String {
        match self {
            Self::Obligate => "Obligate (100%)".into(),
            Self::VeryFrequent => "Very frequent (80-99%)".into(),
            Self::Frequent => "Frequent (30-79%)".into(),
            Self::Occasional => "Occasional (5-29%)".into(),
            Self::VeryRare => "Very rare (1-4%)".into(),
            Self::Excluded => "Excluded (0%)".into(),
            Self::Ratio { n, m } => format!("{n} of {m} patients"),
            Self::PerMille { value } => format!("{}.{}%", value / 10, value % 10),
            Self::Unknown => "Unknown".into(),
        }
    }

    /// The typical probability, in per mille, used to simulate patients and weight features.
    /// `Unknown` counts as frequent (the middle category).
    pub fn per_mille(self) -> u32 {
        match self {
            Self::Obligate => 1000,
            Self::VeryFrequent => 895,
            Self::Frequent => 545,
            Self::Occasional => 170,
            Self::VeryRare => 25,
            Self::Excluded => 0,
            Self::Ratio { n, m } if m > 0 => (u64::from(n.min(m)) * 1000 / u64::from(m)) as u32,
            Self::Ratio { .. } => 545,
            Self::PerMille { value } => value.min(1000),
            Self::Unknown => 545,
        }
    }
}

/// One annotated feature of a disease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The feature.
    pub term: TermIdx,
    /// How often it is seen.
    pub frequency: Frequency,
}

/// An ORPHA disease with its annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disease {
    /// Its Orphanet code.
    pub code: OrphaCode,
    /// Its name as given in the annotation file.
    pub name: String,
    /// Features seen in the disease (one per term; the most frequent when listed twice).
    pub annotations: Vec<Annotation>,
    /// Features explicitly excluded (`NOT` rows).
    pub excluded: Vec<TermIdx>,
}
