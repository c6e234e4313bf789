//! `/patients/{id}/symptoms`: registration step 4, a patient's symptoms as HPO terms,
//! each observed or explicitly not observed, with an optional age of onset.

use super::form::{CsrfForm, Fields, Sent};
use super::page_error::failed;
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use raremesh_ontology::HpoId;
use raremesh_search::Target;

use super::i18n;
use super::page::{render_form, see_other};
use super::patients::own;
use raremesh_domain::registration::Member;
use raremesh_domain::registration::patient::{MAX_SYMPTOMS, Onset, Patient, Symptom};
use raremesh_domain::state::AppState;

/// What the member chose for the symptom being added, kept through every step.
#[derive(Debug, Clone, Copy, Default)]
struct Kept {
    excluded: bool,
    onset: Option<Onset>,
}

impl Kept {
    fn from(form: &HashMap<String, String>) -> Self {
        Self {
            excluded: form.get("presence").map(String::as_str) == Some("excluded"),
            onset: form
                .get("onset")
                .and_then(|o| Onset::ALL.into_iter().find(|x| x.key() == o)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    p: &Patient,
    status: StatusCode,
    query: &str,
    kept: Kept,
    error: Option<&str>,
) -> Response {
    let o = &state.ontology;
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    // The name in the member's language, and the English one beside it when it differs.
    let names = |t: raremesh_ontology::TermIdx| {
        let name = o.term_name(t, lang).to_owned();
        let english = &o.term(t).name;
        let en = if &name == english {
            String::new()
        } else {
            english.clone()
        };
        (name, en)
    };
    let symptoms: Vec<HashMap<&str, String>> = p
        .symptoms
        .iter()
        .map(|s| {
            let (name, en) = o
                .resolve(s.term)
                .map_or_else(|| (s.term.to_string(), String::new()), names);
            HashMap::from([
                ("id", s.term.to_string()),
                ("name", name),
                ("en", en),
                ("observed", s.observed.to_string()),
                (
                    "onset",
                    s.onset.map(Onset::key).unwrap_or_default().to_owned(),
                ),
            ])
        })
        .collect();
    let mut confident = false;
    let matches: Vec<HashMap<&str, String>> = if query.trim().is_empty() {
        Vec::new()
    } else {
        let hits = state.autocomplete.terms_in(o, query, 8, lang);
        // Pre-selected only when the words name one term without doubt.
        confident = hits.first().is_some_and(|h| h.confident);
        hits.into_iter()
            .filter_map(|h| match h.target {
                Target::Term(t) => {
                    let (name, en) = names(t);
                    let matched = if h.matched == name || h.matched == en {
                        String::new()
                    } else {
                        h.matched
                    };
                    Some(HashMap::from([
                        ("id", o.term(t).id.to_string()),
                        ("name", name),
                        ("en", en),
                        ("matched", matched),
                    ]))
                }
                Target::Disease(_) => None,
            })
            .collect()
    };
    let onsets: Vec<&str> = Onset::ALL.iter().map(|o| o.key()).collect();
    render_form(
        state,
        headers,
        lang,
        status,
        "symptoms.html",
        context! {
            patient_id => p.id, patient_name => p.display_name, symptoms, matches, query, error,
            onsets, searched => !query.trim().is_empty(), confident,
            excluded => kept.excluded, onset => kept.onset.map(Onset::key).unwrap_or_default(),
            registering => m.step < 5,
        },
    )
}

/// The symptoms page with an error about something else on it (the Phenopacket import's).
pub(super) fn page_with_error(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    p: &Patient,
    status: StatusCode,
    key: &str,
) -> Response {
    page(state, headers, m, p, status, "", Kept::default(), Some(key))
}

/// `GET /patients/{id}/symptoms?q=`: the symptoms, and matching terms for `q`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let query: String = q
        .get("q")
        .map(|s| s.chars().take(200).collect())
        .unwrap_or_default();
    page(
        &state,
        &headers,
        &m,
        &p,
        StatusCode::OK,
        &query,
        Kept::default(),
        None,
    )
}

/// `POST /patients/{id}/symptoms`: adds (or updates) a symptom. `term` is an HPO id, or
/// the id followed by the name as the suggestion list gives it; anything else is searched
/// and the matches are offered to pick from.
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    sent: Sent<Fields>,
) -> Response {
    let (_, mut m, mut p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                page(
                    &state,
                    &headers,
                    &m,
                    &p,
                    StatusCode::FORBIDDEN,
                    "",
                    Kept::default(),
                    Some("register.expired_form"),
                )
            });
        }
    };
    let kept = Kept::from(&form);
    let raw = form.get("term").map(|s| s.trim()).unwrap_or_default();
    let first = raw.split_whitespace().next().unwrap_or_default();
    let Some(term) = first
        .parse::<HpoId>()
        .ok()
        .and_then(|hid| state.ontology.resolve(hid))
    else {
        // Not a term: the words to search (the box under "none of these", else `term`).
        let words = form
            .get("words")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or(raw);
        let query: String = words.chars().take(200).collect();
        let error = if query.is_empty() {
            Some("symptom.error.empty")
        } else {
            None
        };
        return page(
            &state,
            &headers,
            &m,
            &p,
            StatusCode::UNPROCESSABLE_ENTITY,
            &query,
            kept,
            error,
        );
    };
    let (observed, onset) = (!kept.excluded, kept.onset);
    let id = state.ontology.term(term).id;
    if let Some(s) = p.symptoms.iter_mut().find(|s| s.term == id) {
        s.observed = observed;
        s.onset = onset;
    } else if p.symptoms.len() >= MAX_SYMPTOMS {
        return page(
            &state,
            &headers,
            &m,
            &p,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            kept,
            Some("symptom.error.too_many"),
        );
    } else {
        p.symptoms.push(Symptom {
            term: id,
            observed,
            onset,
        });
    }
    if let Err(e) = state.patients.save(&p) {
        return failed(&headers, e);
    }
    if let Err(e) = state.registrations.symptoms_given(&mut m, &p) {
        return failed(&headers, e);
    }
    see_other(&format!("/patients/{}/symptoms", p.id))
}

/// The form removing a symptom.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TermForm {
    /// The HPO id.
    term: String,
}

/// `POST /patients/{id}/symptoms/remove`: removes a symptom.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    sent: Sent<TermForm>,
) -> Response {
    let (_, m, mut p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                page(
                    &state,
                    &headers,
                    &m,
                    &p,
                    StatusCode::FORBIDDEN,
                    "",
                    Kept::default(),
                    Some("register.expired_form"),
                )
            });
        }
    };
    let target = form.term.parse::<HpoId>().ok();
    p.symptoms.retain(|s| Some(s.term) != target);
    if let Err(e) = state.patients.save(&p) {
        return failed(&headers, e);
    }
    see_other(&format!("/patients/{}/symptoms", p.id))
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route(
            "/patients/{id}/symptoms",
            axum::routing::get(list).post(add),
        )
        .route(
            "/patients/{id}/symptoms/remove",
            axum::routing::post(remove),
        )
}
