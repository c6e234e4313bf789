//! Researchers' counts: `/research` (a page) and `POST /api/v1/research/count` (JSON). Open
//! to the researcher role only; they return counts with privacy protections, never a record.

use super::form::{CsrfForm, Fields, Sent};
use super::replies::{Bar, Distribution};
use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::error::ApiError;
use super::extract::ApiResearcher;
use super::page::{forbidden, page_lang, render_form, signed_in};
use super::page_error::PageError;
use raremesh_domain::accounts::Role;
use raremesh_domain::message::Message;
use raremesh_domain::research::query::{Count, Criteria, QueryError, count};
use raremesh_domain::state::AppState;

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

/// Body of `POST /api/v1/research/count`: the criteria (any of them, all must hold), and
/// whether to ask the partner organizations too.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(example = json!({"symptom": "HP:0001250", "age_band": "6-11", "partners": false}))]
pub struct CountBody {
    /// An HPO term the patient has (or a descendant).
    pub symptom: Option<String>,
    /// An ORPHA disease.
    pub disease: Option<String>,
    /// A disease group id from `[research.groups]`.
    pub group: Option<String>,
    /// An age band.
    pub age_band: Option<String>,
    /// A questionnaire answer: `questionnaire/question/option`.
    pub answer: Option<String>,
    /// A sex: `female` or `male`.
    pub sex: Option<String>,
    /// Ask every partner organization too.
    pub partners: bool,
}

/// `POST /api/v1/research/count`: `{"symptom": "HP:…", "disease": "ORPHA:…", "group": "…",
/// "age_band": "6-11", "answer": "questionnaire/question/option"}` (any of them, all must
/// hold) → `{"count": n | null, "k", "cached", "remaining"}`. With `"partners": true`, the
/// partner organizations are asked too: `202` with this node's count and the query to
/// follow at `/api/v1/research/queries/{id}` (`Location`).
#[utoipa::path(post, path = "/research/count", tag = "research", security(("session" = []), ("cookie" = [])), request_body = CountBody,
    responses(
        (status = 200, description = "This node's count", body = raremesh_domain::research::query::Count),
        (status = 202, description = "With `partners`: this node's count, and the query sent to the partners (follow it at `href`)", body = FederatedAccepted,
            headers(("Location" = String, description = "The query's address"))),
        (status = 409, description = "`no_partners`: this node does not federate", body = super::openapi::ErrorBody),
        super::openapi::Research, super::openapi::Body,
    ))]
pub async fn api_count(
    State(state): State<AppState>,
    ApiResearcher(a): ApiResearcher,
    body: Result<Json<CountBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(ApiError::from)?;
    let criteria = Criteria {
        symptom: body.symptom,
        disease: body.disease,
        group: body.group,
        age_band: body.age_band,
        answer: body.answer,
        sex: body.sex,
    };
    if !body.partners {
        return count(state.counting(), &a.id, &criteria, None)
            .map(|c| Json(c).into_response())
            .map_err(api_error);
    }
    let Some(f) = state.federation.clone() else {
        return Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: "no_partners",
            message: "this node does not federate with partner organizations".into(),
        });
    };
    let local = count(state.counting(), &a.id, &criteria, None).map_err(api_error)?;
    let id = f.ask_peers(&a.id, &criteria).await.map_err(api_error)?;
    f.record_local_answer(&id, &local)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let href = format!("/api/v1/research/queries/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, href.clone())],
        Json(FederatedAccepted {
            query: id,
            local,
            href,
        }),
    )
        .into_response())
}

/// A count sent to the partner organizations (`202`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FederatedAccepted {
    /// The query's id.
    pub query: String,
    /// This node's count.
    pub local: raremesh_domain::research::query::Count,
    /// Where to follow the answers.
    pub href: String,
}

