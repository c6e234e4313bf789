//! Forms sent from the node's pages: the fields as a typed struct, accepted only with the
//! page's CSRF token ([`cookies::csrf_ok`]: the double-submit cookie, bound to the
//! browser's session). A handler that shows its own page again when the form had expired
//! takes [`Sent<T>`] and answers [`FormError::or_page`] (the fields are kept).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cookies;
use raremesh_domain::state::AppState;

/// A form as a handler takes it when it shows its own page again on an expired form.
pub type Sent<T> = Result<CsrfForm<T>, FormError<T>>;

/// The fields of a form whose page shows every field back as typed (a patient, a
/// profile, a question, a count): read by name by the page's own checks.
pub type Fields = std::collections::HashMap<String, String>;

/// The fields of a page's form, sent with the page's CSRF token.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// Why a form was not taken.
#[derive(Debug)]
pub enum FormError<T> {
    /// Without the page's token: the page was open too long, or the form came from
    /// elsewhere. The fields are kept, so the page can show them again.
    Expired(T),
    /// Not a form body (or too large): the body extractor's own answer.
    Body(Response),
    /// A field that cannot be read as the form says.
    Malformed(String),
}

impl<T> FormError<T> {
    /// The response: `page(fields)` (the form again with what was typed, saying it had
    /// expired) for an expired form, a plain error otherwise.
    pub fn or_page(self, page: impl FnOnce(T) -> Response) -> Response {
        match self {
            Self::Expired(fields) => page(fields),
            other => other.into_response(),
        }
    }
}

impl<T> IntoResponse for FormError<T> {
    fn into_response(self) -> Response {
        match self {
            Self::Expired(_) => (
                StatusCode::FORBIDDEN,
                "This form had expired. Please go back, reload the page and send it again.",
            )
                .into_response(),
            Self::Body(r) => r,
            Self::Malformed(why) => {
                (StatusCode::UNPROCESSABLE_ENTITY, format!("Bad form: {why}")).into_response()
            }
        }
    }
}

/// The fields of a form that has none but its token (a button).
#[derive(Debug, Default, Deserialize)]
pub struct Button {}

#[derive(Deserialize, Default)]
struct Token {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = FormError<T>;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, FormError<T>> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| FormError::Body(e.into_response()))?;
        let fields: T =
            serde_urlencoded::from_bytes(&body).map_err(|e| FormError::Malformed(e.to_string()))?;
        let token: Token = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        if !cookies::csrf_ok(state, &headers, token.csrf.as_ref()) {
            return Err(FormError::Expired(fields));
        }
        Ok(CsrfForm(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Sample {
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn the_token_and_the_fields_come_from_one_body() {
        let body = b"csrf=abc&name=Ana+Mar%C3%ADa&extra=1";
        let t: Token = serde_urlencoded::from_bytes(body).expect("token");
        assert_eq!(t.csrf.as_deref(), Some("abc"));
        let s: Sample = serde_urlencoded::from_bytes(body).expect("fields");
        assert_eq!(
            s,
            Sample {
                name: "Ana María".into(),
                count: None
            }
        );
        assert!(serde_urlencoded::from_bytes::<Sample>(b"count=many").is_err());
    }
}
