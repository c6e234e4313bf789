//! A compact, append-only store of candidate profiles for ranking: all term indexes back
//! to back, with offsets (4 bytes per term plus 8 per profile).

use raremesh_ontology::TermIdx;

use super::Profile;

/// Candidate profiles, addressed by position.
#[derive(Debug, Clone, Default)]
pub struct CandidateSet {
    observed_at: Vec<u32>,
    observed: Vec<TermIdx>,
    excluded_at: Vec<u32>,
    excluded: Vec<TermIdx>,
    /// Bit per term index: whether some profile uses it (observed or excluded).
    in_universe: Vec<u64>,
}

impl CandidateSet {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            observed_at: vec![0],
            observed: Vec::new(),
            excluded_at: vec![0],
            excluded: Vec::new(),
            in_universe: Vec::new(),
        }
    }

    /// An empty set with room for `profiles` profiles of about `terms` terms each.
    pub fn with_capacity(profiles: usize, terms: usize) -> Self {
        let mut s = Self::new();
        s.observed_at.reserve(profiles);
        s.excluded_at.reserve(profiles);
        s.observed.reserve(profiles * terms);
        s
    }

    /// Appends a profile; returns its position.
    pub fn push(&mut self, p: &Profile) -> usize {
        self.observed.extend_from_slice(p.observed());
        self.observed_at.push(self.observed.len() as u32);
        self.excluded.extend_from_slice(p.excluded());
        self.excluded_at.push(self.excluded.len() as u32);
        for &t in p.observed().iter().chain(p.excluded()) {
            let (word, bit) = (t.index() / 64, 1u64 << (t.index() % 64));
            if word >= self.in_universe.len() {
                self.in_universe.resize(word + 1, 0);
            }
            self.in_universe[word] |= bit;
        }
        self.len() - 1
    }

    /// Every term some profile uses (observed or excluded), each once, in ascending
    /// order: ranking the set reads the rows of these terms only.
    pub fn terms(&self) -> impl Iterator<Item = TermIdx> + '_ {
        self.in_universe.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    TermIdx((w * 64) as u32 + b)
                })
            })
        })
    }

    /// Number of profiles.
    pub fn len(&self) -> usize {
        self.observed_at.len() - 1
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Observed terms of profile `i`.
    pub fn observed(&self, i: usize) -> &[TermIdx] {
        &self.observed[self.observed_at[i] as usize..self.observed_at[i + 1] as usize]
    }

    /// Excluded terms of profile `i`.
    pub fn excluded(&self, i: usize) -> &[TermIdx] {
        &self.excluded[self.excluded_at[i] as usize..self.excluded_at[i + 1] as usize]
    }

    /// Bytes held (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        (self.observed_at.capacity() + self.excluded_at.capacity()) * 4
            + (self.observed.capacity() + self.excluded.capacity()) * 4
            + self.in_universe.capacity() * 8
    }
}
