//! Information content of terms, from how many diseases each term describes.

use crate::{Disease, TermIdx, graph::Csr};

/// Computes `IC(t) = -ln(p(t))` where `p(t)` is the share of diseases annotated with `t`
/// or one of its descendants (the true-path rule). Excluded (`NOT`) annotations do not
/// count. A term no disease uses gets the IC of a term used by exactly one disease,
/// `ln(N)`, so that rare, precise terms are never worth less than common ones.
pub(crate) fn from_diseases(n_terms: usize, ancestors: &Csr, diseases: &[Disease]) -> Vec<f64> {
    let sets: Vec<Vec<TermIdx>> = diseases
        .iter()
        .map(|d| d.annotations.iter().map(|a| a.term).collect())
        .collect();
    let (counts, total) = propagated_counts(n_terms, ancestors, sets.iter().map(Vec::as_slice));
    from_counts(&counts, total)
}

/// IC from per-term counts (already propagated to ancestors) over `total` annotated items.
pub fn from_counts(counts: &[u32], total: usize) -> Vec<f64> {
    let total = total.max(1) as f64;
    counts
        .iter()
        .map(|&c| (total / f64::from(c.max(1))).ln())
        .collect()
}

/// Propagates per-item term sets to ancestor counts: how many items use each term or a
/// descendant. Used for IC from a node's own members.
pub fn propagated_counts<'a>(
    n_terms: usize,
    ancestors: &Csr,
    items: impl IntoIterator<Item = &'a [TermIdx]>,
) -> (Vec<u32>, usize) {
    let mut counts = vec![0u32; n_terms];
    let mut stamp = vec![u32::MAX; n_terms];
    let mut n = 0usize;
    for (i, terms) in items.into_iter().enumerate() {
        n += 1;
        for &term in terms {
            for &t in ancestors.row(term) {
                if stamp[t.index()] != i as u32 {
                    stamp[t.index()] = i as u32;
                    counts[t.index()] += 1;
                }
            }
        }
    }
    (counts, n)
}
