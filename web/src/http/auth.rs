//! Signing in and out, and the account page.

use super::extract::SignedIn;
use super::form::{Button, CsrfForm, Sent};
use super::page_error::failed;
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::cookies::{self, SESSION};
use super::page::{render_form, see_other, signed_in, with_cookies};
use raremesh_domain::accounts::{Role, normalize_email};
use raremesh_domain::state::AppState;

fn signin_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    error: Option<String>,
    reset: bool,
) -> Response {
    render_form(
        state,
        headers,
        super::page::page_lang(state, headers),
        status,
        "signin.html",
        context! { email, error, reset },
    )
}

/// The answer to a sign-out form whose CSRF token does not match, in the reader's
/// language.
fn expired_form(state: &AppState, headers: &HeaderMap) -> Response {
    super::page::error_page(
        super::page::page_lang(state, headers),
        StatusCode::FORBIDDEN,
        "errors.expired_form",
        "/",
        "errors.back_home",
    )
}

/// `GET /signin`: the sign-in form (after a password reset, it says so).
pub async fn signin_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    signin_page(
        &state,
        &headers,
        StatusCode::OK,
        "",
        None,
        q.contains_key("reset"),
    )
}

/// The sign-in form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    /// The account's address.
    email: String,
    /// Its password.
    password: String,
}

/// `POST /signin`: checks the password; on success starts a session and goes to the
/// account page. The same message for an unknown address and a wrong password.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::connections::ClientIp(ip): crate::connections::ClientIp,
    sent: Sent<SignInForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                signin_page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    "",
                    Some(super::i18n::say(&headers, "signin.expired")),
                    false,
                )
            });
        }
    };
    let email = form.email.trim().to_owned();
    let password = form.password.clone();
    let key = normalize_email(&email).unwrap_or_else(|_| email.to_lowercase());
    if let Some(wait) = state.throttle.sign_in_wait(&key, ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let message = raremesh_domain::message::Message::new("signin.too_many")
            .with("minutes", minutes)
            .render(super::i18n::pick(&headers, None, None));
        return signin_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some(message),
            false,
        );
    }
    let account = match state.accounts.sign_in(&email, &password) {
        Ok(a) => a,
        Err(e) => return failed(&headers, e),
    };
    let Some(account) = account else {
        state.throttle.sign_in_failed(&key, ip);
        return signin_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &email,
            Some(super::i18n::say(&headers, "signin.wrong")),
            false,
        );
    };
    state.throttle.sign_in_succeeded(&key, ip);
    match cookies::start_session(&state, &account.id) {
        Ok(set) => with_cookies(see_other("/account"), set),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /account`: who is signed in, how far registration went, sign-out buttons.
pub async fn account(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    headers: HeaderMap,
) -> Response {
    let member = match state.registrations.member(&account.id) {
        Ok(m) => m,
        Err(e) => return failed(&headers, e),
    };
    let (name, step) = member.map_or((None, None), |m| (Some(m.info.name), Some(m.step)));
    let role = format!("{:?}", account.role).to_lowercase();
    let staff = matches!(account.role, Role::Validator | Role::Admin);
    render_form(
        &state,
        &headers,
        super::page::page_lang(&state, &headers),
        StatusCode::OK,
        "account.html",
        context! { email => account.email, role, name, step, staff },
    )
}

/// `POST /signout`: ends this session.
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    sent: Sent<Button>,
) -> Response {
    if let Err(e) = sent {
        return e.or_page(|_| expired_form(&state, &headers));
    }
    if let Some(token) = cookies::get(&headers, SESSION)
        && let Err(e) = state.sessions.end(&token)
    {
        return failed(&headers, e);
    }
    with_cookies(see_other("/"), vec![cookies::clear(&state, SESSION)])
}

/// `POST /signout-everywhere`: ends every session of the signed-in account (a lost phone,
/// a shared computer).
pub async fn signout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    sent: Sent<Button>,
) -> Response {
    if let Err(e) = sent {
        return e.or_page(|_| expired_form(&state, &headers));
    }
    let signed_out = with_cookies(see_other("/signin"), vec![cookies::clear(&state, SESSION)]);
    match signed_in(&state, &headers) {
        Ok(account) => match state.sessions.end_all(&account.id) {
            Ok(_) => signed_out,
            Err(e) => failed(&headers, e),
        },
        Err(_) => signed_out,
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/signin", axum::routing::get(signin_form).post(signin))
        .route("/account", axum::routing::get(account))
        .route("/signout", axum::routing::post(signout))
        .route(
            "/signout-everywhere",
            axum::routing::post(signout_everywhere),
        )
}
