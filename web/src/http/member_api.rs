//! The JSON API of member features, under `/api/v1`: the same rules as the pages.
//!
//! Authentication: `POST /api/v1/session` with an email and password gives a token to send
//! as `Authorization: Bearer <token>`. A browser may use its session cookie instead; then
//! every request that changes something must carry the CSRF cookie's value in an
//! `X-CSRF-Token` header.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use raremesh_ontology::HpoId;
use serde::Deserialize;

use super::cookies;
use super::documents::{Receiver, Refusal};
use super::error::ApiError;
use super::extract::Caller;
use super::replies::{DocumentReceipt, MatchesReply, PatientsReply, Token};
use super::views::{DocumentView, DocumentsView, MeView, PatientView, ValidationView};
use raremesh_domain::accounts::{Account, normalize_email};
use raremesh_domain::documents::DocumentKind;
use raremesh_domain::ids::PatientId;
use raremesh_domain::registration::Member;
use raremesh_domain::registration::patient::{
    MAX_PER_MEMBER, MAX_SYMPTOMS, Onset, Patient, PatientInput, Symptom,
};
use raremesh_domain::similar::SHOWN;
use raremesh_domain::state::AppState;

pub(crate) fn refused(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> ApiError {
    ApiError::Refused {
        status,
        code,
        message: message.into(),
    }
}

pub(crate) fn store(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// The account a request is made by: a bearer token, or the session cookie (with the
/// CSRF header when the request changes something).
pub fn caller(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<Account, ApiError> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let token = match bearer {
        Some(t) => t,
        None => {
            let t = cookies::get(headers, cookies::SESSION).ok_or_else(|| {
                refused(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
            })?;
            let safe = matches!(*method, Method::GET | Method::HEAD);
            let header = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if !safe && !cookies::csrf_ok(state, headers, header.as_ref()) {
                return Err(refused(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "send the CSRF cookie's value in an X-CSRF-Token header",
                ));
            }
            t
        }
    };
    let session = state
        .sessions
        .get(&token)
        .map_err(store)?
        .ok_or_else(|| refused(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first"))?;
    state
        .accounts
        .get(&session.account_id)
        .map_err(store)?
        .ok_or_else(|| refused(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first"))
}

pub(crate) fn member_of(state: &AppState, account: &Account) -> Result<Member, ApiError> {
    state
        .registrations
        .member(&account.id)
        .map_err(store)?
        .ok_or_else(|| {
            refused(
                StatusCode::FORBIDDEN,
                "not_a_member",
                "this account has no member record",
            )
        })
}

fn own_patient(state: &AppState, account: &Account, id: &str) -> Result<Patient, ApiError> {
    state
        .patients
        .get(&account.id, &PatientId::new(id))
        .map_err(store)?
        .ok_or_else(|| ApiError::NotFound {
            code: "unknown_patient",
            message: "no such patient among yours".into(),
        })
}

/// Body of `POST /api/v1/session`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"email": "parent@example.org", "password": "a good long password"}))]
pub struct Credentials {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(ApiError::from)
}

/// `POST /api/v1/session`: signs in; answers `{"token": ...}`. Throttled like the page.
#[utoipa::path(post, path = "/session", tag = "account", request_body = Credentials,
    responses(
        (status = 201, description = "A session token, for `Authorization: Bearer`", body = Token),
        (status = 401, description = "`wrong_credentials`", body = super::openapi::ErrorBody),
        (status = 429, description = "`throttled`: too many attempts", body = super::openapi::ErrorBody),
        super::openapi::Body,
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    crate::connections::ClientIp(ip): crate::connections::ClientIp,
    body: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let c = json_body(body)?;
    let key = normalize_email(&c.email).unwrap_or_else(|_| c.email.to_lowercase());
    if let Some(wait) = state.throttle.sign_in_wait(&key, ip) {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!("too many attempts: wait {} s", wait.as_secs()),
        ));
    }
    let Some(account) = state
        .accounts
        .sign_in(&c.email, &c.password)
        .map_err(store)?
    else {
        state.throttle.sign_in_failed(&key, ip);
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "the email address or the password is not right",
        ));
    };
    state.throttle.sign_in_succeeded(&key, ip);
    let token = state.sessions.start(&account.id).map_err(store)?;
    Ok((StatusCode::CREATED, Json(Token { token })).into_response())
}

/// `DELETE /api/v1/session`: signs this token (or cookie session) out.
#[utoipa::path(delete, path = "/session", tag = "account", security(("session" = []), ("cookie" = [])),
    responses((status = 204, description = "Signed out"), super::openapi::Signed))]
pub async fn sign_out(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    caller(&state, &headers, &method)?;
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .or_else(|| cookies::get(&headers, cookies::SESSION))
        .unwrap_or_default();
    state.sessions.end(&token).map_err(store)?;
    Ok(StatusCode::NO_CONTENT)
}

fn patient_json(state: &AppState, p: &Patient) -> serde_json::Value {
    serde_json::to_value(PatientView::of(&state.ontology, p)).unwrap_or_default()
}

/// `GET /api/v1/me`: the account, and the member record if any.
#[utoipa::path(get, path = "/me", tag = "account", security(("session" = []), ("cookie" = [])),
    responses((status = 200, description = "The account", body = MeView), super::openapi::Signed))]
