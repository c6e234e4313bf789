//! Private messages between members: `/messages` (the conversations, most recent first,
//! with what is unread), `/messages/{id}` (one conversation: read, write, leave, block;
//! a plain form that works without JavaScript, kept up to date by `messages.js` with it),
//! `/messages/{id}/after/{seq}` (what came after a message, waiting a while for it: the
//! script's long poll), `/messages/{id}/report/{seq}` (report a message to the
//! validators).

use axum::Json;
use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::extract::PageMember;
use super::form::{CsrfForm, Sent};
use super::i18n;
use super::page::{render_form, see_other};
use super::page_error::{PageError, failed};
use raremesh_domain::message::Message;
use raremesh_domain::messages::{MessagingError, ShownMessage};
use raremesh_domain::registration::Member;
use raremesh_domain::state::AppState;

/// How long the script's request waits for a new message before answering "nothing".
const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(25);

/// A time as members read it: `2026-12-07 09:30 UTC`.
pub(crate) fn when(t: u64) -> String {
    let s = raremesh_domain::clock::rfc3339(t);
    format!("{} {} UTC", &s[..10], &s[11..16])
}

fn lang_of(headers: &HeaderMap, m: &Member) -> &'static str {
    i18n::pick(headers, None, Some(&m.info.language))
}

/// What a refused step answers: the page again with the reason, 404 for a conversation
/// that is not the member's, 500 for a failure.
fn refused(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    id: &str,
    e: MessagingError,
    typed: &str,
) -> Response {
    match e {
        MessagingError::Refused(why) => conversation_page(
            state,
            headers,
            m,
            id,
            View::refused(StatusCode::UNPROCESSABLE_ENTITY, why, typed),
        ),
        MessagingError::NotFound => PageError::NotFound {
            lang: lang_of(headers, m),
        }
        .into_response(),
        MessagingError::Store(e) => failed(headers, e),
        MessagingError::Files(e) => failed(headers, e),
    }
}

/// `GET /messages`: the member's conversations.
pub async fn list(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    headers: HeaderMap,
) -> Response {
    let conversations = match state.messages.list(&m.account_id) {
        Ok(l) => l,
        Err(e) => return failed(&headers, e),
    };
    let rows: Vec<_> = conversations
        .iter()
        .map(|c| {
            context! {
                id => c.id,
                other => c.other,
                organization => c.organization,
                when => when(c.last_at),
                unread => c.unread,
                open => c.open,
            }
        })
        .collect();
    render_form(
        &state,
        &headers,
        lang_of(&headers, &m),
        StatusCode::OK,
        "messages.html",
        context! {
            conversations => rows,
            contactable => m.consents.contactable,
        },
    )
}

fn rows(messages: &[ShownMessage]) -> Vec<minijinja::Value> {
    messages
        .iter()
        .map(|x| {
            context! {
                seq => x.seq,
                mine => x.mine,
                body => x.body,
                image => x.image,
                when => when(x.at),
            }
        })
        .collect()
}

/// How a conversation page is shown besides the conversation itself.
struct View<'a> {
    status: StatusCode,
    /// Why the last step was refused.
    error: Option<Message>,
    /// What the page says went well.
    notice: Option<Message>,
    /// The message the member typed (kept when it was refused).
    typed: &'a str,
}

impl<'a> View<'a> {
    fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            error: None,
            notice: None,
            typed: "",
        }
    }

    fn refused(status: StatusCode, why: Message, typed: &'a str) -> Self {
        Self {
            status,
            error: Some(why),
            notice: None,
            typed,
        }
    }
}

fn conversation_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    id: &str,
    view: View<'_>,
) -> Response {
    let lang = lang_of(headers, m);
    let c = match state.messages.show(&m.account_id, id) {
        Ok(c) => c,
        Err(MessagingError::NotFound) => return PageError::NotFound { lang }.into_response(),
        Err(e) => return failed(headers, e),
    };
    // Photos go to members of this organization only.
    let images = state.messages.images_allowed() && c.organization.is_none();
    render_form(
        state,
        headers,
        lang,
        view.status,
        "conversation.html",
        context! {
            id => c.id,
            other => c.other,
            organization => c.organization,
            open => c.open,
            left => c.left,
            messages => rows(&c.messages),
            last_seq => c.last_seq,
            error => view.error.map(|e| e.render(lang)),
            notice => view.notice.map(|e| e.render(lang)),
            typed => view.typed,
            max => raremesh_domain::messages::MAX_MESSAGE,
            images,
            max_image_kb => state.messages.max_image_bytes().div_ceil(1024),
        },
    )
}

