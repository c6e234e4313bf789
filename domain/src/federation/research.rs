//! Research counts across the federation: a researcher's query goes to every trusted peer
//! (only shared vocabularies: an HPO term, an ORPHA code, an age band); each node answers
//! from its own data with its own protections (noise, small cells, a budget per asking node
//! and researcher, the same answer to the same query); the asking node keeps the answers,
//! with which node answered and when.

use std::collections::BTreeMap;

use raremesh_bridge::protocol::{
    AgeBand, CountStatus, DistributionStatus, Payload, ResearchCriteria, random_id,
};
use raremesh_bridge::seal::seal;
use serde::{Deserialize, Serialize};

use super::{Federation, FederationError};
use crate::ids::{AccountId, PatientId};
use crate::research::query::{Criteria, QueryError, count_for_partner};
use crate::store::{Record, StoreError, Tree, decode, encode};

/// One node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAnswer {
    /// The noisy count, if given.
    pub count: Option<u64>,
    /// How it went.
    pub status: CountStatus,
    /// The node's threshold.
    pub k: u64,
    /// When it arrived (Unix seconds).
    pub at: u64,
}

/// A query sent to the federation, with the answers so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedQuery {
    /// Random id.
    pub id: String,
    /// The asking researcher's account.
    pub researcher: String,
    /// What was asked.
    pub criteria: Criteria,
    /// When (Unix seconds).
    pub asked_at: u64,
    /// Peer user id → its answer.
    pub answers: BTreeMap<String, NodeAnswer>,
}

impl Record for FederatedQuery {
    const TREE: Tree = Tree::ResearchBudget;
    const VERSION: u32 = 1;
}

fn shared(
    ontology: &raremesh_ontology::Ontology,
    c: &Criteria,
) -> Result<ResearchCriteria, QueryError> {
    if c.group.is_some() || c.answer.is_some() || c.sex.is_some() {
        return Err(QueryError::Invalid(crate::message::Message::new(
            "research.error.partners_only",
        )));
    }
    let symptom = match &c.symptom {
        Some(s) => Some(
            s.trim()
                .parse::<raremesh_ontology::HpoId>()
                .ok()
                .and_then(|id| ontology.resolve(id))
                .map(|t| ontology.term(t).id.to_string())
                .ok_or_else(|| QueryError::invalid("research.error.not_a_term", s))?,
        ),
        None => None,
    };
    let orpha = match &c.disease {
        Some(d) => Some(u64::from(
            d.trim()
                .parse::<raremesh_ontology::OrphaCode>()
                .map_err(|_| QueryError::invalid("research.error.not_an_orpha_code", d))?
                .number(),
        )),
        None => None,
    };
    let age_band = match c.age_band.as_deref() {
        None => None,
        Some(b) => Some(
            serde_json::from_value::<AgeBand>(serde_json::json!(b))
                .map_err(|_| QueryError::invalid("research.error.not_an_age_band", b))?,
        ),
    };
    Ok(ResearchCriteria {
        symptom,
        orpha,
        age_band,
    })
}

fn key(id: &str) -> Vec<u8> {
    format!("fq/{id}").into_bytes()
}

impl Federation {
    /// Sends a researcher's query to every trusted peer; its id.
    pub async fn ask_peers(
        &self,
        researcher: &str,
        criteria: &Criteria,
    ) -> Result<String, QueryError> {
        let wire = shared(&self.local.ontology, criteria)?;
        let fail = |e: FederationError| {
            tracing::warn!(error = %e, "asking partner nodes failed");
            QueryError::Invalid(crate::message::Message::new("research.error.unreachable"))
        };
        let room = self.own_room()?.ok_or_else(|| {
            QueryError::Invalid(crate::message::Message::new(
                "research.error.room_not_ready",
            ))
        })?;
        let id = random_id().map_err(|e| fail(e.into()))?;
        let q = FederatedQuery {
            id: id.clone(),
            researcher: researcher.to_owned(),
            criteria: criteria.clone(),
            asked_at: crate::clock::now(),
            answers: BTreeMap::new(),
        };
        self.store
            .kv()
            .put(Tree::ResearchBudget, &key(&id), &encode(&q))?;
        let payload = Payload::ResearchQuery {
            query: id.clone(),
            researcher: self.keys.pseudonym(&format!("researcher:{researcher}"), 0),
            criteria: wire,
        };
        let content = seal(&payload, &self.recipients).map_err(|e| fail(e.into()))?;
        self.client
            .send_batch(&room, &content)
            .await
            .map_err(|e| fail(e.into()))?;
        Ok(id)
    }

