//! The JSON API of community questions, under `/api/v1/questions` and `/api/v1/moderation`:
//! the same rules as the pages (see `member_api` for authentication).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::error::HttpStatus;
use super::extract::{ApiMember, Caller};
use super::member_api::json_body;
use super::replies::{FeedReply, ResultsReply};
use super::views::{AnswerView, QuestionView};
use raremesh_domain::accounts::Role;
use raremesh_domain::qa::actions::{self, Draft, QaError};
use raremesh_domain::qa::moderation;
use raremesh_domain::qa::notices;
use raremesh_domain::state::AppState;

type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

impl From<QaError> for ApiError {
    fn from(e: QaError) -> Self {
        let code = match &e {
            QaError::Invalid(_) => "invalid",
            QaError::Forbidden(_) => "forbidden",
            QaError::NotFound(_) => "not_found",
            QaError::Limited(_) => "rate_limited",
            QaError::Store(s) => return ApiError::Internal(s.to_string()),
        };
        if let QaError::NotFound(m) = &e {
            return ApiError::NotFound {
                code: "unknown_question",
                message: m.to_string(),
            };
        }
        ApiError::Refused {
            status: e.status(),
            code,
            message: e.to_string(),
        }
    }
}

/// `GET /api/v1/questions`: the member's feed (best fit first) and notices.
#[utoipa::path(get, path = "/questions", tag = "questions", security(("session" = []), ("cookie" = [])),
    responses((status = 200, description = "The feed, best fit first, and the member's notices", body = FeedReply), super::openapi::Qa))]
pub async fn feed(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
) -> Result<Response, ApiError> {
    let ranked = actions::feed(&state.qa, &m)?;
    let notes = notices::shown(&state.qa, &m.account_id).map_err(QaError::from)?;
    let questions: Vec<QuestionView<'_>> = ranked
        .iter()
        .map(|(fit, q)| QuestionView {
            fit: Some(*fit),
            ..QuestionView::of(&state.ontology, q)
        })
        .collect();
    Ok(Json(FeedReply {
        questions,
        notices: notes,
    })
    .into_response())
}

/// `POST /api/v1/questions`: asks (`title`, `body`, `tags`, `disease`, `patient`).
#[utoipa::path(post, path = "/questions", tag = "questions", security(("session" = []), ("cookie" = [])), request_body = Draft,
    responses((status = 201, description = "The question", body = QuestionView), super::openapi::Qa, super::openapi::Body))]
pub async fn ask(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    body: Body<Draft>,
) -> Result<Response, ApiError> {
    let d = json_body(body)?;
    let q = actions::ask(&state.qa, &m, &d)?;
    Ok((
        StatusCode::CREATED,
        Json(QuestionView::of(&state.ontology, &q)),
    )
        .into_response())
}

/// Query of `GET /api/v1/questions/search`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words or a symptom.
    pub q: String,
    /// At most this many (1 to 100; 20 by default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /api/v1/questions/search?q=`: matching questions with highlighted snippets.
#[utoipa::path(get, path = "/questions/search", tag = "questions", operation_id = "search_questions", security(("session" = []), ("cookie" = [])), params(SearchParams),
    responses((status = 200, description = "Matching questions, best first", body = ResultsReply), super::openapi::Qa))]
pub async fn search(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    actions::may_read(&state.qa, &m)?;
    let found = raremesh_domain::qa::search::search(&state.qa, &p.q, p.limit.unwrap_or(20))
        .map_err(QaError::from)?;
    Ok(Json(ResultsReply { results: found }).into_response())
}

/// `GET /api/v1/questions/{id}`: a question and its answers.
#[utoipa::path(get, path = "/questions/{id}", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")),
    responses((status = 200, description = "The question with its answers", body = QuestionView), super::openapi::Qa))]
