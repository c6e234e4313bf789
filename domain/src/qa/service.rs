//! The Q&A service: the questions and answers with everything their actions read, built
//! once when the node starts and handed to whoever asks, answers, moderates or notifies.

use std::sync::Arc;

use raremesh_ontology::Ontology;
use raremesh_search::Autocomplete;
use raremesh_search::matching::IcTable;

use super::search::QuestionIndex;
use super::{Qa, Share};
use crate::accounts::throttle::Throttle;
use crate::audit::Audit;
use crate::config::{Config, QaConfig};
use crate::mail::Mailer;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::store::KvStore;

/// The parts of the configuration Q&A reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[qa]`.
    pub qa: QaConfig,
    /// `server.public_url`, for the links in digests.
    pub public_url: String,
    /// `node.name`, named in digests.
    pub node_name: String,
}

impl Settings {
    /// The Q&A parts of `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            qa: config.qa.clone(),
            public_url: config.server.public_url.clone(),
            node_name: config.node.name.clone(),
        }
    }
}

/// Questions and answers, and what their actions need; cheap to clone.
#[derive(Clone)]
pub struct Service {
    /// The questions and answers.
    pub store: Qa,
    /// Their full-text index.
    pub index: Arc<QuestionIndex>,
    /// The database (notices and preferences, and applying a change's batch).
    pub(crate) kv: Arc<dyn KvStore>,
    /// The HPO release, for tags and ranking.
    pub(crate) ontology: Arc<Ontology>,
    /// Symptom search, for the full-text search's term matches.
    pub(crate) autocomplete: Arc<Autocomplete>,
    /// Information content, for ranking.
    pub(crate) ic: Arc<IcTable>,
    /// Members' patients (who may help, and the asker's own).
    pub(crate) patients: Patients,
    /// Members (validation, digests).
    pub(crate) registrations: Registrations,
    /// The audit log (moderation).
    pub(crate) audit: Audit,
    /// Digests.
    pub(crate) mailer: Arc<Mailer>,
    /// Limits on asking, answering and reporting.
    pub(crate) throttle: Arc<Throttle>,
    /// The configuration Q&A reads.
    pub(crate) settings: Settings,
    /// Who shares changes with partner organizations (none without federation).
    pub(crate) share: Option<Arc<dyn Share>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("qa::Service")
            .field("shared", &self.share.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Service::new`] is built from.
pub struct Parts {
    /// The database.
    pub kv: Arc<dyn KvStore>,
    /// The HPO release.
    pub ontology: Arc<Ontology>,
    /// Symptom search.
    pub autocomplete: Arc<Autocomplete>,
    /// Information content.
    pub ic: Arc<IcTable>,
    /// Members' patients.
    pub patients: Patients,
    /// Members.
    pub registrations: Registrations,
    /// The audit log.
    pub audit: Audit,
    /// Mail.
    pub mailer: Arc<Mailer>,
    /// The node's limits.
    pub throttle: Arc<Throttle>,
    /// The configuration Q&A reads.
    pub settings: Settings,
}

impl Service {
    /// Opens the questions and answers kept in `parts.kv` and builds their index; nothing
    /// is shared until [`Service::sharing_with`].
    pub fn new(parts: Parts) -> crate::Result<Self> {
        let store = Qa::open(parts.kv.clone())?;
        let index = super::search::build(&parts.ontology, &store)?;
        Ok(Self {
            store,
            index: Arc::new(index),
            kv: parts.kv,
            ontology: parts.ontology,
            autocomplete: parts.autocomplete,
            ic: parts.ic,
            patients: parts.patients,
            registrations: parts.registrations,
            audit: parts.audit,
            mailer: parts.mailer,
            throttle: parts.throttle,
            settings: parts.settings,
            share: None,
        })
    }

    /// The same, with changes shared by `share`.
    pub fn sharing_with(self, share: Arc<dyn Share>) -> Self {
        Self {
            share: Some(share),
            ..self
        }
    }

    /// Who shares changes with partner organizations, when the federation runs.
    pub fn share(&self) -> Option<&dyn Share> {
        self.share.as_deref()
    }
}
