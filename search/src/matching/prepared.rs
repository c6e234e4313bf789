//! Per-query precomputation: one row of the ontology per query term, laid out term-major
//! so that scoring a candidate term reads one short contiguous slice.

use raremesh_ontology::{Ontology, TermIdx};

use super::rows::QueryAncestors;
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
    /// Per ontology term, what bounds a candidate's score from above (see
    /// [`Summary`]); empty when the measure has no bound.
    pub(crate) summary: Vec<Summary>,
    /// The most each block's query-side sum can reach (every query term matched at its
    /// best).
    pub(crate) q_cap: [f32; 2],
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
    ancestors: QueryAncestors,
    excluded_ic: Vec<f32>,
    spare_table: Vec<f32>,
    spare_summary: Vec<Summary>,
}

impl Workspace {
    /// Takes back the table of a prepared query that is no longer needed.
    pub fn recycle(&mut self, p: Prepared) {
        if p.table.capacity() > self.spare_table.capacity() {
            self.spare_table = p.table;
        }
        if p.summary.capacity() > self.spare_summary.capacity() {
            self.spare_summary = p.summary;
        }
    }
}

/// Which terms' rows a preparation computes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Terms<'a> {
    /// Every term of the ontology.
    All,
    /// The terms a candidate set uses.
    Only(&'a super::CandidateSet),
}

/// What one ontology term adds to a candidate's upper bound, when the candidate has it:
/// `[its candidate-side best match (as summed), its own IC, the sum over query terms of
/// its similarity to each (as summed on the query side), the same two for the second
/// block, its contradiction weight, 0, 0]`. A query term's best match in a candidate is
/// at most the sum of its matches with every candidate term, so summing these over a
/// candidate's terms bounds the score without reading their `m`-wide rows.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(32))]
pub(crate) struct Summary(pub(crate) [f32; 8]);

/// How the query side counts a best match (floor, sharpening), and the candidate side
/// its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuerySide {
    floor: f32,
    sharpen: bool,
}

impl QuerySide {
    pub(crate) fn of(measure: Measure) -> Self {
        match measure {
            Measure::Raremesh(t) => Self {
                floor: t.floor,
                sharpen: t.sharpen,
            },
            _ => Self {
                floor: 0.0,
                sharpen: false,
            },
        }
    }

    /// A query term's best match `best`, the term's own IC being `own`.
    #[inline]
    pub(crate) fn value(self, best: f32, own: f32) -> f32 {
        if best < self.floor * own {
            0.0
        } else if self.sharpen {
            super::score::sharpened(best, own)
        } else {
            best
        }
    }

    /// Whether best matches are squared.
    pub(crate) fn sharpens(self) -> bool {
        self.sharpen
    }

    /// Below this a query term's best match counts as zero (the term's own IC being
    /// `own`).
    pub(crate) fn floor_of(self, own: f32) -> f32 {
        self.floor * own
    }

