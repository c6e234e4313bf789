//! `/validation/reports`: private messages members reported, for the organization's
//! validators and admins: the message, who wrote it (as the reporter saw them), the
//! reporter's reason; closing one takes a note of what was done. Both are audited.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::extract::Staff;
use super::form::{CsrfForm, Sent};
use super::messages::when;
use super::page::{page_lang, render_form, see_other};
use super::page_error::{PageError, failed};
use raremesh_domain::message::Message;
use raremesh_domain::messages::MessagingError;
use raremesh_domain::state::AppState;

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<Message>,
) -> Response {
    let lang = page_lang(state, headers);
    let reports = match state.messages.open_reports() {
        Ok(r) => r,
        Err(e) => return failed(headers, e),
    };
    let rows: Vec<_> = reports
        .iter()
        .map(|r| {
            context! {
                id => r.id,
                author => r.author,
                body => r.body,
                image => r.image.is_some(),
                reason => r.reason,
                when => when(r.at),
            }
        })
        .collect();
    render_form(
        state,
        headers,
        lang,
        status,
        "reports.html",
        context! { reports => rows, error => error.map(|e| e.render(lang)) },
    )
}

/// `GET /validation/reports`: the reports not yet closed, oldest first.
pub async fn list(State(state): State<AppState>, Staff(_): Staff, headers: HeaderMap) -> Response {
    page(&state, &headers, StatusCode::OK, None)
}

/// Closing a report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CloseForm {
    /// What was done.
    note: String,
}

/// `POST /validation/reports/{id}`: close a report with a note.
pub async fn close(
    State(state): State<AppState>,
    Staff(actor): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<CloseForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(f)) => f,
        Err(e) => {
            return e.or_page(|_| {
                page(
                    &state,
                    &headers,
                    StatusCode::FORBIDDEN,
                    Some(Message::new("messages.err.expired")),
                )
            });
        }
    };
    match state.messages.close_report(&actor.id, &id, &form.note) {
        Ok(_) => see_other("/validation/reports"),
        Err(MessagingError::Refused(why)) => page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
        ),
        Err(MessagingError::NotFound) => PageError::NotFound {
            lang: page_lang(&state, &headers),
        }
        .into_response(),
        Err(MessagingError::Store(e)) => failed(&headers, e),
        Err(MessagingError::Files(e)) => failed(&headers, e),
    }
}

/// `GET /validation/reports/{id}/image`: the image of a reported message.
pub async fn image(
    State(state): State<AppState>,
    Staff(_): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.messages.reported_image(&id) {
        Ok((mime, bytes)) => super::messages::image_response(mime, bytes),
        Err(MessagingError::NotFound | MessagingError::Refused(_)) => PageError::NotFound {
            lang: page_lang(&state, &headers),
        }
        .into_response(),
        Err(e) => failed(&headers, e),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/validation/reports", axum::routing::get(list))
        .route("/validation/reports/{id}", axum::routing::post(close))
        .route("/validation/reports/{id}/image", axum::routing::get(image))
}
