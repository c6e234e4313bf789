//! `GET /terms`, `POST /terms`: registration step 5, the legal terms (text and version
//! from the configuration) and three separate, optional, revocable consents.

use super::extract::PageMember;
use super::form::{CsrfForm, Sent};
use super::page_error::failed;
use serde::Deserialize;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::page::{render_form, see_other};
use super::patients::member;
use raremesh_domain::clock::now;
use raremesh_domain::registration::Member;
use raremesh_domain::state::AppState;

fn page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    page_with(state, headers, m, status, error, None)
}

/// The page, showing `kept` (what the member just ticked) instead of what is stored.
fn page_with(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    status: StatusCode,
    error: Option<&str>,
    kept: Option<&Choices>,
) -> Response {
    let version = &state.config.terms.version;
    let mut c = m.consents.clone();
    if let Some(k) = kept {
        c.local_matching = k.local_matching;
        c.federated_matching = k.federated_matching;
        c.contactable = k.contactable;
        c.research = k.research;
        c.notify_matches = k.notify_matches;
        c.share_diagnosis = k.share_diagnosis;
        c.share_age_band = k.share_age_band;
        c.matchmaking = k.matchmaking;
    }
    let accepted_current = c.terms_version.as_deref() == Some(version.as_str());
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    let (paragraphs, terms_translated) = state.terms.paragraphs(lang);
    render_form(
        state,
        headers,
        lang,
        status,
        "terms.html",
        context! { version, paragraphs, terms_translated, accepted_current, accepted_before => c.terms_version.is_some() && !accepted_current, local => c.local_matching, federated => c.federated_matching, contactable => c.contactable, research => c.research, notify_matches => c.notify_matches, share_diagnosis => c.share_diagnosis, share_age_band => c.share_age_band, matchmaking => c.matchmaking, mme => state.config.mme.enabled, error, registering => m.step < 5 },
    )
}

/// `GET /terms`: the terms and the consents, as they stand.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((_, m)) => page(&state, &headers, &m, StatusCode::OK, None),
        Err(e) => e.into_response(),
    }
}

/// The terms form: each box is `yes` when ticked, absent otherwise.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TermsForm {
    accept: Option<String>,
    local_matching: Option<String>,
    federated_matching: Option<String>,
    contactable: Option<String>,
    research: Option<String>,
    share_diagnosis: Option<String>,
    notify_matches: Option<String>,
    share_age_band: Option<String>,
    matchmaking: Option<String>,
}

/// `POST /terms`: records acceptance (version and time) and the consents; unticking a
/// consent withdraws it.
pub async fn save(
    State(state): State<AppState>,
    PageMember(_, mut m): PageMember,
    headers: HeaderMap,
    sent: Sent<TermsForm>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                page(
                    &state,
                    &headers,
                    &m,
                    StatusCode::FORBIDDEN,
                    Some("register.expired_form"),
                )
            });
        }
    };
    let ticked = |v: &Option<String>| v.as_deref() == Some("yes");
    let choices = Choices {
        accept: ticked(&form.accept),
        local_matching: ticked(&form.local_matching),
        federated_matching: ticked(&form.federated_matching),
        contactable: ticked(&form.contactable),
        research: ticked(&form.research),
        share_diagnosis: ticked(&form.share_diagnosis),
        notify_matches: ticked(&form.notify_matches),
        share_age_band: ticked(&form.share_age_band),
        matchmaking: ticked(&form.matchmaking),
    };
    match apply(&state, &mut m, &choices) {
        Ok(true) => see_other("/account"),
        // The terms box was not ticked: say so, and keep every choice as ticked.
        Ok(false) => page_with(
            &state,
            &headers,
            &m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("terms.error.accept"),
            Some(&choices),
        ),
        Err(e) => failed(&headers, e),
    }
}

/// A member's answers on the terms page.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"accept": true, "local_matching": true, "federated_matching": true, "contactable": false, "research": true}))]
#[serde(default, deny_unknown_fields)]
pub struct Choices {
    /// Accepts the current version of the terms (needed once per version).
    pub accept: bool,
    /// Shown to similar members of this organization.
    pub local_matching: bool,
    /// Matched with members of partner organizations.
    pub federated_matching: bool,
    /// Contactable in private messaging.
    pub contactable: bool,
    /// Research questionnaires.
    pub research: bool,
    /// Mail me new or notably better matches.
    pub notify_matches: bool,
    /// With federated matching, share the ORPHA diagnosis too.
    pub share_diagnosis: bool,
    /// With federated matching, share a coarse age band too.
    pub share_age_band: bool,
    /// Clinicians in matchmaking networks may find my validated patients.
    pub matchmaking: bool,
}

/// Records the choices (acceptance with version and time; each consent given or
/// withdrawn). False, and nothing saved, when the current terms are neither accepted
/// already nor now.
pub(crate) fn apply(
    state: &AppState,
    m: &mut raremesh_domain::registration::Member,
    c: &Choices,
) -> Result<bool, raremesh_domain::store::StoreError> {
    let version = state.config.terms.version.clone();
    let already = m.consents.terms_version.as_deref() == Some(version.as_str());
    if !already && !c.accept {
        return Ok(false);
    }
    let t = now();
    if !already {
        m.consents.terms_version = Some(version);
        m.consents.terms_accepted_at = Some(t);
    }
    m.consents.local_matching = c.local_matching;
    m.consents.federated_matching = c.federated_matching;
    m.consents.contactable = c.contactable;
    m.consents.research = c.research;
    m.consents.notify_matches = c.notify_matches;
    m.consents.share_diagnosis = c.federated_matching && c.share_diagnosis;
    m.consents.share_age_band = c.federated_matching && c.share_age_band;
    m.consents.matchmaking = c.matchmaking;
    m.consents.updated_at = Some(t);
    m.step = m.step.max(5);
    state.registrations.save_member(m)?;
    Ok(true)
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/terms", axum::routing::get(show).post(save))
}
