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

impl Prepared {
    /// Precomputes `measure` for `query`.
    pub fn new(ontology: &Ontology, ic: &IcTable, measure: Measure, query: &Profile) -> Self {
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
            Measure::Pairwise(sim, _) => p.prepare_rows(ontology, ic, &[sim], query),
            Measure::Raremesh(t) if t.graphic_mix > 0.0 => {
                p.prepare_rows(ontology, ic, &[t.term, TermSim::GraphIc], query)
            }
            Measure::Raremesh(t) => p.prepare_rows(ontology, ic, &[t.term], query),
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
    ) {
        let n = ontology.terms().len();
        let blocks = sims.len();
        self.blocks = blocks;
        self.stride = blocks * (self.m + 1) + 3;
        let (m, stride) = (self.m, self.stride);
        self.table = vec![0.0; n * stride];
        let mut row = vec![0.0f32; n];
        let mut is_anc = vec![false; n];
        for (b, &sim) in sims.iter().enumerate() {
            for (j, &q) in query.observed().iter().enumerate() {
                similarity_row(ontology, ic, sim, q, &mut is_anc, &mut row);
                for (t, &v) in row.iter().enumerate() {
                    self.table[t * stride + b * m + j] = v;
                    let best = &mut self.table[t * stride + blocks * m + b];
                    *best = best.max(v);
                }
            }
        }
        let extra = blocks * (m + 1);
        // Column extra: the IC of the most informative excluded query term that is this term
        // or one of its ancestors (a candidate with this term contradicts the query).
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
            self.table[t.index() * stride + extra] = inherited;
        }
        // Column extra+1: the IC of the term if the query has it or a descendant (a candidate
        // that excludes this term contradicts the query).
        for &q in query.observed() {
            for &a in ontology.ancestors(q) {
                self.table[a.index() * stride + extra + 1] = ic.ic(a);
            }
        }
        // Column extra+2: the term's own IC.
        for (t, &v) in ic.values().iter().enumerate() {
            self.table[t * stride + extra + 2] = v;
        }
    }
}
