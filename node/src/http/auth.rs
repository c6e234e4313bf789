//! Signing in and out, and the account page.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};

use super::cookies::{self, CSRF, SESSION};
use super::error::ApiError;
use crate::accounts::{Account, normalize_email};
use crate::sessions::{LIFETIME_SECS, random_token};
use crate::state::AppState;

/// The signed-in account, if the request carries a live session cookie.
pub fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Account)>, ApiError> {
    let Some(token) = cookies::get(headers, SESSION) else {
        return Ok(None);
    };
    let internal = |e: crate::store::StoreError| ApiError::Internal(e.to_string());
    let Some(session) = state.sessions.get(&token).map_err(internal)? else {
        return Ok(None);
    };
    Ok(state
        .accounts
        .get(&session.account_id)
        .map_err(internal)?
        .map(|a| (token, a)))
}

/// Renders a page with the values every page needs (node name, HPO version...).
pub(crate) fn render(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    name: &str,
    ctx: Value,
    set_cookies: Vec<String>,
) -> Response {
    let o = &state.ontology;
    let base = context! {
        lang,
        node_name => state.config.node.name,
        app_version => crate::VERSION,
        hpo_ack => raremesh_ontology::hpo_acknowledgement(o.version()),
        orphanet => raremesh_ontology::ORPHANET_ATTRIBUTION,
    };
    match state.templates.render(name, context! { ..ctx, ..base }) {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            for c in set_cookies {
                if let Ok(v) = c.parse() {
                    res.headers_mut().append(SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

/// The CSRF token of this browser, or a new one with the cookie to set.
pub(crate) fn csrf_token(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, Vec<String>), ApiError> {
    match cookies::get(headers, CSRF).filter(|c| c.len() == 64) {
        Some(t) => Ok((t, Vec::new())),
        None => {
            let t = random_token().map_err(|e| ApiError::Internal(e.to_string()))?;
            let cookie = cookies::set(state, CSRF, &t, LIFETIME_SECS, "Strict");
            Ok((t, vec![cookie]))
        }
    }
}

fn signin_page(
    state: &AppState,
    headers: &HeaderMap,
    reset: bool,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> Response {
    match csrf_token(state, headers) {
        Ok((csrf, set)) => render(
            state,
            "en",
            status,
            "signin.html",
            context! { csrf, email, error, reset },
            set,
        ),
        Err(e) => e.into_response(),
    }
}

pub(crate) fn see_other(to: &str, set_cookies: Vec<String>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response();
    for c in set_cookies {
        if let Ok(v) = c.parse() {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// `GET /signin`: the sign-in form.
pub async fn signin_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    // After a password reset, the page says so.
    signin_page(
        &state,
        &headers,
        q.contains_key("reset"),
        StatusCode::OK,
        "",
        None,
    )
}

/// `POST /signin`: checks the password; on success starts a session and goes to the
/// account page. The same message for an unknown address and a wrong password.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return signin_page(
            &state,
            &headers,
            false,
            StatusCode::FORBIDDEN,
            "",
            Some("This form had expired. Please sign in again.".into()),
        );
    }
    let email = form
        .get("email")
        .map(|e| e.trim().to_owned())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let key = normalize_email(&email).unwrap_or_else(|_| email.to_lowercase());
    if let Some(wait) = state.throttle.blocked_for(&key) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return signin_page(
            &state,
            &headers,
            false,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some(format!(
                "Too many attempts. Please wait {minutes} minute(s) and try again, or reset your password."
            )),
        );
    }
    let account = match state.accounts.sign_in(&email, &password) {
        Ok(a) => a,
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    let Some(account) = account else {
        state.throttle.failed(&key);
        return signin_page(
            &state,
            &headers,
            false,
            StatusCode::UNAUTHORIZED,
            &email,
            Some("The email address or the password is not right.".into()),
        );
    };
    state.throttle.succeeded(&key);
    match state.sessions.start(&account.id) {
        Ok(token) => see_other(
            "/account",
            vec![cookies::set(&state, SESSION, &token, LIFETIME_SECS, "Lax")],
        ),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

/// `GET /account`: who is signed in, with sign-out buttons.
pub async fn account(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, account) = match current(&state, &headers) {
        Ok(Some(x)) => x,
        Ok(None) => return see_other("/signin", Vec::new()),
        Err(e) => return e.into_response(),
    };
    let member = match state.registrations.member(&account.id) {
        Ok(m) => m,
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    let (name, step) = member.map_or((None, None), |m| (Some(m.info.name), Some(m.step)));
    match csrf_token(&state, &headers) {
        Ok((csrf, set)) => render(
            &state,
            "en",
            StatusCode::OK,
            "account.html",
            context! { csrf, email => account.email, role => format!("{:?}", account.role).to_lowercase(), name, step },
            set,
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /signout`: ends this session.
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return (
            StatusCode::FORBIDDEN,
            "This form had expired. Go back, reload the page and try again.",
        )
            .into_response();
    }
    if let Some(token) = cookies::get(&headers, SESSION)
        && let Err(e) = state.sessions.end(&token)
    {
        return ApiError::Internal(e.to_string()).into_response();
    }
    see_other("/", vec![cookies::clear(&state, SESSION)])
}

/// `POST /signout-everywhere`: ends every session of the signed-in account (a lost phone,
/// a shared computer).
pub async fn signout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return (
            StatusCode::FORBIDDEN,
            "This form had expired. Go back, reload the page and try again.",
        )
            .into_response();
    }
    match current(&state, &headers) {
        Ok(Some((_, account))) => match state.sessions.end_all(&account.id) {
            Ok(_) => see_other("/signin", vec![cookies::clear(&state, SESSION)]),
            Err(e) => ApiError::Internal(e.to_string()).into_response(),
        },
        Ok(None) => see_other("/signin", vec![cookies::clear(&state, SESSION)]),
        Err(e) => e.into_response(),
    }
}
