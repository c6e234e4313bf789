//! The shared state handed to every request handler.

use std::sync::Arc;

use raremesh_ontology::Ontology;
use raremesh_search::Autocomplete;

use crate::accounts::Accounts;
use crate::accounts::throttle::Throttle;
use crate::audit::Audit;
use crate::config::Config;
use crate::documents::{Documents, Vault};
use crate::mail::Mailer;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::sessions::Sessions;
use crate::similar::{Similar, Sources};
use crate::store::{Changes, KvStore};
use raremesh_search::matching::IcTable;

/// Everything a handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The loaded HPO release.
    pub ontology: Arc<Ontology>,
    /// Symptom and disease autocomplete over it.
    pub autocomplete: Arc<Autocomplete>,
    /// Accounts.
    pub accounts: Accounts,
    /// Sign-in sessions.
    pub sessions: Sessions,
    /// Mail to members.
    pub mailer: Arc<Mailer>,
    /// Failed sign-ins and other limits, to slow down password guessing and floods.
    pub throttle: Arc<Throttle>,
    /// Registrations in progress and member records.
    pub registrations: Registrations,
    /// Members' patients.
    pub patients: Patients,
    /// The legal terms by language (`terms.file` and its translations, or the built-in
    /// text).
    pub terms: crate::terms::Terms,
    /// Validation documents (records and encrypted files).
    pub documents: Documents,
    /// The audit log of validation.
    pub audit: Audit,
    /// Information content of each term, from the disease annotations (for matching).
    pub ic: Arc<IcTable>,
    /// Local "people like me".
    pub similar: Arc<Similar>,
    /// Notices of new matches.
    pub notifier: crate::notify::Notifier,
    /// Counts changes to patients and members (keeps `similar`'s pool fresh).
    pub changes: Changes,
    /// The database, for records without a store of their own (match notices).
    pub kv: Arc<dyn KvStore>,
    /// The federation, when `[federation]` is enabled and valid.
    pub federation: Option<Arc<crate::federation::Federation>>,
    /// Why federation is enabled but not running (a bad `[federation]` section).
    pub federation_problem: Option<String>,
    /// Questionnaires and answers.
    pub research: crate::research::Research,
    /// Community questions and answers, with their index.
    pub qa: crate::qa::Service,
    /// Private messages between members.
    pub messages: crate::messages::Service,
    /// The Matchmaker Exchange endpoint and sender.
    pub matchmaker: Arc<crate::mme::Matchmaker>,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(
        config: Config,
        ontology: Ontology,
        autocomplete: Autocomplete,
        kv: Arc<dyn KvStore>,
    ) -> crate::Result<Self> {
        let mailer = Arc::new(Mailer::new(&config).map_err(|e| crate::Error::Mail(e.to_string()))?);
        let terms =
            crate::terms::load_terms(&config).map_err(|e| crate::Error::Terms(e.to_string()))?;
        let identity = config.identity_path();
        let vault = Vault::open(
            config.documents_path(),
            match config.documents.identity_file {
                Some(_) => crate::documents::IdentityFile::Configured(&identity),
                None => crate::documents::IdentityFile::Own(&identity),
            },
            &config.documents.recipients,
        )?;
        let changes = Changes::default();
        let ic = Arc::new(IcTable::from_annotations(&ontology));
        let ontology = Arc::new(ontology);
        let autocomplete = Arc::new(autocomplete);
        let throttle = Arc::new(Throttle::default());
        let patients = Patients::new(kv.clone(), changes.clone());
        let registrations = Registrations::new(kv.clone(), changes.clone());
        let audit = Audit::new(kv.clone());
        let research = crate::research::Research::load(&config, kv.clone())?;
        let qa = crate::qa::Service::new(crate::qa::Parts {
            kv: kv.clone(),
            ontology: ontology.clone(),
            autocomplete: autocomplete.clone(),
            ic: ic.clone(),
            patients: patients.clone(),
            registrations: registrations.clone(),
            audit: audit.clone(),
            mailer: mailer.clone(),
            throttle: throttle.clone(),
            settings: crate::qa::Settings::of(&config),
        })?;
        let (federation, federation_problem) = if config.federation.enabled {
            let local = crate::federation::Local {
                ontology: ontology.clone(),
                patients: patients.clone(),
                registrations: registrations.clone(),
                research: research.clone(),
                research_config: config.research.clone(),
                audit: audit.clone(),
                mailer: mailer.clone(),
                throttle: throttle.clone(),
                qa: qa.clone(),
                node_name: config.node.name.clone(),
                public_url: config.server.public_url.clone(),
            };
            match crate::federation::Federation::new(&config, kv.clone(), changes.clone(), local) {
                Ok(f) => (Some(Arc::new(f)), None),
                Err(why) => {
                    tracing::error!(problem = %why, "federation is configured but cannot run; serving members without it");
                    (None, Some(why))
                }
            }
        } else {
            (None, None)
        };
        // Q&A as the node uses it: sharing through the federation when it runs.
        let qa = federation.as_ref().map_or(qa, |f| f.qa().clone());
        let similar = Arc::new(Similar::new(Sources {
            ontology: ontology.clone(),
            ic: ic.clone(),
            patients: patients.clone(),
            registrations: registrations.clone(),
            changes: changes.clone(),
            federation: federation.clone(),
        }));
        let notifier = crate::notify::Notifier {
            kv: kv.clone(),
            registrations: registrations.clone(),
            patients: patients.clone(),
            similar: similar.clone(),
            mailer: mailer.clone(),
            changes: changes.clone(),
            node_name: config.node.name.clone(),
            public_url: config.server.public_url.clone(),
        };
        let documents = Documents::new(kv.clone(), vault);
        let messages = crate::messages::Service::new(crate::messages::Parts {
            kv: kv.clone(),
            patients: patients.clone(),
            registrations: registrations.clone(),
            similar: similar.clone(),
            mailer: mailer.clone(),
            throttle: throttle.clone(),
            audit: audit.clone(),
            node_name: config.node.name.clone(),
            public_url: config.server.public_url.clone(),
            federation: federation.clone(),
            documents: documents.clone(),
            settings: config.messages.clone(),
        });
        if let Some(f) = &federation {
            f.connect_messages(&messages);
        }
        let matchmaker = Arc::new(crate::mme::Matchmaker::new(crate::mme::Parts {
            ontology: ontology.clone(),
            ic: ic.clone(),
            patients: patients.clone(),
            registrations: registrations.clone(),
            changes: changes.clone(),
            kv: kv.clone(),
            audit: audit.clone(),
            config: config.mme.clone(),
            node_name: config.node.name.clone(),
        }));
        Ok(Self(Arc::new(Inner {
            matchmaker,
            config: Arc::new(config),
            ontology,
            autocomplete,
            accounts: Accounts::new(kv.clone()),
            registrations,
            patients,
            documents,
            audit,
            ic,
            similar,
            notifier,
            changes,
            kv: kv.clone(),
            research,
            qa,
            messages,
            federation,
            federation_problem,
            terms,
            sessions: Sessions::new(kv),
            mailer,
            throttle,
        })))
    }
}

impl Inner {
    /// What a research count reads and writes.
    pub fn counting(&self) -> crate::research::query::Counting<'_> {
        crate::research::query::Counting {
            ontology: &self.ontology,
            research: &self.research,
            patients: &self.patients,
            registrations: &self.registrations,
            kv: self.kv.as_ref(),
            audit: &self.audit,
            config: &self.config.research,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
