//! The GA4GH Beacon v2 endpoint (`/beacon/v2/`, see `docs/beacon.md`): who the Beacon
//! is, what it holds (individuals, with their HPO terms, Orphanet disease, sex and age
//! band), and counts of individuals by filters, never records. A count is a research count
//! (`research::query`): validated patients of members who consent to research, noise,
//! nothing under `k`, a privacy budget per requester, one answer per query and period,
//! audited.

pub mod filters;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::registration::patient::Diagnosis;
use crate::research::query::{Count, Counting, Criteria, QueryError};
use crate::store::Tree;

/// The Beacon API version spoken.
pub const API_VERSION: &str = "v2.0.0";
/// The individuals model's default schema.
pub const INDIVIDUAL_SCHEMA: &str = "ga4gh-beacon-individual-v2.0.0";
const INDIVIDUAL_SCHEMA_URL: &str = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model/individuals/defaultSchema.json";
const CONFIGURATION_SCHEMA_URL: &str = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconConfigurationSchema.json";
const MAP_SCHEMA_URL: &str = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconMapSchema.json";

/// How much a response tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Whether there are (at least `k`) matching individuals.
    Boolean,
    /// How many (noisy; none under `k`).
    Count,
}

impl Granularity {
    /// The granularity answered for a requested one (`boolean`, `count` or `record`, in
    /// lower case): `record` is never given, counts are. None for anything else.
    pub fn read(requested: &str) -> Option<Self> {
        match requested {
            "boolean" => Some(Self::Boolean),
            "count" | "record" => Some(Self::Count),
            _ => None,
        }
    }

    /// The granularity answered for a requested one; `boolean` (the Beacon default) for
    /// one that is none of the three.
    pub fn answering(requested: &str) -> Self {
        Self::read(requested).unwrap_or(Self::Boolean)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Count => "count",
        }
    }
}

/// Who the Beacon is: its id, name, organization and address.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The Beacon's id (the reversed host name of the node, then `beacon`).
    pub id: String,
    /// The node's name.
    pub name: String,
    /// The node's public address, without a trailing slash.
    pub base: String,
    /// A contact (`mailto:` or a web page), if configured.
    pub contact: String,
}

impl Identity {
    /// The identity of a node named `name` at `public_url`.
    pub fn new(name: &str, public_url: &str, contact: &str) -> Self {
        let base = public_url.trim_end_matches('/').to_owned();
        let host = base
            .split("://")
            .nth(1)
            .unwrap_or(&base)
            .split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let reversed: Vec<&str> = host.split('.').filter(|s| !s.is_empty()).rev().collect();
        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
        let id = if is_ip || reversed.len() < 2 {
            format!("local.raremesh.{}.beacon", host.replace(['.', ':'], "-"))
        } else {
            format!("{}.beacon", reversed.join("."))
        };
        Self {
            id,
            name: name.to_owned(),
            base,
            contact: contact.to_owned(),
        }
    }

    fn informational_meta(&self) -> Value {
        json!({
            "beaconId": self.id,
            "apiVersion": API_VERSION,
            "returnedSchemas": [{ "entityType": "individual", "schema": INDIVIDUAL_SCHEMA }],
        })
    }

    /// `GET /beacon/v2/` and `/info`.
    pub fn info(&self) -> Value {
        let mut organization = json!({ "id": self.id, "name": self.name });
        if !self.contact.is_empty() {
            organization["contactUrl"] = json!(self.contact);
        }
        json!({
            "meta": self.informational_meta(),
            "response": {
                "id": self.id,
                "name": format!("{} (raremesh)", self.name),
                "apiVersion": API_VERSION,
                "environment": "prod",
                "organization": organization,
                "description": "Counts of the validated patients of a patient organization whose members consent to research, by HPO term (narrower terms included), Orphanet disease, sex and age band. Counts under the threshold are not given; no record is ever returned.",
                "version": crate::VERSION,
                "welcomeUrl": self.base,
            }
        })
    }

    /// `GET /beacon/v2/configuration`.
    pub fn configuration(&self) -> Value {
        json!({
            "meta": self.informational_meta(),
            "response": {
                "$schema": CONFIGURATION_SCHEMA_URL,
                "maturityAttributes": { "productionStatus": "PROD" },
                "securityAttributes": {
                    "defaultGranularity": "boolean",
                    "securityLevels": ["CONTROLLED"],
                },
                "entryTypes": entry_types(),
            }
        })
    }

