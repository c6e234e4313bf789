//! The JSON API of registration and the account, under `/api/v1` (see `member_api.rs`
//! for authentication): registration steps 1, 2 and 5, the member's details, their data
//! and deleting the account.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{ApiMember, Caller};
use super::register::{Finished, finish, send_link};
use super::replies::{ConsentsReply, Said, TermsReply, TermsText, Token};
use super::terms_page::{Choices, apply};
use raremesh_domain::accounts::password;
use raremesh_domain::registration::{LinkState, PersonalInfo};
use raremesh_domain::state::AppState;

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(b: JsonBody<T>) -> Result<T, ApiError> {
    b.map(|Json(b)| b).map_err(ApiError::from)
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Refused {
        status,
        code,
        message: message.into(),
    }
}

fn store(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Step 1's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ana García", "email": "ana@example.org", "country": "Spain", "language": "es", "registrant": "caregiver"}))]
pub struct Details {
    /// Full name.
    pub name: String,
    /// Email address (ignored when changing details: the sign-in name stays).
    #[serde(default)]
    pub email: String,
    /// Country.
    pub country: String,
    /// `en`, `es` or `fr`.
    pub language: String,
    /// `adult_patient` or `caregiver`.
    pub registrant: String,
}

fn parse(d: &Details, email: &str) -> Result<PersonalInfo, ApiError> {
    PersonalInfo::parse(&d.name, email, &d.country, &d.language, &d.registrant).map_err(|errors| {
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

/// `POST /api/v1/register`: step 1. Answers 202 whatever the address (a link, or "you
/// have an account", is mailed to it).
#[utoipa::path(post, path = "/register", tag = "account", request_body = Details,
    responses(
        (status = 202, description = "A link (or a note that the address has an account) is mailed", body = Said),
        (status = 422, description = "`invalid_fields` (the message names them)", body = super::openapi::ErrorBody),
        (status = 429, description = "`throttled`: too many mails to this address", body = super::openapi::ErrorBody),
        super::openapi::Body,
    ))]
pub async fn register(
    State(state): State<AppState>,
    b: JsonBody<Details>,
) -> Result<Response, ApiError> {
    let d = body(b)?;
    let info = parse(&d, &d.email)?;
    state.registrations.set_pending(&info).map_err(store)?;
    match send_link(&state, &info).await {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(Said {
                message: "a mail is on its way to the address given",
            }),
        )
            .into_response()),
        Err(r) => Ok(r),
    }
}

/// Body of `POST /api/v1/register/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "the token of the mailed link", "password": "a good long password"}))]
pub struct Confirm {
    /// The token from the mailed link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// `POST /api/v1/register/confirm`: step 2. Creates the account; answers a session token.
#[utoipa::path(post, path = "/register/confirm", tag = "account", request_body = Confirm,
    responses(
        (status = 201, description = "The account exists; a session token", body = Token),
        (status = 409, description = "`email_taken`", body = super::openapi::ErrorBody),
        (status = 410, description = "`link_invalid`: used or expired", body = super::openapi::ErrorBody),
        (status = 422, description = "`password_rules`", body = super::openapi::ErrorBody),
        super::openapi::Body,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    b: JsonBody<Confirm>,
) -> Result<Response, ApiError> {
    let c = body(b)?;
    let gone = || {
        refused(
            StatusCode::GONE,
            "link_invalid",
            "the link was used or expired",
        )
    };
    let info = match state.registrations.check(&c.token).map_err(store)? {
        LinkState::Valid(info) => info,
        LinkState::Invalid => return Err(gone()),
    };
    if let Err(e) = password::check(&c.password, &info.email) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password_rules",
            e.to_string(),
        ));
    }
    match finish(&state, &c.token, &info, &c.password).map_err(store)? {
        Finished::Created(account) => {
            let token = state.sessions.start(&account.id).map_err(store)?;
            Ok((StatusCode::CREATED, Json(Token { token })).into_response())
        }
        Finished::Expired => Err(gone()),
        Finished::EmailTaken => Err(refused(
            StatusCode::CONFLICT,
            "email_taken",
            "this address has an account: sign in",
        )),
    }
}

