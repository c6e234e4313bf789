//! `/moderation`: validators and admins see reported and hidden community questions and
//! answers, and hide or restore them with a reason (audited). Hidden content this node
//! shared is withdrawn from its federated room.

use super::error::HttpStatus;
use super::extract::Staff;
use super::form::{CsrfForm, Sent};
use super::page_error::failed;
use serde::Deserialize;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::page::{render_form, see_other, staff};
use raremesh_domain::qa::actions::QaError;
use raremesh_domain::qa::moderation;
use raremesh_domain::state::AppState;

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (questions, answers) = match (state.qa.store.questions(), state.qa.store.all_answers()) {
        (Ok(q), Ok(a)) => (q, a),
        (Err(e), _) | (_, Err(e)) => return failed(headers, e),
    };
    let mut items = Vec::new();
    for q in &questions {
        // Deleted by their authors, or withdrawn by the node they came from: nothing to
        // moderate here.
        if q.hidden
            .as_ref()
            .is_some_and(|h| h.deleted || q.origin.as_deref() == Some(h.by.as_str()))
        {
            continue;
        }
        if !q.reports.is_empty() || q.hidden.is_some() {
            items.push(context! {
                question => q.id.clone(), answer => "", kind => "question",
                title => q.title.clone(), text => q.body.clone(), author => q.author.clone(),
                remote => q.origin.is_some(),
                reports => q.reports.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
                hidden => q.hidden.as_ref().map(|h| h.reason.clone()),
            });
        }
    }
    for a in &answers {
        if a.hidden
            .as_ref()
            .is_some_and(|h| h.deleted || (a.origin.is_some() && a.body.is_empty()))
        {
            continue;
        }
        if !a.reports.is_empty() || a.hidden.is_some() {
            let title = questions
                .iter()
                .find(|q| q.id == a.question_id)
                .map(|q| q.title.clone())
                .unwrap_or_default();
            items.push(context! {
                question => a.question_id.clone(), answer => a.id.clone(), kind => "answer",
                title, text => a.body.clone(), author => a.author.clone(),
                remote => a.origin.is_some(),
                reports => a.reports.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
                hidden => a.hidden.as_ref().map(|h| h.reason.clone()),
            });
        }
    }
    render_form(
        state,
        headers,
        i18n::pick(headers, None, None),
        status,
        "moderation.html",
        context! { items, error },
    )
}

/// `GET /moderation`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match staff(&state, &headers) {
        Ok(_) => page(&state, &headers, StatusCode::OK, None),
        Err(e) => e.into_response(),
    }
}

/// The moderation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Decision {
    /// The question.
    question: String,
    /// The answer (empty for the question itself).
    answer: String,
    /// `hide` or `restore`.
    action: String,
    /// Why (shown in place of the content).
    reason: String,
}

/// `POST /moderation`: a [`Decision`].
pub async fn decide(
    State(state): State<AppState>,
    Staff(account): Staff,
    headers: HeaderMap,
    sent: Sent<Decision>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    Some(&super::i18n::say(&headers, "moderation.expired")),
                )
            });
        }
    };
    let hide = match form.action.as_str() {
        "hide" => true,
        "restore" => false,
        _ => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                super::i18n::say(&headers, "qa.err.unknown_action"),
            )
                .into_response();
        }
    };
    let answer = Some(form.answer.as_str()).filter(|a| !a.is_empty());
    match moderation::moderate(
        &state.qa,
        &account.id,
        &form.question,
        answer,
        hide,
        &form.reason,
    ) {
        Ok(()) => see_other("/moderation"),
        Err(QaError::Store(e)) => failed(&headers, e),
        Err(e) => page(
            &state,
            &headers,
            e.status(),
            Some(&e.render(i18n::pick(&headers, None, None))),
        ),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/moderation", axum::routing::get(list).post(decide))
}
