//! Community questions: `/questions` (the feed, most likely to help first, with notices
//! and search), `/questions/search`, `/questions/new`, `/questions/{id}` (read, answer,
//! follow, report, edit, delete), `/questions/{id}/answers/{a}` (accept, helpful, report,
//! edit, delete), `/questions/settings` (digest mail, Matrix). Members read; members with a
//! validated patient ask and answer. See `docs/qa.md`.

use super::error::HttpStatus;
use super::error::internal;
use super::extract::PageMember;
use super::form::{CsrfForm, Fields, Sent};
use super::page_error::failed as failed_page;
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};

use super::i18n;
use super::page::{render_form, see_other};
use super::patients::member;
use raremesh_domain::message::Message;
use raremesh_domain::qa::actions::{self, Draft, QaError};
use raremesh_domain::qa::moderation;
use raremesh_domain::qa::{Answer, Question, notices};
use raremesh_domain::registration::Member;
use raremesh_domain::state::AppState;

/// The language of a member's page.
fn lang_of(headers: &HeaderMap, m: &Member) -> &'static str {
    i18n::pick(headers, None, Some(&m.info.language))
}

fn expired(headers: &HeaderMap, m: &Member) -> String {
    Message::new("qa.err.expired").render(lang_of(headers, m))
}

fn failed(e: &QaError, lang: &str) -> Option<Response> {
    match e {
        QaError::Store(s) => Some(internal(s)),
        QaError::NotFound(m) => Some((StatusCode::NOT_FOUND, m.render(lang)).into_response()),
        _ => None,
    }
}

/// A refusal as a plain page (when there is no form to show it on).
fn refusal(e: &QaError, lang: &str) -> Response {
    failed(e, lang).unwrap_or_else(|| (e.status(), e.render(lang)).into_response())
}

/// A refusal shown on the question's page.
fn refused_on_question(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    id: &str,
    e: &QaError,
) -> Response {
    let lang = lang_of(headers, m);
    failed(e, lang)
        .unwrap_or_else(|| question_page(state, headers, m, id, e.status(), Some(&e.render(lang))))
}

fn names(state: &AppState, q: &Question) -> (Vec<String>, Option<String>) {
    let o = &state.ontology;
    let tags = q
        .tags
        .iter()
        .filter_map(|t| o.resolve(*t).map(|i| o.term(i).name.clone()))
        .collect();
    let disease = q.disease.and_then(|c| o.disease(c).map(|d| d.name.clone()));
    (tags, disease)
}

