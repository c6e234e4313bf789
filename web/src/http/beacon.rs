//! `/beacon/v2/`: the GA4GH Beacon v2 endpoint for researchers' tools (`[beacon]`; see
//! `docs/beacon.md`). Who the Beacon is and what it holds are public; the filtering terms
//! and the counts are for the requesters of `[[beacon.clients]]`, by bearer token.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use raremesh_domain::beacon::filters::{Filter, criteria};
use raremesh_domain::beacon::{self, Identity, Received};
use raremesh_domain::research::query::QueryError;
use raremesh_domain::state::AppState;
use serde::Deserialize;
use serde_json::Value;

use super::metrics::same;

fn identity(state: &AppState) -> Identity {
    Identity::new(
        &state.config.node.name,
        &state.config.server.public_url,
        &state.config.beacon.contact,
    )
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (status, Json(body)).into_response()
}

/// The requester whose token the request bears, if any.
fn requester(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?
        .trim();
    state
        .config
        .beacon
        .clients
        .iter()
        .find(|c| !c.token.expose().is_empty() && same(given, c.token.expose()))
        .map(|c| c.name.clone())
}

fn unauthorized(state: &AppState, received: &Received) -> Response {
    let body = identity(state).error(
        received,
        401,
        "a requester's token is required (Authorization: Bearer <token>)",
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(body),
    )
        .into_response()
}

/// `GET /beacon/v2/` and `/info`.
async fn info(State(state): State<AppState>) -> Response {
    reply(StatusCode::OK, &identity(&state).info())
}

/// `GET /beacon/v2/configuration`.
async fn configuration(State(state): State<AppState>) -> Response {
    reply(StatusCode::OK, &identity(&state).configuration())
}

/// `GET /beacon/v2/map`.
async fn map(State(state): State<AppState>) -> Response {
    reply(StatusCode::OK, &identity(&state).map())
}

/// `GET /beacon/v2/entry_types`.
async fn entry_types(State(state): State<AppState>) -> Response {
    reply(StatusCode::OK, &identity(&state).entry_types())
}

/// `GET /beacon/v2/filtering_terms`.
async fn filtering_terms(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if requester(&state, &headers).is_none() {
        return unauthorized(&state, &Received::default());
    }
    // Reading every record is CPU and disk work: off the async workers.
    let s = state.clone();
    let terms = tokio::task::spawn_blocking(move || beacon::terms_in_use(s.counting())).await;
    match terms {
        Ok(Ok(terms)) => reply(StatusCode::OK, &identity(&state).filtering_terms(&terms)),
        Ok(Err(e)) => failure(&state, &Received::default(), &e),
        Err(e) => failure(
            &state,
            &Received::default(),
            &QueryError::Store(raremesh_domain::store::StoreError::Backend(e.to_string())),
        ),
    }
}

/// A refused count, as a Beacon error response.
fn failure(state: &AppState, received: &Received, e: &QueryError) -> Response {
    let status = match e {
        QueryError::Invalid(_) | QueryError::Empty => StatusCode::BAD_REQUEST,
        QueryError::Budget(_) => StatusCode::TOO_MANY_REQUESTS,
        QueryError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match e {
        QueryError::Store(_) => "the count failed; try again later".to_owned(),
        QueryError::Invalid(m) => m.render("en"),
        other => other.to_string(),
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "a Beacon count failed");
    }
    reply(
        status,
        &identity(state).error(received, status.as_u16(), &message),
    )
}

/// Queries to the network one client may send in 15 minutes.
const NETWORK_QUERIES: usize = 30;

/// Answers an individuals query once its filters and granularity are read.
async fn individuals(
    state: &AppState,
    headers: &HeaderMap,
    received: Received,
    filters: Result<Vec<Filter>, String>,
    network: bool,
) -> Response {
    let Some(client) = requester(state, headers) else {
        return unauthorized(state, &received);
    };
    let bad = |message: &str| {
        reply(
            StatusCode::BAD_REQUEST,
            &identity(state).error(&received, 400, message),
        )
    };
    let filters = match filters {
        Ok(f) => f,
        Err(why) => return bad(&why),
    };
    if beacon::Granularity::read(&received.granularity).is_none() {
        return bad("requestedGranularity is boolean, count or record");
    }
    let c = match criteria(&filters) {
        Ok(c) => c,
        Err(why) => return bad(&why),
    };
    if network {
        if state.federation.is_none() {
            return bad(
                "this Beacon has no partner organizations to ask (requestParameters.network)",
            );
        }
        // Checked before anything is counted or charged.
        if c.sex.is_some() {
            return bad("a sex filter cannot be sent to partner organizations");
        }
        // Each query to the network is sent to every partner and kept: a limit per client.
        let key = format!("beacon-network:{client}");
        if state
            .throttle
            .blocked_for_max(&key, NETWORK_QUERIES)
            .is_some()
        {
            return reply(
                StatusCode::TOO_MANY_REQUESTS,
                &identity(state).error(
                    &received,
                    429,
                    "too many queries to the network: try again later",
                ),
            );
        }
        state.throttle.record(&key);
    }
    // Counting reads every record: off the async workers.
    let s = state.clone();
    let (who, criteria) = (client.clone(), c.clone());
    let counted =
        tokio::task::spawn_blocking(move || beacon::count(s.counting(), &who, &criteria)).await;
    match counted {
        Ok(Ok(count)) if network => across(state, &received, &client, &c, &count).await,
        Ok(Ok(count)) => reply(
            StatusCode::OK,
            &identity(state).individuals(&received, &count),
        ),
        Ok(Err(e)) => failure(state, &received, &e),
        Err(e) => failure(
            state,
            &received,
            &QueryError::Store(raremesh_domain::store::StoreError::Backend(e.to_string())),
        ),
    }
}

