//! `/patients/{id}/documents`: the validation documents of a patient. Uploads are streamed
//! through age encryption to disk; their type is recognized from the content; size, type
//! and count limits come from `[documents]` in config.

use super::form::{Button, Sent};
use super::page_error::failed;
use std::collections::HashMap;

use axum::extract::{Multipart, Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::error::ApiError;
use super::page::{render_form, see_other};
use super::patients::own;
use super::{cookies, i18n};
use raremesh_domain::audit::{Action, Entry};
use raremesh_domain::clock::now;
use raremesh_domain::documents::{
    Document, DocumentKind, FileType, SNIFF_BYTES, Sealer, clean_name,
};
use raremesh_domain::ids::new_id;
use raremesh_domain::mail::Mail;
use raremesh_domain::message::Message;
use raremesh_domain::registration::Member;
use raremesh_domain::registration::patient::{Diagnosis, Patient, Validation};
use raremesh_domain::state::AppState;

/// Why an upload was refused.
#[derive(Debug)]
pub enum Refusal {
    /// 413: larger than `documents.max_bytes`.
    TooLarge,
    /// 415: not one of `documents.types`.
    WrongType,
    /// 422: no file, an empty file, or no kind chosen.
    Incomplete(&'static str),
    /// 422: the patient has `documents.max_per_patient` documents.
    TooMany,
    /// 403: the form's CSRF token is missing or wrong.
    Forged,
    /// 400: the request body is not a readable form.
    Malformed(String),
    /// 500.
    Internal(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::WrongType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Incomplete(_) | Self::TooMany => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forged => StatusCode::FORBIDDEN,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message key (catalogues) and stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::WrongType => "wrong_type",
            Self::Incomplete(what) => what,
            Self::TooMany => "too_many",
            Self::Forged => "forged",
            Self::Malformed(_) => "malformed",
            Self::Internal(_) => "internal",
        }
    }

    /// As a JSON API error.
    pub fn into_api(self, state: &AppState) -> ApiError {
        let d = &state.config.documents;
        let message = match &self {
            Self::TooLarge => format!("the file is larger than {} bytes", d.max_bytes),
            Self::WrongType => format!("accepted file types: {}", d.types.join(", ")),
            Self::Incomplete(what) => format!("{what}: send a non-empty file and a kind"),
            Self::TooMany => format!("a patient may have {} documents", d.max_per_patient),
            Self::Forged => "missing or wrong CSRF token".to_owned(),
            Self::Malformed(m) => m.clone(),
            Self::Internal(m) => return ApiError::Internal(m.clone()),
        };
        ApiError::Refused {
            status: self.status(),
            code: self.code(),
            message,
        }
    }
}

/// One upload in progress: counts, recognizes the type from the first bytes, encrypts.
pub struct Receiver<'a> {
    state: &'a AppState,
    sealer: Sealer,
    id: String,
    head: Vec<u8>,
    file_type: Option<FileType>,
}

impl<'a> Receiver<'a> {
    /// Starts receiving a document for `patient` (refused when it has too many).
    pub fn start(state: &'a AppState, patient: &Patient) -> Result<Self, Refusal> {
        let count = state
            .documents
            .of_patient(&patient.account_id, &patient.id)
            .map_err(|e| Refusal::Internal(e.to_string()))?
            .len();
        if count >= state.config.documents.max_per_patient {
            return Err(Refusal::TooMany);
        }
        let id = new_id().map_err(|e| Refusal::Internal(e.to_string()))?;
        let sealer = state
            .documents
            .vault()
            .sealer(&id)
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok(Self {
            state,
            sealer,
            id,
            head: Vec::with_capacity(SNIFF_BYTES),
            file_type: None,
        })
    }

    fn check_type(&mut self) -> Result<(), Refusal> {
        let t = FileType::sniff(&self.head).ok_or(Refusal::WrongType)?;
        if !self
            .state
            .config
            .documents
            .types
            .iter()
            .any(|m| FileType::from_mime(m) == Some(t))
        {
            return Err(Refusal::WrongType);
        }
        self.file_type = Some(t);
        Ok(())
    }