/// `GET /questions`: notices, then questions of others, those the member is most likely
/// to help with first.
pub async fn feed(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    headers: HeaderMap,
) -> Response {
    let (all, notes, prefs) = match (
        state.qa.store.questions(),
        notices::shown(&state.qa, &m.account_id),
        notices::prefs(&state.qa, &m.account_id),
    ) {
        (Ok(a), Ok(n), Ok(p)) => (a, n, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failed_page(&headers, e),
    };
    let mine: Vec<_> = all
        .iter()
        .filter(|q| q.account_id == m.account_id && q.hidden.as_ref().is_none_or(|h| !h.deleted))
        .map(|q| context! { id => q.id.clone(), title => q.title.clone(), hidden => q.hidden.is_some() })
        .collect();
    let ranked = match actions::feed_of(&state.qa, &m, all) {
        Ok(r) => r,
        Err(e) => return refusal(&e, lang_of(&headers, &m)),
    };
    let items: Vec<_> = ranked
        .iter()
        .map(|(fit, q)| {
            let (tags, _) = names(&state, q);
            context! { id => q.id.clone(), title => q.title.clone(), fit, tags, author => q.author.clone(), remote => q.origin.is_some() }
        })
        .collect();
    let notes: Vec<_> = notes
        .iter()
        .take(20)
        .map(|n| context! { id => n.question_id.clone(), title => n.title.clone(), answer => n.kind == notices::Kind::Answer, unread => !n.read })
        .collect();
    if let Err(e) = notices::mark_read(&state.qa, &m.account_id) {
        return failed_page(&headers, e);
    }
    let can_ask = matches!(actions::validated(&state.qa, &m.account_id), Ok(true));
    let matrix = state.federation.is_some() && m.matrix.as_ref().is_some_and(|l| l.verified);
    render_form(
        &state,
        &headers,
        i18n::pick(&headers, None, Some(&m.info.language)),
        StatusCode::OK,
        "questions.html",
        context! { items, mine, can_ask, notes, digest => prefs.digest, matrix },
    )
}

/// Query of `GET /questions/search`.
#[derive(Debug, serde::Deserialize)]
pub struct SearchQuery {
    /// The words or symptom searched.
    #[serde(default)]
    pub q: String,
}

/// `GET /questions/search?q=`: questions and answers matching words or a symptom, with
/// the matched words highlighted.
pub async fn search(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> Response {
    if let Err(e) = actions::may_read(&state.qa, &m) {
        return refusal(&e, lang_of(&headers, &m));
    }
    let found = match raremesh_domain::qa::search::search(&state.qa, &query.q, 30) {
        Ok(f) => f,
        Err(e) => return failed_page(&headers, e),
    };
    let results: Vec<_> = found
        .into_iter()
        .map(|f| context! { id => f.id, title => f.title, snippet => Value::from_safe_string(f.snippet_html) })
        .collect();
    render_form(
        &state,
        &headers,
        i18n::pick(&headers, None, Some(&m.info.language)),
        StatusCode::OK,
        "questions_search.html",
        context! { q => query.q, results },
    )
}

/// How many symptom fields the question form offers.
pub const SYMPTOM_FIELDS: usize = 5;

/// The HPO id a symptom field names: "HP:0001250", "HP:0001250 Seizure" (a suggestion), or
/// the exact name or synonym of a term.
fn symptom_id(state: &AppState, value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(first) = v.split_whitespace().next()
        && first.starts_with("HP:")
    {
        return Some(first.to_owned());
    }
    raremesh_domain::qa::search::QuestionIndex::symptoms_of(&state.ontology, &state.autocomplete, v)
        .first()
        .map(ToString::to_string)
}

/// The ORPHA code a disease field names ("" for none): "ORPHA:558", "ORPHA:558 Marfan
/// syndrome" (a suggestion), or the exact name of a disease; `None` when unknown.
fn disease_code(state: &AppState, value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return Some(String::new());
    }
    if let Some(first) = v.split_whitespace().next()
        && (first.starts_with("ORPHA:") || first.chars().all(|c| c.is_ascii_digit()))
    {
        return Some(first.to_owned());
    }
    let wanted = v.to_lowercase();
    state
        .autocomplete
        .diseases(&state.ontology, v, 5)
        .into_iter()
        .find(|h| h.matched.to_lowercase() == wanted)
        .and_then(|h| match h.target {
            raremesh_search::Target::Disease(i) => state
                .ontology
                .diseases()
                .get(i as usize)
                .map(|d| d.code.to_string()),
            raremesh_search::Target::Term(_) => None,
        })
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
        context! { values, error, patients, fields => (1..=SYMPTOM_FIELDS).collect::<Vec<_>>() },
    )
}

/// `GET /questions/new`.
pub async fn new_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => ask_page(&state, &headers, &m, StatusCode::OK, &HashMap::new(), None),
        Err(e) => e.into_response(),
    }
}

/// `POST /questions/new`: `title`, `body`, `tags` (HPO ids, separated by spaces or commas),
/// `disease` (ORPHA code), `patient`.
pub async fn ask(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                ask_page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    &form,
                    Some(&expired(&headers, &m)),
                )
            });
        }
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut tags: Vec<String> = get("tags")
        .split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    for i in 1..=SYMPTOM_FIELDS {
        let v = get(&format!("symptom{i}"));
        if v.trim().is_empty() {
            continue;
        }
        match symptom_id(&state, &v) {
            Some(id) => tags.push(id),
            None => {
                let why = Message::new("qa.err.unknown_symptom")
                    .with("name", v.trim().chars().take(60).collect::<String>())
                    .render(lang_of(&headers, &m));
                return ask_page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &form,
                    Some(&why),
                );
            }
        }
    }
    let disease = get("disease");
    let disease = match disease_code(&state, &disease) {
        Some(code) => code,
        None => {
            return ask_page(
                &state,
                &headers,
                &m,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                Some(&Message::new("qa.err.unknown_disease_name").render(lang_of(&headers, &m))),
            );
        }
    };
    let draft = Draft {
        title: get("title"),
        body: get("body"),
        tags,
        disease: Some(disease),
        patient: Some(get("patient")),
    };
    match actions::ask(&state.qa, &m, &draft) {
        Ok(q) => see_other(&format!("/questions/{}", q.id)),
        Err(e) => failed(&e, lang_of(&headers, &m)).unwrap_or_else(|| {
            ask_page(
                &state,
                &headers,
                &m,
                e.status(),
                &form,
                Some(&e.render(lang_of(&headers, &m))),
            )
        }),
    }
}

