//! `/account/profile`: the member's step 1 details (name, country, language, who
//! registers), changeable at any time. The email address is the sign-in name and stays.

use super::extract::PageMember;
use super::form::{CsrfForm, Fields, Sent};
use super::page_error::failed;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::page::{render_form, see_other};
use super::patients::member;
use raremesh_domain::registration::{LANGUAGES, Member, PersonalInfo, Registrant};
use raremesh_domain::state::AppState;

fn page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[(&'static str, String)],
    saved: bool,
) -> Response {
    let languages: Vec<HashMap<&str, &str>> = LANGUAGES
        .iter()
        .map(|(code, name)| HashMap::from([("code", *code), ("name", *name)]))
        .collect();
    let errors: HashMap<&str, &str> = errors.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    render_form(
        state,
        headers,
        lang,
        status,
        "profile.html",
        context! { values, errors, languages, email => m.info.email.clone(), saved },
    )
}

fn values_of(m: &Member) -> HashMap<String, String> {
    HashMap::from([
        ("name".to_owned(), m.info.name.clone()),
        ("country".to_owned(), m.info.country.clone()),
        ("language".to_owned(), m.info.language.clone()),
        (
            "registrant".to_owned(),
            match m.info.registrant {
                Registrant::AdultPatient => "adult_patient",
                Registrant::Caregiver => "caregiver",
            }
            .to_owned(),
        ),
    ])
}

/// `GET /account/profile`: the details, in the form.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => page(
            &state,
            &headers,
            &m,
            StatusCode::OK,
            &values_of(&m),
            &[],
            q.contains_key("saved"),
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /account/profile`: saves the details.
pub async fn save(
    State(state): State<AppState>,
    PageMember(_, mut m): PageMember,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    &form,
                    &[("form", "register.expired_form".into())],
                    false,
                )
            });
        }
    };
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match PersonalInfo::parse(
        get("name"),
        &m.info.email,
        get("country"),
        get("language"),
        get("registrant"),
    ) {
        Ok(info) => {
            m.info = info;
            match state.registrations.save_member(&m) {
                Ok(()) => see_other("/account/profile?saved"),
                Err(e) => failed(&headers, e),
            }
        }
        Err(errors) => page(
            &state,
            &headers,
            &m,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            &errors,
            false,
        ),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/account/profile", axum::routing::get(show).post(save))
}