    /// A candidate term's best match in the query, the term's own IC being `own`.
    #[inline]
    pub(crate) fn candidate_value(self, best: f32, own: f32) -> f32 {
        if self.sharpen {
            super::score::sharpened(best, own)
        } else {
            best
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
        Self::for_terms(ontology, ic, measure, query, w, Terms::All)
    }

    /// [`Self::with`] computing the rows of `terms` only: scoring reads no other row, so
    /// the result may score only candidates whose terms (observed and excluded) are all
    /// in `terms`.
    pub(crate) fn for_terms(
        ontology: &Ontology,
        ic: &IcTable,
        measure: Measure,
        query: &Profile,
        w: &mut Workspace,
        terms: Terms<'_>,
    ) -> Self {
        let q = query.observed();
        let m = q.len();
        let mut p = Self {
            measure,
            m,
            blocks: 1,
            stride: m + 4,
            table: Vec::new(),
            summary: Vec::new(),
            q_cap: [0.0; 2],
            self_ic: q.iter().map(|&t| ic.ic(t)).collect(),
            total_ic: q.iter().map(|&t| ic.ic(t)).sum(),
            closure: Vec::new(),
            closure_len: 0,
            closure_ic: 0.0,
        };
        match measure {
            Measure::Jaccard | Measure::SimGic => p.prepare_closure(ontology, ic, q),
            Measure::Pairwise(sim, _) => p.prepare_rows(ontology, ic, &[sim], query, w, terms),
            Measure::Raremesh(t) if t.graphic_mix > 0.0 => {
                p.prepare_rows(ontology, ic, &[t.term, TermSim::GraphIc], query, w, terms)
            }
            Measure::Raremesh(t) => p.prepare_rows(ontology, ic, &[t.term], query, w, terms),
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
        terms: Terms<'_>,
    ) {
        let n = ontology.terms().len();
        let (m, blocks) = (self.m, sims.len());
        self.blocks = blocks;
        self.stride = blocks * (m + 1) + 3;
        let stride = self.stride;
        let own = ic.values();
        let mut anc = std::mem::take(&mut w.ancestors);
        // The IC of each excluded query term, at that term: a candidate term under it
        // contradicts the query (its largest over the candidate term's ancestors).
        let mut excluded_ic = std::mem::take(&mut w.excluded_ic);
        let has_excluded = !query.excluded().is_empty();
        if has_excluded {
            excluded_ic.clear();
            excluded_ic.resize(n, 0.0);
            for &e in query.excluded() {
                excluded_ic[e.index()] = ic.ic(e);
            }
        }
        anc.build(
            ontology,
            ic,
            query.observed(),
            has_excluded.then_some(excluded_ic.as_slice()),
        );
        // Rows of terms not computed are never read: the buffers are sized for every
        // term and only the terms asked for are written.
        let mut table = std::mem::take(&mut w.spare_table);
        table.resize(n * stride, 0.0);
        let mut summary = std::mem::take(&mut w.spare_summary);
        summary.resize(n, Summary::default());
        let q_side = QuerySide::of(self.measure);
        let mut col_max = vec![0.0f32; blocks * m];
        let sharpen = q_side.sharpens();
        let floor_at: Vec<f32> = self.self_ic.iter().map(|&o| q_side.floor_of(o)).collect();
        let inverse_ic: Vec<f32> = self
            .self_ic
            .iter()
            .map(|&o| if o > 0.0 { 1.0 / o } else { 0.0 })
            .collect();
        let (mut mica, mut shared) = (vec![0.0f32; m], vec![0.0f32; m]);
        let mut fill = |t: TermIdx| {
            let excl = anc.common(t, &mut mica, &mut shared);
            let row = &mut table[t.index() * stride..(t.index() + 1) * stride];
            let mut s = [0.0f32; 8];
            for (b, &sim) in sims.iter().enumerate() {
                let values = &mut row[b * m..(b + 1) * m];
                anc.similarities(ic, sim, t, &mica, &shared, values);
                let mut best = 0.0f32;
                let mut sum = 0.0f32;
                for (j, &v) in values.iter().enumerate() {
                    // Values are never NaN: plain comparisons are `max`.
                    if v > best {
                        best = v;
                    }
                    if v > col_max[b * m + j] {
                        col_max[b * m + j] = v;
                    }
                    // For the bound only: the reciprocal spares a division per value.
                    sum += if b > 0 {
                        v
                    } else if v < floor_at[j] {
                        0.0
                    } else if sharpen {
                        v * v * inverse_ic[j]
                    } else {
                        v
                    };
                }
                row[blocks * m + b] = best;
                s[2 + 2 * b] = sum;
                s[3 * b] = if b == 0 {
                    q_side.candidate_value(best, own[t.index()])
                } else {
                    best
                };
            }
            let has = if anc.contains(t) { own[t.index()] } else { 0.0 };
            row[blocks * (m + 1)] = excl;
            row[blocks * (m + 1) + 1] = has;
            row[blocks * (m + 1) + 2] = own[t.index()];
            (s[1], s[5]) = (own[t.index()], excl);
            summary[t.index()] = Summary(s);
        };
        match terms {
            Terms::All => (0..n as u32).map(TermIdx).for_each(&mut fill),
            Terms::Only(set) => set.terms().for_each(&mut fill),
        }
        for b in 0..blocks {
            self.q_cap[b] = (0..m)
                .map(|j| {
                    let v = col_max[b * m + j];
                    if b == 0 {
                        q_side.value(v, self.self_ic[j])
                    } else {
                        v
                    }
                })
                .sum();
        }
        self.table = table;
        // The bound holds when the score grows with the query-side sums and the
        // contradictions only subtract (every tuning in use; others are scored in full).
        let monotone = match self.measure {
            Measure::Raremesh(t) => {
                (0.0..=1.0).contains(&t.query_side)
                    && (0.0..=1.0).contains(&t.graphic_mix)
                    && t.exclusion >= 0.0
            }
            _ => true,
        };
        if monotone {
            self.summary = summary;
        } else {
            w.spare_summary = summary;
        }
        (w.ancestors, w.excluded_ic) = (anc, excluded_ic);
    }
}