pub async fn show(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    actions::may_read(&state.qa, &m)?;
    let q = actions::visible_question(&state.qa, &id)?;
    let answers = state.qa.store.answers_of(&id).map_err(QaError::from)?;
    let view = QuestionView {
        answers: Some(
            answers
                .iter()
                .filter(|a| a.hidden.as_ref().is_none_or(|h| !h.deleted))
                .map(|a| AnswerView::of(a, &m.account_id))
                .collect(),
        ),
        following: Some(q.followers.contains(&m.account_id)),
        mine: Some(q.account_id == m.account_id),
        ..QuestionView::of(&state.ontology, &q)
    };
    Ok(Json(view).into_response())
}

/// A changed question or answer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"title": "Sleep after a seizure", "body": "How long does your child sleep after a seizure?"}))]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// A question's new title (ignored for answers).
    #[serde(default)]
    pub title: String,
    /// The new text.
    pub body: String,
}

/// `PUT /api/v1/questions/{id}`: the asker changes the title and text.
#[utoipa::path(put, path = "/questions/{id}", tag = "questions", operation_id = "edit_question", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")), request_body = Edit,
    responses((status = 200, description = "The question", body = QuestionView), super::openapi::Qa, super::openapi::Body))]
pub async fn edit(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
    body: Body<Edit>,
) -> Result<Response, ApiError> {
    let e = json_body(body)?;
    let q = actions::edit_question(&state.qa, &m, &id, &e.title, &e.body)?;
    Ok(Json(QuestionView::of(&state.ontology, &q)).into_response())
}

/// `DELETE /api/v1/questions/{id}`: the asker deletes the question.
#[utoipa::path(delete, path = "/questions/{id}", tag = "questions", operation_id = "delete_question", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")),
    responses((status = 204, description = "Deleted"), super::openapi::Qa))]
pub async fn delete(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    actions::delete_question(&state.qa, &m, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Body of `POST /api/v1/questions/{id}/answers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"body": "About an hour, then she is tired all day."}))]
#[serde(deny_unknown_fields)]
pub struct NewAnswer {
    /// The answer (up to 5000 characters).
    pub body: String,
}

/// `POST /api/v1/questions/{id}/answers`.
#[utoipa::path(post, path = "/questions/{id}/answers", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")), request_body = NewAnswer,
    responses((status = 201, description = "The answer", body = AnswerView), super::openapi::Qa, super::openapi::Body))]
pub async fn answer(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
    body: Body<NewAnswer>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    let a = actions::answer(&state.qa, &m, &id, &b.body)?;
    Ok((StatusCode::CREATED, Json(AnswerView::of(&a, &m.account_id))).into_response())
}

/// Body of the follow, report and mark calls.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"follow": true}))]
#[serde(deny_unknown_fields)]
pub struct Act {
    /// `follow`: true to follow, false to stop.
    #[serde(default)]
    pub follow: Option<bool>,
    /// `report`: why.
    #[serde(default)]
    pub reason: Option<String>,
    /// `marks`: `accept` or `helpful`.
    #[serde(default)]
    pub action: Option<String>,
}

/// `POST /api/v1/questions/{id}/follow` with `{"follow": true|false}`.
#[utoipa::path(post, path = "/questions/{id}/follow", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")), request_body = Act,
    responses((status = 204, description = "Following, or not"), super::openapi::Qa, super::openapi::Body))]
pub async fn follow(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
    body: Body<Act>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    actions::follow(&state.qa, &m, &id, b.follow.unwrap_or(true))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/questions/{id}/report` with `{"reason": ...}`.
#[utoipa::path(post, path = "/questions/{id}/report", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id")), request_body = Act,
    responses((status = 204, description = "Reported to the validators"), super::openapi::Qa, super::openapi::Body))]
