//! Integration tests of autocomplete against the shipped release.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests may panic

mod autocomplete;
mod languages;
mod matching;

use std::sync::OnceLock;

use raremesh_ontology::{Ontology, Source};
use raremesh_search::Autocomplete;

/// The shipped ontology and an in-memory index, built once per test binary.
pub fn fixture() -> &'static (Ontology, Autocomplete) {
    static F: OnceLock<(Ontology, Autocomplete)> = OnceLock::new();
    F.get_or_init(|| {
        let (o, _) = Ontology::load(&Source::Embedded, None).expect("ontology");
        let a = Autocomplete::open(&o, None, "test").expect("index");
        (o, a)
    })
}