    /// Records this node's own answer to a query it sent.
    pub fn record_local_answer(
        &self,
        id: &str,
        c: &crate::research::query::Count,
    ) -> Result<(), StoreError> {
        let me = self.config.user_id();
        self.on_research_answer(
            &me,
            id,
            NodeAnswer {
                count: c.count,
                status: if c.count.is_some() {
                    CountStatus::Ok
                } else {
                    CountStatus::FewerThanK
                },
                k: u64::from(c.k),
                at: crate::clock::now(),
            },
        )
    }

    /// Each node's answer to a query so far, this node first, then the peers in the order
    /// of the configuration (`this_name`: this organization's name).
    pub fn answers_of(&self, q: &FederatedQuery, this_name: &str) -> Vec<NodeAnswerView> {
        let me = self.config.user_id();
        std::iter::once(me.clone())
            .chain(self.config.peers.iter().map(|p| p.user_id.clone()))
            .map(|node| {
                let answer = q.answers.get(&node);
                NodeAnswerView {
                    this_node: node == me,
                    node: if node == me {
                        this_name.to_owned()
                    } else {
                        self.peer(&node).map_or(node.clone(), |p| p.name.clone())
                    },
                    status: answer.map_or("waiting", |x| x.status.as_str()),
                    count: answer.and_then(|x| x.count),
                    k: answer.map(|x| x.k),
                    at: answer.map(|x| crate::clock::rfc3339(x.at)),
                }
            })
            .collect()
    }

    /// Waits until every node answered a query, or `patience` passed; the query then.
    pub async fn wait_for_answers(
        &self,
        id: &str,
        patience: std::time::Duration,
    ) -> Result<Option<FederatedQuery>, StoreError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let q = self.federated_query(id)?;
            let all = q
                .as_ref()
                .is_none_or(|q| q.answers.len() > self.config.peers.len());
            if all || tokio::time::Instant::now() >= deadline {
                return Ok(q);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// A query and the answers so far.
    pub fn federated_query(&self, id: &str) -> Result<Option<FederatedQuery>, StoreError> {
        self.store
            .kv()
            .get(Tree::ResearchBudget, &key(id))?
            .map(|b| decode(&b).map_err(StoreError::from))
            .transpose()
    }

    /// A peer's researcher asks: answer from this node's data, with its protections.
    pub(super) async fn on_research_query(
        &self,
        peer: &str,
        query: &str,
        researcher: &str,
        criteria: &ResearchCriteria,
    ) -> Result<(), FederationError> {
        let local = Criteria {
            symptom: criteria.symptom.clone(),
            disease: criteria.orpha.map(|n| format!("ORPHA:{n}")),
            age_band: criteria.age_band.map(|b| b.label().to_owned()),
            ..Criteria::default()
        };
        let k = u64::from(self.local.research.k);
        let (count_value, status) = match count_for_partner(
            self.local.counting(self.store.kv().as_ref()),
            peer,
            researcher,
            &local,
        ) {
            Ok(c) => match c.count {
                Some(n) => (Some(n), CountStatus::Ok),
                None => (None, CountStatus::FewerThanK),
            },
            Err(QueryError::Budget(_)) => (None, CountStatus::BudgetSpent),
            Err(QueryError::Store(e)) => return Err(e.into()),
            Err(_) => (None, CountStatus::Unsupported),
        };
        let Some(p) = self.peer(peer) else {
            return Ok(());
        };
        let to: age::x25519::Recipient = p
            .age_key
            .trim()
            .parse()
            .map_err(|_| FederationError::Keys(format!("{peer}: bad age key")))?;
        let room = self
            .own_room()?
            .ok_or_else(|| FederationError::Matrix("no federation room yet".into()))?;
        let content = seal(
            &Payload::ResearchAnswer {
                query: query.to_owned(),
                count: count_value,
                status,
                k,
            },
            &[to],
        )?;
        self.client.send_batch(&room, &content).await?;
        Ok(())
    }

    /// A peer answered one of this node's queries (the first answer of each peer counts).
    pub(crate) fn on_research_answer(
        &self,
        peer: &str,
        query: &str,
        answer: NodeAnswer,
    ) -> Result<(), StoreError> {
        let _one_at_a_time = self.answers.lock();
        let Some(mut q) = self.federated_query(query)? else {
            return Ok(());
        };
        q.answers.entry(peer.to_owned()).or_insert(answer);
        self.store
            .kv()
            .put(Tree::ResearchBudget, &key(query), &encode(&q))
    }
}

/// One node's answer to a query across the federation, as a researcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NodeAnswerView {
    /// The organization's name.
    pub node: String,
    /// Whether it is this node.
    pub this_node: bool,
    /// How it went: `waiting` until it answers, then `ok`, `small` (fewer than `k`),
    /// `refused`...
    pub status: &'static str,
    /// The noisy count, when given.
    pub count: Option<u64>,
    /// That node's threshold.
    pub k: Option<u64>,
    /// When the answer came (RFC 3339).
    pub at: Option<String>,
}

