//! The preparation as it was before rows were computed per term: one pass over the whole
//! graph per query term and block, the table filled from those rows. Kept to check that
//! the per-term rows (`rows.rs`) give the same table, bit for bit, and that a query
//! prepared for a candidate set ranks it as one prepared for the whole ontology.

use raremesh_ontology::{Ontology, TermIdx};

use super::{IcTable, TermSim};

/// For query term `q`, the IC of the most informative common ancestor with every term:
/// `best[t] = max(IC(t) if t is an ancestor of q, best[p] for each parent p of t)`,
/// computed parents-first in one pass (exact: the common ancestors of `q` and `t` are
/// `t` itself if it is an ancestor of `q`, plus the common ancestors of `q` and `t`'s
/// parents).
fn mica_row(ontology: &Ontology, ic: &IcTable, q: TermIdx, is_anc: &mut [bool], out: &mut [f32]) {
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
fn similarity_row(
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

/// The table as the earlier preparation filled it.
fn reference_table(
    ontology: &Ontology,
    ic: &IcTable,
    sims: &[TermSim],
    query: &super::Profile,
) -> Vec<f32> {
    let n = ontology.terms().len();
    let (m, blocks) = (query.observed().len(), sims.len());
    let mut rows = vec![0.0f32; blocks * m * n];
    let mut is_anc = vec![false; n];
    for (b, &sim) in sims.iter().enumerate() {
        for (j, &q) in query.observed().iter().enumerate() {
            let at = (b * m + j) * n;
            similarity_row(ontology, ic, sim, q, &mut is_anc, &mut rows[at..at + n]);
        }
    }
    let mut excl = vec![0.0f32; n];
    for &e in query.excluded() {
        excl[e.index()] = ic.ic(e);
    }
    let parents = ontology.topological_parents();
    for (i, &t) in ontology.topological_order().iter().enumerate() {
        let inherited = parents
            .row_at(i)
            .iter()
            .fold(excl[t.index()], |a, p| a.max(excl[p.index()]));
        excl[t.index()] = inherited;
    }
    let mut has = vec![0.0f32; n];
    for &q in query.observed() {
        for &a in ontology.ancestors(q) {
            has[a.index()] = ic.ic(a);
        }
    }
    let mut table = Vec::with_capacity(n * (blocks * (m + 1) + 3));
    for t in 0..n {
        for r in 0..blocks * m {
            table.push(rows[r * n + t]);
        }
        for b in 0..blocks {
            table.push((0..m).fold(0.0f32, |x, j| x.max(rows[(b * m + j) * n + t])));
        }
        table.push(excl[t]);
        table.push(has[t]);
        table.push(ic.values()[t]);
    }
    table
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use raremesh_ontology::Source;

    use super::super::simulate::{Condition, Rng, Simulator};
    use super::super::{CandidateSet, Matcher, Measure, Prepared, Profile, Scored};
    use super::*;

    fn patients(o: &Ontology, n: usize, seed: u64) -> Vec<Profile> {
        let sim = Simulator::new(o);
        let mut rng = Rng::new(seed);
        let conditions = [
            Condition::ImpreciseNoise,
            Condition::Excluded,
            Condition::Exact,
        ];
        let mut out = Vec::new();
        while out.len() < n {
            let d = &o.diseases()[rng.below(o.diseases().len())];
            let c = conditions[out.len() % conditions.len()];
            if let Some(p) = sim.patient(d, c, &mut rng) {
                out.push(p);
            }
        }
        out
    }

    fn sims(measure: Measure) -> Vec<TermSim> {
        match measure {
            Measure::Jaccard | Measure::SimGic => Vec::new(),
            Measure::Pairwise(s, _) => vec![s],
            Measure::Raremesh(t) if t.graphic_mix > 0.0 => vec![t.term, TermSim::GraphIc],
            Measure::Raremesh(t) => vec![t.term],
        }
    }

    #[test]
    fn rows_per_term_equal_rows_per_graph_pass_bit_for_bit() {
        let (o, _) = Ontology::load(&Source::Embedded, None).expect("ontology");
        let ic = IcTable::from_annotations(&o);
        let queries = patients(&o, 12, 7);
        for measure in Measure::all() {
            let sims = sims(measure);
            if sims.is_empty() {
                continue;
            }
            for q in &queries {
                let prepared = Prepared::new(&o, &ic, measure, q);
                let expected = reference_table(&o, &ic, &sims, q);
                assert_eq!(prepared.table.len(), expected.len(), "{measure}");
                let differ = prepared
                    .table
                    .iter()
                    .zip(&expected)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count();
                assert_eq!(differ, 0, "{measure}: {differ} values differ");
            }
        }
    }

    /// Every score, sorted: what ranking must give, without any bound or shortcut.
    fn exhaustive(m: &Matcher<'_>, q: &Profile, all: &[Profile], k: usize) -> Vec<Scored> {
        let p = m.prepare(q);
        let mut v: Vec<Scored> = all
            .iter()
            .enumerate()
            .map(|(index, c)| Scored {
                index,
                score: m.score(&p, c),
            })
            .collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        v.truncate(k);
        v
    }

    #[test]
    fn ranking_with_bounds_and_set_rows_equals_scoring_everyone() {
        let (o, _) = Ontology::load(&Source::Embedded, None).expect("ontology");
        let ic = IcTable::from_annotations(&o);
        // Candidates repeat, so that ties at the k-th place are common.
        let pool = patients(&o, 1_500, 11);
        let all: Vec<Profile> = (0..3_000)
            .map(|i| pool[(i * 7) % pool.len()].clone())
            .collect();
        let mut set = CandidateSet::new();
        for c in &all {
            set.push(c);
        }
        let queries = patients(&o, 15, 13);
        for measure in Measure::all() {
            let m = Matcher::new(&o, &ic, measure);
            for q in &queries {
                for k in [1, 10, 50] {
                    let want = exhaustive(&m, q, &all, k);
                    let bits = |v: &[Scored]| {
                        v.iter()
                            .map(|s| (s.index, s.score.to_bits()))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(bits(&m.top_k(q, &set, k)), bits(&want), "{measure}, k={k}");
                    assert_eq!(bits(&m.top_k_here(q, &set, k)), bits(&want), "{measure}");
                }
            }
        }
    }
}