/// A query sent to the federation, with each node's answer so far.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FederatedQueryReply {
    /// The query's id.
    pub query: String,
    /// What was asked.
    pub criteria: Criteria,
    /// When (RFC 3339).
    pub asked_at: String,
    /// This node's answer, then each partner's.
    pub answers: Vec<raremesh_domain::federation::research::NodeAnswerView>,
    /// The sum of the counts given.
    pub total: u64,
    /// Whether every node answered.
    pub complete: bool,
}

/// `GET /api/v1/research/queries/{id}`: a query the researcher sent to the federation,
/// with each node's answer so far and the total of the counts given.
#[utoipa::path(get, path = "/research/queries/{id}", tag = "research", security(("session" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The query's id")),
    responses(
        (status = 200, description = "Each node's answer so far, and the total", body = FederatedQueryReply),
        (status = 404, description = "`unknown_query`: none of the caller's", body = super::openapi::ErrorBody),
        super::openapi::Research,
    ))]
pub async fn api_query(
    State(state): State<AppState>,
    ApiResearcher(a): ApiResearcher,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::NotFound {
        code: "unknown_query",
        message: "no such query of yours".into(),
    };
    let Some(f) = state.federation.clone() else {
        return Err(unknown());
    };
    let q = match f.federated_query(&id) {
        Ok(Some(q)) if q.researcher == a.id => q,
        Ok(_) => return Err(unknown()),
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    let answers = f.answers_of(&q, &state.config.node.name);
    let total: u64 = answers.iter().filter_map(|x| x.count).sum();
    let complete = answers.iter().all(|x| x.status != "waiting");
    Ok(Json(FederatedQueryReply {
        query: q.id.clone(),
        criteria: q.criteria.clone(),
        asked_at: raremesh_domain::clock::rfc3339(q.asked_at),
        answers,
        total,
        complete,
    })
    .into_response())
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
        page_lang(state, headers),
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
        Ok(_) => forbidden(&state, &headers),
        Err(e) => e.into_response(),
    }
}