/// A partner node's distribution for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerDistribution {
    /// How it went.
    pub status: DistributionStatus,
    /// How many of its patients answered.
    pub answered: u64,
    /// Answer → patients.
    pub bins: Vec<raremesh_bridge::protocol::Bin>,
    /// When it arrived (Unix seconds).
    pub at: u64,
}

/// What is known of partners' distributions for one question, and when it was last asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerDistributions {
    /// Peer user id → its latest distribution.
    pub peers: BTreeMap<String, PeerDistribution>,
    /// When the peers were last asked (Unix seconds).
    pub asked_at: u64,
}

impl Record for PartnerDistributions {
    const TREE: Tree = Tree::ResearchBudget;
    const VERSION: u32 = 1;
}

fn dist_key(questionnaire: &str, question: &str, orpha: Option<u64>) -> Vec<u8> {
    format!(
        "dc/{questionnaire}/{question}/{}",
        orpha.map_or("all".to_owned(), |o| o.to_string())
    )
    .into_bytes()
}

/// Seconds after which partners are asked again.
pub const DISTRIBUTION_REFRESH_SECS: u64 = 600;

impl Federation {
    /// What partners answered for a question (possibly nothing yet).
    pub fn partner_distributions(
        &self,
        questionnaire: &str,
        question: &str,
        orpha: Option<u64>,
    ) -> Result<PartnerDistributions, StoreError> {
        Ok(self
            .store
            .kv()
            .get(
                Tree::ResearchBudget,
                &dist_key(questionnaire, question, orpha),
            )?
            .map(|b| decode(&b))
            .transpose()?
            .unwrap_or_default())
    }

    /// Asks the peers for a question's distribution, unless asked recently.
    pub async fn refresh_distribution(
        &self,
        questionnaire: &str,
        question: &str,
        orpha: Option<u64>,
    ) -> Result<(), FederationError> {
        let now = crate::clock::now();
        let mut d = self.partner_distributions(questionnaire, question, orpha)?;
        if d.asked_at + DISTRIBUTION_REFRESH_SECS > now {
            return Ok(());
        }
        d.asked_at = now;
        let k = dist_key(questionnaire, question, orpha);
        self.store.kv().put(Tree::ResearchBudget, &k, &encode(&d))?;
        let id = random_id()?;
        self.store
            .kv()
            .put(Tree::ResearchBudget, format!("dq/{id}").as_bytes(), &k)?;
        let room = self
            .own_room()?
            .ok_or_else(|| FederationError::Matrix("no federation room yet".into()))?;
        let content = seal(
            &Payload::DistributionQuery {
                query: id,
                questionnaire: questionnaire.to_owned(),
                question: question.to_owned(),
                orpha,
            },
            &self.recipients,
        )?;
        self.client.send_batch(&room, &content).await?;
        Ok(())
    }

