//! Researchers' counts: how many patients match a combination of criteria, answered with
//! privacy protections. The population is the validated patients of members who consent to
//! research. Every answer gets discrete Laplace noise of scale 1/ε; a noisy count under `k`
//! is reported as "fewer than k"; each new query spends ε from the researcher's budget for
//! the period; the same query in the same period gets the same answer at no cost; every
//! query and answer is audited.

use std::collections::HashSet;
use std::sync::Arc;

use raremesh_ontology::{HpoId, OrphaCode};
use serde::{Deserialize, Serialize};

use crate::ids::AccountId;
use crate::registration::patient::{Diagnosis, Patient};
use crate::research::answers::Value;
use crate::store::{KvStore, StoreError, Tree, decode, encode};

/// What a count reads and writes: the records it counts over, the budget it spends, the
/// audit log it writes to. Built from the node's services ([`AppState::counting`]).
///
/// [`AppState::counting`]: crate::state::Inner::counting
#[derive(Clone, Copy)]
pub struct Counting<'a> {
    /// The ontology (symptoms with their descendants).
    pub ontology: &'a raremesh_ontology::Ontology,
    /// Questionnaires, groups and answers.
    pub research: &'a super::Research,
    /// The patients counted.
    pub patients: &'a crate::registration::patient::Patients,
    /// Their members' consents.
    pub registrations: &'a crate::registration::Registrations,
    /// Budgets and cached answers.
    pub kv: &'a dyn KvStore,
    /// Where each count is recorded.
    pub audit: &'a crate::audit::Audit,
    /// `[research]`.
    pub config: &'a crate::config::ResearchConfig,
}

impl Counting<'_> {
    /// The research population: the validated patients of members who consent to
    /// research. Read from the database once per change count (any save of a patient or a
    /// member moves it), and kept in between.
    pub fn population(&self) -> Result<Arc<Vec<Patient>>, StoreError> {
        let generation = self.patients.generation();
        if let Some(kept) = self.research.kept_population(generation) {
            return Ok(kept);
        }
        let consenting: HashSet<AccountId> = self
            .registrations
            .members()?
            .into_iter()
            .filter(|m| m.consents.research)
            .map(|m| m.account_id)
            .collect();
        let population: Vec<Patient> = self
            .patients
            .all()?
            .into_iter()
            .filter(|p| p.validation.is_approved() && consenting.contains(&p.account_id))
            .collect();
        let population = Arc::new(population);
        self.research
            .keep_population(generation, population.clone());
        Ok(population)
    }
}

/// What a count asks for: every given criterion must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Criteria {
    /// An HPO term the patient has (the term or any descendant), e.g. `HP:0001250`.
    pub symptom: Option<String>,
    /// An ORPHA disease, e.g. `ORPHA:558`.
    pub disease: Option<String>,
    /// A disease group id from `[research.groups]`.
    pub group: Option<String>,
    /// An age band: `0-5`, `6-11`, `12-17`, `18-39`, `40-64`, `65+`.
    pub age_band: Option<String>,
    /// A sex: `female` or `male`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// A questionnaire answer: `questionnaire/question/option` (the option's text).
    pub answer: Option<String>,
}

/// A count's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Count {
    /// The noisy count, or None when under `k` ("fewer than k").
    pub count: Option<u64>,
    /// The threshold under which counts are not given.
    pub k: u32,
    /// Whether this came from an earlier identical query (no budget spent).
    pub cached: bool,
    /// The budget left for the period, in ε.
    pub remaining: f64,
}