pub async fn me(State(state): State<AppState>, Caller(a): Caller) -> Result<Response, ApiError> {
    let m = state.registrations.member(&a.id).map_err(store)?;
    Ok(Json(MeView::of(&a, m.as_ref())).into_response())
}

/// `GET /api/v1/patients`: the caller's patients.
#[utoipa::path(get, path = "/patients", tag = "patients", security(("session" = []), ("cookie" = [])),
    responses((status = 200, description = "The member's patients", body = PatientsReply), super::openapi::Signed))]
pub async fn patients(
    State(state): State<AppState>,
    Caller(a): Caller,
) -> Result<Response, ApiError> {
    member_of(&state, &a)?;
    let list = state.patients.of(&a.id).map_err(store)?;
    Ok(Json(PatientsReply {
        patients: list
            .iter()
            .map(|p| PatientView::of(&state.ontology, p))
            .collect(),
    })
    .into_response())
}

/// `POST /api/v1/patients`: adds a patient. The body has the form's fields as strings:
/// `display_name`, `birth_year`, `sex`, `relation`, `diagnosis` (`orpha` with `disease`
/// = "ORPHA:n", `not_listed` with `diagnosis_text`, or `none_yet`), `organization`.
#[utoipa::path(post, path = "/patients", tag = "patients", security(("session" = []), ("cookie" = [])),
    request_body = super::openapi::PatientFields,
    responses(
        (status = 201, description = "The patient", body = PatientView),
        (status = 422, description = "`invalid_fields` (the message names them) or `too_many_patients`", body = super::openapi::ErrorBody),
        super::openapi::Signed, super::openapi::Body,
    ))]
pub async fn add_patient(
    State(state): State<AppState>,
    Caller(a): Caller,
    body: Result<Json<HashMap<String, serde_json::Value>>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let mut m = member_of(&state, &a)?;
    let raw = json_body(body)?;
    if state.patients.of(&a.id).map_err(store)?.len() >= MAX_PER_MEMBER {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_patients",
            format!("a member may register {MAX_PER_MEMBER} patients"),
        ));
    }
    let input = patient_input(&state, raw)?;
    let p = state.patients.add(&a.id, input).map_err(store)?;
    if m.step < 3 {
        m.step = 3;
        state.registrations.save_member(&m).map_err(store)?;
    }
    Ok((StatusCode::CREATED, Json(patient_json(&state, &p))).into_response())
}

