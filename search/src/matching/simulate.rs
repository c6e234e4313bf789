//! Simulated patients, the way the Phenomizer paper did it (Köhler et al. 2009, AJHG):
//! each annotated feature of a disease is drawn with its frequency, then harder variants
//! add imprecision (a feature replaced by an ancestor) and noise (unrelated features).
//! Seeded and deterministic, for the evaluation and the benchmarks.

use raremesh_ontology::{Disease, Ontology, TermIdx};

use super::Profile;

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        (self.next_u64() % 1000) < u64::from(per_mille)
    }
}

/// How a simulated patient's profile is degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Features drawn by frequency, entered precisely.
    Exact,
    /// Half of the features replaced by an ancestor 1–3 levels up (lay, vague entries).
    Imprecise,
    /// Half as many unrelated features added (mistaken or incidental entries).
    Noise,
    /// Both.
    ImpreciseNoise,
    /// Exact, plus two excluded features typical of diseases that share features with
    /// this one (a family says "no seizures" when seizures would be expected).
    Excluded,
    /// Only three features, half of them imprecise (a member who entered little).
    Sparse,
}

impl Condition {
    /// Every condition.
    pub const ALL: [Self; 6] = [
        Self::Exact,
        Self::Imprecise,
        Self::Noise,
        Self::ImpreciseNoise,
        Self::Excluded,
        Self::Sparse,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Imprecise => "imprecise",
            Self::Noise => "noise",
            Self::ImpreciseNoise => "imprecise+noise",
            Self::Excluded => "excluded",
            Self::Sparse => "sparse (3 terms)",
        }
    }
}

/// Most features kept per simulated patient (member profiles list about ten).
pub const MAX_FEATURES: usize = 12;

/// Draws patients of ORPHA diseases.
#[derive(Debug)]
pub struct Simulator<'a> {
    ontology: &'a Ontology,
    /// Terms used by at least one disease: realistic symptoms for noise.
    used: Vec<TermIdx>,
    /// For each term, the diseases annotated with it.
    diseases_of: Vec<Vec<u32>>,
}

impl<'a> Simulator<'a> {
    /// A simulator over the diseases of `ontology`.
    pub fn new(ontology: &'a Ontology) -> Self {
        let mut diseases_of = vec![Vec::new(); ontology.terms().len()];
        for (d, disease) in ontology.diseases().iter().enumerate() {
            for a in &disease.annotations {
                diseases_of[a.term.index()].push(d as u32);
            }
        }
        let used = (0..ontology.terms().len())
            .filter(|&t| !diseases_of[t].is_empty())
            .map(|t| TermIdx(t as u32))
            .collect();
        Self {
            ontology,
            used,
            diseases_of,
        }
    }

    /// One patient of `disease` under `condition`, or None if the disease has too few
    /// annotated features (fewer than 3).
    pub fn patient(
        &self,
        disease: &Disease,
        condition: Condition,
        rng: &mut Rng,
    ) -> Option<Profile> {
        if disease.annotations.len() < 3 {
            return None;
        }
        let mut terms = Vec::new();
        for _ in 0..20 {
            terms = disease
                .annotations
                .iter()
                .filter(|a| rng.chance(a.frequency.per_mille().max(10)))
                .map(|a| a.term)
                .collect();
            if terms.len() >= 3 {
                break;
            }
        }
        if terms.len() < 3 {
            // Rare diseases whose features are all rare: take the most frequent three.
            let mut by_freq: Vec<_> = disease.annotations.iter().collect();
            by_freq.sort_by_key(|a| std::cmp::Reverse(a.frequency.per_mille()));
            terms = by_freq.iter().take(3).map(|a| a.term).collect();
        }
        shuffle(&mut terms, rng);
        let keep = if condition == Condition::Sparse {
            3
        } else {
            MAX_FEATURES
        };
        terms.truncate(keep);
        let mut excluded = Vec::new();
        match condition {
            Condition::Exact => {}
            Condition::Imprecise | Condition::Sparse => self.blur(&mut terms, rng),
            Condition::Noise => self.add_noise(disease, &mut terms, rng),
            Condition::ImpreciseNoise => {
                self.blur(&mut terms, rng);
                self.add_noise(disease, &mut terms, rng);
            }
            Condition::Excluded => excluded = self.exclusions(disease, rng),
        }
        Some(Profile::from_terms(terms, excluded, Some(disease.code)))
    }

    /// Replaces each term, with probability 1/2, by an ancestor 1–3 levels up, never by
    /// an organ-system heading or above.
    fn blur(&self, terms: &mut [TermIdx], rng: &mut Rng) {
        for t in terms.iter_mut() {
            if !rng.chance(500) {
                continue;
            }
            let steps = 1 + rng.below(3);
            for _ in 0..steps {
                let parents = &self.ontology.term(*t).parents;
                if parents.is_empty() {
                    break;
                }
                let p = parents[rng.below(parents.len())];
                if self.ontology.depth(p) < 3 {
                    break;
                }
                *t = p;
            }
        }
    }

    /// Adds ⌈n/2⌉ symptoms unrelated to any feature of the disease.
    fn add_noise(&self, disease: &Disease, terms: &mut Vec<TermIdx>, rng: &mut Rng) {
        let n = terms.len().div_ceil(2);
        let mut added = 0;
        for _ in 0..n * 50 {
            if added == n {
                break;
            }
            let t = self.used[rng.below(self.used.len())];
            if !self.related_to_disease(disease, t) && !terms.contains(&t) {
                terms.push(t);
                added += 1;
            }
        }
    }

    /// Two frequent features of diseases that share a feature with this one, unrelated
    /// to this disease's own features; plus the disease's own excluded features.
    fn exclusions(&self, disease: &Disease, rng: &mut Rng) -> Vec<TermIdx> {
        let mut out: Vec<TermIdx> = disease.excluded.iter().copied().take(2).collect();
        let diseases = self.ontology.diseases();
        for _ in 0..200 {
            if out.len() >= 2 + disease.excluded.len().min(2) {
                break;
            }
            let shared = disease.annotations[rng.below(disease.annotations.len())].term;
            let others = &self.diseases_of[shared.index()];
            let other = &diseases[others[rng.below(others.len())] as usize];
            if other.code == disease.code {
                continue;
            }
            let frequent: Vec<_> = other
                .annotations
                .iter()
                .filter(|a| a.frequency.per_mille() >= 545)
                .collect();
            if frequent.is_empty() {
                continue;
            }
            let t = frequent[rng.below(frequent.len())].term;
            if !self.related_to_disease(disease, t) && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// Whether `t` is a feature of the disease, an ancestor or a descendant of one.
    fn related_to_disease(&self, disease: &Disease, t: TermIdx) -> bool {
        disease
            .annotations
            .iter()
            .any(|a| self.ontology.is_a(a.term, t) || self.ontology.is_a(t, a.term))
    }
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}