/// `POST /research`: one count.
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let a = match signed_in(&state, &headers) {
        Ok(a) if a.role == Role::Researcher => a,
        Ok(_) => return forbidden(&state, &headers),
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    &form,
                    None,
                    Some(super::i18n::say(&headers, "research.error.expired")),
                )
            });
        }
    };
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
        sex: get("sex"),
    };
    let partners = form.get("partners").map(String::as_str) == Some("yes");
    if partners {
        let Some(f) = state.federation.clone() else {
            return page(
                &state,
                &headers,
                StatusCode::CONFLICT,
                &form,
                None,
                Some(super::i18n::say(&headers, "research.error.no_partners")),
            );
        };
        let local = match count(state.counting(), &a.id, &criteria, None) {
            Ok(c) => c,
            Err(QueryError::Store(e)) => return super::error::internal(e),
            Err(e) => {
                return page(
                    &state,
                    &headers,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &form,
                    None,
                    Some(e.message().render(page_lang(&state, &headers))),
                );
            }
        };
        return match f.ask_peers(&a.id, &criteria).await {
            Ok(id) => {
                if let Err(e) = f.record_local_answer(&id, &local) {
                    return super::error::internal(e);
                }
                super::page::see_other(&format!("/research/queries/{id}"))
            }
            Err(e) => page(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                Some(local),
                Some(e.message().render(page_lang(&state, &headers))),
            ),
        };
    }
    match count(state.counting(), &a.id, &criteria, None) {
        Ok(c) => page(&state, &headers, StatusCode::OK, &form, Some(c), None),
        Err(QueryError::Store(e)) => super::error::internal(e),
        Err(e) => {
            let status = match e {
                QueryError::Budget(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            page(
                &state,
                &headers,
                status,
                &form,
                None,
                Some(e.message().render(page_lang(&state, &headers))),
            )
        }
    }
}

/// `GET /research/queries/{id}`: a query sent to partner nodes, with each node's answer
/// and when it came, and the total of the counts given.
pub async fn federated(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let a = match signed_in(&state, &headers) {
        Ok(a) if a.role == Role::Researcher => a,
        Ok(_) => return forbidden(&state, &headers),
        Err(e) => return e.into_response(),
    };
    let Some(f) = state.federation.clone() else {
        return forbidden(&state, &headers);
    };
    let q = match f.federated_query(&id) {
        Ok(Some(q)) if q.researcher == a.id => q,
        Ok(_) => {
            return PageError::NotFound {
                lang: page_lang(&state, &headers),
            }
            .into_response();
        }
        Err(e) => return super::error::internal(e),
    };
    let me = f.config.user_id();
    let rows: Vec<minijinja::Value> = std::iter::once(me.clone())
        .chain(f.config.peers.iter().map(|p| p.user_id.clone()))
        .map(|node| {
            let name = if node == me {
                Message::new("research.this_node")
                    .with("name", &state.config.node.name)
                    .render(page_lang(&state, &headers))
            } else {
                f.peer(&node).map_or(node.clone(), |p| p.name.clone())
            };
            let answer = q.answers.get(&node);
            context! {
                name,
                count => answer.and_then(|x| x.count),
                status => answer.map_or("waiting", |x| x.status.as_str()),
                k => answer.map(|x| x.k),
                at => answer.map(|x| raremesh_domain::clock::rfc3339(x.at)),
            }
        })
        .collect();
    let total: u64 = q.answers.values().filter_map(|x| x.count).sum();
    let complete = q.answers.len() == f.config.peers.len() + 1
        && q.answers.values().all(|x| x.count.is_some());
    super::page::render(
        &state,
        page_lang(&state, &headers),
        StatusCode::OK,
        "research_query.html",
        context! { criteria => q.criteria.canonical(), rows, total, complete, asked => raremesh_domain::clock::rfc3339(q.asked_at), signed_in => true },
    )
}

/// Body of `POST /api/v1/research/distribution`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"questionnaire": "daily-life", "question": "mobility", "criteria": {"disease": "ORPHA:558"}}))]
pub struct DistributionBody {
    /// The questionnaire.
    pub questionnaire: String,
    /// A choice question of it.
    pub question: String,
    /// More criteria all counted patients must meet (no `answer`).
    #[serde(default)]
    pub criteria: Criteria,
}

/// `POST /api/v1/research/distribution`: for each option of a choice question, the count
/// of patients who chose it (each option is a count of its own: noise, "fewer than k",
/// budget, the same answer when repeated).
#[utoipa::path(post, path = "/research/distribution", tag = "research", security(("session" = []), ("cookie" = [])), request_body = DistributionBody,
    responses((status = 200, description = "Each option's count", body = Distribution), super::openapi::Research, super::openapi::Body))]
pub async fn api_distribution(
    State(state): State<AppState>,
    ApiResearcher(a): ApiResearcher,
    body: Result<Json<DistributionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Distribution>, ApiError> {
    let Json(b) = body.map_err(ApiError::from)?;
    let options = state
        .research
        .questionnaire(&b.questionnaire)
        .and_then(|q| q.questions.iter().find(|x| x.id == b.question))
        .map(|x| x.options.clone())
        .filter(|o| !o.is_empty() && b.criteria.answer.is_none())
        .ok_or_else(|| ApiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_criteria",
            message: "name a choice question of a questionnaire (and no answer criterion)".into(),
        })?;
    let mut bars = Vec::new();
    for o in options {
        let criteria = Criteria {
            answer: Some(format!("{}/{}/{o}", b.questionnaire, b.question)),
            ..b.criteria.clone()
        };
        let c = count(state.counting(), &a.id, &criteria, None).map_err(api_error)?;
        bars.push(Bar {
            option: o,
            count: c.count,
            cached: c.cached,
            remaining: c.remaining,
        });
    }
    Ok(Json(Distribution {
        k: state.research.k,
        options: bars,
    }))
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/research", axum::routing::get(form).post(ask))
        .route("/research/queries/{id}", axum::routing::get(federated))
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(api_count))
        .routes(routes!(api_query))
        .routes(routes!(api_distribution))
}
