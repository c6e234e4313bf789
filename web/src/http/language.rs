//! `GET /language/{code}`: the language switch every page offers in its footer. The
//! choice is remembered in a cookie and the browser goes back to the page it came from.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::REFERER;
use axum::response::Response;

use super::cookies;
use super::i18n::LANG_COOKIE;
use super::page::{see_other, with_cookies};
use super::page_error::PageError;
use raremesh_domain::registration::LANGUAGES;
use raremesh_domain::state::AppState;

/// The path (and query) of the page a link was followed from, on this node only: a full
/// address's host is dropped, so the switch never sends anyone elsewhere.
fn back(headers: &HeaderMap) -> String {
    let Some(referer) = headers.get(REFERER).and_then(|v| v.to_str().ok()) else {
        return "/".to_owned();
    };
    let path = match referer.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => referer,
    };
    let path = path.split('#').next().unwrap_or("/");
    if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/language/") {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `GET /language/{code}`: remembers `code` (one of the pages' languages) and goes back.
pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let Some((lang, _)) = LANGUAGES.iter().find(|(l, _)| *l == code) else {
        return axum::response::IntoResponse::into_response(PageError::NotFound {
            lang: super::page::page_lang(&state, &headers),
        });
    };
    with_cookies(
        see_other(&back(&headers)),
        vec![cookies::set(
            &state,
            LANG_COOKIE,
            lang,
            365 * 24 * 3600,
            "Lax",
        )],
    )
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/language/{code}", axum::routing::get(choose))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(referer: &str) -> String {
        let mut h = HeaderMap::new();
        h.insert(REFERER, referer.parse().expect("header"));
        back(&h)
    }

    #[test]
    fn the_switch_goes_back_on_this_node_only() {
        assert_eq!(
            from("https://rare.example.org/validation?x=1#top"),
            "/validation?x=1"
        );
        assert_eq!(from("https://evil.example.org/phish"), "/phish");
        assert_eq!(from("//evil.example.org/x"), "/");
        assert_eq!(from("https://rare.example.org"), "/");
        assert_eq!(from("https://rare.example.org/language/es"), "/");
        assert_eq!(back(&HeaderMap::new()), "/");
    }
}
