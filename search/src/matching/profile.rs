//! A patient's phenotype profile: observed terms, explicitly excluded terms, and
//! optionally a diagnosis.

use raremesh_ontology::{HpoId, Lookup, Ontology, OrphaCode, TermIdx};

/// The most terms a profile may list (observed and excluded together).
pub const MAX_TERMS: usize = 500;

/// Why a profile cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// An id the ontology does not know.
    #[error("{0} is not a term of this HPO release")]
    UnknownTerm(HpoId),
    /// An obsolete id with no replacement.
    #[error("{0} is obsolete and has no replacement")]
    ObsoleteTerm(HpoId),
    /// A term listed as both observed and excluded (after resolving ids).
    #[error("{0} is listed both as observed and as excluded")]
    Contradiction(HpoId),
    /// Nothing observed: there is nothing to match on.
    #[error("the profile has no observed term")]
    Empty,
    /// More terms than [`MAX_TERMS`].
    #[error("the profile lists {0} terms; the most accepted is {MAX_TERMS}")]
    TooManyTerms(usize),
}

/// A validated profile: live term indexes, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    observed: Vec<TermIdx>,
    excluded: Vec<TermIdx>,
    disease: Option<OrphaCode>,
}

impl Profile {
    /// Builds a profile from ids, resolving alternative and obsolete ids to live terms.
    pub fn new(
        ontology: &Ontology,
        observed: &[HpoId],
        excluded: &[HpoId],
        disease: Option<OrphaCode>,
    ) -> Result<Self, ProfileError> {
        if observed.len() + excluded.len() > MAX_TERMS {
            return Err(ProfileError::TooManyTerms(observed.len() + excluded.len()));
        }
        let resolve = |id: &HpoId| match ontology.lookup(*id) {
            Lookup::Live(t) | Lookup::AltId(t) | Lookup::Replaced(t) => Ok(t),
            Lookup::Obsolete => Err(ProfileError::ObsoleteTerm(*id)),
            Lookup::Unknown => Err(ProfileError::UnknownTerm(*id)),
        };
        let observed = observed
            .iter()
            .map(resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let excluded = excluded
            .iter()
            .map(resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let p = Self::from_terms(observed, excluded, disease);
        if let Some(t) = p
            .observed
            .iter()
            .find(|t| p.excluded.binary_search(t).is_ok())
        {
            return Err(ProfileError::Contradiction(ontology.term(*t).id));
        }
        if p.observed.is_empty() {
            return Err(ProfileError::Empty);
        }
        Ok(p)
    }

    /// Builds a profile from live term indexes (sorted and deduplicated here).
    pub fn from_terms(
        mut observed: Vec<TermIdx>,
        mut excluded: Vec<TermIdx>,
        disease: Option<OrphaCode>,
    ) -> Self {
        observed.sort_unstable();
        observed.dedup();
        excluded.sort_unstable();
        excluded.dedup();
        Self {
            observed,
            excluded,
            disease,
        }
    }

    /// Observed terms, sorted.
    pub fn observed(&self) -> &[TermIdx] {
        &self.observed
    }

    /// Explicitly excluded terms, sorted.
    pub fn excluded(&self) -> &[TermIdx] {
        &self.excluded
    }

    /// The diagnosis, if given.
    pub fn disease(&self) -> Option<OrphaCode> {
        self.disease
    }
}
