//! `/validation`: the validators' work. The review queue, one patient's documents
//! (decrypted in memory for viewing), approve or reject with a reason, and the audit log.
//! Open to validators and admins only; every action is audited.

use super::error::internal;
use super::extract::Staff;
use super::form::{CsrfForm, Sent};
use super::page_error::{PageError, failed};
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::documents::{format_size, notify_decision};
use super::page::{page_lang, render, render_form, see_other};
use raremesh_domain::accounts::Account;
use raremesh_domain::audit::{Action, Entry};
use raremesh_domain::clock::now;
use raremesh_domain::documents::FileType;
use raremesh_domain::ids::{AccountId, PatientId};
use raremesh_domain::message::Message;
use raremesh_domain::registration::Registrant;
use raremesh_domain::registration::patient::{Diagnosis, Patient, Validation};
use raremesh_domain::state::AppState;

/// Longest rejection reason, in characters.
pub const MAX_REASON: usize = 1000;

fn date(t: u64) -> String {
    raremesh_domain::clock::rfc3339(t)
        .replace('T', " ")
        .replace('Z', " UTC")
}

/// `GET /validation`: patients waiting for review (oldest first), and recent decisions.
pub async fn queue(State(state): State<AppState>, Staff(_): Staff, headers: HeaderMap) -> Response {
    let patients = match state.patients.all() {
        Ok(p) => p,
        Err(e) => return failed(&headers, e),
    };
    let mut pending: Vec<(u64, &Patient)> = patients
        .iter()
        .filter_map(|p| match p.validation {
            Validation::Pending { since } => Some((since, p)),
            _ => None,
        })
        .collect();
    pending.sort_by_key(|(since, p)| (*since, p.id.clone()));
    let rows: Vec<HashMap<&str, String>> = pending
        .iter()
        .map(|(since, p)| {
            HashMap::from([
                ("href", format!("/validation/{}/{}", p.account_id, p.id)),
                ("name", p.display_name.clone()),
                ("since", date(*since)),
            ])
        })
        .collect();
    let mut decided: Vec<(u64, &Patient)> = patients
        .iter()
        .filter_map(|p| match p.validation {
            Validation::Approved { at, .. } | Validation::Rejected { at, .. } => Some((at, p)),
            _ => None,
        })
        .collect();
    decided.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let recent: Vec<HashMap<&str, String>> = decided
        .iter()
        .take(20)
        .map(|(at, p)| {
            HashMap::from([
                ("href", format!("/validation/{}/{}", p.account_id, p.id)),
                ("name", p.display_name.clone()),
                ("status", p.validation.key().to_owned()),
                ("at", date(*at)),
            ])
        })
        .collect();
    render(
        &state,
        page_lang(&state, &headers),
        StatusCode::OK,
        "validation_queue.html",
        context! { pending => rows, recent, signed_in => true },
    )
}

pub(crate) fn load(
    state: &AppState,
    headers: &HeaderMap,
    account_id: &str,
    patient_id: &str,
) -> Result<Patient, PageError> {
    let lang = super::page::page_lang(state, headers);
    match state
        .patients
        .get(&AccountId::new(account_id), &PatientId::new(patient_id))
    {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(PageError::NotFound { lang }),
        Err(e) => Err(PageError::internal(lang, e)),
    }
}

