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
use raremesh_domain::messages::MessagingError;
use raremesh_domain::registration::Member;
use raremesh_domain::similar::SHOWN;
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

fn local_refusal(state: &AppState, headers: &HeaderMap, m: &Member, e: MessagingError) -> Response {
    match e {
        MessagingError::Refused(why) => contacts_page(
            state,
            headers,
            m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
        ),
        MessagingError::NotFound => contacts_page(
            state,
            headers,
            m,
            StatusCode::NOT_FOUND,
            Some(Message::new("contacts.err.no_request")),
        ),
        MessagingError::Store(e) => failed(headers, e),
        MessagingError::Files(e) => failed(headers, e),
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
    /// `local` for a request within the organization.
    kind: String,
}

/// A contact request to a similar patient: of this organization (`local`), or of a
/// partner organization (`peer` and `pseudonym`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AskForm {
    /// The handle of a patient of this organization.
    local: String,
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
    let remote = match state.federation.as_ref() {
        Some(f) => match f.contacts_of(&m.account_id) {
            Ok(l) => l,
            Err(e) => return failed(headers, e),
        },
        None => Vec::new(),
    };
    let organization = |peer: &str| {
        state
            .federation
            .as_ref()
            .and_then(|f| f.peer(peer))
            .map_or_else(String::new, |p| p.name.clone())
    };
    let requests: Vec<HashMap<&str, String>> = remote
        .iter()
        .map(|c| {
            HashMap::from([
                ("request", c.request.clone()),
                ("outgoing", c.outgoing.to_string()),
                ("organization", organization(&c.peer)),
                (
                    "pseudonym",
                    format!("Patient {}", c.remote_pseudonym[..6].to_uppercase()),
                ),
                ("conversation", c.conversation.clone().unwrap_or_default()),
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
    let (local, possible) = match local_contacts(state, m) {
        Ok(x) => x,
        Err(e) => return failed(headers, e),
    };
    render_form(
        state,
        headers,
        lang,
        status,
        "contacts.html",
        context! {
            requests,
            local,
            possible,
            contactable => m.consents.contactable,
            federation => state.federation.is_some(),
            error,
        },
    )
}

/// The member's requests within the organization, and the similar patients they may ask
/// to get in touch with (most similar first).
fn local_contacts(
    state: &AppState,
    m: &Member,
) -> Result<(Vec<minijinja::Value>, Vec<minijinja::Value>), MessagingError> {
    let label = |p: &PatientId| raremesh_domain::similar::pseudonym(p);
    let local = state
        .messages
        .requests_of(&m.account_id)?
        .into_iter()
        .map(|r| {
            let incoming = r.to_account == m.account_id;
            context! {
                id => r.id,
                incoming,
                pseudonym => label(if incoming { &r.from_patient } else { &r.to_patient }),
                status => r.status.key(),
                conversation => r.conversation,
            }
        })
        .collect();
    let names: HashMap<PatientId, String> = state
        .patients
        .of(&m.account_id)?
        .into_iter()
        .map(|p| (p.id, p.display_name))
        .collect();
    let possible = state
        .messages
        .possible(m, SHOWN)?
        .into_iter()
        .map(|p| {
            context! {
                patient => p.patient_id,
                patient_name => names.get(&p.patient_id).cloned().unwrap_or_default(),
                pseudonym => p.similar.pseudonym,
                score => p.similar.score,
                organization => p.similar.organization,
                local => p.similar.local,
                peer => p.similar.peer,
                asked => p.request.map(|r| r.key()),
            }
        })
        .collect();
    Ok((local, possible))
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
    let accept = form.answer == "accept";
    if form.kind == "local" {
        return match state.messages.answer(&m, &request, accept).await {
            Ok(r) => match r.conversation {
                Some(c) => see_other(&format!("/messages/{c}")),
                None => see_other("/contacts"),
            },
            Err(e) => local_refusal(&state, &headers, &m, e),
        };
    }
    let Some(f) = state.federation.clone() else {
        return contacts_page(&state, &headers, &m, StatusCode::NOT_FOUND, None);
    };
    match f.answer_contact(&m, &request, accept).await {
        Ok(c) => match c.conversation {
            Some(conversation) => see_other(&format!("/messages/{conversation}")),
            None => see_other("/contacts"),
        },
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
    if !form.local.is_empty() {
        let patient = PatientId::new(id.as_str());
        return match state.messages.ask(&m, &patient, form.local.trim()).await {
            Ok(_) => see_other("/contacts"),
            Err(e) => local_refusal(&state, &headers, &m, e),
        };
    }
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
