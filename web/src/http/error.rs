//! JSON errors: a stable snake_case code and a human message; internal detail is logged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug)]
pub enum ApiError {
    /// 400: a parameter is missing or malformed.
    BadRequest {
        /// Stable code, e.g. `invalid_limit`.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 404: the named thing does not exist.
    NotFound {
        /// Stable code, e.g. `unknown_term`.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// Any other refusal (401, 403, 409, 413, 415, 422...).
    Refused {
        /// The status.
        status: StatusCode,
        /// Stable code, e.g. `too_large`.
        code: &'static str,
        /// What to do.
        message: String,
    },
    /// 500: something failed inside; the detail is logged, not sent.
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            Self::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, *code, message.as_str())
            }
            Self::NotFound { code, message } => (StatusCode::NOT_FOUND, *code, message.as_str()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method",
            ),
            Self::Refused {
                status,
                code,
                message,
            } => (*status, *code, message.as_str()),
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on the server",
                )
            }
        };
        (
            status,
            Json(Body {
                error: Detail { code, message },
            }),
        )
            .into_response()
    }
}

/// A 500 answer for an internal failure (the detail is logged, not sent).
pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    ApiError::Internal(e.to_string()).into_response()
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    /// A body that cannot be read: 413 when it is too large, 415 when it is not JSON,
    /// 400 otherwise (with what is wrong).
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::Refused {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: "the request body is larger than this node accepts".into(),
            },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::Refused {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "unsupported_media_type",
                message: "send the body as JSON with Content-Type: application/json".into(),
            },
            _ => Self::BadRequest {
                code: "invalid_body",
                message: e.body_text(),
            },
        }
    }
}

/// The HTTP status of a domain error.
pub trait HttpStatus {
    /// The status that goes with it.
    fn status(&self) -> StatusCode;
}

impl HttpStatus for raremesh_domain::qa::actions::QaError {
    fn status(&self) -> StatusCode {
        use raremesh_domain::qa::actions::QaError;
        match self {
            QaError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            QaError::Forbidden(_) => StatusCode::FORBIDDEN,
            QaError::NotFound(_) => StatusCode::NOT_FOUND,
            QaError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            QaError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