fn answer_view(a: &Answer, m: &Member) -> Value {
    context! {
        id => a.id.clone(),
        body => if a.hidden.is_some() { String::new() } else { a.body.clone() },
        hidden => a.hidden.as_ref().map(|h| h.reason.clone()),
        author => a.author.clone(),
        remote => a.origin.is_some(),
        helpful => a.helpful.len(),
        accepted => a.accepted,
        mine => a.account_id == m.account_id,
        marked => a.helpful.contains(&m.account_id),
        reported => a.reports.iter().any(|r| r.by == m.account_id),
        edited => a.edited_at.is_some(),
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
    let q = match actions::may_read(&state.qa, m)
        .and_then(|()| actions::visible_question(&state.qa, id))
    {
        Ok(q) => q,
        Err(e) => {
            return refusal(&e, lang_of(headers, m));
        }
    };
    let answers = match state.qa.store.answers_of(&q.id) {
        Ok(a) => a,
        Err(e) => return failed_page(headers, e),
    };
    let (tags, disease) = names(state, &q);
    let asker = q.account_id == m.account_id;
    let list: Vec<_> = answers
        .iter()
        .filter(|a| a.hidden.as_ref().is_none_or(|h| !h.deleted))
        .map(|a| answer_view(a, m))
        .collect();
    let can_answer =
        q.hidden.is_none() && matches!(actions::validated(&state.qa, &m.account_id), Ok(true));
    render_form(
        state,
        headers,
        i18n::pick(headers, None, Some(&m.info.language)),
        status,
        "question.html",
        context! {
            q => context! {
                id => q.id.clone(),
                title => if q.hidden.is_some() { String::new() } else { q.title.clone() },
                body => if q.hidden.is_some() { String::new() } else { q.body.clone() },
                hidden => q.hidden.as_ref().map(|h| h.reason.clone()),
                author => q.author.clone(),
                remote => q.origin.is_some(),
                edited => q.edited_at.is_some(),
            },
            tags, disease, answers => list, asker, can_answer, error,
            following => q.followers.contains(&m.account_id),
            reported => q.reports.iter().any(|r| r.by == m.account_id),
            editable => asker && q.origin.is_none() && q.hidden.is_none(),
        },
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
        Err(e) => e.into_response(),
    }
}

/// What a member does on a question or an answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    /// The action (empty: answer).
    action: String,
    /// A new title, for an edit.
    title: String,
    /// An answer, or a new text.
    body: String,
    /// Why, for a report.
    reason: String,
}

/// A change to a member's Q&A settings.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    /// `digest_on`, `digest_off` or `matrix`.
    action: String,
}

/// `POST /questions/{id}`: `action` = `answer` (with `body`; the default), `follow`,
/// `unfollow`, `report` (with `reason`), `edit` (with `title` and `body`) or `delete`.
pub async fn act(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<ActForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                question_page(
                    &state,
                    &headers,
                    &m,
                    &id,
                    StatusCode::FORBIDDEN,
                    Some(&expired(&headers, &m)),
                )
            });
        }
    };
    let done = match form.action.as_str() {
        "" | "answer" => actions::answer(&state.qa, &m, &id, form.body.as_str()).map(|_| ()),
        "follow" => actions::follow(&state.qa, &m, &id, true),
        "unfollow" => actions::follow(&state.qa, &m, &id, false),
        "report" => moderation::report(&state.qa, &m, &id, None, form.reason.as_str()),
        "edit" => {
            actions::edit_question(&state.qa, &m, &id, form.title.as_str(), form.body.as_str())
                .map(|_| ())
        }
        "delete" => {
            return match actions::delete_question(&state.qa, &m, &id) {
                Ok(()) => see_other("/questions"),
                Err(e) => refused_on_question(&state, &headers, &m, &id, &e),
            };
        }
        _ => Err(QaError::Invalid(Message::new("qa.err.unknown_action"))),
    };
    match done {
        Ok(()) => see_other(&format!("/questions/{id}")),
        Err(e) => refused_on_question(&state, &headers, &m, &id, &e),
    }
}