/// Sends a query to every partner organization (as `beacon <client>`: each partner
/// charges its own budget for it), waits for their answers up to
/// `beacon.network_wait_secs`, and answers with the total and each node's answer.
async fn across(
    state: &AppState,
    received: &Received,
    client: &str,
    criteria: &raremesh_domain::research::query::Criteria,
    local: &raremesh_domain::research::query::Count,
) -> Response {
    let Some(f) = state.federation.clone() else {
        return failure(state, received, &QueryError::Empty);
    };
    let id = match f.ask_peers(&format!("beacon {client}"), criteria).await {
        Ok(id) => id,
        Err(e) => return failure(state, received, &e),
    };
    let patience = std::time::Duration::from_secs(state.config.beacon.network_wait_secs);
    let waited = match f.record_local_answer(&id, local) {
        Ok(()) => f.wait_for_answers(&id, patience).await,
        Err(e) => Err(e),
    };
    match waited {
        Ok(Some(q)) => {
            let answers = f.answers_of(&q, &state.config.node.name);
            reply(
                StatusCode::OK,
                &identity(state).individuals_network(received, local, &id, &answers),
            )
        }
        Ok(None) => failure(
            state,
            received,
            &QueryError::Store(raremesh_domain::store::StoreError::Backend(
                "the query was not kept".into(),
            )),
        ),
        Err(e) => failure(state, received, &QueryError::Store(e)),
    }
}

/// The query string of `GET /beacon/v2/individuals`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Params {
    /// Comma-separated filter ids.
    filters: String,
    /// `boolean` (default), `count` or `record` (answered as `count`).
    requested_granularity: Option<String>,
    /// `true`: ask the partner organizations too.
    network: Option<String>,
}

/// `GET /beacon/v2/individuals?filters=HP:0001250,ORPHA:558&requestedGranularity=count`.
async fn individuals_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        let received = Received::default();
        return reply(
            StatusCode::BAD_REQUEST,
            &identity(&state).error(&received, 400, "the query string cannot be read"),
        );
    };
    // A `+` in a query string reads as a space (`age_band:65+`); no filter id has one.
    let filters: Vec<Filter> = params
        .filters
        .replace(' ', "+")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Filter::plain)
        .collect();
    let received = Received {
        granularity: normalized(params.requested_granularity),
        filters: filters.iter().map(|f| f.id.clone()).collect(),
        ..Received::default()
    };
    let network = params.network.as_deref().map(str::trim) == Some("true");
    individuals(&state, &headers, received, Ok(filters), network).await
}

/// A request body: `{"meta": {"apiVersion": "v2.0.0"}, "query": {"filters": [...],
/// "requestedGranularity": "count"}}`; other fields are not read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    meta: BodyMeta,
    query: BodyQuery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BodyMeta {
    api_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BodyQuery {
    filters: Vec<Filter>,
    requested_granularity: Option<String>,
    request_parameters: RequestParameters,
}

/// `query.requestParameters`: `{"network": true}` asks the partner organizations too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RequestParameters {
    network: bool,
}

/// `POST /beacon/v2/individuals` with a Beacon request body.
async fn individuals_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let network = matches!(&body, Ok(Json(b)) if b.query.request_parameters.network);
    let (received, filters) = match body {
        Ok(Json(b)) => (
            Received {
                api_version: b
                    .meta
                    .api_version
                    .unwrap_or_else(|| beacon::API_VERSION.into()),
                granularity: normalized(b.query.requested_granularity),
                filters: b.query.filters.iter().map(|f| f.id.clone()).collect(),
            },
            Ok(b.query.filters),
        ),
        Err(e) => (
            Received::default(),
            Err(format!(
                "the request body cannot be read: {}",
                e.body_text()
            )),
        ),
    };
    individuals(&state, &headers, received, filters, network).await
}

/// A requested granularity as the response repeats it: lower case, `boolean` when none.
fn normalized(requested: Option<String>) -> String {
    requested.map_or_else(|| "boolean".into(), |g| g.trim().to_ascii_lowercase())
}

/// The routes of this module, for [`super::app`]: none when `[beacon]` is off.
pub(super) fn pages(enabled: bool) -> axum::Router<crate::AppState> {
    use axum::routing::get;
    let r = axum::Router::new();
    if !enabled {
        return r;
    }
    r.route("/beacon/v2", get(info))
        .route("/beacon/v2/", get(info))
        .route("/beacon/v2/info", get(info))
        .route("/beacon/v2/configuration", get(configuration))
        .route("/beacon/v2/map", get(map))
        .route("/beacon/v2/entry_types", get(entry_types))
        .route("/beacon/v2/filtering_terms", get(filtering_terms))
        .route(
            "/beacon/v2/individuals",
            get(individuals_get).post(individuals_post),
        )
}
