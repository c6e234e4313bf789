//! The Human Phenotype Ontology and its ORPHA disease annotations, in memory.
//!
//! This crate ships the HPO release files `hp.obo` and `phenotype.hpoa` (release
//! 2025-01-16) unmodified, gzip-compressed, in `data/`, and loads them into an
//! [`Ontology`]: live terms with names, definitions and synonyms (layperson ones flagged),
//! the `is_a` graph with precomputed ancestor closures, `alt_id` and obsolete-term
//! resolution, the ORPHA diseases with their annotated and excluded terms and frequencies,
//! and the information content of every term computed from those annotations; with the
//! official translations of the HPO Internationalization Effort (German, Spanish, French,
//! Italian, Portuguese), also shipped unmodified.
//!
//! ```no_run
//! use raremesh_ontology::{Ontology, Source};
//! let (ontology, _report) = Ontology::load(&Source::Embedded, Some("data/cache".as_ref()))?;
//! let seizure = ontology.resolve("HP:0001250".parse()?).expect("live term");
//! println!("{}", ontology.term(seizure).name);
//! # Ok::<(), raremesh_ontology::Error>(())
//! ```
//!
//! The data is the Human Phenotype Ontology (<http://www.human-phenotype-ontology.org>)
//! and, for the ORPHA annotations and disease names, Orphanet (CC BY 4.0).
#![forbid(unsafe_code)]

mod cache;
mod disease;
mod error;
mod graph;
mod hpoa;
pub mod ic;
mod id;
mod obo;
mod ontology;
mod source;
mod term;
mod translation;

pub use cache::LoadReport;
pub use disease::{Annotation, Disease, Frequency};
pub use error::{Error, Result};
pub use graph::Csr;
pub use id::{HpoId, OrphaCode};
pub use ontology::{DataVersion, Lookup, Ontology, Stats};
pub use source::{Source, SourceTexts};
pub use term::{Synonym, SynonymScope, Term, TermIdx};
pub use translation::{Translation, TranslationTexts};

/// The acknowledgement the HPO licence asks services to display, for a given version.
pub fn hpo_acknowledgement(version: &DataVersion) -> String {
    format!(
        "This service is using the Human Phenotype Ontology (version {}). Find out more at http://www.human-phenotype-ontology.org",
        version.hpo_release()
    )
}

/// The attribution Orphanet's CC BY 4.0 licence asks for.
pub const ORPHANET_ATTRIBUTION: &str = "Disease names and ORPHA annotations: Orphanet, licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).";
