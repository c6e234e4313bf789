//! One patient as a GA4GH Phenopacket v2 (JSON): what a member downloads and what a study
//! export holds; [`import`] reads one into a patient.

pub mod import;

use raremesh_ontology::Ontology;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::registration::patient::{Diagnosis, Patient, Sex};

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
