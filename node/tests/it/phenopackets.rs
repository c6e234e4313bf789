//! GA4GH Phenopackets in: a member's upload (shown, then confirmed) and the admin's
//! `raremesh admin import-phenopackets DIR` on a stopped node; a packet exported by a node
//! comes back the same; bad and hostile packets store nothing.

use std::process::Command;

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::registration::patient::{Diagnosis, Onset, Patient, Symptom};
use raremesh_ontology::{HpoId, OrphaCode};

use crate::validation::{CSRF, Node};

const BIN: &str = env!("CARGO_BIN_EXE_raremesh");

fn symptom(term: &str, observed: bool, onset: Option<Onset>) -> Symptom {
    Symptom {
        term: term.parse::<HpoId>().expect("id"),
        observed,
        onset,
    }
}

/// A patient with symptoms present and absent, onsets and an Orphanet diagnosis.
fn described(node: &Node, account: &raremesh::ids::AccountId) -> Patient {
    let mut p = node.patient(account, "Lea", &[]);
    p.symptoms = vec![
        symptom("HP:0001250", true, Some(Onset::Infantile)),
        symptom("HP:0001252", true, None),
        symptom("HP:0000256", false, None),
        symptom("HP:0001263", true, Some(Onset::Childhood)),
    ];
    p.diagnosis = Diagnosis::Orpha {
        code: OrphaCode::from_number(558),
    };
    node.state.patients.save(&p).expect("save");
    p
}

fn stored(node: &Node, p: &Patient) -> Patient {
    node.state
        .patients
        .get(&p.account_id, &p.id)
        .expect("get")
        .expect("patient")
}

/// Posts a packet through the symptoms page's upload form.
async fn upload(node: &Node, p: &Patient, session: &str, bytes: &[u8]) -> (StatusCode, String) {
    node.post_multipart(
        &format!("/patients/{}/phenopacket/import", p.id),
        session,
        &[("csrf", CSRF)],
        ("packet.json", bytes),
    )
    .await
}

/// Confirms the import the preview `page` shows, as its form does.
async fn confirm(node: &Node, p: &Patient, session: &str, page: &str) -> StatusCode {
    let body =
        serde_urlencoded::to_string([("csrf", CSRF), ("packet", &carried(page))]).expect("form");
    node.post_form(
        &format!("/patients/{}/phenopacket/import/apply", p.id),
        session,
        &body,
    )
    .await
    .0
}

