//! What the federation uses of its own node: the patients it publishes, the members it
//! links and notifies, Q&A it shares, the research it answers for. Handed to the federation
//! once, when the node starts.

use std::sync::Arc;

use raremesh_ontology::Ontology;

use crate::accounts::throttle::Throttle;
use crate::audit::Audit;
use crate::config::ResearchConfig;
use crate::mail::Mailer;
use crate::registration::Registrations;
use crate::registration::patient::Patients;
use crate::research::Research;
use crate::research::query::Counting;
use crate::store::KvStore;

/// The node's services the federation reads and writes.
#[derive(Clone)]
pub struct Local {
    /// The HPO release (terms in received vectors and questions).
    pub ontology: Arc<Ontology>,
    /// The patients published.
    pub patients: Patients,
    /// Members (consents, linked Matrix accounts, contact).
    pub registrations: Registrations,
    /// Questionnaires, for partners' research questions.
    pub research: Research,
    /// `[research]`, for partners' counts.
    pub research_config: ResearchConfig,
    /// Where partners' counts are recorded.
    pub audit: Audit,
    /// Mail to members (contact requests, linking codes).
    pub mailer: Arc<Mailer>,
    /// Limits on linking attempts.
    pub throttle: Arc<Throttle>,
    /// Questions and answers (connected to this federation's outbox once it is built).
    pub qa: crate::qa::Service,
    /// `node.name`, named in mails.
    pub node_name: String,
    /// `server.public_url`, for links in mails.
    pub public_url: String,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("node_name", &self.node_name)
            .finish_non_exhaustive()
    }
}

impl Local {
    /// What a partner's research count reads and writes.
    pub fn counting<'a>(&'a self, kv: &'a dyn KvStore) -> Counting<'a> {
        Counting {
            ontology: &self.ontology,
            research: &self.research,
            patients: &self.patients,
            registrations: &self.registrations,
            kv,
            audit: &self.audit,
            config: &self.research_config,
        }
    }
}
