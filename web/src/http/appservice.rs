//! The handler of the application service transactions the homeserver pushes (paths in
//! `raremesh_bridge::appservice::TRANSACTION_PATHS`). The bridge checks the homeserver's
//! token and parses the transaction; the node answers only after every event is applied and
//! stored, so the homeserver retries whatever the node did not acknowledge. Events are
//! applied once by event id: a transaction id seen before (a homeserver numbers them from 1
//! again after a restart) is no reason to skip anything.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use raremesh_bridge::appservice::{Refusal, transaction as parse};
use raremesh_bridge::drops::{DropReason, dropped};

use super::replies::MatrixReply;
use raremesh_domain::state::AppState;

fn matrix_error(status: StatusCode, errcode: &str, error: &str) -> Response {
    (
        status,
        Json(MatrixReply {
            errcode: Some(errcode),
            error: Some(error),
        }),
    )
        .into_response()
}

/// A pushed transaction.
pub async fn transaction(
    State(state): State<AppState>,
    Path(txn): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(f) = state.federation.clone() else {
        return matrix_error(
            StatusCode::NOT_FOUND,
            "M_UNRECOGNIZED",
            "federation is not enabled on this node",
        );
    };
    let mut request = axum::http::Request::new(body.to_vec());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let t = match parse(request, &txn, f.config.hs_token.expose()) {
        Ok(t) => t,
        Err(refusal) => {
            let (status, errcode) = refusal.status();
            let why = match &refusal {
                Refusal::NoToken => "no token".to_owned(),
                Refusal::WrongToken => {
                    tracing::warn!("application service transaction with a wrong token refused");
                    "wrong token".to_owned()
                }
                Refusal::BadRequest(e) => {
                    tracing::warn!(txn, error = %e, "application service transaction refused: not a transaction");
                    format!("not a transaction: {e}")
                }
            };
            return matrix_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                errcode,
                &why,
            );
        }
    };
    for (room, why) in &t.refused {
        dropped(DropReason::Malformed, "?", room, "?", why);
    }
    match f.receive(&t.events) {
        Ok(_) => {
            f.pushed(&t.events);
            Json(MatrixReply {
                errcode: None,
                error: None,
            })
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, txn = t.txn_id, "a federation transaction could not be stored; the homeserver will retry");
            matrix_error(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", "try again")
        }
    }
}
