//! Validation by documents, people like me, and the member JSON API, through the router
//! of a node of their own (a fresh data folder each).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::AppState;
use raremesh::accounts::Role;
use raremesh::config::Config;
use raremesh::registration::patient::{
    Diagnosis, Patient, PatientInput, Relation, Sex, Symptom, Validation,
};
use raremesh::registration::{Consents, Member, PersonalInfo, Registrant};
use raremesh_ontology::HpoId;
use tower::ServiceExt;

pub const CSRF: &str = "abababababababababababababababababababababababababababababababab";

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nSECRET-PLAINTEXT-MARKER\n%%EOF\n";
pub const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00SECRET-PLAINTEXT-MARKER";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRSECRET-PLAINTEXT-MARKER";

pub struct Node {
    pub state: AppState,
    /// Kept for the node's lifetime: the data folder.
    pub _dir: tempfile::TempDir,
}

impl Node {
    pub fn new(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        tweak(&mut config);
        let (state, _) = raremesh::boot::boot(config).expect("boot");
        Self { state, _dir: dir }
    }

    /// A node around a state booted elsewhere (its data folder is the caller's).
    pub fn from_state(state: AppState) -> Self {
        Self {
            state,
            _dir: tempfile::tempdir().expect("unused"),
        }
    }

    /// A signed-in account (and member record when `member`): its id and session token.
    pub fn account(
        &self,
        email: &str,
        role: Role,
        member: bool,
    ) -> (raremesh::ids::AccountId, String) {
        let s = &self.state;
        let a = s
            .accounts
            .create(email, "a good long password", role, true)
            .expect("account");
        if member {
            s.registrations
                .save_member(&Member {
                    account_id: a.id.clone(),
                    info: PersonalInfo {
                        name: format!("Name of {email}"),
                        email: a.email.clone(),
                        country: "France".into(),
                        language: "en".into(),
                        registrant: Registrant::Caregiver,
                    },
                    step: 5,
                    consents: Consents {
                        terms_version: Some("1".into()),
                        terms_accepted_at: Some(1),
                        local_matching: true,
                        ..Consents::default()
                    },
                    matrix: None,
                })
                .expect("member");
        }
        (a.id.clone(), s.sessions.start(&a.id).expect("session"))
    }

    pub fn patient(
        &self,
        account: &raremesh::ids::AccountId,
        name: &str,
        terms: &[&str],
    ) -> Patient {
        let mut p = self
            .state
            .patients
            .add(
                account,
                PatientInput {
                    display_name: name.into(),
                    birth_year: 2016,
                    sex: Sex::Female,
                    relation: Relation::Parent,
                    diagnosis: Diagnosis::NoneYet,
                    organization: None,
                },
            )
            .expect("patient");
        p.symptoms = terms
            .iter()
            .map(|t| Symptom {
                term: t.parse::<HpoId>().expect("id"),
                observed: true,
                onset: None,
            })
            .collect();
        self.state.patients.save(&p).expect("save");
        p
    }

    pub fn approve(&self, p: &Patient) {
        let mut p = p.clone();
        p.validation = Validation::Approved {
            at: 1,
            by: "test".into(),
        };
        self.state.patients.save(&p).expect("save");
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let res = raremesh::http::app(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body, headers)
    }

    pub async fn get(&self, path: &str, session: &str) -> (StatusCode, String) {
        let (s, b, _) = self
            .send(
                Request::get(path)
                    .header(
                        header::COOKIE,
                        format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                    )
                    .body(Body::empty())
                    .expect("req"),
            )
            .await;
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    pub async fn post_form(&self, path: &str, session: &str, body: &str) -> (StatusCode, String) {
        let (s, b, _) = self
            .send(
                Request::post(path)
                    .header(
                        header::COOKIE,
                        format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                    )
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body.to_owned()))
                    .expect("req"),
            )
            .await;
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    /// Uploads through the page's multipart form.
    pub async fn upload(
        &self,
        patient: &Patient,
        session: &str,
        csrf: &str,
        kind: &str,
        name: &str,
        bytes: &[u8],
    ) -> (StatusCode, String) {
        self.post_multipart(
            &format!("/patients/{}/documents", patient.id),
            session,
            &[("csrf", csrf), ("kind", kind)],
            (name, bytes),
        )
        .await
    }