fn review_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Patient,
    status: StatusCode,
    error: Option<&'static str>,
) -> Response {
    let lang = page_lang(state, headers);
    let say = |key: &'static str| Message::new(key).render(lang);
    let member = match state.registrations.member(&p.account_id) {
        Ok(m) => m,
        Err(e) => return failed(headers, e),
    };
    let docs = match state.documents.of_patient(&p.account_id, &p.id) {
        Ok(d) => d,
        Err(e) => return failed(headers, e),
    };
    let o = &state.ontology;
    let diagnosis = match &p.diagnosis {
        Diagnosis::Orpha { code } => o
            .disease(*code)
            .map_or_else(|| code.to_string(), |d| format!("{} ({code})", d.name)),
        Diagnosis::NotListed { text } => Message::new("validation.not_listed")
            .with("text", text)
            .render(lang),
        Diagnosis::NoneYet => say("validation.no_diagnosis"),
    };
    let documents: Vec<HashMap<&str, String>> = docs
        .iter()
        .map(|d| {
            HashMap::from([
                (
                    "href",
                    format!("/validation/{}/{}/documents/{}", p.account_id, p.id, d.id),
                ),
                ("kind", d.kind.key().to_owned()),
                ("name", d.name.clone()),
                ("type", d.file_type.mime().to_owned()),
                ("size", format_size(d.size)),
                ("date", date(d.uploaded_at)),
            ])
        })
        .collect();
    let reason = match &p.validation {
        Validation::Rejected { reason, .. } => reason.clone(),
        _ => String::new(),
    };
    render_form(
        state,
        headers,
        lang,
        status,
        "validation_review.html",
        context! {
            action => format!("/validation/{}/{}", p.account_id, p.id),
            member_name => member.as_ref().map(|m| m.info.name.clone()),
            member_country => member.as_ref().map(|m| m.info.country.clone()),
            registrant => member.as_ref().map(|m| match m.info.registrant {
                Registrant::AdultPatient => "adult_patient",
                Registrant::Caregiver => "caregiver",
            }),
            patient => HashMap::from([
                ("name", p.display_name.clone()),
                ("year", p.birth_year.to_string()),
                ("sex", super::page::choice_key(&p.sex)),
                ("relation", super::page::choice_key(&p.relation)),
                ("diagnosis", diagnosis),
                ("organization", p.organization.clone().unwrap_or_default()),
            ]),
            status => p.validation.key(),
            reason,
            documents,
            mme_servers => !state.config.mme.servers.is_empty(),
            error => error.map(say),
        },
    )
}

/// `GET /validation/{account}/{patient}`: one patient's details, documents and the
/// decision form.
pub async fn review(
    State(state): State<AppState>,
    Staff(_): Staff,
    Path((account_id, patient_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match load(&state, &headers, &account_id, &patient_id) {
        Ok(p) => review_page(&state, &headers, &p, StatusCode::OK, None),
        Err(e) => e.into_response(),
    }
}

/// `GET /validation/{account}/{patient}/documents/{id}`: the document, decrypted in
/// memory, never cached by the browser. Audited.
pub async fn open(
    State(state): State<AppState>,
    Staff(actor): Staff,
    headers: HeaderMap,
    Path((account_id, patient_id, id)): Path<(String, String, String)>,
) -> Response {
    let doc = match state.documents.get(&account_id, &patient_id, &id) {
        Ok(Some(d)) => d,
        Ok(None) => {
            return PageError::NotFound {
                lang: page_lang(&state, &headers),
            }
            .into_response();
        }
        Err(e) => return internal(e),
    };
    let bytes = match state.documents.vault().open_document(&doc.id) {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    if let Err(e) = state.audit.record(&Entry {
        at: now(),
        actor: actor.id.to_string(),
        action: Action::DocumentOpened,
        account_id: doc.account_id.clone(),
        patient_id: Some(doc.patient_id.clone()),
        document_id: Some(doc.id.clone()),
        reason: None,
    }) {
        return internal(e);
    }
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(doc.file_type.mime()));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Photos are shown in the browser, as images only; PDF and HEIC files are downloaded
    // and opened with the computer's own viewer.
    let disposition = match doc.file_type {
        FileType::Jpeg | FileType::Png | FileType::Webp => "inline",
        FileType::Pdf | FileType::Heic => "attachment",
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{}.{}\"",
        doc.kind.key(),
        doc.file_type.extension()
    )) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
    );
    res
}

/// What a validator decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject, with the reason for the member.
    Reject(String),
}

/// The decision form (and the API's body).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ValidationForm {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why, for a rejection (the member reads it).
    pub reason: String,
}

