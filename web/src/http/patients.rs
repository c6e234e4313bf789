//! `GET /patients`, `POST /patients`: registration step 3, the patients of the signed-in
//! member. A member sees and changes only their own patients.

use super::extract::PageMember;
use super::form::{Button, CsrfForm, Fields, Sent};
use super::page_error::{PageError, failed};
use serde::Deserialize;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use raremesh_search::Target;

use super::i18n;
use super::page::{render_form, see_other, signed_in};
use raremesh_domain::accounts::Account;
use raremesh_domain::audit::{Action, Entry};
use raremesh_domain::clock::now;
use raremesh_domain::ids::PatientId;
use raremesh_domain::registration::patient::{
    Diagnosis, MAX_PER_MEMBER, Patient, PatientInput, Validation,
};
use raremesh_domain::registration::{Member, Registrant};
use raremesh_domain::state::AppState;

/// The signed-in member, or where to send the browser instead.
pub(crate) fn member(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Account, Member), PageError> {
    let account = signed_in(state, headers)?;
    match state.registrations.member(&account.id) {
        Ok(Some(m)) => Ok((account, m)),
        Ok(None) => Err(PageError::Elsewhere("/account")),
        Err(e) => Err(PageError::internal(
            super::page::page_lang(state, headers),
            e,
        )),
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
    member: &Member,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[(&'static str, String)],
) -> Response {
    let patients = match state.patients.of(&account.id) {
        Ok(p) => p,
        Err(e) => return failed(headers, e),
    };
    let o = &state.ontology;
    let listed: Vec<HashMap<&str, String>> = patients
        .iter()
        .map(|p| {
            let diagnosis = match &p.diagnosis {
                Diagnosis::Orpha { code } => o
                    .disease(*code)
                    .map_or_else(|| code.to_string(), |d| format!("{} ({code})", d.name)),
                Diagnosis::NotListed { text } => text.clone(),
                Diagnosis::NoneYet => String::new(),
            };
            HashMap::from([
                ("id", p.id.to_string()),
                ("name", p.display_name.clone()),
                ("year", p.birth_year.to_string()),
                ("diagnosis", diagnosis),
                ("symptoms", p.symptoms.len().to_string()),
                ("status", p.validation.key().to_owned()),
            ])
        })
        .collect();
    // Without JavaScript, a disease typed by name is resolved here: suggestions to pick from.
    let suggestions: Vec<HashMap<&str, String>> = match (
        values.get("diagnosis").map(String::as_str),
        values.get("disease"),
    ) {
        (Some("orpha"), Some(q))
            if errors.iter().any(|(f, _)| *f == "disease") && !q.trim().is_empty() =>
        {
            state
                .autocomplete
                .diseases(o, q, 6)
                .into_iter()
                .filter_map(|h| match h.target {
                    Target::Disease(d) => o.diseases().get(d as usize).map(|d| {
                        HashMap::from([("code", d.code.to_string()), ("name", d.name.clone())])
                    }),
                    Target::Term(_) => None,
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let mut values = values.clone();
    if patients.is_empty()
        && values.is_empty()
        && member.info.registrant == Registrant::AdultPatient
    {
        // An adult patient registers themselves: most of the form is known already.
        values.insert("display_name".into(), member.info.name.clone());
        values.insert("relation".into(), "myself".into());
    }
    let errors: HashMap<&str, &str> = errors.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lang = i18n::pick(headers, None, Some(&member.info.language));
    let caregiver = member.info.registrant == Registrant::Caregiver;
    let full = patients.len() >= MAX_PER_MEMBER;
    render_form(
        state,
        headers,
        lang,
        status,
        "patients.html",
        context! { values, errors, patients => listed, suggestions, caregiver, full, form_action => "/patients", submit_key => "patient.save", registering => member.step < 5 },
    )
}

/// `GET /patients`: the member's patients and a form to add one.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match member(&state, &headers) {
        Ok((account, m)) => page(
            &state,
            &headers,
            &account,
            &m,
            StatusCode::OK,
            &HashMap::new(),
            &[],
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /patients`: adds a patient (registration step 3).
pub async fn add(
    State(state): State<AppState>,
    PageMember(account, mut m): PageMember,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                page(
                    &state,
                    &headers,
                    &account,
                    &m,
                    StatusCode::FORBIDDEN,
                    &form,
                    &[("form", "register.expired_form".into())],
                )
            });
        }
    };
    match state.patients.of(&account.id) {
        Ok(p) if p.len() >= MAX_PER_MEMBER => {
            return page(
                &state,
                &headers,
                &account,
                &m,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &[("form", "patient.error.too_many".into())],
            );
        }
        Ok(_) => {}
        Err(e) => return failed(&headers, e),
    }
    let input = match PatientInput::parse(&state.ontology, &form) {
        Ok(i) => i,
        Err(errors) => {
            return page(
                &state,
                &headers,
                &account,
                &m,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
            );
        }
    };
    let added = match state.patients.add(&account.id, input) {
        Ok(p) => p,
        Err(e) => return failed(&headers, e),
    };
    if m.step < 3 {
        m.step = 3;
        if let Err(e) = state.registrations.save_member(&m) {
            return failed(&headers, e);
        }
    }
    // On to step 4: this patient's symptoms.
    see_other(&format!("/patients/{}/symptoms", added.id))
}

/// The form values of a stored patient.
fn values_of(state: &AppState, p: &Patient) -> HashMap<String, String> {
    let mut values = HashMap::from([
        ("display_name".to_owned(), p.display_name.clone()),
        ("birth_year".to_owned(), p.birth_year.to_string()),
        ("sex".to_owned(), super::page::choice_key(&p.sex)),
        ("relation".to_owned(), super::page::choice_key(&p.relation)),
        (
            "organization".to_owned(),
            p.organization.clone().unwrap_or_default(),
        ),
    ]);
    match &p.diagnosis {
        Diagnosis::Orpha { code } => {
            values.insert("diagnosis".into(), "orpha".into());
            let name = state
                .ontology
                .disease(*code)
                .map_or_else(String::new, |d| d.name.clone());
            values.insert("disease".into(), format!("{code} {name}"));
        }
        Diagnosis::NotListed { text } => {
            values.insert("diagnosis".into(), "not_listed".into());
            values.insert("diagnosis_text".into(), text.clone());
        }
        Diagnosis::NoneYet => {
            values.insert("diagnosis".into(), "none_yet".into());
        }
    }
    values
}

fn edit_page(
    state: &AppState,
    headers: &HeaderMap,
    member: &Member,
    p: &Patient,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[(&'static str, String)],
) -> Response {
    let errors: HashMap<&str, &str> = errors.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lang = i18n::pick(headers, None, Some(&member.info.language));
    render_form(
        state,
        headers,
        lang,
        status,
        "patient_edit.html",
        context! {
            id => p.id.clone(),
            name => p.display_name.clone(),
            approved => p.validation.is_approved(),
            values,
            errors,
            caregiver => member.info.registrant == Registrant::Caregiver,
            form_action => format!("/patients/{}/edit", p.id),
            submit_key => "patient.save_changes",
            matchmaking => super::mme::notice_context(state, member, p),
        },
    )
}

/// The signed-in member's patient `id`, or where to send the browser instead (404 for
/// another member's patient).
pub(crate) fn own(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Account, Member, Patient), PageError> {
    let (account, m) = member(state, headers)?;
    let lang = super::i18n::pick(headers, None, Some(&m.info.language));
    match state.patients.get(&account.id, &PatientId::new(id)) {
        Ok(Some(p)) => Ok((account, m, p)),
        Ok(None) => Err(PageError::NotFound { lang }),
        Err(e) => Err(PageError::internal(lang, e)),
    }
}

/// `GET /patients/{id}/edit`: the patient's details in the form, and removal.
pub async fn edit_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match own(&state, &headers, &id) {
        Ok((_, m, p)) => edit_page(
            &state,
            &headers,
            &m,
            &p,
            StatusCode::OK,
            &values_of(&state, &p),
            &[],
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /patients/{id}/edit`: saves changed details. A validated patient whose year of
/// birth or diagnosis changes goes back to the validators (their documents proved the
/// old values).
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<Fields>,
) -> Response {
    let (account, m, mut p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|form| {
                edit_page(
                    &state,
                    &headers,
                    &m,
                    &p,
                    StatusCode::FORBIDDEN,
                    &form,
                    &[("form", "register.expired_form".into())],
                )
            });
        }
    };
    let input = match PatientInput::parse(&state.ontology, &form) {
        Ok(i) => i,
        Err(errors) => {
            return edit_page(
                &state,
                &headers,
                &m,
                &p,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
            );
        }
    };
    match update(&state, &account.id, &mut p, input) {
        Ok(()) => see_other("/patients"),
        Err(e) => failed(&headers, e),
    }
}

/// Applies changed details to a patient and saves them; a validated patient whose year of
/// birth or diagnosis changes goes back to review.
pub(crate) fn update(
    state: &AppState,
    actor: &str,
    p: &mut Patient,
    input: PatientInput,
) -> Result<(), raremesh_domain::store::StoreError> {
    let needs_review = p.validation.is_approved()
        && (p.birth_year != input.birth_year || p.diagnosis != input.diagnosis);
    p.display_name = input.display_name;
    p.birth_year = input.birth_year;
    p.sex = input.sex;
    p.relation = input.relation;
    p.diagnosis = input.diagnosis;
    p.organization = input.organization;
    if needs_review {
        p.validation = Validation::Pending { since: now() };
        state.audit.record(&Entry {
            at: now(),
            actor: actor.to_owned(),
            action: Action::ValidationRequested,
            account_id: p.account_id.clone(),
            patient_id: Some(p.id.clone()),
            document_id: None,
            reason: Some("details changed after validation".into()),
        })?;
    }
    state.patients.save(p)
}

/// The form removing a patient.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    /// `yes` when the member ticked that they mean it.
    confirm: String,
}

/// `POST /patients/{id}/remove`: erases the patient, their symptoms and documents.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<RemoveForm>,
) -> Response {
    let (account, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let form = match sent {
        Ok(CsrfForm(form)) => form,
        Err(e) => {
            return e.or_page(|_| {
                edit_page(
                    &state,
                    &headers,
                    &m,
                    &p,
                    StatusCode::FORBIDDEN,
                    &values_of(&state, &p),
                    &[("form", "register.expired_form".into())],
                )
            });
        }
    };
    if form.confirm != "yes" {
        return edit_page(
            &state,
            &headers,
            &m,
            &p,
            StatusCode::UNPROCESSABLE_ENTITY,
            &values_of(&state, &p),
            &[("confirm", "patient.error.confirm".into())],
        );
    }
    match raremesh_domain::erasure::erase_patient(&state, &account.id, &p) {
        Ok(()) => see_other("/patients"),
        Err(e) => failed(&headers, e),
    }
}

/// `POST /patients/{id}/pseudonym`: a new pseudonym for partner organizations (the old one
/// is retracted at the next publication).
pub async fn new_pseudonym(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    sent: Sent<Button>,
) -> Response {
    let (_, m, mut p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = sent {
        return e.or_page(|_| {
            edit_page(
                &state,
                &headers,
                &m,
                &p,
                StatusCode::FORBIDDEN,
                &values_of(&state, &p),
                &[("form", "register.expired_form".into())],
            )
        });
    }
    p.pseudonym_rotation = p.pseudonym_rotation.saturating_add(1);
    match state.patients.save(&p) {
        Ok(()) => see_other(&format!("/patients/{}/edit", p.id)),
        Err(e) => failed(&headers, e),
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/patients", axum::routing::get(list).post(add))
        .route(
            "/patients/{id}/edit",
            axum::routing::get(edit_form).post(edit),
        )
        .route("/patients/{id}/remove", axum::routing::post(remove))
        .route(
            "/patients/{id}/pseudonym",
            axum::routing::post(new_pseudonym),
        )
}
