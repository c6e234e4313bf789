//! `GET /api/v1/terms` (autocomplete) and `GET /api/v1/terms/{id}` (one term).

use axum::Json;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use raremesh_ontology::{HpoId, Lookup, Ontology, TermIdx};
use raremesh_search::{LabelKind, Target};
use serde::Serialize;

use super::error::ApiError;
use super::params::SearchParams;
use raremesh_domain::state::AppState;

/// One suggestion.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermHit {
    id: String,
    /// The name in the language of the answer (English where the translation has none).
    name: String,
    /// The language of `name`.
    name_lang: String,
    /// The English name.
    name_en: String,
    /// The label that matched: the name or a synonym, in `matched_lang`.
    matched: String,
    /// The language of `matched`.
    matched_lang: String,
    /// `name`, `exact_synonym`, `layperson_synonym` or `other_synonym`.
    matched_kind: &'static str,
    score: f32,
    /// Whether the query names this term without doubt (safe to pre-select).
    confident: bool,
}

/// The answer of a search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermResults {
    query: String,
    /// The language searched (with English).
    lang: String,
    results: Vec<TermHit>,
}

/// The language of a search: `lang=` if the ontology has that translation, else the
/// first language of `Accept-Language` that it has, else English.
pub(crate) fn search_lang(o: &Ontology, asked: Option<&str>, headers: &HeaderMap) -> String {
    let has = |l: &str| {
        let l = l.trim();
        (l.to_ascii_lowercase().starts_with("en"))
            .then(|| "en".to_owned())
            .or_else(|| o.translation(l).map(|t| t.lang.clone()))
    };
    if let Some(l) = asked.and_then(has) {
        return l;
    }
    super::i18n::accepted(headers)
        .find_map(has)
        .unwrap_or_else(|| "en".to_owned())
}

pub(crate) fn kind_name(k: LabelKind) -> &'static str {
    match k {
        LabelKind::Name => "name",
        LabelKind::Exact => "exact_synonym",
        LabelKind::Layperson => "layperson_synonym",
        LabelKind::Other => "other_synonym",
    }
}

/// Runs a term search in `lang` (with English).
pub(crate) fn search(state: &AppState, params: &SearchParams, lang: &str) -> Vec<TermHit> {
    let o = &state.ontology;
    state
        .autocomplete
        .terms_in(o, &params.q, params.limit, lang)
        .into_iter()
        .filter_map(|h| match h.target {
            Target::Term(t) => {
                let translated = o.translation(lang).and_then(|tr| tr.name(t));
                Some(TermHit {
                    id: o.term(t).id.to_string(),
                    name: translated.unwrap_or(&o.term(t).name).to_owned(),
                    name_lang: if translated.is_some() { lang } else { "en" }.to_owned(),
                    name_en: o.term(t).name.clone(),
                    matched: h.matched,
                    matched_lang: h.lang,
                    matched_kind: kind_name(h.matched_kind),
                    score: if h.score.is_finite() { h.score } else { 100.0 },
                    confident: h.confident,
                })
            }
            Target::Disease(_) => None,
        })
        .collect()
}

/// `GET /api/v1/terms?q=&limit=&lang=`: symptom autocomplete by name, synonym (lay words
/// included) or HPO id, tolerant of prefixes and typos, in the language asked for (`lang`,
/// else `Accept-Language`) and in English.
#[utoipa::path(get, path = "/terms", tag = "ontology", operation_id = "search_terms",
    params(
        ("q" = String, Query, description = "Words, a prefix, or an HPO id (HP:0001250)"),
        ("limit" = Option<usize>, Query, description = "How many (search.default_limit; at most search.max_limit)"),
        ("lang" = Option<String>, Query, description = "A language code (es, fr...); else Accept-Language; English always"),
    ),
    responses(
        (status = 200, description = "Suggestions, best first", body = TermResults),
        (status = 400, description = "A bad limit or a query too long", body = super::openapi::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: SearchParams,
) -> Json<TermResults> {
    let lang = search_lang(&state.ontology, params.lang.as_deref(), &headers);
    Json(TermResults {
        results: search(&state, &params, &lang),
        query: params.q,
        lang,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TermRef {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SynonymOut<'a> {
    text: &'a str,
    scope: raremesh_ontology::SynonymScope,
    layperson: bool,
}

/// One term in full.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermDetail<'a> {
    id: String,
    /// The name in `lang` (English where the translation has none).
    name: &'a str,
    /// The English name.
    name_en: &'a str,
    /// The language of the answer.
    lang: &'a str,
    /// Other names in `lang` (none for English: see `synonyms`).
    translated_synonyms: &'a [String],
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

/// `GET /api/v1/terms/{id}?lang=`: a term with definition, synonyms, parents and
/// children; with a language (`lang`, else `Accept-Language`) that the ontology has, the
/// names are in it (English where it has none) and its synonyms are listed too.
/// Alternative and obsolete ids answer with the live term they resolve to.
#[utoipa::path(get, path = "/terms/{id}", tag = "ontology", operation_id = "get_term",
    params(
        ("id" = String, Path, description = "An HPO id; alternative and obsolete ids resolve to the live term"),
        ("lang" = Option<String>, Query, description = "A language code for the names"),
    ),
    responses(
        (status = 200, description = "The term", body = TermDetail),
        (status = 400, description = "Not an HPO id", body = super::openapi::ErrorBody),
        (status = 404, description = "Not in this release", body = super::openapi::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let o = &state.ontology;
    let (t, id, resolution) = resolve(o, &raw)?;
    let lang = search_lang(o, q.get("lang").map(String::as_str), &headers);
    let term = o.term(t);
    let term_ref = |x: TermIdx| TermRef {
        id: o.term(x).id.to_string(),
        name: o.term_name(x, &lang).to_owned(),
    };
    let translated = o.translation(&lang);
    let detail = TermDetail {
        id: term.id.to_string(),
        name: o.term_name(t, &lang),
        name_en: &term.name,
        lang: &lang,
        translated_synonyms: translated.map_or(&[][..], |tr| tr.synonyms(t)),
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
        parents: term.parents.iter().map(|&p| term_ref(p)).collect(),
        children: o.children(t).iter().map(|&c| term_ref(c)).collect(),
        disease_count: o.disease_count(t),
        requested_id: resolution.map(|_| id.to_string()),
        resolution,
    };
    serde_json::to_value(detail)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(get))
}
