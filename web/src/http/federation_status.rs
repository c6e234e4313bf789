//! `/admin/federation`: the federation status for the organization's admins (the same as
//! `raremesh federation status`): is federation healthy, and if not, where it is stuck.

use super::extract::SignedIn;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::page::{forbidden, page_lang, render};
use raremesh_domain::message::Message;
use raremesh_domain::state::AppState;

fn ago(lang: &str, now: u64, t: Option<u64>) -> String {
    match t {
        Some(t) => Message::new("federation_status.ago")
            .with("seconds", now.saturating_sub(t))
            .render(lang),
        None => Message::new("federation_status.never").render(lang),
    }
}

/// `GET /admin/federation` (admins only).
pub async fn page(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    headers: HeaderMap,
) -> Response {
    if account.role != raremesh_domain::accounts::Role::Admin {
        return forbidden(&state, &headers);
    }
    let lang = page_lang(&state, &headers);
    let Some(f) = state.federation.clone() else {
        return render(
            &state,
            lang,
            StatusCode::OK,
            "federation_status.html",
            context! { enabled => false, signed_in => true },
        );
    };
    let s = f.status().await;
    let peers: Vec<minijinja::Value> = s
        .peers
        .iter()
        .map(|p| {
            context! {
                name => p.name.clone(), user_id => p.user_id.clone(), room => p.room.clone(),
                joined => p.joined, qa_room => p.qa_room.clone(), last => ago(lang, s.at, p.last_received),
                vectors => p.vectors, questions => p.questions,
            }
        })
        .collect();
    render(
        &state,
        lang,
        StatusCode::OK,
        "federation_status.html",
        context! {
            signed_in => true,
            enabled => true,
            healthy => s.healthy(),
            last_catch_up => ago(lang, s.at, s.last_catch_up),
            last_sent => ago(lang, s.at, s.last_sent),
            last_sync => ago(lang, s.at, s.device.as_ref().and_then(|d| d.last_sync)),
            last_error => s.last_error.as_ref().map(|(t, e)| format!("{e} ({})", ago(lang, s.at, Some(*t)))),
            peers,
            dropped => s.dropped.clone(),
            s => minijinja::Value::from_serialize(&s),
        },
    )
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/admin/federation", axum::routing::get(page))
}
