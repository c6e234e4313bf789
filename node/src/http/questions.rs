//! Community questions: `/questions` (the feed, most likely to help first), `/questions/new`,
//! `/questions/{id}` (read, answer), `/questions/{id}/answers/{a}` (the asker marks the
//! answer that helped; members mark answers helpful). Members read; members with a
//! validated patient ask and answer.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use raremesh_ontology::HpoId;

use super::error::internal;
use super::page::{render_form, see_other};
use super::patients::member;
use super::{cookies, i18n};
use crate::qa::{Helper, helper_score};
use crate::registration::Member;
use crate::state::AppState;

fn validated(state: &AppState, m: &Member) -> Result<bool, Box<Response>> {
    state
        .patients
        .of(&m.account_id)
        .map(|ps| ps.iter().any(|p| p.validation.is_approved()))
        .map_err(|e| Box::new(internal(e)))
}

/// `GET /questions`: questions of others, those the member is most likely to help with first.
pub async fn feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, m) = match member(&state, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (questions, patients, helped) = match (
        state.qa.questions(),
        state.patients.of(&m.account_id),
        state.qa.helpfulness(&m.account_id),
    ) {
        (Ok(q), Ok(p), Ok(h)) => (q, p, h),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal(e),
    };
    let helper = Helper::new(&state, &patients, &m.info.language, helped);
    let mut ranked: Vec<(f32, crate::qa::Question)> = questions
        .into_iter()
        .filter(|q| q.account_id != m.account_id)
        .map(|q| (helper_score(&state, &q, &helper), q))
        .collect();
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.created_at.cmp(&a.1.created_at))
    });
    let items: Vec<_> = ranked
        .iter()
        .map(|(s, q)| context! { id => q.id.clone(), title => q.title.clone(), fit => (s * 100.0).round() as u32 })
        .collect();
    let mine: Vec<_> = match state.qa.questions() {
        Ok(all) => all
            .into_iter()
            .filter(|q| q.account_id == m.account_id)
            .map(|q| context! { id => q.id, title => q.title })
            .collect(),
        Err(e) => return internal(e),
    };
    let can_ask = match validated(&state, &m) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    render_form(
        &state,
        &headers,
        i18n::pick(&headers, None, Some(&m.info.language)),
        StatusCode::OK,
        "questions.html",
        context! { items, mine, can_ask },
    )
}

fn ask_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    values: &HashMap<String, String>,
    error: Option<&str>,
) -> Response {
    let patients: Vec<_> = state
        .patients
        .of(&m.account_id)
        .unwrap_or_default()
        .into_iter()
        .map(|p| context! { id => p.id, name => p.display_name })
        .collect();
    render_form(
        state,
        headers,
        i18n::pick(headers, None, Some(&m.info.language)),
        status,
        "question_new.html",
        context! { values, error, patients },
    )
}

/// `GET /questions/new`.
pub async fn new_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => ask_page(&state, &headers, &m, StatusCode::OK, &HashMap::new(), None),
        Err(r) => *r,
    }
}

/// `POST /questions/new`: `title`, `body`, `tags` (HPO ids, separated by spaces or commas),
/// `disease` (ORPHA code), `patient`.
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (_, m) = match member(&state, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let fail = |status, why: &str| ask_page(&state, &headers, &m, status, &form, Some(why));
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return fail(
            StatusCode::FORBIDDEN,
            "This form had expired. Please send it again.",
        );
    }
    match validated(&state, &m) {
        Ok(true) => {}
        Ok(false) => {
            return fail(
                StatusCode::FORBIDDEN,
                "Questions can be asked once one of your patients is validated.",
            );
        }
        Err(r) => return *r,
    }
    let get = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or_default();
    let (title, body) = (get("title"), get("body"));
    if title.is_empty()
        || title.chars().count() > 150
        || body.is_empty()
        || body.chars().count() > 5000
    {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give a title (up to 150 characters) and your question (up to 5000).",
        );
    }
    let mut tags = Vec::new();
    for t in get("tags").split([' ', ',']).filter(|t| !t.is_empty()) {
        match t
            .parse::<HpoId>()
            .ok()
            .and_then(|id| state.ontology.resolve(id))
        {
            Some(idx) if tags.len() < 20 => tags.push(state.ontology.term(idx).id),
            _ => {
                return fail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "A symptom tag is not an HPO id (like HP:0001250), or there are more than 20.",
                );
            }
        }
    }
    let disease = match get("disease") {
        "" => None,
        d => match d
            .parse::<raremesh_ontology::OrphaCode>()
            .ok()
            .filter(|c| state.ontology.disease(*c).is_some())
        {
            Some(c) => Some(c),
            None => {
                return fail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The disease is not an ORPHA code of the list.",
                );
            }
        },
    };
    let patient = match get("patient") {
        "" => None,
        id => match state.patients.get(&m.account_id, id) {
            Ok(Some(p)) => Some(p.id),
            Ok(None) => return fail(StatusCode::UNPROCESSABLE_ENTITY, "No such patient."),
            Err(e) => return internal(e),
        },
    };
    match state.qa.ask(
        &m.account_id,
        patient,
        title,
        body,
        tags,
        disease,
        &m.info.language,
    ) {
        Ok(q) => see_other(&format!("/questions/{}", q.id)),
        Err(e) => internal(e),
    }
}

