//! The web UI and JSON API: [`app`] builds the whole router.

pub mod account_api;
pub mod appservice;
pub mod auth;
pub mod contacts;
pub mod cookies;
pub mod diseases;
pub mod documents;
pub mod error;
pub mod extract;
pub mod federation_status;
pub mod home;
pub mod i18n;
pub mod member_api;
pub mod meta;
pub mod metrics;
pub mod moderation;
pub mod own_data;
pub mod page;
pub mod params;
pub mod patients;
pub mod profile;
pub mod questions;
pub mod questions_api;
pub mod register;
pub mod research;
pub mod research_api;
pub mod reset;
pub mod similar;
pub mod symptoms;
pub mod templates;
pub mod terms;
pub mod terms_page;
pub mod validation;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
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
    let api = Router::new()
        .route("/version", get(meta::version))
        .route("/terms", get(terms::list))
        .route("/terms/{id}", get(terms::get))
        .route("/diseases", get(diseases::list))
        .route("/diseases/{orpha}", get(diseases::get))
        .route(
            "/session",
            post(member_api::sign_in).delete(member_api::sign_out),
        )
        .route(
            "/me",
            get(member_api::me)
                .put(account_api::set_details)
                .delete(account_api::delete),
        )
        .route("/register", post(account_api::register))
        .route("/register/confirm", post(account_api::confirm))
        .route(
            "/consents",
            get(account_api::consents).put(account_api::set_consents),
        )
        .route("/export", get(account_api::export))
        .route(
            "/patients",
            get(member_api::patients).post(member_api::add_patient),
        )
        .route(
            "/patients/{id}",
            get(member_api::patient)
                .put(member_api::update_patient)
                .delete(member_api::delete_patient),
        )
        .route("/patients/{id}/symptoms", put(member_api::put_symptoms))
        .route(
            "/patients/{id}/documents",
            get(member_api::documents).post(member_api::upload),
        )
        .route("/patients/{id}/similar", get(member_api::similar))
        .route("/validation/queue", get(member_api::queue))
        .route(
            "/questions",
            get(questions_api::feed).post(questions_api::ask),
        )
        .route("/questions/search", get(questions_api::search))
        .route(
            "/questions/{id}",
            get(questions_api::show)
                .put(questions_api::edit)
                .delete(questions_api::delete),
        )
        .route("/questions/{id}/answers", post(questions_api::answer))
        .route("/questions/{id}/follow", post(questions_api::follow))
        .route("/questions/{id}/report", post(questions_api::report))
        .route(
            "/questions/{id}/answers/{a}",
            put(questions_api::edit_answer).delete(questions_api::delete_answer),
        )
        .route(
            "/questions/{id}/answers/{a}/marks",
            post(questions_api::mark),
        )
        .route(
            "/questions/{id}/answers/{a}/report",
            post(questions_api::report_answer),
        )
        .route("/moderation", post(questions_api::moderate))
        .route("/research/count", post(research_api::api_count))
        .route(
            "/research/distribution",
            post(research_api::api_distribution),
        )
        .route(
            "/validation/{account}/{patient}",
            post(member_api::decision),
        )
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
        .route("/", get(home::page))
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/signin", get(auth::signin_form).post(auth::signin))
        .route("/account", get(auth::account))
        .route("/register", get(register::start).post(register::submit))
        .route("/patients", get(patients::list).post(patients::add))
        .route("/patients/{id}/phenopacket", get(own_data::phenopacket))
        .route("/account/export", get(own_data::export_all))
        .route("/account/profile", get(profile::show).post(profile::save))
        .route(
            "/account/matrix",
            get(contacts::matrix).post(contacts::link),
        )
        .route("/contacts", get(contacts::list))
        .route("/questions", get(questions::feed))
        .route(
            "/questions/new",
            get(questions::new_form).post(questions::ask),
        )
        .route("/questions/search", get(questions::search))
        .route("/questions/settings", post(questions::settings))
        .route(
            "/moderation",
            get(moderation::list).post(moderation::decide),
        )
        .route("/questions/{id}", get(questions::show).post(questions::act))
        .route("/questions/{id}/answers/{a}", post(questions::mark))
        .route("/research", get(research_api::form).post(research_api::ask))
        .route("/research/queries/{id}", get(research_api::federated))
        .route("/contacts/{request}", post(contacts::answer))
        .route("/patients/{id}/contact", post(contacts::ask))
        .route(
            "/account/delete",
            get(own_data::delete_form).post(own_data::delete),
        )
        .route(
            "/password/forgot",
            get(reset::forgot_form).post(reset::forgot),
        )
        .route(
            "/password/reset/{token}",
            get(reset::reset_form).post(reset::reset),
        )
        .route("/terms", get(terms_page::show).post(terms_page::save))
        .route(
            "/patients/{id}/symptoms",
            get(symptoms::list).post(symptoms::add),
        )
        .route("/patients/{id}/symptoms/remove", post(symptoms::remove))
        .route("/documents/consent-form", get(documents::consent_form))
        .route(
            "/patients/{id}/documents/{doc}/remove",
            post(documents::remove),
        )
        .route(
            "/patients/{id}/documents",
            get(documents::list)
                .post(documents::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/patients/{id}/similar", get(similar::page))
        .route(
            "/patients/{id}/edit",
            get(patients::edit_form).post(patients::edit),
        )
        .route("/patients/{id}/remove", post(patients::remove))
        .route("/patients/{id}/pseudonym", post(patients::new_pseudonym))
        .route("/patients/{id}/questionnaires", get(research::list))
        .route(
            "/patients/{id}/questionnaires/{q}",
            get(research::show).post(research::save),
        )
        .route(
            "/patients/{id}/questionnaires/{q}/results",
            get(research::results),
        )
        .route("/validation", get(validation::queue))
        .route("/validation/audit", get(validation::audit))
        .route("/admin/federation", get(federation_status::page))
        .route(
            "/validation/{account}/{patient}",
            get(validation::review).post(validation::decision),
        )
        .route(
            "/validation/{account}/{patient}/documents/{id}",
            get(validation::open),
        )
        .route("/register/sent", get(register::sent))
        .route("/register/resend", post(register::resend))
        .route(
            "/register/confirm/{token}",
            get(register::confirm).post(register::set_password),
        )
        .route("/signout", post(auth::signout))
        .route("/signout-everywhere", post(auth::signout_everywhere))
        .route("/assets/style.css", get(home::style))
        .route("/assets/search.js", get(home::script))
        .route("/assets/suggest.js", get(home::suggest_script))
        .nest("/api/v1", api)
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(page_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
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
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
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
    page::error_page(
        page::page_lang(&state, &headers),
        StatusCode::NOT_FOUND,
        "errors.not_found",
        "/",
        "errors.back_home",
    )
}
