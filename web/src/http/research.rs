//! Questionnaires for a patient: `/patients/{id}/questionnaires` (the list),
//! `/patients/{id}/questionnaires/{q}` (answer; save a draft or submit; change later) and
//! `/patients/{id}/questionnaires/{q}/results` (where I stand). For validated patients of
//! members who consented to research.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};

use super::form::{CsrfForm, FormError, Sent};
use super::i18n;
use super::page::{render_form, see_other};
use super::page_error::{PageError, failed};
use super::patients::own;
use raremesh_domain::clock::now;
use raremesh_domain::ids::{AccountId, PatientId};
use raremesh_domain::message::Message;
use raremesh_domain::registration::Member;
use raremesh_domain::registration::patient::Patient;
use raremesh_domain::research::answers::{self, Answers};
use raremesh_domain::research::questionnaire::{Kind, Questionnaire};
use raremesh_domain::research::standing::{Standing, comparable, standings};
use raremesh_domain::state::AppState;

/// The 404 page, in the member's language (no such questionnaire for this patient).
fn not_found(headers: &HeaderMap, m: &Member) -> Response {
    PageError::NotFound {
        lang: i18n::pick(headers, None, Some(&m.info.language)),
    }
    .into_response()
}

/// Why the patient cannot answer yet, as a message key.
fn blocked(m: &Member, p: &Patient) -> Option<&'static str> {
    if !m.consents.research {
        Some("research.needs_consent")
    } else if !p.validation.is_approved() {
        Some("research.needs_validation")
    } else {
        None
    }
}

/// `GET /patients/{id}/questionnaires`.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let lang = i18n::pick(&headers, None, Some(&m.info.language));
    let mut items = Vec::new();
    for q in state.research.for_patient(&p) {
        let status = match state.research.answers(&m.account_id, &p.id, &q.id) {
            Ok(Some(a)) if a.submitted => "submitted",
            Ok(Some(_)) => "draft",
            Ok(None) => "new",
            Err(e) => return failed(&headers, e),
        };
        let shown = q.shown_in(lang).questionnaire;
        items.push(context! { id => q.id.clone(), title => shown.title, description => shown.description, status });
    }
    render_form(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "questionnaires.html",
        context! { patient => context! { id => p.id.clone(), name => p.display_name.clone() }, items, blocked => blocked(&m, &p) },
    )
}

/// What a questionnaire form shows besides its questions.
struct Filled<'a> {
    values: &'a HashMap<String, Vec<String>>,
    errors: &'a [(String, &'static str)],
    saved: Option<&'a Answers>,
}

fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    (m, p, q): (&Member, &Patient, &Questionnaire),
    status: StatusCode,
    f: Filled<'_>,
) -> Response {
    let Filled {
        values,
        errors,
        saved,
    } = f;
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    let shown = q.shown_in(lang);
    let questions: Vec<Value> = shown
        .questionnaire
        .questions
        .iter()
        .map(|x| {
            let given = values.get(&x.id).cloned().unwrap_or_default();
            let options: Vec<Value> = x
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    context! { index => i.to_string(), label => o.clone(), checked => given.contains(&i.to_string()) }
                })
                .collect();
            context! {
                id => x.id.clone(),
                text => x.text.clone(),
                kind => format!("{:?}", x.kind).to_lowercase(),
                options,
                min => x.min,
                max => x.max,
                steps => match x.kind {
                    Kind::Scale => (x.min.unwrap_or(0)..=x.max.unwrap_or(0)).map(|n| n.to_string()).collect::<Vec<_>>(),
                    _ => Vec::new(),
                },
                labels => x.labels.clone(),
                unit => x.unit.clone(),
                // A saved decimal, with the member's decimal separator.
                value => given
                    .first()
                    .map(|v| if x.kind == Kind::Number && lang != "en" { v.replace('.', ",") } else { v.clone() })
                    .unwrap_or_default(),
                decimals => x.decimals,
                error => errors.iter().find(|(id, _)| *id == x.id).map(|(_, e)| *e),
            }
        })
        .collect();
    render_form(
        state,
        headers,
        i18n::pick(headers, None, Some(&m.info.language)),
        status,
        "questionnaire.html",
        context! {
            patient => context! { id => p.id.clone(), name => p.display_name.clone() },
            q => context! { id => q.id.clone(), title => shown.questionnaire.title.clone(), description => shown.questionnaire.description.clone() },
            untranslated => !shown.complete,
            questions,
            has_errors => !errors.is_empty(),
            submitted => saved.is_some_and(|a| a.submitted),
        },
    )
}

/// The form values of saved answers (options by number).
fn values_of(q: &Questionnaire, a: &Answers) -> HashMap<String, Vec<String>> {
    q.questions
        .iter()
        .filter_map(|x| {
            let v = a.values.get(&x.id)?;
            let idx = |o: &String| x.options.iter().position(|y| y == o).map(|i| i.to_string());
            let list = match v {
                answers::Value::Int(n) => vec![n.to_string()],
                answers::Value::List(l) => l.iter().filter_map(idx).collect(),
                answers::Value::Text(t) if matches!(x.kind, Kind::Single) => {
                    idx(t).into_iter().collect()
                }
                answers::Value::Text(t) => vec![t.clone()],
            };
            Some((x.id.clone(), list))
        })
        .collect()
}