/// `GET /api/v1/consents`: the terms (version, text) and the member's choices.
#[utoipa::path(get, path = "/consents", tag = "account", security(("session" = []), ("cookie" = [])),
    responses((status = 200, description = "The terms and the choices", body = TermsReply), super::openapi::Signed))]
pub async fn consents(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
) -> Result<Response, ApiError> {
    Ok(Json(TermsReply {
        terms: TermsText {
            version: &state.config.terms.version,
            paragraphs: state.terms.paragraphs(&m.info.language).0,
        },
        consents: &m.consents,
    })
    .into_response())
}

/// `PUT /api/v1/consents`: step 5: `{"accept": true, "local_matching": true, ...}`;
/// a consent left out or false is withdrawn.
#[utoipa::path(put, path = "/consents", tag = "account", security(("session" = []), ("cookie" = [])), request_body = Choices,
    responses(
        (status = 200, description = "The choices as saved", body = ConsentsReply),
        (status = 422, description = "`terms_not_accepted`", body = super::openapi::ErrorBody),
        super::openapi::Signed, super::openapi::Body,
    ))]
pub async fn set_consents(
    State(state): State<AppState>,
    ApiMember(_, mut m): ApiMember,
    b: JsonBody<Choices>,
) -> Result<Response, ApiError> {
    let c = body(b)?;
    if !apply(&state, &mut m, &c).map_err(store)? {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "terms_not_accepted",
            format!(
                "accept version {} of the terms (\"accept\": true)",
                state.config.terms.version
            ),
        ));
    }
    Ok(Json(ConsentsReply {
        consents: &m.consents,
    })
    .into_response())
}

/// `PUT /api/v1/me`: the member's step 1 details (the email address stays).
#[utoipa::path(put, path = "/me", tag = "account", security(("session" = []), ("cookie" = [])), request_body = Details,
    responses(
        (status = 204, description = "Saved"),
        (status = 422, description = "`invalid_fields`", body = super::openapi::ErrorBody),
        super::openapi::Signed, super::openapi::Body,
    ))]
pub async fn set_details(
    State(state): State<AppState>,
    ApiMember(_, mut m): ApiMember,
    b: JsonBody<Details>,
) -> Result<StatusCode, ApiError> {
    let d = body(b)?;
    m.info = parse(&d, &m.info.email)?;
    state.registrations.save_member(&m).map_err(store)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/export`: everything the node holds about the caller.
#[utoipa::path(get, path = "/export", tag = "account", security(("session" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Everything the node holds about the caller: the account, the member record with the consents, each patient as stored (symptoms, documents' records, questionnaire answers), questions and answers written, messages; as described in docs/members.md (your data)", body = Object),
        super::openapi::Signed,
    ))]
pub async fn export(
    State(state): State<AppState>,
    Caller(a): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let m = state.registrations.member(&a.id).map_err(store)?;
    let patients = state.patients.of(&a.id).map_err(store)?;
    Ok(Json(raremesh_domain::export::everything(
        &state,
        &a,
        m.as_ref(),
        &patients,
        raremesh_domain::clock::now(),
    )))
}

/// `DELETE /api/v1/me` with `{"password": ...}`: erases the account and everything
/// attached (as the page does).
#[utoipa::path(delete, path = "/me", tag = "account", operation_id = "delete_account", security(("session" = []), ("cookie" = [])),
    request_body(content = super::openapi::PasswordBody, description = "The account's password, to confirm"),
    responses(
        (status = 204, description = "Erased, with everything attached"),
        (status = 403, description = "`wrong_password`: nothing was deleted", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorBody),
        super::openapi::Body,
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(a): Caller,
    b: JsonBody<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let pw = body(b)?.remove("password").unwrap_or_default();
    if state
        .accounts
        .sign_in(&a.email, &pw)
        .map_err(store)?
        .is_none()
    {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the password is not right: nothing was deleted",
        ));
    }
    raremesh_domain::erasure::erase_account(&state, &a).map_err(store)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(confirm))
        .routes(routes!(consents, set_consents))
        .routes(routes!(export))
}