    /// Posts a multipart form: text `fields` in order, then `file` (name, content) as the
    /// field `file`.
    pub async fn post_multipart(
        &self,
        path: &str,
        session: &str,
        fields: &[(&str, &str)],
        file: (&str, &[u8]),
    ) -> (StatusCode, String) {
        let boundary = "----raremeshtestboundary";
        let mut body = Vec::new();
        for (field, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                file.0
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (s, b, _) = self
            .send(
                Request::post(path)
                    .header(
                        header::COOKIE,
                        format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                    )
                    .header(
                        header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(Body::from(body))
                    .expect("req"),
            )
            .await;
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    pub fn files(&self) -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(self.state.config.documents_path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().is_some_and(|n| n != "identity.txt"))
            .collect();
        v.sort();
        v
    }

    pub fn status(&self, p: &Patient) -> Validation {
        self.state
            .patients
            .get(&p.account_id, &p.id)
            .expect("get")
            .expect("patient")
            .validation
    }

    pub fn outbox(&self) -> Vec<String> {
        std::fs::read_dir(self.state.config.outbox_path())
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn documents_are_encrypted_reviewed_and_decided() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("mum@example.org", Role::Member, true);
    let p = node.patient(&member, "Lucie", &["HP:0001250"]);

    // Three required documents: after the third, the patient waits for review.
    for (kind, name, bytes) in [
        ("consent", "consent.pdf", PDF),
        ("identity", "../../id card.jpg", JPEG),
    ] {
        let (s, body) = node.upload(&p, &session, CSRF, kind, name, bytes).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(node.status(&p), Validation::NotSubmitted);
    }
    let (s, _) = node
        .upload(&p, &session, CSRF, "medical", "letter.png", PNG)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(matches!(node.status(&p), Validation::Pending { .. }));

    // On disk: ciphertext only, decryptable with the identity file.
    let files = node.files();
    assert_eq!(files.len(), 3, "{files:?}");
    let identity = raremesh::documents::Vault::read_identity(&node.state.config.identity_path())
        .expect("identity");
    for f in &files {
        let raw = std::fs::read(f).expect("read");
        assert!(raw.starts_with(b"age-encryption.org/v1"));
        assert!(!raw.windows(23).any(|w| w == b"SECRET-PLAINTEXT-MARKER"));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut age::Decryptor::new(&raw[..])
                .expect("header")
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .expect("decrypts"),
            &mut plain,
        )
        .expect("plaintext");
        assert!([PDF, JPEG, PNG].contains(&&plain[..]));
    }
    let docs = node
        .state
        .documents
        .of_patient(&member, &p.id)
        .expect("docs");
    let id_doc = docs
        .iter()
        .find(|d| d.kind == raremesh::documents::DocumentKind::Identity)
        .expect("identity document");
    assert_eq!(id_doc.name, "id card.jpg", "paths are dropped from names");
    let consent = docs
        .iter()
        .find(|d| d.kind == raremesh::documents::DocumentKind::Consent)
        .expect("consent");

    // The member sees the status; the validator sees the queue and opens a document.
    let (_, page) = node
        .get(&format!("/patients/{}/documents", p.id), &session)
        .await;
    assert!(page.contains("documents sent"), "{page}");
    let (_, validator) = node.account("val@example.org", Role::Validator, false);
    let (s, queue) = node.get("/validation", &validator).await;
    assert_eq!(s, StatusCode::OK);
    let review = format!("/validation/{member}/{}", p.id);
    assert!(
        queue.contains(p.id.as_str()) && queue.contains("Lucie"),
        "{queue}"
    );
    let (s, body, headers) = node
        .send(
            Request::get(format!("{review}/documents/{}", consent.id))
                .header(
                    header::COOKIE,
                    format!("raremesh_csrf={CSRF}; raremesh_session={validator}"),
                )
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, PDF);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // A member cannot open documents, not even their own through the validators' route.
    let (s, _) = node
        .get(&format!("{review}/documents/{}", consent.id), &session)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Reject without a reason: refused. With one: the member is told, by mail and page.
    let (s, _) = node
        .post_form(&review, &validator, &format!("csrf={CSRF}&decision=reject"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = node
        .post_form(
            &review,
            &validator,
            &format!("csrf={CSRF}&decision=reject&reason=The+consent+is+not+signed+%3Cb%3E"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(matches!(node.status(&p), Validation::Rejected { .. }));
    let (_, page) = node
        .get(&format!("/patients/{}/documents", p.id), &session)
        .await;
    assert!(
        page.contains("The consent is not signed &lt;b&gt;"),
        "{page}"
    );
    assert!(
        node.outbox()
            .iter()
            .any(|m| m.contains("need another look") && m.contains("The consent is not signed")),
    );
    // A new document sends the patient back to the queue; then approval.
    let (s, _) = node
        .upload(&p, &session, CSRF, "consent", "signed.pdf", PDF)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(matches!(node.status(&p), Validation::Pending { .. }));
    let (s, _) = node
        .post_form(
            &review,
            &validator,
            &format!("csrf={CSRF}&decision=approve"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(node.status(&p).is_approved());
    assert!(node.outbox().iter().any(|m| m.contains("is validated")));

    // Every action is in the audit log, which members cannot read.
    let actions: Vec<&str> = node
        .state
        .audit
        .recent(100)
        .expect("audit")
        .iter()
        .map(|e| e.action.name())
        .collect();
    for a in [
        "document_uploaded",
        "validation_requested",
        "document_opened",
        "validation_rejected",
        "validation_approved",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let (s, log) = node.get("/validation/audit", &validator).await;
    assert!(s == StatusCode::OK && log.contains("document opened"));
    assert_eq!(
        node.get("/validation/audit", &session).await.0,
        StatusCode::FORBIDDEN
    );

    // Deleting the account erases documents and records; the log keeps ids, not reasons.
    let account = node.state.accounts.get(&member).expect("get").expect("acc");
    raremesh::erasure::erase_account(&node.state, &account).expect("delete");
    assert!(node.files().is_empty(), "{:?}", node.files());
    assert!(
        node.state
            .documents
            .of_patient(&member, &p.id)
            .expect("docs")
            .is_empty()
    );
    let log = node.state.audit.recent(100).expect("audit");
    assert!(
        log.iter()
            .all(|e| e.account_id != member || e.reason.is_none())
    );
    assert!(log.iter().any(|e| e.action.name() == "account_deleted"));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_store_nothing() {
    let node = Node::new(|c| c.documents.max_bytes = 4096);
    let (member, session) = node.account("bad@example.org", Role::Member, true);
    let p = node.patient(&member, "Noé", &[]);
    let big: Vec<u8> = PDF
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 5000))
        .collect();
    let cases: Vec<(&str, &str, Vec<u8>, &str, StatusCode)> = vec![
        (
            "too large",
            CSRF,
            big,
            "consent",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "html",
            CSRF,
            b"<html><script>alert(1)</script></html>".to_vec(),
            "consent",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "exe",
            CSRF,
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec(),
            "consent",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "tiny",
            CSRF,
            b"%P".to_vec(),
            "consent",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "webp not allowed by config",
            CSRF,
            b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00".to_vec(),
            "consent",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "empty",
            CSRF,
            Vec::new(),
            "consent",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no kind",
            CSRF,
            PDF.to_vec(),
            "passport-ish",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "forged",
            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
            PDF.to_vec(),
            "consent",
            StatusCode::FORBIDDEN,
        ),
    ];
    // No file chosen (the browser sends an empty part without a name): said so plainly.
    let (s, page) = node.upload(&p, &session, CSRF, "consent", "", b"").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Please choose a file to send") && !page.contains("This file is empty"),
        "{page}"
    );
    for (what, csrf, bytes, kind, want) in cases {
        let (s, page) = node.upload(&p, &session, csrf, kind, "f.pdf", &bytes).await;
        assert_eq!(s, want, "{what}: {page}");
        assert!(
            page.contains("class=\"error\""),
            "{what}: the page says what went wrong"
        );
        assert!(node.files().is_empty(), "{what}: {:?}", node.files());
        assert!(
            node.state
                .documents
                .of_patient(&member, &p.id)
                .expect("docs")
                .is_empty()
        );
    }
    // Someone else's patient: not found, nothing stored.
    let (_, other) = node.account("other@example.org", Role::Member, true);
    let (s, _) = node.upload(&p, &other, CSRF, "consent", "f.pdf", PDF).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(node.files().is_empty());
    // The per-patient limit.
    let node = Node::new(|c| c.documents.max_per_patient = 2);
    let (member, session) = node.account("many@example.org", Role::Member, true);
    let p = node.patient(&member, "Ana", &[]);
    for _ in 0..2 {
        assert_eq!(
            node.upload(&p, &session, CSRF, "other", "a.pdf", PDF)
                .await
                .0,
            StatusCode::SEE_OTHER
        );
    }
    let (s, _) = node.upload(&p, &session, CSRF, "other", "a.pdf", PDF).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(node.files().len(), 2);
}

#[tokio::test]
async fn documents_and_decisions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let (patient, member) = {
        let (state, _) = raremesh::boot::boot(config.clone()).expect("boot");
        let node = Node {
            state,
            _dir: tempfile::tempdir().expect("unused"),
        };
        let (member, session) = node.account("keep@example.org", Role::Member, true);
        let p = node.patient(&member, "Jo", &["HP:0001250"]);
        for (k, b) in [("consent", PDF), ("identity", JPEG), ("medical", PNG)] {
            node.upload(&p, &session, CSRF, k, "x", b).await;
        }
        (p, member)
    };
    let (state, _) = raremesh::boot::boot(config).expect("boot again");
    let docs = state
        .documents
        .of_patient(&member, &patient.id)
        .expect("docs");
    assert_eq!(docs.len(), 3);
    for d in docs {
        let plain = state
            .documents
            .vault()
            .open_document(&d.id)
            .expect("decrypts");
        assert!([PDF, JPEG, PNG].contains(&&plain[..]));
    }
    let p = state
        .patients
        .get(&member, &patient.id)
        .expect("get")
        .expect("p");
    assert!(matches!(p.validation, Validation::Pending { .. }));
}
