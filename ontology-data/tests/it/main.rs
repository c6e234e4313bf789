//! Integration tests of the ontology loader against the shipped release.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests may panic

mod broken;
mod release;

use std::sync::OnceLock;

use raremesh_ontology::{Ontology, Source};

/// The shipped release, parsed once for the whole test binary.
pub fn shipped() -> &'static Ontology {
    static ONTOLOGY: OnceLock<Ontology> = OnceLock::new();
    ONTOLOGY.get_or_init(|| {
        let texts = Source::Embedded.read().expect("embedded files decompress");
        Ontology::parse(&texts.obo, &texts.hpoa).expect("shipped release parses")
    })
}
