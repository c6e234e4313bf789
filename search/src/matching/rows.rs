//! The similarity of every query term to one ontology term, read from that term's own
//! ancestors: each term's row is computed alone, so a query prepared for a set of
//! candidates computes the rows of the terms those candidates use and no other.
//!
//! The query terms' ancestors are numbered in ascending term order (the order of every
//! ancestor list), and each query term gets a bit mask of its own. For a term `t`, a mask
//! of `t`'s ancestors among them is built once; a query term's common ancestors with `t`
//! are then the set bits of one AND per 64 ancestors. The most informative of them is the
//! Resnik similarity; their IC summed in ascending order is GraphIC's shared part, the
//! same sum in the same order as a walk down from each of the query term's ancestors.

use raremesh_ontology::{Ontology, TermIdx};

use super::{IcTable, TermSim};

/// The query's ancestors, numbered, and each query term's mask over them.
#[derive(Debug, Default)]
pub(crate) struct QueryAncestors {
    /// Words of 64 bits per mask.
    words: usize,
    /// IC of each numbered ancestor.
    ic: Vec<f32>,
    /// Query term `j`'s ancestors: `masks[j * words..(j + 1) * words]`.
    masks: Vec<u64>,
    /// Each query term's own IC and the IC summed over its ancestors.
    own: Vec<(f32, f32)>,
    /// The number of each term among the query's ancestors (`u32::MAX`: not one).
    number: Vec<u32>,
    /// Every term's ancestors among the numbered ones: `term_masks[t * words..]`.
    term_masks: Vec<u64>,
    /// Every term's largest excluded IC over its ancestors (empty without exclusions).
    excluded: Vec<f32>,
}

impl QueryAncestors {
    /// Numbers the ancestors of `query`, and finds every term's ancestors among them in
    /// one pass down the graph (a term's are its parents' and itself); with `excluded`
    /// (the IC of each excluded query term, at that term) the largest over each term's
    /// ancestors too. Kept buffers are reused.
    pub(crate) fn build(
        &mut self,
        ontology: &Ontology,
        ic: &IcTable,
        query: &[TermIdx],
        excluded: Option<&[f32]>,
    ) {
        let n = ontology.terms().len();
        let mut union: Vec<TermIdx> = query
            .iter()
            .flat_map(|&q| ontology.ancestors(q).iter().copied())
            .collect();
        union.sort_unstable();
        union.dedup();
        self.number.clear();
        self.number.resize(n, u32::MAX);
        for (p, &a) in union.iter().enumerate() {
            self.number[a.index()] = p as u32;
        }
        let words = union.len().div_ceil(64).max(1);
        self.words = words;
        self.ic.clear();
        self.ic.extend(union.iter().map(|&a| ic.ic(a)));
        self.masks.clear();
        self.masks.resize(query.len() * words, 0);
        for (j, &q) in query.iter().enumerate() {
            for &a in ontology.ancestors(q) {
                let p = self.number[a.index()] as usize;
                self.masks[j * words + p / 64] |= 1 << (p % 64);
            }
        }
        self.own.clear();
        self.own
            .extend(query.iter().map(|&q| (ic.ic(q), ic.closure_sum(q))));
        self.term_masks.clear();
        self.term_masks.resize(n * words, 0);
        self.excluded.clear();
        if let Some(e) = excluded {
            self.excluded.extend_from_slice(e);
        }
        let parents = ontology.topological_parents();
        for (i, &t) in ontology.topological_order().iter().enumerate() {
            let at = t.index() * words;
            let p = self.number[t.index()];
            if p != u32::MAX {
                self.term_masks[at + p as usize / 64] |= 1 << (p % 64);
            }
            for &parent in parents.row_at(i) {
                let from = parent.index() * words;
                for w in 0..words {
                    self.term_masks[at + w] |= self.term_masks[from + w];
                }
                if !self.excluded.is_empty()
                    && self.excluded[parent.index()] > self.excluded[t.index()]
                {
                    self.excluded[t.index()] = self.excluded[parent.index()];
                }
            }
        }
    }

    /// Whether `t` is an ancestor of a query term.
    #[inline]
    pub(crate) fn contains(&self, t: TermIdx) -> bool {
        self.number[t.index()] != u32::MAX
    }

    /// For term `t`: the IC of its most informative common ancestor with each query term
    /// (`mica`), and the IC of their common ancestors summed in ascending order
    /// (`shared`). Returns the largest excluded IC over `t`'s ancestors.
    #[inline]
    pub(crate) fn common(&self, t: TermIdx, mica: &mut [f32], shared: &mut [f32]) -> f32 {
        let words = self.words;
        let term_mask = &self.term_masks[t.index() * words..(t.index() + 1) * words];
        for (j, (mx, sum)) in mica.iter_mut().zip(shared.iter_mut()).enumerate() {
            let (mut best, mut total) = (0.0f32, 0.0f32);
            let mask = &self.masks[j * words..(j + 1) * words];
            for (w, (&a, &b)) in term_mask.iter().zip(mask).enumerate() {
                let mut bits = a & b;
                while bits != 0 {
                    let v = self.ic[w * 64 + bits.trailing_zeros() as usize];
                    bits &= bits - 1;
                    // Values are never NaN: a plain comparison is `max`.
                    if v > best {
                        best = v;
                    }
                    if v > 0.0 {
                        total += v;
                    }
                }
            }
            (*mx, *sum) = (best, total);
        }
        self.excluded.get(t.index()).copied().unwrap_or(0.0)
    }

    /// Every query term's similarity to term `t` under `sim`, from their common
    /// ancestors (`mica`, `shared`: see [`Self::common`]), into `out`.
    #[inline]
    pub(crate) fn similarities(
        &self,
        ic: &IcTable,
        sim: TermSim,
        t: TermIdx,
        mica: &[f32],
        shared: &[f32],
        out: &mut [f32],
    ) {
        let ict = ic.values()[t.index()];
        match sim {
            TermSim::Resnik => out.copy_from_slice(mica),
            TermSim::Lin => {
                for ((v, &mx), &(icq, _)) in out.iter_mut().zip(mica).zip(&self.own) {
                    let d = icq + ict;
                    *v = if d > 0.0 { 2.0 * mx / d } else { 1.0 };
                }
            }
            TermSim::JiangConrath => {
                let scale = 2.0 * ic.max().max(f32::MIN_POSITIVE);
                for ((v, &mx), &(icq, _)) in out.iter_mut().zip(mica).zip(&self.own) {
                    let dist = icq + ict - 2.0 * mx;
                    *v = (1.0 - dist / scale).clamp(0.0, 1.0);
                }
            }
            TermSim::GraphIc => {
                let st = ic.closure_sum(t);
                for ((v, &sh), &(_, sq)) in out.iter_mut().zip(shared).zip(&self.own) {
                    let union = sq + st - sh;
                    *v = if union > 0.0 { sh / union } else { 0.0 };
                }
            }
        }
    }
}