    /// `GET /beacon/v2/map`.
    pub fn map(&self) -> Value {
        json!({
            "meta": self.informational_meta(),
            "response": {
                "$schema": MAP_SCHEMA_URL,
                "endpointSets": {
                    "individual": {
                        "entryType": "individual",
                        "rootUrl": format!("{}/beacon/v2/individuals", self.base),
                        "filteringTermsUrl": format!("{}/beacon/v2/filtering_terms", self.base),
                    }
                }
            }
        })
    }

    /// `GET /beacon/v2/entry_types`.
    pub fn entry_types(&self) -> Value {
        json!({
            "meta": self.informational_meta(),
            "response": { "entryTypes": entry_types() }
        })
    }

    /// `GET /beacon/v2/filtering_terms`: `terms` as (type, id, label).
    pub fn filtering_terms(&self, terms: &[(String, String, String)]) -> Value {
        let list: Vec<Value> = terms
            .iter()
            .map(|(kind, id, label)| {
                json!({ "type": kind, "id": id, "label": label, "scopes": ["individual"] })
            })
            .collect();
        json!({
            "meta": self.informational_meta(),
            "response": { "filteringTerms": list }
        })
    }

    fn query_meta(&self, request: &Received, returned: Granularity) -> Value {
        json!({
            "beaconId": self.id,
            "apiVersion": API_VERSION,
            "returnedGranularity": returned.name(),
            "returnedSchemas": [{ "entityType": "individual", "schema": INDIVIDUAL_SCHEMA }],
            "receivedRequestSummary": {
                "apiVersion": request.api_version,
                "requestedSchemas": [],
                "pagination": {},
                // Repeated when it is one of the three (the schema allows no other).
                "requestedGranularity": match Granularity::read(&request.granularity) {
                    Some(_) => request.granularity.as_str(),
                    None => "boolean",
                },
                "filters": request.filters,
            }
        })
    }

    /// The answer to an individuals query: whether there are at least `k` matching
    /// individuals, and how many at `count` granularity. Under `k`, the count is not
    /// given: `exists` is false and `info.fewerThanK` says why.
    pub fn individuals(&self, request: &Received, count: &Count) -> Value {
        let asked = Granularity::answering(&request.granularity);
        match count.count {
            Some(n) => {
                let mut summary = json!({ "exists": n > 0 });
                if asked == Granularity::Count {
                    summary["numTotalResults"] = json!(n);
                }
                json!({
                    "meta": self.query_meta(request, asked),
                    "responseSummary": summary,
                    "info": { "k": count.k, "cached": count.cached },
                })
            }
            None => json!({
                "meta": self.query_meta(request, Granularity::Boolean),
                "responseSummary": { "exists": false },
                "info": { "fewerThanK": true, "k": count.k, "cached": count.cached },
            }),
        }
    }

    /// The response to a query the requester sent to the whole network: the total of the
    /// counts each node gave (this one and its partners, each with its own protections),
    /// and each node's answer in `info.network`.
    pub fn individuals_network(
        &self,
        request: &Received,
        local: &Count,
        query: &str,
        answers: &[crate::federation::research::NodeAnswerView],
    ) -> Value {
        let asked = Granularity::answering(&request.granularity);
        let total: u64 = answers.iter().filter_map(|a| a.count).sum();
        let mut summary = json!({ "exists": total > 0 });
        if asked == Granularity::Count {
            summary["numTotalResults"] = json!(total);
        }
        json!({
            "meta": self.query_meta(request, asked),
            "responseSummary": summary,
            "info": {
                "k": local.k,
                "cached": local.cached,
                "network": {
                    "query": query,
                    "complete": answers.iter().all(|a| a.status != "waiting"),
                    "answers": answers,
                },
            },
        })
    }

    /// An error response (`code`: an HTTP status).
    pub fn error(&self, request: &Received, code: u16, message: &str) -> Value {
        json!({
            "meta": self.query_meta(request, Granularity::Boolean),
            "error": { "errorCode": code, "errorMessage": message },
        })
    }
}

