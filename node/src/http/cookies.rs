//! Reading and setting the node's cookies, and the CSRF check every form goes through.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::state::AppState;

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

/// Whether a form's `csrf` field matches the CSRF cookie (compared in constant time).
pub fn csrf_ok(headers: &HeaderMap, field: Option<&String>) -> bool {
    match (get(headers, CSRF), field) {
        (Some(cookie), Some(field)) if cookie.len() == 64 && cookie.len() == field.len() => {
            cookie
                .bytes()
                .zip(field.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        _ => false,
    }
}
