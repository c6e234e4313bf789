//! Export for an approved study: for validated patients of members who consent to
//! research, a GA4GH Phenopacket v2 and the questionnaire answers, under a pseudonym that
//! is stable within the study and unrelated across studies. No name, email, birth date,
//! free text or document.

use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::query::Counting;
use crate::ids::AccountId;

fn study_key(dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = dir.join("study.key");
    if !path.exists() {
        std::fs::create_dir_all(dir)?;
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
        crate::files::write_new_private(&path, &b)?;
    }
    std::fs::read(&path)
}

/// The study's records, one JSON value per patient, over the research population `c`
/// (the study key is kept in `data_dir/research`).
pub fn export(c: Counting<'_>, data_dir: &Path, study: &str) -> crate::Result<Vec<Value>> {
    let dir = data_dir.join("research");
    let key = study_key(&dir).map_err(|e| crate::Error::DataDir {
        path: dir.clone(),
        error: e,
    })?;
    let pseudonym = |patient: &str| -> String {
        let mut h = Sha256::new();
        h.update(&key);
        h.update(study.as_bytes());
        h.update([0]);
        h.update(patient.as_bytes());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let consenting: std::collections::HashSet<AccountId> = c
        .registrations
        .members()?
        .into_iter()
        .filter(|m| m.consents.research)
        .map(|m| m.account_id)
        .collect();
    let now = crate::clock::now();
    let mut out = Vec::new();
    for p in c.patients.all()? {
        if !p.validation.is_approved() || !consenting.contains(&p.account_id) {
            continue;
        }
        let id = pseudonym(&p.id);
        let mut packet = crate::phenopacket::phenopacket(c.ontology, &p, now);
        packet["id"] = json!(id);
        packet["subject"]["id"] = json!(id);
        let answers: Vec<Value> = c
            .research
            .of_patient(&p.account_id, &p.id)?
            .into_iter()
            .filter(|a| a.submitted)
            .map(|a| json!({ "questionnaire": a.questionnaire, "version": a.version, "answers": a.values }))
            .collect();
        out.push(json!({ "pseudonym": id, "phenopacket": packet, "questionnaires": answers }));
    }
    Ok(out)
}
