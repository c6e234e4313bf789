//! Phenotype matching: ranks candidate profiles by similarity to a query profile.
//!
//! Pure code over an [`Ontology`]: no I/O. A query is prepared once ([`Prepared`]: one
//! row of similarities per query term over the whole ontology, laid out term-major), after
//! which a candidate costs one short contiguous read per candidate term. [`Matcher::top_k`]
//! ranks a [`CandidateSet`] exactly, on all cores, best first, ties broken by position.

mod candidates;
mod explain;
mod ic;
mod measure;
mod prepared;
mod profile;
mod rows;
#[cfg(test)]
mod rows_reference;
mod score;
pub mod simulate;
mod topk;

use raremesh_ontology::Ontology;

pub use candidates::CandidateSet;
pub use explain::{MatchPair, explain, mica};
pub use ic::IcTable;
pub use measure::{Combine, Measure, TermSim, Tuning, UnknownMeasure};
pub use prepared::{Prepared, Workspace};
pub use profile::{MAX_TERMS, Profile, ProfileError};
pub use topk::Scored;

use score::Scratch;
use topk::TopK;

/// How far below the k-th best score a candidate's bound must be for it to be skipped
/// (the bound and the score sum the same values in different orders; this absorbs the
/// rounding).
const BOUND_MARGIN: f32 = 1e-4;

/// Candidates per thread below which ranking stays on one thread.
const MIN_PER_THREAD: usize = 20_000;

/// A measure over an ontology and an IC table.
#[derive(Debug, Clone, Copy)]
pub struct Matcher<'a> {
    ontology: &'a Ontology,
    ic: &'a IcTable,
    measure: Measure,
    bounds: bool,
}

impl<'a> Matcher<'a> {
    /// A matcher for `measure`.
    pub fn new(ontology: &'a Ontology, ic: &'a IcTable, measure: Measure) -> Self {
        Self {
            ontology,
            ic,
            measure,
            bounds: true,
        }
    }

    /// The same matcher scoring every candidate in full, with no bound to skip any (the
    /// same results, slower: for comparisons).
    pub fn without_bounds(self) -> Self {
        Self {
            bounds: false,
            ..self
        }
    }

    /// The measure in use.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// Precomputes what scoring against `query` needs.
    pub fn prepare(&self, query: &Profile) -> Prepared {
        Prepared::new(self.ontology, self.ic, self.measure, query)
    }

    /// The similarity of one candidate to a prepared query.
    pub fn score(&self, prepared: &Prepared, candidate: &Profile) -> f32 {
        let mut s = Scratch::new(self.ontology.terms().len(), prepared.m);
        score::score(
            prepared,
            self.ontology,
            self.ic.values(),
            candidate.observed(),
            candidate.excluded(),
            &mut s,
        )
    }

    /// The score `query` would give `prepared`'s profile as a candidate:
    /// `score(&prepare(query), prepared_profile)`, without preparing `query`. See
    /// `docs/matching.md` ("every member, on every profile change").
    pub fn score_reverse(&self, prepared: &Prepared, query: &Profile) -> f32 {
        let mut s = Scratch::new(self.ontology.terms().len(), prepared.m);
        score::reverse_score(
            prepared,
            self.ontology,
            self.ic.values(),
            query.observed(),
            query.excluded(),
            &mut s,
        )
    }

    /// [`Self::score_reverse`] for every profile of `queries`: the score each of them
    /// gives the prepared profile, in order.
    pub fn scores_reverse(&self, prepared: &Prepared, queries: &CandidateSet) -> Vec<f32> {
        let mut s = Scratch::new(self.ontology.terms().len(), prepared.m);
        (0..queries.len())
            .map(|i| {
                score::reverse_score(
                    prepared,
                    self.ontology,
                    self.ic.values(),
                    queries.observed(i),
                    queries.excluded(i),
                    &mut s,
                )
            })
            .collect()
    }

    /// The `k` candidates most similar to `query`, best first; equal scores keep the
    /// order of the candidate set.
    pub fn top_k(&self, query: &Profile, candidates: &CandidateSet, k: usize) -> Vec<Scored> {
        let prepared = self.prepare_for(query, candidates, &mut Workspace::default());
        self.top_k_prepared(&prepared, candidates, k)
    }

    /// The query prepared for the terms `candidates` use only.
    fn prepare_for(
        &self,
        query: &Profile,
        candidates: &CandidateSet,
        w: &mut Workspace,
    ) -> Prepared {
        Prepared::for_terms(
            self.ontology,
            self.ic,
            self.measure,
            query,
            w,
            prepared::Terms::Only(candidates),
        )
    }

    /// Like [`Self::top_k`], on the calling thread only: for callers that rank many
    /// queries in parallel themselves. The same result as [`Self::top_k`].
    pub fn top_k_here(&self, query: &Profile, candidates: &CandidateSet, k: usize) -> Vec<Scored> {
        let prepared = self.prepare_for(query, candidates, &mut Workspace::default());
        self.top_in(&prepared, candidates, k, 0..candidates.len())
            .into_sorted()
    }

    /// [`Self::top_k_here`] keeping buffers in `w` between queries (the same result).
    pub fn top_k_with(
        &self,
        query: &Profile,
        candidates: &CandidateSet,
        k: usize,
        w: &mut Workspace,
    ) -> Vec<Scored> {
        let prepared = self.prepare_for(query, candidates, w);
        let top = self.top_in(&prepared, candidates, k, 0..candidates.len());
        w.recycle(prepared);
        top.into_sorted()
    }

    /// The best `k` of a range of candidates.
    fn top_in(
        &self,
        prepared: &Prepared,
        candidates: &CandidateSet,
        k: usize,
        range: std::ops::Range<usize>,
    ) -> TopK {
        let mut top = TopK::new(k);
        let mut scratch = Scratch::new(self.ontology.terms().len(), prepared.m);
        for i in range {
            // A candidate whose bound cannot beat the k-th best held is not scored: later
            // positions lose ties, so only a strictly better score could enter.
            if self.bounds
                && let Some(floor) = top.threshold()
                && score::bound(prepared, candidates.observed(i))
                    .is_some_and(|b| b < floor - BOUND_MARGIN)
            {
                continue;
            }
            let score = score::score(
                prepared,
                self.ontology,
                self.ic.values(),
                candidates.observed(i),
                candidates.excluded(i),
                &mut scratch,
            );
            top.offer(Scored { index: i, score });
        }
        top
    }

    /// Like [`Self::top_k`] with a query prepared beforehand.
    pub fn top_k_prepared(
        &self,
        prepared: &Prepared,
        candidates: &CandidateSet,
        k: usize,
    ) -> Vec<Scored> {
        let n = candidates.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(n / MIN_PER_THREAD)
            .max(1);
        let chunk = n.div_ceil(threads);
        let run = |range: std::ops::Range<usize>| self.top_in(prepared, candidates, k, range);
        if threads == 1 {
            return run(0..n).into_sorted();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| scope.spawn(move || run(t * chunk..((t + 1) * chunk).min(n))))
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok())
                .fold(TopK::new(k), TopK::merge)
                .into_sorted()
        })
    }
}
