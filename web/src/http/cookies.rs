//! Reading and setting the node's cookies, and the CSRF check every form goes through.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use raremesh_domain::ids::AccountId;
use raremesh_domain::state::AppState;

/// The session cookie.
pub const SESSION: &str = "raremesh_session";
/// The CSRF cookie (double-submit: forms carry the same value in a hidden field).
pub const CSRF: &str = "raremesh_csrf";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite, Path=/, Secure behind https.
pub fn set(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_secs: u64,
    same_site: &str,
) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    )
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(state: &AppState, name: &str) -> String {
    set(state, name, "", 0, "Lax")
}

/// Whether a form's `csrf` field matches the CSRF cookie (compared in constant time) and,
/// when the request carries a session started in a browser, whether that cookie is the
/// one the session was started with: a CSRF cookie planted by someone else (another site
/// on the same domain can set cookies) is refused with the session.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, field: Option<&String>) -> bool {
    let Some(cookie) = get(headers, CSRF) else {
        return false;
    };
    let same = |a: &str, b: &str| {
        a.len() == b.len()
            && a.bytes()
                .zip(b.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    };
    let double_submit = cookie.len() == 64 && field.is_some_and(|f| same(&cookie, f));
    if !double_submit {
        return false;
    }
    match get(headers, SESSION).map(|t| state.sessions.get(&t)) {
        Some(Ok(Some(session))) => session
            .csrf
            .is_none_or(|bound| same(&bound, &raremesh_domain::sessions::token_hash(&cookie))),
        Some(Err(_)) => false,
        // No session, or one that is over: the page it leads to signs in again.
        _ => true,
    }
}

/// Starts a browser's session for `account_id`, with a new CSRF token bound to it: the
/// `Set-Cookie` values of both.
pub fn start_session(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<String>, raremesh_domain::store::StoreError> {
    let (csrf, csrf_cookie) = fresh_csrf(state)?;
    let token = state
        .sessions
        .start_bound(&AccountId::new(account_id), Some(&csrf))?;
    Ok(vec![
        set(
            state,
            SESSION,
            &token,
            raremesh_domain::sessions::LIFETIME_SECS,
            "Lax",
        ),
        csrf_cookie,
    ])
}

/// A new CSRF token and its cookie.
pub fn fresh_csrf(
    state: &AppState,
) -> Result<(String, String), raremesh_domain::store::StoreError> {
    let token = raremesh_domain::ids::random_token()?;
    let cookie = set(
        state,
        CSRF,
        &token,
        raremesh_domain::sessions::LIFETIME_SECS,
        "Strict",
    );
    Ok((token, cookie))
}