fn entry_types() -> Value {
    json!({
        "individual": {
            "id": "individual",
            "name": "Individual",
            "ontologyTermForThisType": { "id": "NCIT:C25190", "label": "Person" },
            "partOfSpecification": "Beacon v2.0.0",
            "description": "A patient of the organization (counted, never returned).",
            "defaultSchema": {
                "id": INDIVIDUAL_SCHEMA,
                "name": "Default schema for an individual",
                "referenceToSchemaDefinition": INDIVIDUAL_SCHEMA_URL,
                "schemaVersion": "v2.0.0",
            }
        }
    })
}

/// What a request asked, as the response repeats it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request's API version (this Beacon's when not given).
    pub api_version: String,
    /// The requested granularity (`boolean` when not given).
    pub granularity: String,
    /// The filters' ids.
    pub filters: Vec<String>,
}

impl Default for Received {
    fn default() -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            granularity: "boolean".to_owned(),
            filters: Vec::new(),
        }
    }
}

/// Counts the individuals matching `criteria` for Beacon requester `client`: a research
/// count charged to that requester's budget.
pub fn count(c: Counting<'_>, client: &str, criteria: &Criteria) -> Result<Count, QueryError> {
    crate::research::query::count(c, &format!("beacon {client}"), criteria, None)
}

/// The filtering terms: the HPO terms and Orphanet diseases that at least `k` patients of
/// the research population have (as given, not their broader terms), by a count with the
/// same noise as a research count, made once per budget period and kept for it (asking
/// again within the period learns nothing new); then the sexes and the age bands. As
/// (type, id, label).
pub fn terms_in_use(c: Counting<'_>) -> Result<Vec<(String, String, String)>, QueryError> {
    let (period, _) = crate::research::query::period(c.config.budget_period_days);
    let key = format!("ft/{period}");
    if let Some(kept) = c.kv.get(Tree::ResearchBudget, key.as_bytes())?
        && let Ok(terms) = serde_json::from_slice(&kept)
    {
        return Ok(terms);
    }
    let terms = noisy_terms(c)?;
    c.kv.put(
        Tree::ResearchBudget,
        key.as_bytes(),
        &serde_json::to_vec(&terms).unwrap_or_default(),
    )?;
    Ok(terms)
}

fn noisy_terms(c: Counting<'_>) -> Result<Vec<(String, String, String)>, QueryError> {
    let o = c.ontology;
    let mut terms: BTreeMap<String, u32> = BTreeMap::new();
    let mut diseases: BTreeMap<u32, u32> = BTreeMap::new();
    for p in c.population()?.iter() {
        let mut own: Vec<String> = p
            .symptoms
            .iter()
            .filter(|s| s.observed)
            .filter_map(|s| o.resolve(s.term).map(|t| o.term(t).id.to_string()))
            .collect();
        own.sort();
        own.dedup();
        for t in own {
            *terms.entry(t).or_default() += 1;
        }
        if let Diagnosis::Orpha { code } = p.diagnosis {
            *diseases.entry(code.number()).or_default() += 1;
        }
    }
    let k = i64::from(c.research.k);
    let eps = c.config.epsilon_per_query;
    let above = |n: u32| {
        i64::from(n)
            + crate::research::query::discrete_laplace(eps, crate::research::query::os_uniform)
            >= k
    };
    let mut out: Vec<(String, String, String)> = Vec::new();
    for (id, n) in terms {
        if above(n) {
            let label = id
                .parse()
                .ok()
                .and_then(|h| o.resolve(h))
                .map(|t| o.term(t).name.clone())
                .unwrap_or_default();
            out.push(("ontologyTerm".into(), id, label));
        }
    }
    for (code, n) in diseases {
        if above(n) {
            let code = raremesh_ontology::OrphaCode::from_number(code);
            let label = o.disease(code).map(|d| d.name.clone()).unwrap_or_default();
            out.push(("ontologyTerm".into(), code.to_string(), label));
        }
    }
    for (id, label, _) in filters::SEXES {
        out.push(("ontologyTerm".into(), id.into(), label.into()));
    }
    for band in filters::AGE_BANDS {
        out.push((
            "custom".into(),
            format!("{}{band}", filters::AGE_BAND_PREFIX),
            format!("aged {band} years"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Identity;

    #[test]
    fn a_beacon_is_named_by_its_host_reversed() {
        assert_eq!(
            Identity::new("A", "https://rare-a.example.org/", "").id,
            "org.example.rare-a.beacon"
        );
        assert_eq!(
            Identity::new("A", "http://127.0.0.1:8080", "").id,
            "local.raremesh.127-0-0-1.beacon"
        );
    }
}