impl Decision {
    /// Reads the form: `decision` = `approve` | `reject`, `reason` (required to reject).
    pub fn parse(form: &ValidationForm) -> Result<Self, &'static str> {
        let reason = form.reason.trim();
        match Some(form.decision.as_str()) {
            Some("approve") => Ok(Self::Approve),
            Some("reject") if reason.is_empty() => Err("validation.reason_missing"),
            Some("reject") if reason.chars().count() > MAX_REASON => {
                Err("validation.reason_too_long")
            }
            Some("reject") => Ok(Self::Reject(reason.to_owned())),
            _ => Err("validation.choose"),
        }
    }
}

/// Applies a decision to a patient: saves the status, audits, mails the member.
pub async fn decide(
    state: &AppState,
    actor: &Account,
    mut p: Patient,
    decision: Decision,
) -> Result<Patient, raremesh_domain::store::StoreError> {
    let at = now();
    let (validation, action, reason) = match decision {
        Decision::Approve => (
            Validation::Approved {
                at,
                by: actor.id.to_string(),
            },
            Action::ValidationApproved,
            None,
        ),
        Decision::Reject(reason) => (
            Validation::Rejected {
                at,
                by: actor.id.to_string(),
                reason: reason.clone(),
            },
            Action::ValidationRejected,
            Some(reason),
        ),
    };
    p.validation = validation;
    // The decision and its audit entry land together.
    let mut batch = raremesh_domain::store::Batch::new();
    state.patients.save_in(&mut batch, &p);
    state.audit.record_in(
        &mut batch,
        &Entry {
            at,
            actor: actor.id.to_string(),
            action,
            account_id: p.account_id.clone(),
            patient_id: Some(p.id.clone()),
            document_id: None,
            reason,
        },
    )?;
    state.patients.apply(&batch)?;
    notify_decision(state, &p).await;
    Ok(p)
}

/// `POST /validation/{account}/{patient}`: approve or reject.
pub async fn decision(
    State(state): State<AppState>,
    Staff(actor): Staff,
    Path((account_id, patient_id)): Path<(String, String)>,
    headers: HeaderMap,
    sent: Sent<ValidationForm>,
) -> Response {
    let p = match load(&state, &headers, &account_id, &patient_id) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                review_page(
                    &state,
                    &headers,
                    &p,
                    StatusCode::FORBIDDEN,
                    Some("validation.expired"),
                )
            });
        }
    };
    if p.validation == Validation::NotSubmitted {
        return review_page(
            &state,
            &headers,
            &p,
            StatusCode::CONFLICT,
            Some("validation.not_submitted"),
        );
    }
    let decision = match Decision::parse(&form) {
        Ok(d) => d,
        Err(msg) => {
            return review_page(
                &state,
                &headers,
                &p,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(msg),
            );
        }
    };
    match decide(&state, &actor, p, decision).await {
        Ok(_) => see_other("/validation"),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /validation/audit`: the latest 200 entries of the audit log.
pub async fn audit(State(state): State<AppState>, Staff(_): Staff, headers: HeaderMap) -> Response {
    let entries = match state.audit.recent(200) {
        Ok(e) => e,
        Err(e) => return failed(&headers, e),
    };
    let rows: Vec<HashMap<&str, String>> = entries
        .iter()
        .map(|e| {
            HashMap::from([
                ("at", date(e.at)),
                ("actor", e.actor.clone()),
                ("action", e.action.name().to_owned()),
                ("account", e.account_id.to_string()),
                (
                    "patient",
                    e.patient_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                ("document", e.document_id.clone().unwrap_or_default()),
                ("reason", e.reason.clone().unwrap_or_default()),
            ])
        })
        .collect();
    render(
        &state,
        page_lang(&state, &headers),
        StatusCode::OK,
        "audit.html",
        context! { entries => rows, signed_in => true },
    )
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/validation", axum::routing::get(queue))
        .route("/validation/audit", axum::routing::get(audit))
        .route(
            "/validation/{account}/{patient}",
            axum::routing::get(review).post(decision),
        )
        .route(
            "/validation/{account}/{patient}/documents/{id}",
            axum::routing::get(open),
        )
}
