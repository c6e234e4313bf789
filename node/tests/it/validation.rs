//! Validation by documents, people like me, and the member JSON API, through the router
//! of a node of their own (a fresh data folder each).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
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

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

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
    pub fn account(&self, email: &str, role: Role, member: bool) -> (String, String) {
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

    pub fn patient(&self, account: &str, name: &str, terms: &[&str]) -> Patient {
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
        let boundary = "----raremeshtestboundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (s, b, _) = self
            .send(
                Request::post(format!("/patients/{}/documents", patient.id))
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
    assert!(queue.contains(&p.id) && queue.contains("Lucie"), "{queue}");
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
    assert!(s == StatusCode::OK && log.contains("document_opened"));
    assert_eq!(
        node.get("/validation/audit", &session).await.0,
        StatusCode::FORBIDDEN
    );

    // Deleting the account erases documents and records; the log keeps ids, not reasons.
    let account = node.state.accounts.get(&member).expect("get").expect("acc");
    raremesh::export::delete_account(&node.state, &account).expect("delete");
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

#[tokio::test]
async fn people_like_me_shows_only_validated_consenting_others() {
    let node = Node::new(|_| {});
    let (me, session) = node.account("me@example.org", Role::Member, true);
    // Seizures, hypotonia, global developmental delay.
    let mine = node.patient(&me, "Myown", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    let (close, _) = node.account("close@example.org", Role::Member, true);
    let near = node.patient(
        &close,
        "Closechild",
        &["HP:0002069", "HP:0001252", "HP:0001263"],
    );
    let (far, _) = node.account("far@example.org", Role::Member, true);
    let distant = node.patient(
        &far,
        "Farchild",
        &["HP:0001250", "HP:0000365", "HP:0000508"],
    );
    let (hidden, _) = node.account("hidden@example.org", Role::Member, true);
    let unconsented = node.patient(
        &hidden,
        "Hiddenchild",
        &["HP:0001250", "HP:0001252", "HP:0001263"],
    );
    let mut m = node
        .state
        .registrations
        .member(&hidden)
        .expect("m")
        .expect("m");
    m.consents.local_matching = false;
    node.state.registrations.save_member(&m).expect("save");
    let (pending, _) = node.account("pending@example.org", Role::Member, true);
    let _unvalidated = node.patient(&pending, "Pendingchild", &["HP:0001250", "HP:0001252"]);

    // Before validation: nothing, and the page says why.
    let path = format!("/patients/{}/similar", mine.id);
    let (s, page) = node.get(&path, &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("once a validator"), "{page}");

    for p in [&mine, &near, &distant, &unconsented] {
        node.approve(p);
    }
    let (_, page) = node.get(&path, &session).await;
    let pseudo = |p: &Patient| raremesh::similar::pseudonym(&p.id);
    let (a, b) = (
        page.find(&pseudo(&near)).expect("near shown"),
        page.find(&pseudo(&distant)).expect("far shown"),
    );
    assert!(a < b, "the closer patient comes first");
    assert!(
        !page.contains(&pseudo(&unconsented)),
        "not consenting: not shown"
    );
    assert!(!page.contains(&pseudo(&mine)), "never one's own patient");
    for name in [
        "Closechild",
        "Farchild",
        "Hiddenchild",
        "Pendingchild",
        "2016",
    ] {
        assert!(!page.contains(name), "{name} must not appear");
    }
    assert!(
        page.contains("Global developmental delay")
            && page.contains("Bilateral tonic-clonic seizure"),
        "shared symptoms are named: {page}"
    );

    // Updated when profiles change: the distant patient gains the same symptoms.
    let mut d = node
        .state
        .patients
        .get(&far, &distant.id)
        .expect("g")
        .expect("p");
    d.symptoms = mine.symptoms.clone();
    node.state.patients.save(&d).expect("save");
    let (_, page) = node.get(&path, &session).await;
    assert!(
        page.find(&pseudo(&distant)) < page.find(&pseudo(&near)),
        "now the closest"
    );
    // Withdrawing consent removes the patient at once.
    let mut m = node
        .state
        .registrations
        .member(&far)
        .expect("m")
        .expect("m");
    m.consents.local_matching = false;
    node.state.registrations.save_member(&m).expect("save");
    let (_, page) = node.get(&path, &session).await;
    assert!(!page.contains(&pseudo(&distant)));
}

fn api(method: Method, path: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("req")
}

#[tokio::test]
async fn the_member_api_does_what_the_pages_do() {
    let node = Node::new(|_| {});
    let (_, _) = node.account("api@example.org", Role::Member, true);
    // Sign in for a token; a wrong password is refused.
    let (s, _, _) = node
        .send(api(
            Method::POST,
            "/api/v1/session",
            "",
            Body::from(r#"{"email":"api@example.org","password":"wrong one here"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/session",
            "",
            Body::from(r#"{"email":"api@example.org","password":"a good long password"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = serde_json::from_slice::<serde_json::Value>(&b).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");

    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/patients",
            &token,
            Body::from(r#"{"display_name":"Api child","birth_year":2019,"sex":"male","relation":"parent","diagnosis":"orpha","disease":"ORPHA:558"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let id = json(&b)["id"].as_str().expect("id").to_owned();
    // Bad fields, unknown terms and duplicates: refused, nothing changes.
    let (s, b, _) = node
        .send(api(
            Method::POST,
            "/api/v1/patients",
            &token,
            Body::from(r#"{"display_name":"","birth_year":"1800"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        json(&b)["error"]["message"]
            .as_str()
            .expect("m")
            .contains("birth_year")
    );
    let symptoms = format!("/api/v1/patients/{id}/symptoms");
    let (s, _, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250"},{"term":"HP:9999999"}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250","weight":0.5}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b, _) = node
        .send(api(
            Method::PUT,
            &symptoms,
            &token,
            Body::from(r#"[{"term":"HP:0001250","onset":"infantile"},{"term":"HP:0001252","observed":false}]"#),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let p = json(&b);
    assert_eq!(p["symptoms"][0]["name"], "Seizure");
    assert_eq!(p["symptoms"][1]["observed"], false);
    // Documents: raw body; the type comes from the content.
    let docs = format!("/api/v1/patients/{id}/documents");
    let (s, b, _) = node
        .send(api(
            Method::POST,
            &format!("{docs}?kind=consent"),
            &token,
            Body::from(b"<svg onload=alert(1)>".to_vec()),
        ))
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(&b)["error"]["code"], "wrong_type");
    for k in ["consent", "identity", "medical"] {
        let (s, _, _) = node
            .send(api(
                Method::POST,
                &format!("{docs}?kind={k}&name=x.pdf"),
                &token,
                Body::from(PDF),
            ))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, b, _) = node
        .send(api(Method::GET, &docs, &token, Body::empty()))
        .await;
    let d = json(&b);
    assert_eq!(d["documents"].as_array().expect("a").len(), 3);
    assert_eq!(d["validation"]["status"], "pending");
    let (s, _, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}/similar"),
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not validated yet");
    // Only validators and admins decide.
    let member_id = json(
        &node
            .send(api(Method::GET, "/api/v1/me", &token, Body::empty()))
            .await
            .1,
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let decide = format!("/api/v1/validation/{member_id}/{id}");
    let (s, _, _) = node
        .send(api(
            Method::POST,
            &decide,
            &token,
            Body::from(r#"{"decision":"approve"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, admin) = node.account("admin@example.org", Role::Admin, false);
    let (_, b, _) = node
        .send(api(
            Method::GET,
            "/api/v1/validation/queue",
            &admin,
            Body::empty(),
        ))
        .await;
    assert_eq!(json(&b)["pending"][0]["patient_id"], id.as_str());
    let (s, b, _) = node
        .send(api(
            Method::POST,
            &decide,
            &admin,
            Body::from(r#"{"decision":"approve"}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["status"], "approved");
    let (s, b, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}/similar"),
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(json(&b)["matches"].as_array().is_some());
    // Cookie sessions must send the CSRF header to change anything.
    let cookie = format!("raremesh_csrf={CSRF}; raremesh_session={token}");
    let put = |with_header: bool| {
        let mut r = Request::put(&symptoms)
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if with_header {
            r = r.header("x-csrf-token", CSRF);
        }
        r.body(Body::from(r#"[{"term":"HP:0001250"}]"#))
            .expect("req")
    };
    assert_eq!(node.send(put(false)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(node.send(put(true)).await.0, StatusCode::OK);
    // Another member sees none of it; no token, no data.
    let (_, other) = node.account("api.other@example.org", Role::Member, true);
    let (s, _, _) = node
        .send(api(
            Method::GET,
            &format!("/api/v1/patients/{id}"),
            &other,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = node
        .send(api(Method::GET, &docs, &other, Body::empty()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = node
        .send(api(
            Method::GET,
            "/api/v1/patients",
            "nonsense",
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Signing out ends the token.
    let (s, _, _) = node
        .send(api(
            Method::DELETE,
            "/api/v1/session",
            &token,
            Body::empty(),
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = node
        .send(api(Method::GET, "/api/v1/me", &token, Body::empty()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn everything_can_be_changed_afterwards() {
    let node = Node::new(|_| {});
    let (member, session) = node.account("edit@example.org", Role::Member, true);
    let p = node.patient(&member, "Before", &["HP:0001250"]);
    for (k, b) in [("consent", PDF), ("identity", JPEG), ("medical", PNG)] {
        node.upload(&p, &session, CSRF, k, "x", b).await;
    }
    node.approve(&p);
    let edit = format!("/patients/{}/edit", p.id);
    let (s, page) = node.get(&edit, &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("value=\"Before\"") && page.contains("value=\"2016\""));
    let form = |name: &str, sex: &str, diagnosis: &str| {
        format!(
            "csrf={CSRF}&display_name={name}&birth_year=2016&sex={sex}&relation=parent&{diagnosis}&organization="
        )
    };
    // Sex and name change: still validated. Script in the name: stored as text, escaped.
    let (s, _) = node
        .post_form(
            &edit,
            &session,
            &form("%3Cscript%3Ex%3C%2Fscript%3E", "male", "diagnosis=none_yet"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(node.status(&p).is_approved());
    let (_, list) = node.get("/patients", &session).await;
    assert!(list.contains("&lt;script&gt;x&lt;&#x2f;script&gt;") && !list.contains("<script>x"));
    // A new diagnosis: back to the validators.
    let (s, _) = node
        .post_form(
            &edit,
            &session,
            &form("After", "male", "diagnosis=orpha&disease=ORPHA%3A558"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(matches!(node.status(&p), Validation::Pending { .. }));
    // Bad values: refused, nothing changes.
    let (s, _) = node
        .post_form(
            &edit,
            &session,
            &form(
                "After",
                "robot",
                "diagnosis=orpha&disease=ORPHA%3A999999999",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = node
        .state
        .patients
        .get(&member, &p.id)
        .expect("g")
        .expect("p");
    assert_eq!(stored.display_name, "After");
    // Removal needs the box ticked; then the patient and documents are gone.
    let remove = format!("/patients/{}/remove", p.id);
    let (s, _) = node
        .post_form(&remove, &session, &format!("csrf={CSRF}"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(node.files().len(), 3);
    let (s, _) = node
        .post_form(&remove, &session, &format!("csrf={CSRF}&confirm=yes"))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(node.files().is_empty());
    assert!(
        node.state
            .patients
            .get(&member, &p.id)
            .expect("g")
            .is_none()
    );

    // Step 1 details.
    let (s, _) = node
        .post_form(
            "/account/profile",
            &session,
            &format!(
                "csrf={CSRF}&name=New+Name&country=Belgium&language=fr&registrant=adult_patient"
            ),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let m = node
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    assert_eq!(
        (
            m.info.name.as_str(),
            m.info.language.as_str(),
            m.info.email.as_str()
        ),
        ("New Name", "fr", "edit@example.org")
    );
    let (s, page) = node
        .post_form(
            "/account/profile",
            &session,
            &format!("csrf={CSRF}&name=&country=Belgium&language=xx&registrant=adult_patient"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("aria-invalid=\"true\""));
    let m = node
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    assert_eq!(m.info.name, "New Name");
}

#[tokio::test]
async fn registration_and_the_account_through_the_api() {
    let node = Node::new(|_| {});
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");
    let call = |m: Method, path: &str, token: &str, body: &str| {
        api(m, path, token, Body::from(body.to_owned()))
    };
    // Step 1: bad fields are named; good ones get 202 and a mail.
    let (s, b, _) = node
        .send(call(Method::POST, "/api/v1/register", "", r#"{"name":"","email":"x","country":"France","language":"de","registrant":"adult_patient"}"#))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = json(&b)["error"]["message"].as_str().expect("m").to_owned();
    assert!(
        msg.contains("name") && msg.contains("email") && msg.contains("language"),
        "{msg}"
    );
    let (s, _, _) = node
        .send(call(Method::POST, "/api/v1/register", "", r#"{"name":"Api Person","email":"api.reg@example.org","country":"France","language":"fr","registrant":"adult_patient"}"#))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let mail = node
        .outbox()
        .into_iter()
        .find(|m| m.contains("api.reg@example.org"))
        .expect("mail");
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("/register/confirm/").expect("link") + "/register/confirm/".len();
    let link = &mail[at..at + 64];
    // Step 2: password rules, then the account and a token; the link works once.
    let (s, _, _) = node
        .send(call(
            Method::POST,
            "/api/v1/register/confirm",
            "",
            &format!(r#"{{"token":"{link}","password":"short"}}"#),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let confirm = format!(r#"{{"token":"{link}","password":"a long api password"}}"#);
    let (s, b, _) = node
        .send(call(Method::POST, "/api/v1/register/confirm", "", &confirm))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = json(&b)["token"].as_str().expect("token").to_owned();
    let (s, _, _) = node
        .send(call(Method::POST, "/api/v1/register/confirm", "", &confirm))
        .await;
    assert_eq!(s, StatusCode::GONE, "a used link is refused");
    // Step 3 and a change.
    let (_, b, _) = node
        .send(call(Method::POST, "/api/v1/patients", &token, r#"{"display_name":"Myself","birth_year":1990,"sex":"female","relation":"myself","diagnosis":"none_yet"}"#))
        .await;
    let id = json(&b)["id"].as_str().expect("id").to_owned();
    let (s, b, _) = node
        .send(call(Method::PUT, &format!("/api/v1/patients/{id}"), &token, r#"{"display_name":"Me","birth_year":1990,"sex":"female","relation":"myself","diagnosis":"not_listed","diagnosis_text":"Something rare"}"#))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["diagnosis"]["text"], "Something rare");
    // Step 5: acceptance is required once; consents can be withdrawn.
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"local_matching":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"accept":true,"local_matching":true,"research":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&b)["consents"]["terms_version"], "1");
    let (_, b, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"local_matching":true}"#,
        ))
        .await;
    assert_eq!(json(&b)["consents"]["research"], false, "withdrawn");
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/consents",
            &token,
            r#"{"accept":true,"sell_my_data":true}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields are refused");
    // Details, export.
    let (s, _, _) = node
        .send(call(
            Method::PUT,
            "/api/v1/me",
            &token,
            r#"{"name":"Api P.","country":"Spain","language":"es","registrant":"adult_patient"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b, _) = node
        .send(call(Method::GET, "/api/v1/export", &token, ""))
        .await;
    let all = json(&b);
    assert_eq!(all["member"]["info"]["name"], "Api P.");
    assert_eq!(all["member"]["info"]["email"], "api.reg@example.org");
    assert_eq!(all["patients"][0]["record"]["display_name"], "Me");
    assert!(!all.to_string().contains("$argon2"), "no password hash");
    // Remove the patient, then the account (the password is asked).
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            &format!("/api/v1/patients/{id}"),
            &token,
            "",
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            "/api/v1/me",
            &token,
            r#"{"password":"wrong"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = node
        .send(call(
            Method::DELETE,
            "/api/v1/me",
            &token,
            r#"{"password":"a long api password"}"#,
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        node.state
            .accounts
            .by_email("api.reg@example.org")
            .expect("lookup")
            .is_none()
    );
    let (s, _, _) = node.send(call(Method::GET, "/api/v1/me", &token, "")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn members_who_asked_hear_of_new_matches() {
    let node = Node::new(|_| {});
    let (me, session) = node.account("notify@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&me).expect("m").expect("m");
    m.consents.notify_matches = true;
    node.state.registrations.save_member(&m).expect("save");
    let mine = node.patient(&me, "Mine", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&mine);
    let (other, _) = node.account("first@example.org", Role::Member, true);
    let first = node.patient(&other, "First", &["HP:0001250", "HP:0000365"]);
    node.approve(&first);
    let mails = |n: &Node| {
        n.outbox()
            .iter()
            .filter(|m| m.contains("new patients like yours"))
            .count()
    };
    // The first pass records what exists: no notice.
    assert_eq!(raremesh::notify::pass(&node.state).await.expect("pass"), 0);
    assert_eq!(mails(&node), 0);
    // A close patient appears: a mail, and a "New" mark until the page is seen.
    let (third, _) = node.account("close@example.org", Role::Member, true);
    let close = node.patient(&third, "Close", &["HP:0002069", "HP:0001252", "HP:0001263"]);
    node.approve(&close);
    assert_eq!(raremesh::notify::pass(&node.state).await.expect("pass"), 1);
    assert_eq!(mails(&node), 1);
    let path = format!("/patients/{}/similar", mine.id);
    let (_, page) = node.get(&path, &session).await;
    let new_mark = format!(
        "{} <span class=\"new\">New</span>",
        raremesh::similar::pseudonym(&close.id)
    );
    assert!(page.contains(&new_mark), "{page}");
    let (_, page) = node.get(&path, &session).await;
    assert!(!page.contains("class=\"new\""), "seen once, no longer new");
    // Nothing changed: no notice. Another newcomer the same day: marked, but no second mail.
    assert_eq!(raremesh::notify::pass(&node.state).await.expect("pass"), 0);
    let (fourth, _) = node.account("also@example.org", Role::Member, true);
    let also = node.patient(&fourth, "Also", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&also);
    assert_eq!(raremesh::notify::pass(&node.state).await.expect("pass"), 1);
    assert_eq!(mails(&node), 1, "at most one mail a day");
    let (_, page) = node.get(&path, &session).await;
    assert!(page.contains("class=\"new\""));
    // A member who did not ask hears nothing.
    let (quiet, _) = node.account("quiet@example.org", Role::Member, true);
    let q = node.patient(&quiet, "Quiet", &["HP:0001250", "HP:0001252"]);
    node.approve(&q);
    raremesh::notify::pass(&node.state).await.expect("pass");
    assert!(
        !node
            .outbox()
            .iter()
            .any(|m| m.contains("quiet@example.org"))
    );
}
