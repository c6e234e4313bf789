//! The web UI and JSON API: [`app`] builds the whole router.

pub mod account_api;
pub mod appservice;
pub mod auth;
pub mod beacon;
pub mod contacts;
pub mod cookies;
pub mod diseases;
pub mod documents;
pub mod error;
pub mod extract;
pub mod federation_status;
pub mod form;
pub mod home;
pub mod i18n;
pub mod language;
pub mod member_api;
pub mod messages;
pub mod meta;
pub mod metrics;
pub mod mme;
pub mod moderation;
pub mod openapi;
pub mod own_data;
pub mod page;
pub mod page_error;
pub mod params;
pub mod patients;
pub mod phenopacket_import;
pub mod profile;
pub mod questions;
pub mod questions_api;
pub mod register;
pub mod replies;
pub mod reports;
pub mod research;
pub mod research_api;
pub mod reset;
pub mod similar;
pub mod symptoms;
pub mod templates;
pub mod terms;
pub mod terms_page;
pub mod validation;
pub mod validation_api;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use error::ApiError;
use raremesh_domain::state::AppState;

/// The router of the node, with its state.
pub fn app(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    // The file, plus room for the other form fields and multipart framing.
    let upload_limit = usize::try_from(state.config.documents.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    // An image sent with a message, plus its text and the form's framing.
    let image_limit = usize::try_from(state.config.messages.max_image_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    // The request counts and times `/metrics` shows, for this router.
    let counts = std::sync::Arc::new(crate::metrics::Metrics::default());
    let api = openapi::router()
        .fallback(api_not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(metrics::tag_route));
    // The application service API the homeserver calls (its paths are the bridge's).
    let mut appservice_api = Router::new();
    for path in raremesh_bridge::appservice::TRANSACTION_PATHS {
        appservice_api = appservice_api.route(
            path,
            put(appservice::transaction).layer(DefaultBodyLimit::max(32 * 1024 * 1024)),
        );
    }
    Router::new()
        .merge(appservice_api)
        .merge(home::pages())
        .merge(meta::pages())
        .merge(language::pages())
        .merge(metrics::pages())
        .merge(auth::pages())
        .merge(register::pages())
        .merge(patients::pages())
        .merge(own_data::pages())
        .merge(profile::pages())
        .merge(contacts::pages())
        .merge(messages::pages(image_limit))
        .merge(questions::pages())
        .merge(moderation::pages())
        .merge(research_api::pages())
        .merge(reset::pages())
        .merge(terms_page::pages())
        .merge(symptoms::pages())
        .merge(phenopacket_import::pages())
        .merge(beacon::pages(state.config.beacon.enabled))
        .merge(mme::pages(state.config.mme.enabled))
        .merge(documents::pages(upload_limit))
        .merge(similar::pages())
        .merge(research::pages())
        .merge(validation::pages())
        .merge(reports::pages())
        .merge(federation_status::pages())
        .nest("/api/v1", api)
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(page_not_found)
        .layer(axum::Extension(counts.clone()))
        .layer(axum::middleware::from_fn_with_state(counts, metrics::track))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
        // A link to another site never learns the page it was on (mailed-link tokens stay
        // here); links within the node do, so the language switch can go back.
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // Pages and API answers may hold member data: no browser or proxy keeps a copy.
        // The stylesheet and scripts say otherwise themselves.
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(
            // The path only (a query string may hold a token: the homeserver's
            // `access_token`), and without the tokens that some paths carry.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let path = loggable_path(req.uri().path());
                tracing::info_span!("request", method = %req.method(), %path)
            }),
        )
}

/// Paths whose last part is a secret (a link mailed to a member).
const SECRET_PATHS: [&str; 2] = ["/register/confirm/", "/password/reset/"];

/// A request path as it may be logged: the secret part of a mailed link left out.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) => format!("{prefix}…").into(),
        None => path.into(),
    }
}

async fn api_not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound {
        code: "not_found",
        message: format!("no API endpoint at {}", uri.path()),
    }
}

async fn page_not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    page_error::PageError::NotFound {
        lang: page::page_lang(&state, &headers),
    }
    .into_response()
}
