//! A member's own data: everything the node holds about them (JSON), each patient as a
//! GA4GH Phenopacket v2 (JSON), and deleting it all.

use serde_json::{Value, json};

use crate::accounts::Account;
use crate::clock::rfc3339;
use crate::phenopacket::phenopacket;
use crate::registration::Member;
use crate::registration::patient::Patient;
use crate::state::AppState;

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
