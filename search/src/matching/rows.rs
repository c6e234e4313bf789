//! Similarity of one query term to every term of the ontology, in one pass over the graph.

use raremesh_ontology::{Ontology, TermIdx};

use super::{IcTable, TermSim};

/// For query term `q`, the IC of the most informative common ancestor with every term:
/// `best[t] = max(IC(t) if t is an ancestor of q, best[p] for each parent p of t)`,
/// computed parents-first in one pass (exact: the common ancestors of `q` and `t` are
/// `t` itself if it is an ancestor of `q`, plus the common ancestors of `q` and `t`'s
/// parents).
pub(crate) fn mica_row(
    ontology: &Ontology,
    ic: &IcTable,
    q: TermIdx,
    is_anc: &mut [bool],
    out: &mut [f32],
) {
    for &a in ontology.ancestors(q) {
        is_anc[a.index()] = true;
    }
    let parents = ontology.topological_parents();
    for (i, &t) in ontology.topological_order().iter().enumerate() {
        let own = if is_anc[t.index()] { ic.ic(t) } else { 0.0 };
        let best = parents
            .row_at(i)
            .iter()
            .fold(own, |m, p| m.max(out[p.index()]));
        out[t.index()] = best;
    }
    for &a in ontology.ancestors(q) {
        is_anc[a.index()] = false;
    }
}

/// Fills `out[t] = sim(q, t)` for every term `t`.
pub(crate) fn similarity_row(
    ontology: &Ontology,
    ic: &IcTable,
    sim: TermSim,
    q: TermIdx,
    is_anc: &mut [bool],
    out: &mut [f32],
) {
    if sim == TermSim::GraphIc {
        graphic_row(ontology, ic, q, out);
        return;
    }
    mica_row(ontology, ic, q, is_anc, out);
    let icq = ic.ic(q);
    match sim {
        TermSim::Resnik | TermSim::GraphIc => {}
        TermSim::Lin => {
            for (t, v) in out.iter_mut().enumerate() {
                let d = icq + ic.values()[t];
                *v = if d > 0.0 { 2.0 * *v / d } else { 1.0 };
            }
        }
        TermSim::JiangConrath => {
            let scale = 2.0 * ic.max().max(f32::MIN_POSITIVE);
            for (t, v) in out.iter_mut().enumerate() {
                let dist = icq + ic.values()[t] - 2.0 * *v;
                *v = (1.0 - dist / scale).clamp(0.0, 1.0);
            }
        }
    }
}

/// GraphIC of `q` with every term: the IC shared over the IC of either's ancestors. The
/// shared part is accumulated from `q`'s side: each informative ancestor of `q` adds its IC
/// to all of its descendants (a few thousand terms in all, not every term's ancestors).
fn graphic_row(ontology: &Ontology, ic: &IcTable, q: TermIdx, out: &mut [f32]) {
    out.fill(0.0);
    let mut seen = vec![u32::MAX; out.len()];
    let mut stack = Vec::new();
    for (k, &a) in ontology.ancestors(q).iter().enumerate() {
        let w = ic.ic(a);
        if w <= 0.0 {
            continue;
        }
        stack.push(a);
        seen[a.index()] = k as u32;
        while let Some(t) = stack.pop() {
            out[t.index()] += w;
            for &c in ontology.children(t) {
                if seen[c.index()] != k as u32 {
                    seen[c.index()] = k as u32;
                    stack.push(c);
                }
            }
        }
    }
    let sq = ic.closure_sum(q);
    for (t, v) in out.iter_mut().enumerate() {
        let union = sq + ic.closure_sum(TermIdx(t as u32)) - *v;
        *v = if union > 0.0 { *v / union } else { 0.0 };
    }
}
