//! The application service API the homeserver calls:
//! `PUT /_matrix/app/v1/transactions/{txnId}` with the events of the rooms the node is in.
//! Authenticated with the `hs_token`; answered only after the events are applied and
//! stored, so the homeserver retries whatever the node did not acknowledge.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::AppState;

fn matrix_error(status: StatusCode, errcode: &str, error: &str) -> Response {
    (status, Json(json!({ "errcode": errcode, "error": error }))).into_response()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `PUT /_matrix/app/v1/transactions/{txnId}` (and the legacy `/transactions/{txnId}`).
pub async fn transaction(
    State(state): State<AppState>,
    Path(txn): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(f) = state.federation.clone() else {
        return matrix_error(
            StatusCode::NOT_FOUND,
            "M_UNRECOGNIZED",
            "federation is not enabled on this node",
        );
    };
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| q.get("access_token").cloned());
    match token {
        None => {
            return matrix_error(StatusCode::UNAUTHORIZED, "M_UNAUTHORIZED", "no token");
        }
        Some(t) if !same(&t, f.config.hs_token.expose()) => {
            tracing::warn!("application service transaction with a wrong token refused");
            return matrix_error(StatusCode::FORBIDDEN, "M_FORBIDDEN", "wrong token");
        }
        Some(_) => {}
    }
    let Ok(Json(body)) = body else {
        return matrix_error(
            StatusCode::BAD_REQUEST,
            "M_NOT_JSON",
            "the body is not JSON",
        );
    };
    let events = body
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match f.receive(&state, &txn, &events) {
        Ok(_) => Json(json!({})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, txn, "a federation transaction could not be stored; the homeserver will retry");
            matrix_error(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", "try again")
        }
    }
}
