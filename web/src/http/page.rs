//! Building HTML answers: templates with the values every page needs, forms with their
//! CSRF token, redirects, cookies, and the signed-in account pages require.

use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};

use super::cookies::{self, CSRF, SESSION};
use super::error::{ApiError, internal};
use super::page_error::PageError;
use raremesh_domain::accounts::Account;
use raremesh_domain::state::AppState;

/// Renders a page with the values every page needs (language, node name, versions and
/// acknowledgements).
pub(crate) fn render(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    name: &str,
    ctx: Value,
) -> Response {
    let o = &state.ontology;
    let base = context! {
        lang,
        node_name => state.config.node.name,
        app_version => crate::VERSION,
        hpo_ack => raremesh_ontology::hpo_acknowledgement(o.version()),
        orphanet => raremesh_ontology::ORPHANET_ATTRIBUTION,
        switch_languages => raremesh_domain::registration::LANGUAGES,
    };
    let rendered = super::templates::shared()
        .map_err(|e| e.to_string())
        .and_then(|t| {
            t.render(name, context! { ..ctx, ..base })
                .map_err(|e| e.to_string())
        });
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => internal(e),
    }
}

/// Renders a page that holds a form: adds this browser's CSRF token as `csrf` (and the
/// cookie, when the browser has none yet).
pub(crate) fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    lang: &str,
    status: StatusCode,
    name: &str,
    ctx: Value,
) -> Response {
    // The header offers the account to a signed-in member, registration to others.
    let signed_in = matches!(current(state, headers), Ok(Some(_)));
    match csrf_token(state, headers) {
        Ok((csrf, set)) => with_cookies(
            render(
                state,
                lang,
                status,
                name,
                context! { csrf, signed_in, ..ctx },
            ),
            set,
        ),
        Err(e) => e.into_response(),
    }
}

/// The CSRF token of this browser, or a new one with the cookie to set. For a session
/// bound to a CSRF token, the browser's cookie must be that token; when it is not (the
/// browser did not send it, say on arriving from a link in a mail, or someone planted
/// another), a new token is made and the session bound to it, so that a signed-in member
/// is never left with forms that cannot be sent.
fn csrf_token(state: &AppState, headers: &HeaderMap) -> Result<(String, Vec<String>), ApiError> {
    let internal = |e: raremesh_domain::store::StoreError| ApiError::Internal(e.to_string());
    let session = cookies::get(headers, SESSION)
        .and_then(|t| state.sessions.get(&t).ok().flatten().map(|s| (t, s)));
    let bound = session.as_ref().and_then(|(_, s)| s.csrf.clone());
    match cookies::get(headers, CSRF).filter(|c| c.len() == 64) {
        Some(t)
            if bound
                .as_ref()
                .is_none_or(|h| *h == raremesh_domain::sessions::token_hash(&t)) =>
        {
            Ok((t, Vec::new()))
        }
        _ => {
            let (t, cookie) = cookies::fresh_csrf(state).map_err(internal)?;
            if let (Some((token, _)), Some(_)) = (&session, &bound) {
                state.sessions.rebind(token, &t).map_err(internal)?;
            }
            Ok((t, vec![cookie]))
        }
    }
}

/// A 303 redirect.
pub(crate) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

/// Adds `Set-Cookie` headers to an answer.
pub(crate) fn with_cookies(mut res: Response, set_cookies: Vec<String>) -> Response {
    for c in set_cookies {
        if let Ok(v) = c.parse() {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// The language of a page: the signed-in member's, else the browser's (cookie, then
/// `Accept-Language`).
pub(crate) fn page_lang(state: &AppState, headers: &HeaderMap) -> &'static str {
    let chosen = match current(state, headers) {
        Ok(Some((_, a))) => state
            .registrations
            .member(&a.id)
            .ok()
            .flatten()
            .map(|m| m.info.language),
        _ => None,
    };
    super::i18n::pick(headers, None, chosen.as_deref())
}

/// The session token and account of the signed-in browser, if any.
pub fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Account)>, ApiError> {
    let Some(token) = cookies::get(headers, SESSION) else {
        return Ok(None);
    };
    let internal = |e: raremesh_domain::store::StoreError| ApiError::Internal(e.to_string());
    let Some(session) = state.sessions.get(&token).map_err(internal)? else {
        return Ok(None);
    };
    Ok(state
        .accounts
        .get(&session.account_id)
        .map_err(internal)?
        .map(|a| (token, a)))
}

/// The signed-in account, or the answer to give instead (to the sign-in page).
pub(crate) fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Account, PageError> {
    match current(state, headers) {
        Ok(Some((_, a))) => Ok(a),
        Ok(None) => Err(PageError::SignIn),
        Err(e) => Err(PageError::internal(
            super::i18n::pick(headers, None, None),
            format!("{e:?}"),
        )),
    }
}

/// The signed-in validator or admin, or the answer to give instead (sign-in, or 403).
pub(crate) fn staff(state: &AppState, headers: &HeaderMap) -> Result<Account, PageError> {
    let account = signed_in(state, headers)?;
    if matches!(
        account.role,
        raremesh_domain::accounts::Role::Validator | raremesh_domain::accounts::Role::Admin
    ) {
        Ok(account)
    } else {
        Err(PageError::Forbidden {
            lang: page_lang(state, headers),
        })
    }
}

/// A 403 page, in the language of the one asking.
pub(crate) fn forbidden(state: &AppState, headers: &HeaderMap) -> Response {
    PageError::Forbidden {
        lang: page_lang(state, headers),
    }
    .into_response()
}

/// A short error page: a sentence and a way on, in `lang`.
pub(crate) fn error_page(
    lang: &str,
    status: StatusCode,
    text: &'static str,
    link: &str,
    link_text: &'static str,
) -> Response {
    let say = |key: &'static str| {
        minijinja::HtmlEscape(&raremesh_domain::message::Message::new(key).render(lang)).to_string()
    };
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><link rel=\"stylesheet\" href=\"/assets/style.css\"><main><p>{} <a href=\"{link}\">{}</a>.</p></main></html>",
            say(text),
            say(text),
            say(link_text)
        )),
    )
        .into_response()
}

/// The name a choice (sex, relation...) has in forms and catalogue keys: its serialized
/// name (`other_family`), empty for anything that is not a plain name.
pub(crate) fn choice_key(choice: &impl serde::Serialize) -> String {
    serde_json::to_value(choice)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