fn patient_input(
    state: &AppState,
    raw: HashMap<String, serde_json::Value>,
) -> Result<PatientInput, ApiError> {
    let fields: HashMap<String, String> = raw
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    PatientInput::parse(&state.ontology, &fields).map_err(|errors| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
            errors
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

/// `GET /api/v1/patients/{id}`: one of the caller's patients.
#[utoipa::path(get, path = "/patients/{id}", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    responses((status = 200, description = "The patient", body = PatientView), super::openapi::OwnPatient))]
pub async fn patient(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = own_patient(&state, &a, &id)?;
    Ok(Json(patient_json(&state, &p)))
}

/// One symptom in `PUT /api/v1/patients/{id}/symptoms`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"term": "HP:0001250", "observed": true, "onset": "infantile"}))]
pub struct SymptomBody {
    /// HPO id (alternative and obsolete ids are resolved).
    pub term: String,
    /// False: explicitly not observed. Default true.
    #[serde(default = "yes")]
    pub observed: bool,
    /// `congenital`, `neonatal`, `infantile`, `childhood`, `juvenile` or `adult`.
    #[serde(default)]
    pub onset: Option<String>,
}

fn yes() -> bool {
    true
}

/// `PUT /api/v1/patients/{id}/symptoms`: replaces the patient's symptom list. Unknown
/// ids, unknown onsets and duplicates are refused; nothing changes then.
#[utoipa::path(put, path = "/patients/{id}/symptoms", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    request_body(content = Vec<SymptomBody>, description = "The whole list, in the member's order"),
    responses(
        (status = 200, description = "The patient with the new list", body = PatientView),
        (status = 422, description = "`unknown_term`, `unknown_onset`, `duplicate_term` or `too_many_symptoms`", body = super::openapi::ErrorBody),
        super::openapi::OwnPatient, super::openapi::Body,
    ))]
pub async fn put_symptoms(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    body: Result<Json<Vec<SymptomBody>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut m = member_of(&state, &a)?;
    let mut p = own_patient(&state, &a, &id)?;
    let list = json_body(body)?;
    if list.len() > MAX_SYMPTOMS {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_symptoms",
            format!("at most {MAX_SYMPTOMS} symptoms"),
        ));
    }
    let mut symptoms: Vec<Symptom> = Vec::with_capacity(list.len());
    for s in list {
        let term = s
            .term
            .trim()
            .parse::<HpoId>()
            .ok()
            .and_then(|h| state.ontology.resolve(h))
            .map(|t| state.ontology.term(t).id)
            .ok_or_else(|| {
                refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_term",
                    format!("{:?} is not a term of this HPO release", s.term),
                )
            })?;
        let onset =
            match s.onset.as_deref() {
                None | Some("") => None,
                Some(o) => Some(Onset::ALL.into_iter().find(|x| x.key() == o).ok_or_else(
                    || {
                        refused(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "unknown_onset",
                            format!("{o:?} is not an onset class"),
                        )
                    },
                )?),
            };
        if symptoms.iter().any(|x| x.term == term) {
            return Err(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "duplicate_term",
                format!("{term} is listed twice"),
            ));
        }
        symptoms.push(Symptom {
            term,
            observed: s.observed,
            onset,
        });
    }
    p.symptoms = symptoms;
    state.patients.save(&p).map_err(store)?;
    state
        .registrations
        .symptoms_given(&mut m, &p)
        .map_err(store)?;
    Ok(Json(patient_json(&state, &p)))
}

/// `GET /api/v1/patients/{id}/documents`: the documents' records (never their content).
#[utoipa::path(get, path = "/patients/{id}/documents", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    responses((status = 200, description = "Where validation stands, and the documents sent", body = DocumentsView), super::openapi::OwnPatient))]
pub async fn documents(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = own_patient(&state, &a, &id)?;
    let docs = state.documents.of_patient(&a.id, &p.id).map_err(store)?;
    Ok(Json(DocumentsView {
        validation: ValidationView::of(&p.validation),
        documents: docs.iter().map(DocumentView::of).collect(),
    })
    .into_response())
}

