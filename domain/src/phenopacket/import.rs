//! A GA4GH Phenopacket v2 (JSON) read into a patient: its phenotypic features (observed or
//! excluded, with their onset) become symptoms, an Orphanet disease the diagnosis. The
//! import is first a [`Plan`] (what would be added or changed, and what cannot be used,
//! with why), shown before anything is saved, then applied to the patient whole or not
//! at all.

use raremesh_ontology::{HpoId, Ontology, OrphaCode};
use serde::Deserialize;

use crate::registration::patient::{Diagnosis, MAX_SYMPTOMS, Onset, Patient, Symptom};

/// The largest file read, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most phenotypic features and diseases read from one packet.
pub const MAX_ENTRIES: usize = 1_000;

/// Why a packet cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Larger than [`MAX_BYTES`].
    #[error("the file is larger than {} KiB", MAX_BYTES / 1024)]
    TooLarge,
    /// Not JSON, or JSON of the wrong shape (the parser's message, with line and column).
    #[error("not a Phenopacket (JSON): {0}")]
    Malformed(String),
    /// JSON without phenotypic features or diseases.
    #[error("the file holds no phenotypic features and no diseases")]
    Empty,
    /// More than [`MAX_ENTRIES`] features or diseases.
    #[error("more than {MAX_ENTRIES} phenotypic features or diseases")]
    TooManyEntries,
    /// The patient would have more than [`MAX_SYMPTOMS`] symptoms.
    #[error("the patient would have more than {MAX_SYMPTOMS} symptoms")]
    TooManySymptoms,
}

impl ImportError {
    /// The catalogue key of the message members read.
    pub fn key(&self) -> &'static str {
        match self {
            Self::TooLarge => "phenopacket.err.too_large",
            Self::Malformed(_) => "phenopacket.err.malformed",
            Self::Empty => "phenopacket.err.empty",
            Self::TooManyEntries | Self::TooManySymptoms => "phenopacket.err.too_many",
        }
    }
}

/// What a packet holds that the import reads (everything else is ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Packet {
    /// The packet's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The individual.
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    phenotypic_features: Vec<Feature>,
    #[serde(default)]
    diseases: Vec<DiseaseEntry>,
}