    /// Takes the next piece of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        if self.sealer.written() + chunk.len() as u64 > self.state.config.documents.max_bytes {
            return Err(Refusal::TooLarge);
        }
        if self.file_type.is_none() {
            let want = SNIFF_BYTES - self.head.len();
            self.head.extend_from_slice(&chunk[..want.min(chunk.len())]);
            if self.head.len() >= SNIFF_BYTES {
                self.check_type()?;
            }
        }
        self.sealer
            .write(chunk)
            .map_err(|e| Refusal::Internal(e.to_string()))
    }

    /// Ends the file: records it, and sends the patient to review when every required
    /// document is there.
    pub fn finish(
        mut self,
        account: &str,
        patient: &Patient,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Document, Refusal> {
        if self.sealer.written() == 0 {
            // A browser sends an empty part with no file name when no file was chosen.
            let what = if name.trim().is_empty() {
                "no_file"
            } else {
                "empty_file"
            };
            return Err(Refusal::Incomplete(what));
        }
        if self.file_type.is_none() {
            self.check_type()?;
        }
        let file_type = self.file_type.ok_or(Refusal::WrongType)?;
        let size = self
            .sealer
            .finish()
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        let doc = Document {
            id: self.id,
            account_id: patient.account_id.clone(),
            patient_id: patient.id.clone(),
            kind,
            file_type,
            size,
            name: clean_name(name),
            uploaded_at: now(),
        };
        let state = self.state;
        let fail = |e: raremesh_domain::store::StoreError| Refusal::Internal(e.to_string());
        state.documents.add(&doc).map_err(fail)?;
        state
            .audit
            .record(&Entry {
                at: doc.uploaded_at,
                actor: account.to_owned(),
                action: Action::DocumentUploaded,
                account_id: patient.account_id.clone(),
                patient_id: Some(patient.id.clone()),
                document_id: Some(doc.id.clone()),
                reason: None,
            })
            .map_err(fail)?;
        // Re-read: another upload may have changed the patient meanwhile.
        let mut p = state
            .patients
            .get(&patient.account_id, &patient.id)
            .map_err(fail)?
            .ok_or_else(|| Refusal::Internal("patient vanished".into()))?;
        if matches!(
            p.validation,
            Validation::NotSubmitted | Validation::Rejected { .. }
        ) && has_required(state, &p).map_err(fail)?
        {
            p.validation = Validation::Pending { since: now() };
            state.patients.save(&p).map_err(fail)?;
            state
                .audit
                .record(&Entry {
                    at: now(),
                    actor: account.to_owned(),
                    action: Action::ValidationRequested,
                    account_id: p.account_id.clone(),
                    patient_id: Some(p.id.clone()),
                    document_id: None,
                    reason: None,
                })
                .map_err(fail)?;
        }
        Ok(doc)
    }
}

/// Whether the patient has every required kind of document.
fn has_required(state: &AppState, p: &Patient) -> Result<bool, raremesh_domain::store::StoreError> {
    let kinds: Vec<DocumentKind> = state
        .documents
        .of_patient(&p.account_id, &p.id)?
        .iter()
        .map(|d| d.kind)
        .collect();
    Ok(DocumentKind::REQUIRED.iter().all(|k| kinds.contains(k)))
}

/// Reads a small text field of a form (at most 1 KiB).
async fn small_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, Refusal> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Refusal::Malformed(e.body_text()))?
    {
        out.extend_from_slice(&chunk);
        if out.len() > 1024 {
            return Err(Refusal::Malformed("a form field is too long".into()));
        }
    }
    String::from_utf8(out).map_err(|_| Refusal::Malformed("a form field is not text".into()))
}

fn multipart_refusal(e: &axum::extract::multipart::MultipartError) -> Refusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::TooLarge
    } else {
        Refusal::Malformed(e.body_text())
    }
}

