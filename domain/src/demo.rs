//! Demonstration data for an empty node: simulated, validated patients (drawn from the
//! ORPHA annotations) and one member who can sign in and see people like them. For trying
//! the node and for benchmarks; refused on a node that already has members.

use crate::ids::{AccountId, PatientId};
use raremesh_search::matching::simulate::{Condition, Rng, Simulator};

use crate::accounts::Role;
use crate::clock::now;
use crate::registration::patient::{
    Diagnosis, Patient, PatientInput, Relation, Sex, Symptom, Validation,
};
use crate::registration::{Consents, Member, PersonalInfo, Registrant};
use crate::state::AppState;

/// Patients per simulated member (one caregiver record each, with no sign-in account).
const PER_MEMBER: usize = 5;

/// What was created.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Simulated patients (validated, shown to local matching).
    pub patients: usize,
    /// The member who can sign in.
    pub email: String,
    /// That member's patient.
    pub patient_id: PatientId,
}

fn member(account_id: &str, email: &str, name: &str, version: &str, share: bool) -> Member {
    Member {
        account_id: account_id.into(),
        info: PersonalInfo {
            name: name.to_owned(),
            email: email.to_owned(),
            country: "Demo".to_owned(),
            language: "en".to_owned(),
            registrant: Registrant::Caregiver,
        },
        step: 5,
        consents: Consents {
            terms_version: Some(version.to_owned()),
            terms_accepted_at: Some(now()),
            local_matching: true,
            federated_matching: share,
            research: share,
            matchmaking: share,
            updated_at: Some(now()),
            ..Consents::default()
        },
        matrix: None,
    }
}

fn simulated(state: &AppState, sim: &Simulator<'_>, rng: &mut Rng) -> (Diagnosis, Vec<Symptom>) {
    let o = &state.ontology;
    loop {
        let d = &o.diseases()[rng.below(o.diseases().len())];
        if let Some(profile) = sim.patient(d, Condition::Imprecise, rng) {
            let symptoms = profile
                .observed()
                .iter()
                .map(|t| Symptom {
                    term: o.term(*t).id,
                    observed: true,
                    onset: None,
                })
                .chain(profile.excluded().iter().map(|t| Symptom {
                    term: o.term(*t).id,
                    observed: false,
                    onset: None,
                }))
                .collect();
            return (Diagnosis::Orpha { code: d.code }, symptoms);
        }
    }
}

fn add(
    state: &AppState,
    account_id: &AccountId,
    name: String,
    year: u16,
    diagnosis: Diagnosis,
    symptoms: Vec<Symptom>,
) -> crate::Result<Patient> {
    let mut p = state.patients.add(
        account_id,
        PatientInput {
            display_name: name,
            birth_year: year,
            sex: Sex::Unknown,
            relation: Relation::Parent,
            diagnosis,
            organization: None,
        },
    )?;
    p.symptoms = symptoms;
    p.validation = Validation::Approved {
        at: now(),
        by: "demo-data".to_owned(),
    };
    state.patients.save(&p)?;
    Ok(p)
}

/// Loads Matchmaker Exchange patients (such as the MME project's benchmark set) as
/// validated patients, one member each (no sign-in account), consenting to matchmaking:
/// their features that this HPO release knows (observed or not), and their disorder as an
/// ORPHA diagnosis when it is one or an OMIM id that maps to one. For tests and
/// benchmarks. The patients made, in the order given.
pub fn load_mme(
    state: &AppState,
    patients: &[crate::mme::wire::MmePatient],
) -> crate::Result<Vec<Patient>> {
    use crate::mme::wire::{DisorderCode, disorder_code};
    let o = &state.ontology;
    let version = state.config.terms.version.clone();
    let mut made = Vec::with_capacity(patients.len());
    for (i, mp) in patients.iter().enumerate() {
        let account_id = AccountId::new(format!("mme{i:05}"));
        let mut m = member(
            &account_id,
            &format!("mme{i:05}@demo.invalid"),
            &format!("Matchmaking patient {i}"),
            &version,
            false,
        );
        m.consents.matchmaking = true;
        state.registrations.save_member(&m)?;
        let mut symptoms: Vec<Symptom> = Vec::new();
        for f in &mp.features {
            let Some(t) = f.id.parse().ok().and_then(|id| o.resolve(id)) else {
                continue;
            };
            let term = o.term(t).id;
            if !symptoms.iter().any(|s| s.term == term) {
                symptoms.push(Symptom {
                    term,
                    observed: f.is_observed(),
                    onset: None,
                });
            }
        }
        let diagnosis = mp
            .disorders
            .iter()
            .find_map(|d| match disorder_code(&d.id)? {
                DisorderCode::Orpha(n) => Some(raremesh_ontology::OrphaCode::from_number(n)),
                DisorderCode::Omim(n) => o.orpha_for_omim(n),
            })
            .filter(|c| o.disease(*c).is_some())
            .map_or(Diagnosis::NoneYet, |code| Diagnosis::Orpha { code });
        let label = mp.label.clone().unwrap_or_else(|| mp.id.clone());
        made.push(add(state, &account_id, label, 2000, diagnosis, symptoms)?);
    }
    Ok(made)
}

/// Fills an empty node with `patients` simulated patients and one member (`email`, with
/// `password`) whose patient is validated. `seed` chooses the population (give each node
/// of a trial its own); with `share`, the simulated members consent to matching with
/// partner organizations and to research, so that a trial of two nodes shows something.
pub fn seed(
    state: &AppState,
    patients: usize,
    email: &str,
    password: &str,
    seed: u64,
    share: bool,
) -> crate::Result<DemoReport> {
    if !state.registrations.members()?.is_empty() {
        return Err(crate::Error::Demo(
            "this node already has members: demo data goes into an empty node only".into(),
        ));
    }
    let version = state.config.terms.version.clone();
    let sim = Simulator::new(&state.ontology);
    let mut rng = Rng::new(seed);
    let mut made = 0;
    let mut n = 0;
    while made < patients {
        n += 1;
        let account_id = AccountId::new(format!("demo{n:06}"));
        state.registrations.save_member(&member(
            &account_id,
            &format!("demo{n:06}@demo.invalid"),
            &format!("Demo member {n}"),
            &version,
            share,
        ))?;
        for k in 0..PER_MEMBER.min(patients - made) {
            let (diagnosis, symptoms) = simulated(state, &sim, &mut rng);
            let year = 1950 + rng.below(75) as u16;
            add(
                state,
                &account_id,
                format!("Demo patient {n}.{k}"),
                year,
                diagnosis,
                symptoms,
            )?;
            made += 1;
        }
    }
    let account = state.accounts.create(email, password, Role::Member, true)?;
    state.registrations.save_member(&member(
        &account.id,
        &account.email,
        "Demo parent",
        &version,
        share,
    ))?;
    let (diagnosis, symptoms) = simulated(state, &sim, &mut rng);
    let p = add(
        state,
        &account.id,
        "Demo child".into(),
        2018,
        diagnosis,
        symptoms,
    )?;
    Ok(DemoReport {
        patients: made,
        email: account.email,
        patient_id: p.id,
    })
}