/// The packet the preview's confirming form carries back (HTML-unescaped).
fn carried(page: &str) -> String {
    let start = page
        .find("name=\"packet\" value=\"")
        .expect("the confirming form")
        + 21;
    let end = start + page[start..].find('"').expect("end");
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn an_exported_packet_comes_back_the_same_after_the_member_confirms() {
    let node = Node::new(|_| {});
    let (owner, _) = node.account("pp.owner@example.org", Role::Member, true);
    let original = described(&node, &owner);
    let packet = raremesh::phenopacket::phenopacket(&node.state.ontology, &original, 1);
    let bytes = serde_json::to_vec(&packet).expect("json");

    // Another member's new patient, with no symptom yet, in Spanish.
    let (member, session) = node.account("pp.member@example.org", Role::Member, true);
    let mut m = node
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let fresh = node.patient(&member, "Noa", &[]);

    let (st, page) = upload(&node, &fresh, &session, &bytes).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(page.contains("Importar un Phenopacket"), "{page}");
    assert!(page.contains("Síntomas que se añadirán"), "{page}");
    assert!(page.contains("Convulsiones"), "the Spanish name: {page}");
    assert!(page.contains("ORPHA:558"), "{page}");
    // Shown, not saved.
    assert!(stored(&node, &fresh).symptoms.is_empty());

    assert_eq!(
        confirm(&node, &fresh, &session, &page).await,
        StatusCode::SEE_OTHER
    );
    let imported = stored(&node, &fresh);
    assert_eq!(
        imported.symptoms, original.symptoms,
        "same symptoms and exclusions"
    );
    assert_eq!(imported.diagnosis, original.diagnosis);
    assert_eq!(
        node.state
            .registrations
            .member(&member)
            .expect("m")
            .map(|m| m.step >= 4),
        Some(true),
        "the member's registration moves past the symptoms step"
    );

    // The same file again adds nothing, and says so.
    let (st, page) = upload(&node, &fresh, &session, &bytes).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("no añade nada nuevo"), "{page}");
    assert!(
        !page.contains("/phenopacket/import/apply"),
        "nothing to confirm"
    );

    // Another member's patient cannot be imported into.
    let (_, stranger) = node.account("pp.stranger@example.org", Role::Member, true);
    let (st, _) = upload(&node, &fresh, &stranger, &bytes).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_cannot_be_used_is_listed_and_the_rest_imported() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("pp.list@example.org", Role::Member, true);
    let p = node.patient(&member, "Tom", &["HP:0001250"]);
    let packet = serde_json::json!({
        "id": "clinic-17",
        "subject": { "id": "clinic-17", "sex": "MALE" },
        "phenotypicFeatures": [
            // Already there, unchanged.
            { "type": { "id": "HP:0001250", "label": "Seizure" } },
            // An alternative id: the live term (Macrocephaly).
            { "type": { "id": "HP:0005491", "label": "Big head" },
              "onset": { "age": { "iso8601duration": "P3Y" } } },
            { "type": { "id": "HP:0000365", "label": "Hearing impairment" }, "excluded": true,
              "onset": { "ontologyClass": { "id": "HP:0003623", "label": "Neonatal onset" } } },
            { "type": { "id": "MONDO:0010679", "label": "a disease as a feature" } },
            { "type": { "id": "HP:9999999", "label": "unknown" } },
            { "type": { "id": "HP:0001263", "label": "Global developmental delay" },
              "onset": { "timestamp": "2020-01-01T00:00:00Z" } }
        ],
        "diseases": [
            { "term": { "id": "OMIM:310200", "label": "Duchenne muscular dystrophy" } },
            { "term": { "id": "ORPHA:98896", "label": "Duchenne muscular dystrophy" } }
        ]
    });
    let (st, page) = upload(
        &node,
        &p,
        &session,
        &serde_json::to_vec(&packet).expect("json"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    for shown in [
        "Macrocephaly",
        "From 1 to 5 years",
        "Hearing impairment",
        "In the first month",
        "MONDO:0010679",
        "not a symptom of the Human Phenotype Ontology",
        "HP:9999999",
        "a symptom this organization&#x27;s list does not know",
        "the age of onset fits none of the choices here",
        "OMIM:310200",
        "not an Orphanet disease",
        "ORPHA:98896",
        "Already there, unchanged: 1",
    ] {
        assert!(page.contains(shown), "{shown:?} in {page}");
    }
    assert_eq!(
        confirm(&node, &p, &session, &page).await,
        StatusCode::SEE_OTHER
    );
    let after = stored(&node, &p);
    assert_eq!(
        after.symptoms,
        vec![
            symptom("HP:0001250", true, None),
            symptom("HP:0000256", true, Some(Onset::Childhood)),
            symptom("HP:0000365", false, Some(Onset::Neonatal)),
            symptom("HP:0001263", true, None),
        ]
    );
    assert_eq!(
        after.diagnosis,
        Diagnosis::Orpha {
            code: OrphaCode::from_number(98896)
        }
    );
}

#[tokio::test]
async fn bad_and_hostile_packets_are_refused_and_store_nothing() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("pp.bad@example.org", Role::Member, true);
    let p = node.patient(&member, "Ivy", &["HP:0001250"]);
    // Deep where any JSON is taken (a gestational age), to reach the parser's limit.
    let deep = format!(
        "{{\"phenotypicFeatures\": [{{\"type\": {{\"id\": \"HP:0001250\"}}, \"onset\": {{\"gestationalAge\": {}{}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut huge = String::from("{\"phenotypicFeatures\": [");
    while huge.len() <= 1024 * 1024 {
        huge.push_str("{\"type\": {\"id\": \"HP:0001250\", \"label\": \"Seizure\"}},");
    }
    huge.push_str("{\"type\": {\"id\": \"HP:0001250\"}}]}");
    let many = serde_json::json!({
        "phenotypicFeatures": (0..1001).map(|_| serde_json::json!({"type": {"id": "HP:0001250"}})).collect::<Vec<_>>()
    })
    .to_string();
    let cases: [(&str, Vec<u8>, StatusCode, &str); 7] = [
        (
            "not JSON",
            b"%PDF-1.4 not a packet".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not a Phenopacket in JSON",
        ),
        (
            "wrong types",
            br#"{"phenotypicFeatures": [{"type": {"id": 12}, "excluded": "yes"}]}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not a Phenopacket in JSON",
        ),
        (
            "deep",
            deep.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not a Phenopacket in JSON",
        ),
        (
            "huge",
            huge.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "The file is too large",
        ),
        (
            "too many",
            many.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too many symptoms",
        ),
        (
            "no features",
            br#"{"id": "x", "subject": {"id": "x"}}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "holds no symptoms and no disease",
        ),
        (
            "empty file",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a file to import",
        ),
    ];
    let before = stored(&node, &p);
    for (what, bytes, status, says) in cases {
        let (st, page) = upload(&node, &p, &session, &bytes).await;
        assert_eq!(st, status, "{what}: {page}");
        assert!(page.contains(says), "{what}: {says:?} in {page}");
        assert_eq!(stored(&node, &p), before, "{what}: nothing stored");
    }
    // A forged confirmation (no CSRF token) changes nothing either.
    let body = serde_urlencoded::to_string([(
        "packet",
        r#"{"phenotypicFeatures": [{"type": {"id": "HP:0000256"}}]}"#,
    )])
    .expect("form");
    let (st, _) = node
        .post_form(
            &format!("/patients/{}/phenopacket/import/apply", p.id),
            &session,
            &body,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(stored(&node, &p), before);
}

#[test]
fn an_admin_imports_a_folder_after_seeing_what_each_file_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let node = Node::from_state(
        raremesh::boot::boot(raremesh::config::Config {
            data_dir: data.clone(),
            ..raremesh::config::Config::default()
        })
        .expect("boot")
        .0,
    );
    let (owner, _) = node.account("cli.owner@example.org", Role::Member, true);
    let original = described(&node, &owner);
    let packet = raremesh::phenopacket::phenopacket(&node.state.ontology, &original, 1);
    let (member, _) = node.account("cli.member@example.org", Role::Member, true);
    let fresh = node.patient(&member, "Ana", &[]);
    let packets = dir.path().join("packets");
    std::fs::create_dir(&packets).expect("dir");
    let mut for_fresh = packet.clone();
    for_fresh["id"] = serde_json::json!(fresh.id);
    for_fresh["subject"]["id"] = serde_json::json!(fresh.id);
    std::fs::write(packets.join("a.json"), for_fresh.to_string()).expect("write");
    let mut stranger = packet;
    stranger["subject"]["id"] = serde_json::json!("someone-else");
    std::fs::write(packets.join("b.json"), stranger.to_string()).expect("write");
    std::fs::write(packets.join("c.json"), "{ not json").expect("write");
    std::fs::write(packets.join("notes.txt"), "not a packet").expect("write");
    drop(node);

    let run = |apply: bool| {
        let mut c = Command::new(BIN);
        c.args(["admin", "import-phenopackets"])
            .arg(&packets)
            .env_remove("RAREMESH_CONFIG")
            .env("RAREMESH_DATA_DIR", &data);
        if apply {
            c.arg("--apply");
        }
        let out = c.output().expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let reopen = || {
        let (state, _) = raremesh::boot::boot(raremesh::config::Config {
            data_dir: data.clone(),
            ..raremesh::config::Config::default()
        })
        .expect("boot");
        state
    };

    // First without --apply: what each file would do, nothing saved.
    let (ok, out, err) = run(false);
    assert!(!ok, "two files refused: {out}{err}");
    assert!(
        out.contains(&format!("a.json: patient {}", fresh.id)),
        "{out}"
    );
    assert!(
        out.contains("add     HP:0001250 Seizure (onset: infantile)"),
        "{out}"
    );
    assert!(
        out.contains("add     does NOT have: HP:0000256 Macrocephaly"),
        "{out}"
    );
    assert!(out.contains("disease ORPHA:558"), "{out}");
    assert!(
        out.contains("b.json: refused: no patient \"someone-else\""),
        "{out}"
    );
    assert!(
        out.contains("c.json: refused: not a Phenopacket (JSON)"),
        "{out}"
    );
    assert!(!out.contains("notes.txt"), "{out}");
    assert!(out.contains("Nothing was saved"), "{out}");
    assert!(err.contains("2 of 3 files refused"), "{err}");
    {
        let state = reopen();
        let p = state
            .patients
            .get(&fresh.account_id, &fresh.id)
            .expect("get")
            .expect("p");
        assert!(p.symptoms.is_empty(), "a dry run saves nothing");
    }

    // Then with --apply: the good file imported whole, audited.
    let (ok, out, _) = run(true);
    assert!(!ok);
    assert!(out.contains("3 files: 1 imported, 2 refused."), "{out}");
    let state = reopen();
    let p = state
        .patients
        .get(&fresh.account_id, &fresh.id)
        .expect("get")
        .expect("p");
    assert_eq!(p.symptoms, original.symptoms);
    assert_eq!(p.diagnosis, original.diagnosis);
    let audit = state.audit.recent(100).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == raremesh::audit::Action::PhenopacketImported
                && e.patient_id.as_ref() == Some(&fresh.id)),
        "{audit:?}"
    );
}
