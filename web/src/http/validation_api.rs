//! The JSON API of validation, under `/api/v1/validation`: validators' and admins' queue
//! and decisions, with the pages' rules (see `member_api.rs` for authentication).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::ApiStaff;
use super::member_api::{json_body, refused, store};
use super::replies::{Pending, QueueReply, Status};
use super::validation::{Decision, decide};
use raremesh_domain::ids::{AccountId, PatientId};
use raremesh_domain::registration::patient::Patient;
use raremesh_domain::state::AppState;

/// `GET /api/v1/validation/queue`: patients waiting for review, oldest first.
#[utoipa::path(get, path = "/validation/queue", tag = "validation", security(("session" = []), ("cookie" = [])),
    responses((status = 200, description = "Patients waiting, oldest first", body = QueueReply), super::openapi::Signed))]
pub async fn queue(
    State(state): State<AppState>,
    ApiStaff(_): ApiStaff,
) -> Result<Response, ApiError> {
    let mut pending: Vec<(u64, Patient)> = state
        .patients
        .all()
        .map_err(store)?
        .into_iter()
        .filter_map(|p| match p.validation {
            raremesh_domain::registration::patient::Validation::Pending { since } => {
                Some((since, p))
            }
            _ => None,
        })
        .collect();
    pending.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    Ok(Json(QueueReply {
        pending: pending
            .iter()
            .map(|(since, p)| Pending {
                account_id: &p.account_id,
                patient_id: &p.id,
                since: *since,
            })
            .collect(),
    })
    .into_response())
}

/// Body of a decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"decision": "reject", "reason": "The consent form is not signed."}))]
pub struct DecisionBody {
    /// `approve` or `reject`.
    pub decision: String,
    /// Required to reject.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/validation/{account}/{patient}`: approve or reject.
#[utoipa::path(post, path = "/validation/{account}/{patient}", tag = "validation", security(("session" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "The member's account id"), ("patient" = String, Path, description = "The patient's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "Where the patient now stands", body = Status),
        (status = 404, description = "`unknown_patient`", body = super::openapi::ErrorBody),
        (status = 409, description = "`not_submitted`", body = super::openapi::ErrorBody),
        (status = 422, description = "`invalid_decision` (a rejection needs a reason)", body = super::openapi::ErrorBody),
        super::openapi::Signed, super::openapi::Body,
    ))]
pub async fn decision(
    State(state): State<AppState>,
    ApiStaff(actor): ApiStaff,
    Path((account_id, patient_id)): Path<(AccountId, PatientId)>,
    body: Result<Json<DecisionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    let p = state
        .patients
        .get(&account_id, &patient_id)
        .map_err(store)?
        .ok_or_else(|| ApiError::NotFound {
            code: "unknown_patient",
            message: "no such patient".into(),
        })?;
    if p.validation == raremesh_domain::registration::patient::Validation::NotSubmitted {
        return Err(refused(
            StatusCode::CONFLICT,
            "not_submitted",
            "the member has not sent every required document",
        ));
    }
    let form = super::validation::ValidationForm {
        decision: b.decision,
        reason: b.reason,
    };
    let d = Decision::parse(&form).map_err(|key| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_decision",
            raremesh_domain::message::Message::new(key).render("en"),
        )
    })?;
    let p = decide(&state, &actor, p, d).await.map_err(store)?;
    Ok(Json(Status {
        status: p.validation.key(),
    })
    .into_response())
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(decision))
}
