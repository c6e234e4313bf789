//! The shared state handed to every request handler.

use std::sync::Arc;

use raremesh_ontology::Ontology;
use raremesh_search::Autocomplete;

use crate::config::Config;
use crate::http::templates::Templates;

/// Everything a handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The validated configuration.
    pub config: Config,
    /// The loaded HPO release.
    pub ontology: Ontology,
    /// Symptom and disease autocomplete over it.
    pub autocomplete: Autocomplete,
    /// The HTML templates.
    pub templates: Templates,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(
        config: Config,
        ontology: Ontology,
        autocomplete: Autocomplete,
    ) -> crate::Result<Self> {
        Ok(Self(Arc::new(Inner {
            config,
            ontology,
            autocomplete,
            templates: Templates::new()?,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
