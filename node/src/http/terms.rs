//! `GET /api/v1/terms` (autocomplete) and `GET /api/v1/terms/{id}` (one term).

use axum::Json;
use axum::extract::{Path, State};
use raremesh_ontology::{HpoId, Lookup, Ontology, TermIdx};
use raremesh_search::{LabelKind, Target};
use serde::Serialize;

use super::error::ApiError;
use super::params::SearchParams;
use crate::state::AppState;

/// One suggestion.
#[derive(Debug, Serialize)]
pub struct TermHit {
    id: String,
    name: String,
    /// The label that matched: the name or a synonym.
    matched: String,
    /// `name`, `exact_synonym`, `layperson_synonym` or `other_synonym`.
    matched_kind: &'static str,
    score: f32,
}

/// The answer of a search.
#[derive(Debug, Serialize)]
pub struct TermResults {
    query: String,
    results: Vec<TermHit>,
}

pub(crate) fn kind_name(k: LabelKind) -> &'static str {
    match k {
        LabelKind::Name => "name",
        LabelKind::Exact => "exact_synonym",
        LabelKind::Layperson => "layperson_synonym",
        LabelKind::Other => "other_synonym",
    }
}

/// Runs a term search (shared with the HTML page).
pub(crate) fn search(state: &AppState, params: &SearchParams) -> Vec<TermHit> {
    let o = &state.ontology;
    state
        .autocomplete
        .terms(o, &params.q, params.limit)
        .into_iter()
        .filter_map(|h| match h.target {
            Target::Term(t) => Some(TermHit {
                id: o.term(t).id.to_string(),
                name: o.term(t).name.clone(),
                matched: h.matched,
                matched_kind: kind_name(h.matched_kind),
                score: if h.score.is_finite() { h.score } else { 100.0 },
            }),
            Target::Disease(_) => None,
        })
        .collect()
}

/// `GET /api/v1/terms?q=&limit=`: symptom autocomplete by name, synonym (lay words
/// included) or HPO id, tolerant of prefixes and typos.
pub async fn list(State(state): State<AppState>, params: SearchParams) -> Json<TermResults> {
    Json(TermResults {
        results: search(&state, &params),
        query: params.q,
    })
}

#[derive(Debug, Serialize)]
struct TermRef {
    id: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct SynonymOut<'a> {
    text: &'a str,
    scope: raremesh_ontology::SynonymScope,
    layperson: bool,
}

/// One term in full.
#[derive(Debug, Serialize)]
pub struct TermDetail<'a> {
    id: String,
    name: &'a str,
    definition: Option<&'a str>,
    synonyms: Vec<SynonymOut<'a>>,
    parents: Vec<TermRef>,
    children: Vec<TermRef>,
    /// Diseases directly annotated with this term.
    disease_count: u32,
    /// Set when the requested id was an alternative or obsolete id of this term.
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: Option<&'static str>,
}

fn term_ref(o: &Ontology, t: TermIdx) -> TermRef {
    TermRef {
        id: o.term(t).id.to_string(),
        name: o.term(t).name.clone(),
    }
}

/// Finds the live term for an id given in a URL, or the error to answer.
pub(crate) fn resolve(
    o: &Ontology,
    raw: &str,
) -> Result<(TermIdx, HpoId, Option<&'static str>), ApiError> {
    let id: HpoId = raw.parse().map_err(|_| ApiError::BadRequest {
        code: "invalid_term_id",
        message: format!(
            "{} is not an HPO term id (expected the form HP:0000118)",
            shorten(raw)
        ),
    })?;
    let release = o.version().hpo_release().to_owned();
    match o.lookup(id) {
        Lookup::Live(t) => Ok((t, id, None)),
        Lookup::AltId(t) => Ok((t, id, Some("alt_id"))),
        Lookup::Replaced(t) => Ok((t, id, Some("replaced_obsolete"))),
        Lookup::Obsolete => Err(ApiError::NotFound {
            code: "obsolete_term",
            message: format!("{id} is obsolete in HPO {release} and has no replacement"),
        }),
        Lookup::Unknown => Err(ApiError::NotFound {
            code: "unknown_term",
            message: format!("{id} is not a term of HPO {release}"),
        }),
    }
}

pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

/// `GET /api/v1/terms/{id}`: a term with definition, synonyms, parents and children.
/// Alternative and obsolete ids answer with the live term they resolve to.
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let o = &state.ontology;
    let (t, id, resolution) = resolve(o, &raw)?;
    let term = o.term(t);
    let detail = TermDetail {
        id: term.id.to_string(),
        name: &term.name,
        definition: term.definition.as_deref(),
        synonyms: term
            .synonyms
            .iter()
            .map(|s| SynonymOut {
                text: &s.text,
                scope: s.scope,
                layperson: s.layperson,
            })
            .collect(),
        parents: term.parents.iter().map(|&p| term_ref(o, p)).collect(),
        children: o.children(t).iter().map(|&c| term_ref(o, c)).collect(),
        disease_count: o.disease_count(t),
        requested_id: resolution.map(|_| id.to_string()),
        resolution,
    };
    serde_json::to_value(detail)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}