/// `GET /patients/{id}/questionnaires/{q}`.
pub async fn show(
    State(state): State<AppState>,
    Path((id, qid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let Some(q) = state
        .research
        .for_patient(&p)
        .into_iter()
        .find(|q| q.id == qid)
    else {
        return not_found(&headers, &m);
    };
    if blocked(&m, &p).is_some() {
        return see_other(&format!("/patients/{}/questionnaires", p.id));
    }
    let saved = match state.research.answers(&m.account_id, &p.id, &q.id) {
        Ok(a) => a,
        Err(e) => return failed(&headers, e),
    };
    let values = saved.as_ref().map(|a| values_of(q, a)).unwrap_or_default();
    form_page(
        &state,
        &headers,
        (&m, &p, q),
        StatusCode::OK,
        Filled {
            values: &values,
            errors: &[],
            saved: saved.as_ref(),
        },
    )
}

/// `POST /patients/{id}/questionnaires/{q}`: `action` = `draft` or `submit`.
pub async fn save(
    State(state): State<AppState>,
    Path((id, qid)): Path<(String, String)>,
    headers: HeaderMap,
    sent: Sent<Vec<(String, String)>>,
) -> Response {
    let (fresh, form) = match sent {
        Ok(CsrfForm(form)) => (true, form),
        Err(FormError::Expired(form)) => (false, form),
        Err(e) => return e.into_response(),
    };
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let Some(q) = state
        .research
        .for_patient(&p)
        .into_iter()
        .find(|q| q.id == qid)
    else {
        return not_found(&headers, &m);
    };
    if blocked(&m, &p).is_some() {
        return see_other(&format!("/patients/{}/questionnaires", p.id));
    }
    let mut values: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in &form {
        if let Some(qid) = k.strip_prefix("q-") {
            values.entry(qid.to_owned()).or_default().push(v.clone());
        }
    }
    if !fresh {
        return form_page(
            &state,
            &headers,
            (&m, &p, q),
            StatusCode::FORBIDDEN,
            Filled {
                values: &values,
                errors: &[(String::new(), "register.expired_form")],
                saved: None,
            },
        );
    }
    let parsed = match answers::parse(q, &form) {
        Ok(v) => v,
        Err(errors) => {
            return form_page(
                &state,
                &headers,
                (&m, &p, q),
                StatusCode::UNPROCESSABLE_ENTITY,
                Filled {
                    values: &values,
                    errors: &errors,
                    saved: None,
                },
            );
        }
    };
    let submit = form.iter().any(|(k, v)| k == "action" && v == "submit");
    let previous = match state.research.answers(&m.account_id, &p.id, &q.id) {
        Ok(a) => a,
        Err(e) => return failed(&headers, e),
    };
    let a = Answers {
        questionnaire: q.id.clone(),
        version: q.version,
        account_id: m.account_id.clone(),
        patient_id: p.id.clone(),
        values: parsed,
        submitted: submit || previous.is_some_and(|a| a.submitted),
        updated_at: now(),
    };
    if let Err(e) = state.research.save(&a) {
        return failed(&headers, e);
    }
    if a.submitted {
        see_other(&format!(
            "/patients/{}/questionnaires/{}/results",
            p.id, q.id
        ))
    } else {
        see_other(&format!("/patients/{}/questionnaires", p.id))
    }
}

/// `GET /patients/{id}/questionnaires/{q}/results`: where I stand.
pub async fn results(
    State(state): State<AppState>,
    Path((id, qid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (_, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let Some(q) = state
        .research
        .for_patient(&p)
        .into_iter()
        .find(|q| q.id == qid)
    else {
        return not_found(&headers, &m);
    };
    let own = match state.research.answers(&m.account_id, &p.id, &q.id) {
        Ok(Some(a)) if a.submitted && blocked(&m, &p).is_none() => a,
        Ok(_) => return see_other(&format!("/patients/{}/questionnaires/{}", p.id, q.id)),
        Err(e) => return failed(&headers, e),
    };
    let (who, is_comparable) = comparable(&state.research, &state.ontology, &p);
    // Only validated patients of members who still consent to research count.
    let consenting: std::collections::HashSet<AccountId> = match state.registrations.members() {
        Ok(ms) => ms
            .into_iter()
            .filter(|x| x.consents.research)
            .map(|x| x.account_id)
            .collect(),
        Err(e) => return failed(&headers, e),
    };
    let all = match (state.research.all_submitted(&q.id), state.patients.all()) {
        (Ok(a), Ok(ps)) => (a, ps),
        (Err(e), _) | (_, Err(e)) => return failed(&headers, e),
    };
    let patients: HashMap<(AccountId, PatientId), Patient> = all
        .1
        .into_iter()
        .map(|x| ((x.account_id.clone(), x.id.clone()), x))
        .collect();
    let others: Vec<&Answers> = all
        .0
        .iter()
        .filter(|a| consenting.contains(&a.account_id))
        .filter(|a| {
            patients
                .get(&(a.account_id.clone(), a.patient_id.clone()))
                .is_some_and(|x| x.validation.is_approved() && is_comparable(x))
        })
        .collect();
    let lang = i18n::pick(&headers, None, Some(&m.info.language));
    let shown = q.shown_in(lang);
    let list = in_language(
        standings(state.research.k, &q.questions, &own, &others),
        q,
        &shown.questionnaire,
        state.research.k,
        lang,
    );
    // Partner organizations running the same questionnaire: their latest distributions
    // (asked again in the background when older than ten minutes).
    let orpha = match p.diagnosis {
        raremesh_domain::registration::patient::Diagnosis::Orpha { code } => {
            Some(u64::from(code.number()))
        }
        _ => None,
    };
    let mut partners = Vec::new();
    if let Some(f) = state.federation.clone() {
        for x in &q.questions {
            let d = match f.partner_distributions(&q.id, &x.id, orpha) {
                Ok(d) => d,
                Err(e) => return failed(&headers, e),
            };
            let mut merged: Vec<(String, u64)> = Vec::new();
            let mut nodes = Vec::new();
            for (peer, a) in &d.peers {
                if a.status == raremesh_bridge::protocol::DistributionStatus::Ok {
                    for b in &a.bins {
                        match merged.iter_mut().find(|(l, _)| *l == b.label) {
                            Some(m) => m.1 += b.count,
                            None => merged.push((b.label.clone(), b.count)),
                        }
                    }
                }
                nodes.push(context! {
                    name => f.peer(peer).map_or(peer.clone(), |p| p.name.clone()),
                    status => a.status.as_str(),
                    answered => a.answered,
                    at => raremesh_domain::clock::rfc3339(a.at),
                });
            }
            let mine: Vec<String> = list
                .iter()
                .find(|s| s.id == x.id)
                .map(|s| {
                    s.bars
                        .iter()
                        .filter(|b| b.mine)
                        .map(|b| b.label.clone())
                        .collect()
                })
                .unwrap_or_default();
            partners.push(context! {
                id => x.id.clone(),
                bars => merged.iter().map(|(l, c)| context! { label => option_in(q, &shown.questionnaire, &x.id, l), count => *c, mine => mine.contains(&option_in(q, &shown.questionnaire, &x.id, l)) }).collect::<Vec<_>>(),
                nodes,
            });
            let (f2, qid, xid) = (f.clone(), q.id.clone(), x.id.clone());
            tokio::spawn(async move {
                if let Err(e) = f2.refresh_distribution(&qid, &xid, orpha).await {
                    tracing::info!(error = %e, "asking partners for a distribution failed");
                }
            });
        }
    }
    render_form(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "standing.html",
        context! {
            patient => context! { id => p.id.clone(), name => p.display_name.clone() },
            q => context! { id => q.id.clone(), title => shown.questionnaire.title.clone() },
            untranslated => !shown.complete,
            who => who.render(lang),
            k => state.research.k,
            standings => list,
            partners,
        },
    )
}

/// An answer's label (an option as the questionnaire's file has it) in the member's
/// language: the option at the same place in the questionnaire shown.
fn option_in(own: &Questionnaire, shown: &Questionnaire, question: &str, label: &str) -> String {
    let at = |q: &Questionnaire| q.questions.iter().find(|x| x.id == question).cloned();
    match (at(own), at(shown)) {
        (Some(a), Some(b)) => a
            .options
            .iter()
            .position(|o| o == label)
            .and_then(|i| b.options.get(i).cloned())
            .unwrap_or_else(|| label.to_owned()),
        _ => label.to_owned(),
    }
}

/// The distributions with the question, the options and the sentence for screen readers
/// in the member's language.
fn in_language(
    list: Vec<Standing>,
    own: &Questionnaire,
    shown: &Questionnaire,
    k: u32,
    lang: &str,
) -> Vec<Standing> {
    list.into_iter()
        .map(|mut s| {
            if let Some(x) = shown.questions.iter().find(|x| x.id == s.id) {
                s.text = x.text.clone();
            }
            for b in &mut s.bars {
                b.label = option_in(own, shown, &s.id, &b.label);
            }
            s.summary = if s.shown {
                let yours = Message::new("research.yours").render(lang);
                let parts: Vec<String> = s
                    .bars
                    .iter()
                    .map(|b| {
                        let mine = if b.mine {
                            format!(" ({yours})")
                        } else {
                            String::new()
                        };
                        format!("{}: {}{mine}", b.label, b.count)
                    })
                    .collect();
                Message::new("research.summary")
                    .with("answered", s.answered)
                    .with("parts", parts.join("; "))
                    .render(lang)
            } else {
                Message::new("research.summary_hidden")
                    .with("k", k)
                    .render(lang)
            };
            s
        })
        .collect()
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/patients/{id}/questionnaires", axum::routing::get(list))
        .route(
            "/patients/{id}/questionnaires/{q}",
            axum::routing::get(show).post(save),
        )
        .route(
            "/patients/{id}/questionnaires/{q}/results",
            axum::routing::get(results),
        )
}