/// Why a count is refused.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A criterion is malformed or unknown.
    #[error("{0}")]
    Invalid(crate::message::Message),
    /// No criterion given.
    #[error("give at least one criterion")]
    Empty,
    /// The period's budget is spent.
    #[error("the privacy budget for this period is spent; it refills on day {0} of the period")]
    Budget(u32),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueryError {
    /// A criterion refused with the catalogue message `key`, naming what was given.
    pub fn invalid(key: &'static str, given: &str) -> Self {
        Self::Invalid(crate::message::Message::new(key).with("value", format!("{given:?}")))
    }

    /// What to tell the researcher, in any language (the store's failure excepted: logged).
    pub fn message(&self) -> crate::message::Message {
        use crate::message::Message;
        match self {
            Self::Invalid(m) => m.clone(),
            Self::Empty => Message::new("research.error.empty"),
            Self::Budget(day) => Message::new("research.error.budget").with("day", *day),
            Self::Store(_) => Message::new("errors.internal"),
        }
    }
}

fn band_of(age: u32) -> &'static str {
    raremesh_bridge::protocol::AgeBand::of_age(age).label()
}

fn current_year() -> u32 {
    u32::from(crate::registration::patient::current_year())
}

impl Criteria {
    /// The criteria in one canonical line (for the cache and the audit log).
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The criteria checked, in one spelling: the live term of an HPO id (an alternative or
    /// replaced id gives its term), `ORPHA:<n>`, no surrounding spaces, blank ones left
    /// out. Caches and budgets see this form, so a query re-spelt is the same query.
    pub fn normalized(&self, c: Counting<'_>) -> Result<Self, QueryError> {
        let blank = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let mut n = Self {
            symptom: blank(&self.symptom),
            disease: blank(&self.disease),
            group: blank(&self.group),
            age_band: blank(&self.age_band),
            answer: blank(&self.answer),
            sex: blank(&self.sex),
        };
        n.check(c)?;
        if let Some(t) = n
            .symptom
            .as_deref()
            .and_then(|s| s.parse::<HpoId>().ok())
            .and_then(|id| c.ontology.resolve(id))
        {
            n.symptom = Some(c.ontology.term(t).id.to_string());
        }
        if let Some(c) = n
            .disease
            .as_deref()
            .and_then(|d| d.parse::<OrphaCode>().ok())
        {
            n.disease = Some(c.to_string());
        }
        Ok(n)
    }

    fn check(&self, c: Counting<'_>) -> Result<(), QueryError> {
        if *self == Self::default() {
            return Err(QueryError::Empty);
        }
        if let Some(s) = &self.symptom
            && s.trim()
                .parse::<HpoId>()
                .ok()
                .and_then(|id| c.ontology.resolve(id))
                .is_none()
        {
            return Err(QueryError::invalid("research.error.not_a_term", s));
        }
        if let Some(d) = &self.disease
            && d.trim()
                .parse::<OrphaCode>()
                .ok()
                .and_then(|code| c.ontology.disease(code))
                .is_none()
        {
            return Err(QueryError::invalid("research.error.not_a_disease", d));
        }
        if let Some(g) = &self.group
            && !c.research.groups.iter().any(|x| x.id == *g)
        {
            return Err(QueryError::invalid("research.error.not_a_group", g));
        }
        if let Some(b) = &self.age_band
            && !["0-5", "6-11", "12-17", "18-39", "40-64", "65+"].contains(&b.as_str())
        {
            return Err(QueryError::invalid("research.error.not_an_age_band", b));
        }
        if let Some(s) = &self.sex
            && !["female", "male"].contains(&s.as_str())
        {
            return Err(QueryError::invalid("research.error.not_a_sex", s));
        }
        if let Some(a) = &self.answer {
            let parts: Vec<&str> = a.splitn(3, '/').collect();
            let known = parts.len() == 3
                && c.research
                    .questionnaire(parts[0])
                    .and_then(|q| q.questions.iter().find(|x| x.id == parts[1]))
                    .is_some_and(|x| x.options.iter().any(|o| o == parts[2]));
            if !known {
                return Err(QueryError::invalid("research.error.not_an_answer", a));
            }
        }
        Ok(())
    }

    /// The true number of patients in the research population matching the criteria.
    pub fn true_count(&self, c: Counting<'_>) -> Result<u64, QueryError> {
        let o = &c.ontology;
        let symptom = self
            .symptom
            .as_ref()
            .and_then(|s| s.trim().parse::<HpoId>().ok())
            .and_then(|id| o.resolve(id));
        let disease = self
            .disease
            .as_ref()
            .and_then(|d| d.trim().parse::<OrphaCode>().ok());
        let group = self
            .group
            .as_ref()
            .and_then(|g| c.research.groups.iter().find(|x| x.id == *g));
        let answer: Option<Vec<&str>> = self.answer.as_ref().map(|a| a.splitn(3, '/').collect());
        let year = current_year();
        let matches = |p: &Patient| -> Result<bool, QueryError> {
            if let Some(t) = symptom {
                let has = p.symptoms.iter().filter(|s| s.observed).any(|s| {
                    o.resolve(s.term)
                        .is_some_and(|own| own == t || o.ancestors(own).contains(&t))
                });
                if !has {
                    return Ok(false);
                }
            }
            let code = match p.diagnosis {
                Diagnosis::Orpha { code } => Some(code),
                _ => None,
            };
            if disease.is_some() && code != disease {
                return Ok(false);
            }
            if let Some(g) = group
                && !code.is_some_and(|c| g.orpha.contains(&c.number()))
            {
                return Ok(false);
            }
            if let Some(s) = &self.sex {
                let is = match p.sex {
                    crate::registration::patient::Sex::Female => "female",
                    crate::registration::patient::Sex::Male => "male",
                    _ => "",
                };
                if is != s {
                    return Ok(false);
                }
            }
            if let Some(b) = &self.age_band
                && band_of(year.saturating_sub(u32::from(p.birth_year))) != b
            {
                return Ok(false);
            }
            if let Some([q, question, option]) = answer.as_deref().map(|a| [a[0], a[1], a[2]]) {
                let given = c.research.answers(&p.account_id, &p.id, q)?;
                let hit = given.is_some_and(|a| {
                    a.submitted
                        && match a.values.get(question) {
                            Some(Value::Text(t)) => t == option,
                            Some(Value::List(l)) => l.iter().any(|x| x == option),
                            _ => false,
                        }
                });
                if !hit {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let mut n = 0;
        for p in c.population()?.iter() {
            if matches(p)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// A sample of discrete Laplace noise with parameter ε (scale 1/ε): the difference of two
/// geometric variables with success probability 1 − e^(−ε). `uniform` gives numbers in
/// (0, 1).
pub fn discrete_laplace(epsilon: f64, mut uniform: impl FnMut() -> f64) -> i64 {
    let q = (-epsilon).exp();
    let mut geometric = || (uniform().ln() / q.ln()).floor() as i64;
    geometric() - geometric()
}

/// A uniform number in (0, 1) from the operating system.
pub(crate) fn os_uniform() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    ((u64::from_le_bytes(b) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Spent {
    /// ε spent, in millionths (exact sums).
    micro: u64,
}

/// The current budget period's number, and the day within it (from 1).
pub(crate) fn period(days: u32) -> (u64, u32) {
    let day = crate::clock::now() / 86_400;
    (day / u64::from(days), (day % u64::from(days)) as u32 + 1)
}

/// Answers a researcher's count, spending budget unless the same query was answered in this
/// period; audited.
pub fn count(
    c: Counting<'_>,
    researcher: &str,
    criteria: &Criteria,
    uniform: Option<&mut dyn FnMut() -> f64>,
) -> Result<Count, QueryError> {
    let budget = c.config.budget;
    count_charged(c, &[(researcher, budget)], criteria, uniform)
}

/// Answers a count for a partner node's researcher: charged to that researcher's budget
/// and to the partner node's as a whole (`research.node_budget`), since the partner names
/// its researchers itself.
pub fn count_for_partner(
    c: Counting<'_>,
    peer: &str,
    researcher: &str,
    criteria: &Criteria,
) -> Result<Count, QueryError> {
    let cfg = &c.config;
    count_charged(
        c,
        &[
            (&format!("peer {peer} {researcher}"), cfg.budget),
            (&format!("peer {peer}"), cfg.node_budget),
        ],
        criteria,
        None,
    )
}

/// Held while a count reads and writes its cache and budgets.
static CHARGING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Answers a count charged to every budget of `budgets` (key, ε per period): each must
/// have room for a new answer; a query already answered in the period costs nothing. The
/// first key is the one audited.
fn count_charged(
    c: Counting<'_>,
    budgets: &[(&str, f64)],
    criteria: &Criteria,
    uniform: Option<&mut dyn FnMut() -> f64>,
) -> Result<Count, QueryError> {
    // The same question however it is spelt: the same answer.
    let criteria = &criteria.normalized(c)?;
    // From reading the cache and the budgets to writing them, one count at a time: two
    // identical queries at once get one answer (one noise draw), and two different ones
    // are both charged.
    let _one_at_a_time = CHARGING.lock().unwrap_or_else(|e| e.into_inner());
    let researcher = budgets.first().map_or("", |b| b.0);
    let cfg = &c.config;
    let (p, day) = period(cfg.budget_period_days);
    let cost_micro = (cfg.epsilon_per_query * 1e6).round() as u64;
    let mut accounts: Vec<(String, Spent, u64)> = Vec::with_capacity(budgets.len());
    for (who, budget) in budgets {
        let key = format!("{who}/{p}");
        let spent: Spent =
            c.kv.get(Tree::ResearchBudget, key.as_bytes())?
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
        accounts.push((key, spent, (budget * 1e6).round() as u64));
    }
    let remaining = |a: &[(String, Spent, u64)]| {
        a.iter()
            .map(|(_, s, b)| b.saturating_sub(s.micro))
            .min()
            .unwrap_or(0) as f64
            / 1e6
    };
    // One answer per query and period, for every researcher: repeating learns nothing.
    let cache_key = format!("q/{p}/{}", criteria.canonical());
    let (count, cached) = match c.kv.get(Tree::ResearchBudget, cache_key.as_bytes())? {
        Some(b) => (
            decode::<CachedCount>(&b).map_err(StoreError::from)?.count,
            true,
        ),
        None => {
            if accounts
                .iter()
                .any(|(_, s, budget)| s.micro + cost_micro > *budget)
            {
                return Err(QueryError::Budget(cfg.budget_period_days - day + 1));
            }
            let truth = criteria.true_count(c)? as i64;
            let noise = match uniform {
                Some(u) => discrete_laplace(cfg.epsilon_per_query, u),
                None => discrete_laplace(cfg.epsilon_per_query, os_uniform),
            };
            let noisy = (truth + noise).max(0) as u64;
            let shown = (noisy >= u64::from(c.research.k)).then_some(noisy);
            for (key, spent, _) in &mut accounts {
                spent.micro += cost_micro;
                c.kv.put(
                    Tree::ResearchBudget,
                    key.as_bytes(),
                    &serde_json::to_vec(&*spent).unwrap_or_default(),
                )?;
            }
            c.kv.put(
                Tree::ResearchBudget,
                cache_key.as_bytes(),
                &encode(&CachedCount { count: shown }),
            )?;
            (shown, false)
        }
    };
    let answer = Count {
        count,
        k: c.research.k,
        cached,
        remaining: remaining(&accounts),
    };
    c.audit.record(&crate::audit::Entry {
        at: crate::clock::now(),
        actor: researcher.to_owned(),
        action: crate::audit::Action::ResearchQuery,
        account_id: researcher.into(),
        patient_id: None,
        document_id: None,
        reason: Some(format!(
            "{} -> {}{}",
            criteria.canonical(),
            count.map_or_else(|| format!("fewer than {}", answer.k), |c| c.to_string()),
            if cached { " (repeated)" } else { "" }
        )),
    })?;
    Ok(answer)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedCount {
    count: Option<u64>,
}

impl crate::store::Record for CachedCount {
    const TREE: Tree = Tree::ResearchBudget;
    const VERSION: u32 = 1;
}