/// `GET /messages/{id}`: one conversation (marks it read); `?reported=1` after a report.
pub async fn show(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut view = View::ok();
    if q.contains_key("reported") {
        view.notice = Some(Message::new("messages.reported"));
    }
    conversation_page(&state, &headers, &m, &id, view)
}

/// What a conversation's form does.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    /// `send` (the default), `leave` or `block`.
    action: String,
    /// The message, for `send`.
    body: String,
}

/// `POST /messages/{id}`: send a message, leave, or block.
pub async fn act(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<ActForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(f)) => f,
        Err(e) => {
            return e.or_page(|f| {
                conversation_page(
                    &state,
                    &headers,
                    &m,
                    &id,
                    View::refused(
                        StatusCode::FORBIDDEN,
                        Message::new("messages.err.expired"),
                        &f.body,
                    ),
                )
            });
        }
    };
    let done = match form.action.as_str() {
        "leave" => state.messages.leave(&m.account_id, &id),
        "block" => state.messages.block(&m.account_id, &id),
        _ => state
            .messages
            .send(&m, &id, &form.body)
            .await
            .map(|sent| tracing::debug!(seq = sent.seq, "message written")),
    };
    match done {
        Ok(()) if form.action == "leave" || form.action == "block" => see_other("/messages"),
        Ok(()) => see_other(&format!("/messages/{id}#end")),
        Err(e) => refused(&state, &headers, &m, &id, e, &form.body),
    }
}

/// What the page's script receives.
#[derive(Debug, Serialize)]
pub struct After {
    /// The new messages, oldest first.
    messages: Vec<AfterMessage>,
    /// Whether both are still in the conversation.
    open: bool,
}

/// One new message, for the script.
#[derive(Debug, Serialize)]
pub struct AfterMessage {
    seq: u64,
    mine: bool,
    body: String,
    /// Whether it has an image (at `/messages/{id}/image/{seq}`).
    image: bool,
    when: String,
}

/// `GET /messages/{id}/after/{seq}`: the messages after `seq`, as soon as there are any
/// (or none, after a while).
pub async fn after(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Response {
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    loop {
        let mut news = state.messages.news();
        match state.messages.after(&m.account_id, &id, seq) {
            Ok((new, open)) if !new.is_empty() || !open => {
                return Json(After {
                    messages: new
                        .into_iter()
                        .map(|x| AfterMessage {
                            seq: x.seq,
                            mine: x.mine,
                            when: when(x.at),
                            body: x.body,
                            image: x.image,
                        })
                        .collect(),
                    open,
                })
                .into_response();
            }
            Ok(_) => {}
            Err(MessagingError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
            Err(e) => return failed(&headers, e),
        }
        if tokio::time::timeout_at(deadline, news.changed())
            .await
            .is_err()
        {
            return Json(After {
                messages: Vec::new(),
                open: true,
            })
            .into_response();
        }
    }
}

/// A report's reason.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportForm {
    /// Why the member reports the message.
    reason: String,
}

fn report_page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    (id, seq): (&str, u64),
    status: StatusCode,
    error: Option<Message>,
    typed: &str,
) -> Response {
    let lang = lang_of(headers, m);
    let c = match state.messages.show(&m.account_id, id) {
        Ok(c) => c,
        Err(MessagingError::NotFound) => return PageError::NotFound { lang }.into_response(),
        Err(e) => return failed(headers, e),
    };
    let Some(message) = c.messages.iter().find(|x| x.seq == seq && !x.mine) else {
        return PageError::NotFound { lang }.into_response();
    };
    render_form(
        state,
        headers,
        lang,
        status,
        "message_report.html",
        context! {
            id => c.id,
            seq,
            other => c.other,
            body => message.body,
            when => when(message.at),
            error => error.map(|e| e.render(lang)),
            typed,
        },
    )
}

