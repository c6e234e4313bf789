//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the JSON API, generated from
//! the handlers' `#[utoipa::path]` attributes and the request and response types: each
//! API route is registered together with its description ([`utoipa_axum::routes!`]), so
//! a route cannot be served without being described.

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::OpenApi as Description;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use raremesh_domain::state::AppState;

/// The description's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "raremesh node JSON API",
        description = "The JSON API of one raremesh node: the ontology, a member's registration, patients, symptoms and documents, people like them, validation, community questions and research counts. Errors are `{\"error\": {\"code\", \"message\"}}` with a stable snake_case code. See docs/members.md.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1", description = "this node")),
    modifiers(&Auth),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "node", description = "Health and versions"),
        (name = "ontology", description = "HPO terms and Orphanet diseases"),
        (name = "account", description = "Registration, sign-in, consents, export"),
        (name = "patients", description = "A member's patients, symptoms, documents and matches"),
        (name = "validation", description = "Validators' review of patients"),
        (name = "questions", description = "Community questions and answers"),
        (name = "research", description = "Researchers' counts and questionnaire distributions"),
    )
)]
struct ApiDoc;

/// How a caller proves who they are.
struct Auth;

impl Modify for Auth {
    fn modify(&self, doc: &mut Description) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token `POST /session` answers, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "raremesh_session",
                "The web pages' session cookie; a request that changes something also sends the CSRF cookie's value in `X-CSRF-Token`.",
            ))),
        );
    }
}

/// Every error: `{"error": {"code": ..., "message": ...}}`.
#[derive(ToSchema)]
#[schema(example = json!({"error": {"code": "unknown_term", "message": "no term HP:9999999 in this HPO release"}}))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `invalid_limit`, `unauthenticated`, `not_a_member`.
    pub code: String,
    /// What to fix, in English.
    pub message: String,
}

/// The JSON API router (its paths relative to `/api/v1`); its description is kept for
/// `/openapi.json`.
pub fn router() -> axum::Router<AppState> {
    let (router, doc) = api();
    let _ = DOC.set(doc);
    router
}

/// The description, made with the router (or on first use).
static DOC: OnceLock<Description> = OnceLock::new();

/// The JSON API router (its paths relative to `/api/v1`) with its description.
fn api() -> (axum::Router<AppState>, Description) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(description))
        .merge(super::meta::api())
        .merge(super::terms::api())
        .merge(super::diseases::api())
        .merge(super::member_api::api())
        .merge(super::validation_api::api())
        .merge(super::account_api::api())
        .merge(super::questions_api::api())
        .merge(super::research_api::api())
        .split_for_parts()
}

/// The description.
pub fn description_of_api() -> &'static Description {
    DOC.get_or_init(|| api().1)
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "node",
    responses((status = 200, description = "This description (OpenAPI 3.1)", content_type = "application/json"))
)]
async fn description() -> Json<&'static Description> {
    Json(description_of_api())
}

/// The refusals of a request made as a signed-in account.
#[derive(utoipa::IntoResponses)]
pub enum Signed {
    /// No session, or an ended one.
    #[response(status = 401, description = "`unauthenticated`: sign in first")]
    Unauthenticated(ErrorBody),
    /// A cookie session without the CSRF header on a change, or a role that may not.
    #[response(
        status = 403,
        description = "`csrf` (a cookie session without `X-CSRF-Token`), `forbidden` or `not_a_member`"
    )]
    Forbidden(ErrorBody),
}

/// The refusals of a request about one of the caller's patients.
#[derive(utoipa::IntoResponses)]
pub enum OwnPatient {
    /// As [`Signed`].
    #[response(status = 401, description = "`unauthenticated`: sign in first")]
    Unauthenticated(ErrorBody),
    /// As [`Signed`].
    #[response(status = 403, description = "`csrf` or `not_a_member`")]
    Forbidden(ErrorBody),
    /// Not a patient of the caller's (another member's patient is not found either).
    #[response(status = 404, description = "`unknown_patient`")]
    NotFound(ErrorBody),
}

/// The refusals of a JSON body that cannot be read.
#[derive(utoipa::IntoResponses)]
pub enum Body {
    /// Not JSON, or not of the documented shape (an unknown field included).
    #[response(status = 400, description = "`invalid_body`, with what is wrong")]
    Invalid(ErrorBody),
    /// Larger than the node accepts.
    #[response(status = 413, description = "`too_large`")]
    TooLarge(ErrorBody),
    /// Not `Content-Type: application/json`.
    #[response(status = 415, description = "`unsupported_media_type`")]
    NotJson(ErrorBody),
}

/// The fields of a patient (`POST /patients`, `PUT /patients/{id}`), as strings, as the
/// page's form has them.
#[derive(ToSchema)]
#[schema(example = json!({"display_name": "Léa", "birth_year": "2016", "sex": "female", "relation": "parent", "diagnosis": "orpha", "disease": "ORPHA:558"}))]
pub struct PatientFields {
    /// A name or pseudonym, as the member likes (kept on this node only).
    pub display_name: String,
    /// Year of birth (four digits).
    pub birth_year: String,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: String,
    /// `myself`, `parent`, `guardian`, `other_family` or `other`.
    pub relation: String,
    /// `orpha` (with `disease`), `not_listed` (with `diagnosis_text`) or `none_yet`.
    pub diagnosis: String,
    /// With `orpha`: `ORPHA:558`.
    pub disease: Option<String>,
    /// With `not_listed`: the diagnosis in the member's words.
    pub diagnosis_text: Option<String>,
    /// The patient organization, if any.
    pub organization: Option<String>,
}

/// `{"password": ...}`: the account's password, to confirm an erasure.
#[derive(ToSchema)]
#[schema(example = json!({"password": "a good long password"}))]
pub struct PasswordBody {
    /// The password.
    pub password: String,
}

/// The refusals of a community-questions request.
#[derive(utoipa::IntoResponses)]
pub enum Qa {
    /// No session.
    #[response(status = 401, description = "`unauthenticated`")]
    Unauthenticated(ErrorBody),
    /// Not a member who may read or do this (`qa.readers`, not the author...), or `csrf`.
    #[response(status = 403, description = "`forbidden`, `not_a_member` or `csrf`")]
    Forbidden(ErrorBody),
    /// No such question or answer (or hidden).
    #[response(status = 404, description = "`unknown_question`")]
    NotFound(ErrorBody),
    /// Too long, empty, an unknown tag or disease...
    #[response(status = 422, description = "`invalid`, with what is wrong")]
    Invalid(ErrorBody),
    /// Too many questions or answers lately.
    #[response(status = 429, description = "`rate_limited`")]
    Limited(ErrorBody),
}

/// The refusals of a researcher's count.
#[derive(utoipa::IntoResponses)]
pub enum Research {
    /// No session.
    #[response(status = 401, description = "`unauthenticated`")]
    Unauthenticated(ErrorBody),
    /// Not a researcher's account, or `csrf`.
    #[response(status = 403, description = "`forbidden` or `csrf`")]
    Forbidden(ErrorBody),
    /// Criteria that cannot be counted (an unknown term, disease, group, band or answer;
    /// none at all).
    #[response(status = 422, description = "`invalid_criteria`, with what is wrong")]
    Invalid(ErrorBody),
    /// The researcher's privacy budget for the period is spent.
    #[response(status = 429, description = "`budget_spent`, with the day it refills")]
    Budget(ErrorBody),
}