/// `POST /questions/{id}/answers/{a}`: `action` = `accept` (the asker), `helpful`, `report`
/// (with `reason`), `edit` (with `body`) or `delete` (the author).
pub async fn mark(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path((id, answer_id)): Path<(String, String)>,
    headers: HeaderMap,
    sent: Sent<ActForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                question_page(
                    &state,
                    &headers,
                    &m,
                    &id,
                    StatusCode::FORBIDDEN,
                    Some(&expired(&headers, &m)),
                )
            });
        }
    };
    let done = match form.action.as_str() {
        "report" => moderation::report(&state.qa, &m, &id, Some(&answer_id), form.reason.as_str()),
        "edit" => {
            actions::edit_answer(&state.qa, &m, &id, &answer_id, form.body.as_str()).map(|_| ())
        }
        "delete" => actions::delete_answer(&state.qa, &m, &id, &answer_id),
        other => actions::mark(&state.qa, &m, &id, &answer_id, other),
    };
    match done {
        Ok(()) => see_other(&format!("/questions/{id}")),
        Err(e) => refused_on_question(&state, &headers, &m, &id, &e),
    }
}

/// `POST /questions/settings`: `action` = `digest_on`, `digest_off` (one mail a day with
/// the notices), or `matrix` (invites the member's linked Matrix account to the Q&A rooms).
pub async fn settings(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    headers: HeaderMap,
    sent: Sent<SettingsForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| (StatusCode::FORBIDDEN, expired(&headers, &m)).into_response());
        }
    };
    match Some(form.action.as_str()) {
        Some(a @ ("digest_on" | "digest_off")) => {
            let mut p = match notices::prefs(&state.qa, &m.account_id) {
                Ok(p) => p,
                Err(e) => return failed_page(&headers, e),
            };
            p.digest = a == "digest_on";
            if let Err(e) = notices::set_prefs(&state.qa, &m.account_id, &p) {
                return failed_page(&headers, e);
            }
            see_other("/questions")
        }
        Some("matrix") => match join_in_matrix(&state, &m).await {
            Ok(()) => see_other("/questions"),
            Err(e) => refusal(&e, lang_of(&headers, &m)),
        },
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Message::new("qa.err.unknown_action").render(lang_of(&headers, &m)),
        )
            .into_response(),
    }
}

/// Invites a member's confirmed Matrix account to the Q&A rooms the node is in.
pub async fn join_in_matrix(state: &AppState, m: &Member) -> Result<(), QaError> {
    let Some(f) = &state.federation else {
        return Err(QaError::Forbidden(Message::new("qa.err.not_federated")));
    };
    let Some(user) = m
        .matrix
        .as_ref()
        .filter(|l| l.verified)
        .map(|l| l.user_id.clone())
    else {
        return Err(QaError::Forbidden(Message::new("qa.err.confirm_matrix")));
    };
    if !actions::validated(&state.qa, &m.account_id)? {
        return Err(QaError::Forbidden(Message::new("qa.err.join_validated")));
    }
    f.invite_to_qa(&user)
        .await
        .map(|_| ())
        .map_err(|e| QaError::Store(raremesh_domain::store::StoreError::Backend(e.to_string())))
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/questions", axum::routing::get(feed))
        .route("/questions/new", axum::routing::get(new_form).post(ask))
        .route("/questions/search", axum::routing::get(search))
        .route("/questions/settings", axum::routing::post(settings))
        .route("/questions/{id}", axum::routing::get(show).post(act))
        .route("/questions/{id}/answers/{a}", axum::routing::post(mark))
}
