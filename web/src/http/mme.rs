//! The Matchmaker Exchange (`[mme]`; see `docs/mme.md`): `POST /mme/match` and
//! `GET /mme/heartbeat` for clinicians' matchmakers (by `X-Auth-Token`); a member's
//! withdrawal from their patient's page; a validator or admin sending a patient's profile
//! to a configured matchmaker and reading the answers.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use raremesh_domain::mme::wire::{self, MatchRequest, MatchResponse, MediaError};
use raremesh_domain::state::AppState;
use serde::Deserialize;
use serde_json::json;

use super::extract::Staff;
use super::form::{Button, CsrfForm, Sent};
use super::metrics::same;
use super::page::{page_lang, render_form, see_other};
use super::page_error::failed;

/// An error as the API says: a status and `{"message": ...}`.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "message": message.into() }))).into_response()
}

/// The client whose token the request bears, if any.
fn client(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let given = headers.get("x-auth-token")?.to_str().ok()?.trim();
    state
        .config
        .mme
        .clients
        .iter()
        .find(|c| !c.token.expose().is_empty() && same(given, c.token.expose()))
        .map(|c| c.name.clone())
}

/// Why a client is not served.
enum Refusal {
    /// No token, or not a client's (401).
    Unknown,
    /// Over its request limit for this long (429).
    Limited(std::time::Duration),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unknown => refuse(StatusCode::UNAUTHORIZED, "a valid X-Auth-Token is required"),
            Self::Limited(wait) => {
                let secs = wait.as_secs() + 1;
                let mut res = refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many requests: try again in {secs} s"),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                res
            }
        }
    }
}

/// The client, counted against its request limit.
fn admitted(state: &AppState, headers: &HeaderMap) -> Result<String, Refusal> {
    let name = client(state, headers).ok_or(Refusal::Unknown)?;
    let key = format!("mme:{name}");
    if let Some(wait) = state
        .throttle
        .blocked_for_max(&key, state.config.mme.requests_per_window)
    {
        return Err(Refusal::Limited(wait));
    }
    state.throttle.record(&key);
    Ok(name)
}

fn with_media_type(mut res: Response, version: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&wire::media_type(version)) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res
}

/// `POST /mme/match`: a search.
async fn search(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let client = match admitted(&state, &headers) {
        Ok(c) => c,
        Err(refusal) => return refusal.into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let version = match wire::version(content_type) {
        Ok(v) => v,
        Err(e @ MediaError::NotMatchmaker) => {
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
        }
        Err(e @ MediaError::Unsupported(_)) => {
            let res = (
                StatusCode::NOT_ACCEPTABLE,
                Json(json!({ "message": e.to_string(), "supportedVersions": wire::SUPPORTED })),
            )
                .into_response();
            return with_media_type(res, wire::LATEST);
        }
    };
    let Ok(bytes) = axum::body::to_bytes(body, wire::MAX_BODY_BYTES).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request is over {} bytes", wire::MAX_BODY_BYTES),
        );
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not JSON: {e}")),
    };
    let request: MatchRequest = match read_request(value) {
        Ok(r) => r,
        Err(why) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    if let Some(why) = request.problem() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    // Reading the pool and ranking are CPU and disk work: off the async workers.
    let s = state.clone();
    let found = tokio::task::spawn_blocking(move || s.matchmaker.find(&client, &request)).await;
    match found {
        Ok(Ok(results)) => with_media_type(
            Json(MatchResponse {
                results,
                disclaimer: None,
            })
            .into_response(),
            version,
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a matchmaking search failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the search failed; try again later",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "a matchmaking search failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the search failed; try again later",
            )
        }
    }
}

/// A request body as [`MatchRequest`], or what is wrong with it (the field's path).
fn read_request(value: serde_json::Value) -> Result<MatchRequest, String> {
    if !value.is_object() {
        return Err("the body must be a JSON object with a patient".into());
    }
    serde_json::from_value(value).map_err(|e| format!("the request does not read: {e}"))
}

