//! The JSON API's small answers, as typed structures: envelopes around records
//! ([`super::views`]), tokens, receipts and statuses. Their wire form is held by the
//! snapshots in `node/tests/it/snapshots/`.

use raremesh_domain::qa::notices::Notice;
use raremesh_domain::qa::search::Found;
use raremesh_domain::registration::Consents;
use raremesh_domain::similar::SimilarPatient;
use serde::Serialize;

use super::views::{PatientView, QuestionView};

/// A sentence for whoever reads the answer (`202` and similar).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Said {
    /// The sentence.
    pub message: &'static str,
}

/// A new API token (`201`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Token {
    /// The bearer token.
    pub token: String,
}

/// Where something stands (`{"status": ...}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status<'a> {
    /// The state, as a key.
    pub status: &'a str,
}

/// A member's consents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentsReply<'a> {
    /// The consents.
    pub consents: &'a Consents,
}

/// The terms in force and the member's consents (`GET /api/v1/terms`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermsReply<'a> {
    /// The terms.
    pub terms: TermsText<'a>,
    /// The member's consents.
    pub consents: &'a Consents,
}

/// The text of the terms, in the member's language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermsText<'a> {
    /// Their version.
    pub version: &'a str,
    /// Their paragraphs.
    pub paragraphs: &'a [String],
}

/// A member's patients.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientsReply<'a> {
    /// The patients.
    pub patients: Vec<PatientView<'a>>,
}

/// A document received (`201`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentReceipt<'a> {
    /// Its id.
    pub id: &'a str,
    /// What it is.
    pub kind: &'a raremesh_domain::documents::DocumentKind,
    /// Its media type.
    #[serde(rename = "type")]
    pub media_type: &'a str,
    /// Its size in bytes.
    pub size: u64,
}

/// People like me.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatchesReply {
    /// The most similar patients, best first.
    pub matches: Vec<SimilarPatient>,
}

/// The validation queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueReply<'a> {
    /// Patients waiting, oldest first.
    pub pending: Vec<Pending<'a>>,
}

/// A patient waiting for review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Pending<'a> {
    /// The member.
    pub account_id: &'a str,
    /// The patient.
    pub patient_id: &'a str,
    /// Since when (Unix seconds).
    pub since: u64,
}

/// A member's Q&A feed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedReply<'a> {
    /// Questions, best fit first.
    pub questions: Vec<QuestionView<'a>>,
    /// Notices.
    pub notices: Vec<Notice>,
}

/// Q&A search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultsReply {
    /// Best first.
    pub results: Vec<Found>,
}

/// How the patients answered one question of a questionnaire.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Distribution {
    /// The node's smallest shown count.
    pub k: u32,
    /// One bar per option.
    pub options: Vec<Bar>,
}

/// One option's count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Bar {
    /// The option.
    pub option: String,
    /// The noisy count, or none below k.
    pub count: Option<u64>,
    /// Whether it is the answer given before to the same question.
    pub cached: bool,
    /// The researcher's remaining budget.
    pub remaining: f64,
}

/// The node's health (`GET /healthz`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` while it serves.
    pub status: &'static str,
}

/// The versions of the app and its data (`GET /api/v1/version`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Version<'a> {
    /// The app.
    pub app: &'a str,
    /// The HPO release.
    pub hpo: HpoVersion<'a>,
    /// Orphanet's data.
    pub orphanet: Orphanet,
}

/// The HPO release.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HpoVersion<'a> {
    /// Its version.
    pub version: &'a str,
    /// Its release date.
    pub release: &'a str,
    /// The annotations' version.
    pub annotations: &'a str,
    /// The acknowledgement its licence asks for.
    pub acknowledgement: String,
}

/// Orphanet's attribution.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Orphanet {
    /// The attribution its licence asks for.
    pub attribution: &'static str,
}

/// An answer to the homeserver (the Matrix application service API).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatrixReply<'a> {
    /// The Matrix error code, on an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errcode: Option<&'a str>,
    /// What went wrong, on an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}
