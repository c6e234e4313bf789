//! `GET /patients`, `POST /patients`: registration step 3, the patients of the signed-in
//! member. A member sees and changes only their own patients.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use raremesh_search::Target;

use super::error::internal;
use super::page::{render_form, see_other, signed_in};
use super::{cookies, i18n};
use crate::accounts::Account;
use crate::registration::patient::{Diagnosis, MAX_PER_MEMBER, PatientInput};
use crate::registration::{Member, Registrant};
use crate::state::AppState;

/// The signed-in member, or where to send the browser instead.
pub(crate) fn member(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Account, Member), Box<Response>> {
    let account = signed_in(state, headers)?;
    match state.registrations.member(&account.id) {
        Ok(Some(m)) => Ok((account, m)),
        Ok(None) => Err(Box::new(see_other("/account"))),
        Err(e) => Err(Box::new(internal(e))),
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
        Err(e) => return internal(e),
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
                ("id", p.id.clone()),
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
        context! { values, errors, patients => listed, suggestions, caregiver, full },
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
        Err(r) => *r,
    }
}

/// `POST /patients`: adds a patient (registration step 3).
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (account, mut m) = match member(&state, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if !cookies::csrf_ok(&headers, form.get("csrf")) {
        return page(
            &state,
            &headers,
            &account,
            &m,
            StatusCode::FORBIDDEN,
            &form,
            &[("form", "register.expired_form".into())],
        );
    }
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
        Err(e) => return internal(e),
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
    if let Err(e) = state.patients.add(&account.id, input) {
        return internal(e);
    }
    if m.step < 3 {
        m.step = 3;
        if let Err(e) = state.registrations.save_member(&m) {
            return internal(e);
        }
    }
    see_other("/patients")
}