/// `GET /mme/heartbeat`.
async fn heartbeat(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = admitted(&state, &headers) {
        return refusal.into_response();
    }
    Json(json!({
        "heartbeat": {
            "production": state.config.mme.production,
            "version": env!("CARGO_PKG_VERSION"),
            "accept": wire::SUPPORTED.iter().map(|v| wire::media_type(v)).collect::<Vec<_>>(),
        }
    }))
    .into_response()
}

/// Any other method on `/mme/match`.
async fn not_allowed() -> Response {
    refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        "use POST with a search request",
    )
}

/// `POST /patients/{id}/matchmaking/withdraw`: the member stops clinicians' matchmakers
/// from finding any of their patients (the consent on the terms page, unticked).
async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<Button>,
) -> Response {
    let (_, mut m, p) = match super::patients::own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = sent {
        return e.into_response();
    }
    m.consents.matchmaking = false;
    m.consents.updated_at = Some(raremesh_domain::clock::now());
    match state.registrations.save_member(&m) {
        Ok(()) => see_other(&format!("/patients/{}/edit#matchmaking", p.id)),
        Err(e) => failed(&headers, e),
    }
}

/// What the patient page says about matchmaking: whether the member consents, and how
/// often clinicians' queries found this patient.
pub(crate) fn notice_context(
    state: &AppState,
    member: &raremesh_domain::registration::Member,
    p: &raremesh_domain::registration::patient::Patient,
) -> minijinja::Value {
    let notice = state.matchmaker.notice(&p.account_id, &p.id).ok().flatten();
    context! {
        consented => member.consents.matchmaking,
        shown => member.consents.matchmaking || notice.is_some(),
        count => notice.map_or(0, |n| n.count),
        last => notice.map(|n| raremesh_domain::clock::rfc3339(n.last_at).chars().take(10).collect::<String>()),
    }
}

/// The form of a send: the matchmaker's name.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SendForm {
    server: String,
}

/// Whether the patient's member consents to matchmaking networks (with the terms accepted).
fn consents(state: &AppState, p: &raremesh_domain::registration::patient::Patient) -> bool {
    state
        .registrations
        .member(&p.account_id)
        .ok()
        .flatten()
        .is_some_and(|m| m.consents.matchmaking && m.consents.terms_version.is_some())
}

fn send_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &raremesh_domain::registration::patient::Patient,
    status: StatusCode,
    outcome: minijinja::Value,
) -> Response {
    let lang = page_lang(state, headers);
    let consented = consents(state, p);
    let servers: Vec<String> = state
        .config
        .mme
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    render_form(
        state,
        headers,
        lang,
        status,
        "mme_send.html",
        context! {
            action => format!("/validation/{}/{}/mme", p.account_id, p.id),
            back => format!("/validation/{}/{}", p.account_id, p.id),
            name => p.display_name.clone(),
            consented,
            servers,
            outcome,
        },
    )
}

