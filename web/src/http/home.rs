//! `GET /`: what this node is, the HPO version and acknowledgement, and a symptom search
//! that works without JavaScript (and suggests as you type with it).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::params;
use raremesh_domain::state::AppState;

/// `GET /?q=`: the home page, with search results when `q` is given.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let lang = super::i18n::pick(&headers, raw.get("lang").map(String::as_str), None);
    let (results, error, q) = match params::parse(&raw, &state.config.search) {
        Ok(p) if !p.q.trim().is_empty() => (super::terms::search(&state, &p, lang), None, p.q),
        Ok(p) => (Vec::new(), None, p.q),
        Err(super::error::ApiError::BadRequest { message, .. }) => {
            (Vec::new(), Some(message), String::new())
        }
        Err(_) => (Vec::new(), None, String::new()),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let o = &state.ontology;
    let ctx = context! {
        hpo_release => o.version().hpo_release(),
        term_count => o.terms().len(),
        disease_count => o.diseases().len(),
        q => q,
        searched => raw.contains_key("q"),
        results => results,
        error => error,
        signed_in => matches!(super::page::current(&state, &headers), Ok(Some(_))),
    };
    super::page::render(&state, lang, status, "home.html", ctx)
}

/// `GET /assets/style.css`
pub async fn style() -> Response {
    (
        [
            ("content-type", "text/css; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../assets/style.css"),
    )
        .into_response()
}

/// `GET /assets/suggest.js`
pub async fn suggest_script() -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../assets/suggest.js"),
    )
        .into_response()
}

/// `GET /assets/search.js`
pub async fn script() -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../assets/search.js"),
    )
        .into_response()
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/", axum::routing::get(page))
        .route("/assets/style.css", axum::routing::get(style))
        .route("/assets/search.js", axum::routing::get(script))
        .route("/assets/suggest.js", axum::routing::get(suggest_script))
}
