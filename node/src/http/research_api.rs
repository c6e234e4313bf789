//! Researchers' counts: `/research` (a page) and `POST /api/v1/research/count` (JSON). Open
//! to the researcher role only; they return counts with privacy protections, never a record.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::cookies;
use super::error::ApiError;
use super::member_api::caller;
use super::page::{forbidden, render_form, signed_in};
use crate::accounts::Role;
use crate::research::query::{Count, Criteria, QueryError, count};
use crate::state::AppState;

fn api_error(e: QueryError) -> ApiError {
    let (status, code) = match &e {
        QueryError::Invalid(_) | QueryError::Empty => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_criteria")
        }
        QueryError::Budget(_) => (StatusCode::TOO_MANY_REQUESTS, "budget_spent"),
        QueryError::Store(_) => return ApiError::Internal(e.to_string()),
    };
    ApiError::Refused {
        status,
        code,
        message: e.to_string(),
    }
}

/// `POST /api/v1/research/count`: `{"symptom": "HP:…", "disease": "ORPHA:…", "group": "…",
/// "age_band": "6-11", "answer": "questionnaire/question/option"}` (any of them, all must
/// hold) → `{"count": n | null, "k", "cached", "remaining"}`.
pub async fn api_count(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Result<Json<Criteria>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Count>, ApiError> {
    let a = caller(&state, &headers, &method)?;
    if a.role != Role::Researcher {
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "for researchers only".into(),
        });
    }
    let Json(criteria) = body.map_err(|e| ApiError::BadRequest {
        code: "invalid_body",
        message: e.body_text(),
    })?;
    count(&state, &a.id, &criteria, None)
        .map(Json)
        .map_err(api_error)
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    values: &HashMap<String, String>,
    result: Option<Count>,
    error: Option<String>,
) -> Response {
    render_form(
        state,
        headers,
        "en",
        status,
        "research.html",
        context! {
            values,
            result,
            error,
            groups => state.research.groups.iter().map(|g| context! { id => g.id.clone(), name => g.name.clone() }).collect::<Vec<_>>(),
            epsilon => state.config.research.epsilon_per_query,
            budget => state.config.research.budget,
            days => state.config.research.budget_period_days,
        },
    )
}

/// `GET /research`: the query form.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers) {
        Ok(a) if a.role == Role::Researcher => page(
            &state,
            &headers,
            StatusCode::OK,
            &HashMap::new(),
            None,
            None,
        ),
        Ok(_) => forbidden(),
        Err(r) => *r,
    }
}

/// `POST /research`: one count.
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let a = match signed_in(&state, &headers) {
        Ok(a) if a.role == Role::Researcher => a,
        Ok(_) => return forbidden(),
        Err(r) => return *r,
    };
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            &form,
            None,
            Some("This form had expired. Please try again.".into()),
        );
    }
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let criteria = Criteria {
        symptom: get("symptom"),
        disease: get("disease"),
        group: get("group"),
        age_band: get("age_band"),
        answer: get("answer"),
    };
    match count(&state, &a.id, &criteria, None) {
        Ok(c) => page(&state, &headers, StatusCode::OK, &form, Some(c), None),
        Err(QueryError::Store(e)) => super::error::internal(e),
        Err(e) => {
            let status = match e {
                QueryError::Budget(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            page(&state, &headers, status, &form, None, Some(e.to_string()))
        }
    }
}
