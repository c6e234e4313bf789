//! Information content tables for the similarity measures.

use raremesh_ontology::{Ontology, TermIdx, ic};

use super::Profile;

/// Per-term information content and the sums the graph measures need.
#[derive(Debug, Clone)]
pub struct IcTable {
    ic: Vec<f32>,
    /// Sum of IC over each term's ancestor closure (itself included).
    closure_sum: Vec<f32>,
    max: f32,
}

impl IcTable {
    /// IC from the ORPHA annotations of the ontology (the default).
    pub fn from_annotations(ontology: &Ontology) -> Self {
        Self::from_values(
            ontology,
            ontology
                .information_content()
                .iter()
                .map(|&v| v as f32)
                .collect(),
        )
    }

    /// IC from a population of profiles, e.g. a node's own members: how many of them
    /// have each term or a descendant. Terms nobody has get the IC of a term one has.
    pub fn from_profiles<'a>(
        ontology: &Ontology,
        profiles: impl IntoIterator<Item = &'a Profile>,
    ) -> Self {
        let (counts, n) = ic::propagated_counts(
            ontology.terms().len(),
            ontology.ancestor_rows(),
            profiles.into_iter().map(Profile::observed),
        );
        Self::from_values(
            ontology,
            ic::from_counts(&counts, n)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        )
    }

    fn from_values(ontology: &Ontology, ic: Vec<f32>) -> Self {
        let closure_sum = (0..ic.len())
            .map(|t| {
                ontology
                    .ancestors(TermIdx(t as u32))
                    .iter()
                    .map(|a| ic[a.index()])
                    .sum()
            })
            .collect();
        let max = ic.iter().copied().fold(0.0, f32::max);
        Self {
            ic,
            closure_sum,
            max,
        }
    }

    /// IC of a term.
    pub fn ic(&self, t: TermIdx) -> f32 {
        self.ic[t.index()]
    }

    /// All IC values, by term index.
    pub fn values(&self) -> &[f32] {
        &self.ic
    }

    pub(crate) fn closure_sum(&self, t: TermIdx) -> f32 {
        self.closure_sum[t.index()]
    }

    /// The largest IC of any term.
    pub fn max(&self) -> f32 {
        self.max
    }
}
