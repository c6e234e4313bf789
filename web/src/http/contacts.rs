//! Contact between matched members, and the member's Matrix account:
//! `/account/matrix` (link, with a code sent through Matrix), `POST /patients/{id}/contact`
//! (ask), `/contacts` (requests made and received; accept or decline).

use super::extract::PageMember;
use super::form::{CsrfForm, Sent};
use super::page_error::failed;
use raremesh_domain::ids::PatientId;
use raremesh_domain::message::Message;
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::page::{render_form, see_other};
use super::patients::member;
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
        Err(e) => e.into_response(),
    }
}

/// The form linking a Matrix account: the account first, then the code it received.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    /// The code sent to the Matrix account.
    code: Option<String>,
    /// The Matrix account.
    user_id: Option<String>,
}

/// The answer to a contact request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    /// `accept` or anything else (decline).
    answer: String,
}

/// A contact request to a patient of a partner organization.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AskForm {
    /// The partner node.
    peer: String,
    /// The patient's pseudonym there.
    pseudonym: String,
}

/// `POST /account/matrix`: `user_id` to link (a code is sent there), or `code` to confirm.
pub async fn link(
    State(state): State<AppState>,
    PageMember(_, mut m): PageMember,
    headers: HeaderMap,
    sent: Sent<LinkForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                matrix_page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    Some(Message::new("contacts.err.expired")),
                )
            });
        }
    };
    let Some(f) = state.federation.clone() else {
        return matrix_page(
            &state,
            &headers,
            &m,
            StatusCode::CONFLICT,
            Some(Message::new("matrix.not_connected")),
        );
    };
    let result = match (form.code.as_deref(), form.user_id.as_deref()) {
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
        Err(e) => return failed(headers, e),
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
        Err(e) => e.into_response(),
    }
}

/// `POST /contacts/{request}`: `answer` = `accept` or `decline`.
pub async fn answer(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(request): Path<String>,
    headers: HeaderMap,
    sent: Sent<AnswerForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                contacts_page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    Some(Message::new("contacts.err.expired")),
                )
            });
        }
    };
    let Some(f) = state.federation.clone() else {
        return contacts_page(&state, &headers, &m, StatusCode::NOT_FOUND, None);
    };
    let accept = form.answer == "accept";
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
    sent: Sent<AskForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                contacts_page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    Some(Message::new("contacts.err.expired")),
                )
            });
        }
    };
    let Some(f) = state.federation.clone() else {
        return contacts_page(&state, &headers, &m, StatusCode::NOT_FOUND, None);
    };
    match f
        .request_contact(
            &m,
            &PatientId::new(id.as_str()),
            form.peer.as_str(),
            form.pseudonym.as_str(),
        )
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
