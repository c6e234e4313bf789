//! Search parameters (`q`, `limit`), checked by hand so every mistake gets a clear 400.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use super::error::ApiError;
use raremesh_domain::state::AppState;

/// A validated search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParams {
    /// The query text (may be empty: the answer is then empty).
    pub q: String,
    /// How many results to return.
    pub limit: usize,
    /// The language asked for with `lang=` (a language code), if any.
    pub lang: Option<String>,
}

impl FromRequestParts<AppState> for SearchParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Query(raw) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_query_string",
                message: format!("the query string cannot be read: {}", e.body_text()),
            })?;
        parse(&raw, &state.config.search)
    }
}

/// Checks raw parameters against the search limits of the configuration.
pub fn parse(
    raw: &HashMap<String, String>,
    limits: &raremesh_domain::config::SearchConfig,
) -> Result<SearchParams, ApiError> {
    let q = raw.get("q").map(String::as_str).unwrap_or_default();
    let chars = q.chars().count();
    if chars > limits.max_query_chars {
        return Err(ApiError::BadRequest {
            code: "query_too_long",
            message: format!(
                "q has {chars} characters; the most accepted is {}",
                limits.max_query_chars
            ),
        });
    }
    let limit = match raw.get("limit").map(|s| s.trim()) {
        None | Some("") => limits.default_limit,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=limits.max_limit).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest {
                    code: "invalid_limit",
                    message: format!(
                        "limit must be a whole number from 1 to {}",
                        limits.max_limit
                    ),
                });
            }
        },
    };
    let lang = match raw.get("lang").map(|s| s.trim()) {
        None | Some("") => None,
        Some(l)
            if l.len() <= 16
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Some(l.to_ascii_lowercase())
        }
        Some(_) => {
            return Err(ApiError::BadRequest {
                code: "invalid_lang",
                message: "lang must be a language code such as es or fr".into(),
            });
        }
    };
    Ok(SearchParams {
        q: q.to_owned(),
        limit,
        lang,
    })
}
