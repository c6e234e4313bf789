//! Why two profiles are similar: the pairs of terms that contributed most.

use raremesh_ontology::{Ontology, TermIdx};

use super::IcTable;

/// One query term, the candidate term that matched it best, and what they share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchPair {
    /// The query's term ("you: Generalized hypotonia").
    pub query_term: TermIdx,
    /// The candidate's term ("them: Hypotonia").
    pub candidate_term: TermIdx,
    /// Their most informative common ancestor: what the two have in common.
    pub shared: TermIdx,
    /// The IC of `shared` (Resnik similarity of the pair).
    pub weight: f32,
}

/// For each query term, its best candidate term (by the IC of the shared ancestor);
/// pairs that share less than a quarter of the query term's information (only very
/// general ancestors) are left out. Best first, at most `limit`.
pub fn explain(
    ontology: &Ontology,
    ic: &IcTable,
    query: &[TermIdx],
    candidate: &[TermIdx],
    limit: usize,
) -> Vec<MatchPair> {
    let mut pairs: Vec<MatchPair> = query
        .iter()
        .filter_map(|&q| {
            candidate
                .iter()
                .filter_map(|&c| {
                    mica(ontology, ic, q, c).map(|(shared, weight)| MatchPair {
                        query_term: q,
                        candidate_term: c,
                        shared,
                        weight,
                    })
                })
                .max_by(|a, b| {
                    a.weight
                        .total_cmp(&b.weight)
                        .then_with(|| b.candidate_term.cmp(&a.candidate_term))
                })
        })
        .filter(|p| p.weight > 0.0 && p.weight >= MIN_SHARE * ic.ic(p.query_term))
        .collect();
    pairs.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.query_term.cmp(&b.query_term))
    });
    pairs.truncate(limit);
    pairs
}

/// Shared ancestors with less than this share of the query term's IC explain nothing.
const MIN_SHARE: f32 = 0.25;

/// The most informative common ancestor of two terms and its IC (the deepest on ties).
pub fn mica(ontology: &Ontology, ic: &IcTable, a: TermIdx, b: TermIdx) -> Option<(TermIdx, f32)> {
    let (xa, xb) = (ontology.ancestors(a), ontology.ancestors(b));
    let (mut i, mut j) = (0, 0);
    let mut best: Option<(TermIdx, f32)> = None;
    while i < xa.len() && j < xb.len() {
        match xa[i].cmp(&xb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let v = ic.ic(xa[i]);
                // On equal information, the more specific term says more.
                if best.is_none_or(|(b, w)| {
                    v > w || (v == w && ontology.depth(xa[i]) > ontology.depth(b))
                }) {
                    best = Some((xa[i], v));
                }
                i += 1;
                j += 1;
            }
        }
    }
    best
}
