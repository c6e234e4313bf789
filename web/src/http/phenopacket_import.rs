//! `/patients/{id}/phenopacket/import`: a member imports a GA4GH Phenopacket (JSON) into a
//! patient's symptoms and diagnosis: the file is read and what it would add is shown;
//! nothing is saved until the member confirms, and then all of it or nothing.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use raremesh_domain::phenopacket::import::{ImportError, MAX_BYTES, Packet, Plan};
use raremesh_domain::registration::Member;
use raremesh_domain::registration::patient::{Onset, Patient, Symptom};
use raremesh_domain::state::AppState;

use super::cookies;
use super::form::{CsrfForm, Fields, Sent};
use super::i18n;
use super::page::{render_form, see_other};
use super::page_error::failed;
use super::patients::own;

/// Why an upload is refused, as a catalogue key and a status.
fn refused(e: &ImportError) -> (StatusCode, &'static str) {
    let status = match e {
        ImportError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, e.key())
}

/// A symptom as the page lists it: its name in the member's language (and the English
/// one beside it), presence and onset.
fn shown(state: &AppState, lang: &str, s: &Symptom) -> HashMap<&'static str, String> {
    let o = &state.ontology;
    let (name, en) = o.resolve(s.term).map_or_else(
        || (s.term.to_string(), String::new()),
        |t| {
            let name = o.term_name(t, lang).to_owned();
            let english = o.term(t).name.clone();
            let en = if name == english {
                String::new()
            } else {
                english
            };
            (name, en)
        },
    );
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
}

/// The preview: what the packet would add, change and leave out.
fn preview(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    p: &Patient,
    plan: &Plan,
    packet: &str,
) -> Response {
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    let add: Vec<_> = plan.add.iter().map(|s| shown(state, lang, s)).collect();
    let change: Vec<_> = plan.change.iter().map(|s| shown(state, lang, s)).collect();
    let disease = plan.diagnosis.map(|code| {
        let name = state
            .ontology
            .disease(code)
            .map(|d| d.name.clone())
            .unwrap_or_default();
        HashMap::from([("id", code.to_string()), ("name", name)])
    });
    let skipped: Vec<HashMap<&str, String>> = plan
        .skipped
        .iter()
        .map(|s| {
            HashMap::from([
                ("id", s.id.clone()),
                ("label", s.label.clone()),
                ("why", s.why.key().to_owned()),
            ])
        })
        .collect();
    render_form(
        state,
        headers,
        lang,
        StatusCode::OK,
        "phenopacket.html",
        context! {
            patient_id => p.id, patient_name => p.display_name, add, change, disease, skipped,
            unchanged => plan.unchanged, empty => plan.is_empty(), packet,
        },
    )
}

/// The symptoms page with an error about the file.
fn symptoms_with(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    p: &Patient,
    status: StatusCode,
    key: &str,
) -> Response {
    super::symptoms::page_with_error(state, headers, m, p, status, key)
}

/// Reads the upload form: `csrf`, then `file` (at most [`MAX_BYTES`]).
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    mut form: Multipart,
) -> Result<Vec<u8>, (StatusCode, &'static str)> {
    let mut csrf: Option<String> = None;
    let malformed = (StatusCode::BAD_REQUEST, "phenopacket.err.malformed");
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err((StatusCode::UNPROCESSABLE_ENTITY, "phenopacket.err.no_file")),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(refused(&ImportError::TooLarge));
            }
            Err(_) => return Err(malformed),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                refused(&ImportError::TooLarge)
            } else {
                malformed
            }
        })? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_BYTES {
                return Err(refused(&ImportError::TooLarge));
            }
        }
        match name.as_str() {
            "csrf" => csrf = String::from_utf8(bytes).ok(),
            "file" => {
                if !cookies::csrf_ok(state, headers, csrf.as_ref()) {
                    return Err((StatusCode::FORBIDDEN, "register.expired_form"));
                }
                if bytes.is_empty() {
                    return Err((StatusCode::UNPROCESSABLE_ENTITY, "phenopacket.err.no_file"));
                }
                return Ok(bytes);
            }
            _ => {}
        }
    }
}

/// `POST /patients/{id}/phenopacket/import`: reads an uploaded packet and shows what it would do.
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let bytes = match receive(&state, &headers, form).await {
        Ok(b) => b,
        Err((status, key)) => return symptoms_with(&state, &headers, &m, &p, status, key),
    };
    let packet = match Packet::read(&bytes) {
        Ok(x) => x,
        Err(e) => {
            tracing::info!(error = %e, "a Phenopacket was refused");
            let (status, key) = refused(&e);
            return symptoms_with(&state, &headers, &m, &p, status, key);
        }
    };
    let plan = Plan::of(&state.ontology, &p, &packet);
    // Read as UTF-8 above (JSON is): shown back in the confirming form.
    let text = String::from_utf8_lossy(&bytes);
    preview(&state, &headers, &m, &p, &plan, &text)
}

/// `POST /patients/{id}/phenopacket/import/apply`: imports the confirmed packet (planned again
/// against the patient as it is now), all of it or nothing.
pub async fn apply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
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
                symptoms_with(
                    &state,
                    &headers,
                    &m,
                    &p,
                    StatusCode::FORBIDDEN,
                    "register.expired_form",
                )
            });
        }
    };
    let text = form.get("packet").map(String::as_str).unwrap_or_default();
    let plan = match Packet::read(text.as_bytes()) {
        Ok(packet) => Plan::of(&state.ontology, &p, &packet),
        Err(e) => {
            let (status, key) = refused(&e);
            return symptoms_with(&state, &headers, &m, &p, status, key);
        }
    };
    if let Err(e) = plan.apply(&mut p) {
        let (status, key) = refused(&e);
        return symptoms_with(&state, &headers, &m, &p, status, key);
    }
    if let Err(e) = state.patients.save(&p) {
        return failed(&headers, e);
    }
    tracing::info!(
        added = plan.add.len(),
        changed = plan.change.len(),
        diagnosis = plan.diagnosis.is_some(),
        "a Phenopacket was imported"
    );
    if let Err(e) = state.registrations.symptoms_given(&mut m, &p) {
        return failed(&headers, e);
    }
    see_other(&format!("/patients/{}/symptoms", p.id))
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    // The confirming form carries the packet back, percent-encoded (up to three bytes
    // for one).
    let limit = 3 * MAX_BYTES + 64 * 1024;
    axum::Router::new()
        .route(
            "/patients/{id}/phenopacket/import",
            axum::routing::post(upload).layer(axum::extract::DefaultBodyLimit::max(limit)),
        )
        .route(
            "/patients/{id}/phenopacket/import/apply",
            axum::routing::post(apply).layer(axum::extract::DefaultBodyLimit::max(limit)),
        )
}
