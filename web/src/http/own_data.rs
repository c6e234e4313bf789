//! A member's own data: `GET /account/export` (everything, JSON), `GET
//! /patients/{id}/phenopacket` (GA4GH Phenopacket v2), `GET`/`POST /account/delete`.

use super::error::internal;
use super::extract::SignedIn;
use super::form::{CsrfForm, Sent};
use super::page_error::failed;
use serde::Deserialize;

use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::cookies;
use super::page::{render_form, see_other, signed_in, with_cookies};
use raremesh_domain::clock::now;
use raremesh_domain::ids::PatientId;
use raremesh_domain::state::AppState;
use raremesh_domain::{export, phenopacket};

fn json_download(value: &serde_json::Value, filename: &str) -> Response {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => (
            [
                (CONTENT_TYPE, "application/json".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

/// `GET /account/export`: everything the node holds about the signed-in account.
pub async fn export_all(State(state): State<AppState>, SignedIn(account): SignedIn) -> Response {
    let member = match state.registrations.member(&account.id) {
        Ok(m) => m,
        Err(e) => return internal(e),
    };
    let patients = match state.patients.of(&account.id) {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    json_download(
        &export::everything(&state, &account, member.as_ref(), &patients, now()),
        "raremesh-export.json",
    )
}

/// `GET /patients/{id}/phenopacket`: one of the member's patients as a Phenopacket.
pub async fn phenopacket(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match state
        .patients
        .get(&account.id, &PatientId::new(id.as_str()))
    {
        Ok(Some(p)) => json_download(
            &phenopacket::phenopacket(&state.ontology, &p, now()),
            &format!("phenopacket-{}.json", p.id),
        ),
        Ok(None) => super::page_error::PageError::NotFound {
            lang: super::page::page_lang(&state, &headers),
        }
        .into_response(),
        Err(e) => internal(e),
    }
}

fn delete_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    render_form(
        state,
        headers,
        super::page::page_lang(state, headers),
        status,
        "account_delete.html",
        context! { error },
    )
}

/// `GET /account/delete`: what deletion erases, and the form to confirm it.
pub async fn delete_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers) {
        Ok(_) => delete_page(&state, &headers, StatusCode::OK, None),
        Err(e) => e.into_response(),
    }
}

/// The deletion form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    /// The account's password, asked again.
    password: String,
}

/// `POST /account/delete`: erases the account and everything attached, after the password.
pub async fn delete(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    headers: HeaderMap,
    sent: Sent<DeleteForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                delete_page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    Some("delete.expired"),
                )
            });
        }
    };
    let password = form.password.as_str();
    match state.accounts.sign_in(&account.email, password) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return delete_page(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                Some("delete.wrong_password"),
            );
        }
        Err(e) => return failed(&headers, e),
    }
    match raremesh_domain::erasure::erase_account(&state, &account) {
        Ok(_) => with_cookies(
            see_other("/"),
            vec![cookies::clear(&state, cookies::SESSION)],
        ),
        Err(e) => failed(&headers, e),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route(
            "/patients/{id}/phenopacket",
            axum::routing::get(phenopacket),
        )
        .route("/account/export", axum::routing::get(export_all))
        .route(
            "/account/delete",
            axum::routing::get(delete_form).post(delete),
        )
}