/// `GET /validation/{account}/{patient}/mme`: the matchmakers this patient's profile may
/// be sent to.
async fn send_form(
    State(state): State<AppState>,
    Staff(_): Staff,
    Path((account, patient)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match super::validation::load(&state, &headers, &account, &patient) {
        Ok(p) => send_page(&state, &headers, &p, StatusCode::OK, context! {}),
        Err(e) => e.into_response(),
    }
}

/// `POST /validation/{account}/{patient}/mme`: sends the patient's profile (features and
/// ORPHA diagnosis under a pseudonym; the organization as contact) to one matchmaker, and
/// shows its answers. Needs the member's consent to matchmaking. Audited.
async fn send(
    State(state): State<AppState>,
    Staff(actor): Staff,
    Path((account, patient)): Path<(String, String)>,
    headers: HeaderMap,
    sent: Sent<SendForm>,
) -> Response {
    let p = match super::validation::load(&state, &headers, &account, &patient) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(f)) => f,
        Err(e) => {
            return e.or_page(|_| {
                send_page(
                    &state,
                    &headers,
                    &p,
                    StatusCode::FORBIDDEN,
                    context! { error => "register.expired_form" },
                )
            });
        }
    };
    let page = |status, outcome| send_page(&state, &headers, &p, status, outcome);
    let Some(server) = state
        .config
        .mme
        .servers
        .iter()
        .find(|s| s.name == form.server)
        .cloned()
    else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { error => "mme.error.server" },
        );
    };
    if !consents(&state, &p) {
        return page(
            StatusCode::FORBIDDEN,
            context! { error => "mme.error.consent" },
        );
    }
    if !p.validation.is_approved() {
        return page(
            StatusCode::CONFLICT,
            context! { error => "mme.error.not_validated" },
        );
    }
    let request = match state.matchmaker.request_for(&server.name, &p) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                context! { error => "mme.error.no_symptoms" },
            );
        }
        Err(e) => return failed(&headers, e),
    };
    // Recorded before the profile leaves, then again with what came back.
    if let Err(e) = state
        .matchmaker
        .audit_sent(&actor.id, &p, &server.name, "sending")
    {
        return failed(&headers, e);
    }
    let answer = ask(&server, &request).await;
    let summary = match &answer {
        Ok(r) => format!("{} results", r.results.len()),
        Err(e) => format!("failed: {e}"),
    };
    if let Err(e) = state
        .matchmaker
        .audit_sent(&actor.id, &p, &server.name, &summary)
    {
        return failed(&headers, e);
    }
    match answer {
        Ok(r) => {
            let results: Vec<minijinja::Value> = r
                .results
                .iter()
                .map(|m| {
                    context! {
                        score => format!("{:.2}", m.score.patient),
                        id => m.patient.id.clone(),
                        contact => m.patient.contact.name.clone(),
                        institution => m.patient.contact.institution.clone(),
                        href => m.patient.contact.href.clone(),
                        safe_href => m.patient.contact.href.starts_with("https://")
                            || m.patient.contact.href.starts_with("http://")
                            || m.patient.contact.href.starts_with("mailto:"),
                        disorders => m.patient.disorders.iter().map(|d| d.label.clone().unwrap_or_else(|| d.id.clone())).collect::<Vec<_>>(),
                        features => m.patient.features.iter().filter(|f| f.is_observed()).map(|f| f.label.clone().unwrap_or_else(|| f.id.clone())).collect::<Vec<_>>(),
                    }
                })
                .collect();
            page(
                StatusCode::OK,
                context! { server => server.name, results, sent => true },
            )
        }
        Err(why) => page(
            StatusCode::BAD_GATEWAY,
            context! { server => server.name, failure => why },
        ),
    }
}

/// How long a matchmaker has to answer (less than the page's own time limit).
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Sends one search to a matchmaker: its answer, or why there is none.
async fn ask(
    server: &raremesh_domain::config::MmeServer,
    request: &MatchRequest,
) -> Result<MatchResponse, String> {
    let media = wire::media_type("1.0");
    // Never follows a redirect (the token and the profile go to the configured address
    // only); answers within the page's own time limit.
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let res = client
        .post(format!("{}/match", server.url.trim_end_matches('/')))
        .header(header::CONTENT_TYPE.as_str(), &media)
        .header(header::ACCEPT.as_str(), &media)
        .header("X-Auth-Token", server.token.expose())
        .json(request)
        .send()
        .await
        .map_err(|e| format!("no answer: {}", e.without_url()))?;
    let status = res.status();
    let mut res = res;
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.without_url().to_string())? {
        if bytes.len() + chunk.len() > wire::MAX_BODY_BYTES {
            return Err(format!("an answer over {} bytes", wire::MAX_BODY_BYTES));
        }
        bytes.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        return Err(format!(
            "HTTP {}: {}",
            status.as_u16(),
            message.chars().take(300).collect::<String>()
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("an answer that does not read: {e}"))
}

/// The pages of this module, for [`super::app`]: the API when `[mme]` is on; the member's
/// withdrawal and the staff's sending always (a member may withdraw after the endpoint is
/// turned off).
pub(super) fn pages(enabled: bool) -> axum::Router<AppState> {
    let router = axum::Router::new()
        .route(
            "/patients/{id}/matchmaking/withdraw",
            axum::routing::post(withdraw),
        )
        .route(
            "/validation/{account}/{patient}/mme",
            axum::routing::get(send_form).post(send),
        );
    if !enabled {
        return router;
    }
    router
        .route(
            "/mme/match",
            axum::routing::post(search).fallback(not_allowed),
        )
        .route("/mme/heartbeat", axum::routing::get(heartbeat))
}