/// Receives the upload form: `csrf`, then `kind`, then `file`, in that order.
async fn receive_form(
    state: &AppState,
    headers: &HeaderMap,
    account: &str,
    patient: &Patient,
    mut form: Multipart,
) -> Result<Document, Refusal> {
    let mut csrf = None;
    let mut kind = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err(Refusal::Incomplete("no_file")),
            Err(e) => return Err(multipart_refusal(&e)),
        };
        match field.name().unwrap_or_default() {
            "csrf" => csrf = Some(small_text(&mut field).await?),
            "kind" => kind = DocumentKind::from_key(&small_text(&mut field).await?),
            "file" => {
                if !cookies::csrf_ok(state, headers, csrf.as_ref()) {
                    return Err(Refusal::Forged);
                }
                let kind = kind.ok_or(Refusal::Incomplete("no_kind"))?;
                let name = field.file_name().unwrap_or_default().to_owned();
                let mut rx = Receiver::start(state, patient)?;
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_refusal(&e))? {
                    rx.push(&chunk)?;
                }
                return rx.finish(account, patient, kind, &name);
            }
            _ => {
                small_text(&mut field).await?;
            }
        }
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    m: &Member,
    p: &Patient,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let docs = match state.documents.of_patient(&p.account_id, &p.id) {
        Ok(d) => d,
        Err(e) => return failed(headers, e),
    };
    let listed: Vec<HashMap<&str, String>> = docs
        .iter()
        .map(|d| {
            HashMap::from([
                ("id", d.id.clone()),
                ("kind", d.kind.key().to_owned()),
                ("name", d.name.clone()),
                ("size", format_size(d.size)),
                (
                    "date",
                    raremesh_domain::clock::rfc3339(d.uploaded_at)[..10].to_owned(),
                ),
            ])
        })
        .collect();
    let missing: Vec<&str> = DocumentKind::REQUIRED
        .iter()
        .filter(|k| !docs.iter().any(|d| d.kind == **k))
        .map(|k| k.key())
        .collect();
    let (status_key, reason) = match &p.validation {
        Validation::Rejected { reason, .. } => ("rejected", reason.clone()),
        v => (v.key(), String::new()),
    };
    let d = &state.config.documents;
    let accept = d
        .types
        .iter()
        .filter_map(|m| FileType::from_mime(m))
        .map(|t| format!("{},.{}", t.mime(), t.extension()))
        .collect::<Vec<_>>()
        .join(",");
    let types = d
        .types
        .iter()
        .filter_map(|m| FileType::from_mime(m))
        .map(|t| t.extension().to_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    let lang = i18n::pick(headers, None, Some(&m.info.language));
    render_form(
        state,
        headers,
        lang,
        status,
        "documents.html",
        context! {
            patient => HashMap::from([("id", p.id.to_string()), ("name", p.display_name.clone())]),
            undiagnosed => !matches!(p.diagnosis, Diagnosis::Orpha { .. }),
            documents => listed,
            missing,
            status => status_key,
            reason,
            error,
            accept,
            types,
            max_mb => format!("{:.0}", d.max_bytes as f64 / (1024.0 * 1024.0)),
            full => docs.len() >= d.max_per_patient,
            removable => removable(p),
        },
    )
}

/// Whether the member may still remove documents: not once a validator decided.
fn removable(p: &Patient) -> bool {
    matches!(
        p.validation,
        Validation::NotSubmitted | Validation::Pending { .. }
    )
}

