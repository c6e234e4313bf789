//! A member's own data: everything the node holds about them (JSON), each patient as a
//! GA4GH Phenopacket v2 (JSON), and deleting it all.

use raremesh_ontology::Ontology;
use serde_json::{Value, json};

use crate::accounts::Account;
use crate::registration::Member;
use crate::registration::patient::{Diagnosis, Patient, Sex};
use crate::state::AppState;

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One patient as a GA4GH Phenopacket (schema version 2.0).
pub fn phenopacket(ontology: &Ontology, patient: &Patient, now: u64) -> Value {
    let label = |id: raremesh_ontology::HpoId| {
        ontology
            .resolve(id)
            .map(|t| ontology.term(t).name.clone())
            .unwrap_or_default()
    };
    let features: Vec<Value> = patient
        .symptoms
        .iter()
        .map(|s| {
            let mut f = json!({ "type": { "id": s.term.to_string(), "label": label(s.term) } });
            if !s.observed {
                f["excluded"] = json!(true);
            }
            if let Some(onset) = s.onset {
                let id: raremesh_ontology::HpoId = onset
                    .hpo_id()
                    .parse()
                    .unwrap_or(raremesh_ontology::HpoId::from_number(0));
                f["onset"] =
                    json!({ "ontologyClass": { "id": onset.hpo_id(), "label": label(id) } });
            }
            f
        })
        .collect();
    let diseases: Vec<Value> = match &patient.diagnosis {
        Diagnosis::Orpha { code } => vec![
            json!({ "term": { "id": code.to_string(), "label": ontology.disease(*code).map(|d| d.name.clone()).unwrap_or_default() } }),
        ],
        _ => Vec::new(),
    };
    let sex = match patient.sex {
        Sex::Female => "FEMALE",
        Sex::Male => "MALE",
        Sex::Other => "OTHER_SEX",
        Sex::Unknown => "UNKNOWN_SEX",
    };
    let v = ontology.version();
    json!({
        "id": patient.id,
        "subject": { "id": patient.id, "sex": sex },
        "phenotypicFeatures": features,
        "diseases": diseases,
        "metaData": {
            "created": rfc3339(now),
            "createdBy": format!("raremesh {}", crate::VERSION),
            "resources": [
                {
                    "id": "hp",
                    "name": "human phenotype ontology",
                    "url": "http://purl.obolibrary.org/obo/hp.owl",
                    "version": v.hpo_release(),
                    "namespacePrefix": "HP",
                    "iriPrefix": "http://purl.obolibrary.org/obo/HP_"
                },
                {
                    "id": "ordo",
                    "name": "Orphanet Rare Disease Ontology",
                    "url": "http://www.orpha.net/ontology/orphanet.owl",
                    "version": v.annotations,
                    "namespacePrefix": "ORPHA",
                    "iriPrefix": "http://www.orpha.net/ORDO/Orphanet_"
                }
            ],
            "phenopacketSchemaVersion": "2.0"
        }
    })
}

/// Everything the node holds about an account, as one JSON document.
pub fn everything(
    state: &AppState,
    account: &Account,
    member: Option<&Member>,
    patients: &[Patient],
    now: u64,
) -> Value {
    json!({
        "exported_at": rfc3339(now),
        "node": state.config.node.name,
        "account": {
            "id": account.id,
            "email": account.email,
            "role": account.role,
            "created_at": rfc3339(account.created_at),
            "email_confirmed": account.email_confirmed,
        },
        "member": member,
        "patients": patients.iter().map(|p| json!({
            "record": p,
            "phenopacket": phenopacket(&state.ontology, p, now),
            "documents": state.documents.of_patient(&p.account_id, &p.id).unwrap_or_default(),
            "questionnaire_answers": state.research.of_patient(&p.account_id, &p.id).unwrap_or_default(),
        })).collect::<Vec<_>>(),
        // What the member wrote, without who followed, marked or reported it.
        "questions": state.qa.store.questions().unwrap_or_default().into_iter()
            .filter(|q| q.account_id == account.id && q.hidden.as_ref().is_none_or(|h| !h.deleted))
            .map(|q| json!({
                "id": q.id, "title": q.title, "body": q.body,
                "tags": q.tags.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "disease": q.disease.map(|d| d.to_string()), "language": q.language,
                "patient_id": q.patient_id, "author": q.author,
                "created_at": rfc3339(q.created_at), "edited_at": q.edited_at.map(rfc3339),
                "hidden": q.hidden.map(|h| h.reason), "followers": q.followers.len(),
            }))
            .collect::<Vec<_>>(),
        "answers": state.qa.store.all_answers().unwrap_or_default().into_iter()
            .filter(|a| a.account_id == account.id && a.hidden.as_ref().is_none_or(|h| !h.deleted))
            .map(|a| json!({
                "id": a.id, "question_id": a.question_id, "body": a.body, "author": a.author,
                "created_at": rfc3339(a.created_at), "edited_at": a.edited_at.map(rfc3339),
                "helpful": a.helpful.len(), "accepted": a.accepted,
                "hidden": a.hidden.map(|h| h.reason),
            }))
            .collect::<Vec<_>>(),
    })
}