/// `POST /api/v1/patients/{id}/documents?kind=consent&name=scan.pdf`: the request body is
/// the file itself (any Content-Type: the type is recognized from the content).
#[utoipa::path(post, path = "/patients/{id}/documents", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(
        ("id" = String, Path, description = "The patient's id"),
        ("kind" = String, Query, description = "`consent`, `identity`, `medical` or `other`"),
        ("name" = Option<String>, Query, description = "The file's name, as the member knows it"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file (PDF, JPEG, PNG... as documents.types allows; recognized from its content)"),
    responses(
        (status = 201, description = "Stored, encrypted", body = DocumentReceipt),
        (status = 413, description = "`too_large` (documents.max_bytes)", body = super::openapi::ErrorBody),
        (status = 415, description = "`unsupported_type`", body = super::openapi::ErrorBody),
        (status = 422, description = "`no_kind`, `empty`, `too_many_documents`...", body = super::openapi::ErrorBody),
        super::openapi::OwnPatient,
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    let p = own_patient(&state, &a, &id)?;
    let kind = q
        .get("kind")
        .and_then(|k| DocumentKind::from_key(k))
        .ok_or_else(|| Refusal::Incomplete("no_kind").into_api(&state))?;
    let name = q.get("name").cloned().unwrap_or_default();
    let mut rx = Receiver::start(&state, &p).map_err(|r| r.into_api(&state))?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Refusal::Malformed(e.to_string()).into_api(&state))?;
        if let Ok(chunk) = frame.into_data() {
            rx.push(&chunk).map_err(|r| r.into_api(&state))?;
        }
    }
    let d = rx
        .finish(&a.id, &p, kind, &name)
        .map_err(|r| r.into_api(&state))?;
    Ok((
        StatusCode::CREATED,
        Json(DocumentReceipt {
            id: &d.id,
            kind: &d.kind,
            media_type: d.file_type.mime(),
            size: d.size,
        }),
    )
        .into_response())
}

/// `GET /api/v1/patients/{id}/similar`: people like me for a validated patient.
#[utoipa::path(get, path = "/patients/{id}/similar", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "The most similar patients of other members, best first", body = MatchesReply),
        (status = 409, description = "`not_validated`", body = super::openapi::ErrorBody),
        super::openapi::OwnPatient,
    ))]
pub async fn similar(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = own_patient(&state, &a, &id)?;
    if !p.validation.is_approved() {
        return Err(refused(
            StatusCode::CONFLICT,
            "not_validated",
            "similar patients are shown once the patient is validated",
        ));
    }
    // Ranking is CPU work: off the async workers.
    let state2 = state.clone();
    let matches = tokio::task::spawn_blocking(move || state2.similar.find(&p, SHOWN))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(store)?;
    Ok(Json(MatchesReply { matches }).into_response())
}

/// `PUT /api/v1/patients/{id}`: changes a patient's details (the fields of
/// `POST /api/v1/patients`).
#[utoipa::path(put, path = "/patients/{id}", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    request_body = super::openapi::PatientFields,
    responses(
        (status = 200, description = "The patient", body = PatientView),
        (status = 422, description = "`invalid_fields`", body = super::openapi::ErrorBody),
        super::openapi::OwnPatient, super::openapi::Body,
    ))]
pub async fn update_patient(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    body: Result<Json<HashMap<String, serde_json::Value>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut p = own_patient(&state, &a, &id)?;
    let input = patient_input(&state, json_body(body)?)?;
    super::patients::update(&state, &a.id, &mut p, input).map_err(store)?;
    Ok(Json(patient_json(&state, &p)))
}

/// `DELETE /api/v1/patients/{id}`: erases the patient and their documents.
#[utoipa::path(delete, path = "/patients/{id}", tag = "patients", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The patient's id")),
    responses((status = 204, description = "Erased, with the documents and answers"), super::openapi::OwnPatient))]
pub async fn delete_patient(
    State(state): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p = own_patient(&state, &a, &id)?;
    raremesh_domain::erasure::erase_patient(&state, &a.id, &p).map_err(store)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(
            me,
            super::account_api::set_details,
            super::account_api::delete
        ))
        .routes(routes!(patients, add_patient))
        .routes(routes!(patient, update_patient, delete_patient))
        .routes(routes!(put_symptoms))
        .routes(routes!(documents, upload))
        .routes(routes!(similar))
}