/// `GET /messages/{id}/report/{seq}`: the form reporting a message.
pub async fn report_form(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Response {
    report_page(&state, &headers, &m, (&id, seq), StatusCode::OK, None, "")
}

/// `POST /messages/{id}/report/{seq}`: report a message, with a reason.
pub async fn report(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
    sent: Sent<ReportForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(f)) => f,
        Err(e) => {
            return e.or_page(|f| {
                report_page(
                    &state,
                    &headers,
                    &m,
                    (&id, seq),
                    StatusCode::FORBIDDEN,
                    Some(Message::new("messages.err.expired")),
                    &f.reason,
                )
            });
        }
    };
    match state.messages.report(&m.account_id, &id, seq, &form.reason) {
        Ok(_) => see_other(&format!("/messages/{id}?reported=1")),
        Err(MessagingError::Refused(why)) => report_page(
            &state,
            &headers,
            &m,
            (&id, seq),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
            &form.reason,
        ),
        Err(MessagingError::NotFound) => PageError::NotFound {
            lang: lang_of(&headers, &m),
        }
        .into_response(),
        Err(MessagingError::Store(e)) => failed(&headers, e),
        Err(MessagingError::Files(e)) => failed(&headers, e),
    }
}

/// Reads the image form (`csrf`, `body`, `image`, in any order): the fields, or what the
/// member is told. The image is read up to the limit, then refused.
async fn image_form(
    state: &AppState,
    headers: &HeaderMap,
    mut form: Multipart,
) -> Result<(String, Vec<u8>), (StatusCode, Message)> {
    let limit = usize::try_from(state.messages.max_image_bytes()).unwrap_or(usize::MAX);
    let too_big = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Message::new("messages.err.image_too_big")
                .with("max", state.messages.max_image_bytes().div_ceil(1024)),
        )
    };
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            (
                StatusCode::BAD_REQUEST,
                Message::new("messages.err.not_an_image"),
            )
        }
    };
    let (mut csrf, mut body, mut image) = (None, String::new(), Vec::new());
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        let cap = if name == "image" {
            limit
        } else {
            4 * raremesh_domain::messages::MAX_MESSAGE + 64
        };
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > cap {
                return Err(if name == "image" {
                    too_big()
                } else {
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Message::new("messages.err.too_long")
                            .with("max", raremesh_domain::messages::MAX_MESSAGE),
                    )
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "body" => body = String::from_utf8_lossy(&bytes).into_owned(),
            "image" => image = bytes,
            _ => {}
        }
    }
    if !super::cookies::csrf_ok(state, headers, csrf.as_ref()) {
        return Err((StatusCode::FORBIDDEN, Message::new("messages.err.expired")));
    }
    Ok((body, image))
}

/// `POST /messages/{id}/image`: send a message with an image (multipart), when the
/// organization allows images.
pub async fn send_image(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (body, bytes) = match image_form(&state, &headers, form).await {
        Ok(x) => x,
        Err((status, why)) => {
            return conversation_page(&state, &headers, &m, &id, View::refused(status, why, ""));
        }
    };
    let sent = if bytes.is_empty() {
        state.messages.send(&m, &id, &body).await
    } else {
        match state.messages.keep_image(&bytes) {
            Ok(image) => state.messages.send_with(&m, &id, &body, Some(image)).await,
            Err(e) => Err(e),
        }
    };
    match sent {
        Ok(_) => see_other(&format!("/messages/{id}#end")),
        Err(e) => refused(&state, &headers, &m, &id, e, &body),
    }
}

/// An image as the browser gets it: its type, never cached, never taken for anything else.
pub(crate) fn image_response(mime: String, bytes: Vec<u8>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_owned(),
            ),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /messages/{id}/image/{seq}`: the image of a message, for the two members only.
pub async fn image(
    State(state): State<AppState>,
    PageMember(_, m): PageMember,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Response {
    match state.messages.image(&m.account_id, &id, seq) {
        Ok((mime, bytes)) => image_response(mime, bytes),
        Err(MessagingError::NotFound | MessagingError::Refused(_)) => PageError::NotFound {
            lang: lang_of(&headers, &m),
        }
        .into_response(),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /assets/messages.js`
pub async fn script() -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../assets/messages.js"),
    )
        .into_response()
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages(image_limit: usize) -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/messages", axum::routing::get(list))
        .route("/messages/{id}", axum::routing::get(show).post(act))
        .route(
            "/messages/{id}/image",
            axum::routing::post(send_image)
                .layer(axum::extract::DefaultBodyLimit::max(image_limit)),
        )
        .route("/messages/{id}/image/{seq}", axum::routing::get(image))
        .route("/messages/{id}/after/{seq}", axum::routing::get(after))
        .route(
            "/messages/{id}/report/{seq}",
            axum::routing::get(report_form).post(report),
        )
        .route("/assets/messages.js", axum::routing::get(script))
}