/// `POST /patients/{id}/documents/{doc}/remove`: the member removes a document sent by
/// mistake, while no validator has decided yet; a patient waiting for review whose
/// required documents are no longer all there goes back to "documents missing".
pub async fn remove(
    State(state): State<AppState>,
    Path((id, doc)): Path<(String, String)>,
    headers: HeaderMap,
    sent: Sent<Button>,
) -> Response {
    let (account, m, mut p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = sent {
        return e.or_page(|_| {
            page(
                &state,
                &headers,
                &m,
                &p,
                StatusCode::FORBIDDEN,
                Some("documents.error.forged"),
            )
        });
    }
    if !removable(&p) {
        return page(
            &state,
            &headers,
            &m,
            &p,
            StatusCode::CONFLICT,
            Some("documents.error.reviewed"),
        );
    }
    match state.documents.remove(&p.account_id, &p.id, &doc) {
        Ok(true) => {}
        Ok(false) => return see_other(&format!("/patients/{}/documents", p.id)),
        Err(e) => return failed(&headers, e),
    }
    let complete = match has_required(&state, &p) {
        Ok(c) => c,
        Err(e) => return failed(&headers, e),
    };
    if matches!(p.validation, Validation::Pending { .. }) && !complete {
        p.validation = Validation::NotSubmitted;
        if let Err(e) = state.patients.save(&p) {
            return failed(&headers, e);
        }
    }
    if let Err(e) = state.audit.record(&Entry {
        at: now(),
        actor: account.id.to_string(),
        action: Action::DocumentRemoved,
        account_id: p.account_id.clone(),
        patient_id: Some(p.id.clone()),
        document_id: Some(doc),
        reason: None,
    }) {
        return failed(&headers, e);
    }
    see_other(&format!("/patients/{}/documents", p.id))
}

/// "1.2 MB", "830 KB".
pub fn format_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// `GET /documents/consent-form`: the consent form to print, sign and send back: the
/// organization's own PDF (`documents.consent_form`, in the member's language when a
/// translation sits beside it), else the built-in form in the member's language.
pub async fn consent_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = super::page::signed_in(&state, &headers) {
        return e.into_response();
    }
    let lang = super::page::page_lang(&state, &headers);
    let Some(own) = &state.config.documents.consent_form else {
        return super::page::render(
            &state,
            lang,
            StatusCode::OK,
            "consent_form.html",
            context! { signed_in => true },
        );
    };
    let file = raremesh_domain::terms::beside(own)
        .find(|(l, _)| *l == lang)
        .map_or_else(|| own.clone(), |(_, p)| p);
    match tokio::fs::read(&file).await {
        Ok(pdf) => (
            [
                (CONTENT_TYPE, "application/pdf"),
                (CONTENT_DISPOSITION, "inline; filename=\"consent-form.pdf\""),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => failed(&headers, format!("{}: {e}", file.display())),
    }
}

/// `GET /patients/{id}/documents`: the patient's documents, status and upload form.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match own(&state, &headers, &id) {
        Ok((_, m, p)) => page(&state, &headers, &m, &p, StatusCode::OK, None),
        Err(e) => e.into_response(),
    }
}

/// `POST /patients/{id}/documents`: one uploaded document (multipart form).
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (account, m, p) = match own(&state, &headers, &id) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    match receive_form(&state, &headers, &account.id, &p, form).await {
        Ok(_) => see_other(&format!("/patients/{}/documents", p.id)),
        Err(Refusal::Internal(e)) => failed(&headers, e),
        Err(r) => {
            tracing::info!(refusal = r.code(), "document upload refused");
            let key = format!("documents.error.{}", r.code());
            page(&state, &headers, &m, &p, r.status(), Some(&key))
        }
    }
}

/// Tells a member what a validator decided about one of their patients, in the member's
/// language.
pub async fn notify_decision(state: &AppState, p: &Patient) {
    let Ok(Some(account)) = state.accounts.get(&p.account_id) else {
        return;
    };
    let lang = match state.registrations.member(&p.account_id) {
        Ok(Some(m)) => m.info.language,
        _ => "en".to_owned(),
    };
    let node = &state.config.node.name;
    let base = state.config.server.public_url.trim_end_matches('/');
    let (subject, body) = match &p.validation {
        Validation::Approved { .. } => (
            Message::new("mail.decision.approved_subject"),
            Message::new("mail.decision.approved")
                .with("link", format!("{base}/patients/{}/similar", p.id)),
        ),
        Validation::Rejected { reason, .. } => (
            Message::new("mail.decision.rejected_subject"),
            Message::new("mail.decision.rejected")
                .with("reason", reason)
                .with("link", format!("{base}/patients/{}/documents", p.id)),
        ),
        _ => return,
    };
    let mail = Mail {
        to: account.email,
        subject: subject
            .with("node", node)
            .with("patient", &p.display_name)
            .render(&lang),
        body: body.with("patient", &p.display_name).render(&lang),
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, "sending a validation decision mail failed");
    }
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages(upload_limit: usize) -> axum::Router<crate::AppState> {
    axum::Router::new()
        .route("/documents/consent-form", axum::routing::get(consent_form))
        .route(
            "/patients/{id}/documents/{doc}/remove",
            axum::routing::post(remove),
        )
        .route(
            "/patients/{id}/documents",
            axum::routing::get(list)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
}
