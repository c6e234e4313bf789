//! What a page answers instead of itself: a short page in the reader's language (403,
//! 404, 500) or a redirection (to sign in, to the account page). The page extractors
//! reject with it and page handlers return it; the JSON API has its own
//! ([`super::error::ApiError`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::{error_page, see_other};

/// An answer other than the page asked for.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: to the sign-in page.
    SignIn,
    /// Signed in, but this page is for someone further along (no member record yet):
    /// to `0`.
    Elsewhere(&'static str),
    /// 403: this account may not open the page.
    Forbidden {
        /// The reader's language.
        lang: &'static str,
    },
    /// 404: no such page, or a record that is not the reader's (the same answer).
    NotFound {
        /// The reader's language.
        lang: &'static str,
    },
    /// 500: something failed inside; the detail is logged, not shown.
    Internal {
        /// The reader's language.
        lang: &'static str,
        /// What failed.
        detail: String,
    },
}

impl PageError {
    /// A 500 for `e`, said in `lang`.
    pub fn internal(lang: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Internal {
            lang,
            detail: e.to_string(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => see_other("/signin"),
            Self::Elsewhere(to) => see_other(to),
            Self::Forbidden { lang } => error_page(
                lang,
                StatusCode::FORBIDDEN,
                "errors.forbidden",
                "/account",
                "errors.back_account",
            ),
            Self::NotFound { lang } => error_page(
                lang,
                StatusCode::NOT_FOUND,
                "errors.not_found",
                "/",
                "errors.back_home",
            ),
            Self::Internal { lang, detail } => {
                tracing::error!(%detail, "internal error");
                error_page(
                    lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "errors.internal",
                    "/",
                    "errors.back_home",
                )
            }
        }
    }
}

/// A 500 page for `e`, in the browser's language (the detail is logged, not shown).
pub(crate) fn failed(headers: &axum::http::HeaderMap, e: impl std::fmt::Display) -> Response {
    PageError::internal(super::i18n::pick(headers, None, None), e).into_response()
}
