//! `raremesh admin import-phenopackets DIR`: GA4GH Phenopackets (JSON files) read into
//! the patients they name (`subject.id`, else the packet's `id`: the patient's id, as a
//! member's export writes it). Without `--apply` it only shows what each file would do;
//! with it, each file is imported whole or not at all, and audited.

use std::path::{Path, PathBuf};

use anyhow::Context;
use raremesh::audit::{Action, Entry};
use raremesh::phenopacket::import::{MAX_BYTES, Packet, Plan};
use raremesh::registration::patient::{Patient, Symptom};

/// What the command says about one symptom.
fn line(state: &raremesh::state::AppState, s: &Symptom) -> String {
    let name = state
        .ontology
        .resolve(s.term)
        .map(|t| state.ontology.term(t).name.clone())
        .unwrap_or_default();
    let presence = if s.observed { "" } else { "does NOT have: " };
    let onset = s
        .onset
        .map(|o| format!(" (onset: {})", o.key()))
        .unwrap_or_default();
    format!("{presence}{} {name}{onset}", s.term)
}

/// The `.json` files of `dir`, by name.
fn packets_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no .json file", dir.display());
    }
    Ok(files)
}

/// Reads one file (refusing one larger than [`MAX_BYTES`] before reading it).
fn read(path: &Path) -> anyhow::Result<Packet> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_BYTES as u64 {
        return Err(raremesh::phenopacket::import::ImportError::TooLarge.into());
    }
    Ok(Packet::read(&std::fs::read(path)?)?)
}

/// Runs the command.
pub fn import(config: Option<&Path>, dir: &Path, apply: bool) -> anyhow::Result<()> {
    let files = packets_in(dir)?;
    let config = crate::load_config(config)?;
    let (state, _) = raremesh::boot::boot(config)?;
    let patients: Vec<Patient> = state.patients.all()?;
    let (mut ready, mut refused) = (0usize, 0usize);
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let packet = match read(path) {
            Ok(p) => p,
            Err(e) => {
                say!("{name}: refused: {e}");
                refused += 1;
                continue;
            }
        };
        let Some(subject) = packet.subject_id() else {
            say!("{name}: refused: the packet names no subject (subject.id or id)");
            refused += 1;
            continue;
        };
        let Some(known) = patients.iter().find(|p| p.id == subject) else {
            say!("{name}: refused: no patient {subject:?} on this node");
            refused += 1;
            continue;
        };
        // As it is now: an earlier file of this folder may have changed it.
        let Some(mut patient) = state.patients.get(&known.account_id, &known.id)? else {
            say!("{name}: refused: no patient {subject:?} on this node");
            refused += 1;
            continue;
        };
        let plan = Plan::of(&state.ontology, &patient, &packet);
        say!("{name}: patient {}", patient.id);
        for s in &plan.add {
            say!("  add     {}", line(&state, s));
        }
        for s in &plan.change {
            say!("  change  {}", line(&state, s));
        }
        if let Some(code) = plan.diagnosis {
            let disease = state
                .ontology
                .disease(code)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            say!("  disease {code} {disease}");
        }
        if plan.unchanged > 0 {
            say!("  already there: {}", plan.unchanged);
        }
        for s in &plan.skipped {
            say!("  not used: {} {}: {}", s.id, s.label, s.why.english());
        }
        if plan.is_empty() {
            say!("  nothing to import");
            continue;
        }
        if let Err(e) = plan.apply(&mut patient) {
            say!("{name}: refused: {e}");
            refused += 1;
            continue;
        }
        ready += 1;
        if apply {
            save(&state, &patient, &plan).with_context(|| format!("importing {name}"))?;
        }
    }
    let total = files.len();
    if apply {
        say!("{total} files: {ready} imported, {refused} refused.");
    } else {
        say!(
            "{total} files: {ready} ready to import, {refused} refused. Nothing was saved: run again with --apply to import."
        );
    }
    if refused > 0 {
        anyhow::bail!("{refused} of {total} files refused");
    }
    Ok(())
}

/// Saves one imported patient, moves its member's registration on past the symptoms
/// step, and audits it.
fn save(state: &raremesh::state::AppState, p: &Patient, plan: &Plan) -> anyhow::Result<()> {
    state.patients.save(p)?;
    if let Some(mut m) = state.registrations.member(&p.account_id)? {
        state.registrations.symptoms_given(&mut m, p)?;
    }
    state.audit.record(&Entry {
        at: raremesh::clock::now(),
        actor: "admin (command line)".into(),
        action: Action::PhenopacketImported,
        account_id: p.account_id.clone(),
        patient_id: Some(p.id.clone()),
        document_id: None,
        reason: Some(format!(
            "{} added, {} changed{}",
            plan.add.len(),
            plan.change.len(),
            plan.diagnosis
                .map(|c| format!(", diagnosis {c}"))
                .unwrap_or_default()
        )),
    })?;
    Ok(())
}
