//! `GET /api/v1/diseases` (autocomplete) and `GET /api/v1/diseases/{orpha}` (one disease).

use axum::Json;
use axum::extract::{Path, State};
use raremesh_ontology::OrphaCode;
use raremesh_search::Target;
use serde::Serialize;

use super::error::ApiError;
use super::params::SearchParams;
use super::terms::shorten;
use raremesh_domain::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DiseaseHit {
    code: String,
    name: String,
    score: f32,
}

/// The answer of a search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiseaseResults {
    query: String,
    results: Vec<DiseaseHit>,
}

/// `GET /api/v1/diseases?q=&limit=`: diseases by name (typo tolerant) or ORPHA code.
#[utoipa::path(get, path = "/diseases", tag = "ontology", operation_id = "search_diseases",
    params(
        ("q" = String, Query, description = "Words of a disease's name, or an ORPHA code"),
        ("limit" = Option<usize>, Query, description = "How many"),
    ),
    responses(
        (status = 200, description = "Diseases, best first", body = DiseaseResults),
        (status = 400, description = "A bad limit or a query too long", body = super::openapi::ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, params: SearchParams) -> Json<DiseaseResults> {
    let o = &state.ontology;
    let results = state
        .autocomplete
        .diseases(o, &params.q, params.limit)
        .into_iter()
        .filter_map(|h| match h.target {
            Target::Disease(d) => o.diseases().get(d as usize).map(|d| DiseaseHit {
                code: d.code.to_string(),
                name: d.name.clone(),
                score: if h.score.is_finite() { h.score } else { 100.0 },
            }),
            Target::Term(_) => None,
        })
        .collect();
    Json(DiseaseResults {
        query: params.q,
        results,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AnnotationOut {
    id: String,
    name: String,
    frequency: FrequencyOut,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FrequencyOut {
    /// The HPO frequency term, when the annotation uses one.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'static str>,
    label: String,
    /// Typical share of patients, in per mille.
    per_mille: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ExcludedOut {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DiseaseDetail {
    code: String,
    name: String,
    annotations: Vec<AnnotationOut>,
    excluded: Vec<ExcludedOut>,
}

/// `GET /api/v1/diseases/{orpha}`: a disease with its annotated features (most frequent
/// first) and its excluded features. `{orpha}` is `ORPHA:558` or `558`.
#[utoipa::path(get, path = "/diseases/{orpha}", tag = "ontology", operation_id = "get_disease",
    params(("orpha" = String, Path, description = "ORPHA:558 or 558")),
    responses(
        (status = 200, description = "The disease", body = DiseaseDetail),
        (status = 400, description = "Not an ORPHA code", body = super::openapi::ErrorBody),
        (status = 404, description = "Not annotated in this release", body = super::openapi::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let o = &state.ontology;
    let code: OrphaCode = raw.parse().map_err(|_| ApiError::BadRequest {
        code: "invalid_orpha_code",
        message: format!(
            "{} is not an ORPHA code (expected the form ORPHA:558)",
            shorten(&raw)
        ),
    })?;
    let d = o.disease(code).ok_or_else(|| ApiError::NotFound {
        code: "unknown_disease",
        message: format!(
            "{code} is not among the {} ORPHA diseases annotated in HPO {}",
            o.diseases().len(),
            o.version().hpo_release()
        ),
    })?;
    let mut annotations: Vec<AnnotationOut> = d
        .annotations
        .iter()
        .map(|a| AnnotationOut {
            id: o.term(a.term).id.to_string(),
            name: o.term(a.term).name.clone(),
            frequency: FrequencyOut {
                id: a.frequency.hpo_id(),
                label: a.frequency.label(),
                per_mille: a.frequency.per_mille(),
            },
        })
        .collect();
    annotations.sort_by(|a, b| {
        b.frequency
            .per_mille
            .cmp(&a.frequency.per_mille)
            .then_with(|| a.id.cmp(&b.id))
    });
    let detail = DiseaseDetail {
        code: d.code.to_string(),
        name: d.name.clone(),
        annotations,
        excluded: d
            .excluded
            .iter()
            .map(|&t| ExcludedOut {
                id: o.term(t).id.to_string(),
                name: o.term(t).name.clone(),
            })
            .collect(),
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
