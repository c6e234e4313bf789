//! `/metrics` for the admin's monitoring (behind `metrics.token`), and the layers that
//! time every request under its route template.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::metrics::Metrics;
use raremesh_domain::state::AppState;

/// The route template a request matched, carried on its response.
#[derive(Debug, Clone)]
struct Route(String);

/// Inside the router: notes the matched route template on the response (the innermost
/// router's, which knows the whole path).
pub async fn tag_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route
        && response.extensions().get::<Route>().is_none()
    {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Around the router: counts and times each request.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    metrics.request(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub(super) fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// `GET /metrics`: the Prometheus text format, for a scrape that sends `metrics.token`
/// as its bearer token; nothing at all (404) when no token is configured.
pub async fn scrape(
    State(state): State<AppState>,
    Extension(metrics): Extension<Arc<Metrics>>,
    headers: HeaderMap,
) -> Response {
    let token = state.config.metrics.token.expose();
    if token.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same(given.trim(), token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics.token is required\n",
        )
            .into_response();
    }
    let text = tokio::task::spawn_blocking(move || metrics.render(&state))
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}
