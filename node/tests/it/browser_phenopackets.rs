//! A member imports a Phenopacket in real headless Chromium, in Spanish and French, at
//! phone width with axe-core: the symptoms page's upload, the preview, the import.

use raremesh::accounts::Role;
use raremesh::registration::patient::{Diagnosis, Onset, Symptom};
use raremesh_ontology::{HpoId, OrphaCode};
use serde_json::Value;

use crate::driver::Driver;
use crate::socket::serve_state;
use crate::validation::Node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_imports_a_phenopacket_in_spanish_and_french_on_a_phone() {
    let node = Node::new(|_| {});
    // A clinic's packet: made from a described patient, as a node exports it.
    let (clinic, _) = node.account("clinic@example.org", Role::Member, true);
    let mut described = node.patient(&clinic, "Source", &[]);
    described.symptoms = vec![
        Symptom {
            term: "HP:0001250".parse::<HpoId>().expect("id"),
            observed: true,
            onset: Some(Onset::Infantile),
        },
        Symptom {
            term: "HP:0000365".parse::<HpoId>().expect("id"),
            observed: false,
            onset: None,
        },
    ];
    described.diagnosis = Diagnosis::Orpha {
        code: OrphaCode::from_number(558),
    };
    let mut packet = raremesh::phenopacket::phenopacket(&node.state.ontology, &described, 1);
    packet["phenotypicFeatures"]
        .as_array_mut()
        .expect("features")
        .push(serde_json::json!({ "type": { "id": "MONDO:0007947", "label": "Marfan" } }));
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("packet.json");
    std::fs::write(&file, packet.to_string()).expect("write");

    let (base, stop, _handle) = serve_state(node.state.clone()).await;
    let d = Driver::start().await;
    for (lang, add, seizure, not_hpo) in [
        (
            "es",
            "Síntomas que se añadirán",
            "Convulsiones",
            "no es un síntoma de la Human Phenotype Ontology",
        ),
        (
            "fr",
            "Symptômes à ajouter",
            "Epilépsie",
            "pas un symptôme de la Human Phenotype Ontology",
        ),
    ] {
        let email = format!("import.{lang}@example.org");
        let (id, _) = node.account(&email, Role::Member, true);
        let mut m = node.state.registrations.member(&id).expect("m").expect("m");
        m.info.language = lang.into();
        node.state.registrations.save_member(&m).expect("save");
        let p = node.patient(&id, "Niño", &[]);

        d.sign_in(&base, lang, &email, "a good long password").await;
        d.goto(&format!("{base}/patients/{}/symptoms", p.id)).await;
        d.wait_for_text("main", "Phenopacket").await;
        d.type_into("#packet-file", &file.display().to_string())
            .await;
        d.click("form[action$='/phenopacket/import'] button").await;
        let preview = d.wait_for_text("main", add).await;
        for shown in [seizure, not_hpo, "ORPHA:558"] {
            assert!(preview.contains(shown), "{lang}: {shown:?} in {preview}");
        }
        for english in [
            "Symptoms to add",
            "Not used",
            "Disease",
            "Cancel and go back",
        ] {
            assert!(
                !preview.contains(english),
                "{lang}: English {english:?} left in {preview}"
            );
        }
        d.screenshot(&format!("{lang}-phenopacket-preview")).await;
        assert!(
            node.state
                .patients
                .get(&p.account_id, &p.id)
                .expect("get")
                .expect("p")
                .symptoms
                .is_empty(),
            "{lang}: nothing saved before the member confirms"
        );
        d.click("form[action$='/phenopacket/import/apply'] button")
            .await;
        d.wait_for_text("main", seizure).await;
        let saved = node
            .state
            .patients
            .get(&p.account_id, &p.id)
            .expect("get")
            .expect("p");
        assert_eq!(saved.symptoms, described.symptoms, "{lang}");
        assert_eq!(saved.diagnosis, described.diagnosis, "{lang}");
        d.screenshot(&format!("{lang}-phenopacket-imported")).await;
        d.sign_out(&base).await;
    }
    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