fn question_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    id: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let q = match state.qa.question(id) {
        Ok(Some(q)) => q,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such question.").into_response(),
        Err(e) => return internal(e),
    };
    let answers = match state.qa.answers_of(&q.id) {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let o = &state.ontology;
    let tags: Vec<String> = q
        .tags
        .iter()
        .filter_map(|t| o.resolve(*t).map(|i| o.term(i).name.clone()))
        .collect();
    let disease = q.disease.and_then(|c| o.disease(c).map(|d| d.name.clone()));
    let asker = q.account_id == m.account_id;
    let list: Vec<_> = answers
        .iter()
        .map(|a| {
            context! {
                id => a.id.clone(),
                body => a.body.clone(),
                helpful => a.helpful.len(),
                accepted => a.accepted,
                mine => a.account_id == m.account_id,
                marked => a.helpful.contains(&m.account_id),
            }
        })
        .collect();
    let can_answer = matches!(validated(state, m), Ok(true));
    render_form(
        state,
        headers,
        i18n::pick(headers, None, Some(&m.info.language)),
        status,
        "question.html",
        context! { q => context! { id => q.id.clone(), title => q.title.clone(), body => q.body.clone() }, tags, disease, answers => list, asker, can_answer, error },
    )
}

/// `GET /questions/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => question_page(&state, &headers, &m, &id, StatusCode::OK, None),
        Err(r) => *r,
    }
}

/// `POST /questions/{id}`: an answer (`body`).
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (_, m) = match member(&state, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return question_page(
            &state,
            &headers,
            &m,
            &id,
            StatusCode::FORBIDDEN,
            Some("This form had expired. Please send it again."),
        );
    }
    if !matches!(validated(&state, &m), Ok(true)) {
        return question_page(
            &state,
            &headers,
            &m,
            &id,
            StatusCode::FORBIDDEN,
            Some("Answers can be given once one of your patients is validated."),
        );
    }
    if !matches!(state.qa.question(&id), Ok(Some(_))) {
        return (StatusCode::NOT_FOUND, "No such question.").into_response();
    }
    let body = form.get("body").map(|b| b.trim()).unwrap_or_default();
    if body.is_empty() || body.chars().count() > 5000 {
        return question_page(
            &state,
            &headers,
            &m,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Write your answer (up to 5000 characters)."),
        );
    }
    match state.qa.answer(&id, &m.account_id, body) {
        Ok(_) => see_other(&format!("/questions/{id}")),
        Err(e) => internal(e),
    }
}

/// `POST /questions/{id}/answers/{a}`: `action` = `accept` (the asker) or `helpful`.
pub async fn mark(
    State(state): State<AppState>,
    Path((id, answer_id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (_, m) = match member(&state, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return question_page(
            &state,
            &headers,
            &m,
            &id,
            StatusCode::FORBIDDEN,
            Some("This form had expired. Please try again."),
        );
    }
    let (q, answers) = match (state.qa.question(&id), state.qa.answers_of(&id)) {
        (Ok(Some(q)), Ok(a)) => (q, a),
        (Ok(None), _) => return (StatusCode::NOT_FOUND, "No such question.").into_response(),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let Some(mut a) = answers.into_iter().find(|a| a.id == answer_id) else {
        return (StatusCode::NOT_FOUND, "No such answer.").into_response();
    };
    match form.get("action").map(String::as_str) {
        Some("accept") if q.account_id == m.account_id => a.accepted = true,
        Some("helpful") if a.account_id != m.account_id => {
            if !a.helpful.contains(&m.account_id) {
                a.helpful.push(m.account_id.clone());
            }
        }
        _ => {
            return question_page(
                &state,
                &headers,
                &m,
                &id,
                StatusCode::FORBIDDEN,
                Some(
                    "Only the asker marks the answer that helped, and nobody marks their own answer helpful.",
                ),
            );
        }
    }
    match state.qa.save_answer(&a) {
        Ok(()) => see_other(&format!("/questions/{id}")),
        Err(e) => internal(e),
    }
}
