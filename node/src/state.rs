//! The shared state handed to every request handler.

use std::sync::Arc;

use raremesh_ontology::Ontology;
use raremesh_search::Autocomplete;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::http::templates::Templates;
use crate::http::throttle::Throttle;
use crate::mail::Mailer;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::sessions::Sessions;
use crate::store::KvStore;

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
    /// Accounts.
    pub accounts: Accounts,
    /// Sign-in sessions.
    pub sessions: Sessions,
    /// Mail to members.
    pub mailer: Mailer,
    /// Failed sign-ins, to slow down password guessing.
    pub throttle: Throttle,
    /// Registrations in progress and member records.
    pub registrations: Registrations,
    /// Members' patients.
    pub patients: Patients,
    /// The paragraphs of the legal terms (`terms.file`, or the built-in text).
    pub terms_paragraphs: Vec<String>,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(
        config: Config,
        ontology: Ontology,
        autocomplete: Autocomplete,
        kv: Arc<dyn KvStore>,
    ) -> crate::Result<Self> {
        let mailer = Mailer::new(&config).map_err(|e| crate::Error::Mail(e.to_string()))?;
        let terms_paragraphs = crate::http::terms_page::load_paragraphs(&config)
            .map_err(|e| crate::Error::Terms(e.to_string()))?;
        Ok(Self(Arc::new(Inner {
            config,
            ontology,
            autocomplete,
            templates: Templates::new()?,
            accounts: Accounts::new(kv.clone()),
            registrations: Registrations::new(kv.clone()),
            patients: Patients::new(kv.clone()),
            terms_paragraphs,
            sessions: Sessions::new(kv),
            mailer,
            throttle: Throttle::default(),
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
