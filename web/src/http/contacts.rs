//! Contact between matched members, and the member's Matrix account:
//! `/account/matrix` (link, with a code sent through Matrix), `POST /patients/{id}/contact`
//! (ask), `/contacts` (requests made and received; accept or decline).

use super::extract::PageMember;
use raremesh_domain::message::Message;
use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::error::internal;
use super::page::{render_form, see_other};
use super::patients::member;
use super::{cookies, i18n};
use raremesh_domain::federation::{ContactError, ContactStatus};
use raremesh_domain::registration::Member;
use raremesh_domain::state::AppState;

fn matrix_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    error: Option<Message>,
) -> Response {
    let link = m.matrix.as_ref();
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    let error = error.map(|e| e.render(lang));
    render_form(
        state,
        headers,
        lang,
        status,
        "matrix.html",
        context! {
            federation => state.federation.is_some(),
            user_id => link.map(|l| l.user_id.clone()).unwrap_or_default(),
            verified => link.is_some_and(|l| l.verified),
            waiting => link.is_some_and(|l| !l.verified),
            error,
        },
    )
}

fn refusal(e: ContactError) -> Message {
    match e {
        ContactError::Refused(why) => why,
        ContactError::Failed(e) => {
            tracing::warn!(error = %e, "a contact step failed");
            Message::new("contacts.err.unreachable")
        }
    }
}

/// `GET /account/matrix`: the linked Matrix account, or the form to link one.
pub async fn matrix(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => matrix_page(&state, &headers, &m, StatusCode::OK, None),
        Err(r) => *r,
    }
}

/// `POST /account/matrix`: `user_id` to link (a code is sent there), or `code` to confirm.
pub async fn link(
    State(state): State<AppState>,
    PageMember(_, mut m): PageMember,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&state, &headers, form.get("csrf")) {
        return matrix_page(
            &state,
            &headers,
            &m,
            StatusCode::FORBIDDEN,
            Some(Message::new("contacts.err.expired")),
        );
    }
    let Some(f) = state.federation.clone() else {
        return matrix_page(
            &state,
            &headers,
            &m,
            StatusCode::CONFLICT,
            Some(Message::new("matrix.not_connected")),
        );
    };
    let result = match (form.get("code"), form.get("user_id")) {
        (Some(code), _) => f.confirm_link(&mut m, code).await,
        (None, Some(user)) => f.start_link(&mut m, user.trim()).await,
        _ => Err(ContactError::Refused(Message::new("contacts.err.give_id"))),
    };
    match result {
        Ok(()) => see_other("/account/matrix"),
        Err(e) => matrix_page(
            &state,
            &headers,
            &m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(refusal(e)),
        ),
    }
}

fn contacts_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    error: Option<Message>,
) -> Response {
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    let error = error.map(|e| e.render(lang));
    let Some(f) = state.federation.as_ref() else {
        return render_form(
            state,
            headers,
            lang,
            status,
            "contacts.html",
            context! { requests => Vec::<()>::new(), error },
        );
    };
    let list = match f.contacts_of(&m.account_id) {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let requests: Vec<HashMap<&str, String>> = list
        .iter()
        .map(|c| {
            HashMap::from([
                ("request", c.request.clone()),
                ("outgoing", c.outgoing.to_string()),
                (
                    "organization",
                    f.peer(&c.peer).map_or_else(String::new, |p| p.name.clone()),
                ),
                (
                    "pseudonym",
                    format!("Patient {}", c.remote_pseudonym[..6].to_uppercase()),
                ),
                (
                    "status",
                    match c.status {
                        ContactStatus::Pending => "pending",
                        ContactStatus::Accepted => "accepted",
                        ContactStatus::Declined => "declined",
                    }
                    .to_owned(),
                ),
            ])
        })
        .collect();
    render_form(
        state,
        headers,
        lang,
        status,
        "contacts.html",
        context! { requests, error },
    )
}

/// `GET /contacts`: requests made and received.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => contacts_page(&state, &headers, &m, StatusCode::OK, None),
        Err(r) => *r,
    }
}

/// `POST /contacts/{request}`: `answer` = `accept` or `decline`.
pub async fn answer(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(request): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&state, &headers, form.get("csrf")) {
        return contacts_page(
            &state,
            &headers,
            &m,
            StatusCode::FORBIDDEN,
            Some(Message::new("contacts.err.expired")),
        );
    }
    let Some(f) = state.federation.clone() else {
        return contacts_page(&state, &headers, &m, StatusCode::NOT_FOUND, None);
    };
    let accept = form.get("answer").map(String::as_str) == Some("accept");
    match f.answer_contact(&m, &request, accept).await {
        Ok(_) => see_other("/contacts"),
        Err(e) => contacts_page(
            &state,
            &headers,
            &m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(refusal(e)),
        ),
    }
}

/// `POST /patients/{id}/contact`: `peer` and `pseudonym` of a similar patient.
pub async fn ask(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !cookies::csrf_ok(&state, &headers, form.get("csrf")) {
        return contacts_page(
            &state,
            &headers,
            &m,
            StatusCode::FORBIDDEN,
            Some(Message::new("contacts.err.expired")),
        );
    }
    let Some(f) = state.federation.clone() else {
        return contacts_page(&state, &headers, &m, StatusCode::NOT_FOUND, None);
    };
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match f
        .request_contact(&m, &id, get("peer"), get("pseudonym"))
        .await
    {
        Ok(_) => see_other("/contacts"),
        Err(e) => contacts_page(
            &state,
            &headers,
            &m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(refusal(e)),
        ),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/account/matrix", axum::routing::get(matrix).post(link))
        .route("/contacts", axum::routing::get(list))
        .route("/contacts/{request}", axum::routing::post(answer))
        .route("/patients/{id}/contact", axum::routing::post(ask))
}