    /// A peer asks how this node's patients answered a question.
    pub(super) async fn on_distribution_query(
        &self,
        peer: &str,
        query: &str,
        questionnaire: &str,
        question: &str,
        orpha: Option<u64>,
    ) -> Result<(), FederationError> {
        let (status, answered, bins) =
            match local_distribution(&self.local, questionnaire, question, orpha)? {
                None => (DistributionStatus::UnknownQuestion, 0, Vec::new()),
                Some((answered, bins)) if answered >= u64::from(self.local.research.k) => {
                    (DistributionStatus::Ok, answered, bins)
                }
                Some(_) => (DistributionStatus::FewerThanK, 0, Vec::new()),
            };
        let Some(p) = self.peer(peer) else {
            return Ok(());
        };
        let to: age::x25519::Recipient = p
            .age_key
            .trim()
            .parse()
            .map_err(|_| FederationError::Keys(format!("{peer}: bad age key")))?;
        let room = self
            .own_room()?
            .ok_or_else(|| FederationError::Matrix("no federation room yet".into()))?;
        let content = seal(
            &Payload::DistributionAnswer {
                query: query.to_owned(),
                status,
                answered,
                bins,
            },
            &[to],
        )?;
        self.client.send_batch(&room, &content).await?;
        Ok(())
    }

    /// A peer's distribution arrived.
    pub(crate) fn on_distribution_answer(
        &self,
        peer: &str,
        query: &str,
        answer: PeerDistribution,
    ) -> Result<(), StoreError> {
        let Some(k) = self
            .store
            .kv()
            .get(Tree::ResearchBudget, format!("dq/{query}").as_bytes())?
        else {
            return Ok(());
        };
        let mut d: PartnerDistributions = self
            .store
            .kv()
            .get(Tree::ResearchBudget, &k)?
            .map(|b| decode(&b))
            .transpose()?
            .unwrap_or_default();
        d.peers.insert(peer.to_owned(), answer);
        self.store.kv().put(Tree::ResearchBudget, &k, &encode(&d))
    }
}

/// This node's distribution of a question among validated patients of consenting members
/// (with the ORPHA disease, if given): how many answered, and the bins. None when the node
/// has no such question.
pub fn local_distribution(
    local: &super::Local,
    questionnaire: &str,
    question: &str,
    orpha: Option<u64>,
) -> Result<Option<(u64, Vec<raremesh_bridge::protocol::Bin>)>, StoreError> {
    let Some(q) = local.research.questionnaire(questionnaire) else {
        return Ok(None);
    };
    let Some(x) = q.questions.iter().find(|x| x.id == question) else {
        return Ok(None);
    };
    let consenting: std::collections::HashSet<AccountId> = local
        .registrations
        .members()?
        .into_iter()
        .filter(|m| m.consents.research)
        .map(|m| m.account_id)
        .collect();
    let patients: std::collections::HashMap<
        (AccountId, PatientId),
        crate::registration::patient::Patient,
    > = local
        .patients
        .all()?
        .into_iter()
        .map(|p| ((p.account_id.clone(), p.id.clone()), p))
        .collect();
    let all = local.research.all_submitted(questionnaire)?;
    let others: Vec<&crate::research::Answers> = all
        .iter()
        .filter(|a| consenting.contains(&a.account_id))
        .filter(|a| {
            patients
                .get(&(a.account_id.clone(), a.patient_id.clone()))
                .is_some_and(|p| {
                    p.validation.is_approved()
                        && orpha.is_none_or(|o| {
                            matches!(p.diagnosis, crate::registration::patient::Diagnosis::Orpha { code } if u64::from(code.number()) == o)
                        })
                })
        })
        .collect();
    let empty = crate::research::Answers {
        questionnaire: questionnaire.to_owned(),
        version: q.version,
        account_id: AccountId::default(),
        patient_id: PatientId::default(),
        values: BTreeMap::new(),
        submitted: true,
        updated_at: 0,
    };
    let s = crate::research::standing::standings(0, std::slice::from_ref(x), &empty, &others);
    let Some(s) = s.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some((
        u64::from(s.answered),
        s.bars
            .into_iter()
            .map(|b| raremesh_bridge::protocol::Bin {
                label: b.label,
                count: u64::from(b.count),
            })
            .collect(),
    )))
}