pub async fn report(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path(id): Path<String>,
    body: Body<Act>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    moderation::report(
        &state.qa,
        &m,
        &id,
        None,
        b.reason.as_deref().unwrap_or_default(),
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /api/v1/questions/{id}/answers/{a}`: the author changes an answer.
#[utoipa::path(put, path = "/questions/{id}/answers/{a}", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id"), ("a" = String, Path, description = "The answer's id")), request_body = Edit,
    responses((status = 200, description = "The answer", body = AnswerView), super::openapi::Qa, super::openapi::Body))]
pub async fn edit_answer(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path((id, a)): Path<(String, String)>,
    body: Body<Edit>,
) -> Result<Response, ApiError> {
    let e = json_body(body)?;
    let a = actions::edit_answer(&state.qa, &m, &id, &a, &e.body)?;
    Ok(Json(AnswerView::of(&a, &m.account_id)).into_response())
}

/// `DELETE /api/v1/questions/{id}/answers/{a}`: the author deletes an answer.
#[utoipa::path(delete, path = "/questions/{id}/answers/{a}", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id"), ("a" = String, Path, description = "The answer's id")),
    responses((status = 204, description = "Deleted"), super::openapi::Qa))]
pub async fn delete_answer(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path((id, a)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    actions::delete_answer(&state.qa, &m, &id, &a)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/questions/{id}/answers/{a}/marks` with `{"action": "accept"|"helpful"}`.
#[utoipa::path(post, path = "/questions/{id}/answers/{a}/marks", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id"), ("a" = String, Path, description = "The answer's id")), request_body = Act,
    responses((status = 204, description = "Marked"), super::openapi::Qa, super::openapi::Body))]
pub async fn mark(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path((id, a)): Path<(String, String)>,
    body: Body<Act>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    actions::mark(
        &state.qa,
        &m,
        &id,
        &a,
        b.action.as_deref().unwrap_or_default(),
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/questions/{id}/answers/{a}/report` with `{"reason": ...}`.
#[utoipa::path(post, path = "/questions/{id}/answers/{a}/report", tag = "questions", security(("session" = []), ("cookie" = [])), params(("id" = String, Path, description = "The question's id"), ("a" = String, Path, description = "The answer's id")), request_body = Act,
    responses((status = 204, description = "Reported to the validators"), super::openapi::Qa, super::openapi::Body))]
pub async fn report_answer(
    State(state): State<AppState>,
    ApiMember(_, m): ApiMember,
    Path((id, a)): Path<(String, String)>,
    body: Body<Act>,
) -> Result<Response, ApiError> {
    let b = json_body(body)?;
    moderation::report(
        &state.qa,
        &m,
        &id,
        Some(&a),
        b.reason.as_deref().unwrap_or_default(),
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Body of `POST /api/v1/moderation`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"question": "q1", "action": "hide", "reason": "Gives a member's name."}))]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The question.
    pub question: String,
    /// The answer, when it is one.
    #[serde(default)]
    pub answer: Option<String>,
    /// `hide` or `restore`.
    pub action: String,
    /// Why (recorded in the audit log).
    pub reason: String,
}

/// `POST /api/v1/moderation`: a validator or admin hides or restores.
#[utoipa::path(post, path = "/moderation", tag = "questions", security(("session" = []), ("cookie" = [])), request_body = Decision,
    responses((status = 204, description = "Hidden or restored, and audited"), super::openapi::Qa, super::openapi::Body))]
pub async fn moderate(
    State(state): State<AppState>,
    Caller(account): Caller,
    body: Body<Decision>,
) -> Result<Response, ApiError> {
    if !matches!(account.role, Role::Validator | Role::Admin) {
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "only validators and admins moderate".into(),
        });
    }
    let d = json_body(body)?;
    let hide = match d.action.as_str() {
        "hide" => true,
        "restore" => false,
        _ => {
            return Err(ApiError::BadRequest {
                code: "invalid_action",
                message: "action is hide or restore".into(),
            });
        }
    };
    moderation::moderate(
        &state.qa,
        &account.id,
        &d.question,
        d.answer.as_deref(),
        hide,
        &d.reason,
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(feed, ask))
        .routes(routes!(search))
        .routes(routes!(show, edit, delete))
        .routes(routes!(answer))
        .routes(routes!(follow))
        .routes(routes!(report))
        .routes(routes!(edit_answer, delete_answer))
        .routes(routes!(mark))
        .routes(routes!(report_answer))
        .routes(routes!(moderate))
}
