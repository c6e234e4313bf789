//! Registration pages, steps 1 and 2. Responses never reveal whether an address already
//! has an account: the owner of the address learns it by mail instead.

use super::error::internal;
use super::form::{CsrfForm, Fields, Sent};
use super::page_error::failed;
use super::reset::{EmailForm, PasswordForm};
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::cookies;
use super::i18n;
use super::page::{render, render_form, see_other, with_cookies};
use raremesh_domain::accounts::{AccountError, Role, normalize_email, password};
use raremesh_domain::mail::Mail;
use raremesh_domain::registration::{LANGUAGES, LinkState, Member, PersonalInfo};
use raremesh_domain::state::AppState;

fn lang(headers: &HeaderMap) -> &'static str {
    i18n::pick(headers, None, None)
}

fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: &str,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[(&'static str, String)],
) -> Response {
    let errors: HashMap<&str, &str> = errors.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let languages: Vec<HashMap<&str, &str>> = LANGUAGES
        .iter()
        .map(|(code, name)| HashMap::from([("code", *code), ("name", *name)]))
        .collect();
    render_form(
        state,
        headers,
        lang,
        status,
        "register.html",
        context! { values, errors, languages },
    )
}

/// `GET /register?lang=`: step 1, personal information, in the language asked for (then
/// remembered), or the browser's.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let lang = i18n::pick(&headers, query.get("lang").map(String::as_str), None);
    let remember = match query.get("lang") {
        Some(_) => vec![cookies::set(
            &state,
            i18n::LANG_COOKIE,
            lang,
            365 * 24 * 3600,
            "Lax",
        )],
        None => Vec::new(),
    };
    let values = HashMap::from([("language".to_owned(), lang.to_owned())]);
    with_cookies(
        form_page(&state, &headers, lang, StatusCode::OK, &values, &[]),
        remember,
    )
}

/// Sends the confirmation link for `info` (or, when the address has an account already,
/// a note saying so). Sends at most 3 mails per address per 15 minutes.
pub(crate) async fn send_link(state: &AppState, info: &PersonalInfo) -> Result<(), Response> {
    let key = format!("mail:{}", info.email);
    if state.throttle.blocked_for_max(&key, 3).is_some() {
        return Ok(());
    }
    state.throttle.record(&key);
    let base = state.config.server.public_url.trim_end_matches('/');
    let node = &state.config.node.name;
    let exists = state
        .accounts
        .by_email(&info.email)
        .map_err(internal)?
        .is_some();
    // In the language the member chose on step 1.
    let lang = i18n::pick(&HeaderMap::new(), Some(&info.language), None);
    let text = |key: &'static str| raremesh_domain::message::Message::new(key).with("node", node);
    let mail = if exists {
        Mail {
            to: info.email.clone(),
            subject: text("mail.exists.subject").render(lang),
            body: text("mail.exists.body")
                .with("link", format!("{base}/signin"))
                .render(lang),
        }
    } else {
        let token = state.registrations.issue(info).map_err(internal)?;
        Mail {
            to: info.email.clone(),
            subject: text("mail.confirm.subject").render(lang),
            body: text("mail.confirm.body")
                .with("name", &info.name)
                .with("link", format!("{base}/register/confirm/{token}"))
                .render(lang),
        }
    };
    state.mailer.send(&mail).await.map_err(|e| {
        tracing::error!(error = %e, "sending a registration mail failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            raremesh_domain::message::Message::new("errors.mail_failed").render(lang),
        )
            .into_response()
    })
}

/// `POST /register`: checks step 1 and mails the confirmation link.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                form_page(
                    &state,
                    &headers,
                    lang(&headers),
                    StatusCode::FORBIDDEN,
                    &form,
                    &[("form", "register.expired_form".into())],
                )
            });
        }
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let info = match PersonalInfo::parse(
        field("name"),
        field("email"),
        field("country"),
        field("language"),
        field("registrant"),
    ) {
        Ok(info) => info,
        Err(errors) => {
            return form_page(
                &state,
                &headers,
                lang(&headers),
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
            );
        }
    };
    if let Err(e) = state.registrations.set_pending(&info) {
        return failed(&headers, e);
    }
    match send_link(&state, &info).await {
        Ok(()) => see_other("/register/sent"),
        Err(r) => r,
    }
}