/// The packet's individual.
#[derive(Debug, Clone, Deserialize)]
pub struct Subject {
    /// Its id (raremesh writes the patient's id).
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Class {
    id: String,
    #[serde(default)]
    label: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feature {
    #[serde(rename = "type")]
    kind: Class,
    #[serde(default)]
    excluded: bool,
    #[serde(default)]
    onset: Option<TimeElement>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiseaseEntry {
    term: Class,
    #[serde(default)]
    excluded: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeElement {
    #[serde(default)]
    ontology_class: Option<Class>,
    #[serde(default)]
    age: Option<Age>,
    #[serde(default)]
    gestational_age: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Age {
    iso8601duration: String,
}

impl Packet {
    /// Reads a packet from a file's bytes.
    pub fn read(bytes: &[u8]) -> Result<Self, ImportError> {
        if bytes.len() > MAX_BYTES {
            return Err(ImportError::TooLarge);
        }
        let packet: Self =
            serde_json::from_slice(bytes).map_err(|e| ImportError::Malformed(e.to_string()))?;
        if packet.phenotypic_features.is_empty() && packet.diseases.is_empty() {
            return Err(ImportError::Empty);
        }
        if packet.phenotypic_features.len() > MAX_ENTRIES || packet.diseases.len() > MAX_ENTRIES {
            return Err(ImportError::TooManyEntries);
        }
        Ok(packet)
    }

    /// The id of the individual: the subject's, else the packet's.
    pub fn subject_id(&self) -> Option<&str> {
        self.subject
            .as_ref()
            .and_then(|s| s.id.as_deref())
            .or(self.id.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// Why an entry of a packet is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A feature from another ontology than HPO.
    NotHpo,
    /// An HPO id this node's release does not know.
    UnknownTerm,
    /// The same term twice in the packet: the first is used.
    Repeated,
    /// An onset that is none of the node's age classes (kept without onset).
    Onset,
    /// A disease from another list than Orphanet (OMIM, MONDO...).
    NotOrpha,
    /// An Orphanet code this node's release does not know.
    UnknownDisease,
    /// A disease the packet says the patient does not have.
    ExcludedDisease,
    /// A second disease: a patient has one diagnosis.
    OtherDisease,
    /// The patient already has another diagnosis, which is kept.
    DiagnosisKept,
}

impl Skip {
    /// The catalogue key of the reason.
    pub fn key(self) -> &'static str {
        match self {
            Self::NotHpo => "phenopacket.skip.not_hpo",
            Self::UnknownTerm => "phenopacket.skip.unknown_term",
            Self::Repeated => "phenopacket.skip.repeated",
            Self::Onset => "phenopacket.skip.onset",
            Self::NotOrpha => "phenopacket.skip.not_orpha",
            Self::UnknownDisease => "phenopacket.skip.unknown_disease",
            Self::ExcludedDisease => "phenopacket.skip.excluded_disease",
            Self::OtherDisease => "phenopacket.skip.other_disease",
            Self::DiagnosisKept => "phenopacket.skip.diagnosis_kept",
        }
    }

    /// The reason in English (for the command line).
    pub fn english(self) -> &'static str {
        match self {
            Self::NotHpo => "not an HPO term",
            Self::UnknownTerm => "an HPO id this node does not know",
            Self::Repeated => "the same term again",
            Self::Onset => {
                "an onset that is none of the age classes (the symptom is kept without it)"
            }
            Self::NotOrpha => "not an Orphanet code",
            Self::UnknownDisease => "an Orphanet code this node does not know",
            Self::ExcludedDisease => "a disease the patient does not have",
            Self::OtherDisease => "a second disease (a patient has one diagnosis)",
            Self::DiagnosisKept => "the patient already has another diagnosis, which is kept",
        }
    }
}

/// An entry of the packet that is not used (or not all of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The id as the packet gives it (at most 80 characters).
    pub id: String,
    /// The label as the packet gives it (at most 200 characters).
    pub label: String,
    /// Why.
    pub why: Skip,
}

/// What importing a packet into a patient would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Symptoms the patient does not have yet.
    pub add: Vec<Symptom>,
    /// Symptoms the patient has, with what changes (presence or onset): the new value.
    pub change: Vec<Symptom>,
    /// Entries the patient has already, as they are.
    pub unchanged: usize,
    /// The diagnosis to set.
    pub diagnosis: Option<OrphaCode>,
    /// What is not used, and why.
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// Whether applying it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.change.is_empty() && self.diagnosis.is_none()
    }

    /// What importing `packet` into `patient` would do.
    pub fn of(ontology: &Ontology, patient: &Patient, packet: &Packet) -> Self {
        let mut plan = Self::default();
        let mut seen: Vec<HpoId> = Vec::new();
        for f in &packet.phenotypic_features {
            let skip = |why| Skipped {
                id: shown(&f.kind.id, 80),
                label: shown(&f.kind.label, 200),
                why,
            };
            let Ok(id) = f.kind.id.trim().parse::<HpoId>() else {
                plan.skipped.push(skip(Skip::NotHpo));
                continue;
            };
            // Alternative and obsolete ids become the live term.
            let Some(idx) = ontology.resolve(id) else {
                plan.skipped.push(skip(Skip::UnknownTerm));
                continue;
            };
            let term = ontology.term(idx).id;
            if seen.contains(&term) {
                plan.skipped.push(skip(Skip::Repeated));
                continue;
            }
            seen.push(term);
            let onset = match &f.onset {
                None => None,
                Some(t) => {
                    let o = onset(ontology, t);
                    if o.is_none() {
                        plan.skipped.push(skip(Skip::Onset));
                    }
                    o
                }
            };
            let had = patient.symptoms.iter().find(|s| s.term == term);
            let new = Symptom {
                term,
                observed: !f.excluded,
                // No onset the import can use: the one the member gave stays.
                onset: onset.or(had.and_then(|s| s.onset)),
            };
            match had {
                None => plan.add.push(new),
                Some(s) if *s == new => plan.unchanged += 1,
                Some(_) => plan.change.push(new),
            }
        }
        for d in &packet.diseases {
            let skip = |why| Skipped {
                id: shown(&d.term.id, 80),
                label: shown(&d.term.label, 200),
                why,
            };
            if d.excluded {
                plan.skipped.push(skip(Skip::ExcludedDisease));
                continue;
            }
            let Ok(code) = d.term.id.trim().parse::<OrphaCode>() else {
                plan.skipped.push(skip(Skip::NotOrpha));
                continue;
            };
            if !d.term.id.contains(':') {
                // A bare number is no Orphanet code in a packet (CURIEs only).
                plan.skipped.push(skip(Skip::NotOrpha));
                continue;
            }
            if ontology.disease(code).is_none() {
                plan.skipped.push(skip(Skip::UnknownDisease));
                continue;
            }
            match (&patient.diagnosis, plan.diagnosis) {
                (_, Some(first)) if first != code => plan.skipped.push(skip(Skip::OtherDisease)),
                (_, Some(_)) => plan.skipped.push(skip(Skip::Repeated)),
                (Diagnosis::Orpha { code: had }, None) if *had == code => plan.unchanged += 1,
                (Diagnosis::Orpha { .. }, None) => plan.skipped.push(skip(Skip::DiagnosisKept)),
                (Diagnosis::NotListed { .. } | Diagnosis::NoneYet, None) => {
                    plan.diagnosis = Some(code);
                }
            }
        }
        plan
    }

    /// Applies the plan to `patient` (whole, or not at all).
    pub fn apply(&self, patient: &mut Patient) -> Result<(), ImportError> {
        if patient.symptoms.len() + self.add.len() > MAX_SYMPTOMS {
            return Err(ImportError::TooManySymptoms);
        }
        for c in &self.change {
            if let Some(s) = patient.symptoms.iter_mut().find(|s| s.term == c.term) {
                *s = c.clone();
            }
        }
        patient.symptoms.extend(self.add.iter().cloned());
        if let Some(code) = self.diagnosis {
            patient.diagnosis = Diagnosis::Orpha { code };
        }
        Ok(())
    }
}

/// A text of the packet as it may be shown: control characters (a terminal's escape
/// sequences) left out, at most `max` characters.
fn shown(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The age class of an onset: one of the classes or below it in HPO, an age, or a
/// gestational age (congenital).
fn onset(ontology: &Ontology, t: &TimeElement) -> Option<Onset> {
    if let Some(class) = &t.ontology_class {
        let idx = ontology.resolve(class.id.trim().parse().ok()?)?;
        return Onset::ALL.into_iter().find(|o| {
            o.hpo_id()
                .parse()
                .ok()
                .and_then(|id| ontology.resolve(id))
                .is_some_and(|c| c == idx || ontology.is_a(idx, c))
        });
    }
    if t.gestational_age.is_some() {
        return Some(Onset::Congenital);
    }
    let days = days(&t.age.as_ref()?.iso8601duration)?;
    Some(match days {
        0 => Onset::Congenital,
        1..28 => Onset::Neonatal,
        28..365 => Onset::Infantile,
        365..1826 => Onset::Childhood,
        1826..5844 => Onset::Juvenile,
        _ => Onset::Adult,
    })
}

/// The days of an ISO 8601 duration of years, months, weeks and days (`P3Y2M`, `P10D`);
/// a time part is ignored, and one alone (`PT4H`) is a day.
fn days(duration: &str) -> Option<u64> {
    let rest = duration.trim().strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    if date.is_empty() {
        // Hours or minutes after birth (`PT4H`): the first day, neonatal.
        return (!time.is_empty()).then_some(1);
    }
    let (mut total, mut number) = (0f64, String::new());
    for c in date.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'Y' => 365.25,
            'M' => 30.44,
            'W' => 7.0,
            'D' => 1.0,
            _ => return None,
        };
    }
    if !number.is_empty() || !total.is_finite() || total > 200.0 * 365.25 {
        return None;
    }
    Some(total.floor() as u64)
}

#[cfg(test)]
mod tests {
    use super::days;

    #[test]
    fn durations_are_read_in_days() {
        assert_eq!(days("P0D"), Some(0));
        assert_eq!(days("P10D"), Some(10));
        assert_eq!(days("P2W"), Some(14));
        assert_eq!(days("P1Y"), Some(365));
        assert_eq!(days("P3Y6M"), Some(1278));
        assert_eq!(days("P1Y2M3DT4H"), Some(429));
        assert_eq!(days("P0,5Y"), Some(182));
        assert_eq!(days("PT4H"), Some(1), "hours after birth: neonatal");
        for bad in ["", "P", "PT", "3Y", "PY", "P3X", "P3", "P999Y"] {
            assert_eq!(days(bad), None, "{bad:?}");
        }
    }
}
