//! What the JSON API answers about a member's own records, as typed structures (their
//! wire form is held by the snapshots in `node/tests/it/snapshots/`).

use raremesh_domain::accounts::{Account, Role};
use raremesh_domain::documents::{Document, DocumentKind};
use raremesh_domain::registration::patient::{Diagnosis, Onset, Patient, Validation};
use raremesh_domain::registration::{Consents, Member, Registrant};
use raremesh_ontology::{HpoId, Ontology};
use serde::Serialize;

/// A patient (`GET /api/v1/patients/{id}` and lists).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientView<'a> {
    /// Its id.
    pub id: &'a str,
    /// The name the member gave.
    pub display_name: &'a str,
    /// Year of birth.
    pub birth_year: u16,
    /// Sex.
    pub sex: &'a raremesh_domain::registration::patient::Sex,
    /// The member's relation to the patient.
    pub relation: &'a raremesh_domain::registration::patient::Relation,
    /// The diagnosis.
    pub diagnosis: &'a Diagnosis,
    /// The patient organization named, if any.
    pub organization: &'a Option<String>,
    /// Symptoms, with their names.
    pub symptoms: Vec<SymptomView<'a>>,
    /// Where validation stands.
    pub validation: ValidationView<'a>,
}

/// One symptom of a patient.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SymptomView<'a> {
    /// The HPO term.
    pub term: HpoId,
    /// Its name in the release (none for a term the release no longer has).
    pub name: Option<&'a str>,
    /// Present (true) or explicitly excluded (false).
    pub observed: bool,
    /// When it began, if said.
    pub onset: Option<&'static str>,
}

/// Where a patient's validation stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ValidationView<'a> {
    /// Documents not all sent yet.
    NotSubmitted,
    /// Waiting for a validator, since (Unix seconds).
    Pending {
        /// Since when.
        since: u64,
    },
    /// Approved, at (Unix seconds).
    Approved {
        /// When.
        at: u64,
    },
    /// Rejected, with the validator's reason.
    Rejected {
        /// Why.
        reason: &'a str,
        /// When.
        at: u64,
    },
}

impl<'a> ValidationView<'a> {
    /// The view of a validation state.
    pub fn of(v: &'a Validation) -> Self {
        match v {
            Validation::NotSubmitted => Self::NotSubmitted,
            Validation::Pending { since } => Self::Pending { since: *since },
            Validation::Approved { at, .. } => Self::Approved { at: *at },
            Validation::Rejected { reason, at, .. } => Self::Rejected { reason, at: *at },
        }
    }
}

impl<'a> PatientView<'a> {
    /// The view of a patient, with symptom names from `ontology`.
    pub fn of(ontology: &'a Ontology, p: &'a Patient) -> Self {
        Self {
            id: &p.id,
            display_name: &p.display_name,
            birth_year: p.birth_year,
            sex: &p.sex,
            relation: &p.relation,
            diagnosis: &p.diagnosis,
            organization: &p.organization,
            symptoms: p
                .symptoms
                .iter()
                .map(|s| SymptomView {
                    term: s.term,
                    name: ontology
                        .resolve(s.term)
                        .map(|t| ontology.term(t).name.as_str()),
                    observed: s.observed,
                    onset: s.onset.map(Onset::key),
                })
                .collect(),
            validation: ValidationView::of(&p.validation),
        }
    }
}

/// `GET /api/v1/me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView<'a> {
    /// The account id.
    pub id: &'a str,
    /// The sign-in address.
    pub email: &'a str,
    /// member, validator, admin or researcher.
    pub role: Role,
    /// The member record, if the account has one.
    pub member: Option<MemberView<'a>>,
}

/// A member's own details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView<'a> {
    /// Name.
    pub name: &'a str,
    /// Country.
    pub country: &'a str,
    /// The language of their pages and mails.
    pub language: &'a str,
    /// Patient or caregiver.
    pub registrant: &'a Registrant,
    /// Registration steps done.
    pub step: u8,
    /// Their consents.
    pub consents: &'a Consents,
}

impl<'a> MeView<'a> {
    /// The view of an account and its member record.
    pub fn of(a: &'a Account, m: Option<&'a Member>) -> Self {
        Self {
            id: &a.id,
            email: &a.email,
            role: a.role,
            member: m.map(|m| MemberView {
                name: &m.info.name,
                country: &m.info.country,
                language: &m.info.language,
                registrant: &m.info.registrant,
                step: m.step,
                consents: &m.consents,
            }),
        }
    }
}