/// `GET /register/sent`: "check your inbox", with a form to send the link again.
pub async fn sent(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render_form(
        &state,
        &headers,
        lang(&headers),
        StatusCode::OK,
        "register_sent.html",
        context! {},
    )
}

/// `POST /register/resend`: sends the link again for a registration waiting for it. The
/// answer is the same whatever the address.
pub async fn resend(State(state): State<AppState>, sent: Sent<EmailForm>) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => return e.or_page(|_| see_other("/register/sent")),
    };
    if let Ok(email) = normalize_email(&form.email) {
        match state.registrations.pending(&email) {
            Ok(Some(info)) => {
                if let Err(r) = send_link(&state, &info).await {
                    return r;
                }
            }
            Ok(None) => {}
            Err(e) => return internal(e),
        }
    }
    see_other("/register/sent")
}

fn expired(state: &AppState, headers: &HeaderMap) -> Response {
    render(
        state,
        lang(headers),
        StatusCode::GONE,
        "register_expired.html",
        context! {},
    )
}

fn password_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    info: &PersonalInfo,
    token: &str,
    error: Option<String>,
) -> Response {
    let lang = i18n::pick(headers, None, Some(&info.language));
    render_form(
        state,
        headers,
        lang,
        status,
        "register_password.html",
        context! { token, email => info.email, name => info.name, error },
    )
}

/// `GET /register/confirm/{token}`: the emailed link; step 2, choosing a password.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match state.registrations.check(&token) {
        Ok(LinkState::Valid(info)) => {
            password_page(&state, &headers, StatusCode::OK, &info, &token, None)
        }
        Ok(LinkState::Invalid) => expired(&state, &headers),
        Err(e) => failed(&headers, e),
    }
}

/// `POST /register/confirm/{token}`: sets the password, creates the account, signs in.
pub async fn set_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    sent: Sent<PasswordForm>,
) -> Response {
    let regs = &state.registrations;
    let info = match regs.check(&token) {
        Ok(LinkState::Valid(info)) => info,
        Ok(LinkState::Invalid) => return expired(&state, &headers),
        Err(e) => return failed(&headers, e),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                password_page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    &info,
                    &token,
                    Some("register.error.password_expired".into()),
                )
            });
        }
    };
    let pw = form.password.clone();
    if password::check(&pw, &info.email).is_err() {
        return password_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &info,
            &token,
            Some("register.error.password_rules".into()),
        );
    }
    if form.password_again != pw {
        return password_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &info,
            &token,
            Some("register.error.password_mismatch".into()),
        );
    }
    let account = match finish(&state, &token, &info, &pw) {
        Ok(Finished::Created(a)) => a,
        Ok(Finished::Expired) => return expired(&state, &headers),
        Ok(Finished::EmailTaken) => return see_other("/signin"),
        Err(e) => return failed(&headers, e),
    };
    match cookies::start_session(&state, &account.id) {
        // Registered: on to step 3, the patient.
        Ok(set) => with_cookies(see_other("/patients"), set),
        Err(e) => failed(&headers, e),
    }
}

/// What finishing a registration gave.
pub(crate) enum Finished {
    /// The account, created and confirmed, with its member record at step 2.
    Created(raremesh_domain::accounts::Account),
    /// The link was used meanwhile, or expired.
    Expired,
    /// The address has an account already.
    EmailTaken,
}

/// Step 2's end (the password was checked): uses the link, creates the account and the
/// member record, forgets the pending registration.
pub(crate) fn finish(
    state: &AppState,
    token: &str,
    info: &PersonalInfo,
    password: &str,
) -> Result<Finished, crate::Error> {
    let regs = &state.registrations;
    if regs.consume(token)? == LinkState::Invalid {
        return Ok(Finished::Expired);
    }
    let account = match state
        .accounts
        .create(&info.email, password, Role::Member, true)
    {
        Ok(a) => a,
        Err(AccountError::EmailTaken) => return Ok(Finished::EmailTaken),
        Err(e) => return Err(e.into()),
    };
    regs.save_member(&Member {
        account_id: account.id.clone(),
        info: info.clone(),
        step: 2,
        consents: Default::default(),
        matrix: None,
    })?;
    regs.clear_pending(&info.email)?;
    Ok(Finished::Created(account))
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/register", axum::routing::get(start).post(submit))
        .route("/register/sent", axum::routing::get(sent))
        .route("/register/resend", axum::routing::post(resend))
        .route(
            "/register/confirm/{token}",
            axum::routing::get(confirm).post(set_password),
        )
}
