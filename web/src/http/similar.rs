//! `GET /patients/{id}/similar`: people like me on this node. For a validated patient,
//! the validated patients of other members who agreed to be shown, most similar first,
//! with the symptoms that make them similar.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::page::render_form;
use super::page_error::failed;
use super::patients::own;
use raremesh_domain::similar::SHOWN;
use raremesh_domain::state::AppState;

/// The similar-patients page of one of the member's patients.
pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (account, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    // Ranking is CPU work: off the async workers, so other requests go on meanwhile.
    let ranked = {
        let (state, p) = (state.clone(), p.clone());
        tokio::task::spawn_blocking(move || state.similar.find(&p, SHOWN)).await
    };
    let mut matches = match ranked {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return failed(&headers, e),
        Err(e) => return failed(&headers, e),
    };
    match raremesh_domain::notify::notices(&state.notifier, &account.id, &p.id) {
        Ok(n) => {
            for m in &mut matches {
                m.new = n.unread.contains(&m.pseudonym);
            }
        }
        Err(e) => return failed(&headers, e),
    }
    if let Err(e) = raremesh_domain::notify::mark_read(&state.notifier, &account.id, &p.id) {
        return failed(&headers, e);
    }
    let lang = i18n::pick(&headers, None, Some(&m.info.language));
    render_form(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "similar.html",
        context! {
            patient => context! { id => p.id.clone(), name => p.display_name.clone() },
            validated => p.validation.is_approved(),
            has_symptoms => p.symptoms.iter().any(|s| s.observed),
            shown => m.consents.local_matching,
            matches,
        },
    )
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/patients/{id}/similar", axum::routing::get(page))
}