/// `GET /api/v1/patients/{id}/documents`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentsView<'a> {
    /// Where the patient's validation stands.
    pub validation: ValidationView<'a>,
    /// The documents sent, oldest first.
    pub documents: Vec<DocumentView<'a>>,
}

/// One document sent for validation (never its content).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentView<'a> {
    /// Its id.
    pub id: &'a str,
    /// What kind of document.
    pub kind: DocumentKind,
    /// Its type, recognized from the content.
    #[serde(rename = "type")]
    pub file_type: &'static str,
    /// Bytes.
    pub size: u64,
    /// The file name given.
    pub name: &'a str,
    /// When it arrived (Unix seconds).
    pub uploaded_at: u64,
}

impl<'a> DocumentView<'a> {
    /// The view of a document record.
    pub fn of(d: &'a Document) -> Self {
        Self {
            id: &d.id,
            kind: d.kind,
            file_type: d.file_type.mime(),
            size: d.size,
            name: &d.name,
            uploaded_at: d.uploaded_at,
        }
    }
}

/// A question, as the questions API shows it (a hidden one without its text).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuestionView<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its title (empty when hidden).
    pub title: &'a str,
    /// Its text (empty when hidden).
    pub body: &'a str,
    /// Why it is hidden, if it is.
    pub hidden: Option<&'a str>,
    /// Its symptom tags, with their names.
    pub tags: Vec<TagView<'a>>,
    /// Its ORPHA disease, if tagged.
    pub disease: Option<String>,
    /// The language it is written in.
    pub language: &'a str,
    /// The author's display name.
    pub author: &'a str,
    /// Asked at a partner organization.
    pub remote: bool,
    /// When it was asked (Unix seconds).
    pub created_at: u64,
    /// When it was last edited.
    pub edited_at: Option<u64>,
    /// How well it fits the reader (in a feed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<u32>,
    /// Its answers (on a question's own page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<AnswerView<'a>>>,
    /// Whether the reader follows it (on its own page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
    /// Whether the reader asked it (on its own page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mine: Option<bool>,
}

/// A symptom tag of a question.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagView<'a> {
    /// The HPO id.
    pub id: String,
    /// Its name.
    pub name: Option<&'a str>,
}

/// An answer, as the questions API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerView<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its text (empty when hidden).
    pub body: &'a str,
    /// Why it is hidden, if it is.
    pub hidden: Option<&'a str>,
    /// The author's display name.
    pub author: &'a str,
    /// Written at a partner organization.
    pub remote: bool,
    /// Whether the reader wrote it.
    pub mine: bool,
    /// How many members marked it helpful.
    pub helpful: usize,
    /// The asker's accepted answer.
    pub accepted: bool,
    /// When it was written.
    pub created_at: u64,
    /// When it was last edited.
    pub edited_at: Option<u64>,
}

impl<'a> QuestionView<'a> {
    /// The view of a question, tag names from `ontology`.
    pub fn of(ontology: &'a Ontology, q: &'a raremesh_domain::qa::Question) -> Self {
        let hidden = q.hidden.is_some();
        Self {
            id: &q.id,
            title: if hidden { "" } else { &q.title },
            body: if hidden { "" } else { &q.body },
            hidden: q.hidden.as_ref().map(|h| h.reason.as_str()),
            tags: q
                .tags
                .iter()
                .filter(|_| !hidden)
                .map(|t| TagView {
                    id: t.to_string(),
                    name: ontology.resolve(*t).map(|i| ontology.term(i).name.as_str()),
                })
                .collect(),
            disease: q.disease.filter(|_| !hidden).map(|d| d.to_string()),
            language: &q.language,
            author: &q.author,
            remote: q.origin.is_some(),
            created_at: q.created_at,
            edited_at: q.edited_at,
            fit: None,
            answers: None,
            following: None,
            mine: None,
        }
    }
}

impl<'a> AnswerView<'a> {
    /// The view of an answer for the reader `viewer` (an account id).
    pub fn of(a: &'a raremesh_domain::qa::Answer, viewer: &str) -> Self {
        let hidden = a.hidden.is_some();
        Self {
            id: &a.id,
            body: if hidden { "" } else { &a.body },
            hidden: a.hidden.as_ref().map(|h| h.reason.as_str()),
            author: &a.author,
            remote: a.origin.is_some(),
            mine: !a.account_id.is_empty() && a.account_id == viewer,
            helpful: a.helpful.len(),
            accepted: a.accepted,
            created_at: a.created_at,
            edited_at: a.edited_at,
        }
    }
}
