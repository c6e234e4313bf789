//! The choice of a page's language; the catalogues are `raremesh_core::i18n`.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

use super::cookies;
pub use raremesh_core::i18n::{Catalogs, LANGUAGES, shared};

/// The cookie that remembers a language picked with `?lang=`.
pub const LANG_COOKIE: &str = "raremesh_lang";

/// The language of a page: `?lang=` (remembered in a cookie), then that cookie, then the
/// member's preference, then the browser's `Accept-Language`, then English.
pub fn pick(
    headers: &HeaderMap,
    query_lang: Option<&str>,
    preference: Option<&str>,
) -> &'static str {
    let known = |l: &str| {
        LANGUAGES
            .into_iter()
            .find(|k| l.trim().to_ascii_lowercase().starts_with(k))
    };
    if let Some(l) = query_lang.and_then(known) {
        return l;
    }
    if let Some(l) = cookies::get(headers, LANG_COOKIE)
        .as_deref()
        .and_then(known)
    {
        return l;
    }
    if let Some(l) = preference.and_then(known) {
        return l;
    }
    accepted(headers).find_map(known).unwrap_or("en")
}

/// The languages of `Accept-Language`, in the order given (weights are not read).
pub fn accepted(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|part| part.split(';').next().unwrap_or_default().trim())
}

/// A catalogue text in the browser's language (`?lang=` cookie, then `Accept-Language`).
pub fn say(headers: &HeaderMap, key: &'static str) -> String {
    raremesh_domain::message::Message::new(key).render(pick(headers, None, None))
}
