//! Per-query precomputation: one row of the ontology per query term, laid out term-major
//! so that scoring a candidate term reads one short contiguous slice.

use raremesh_ontology::{Ontology, TermIdx};

use super::rows::similarity_row;
use super::{IcTable, Measure, Profile, TermSim};

/// What scoring needs about one query.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(crate) measure: Measure,
    /// Query terms (observed).
    pub(crate) m: usize,
    /// Blocks of similarities: 1, or 2 when a GraphIC score is mixed in.
    pub(crate) blocks: usize,
    /// Columns per ontology term: per block `m` similarities; per block the best of them;
    /// then the contradiction weight of the term, its weight as an ancestor of the query,
    /// and its own IC.
    pub(crate) stride: usize,
    pub(crate) table: Vec<f32>,
    /// Each query term's own IC (its best possible match under Resnik).
    pub(crate) self_ic: Vec<f32>,
    /// Sum of `self_ic`.
    pub(crate) total_ic: f32,
    /// For set measures: which terms are in the query's ancestor closure.
    pub(crate) closure: Vec<bool>,
    /// For set measures: size and IC sum of the query closure.
    pub(crate) closure_len: usize,
    pub(crate) closure_ic: f32,
}

/// Buffers kept between the preparations of many queries (a batch), so that no large
/// buffer is allocated (and its pages faulted in) again for each query.
#[derive(Debug, Default)]
pub struct Workspace {
    scratch: Vec<f32>,
    is_anc: Vec<bool>,
    excl: Vec<f32>,
    has: Vec<f32>,
    spare_table: Vec<f32>,
}

impl Workspace {
    /// Takes back the table of a prepared query that is no longer needed.
    pub fn recycle(&mut self, p: Prepared) {
        if p.table.capacity() > self.spare_table.capacity() {
            self.spare_table = p.table;
        }
    }
}

impl Prepared {
    /// Precomputes `measure` for `query`.
    pub fn new(ontology: &Ontology, ic: &IcTable, measure: Measure, query: &Profile) -> Self {
        Self::with(ontology, ic, measure, query, &mut Workspace::default())
    }

    /// [`Self::new`], with buffers kept in `w` between queries (the same result).
    pub fn with(
        ontology: &Ontology,
        ic: &IcTable,
        measure: Measure,
        query: &Profile,
        w: &mut Workspace,
    ) -> Self {
        let q = query.observed();
        let m = q.len();
        let mut p = Self {
            measure,
            m,
            blocks: 1,
            stride: m + 4,
            table: Vec::new(),
            self_ic: q.iter().map(|&t| ic.ic(t)).collect(),
            total_ic: q.iter().map(|&t| ic.ic(t)).sum(),
            closure: Vec::new(),
            closure_len: 0,
            closure_ic: 0.0,
        };
        match measure {
            Measure::Jaccard | Measure::SimGic => p.prepare_closure(ontology, ic, q),
            Measure::Pairwise(sim, _) => p.prepare_rows(ontology, ic, &[sim], query, w),
            Measure::Raremesh(t) if t.graphic_mix > 0.0 => {
                p.prepare_rows(ontology, ic, &[t.term, TermSim::GraphIc], query, w)
            }
            Measure::Raremesh(t) => p.prepare_rows(ontology, ic, &[t.term], query, w),
        }
        p
    }

    fn prepare_closure(&mut self, ontology: &Ontology, ic: &IcTable, q: &[TermIdx]) {
        self.closure = vec![false; ontology.terms().len()];
        for &t in q {
            for &a in ontology.ancestors(t) {
                if !self.closure[a.index()] {
                    self.closure[a.index()] = true;
                    self.closure_len += 1;
                    self.closure_ic += ic.ic(a);
                }
            }
        }
    }

    fn prepare_rows(
        &mut self,
        ontology: &Ontology,
        ic: &IcTable,
        sims: &[TermSim],
        query: &Profile,
        w: &mut Workspace,
    ) {
        let n = ontology.terms().len();
        let blocks = sims.len();
        self.blocks = blocks;
        self.stride = blocks * (self.m + 1) + 3;
        let m = self.m;
        // Each query term's row over the whole ontology, per block, then the table filled
        // term by term in one forward pass (sequential writes, no zeroing).
        let mut rows = std::mem::take(&mut w.scratch);
        rows.resize(blocks * m * n, 0.0);
        let mut is_anc = std::mem::take(&mut w.is_anc);
        is_anc.resize(n, false);
        for (b, &sim) in sims.iter().enumerate() {
            for (j, &q) in query.observed().iter().enumerate() {
                let at = (b * m + j) * n;
                similarity_row(ontology, ic, sim, q, &mut is_anc, &mut rows[at..at + n]);
            }
        }
        w.is_anc = is_anc;
        // The IC of the most informative excluded query term that is this term or one of
        // its ancestors (a candidate with this term contradicts the query).
        let mut excl = std::mem::take(&mut w.excl);
        excl.clear();
        excl.resize(n, 0.0);
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
        // The IC of the term if the query has it or a descendant (a candidate that
        // excludes this term contradicts the query).
        let mut has = std::mem::take(&mut w.has);
        has.clear();
        has.resize(n, 0.0);
        for &q in query.observed() {
            for &a in ontology.ancestors(q) {
                has[a.index()] = ic.ic(a);
            }
        }
        let own = ic.values();
        let mut table = std::mem::take(&mut w.spare_table);
        table.clear();
        table.reserve(n * self.stride);
        for t in 0..n {
            for r in 0..blocks * m {
                table.push(rows[r * n + t]);
            }
            for b in 0..blocks {
                let best = (0..m).fold(0.0f32, |x, j| x.max(rows[(b * m + j) * n + t]));
                table.push(best);
            }
            table.push(excl[t]);
            table.push(has[t]);
            table.push(own[t]);
        }
        self.table = table;
        (w.scratch, w.excl, w.has) = (rows, excl, has);
    }
}
