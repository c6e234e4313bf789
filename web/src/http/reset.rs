//! Password reset by email: `/password/forgot` sends a single-use link (valid for an hour)
//! to the address if it has an account, with the same answer either way; the link sets a
//! new password and signs the account out everywhere.

use super::form::{CsrfForm, Sent};
use super::page_error::failed;
use serde::Deserialize;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::page::{render, render_form, see_other, with_cookies};
use super::{cookies, i18n};
use raremesh_domain::accounts::normalize_email;
use raremesh_domain::mail::Mail;
use raremesh_domain::state::AppState;

fn forgot_page(state: &AppState, headers: &HeaderMap, status: StatusCode, sent: bool) -> Response {
    render_form(
        state,
        headers,
        super::page::page_lang(state, headers),
        status,
        "password_forgot.html",
        context! { sent },
    )
}

/// `GET /password/forgot`: asks for the email address.
pub async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    forgot_page(&state, &headers, StatusCode::OK, false)
}

/// A form asking for an address (a new password, another confirmation mail).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    /// The address.
    pub email: String,
}

/// A form choosing a password, typed twice.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    /// The password.
    pub password: String,
    /// The same again.
    pub password_again: String,
}

/// `POST /password/forgot`: mails a reset link if the address has an account. The page
/// says the same thing either way.
pub async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    sent: Sent<EmailForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| forgot_page(&state, &headers, StatusCode::FORBIDDEN, false));
        }
    };
    let Ok(email) = normalize_email(&form.email) else {
        return forgot_page(&state, &headers, StatusCode::OK, true);
    };
    let key = format!("reset:{email}");
    if state.throttle.blocked_for_max(&key, 3).is_none() {
        state.throttle.record(&key);
        match state.accounts.by_email(&email) {
            Ok(Some(account)) => {
                let token = match state.accounts.issue_reset(&account.id) {
                    Ok(t) => t,
                    Err(e) => return failed(&headers, e),
                };
                let base = state.config.server.public_url.trim_end_matches('/');
                let node = &state.config.node.name;
                // In the member's language, else the page's.
                let chosen = state
                    .registrations
                    .member(&account.id)
                    .ok()
                    .flatten()
                    .map(|m| m.info.language);
                let lang = i18n::pick(&headers, None, chosen.as_deref());
                let text = |key: &'static str| {
                    raremesh_domain::message::Message::new(key).with("node", node)
                };
                let mail = Mail {
                    to: account.email.clone(),
                    subject: text("mail.reset.subject").render(lang),
                    body: text("mail.reset.body")
                        .with("link", format!("{base}/password/reset/{token}"))
                        .render(lang),
                };
                if let Err(e) = state.mailer.send(&mail).await {
                    tracing::error!(error = %e, "sending a password-reset mail failed");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        raremesh_domain::message::Message::new("forgot.not_sent").render(lang),
                    )
                        .into_response();
                }
            }
            Ok(None) => {}
            Err(e) => return failed(&headers, e),
        }
    }
    forgot_page(&state, &headers, StatusCode::OK, true)
}

fn reset_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    error: Option<&str>,
) -> Response {
    render_form(
        state,
        headers,
        super::page::page_lang(state, headers),
        status,
        "password_reset.html",
        context! { token, error },
    )
}

fn expired(state: &AppState, headers: &HeaderMap) -> Response {
    render(
        state,
        super::page::page_lang(state, headers),
        StatusCode::GONE,
        "password_expired.html",
        context! {},
    )
}

/// `GET /password/reset/{token}`: the new-password form.
pub async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match state.accounts.reset_account(&token, false) {
        Ok(Some(_)) => reset_page(&state, &headers, StatusCode::OK, &token, None),
        Ok(None) => expired(&state, &headers),
        Err(e) => failed(&headers, e),
    }
}

/// `POST /password/reset/{token}`: sets the new password, ends every session.
pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    sent: Sent<PasswordForm>,
) -> Response {
    let account = match state
        .accounts
        .reset_account(&token, false)
        .and_then(|id| id.map_or(Ok(None), |id| state.accounts.get(&id)))
    {
        Ok(Some(a)) => a,
        Ok(None) => return expired(&state, &headers),
        Err(e) => return failed(&headers, e),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                reset_page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    &token,
                    Some("reset.expired_form"),
                )
            });
        }
    };
    let pw = form.password.clone();
    if form.password_again != pw {
        return reset_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            Some("reset.mismatch"),
        );
    }
    // The rules are checked before the link is used up, so a refused password leaves it working.
    if raremesh_domain::accounts::password::check(&pw, &account.email).is_err() {
        return reset_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            Some("reset.rules"),
        );
    }
    let account_id = match state.accounts.reset_account(&token, true) {
        Ok(Some(id)) => id,
        Ok(None) => return expired(&state, &headers),
        Err(e) => return failed(&headers, e),
    };
    if let Err(e) = state.accounts.set_password(&account_id, &pw) {
        return failed(&headers, e);
    }
    if let Err(e) = state.sessions.end_all(&account_id) {
        return failed(&headers, e);
    }
    with_cookies(
        see_other("/signin?reset=1"),
        vec![cookies::clear(&state, cookies::SESSION)],
    )
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route(
            "/password/forgot",
            axum::routing::get(forgot_form).post(forgot),
        )
        .route(
            "/password/reset/{token}",
            axum::routing::get(reset_form).post(reset),
        )
}
