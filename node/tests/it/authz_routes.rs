//! The table of [`super::authz`]: every route, and what each role must get from it.

use axum::http::Method;

use raremesh::ids::AccountId;

use crate::validation::CSRF;

/// The boundary of the multipart bodies the table sends.
pub const BOUNDARY: &str = "authzboundary";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Want {
    Ok,
    /// 303 to a path starting with this.
    To(&'static str),
    /// This status.
    Is(u16),
}

pub enum Kind {
    Form,
    Multipart,
    Json,
}

/// One route: method, path, body kind, body, and the answer each role must get (in the
/// order of the roles of [`super::authz`]).
pub type Route = (Method, String, Kind, String, [Want; 7]);

/// The ids the routes name.
pub struct Ids<'a> {
    /// The owner's patient.
    pub p: &'a str,
    /// The owner.
    pub owner_id: &'a AccountId,
    /// One of the owner's documents.
    pub doc: &'a str,
    /// A question and its answer.
    pub qid: &'a str,
    /// The answer.
    pub aid: &'a str,
    /// The validated member's own patient.
    pub theirs: &'a str,
}

/// Every route with what each role must get.
pub fn table(ids: &Ids<'_>) -> Vec<Route> {
    let Ids {
        p,
        owner_id,
        doc,
        qid,
        aid,
        theirs,
    } = *ids;
    let symptoms = format!("/patients/{p}/symptoms");
    let review = format!("/validation/{owner_id}/{p}");
    let multipart = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nforged\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 x\r\n--{BOUNDARY}--\r\n"
    );
    use Kind::*;
    use Want::*;
    const SIGNIN: Want = To("/signin");
    const ACCOUNT: Want = To("/account");
    const NONE: Want = Is(404);
    const DENIED: Want = Is(403);
    const UNAUTH: Want = Is(401);
    let get = Method::GET;
    let post = Method::POST;
    // (method, path, body kind, body, expectation per role in the order above)
    vec![
        (get.clone(), "/".into(), Form, String::new(), [Ok; 7]),
        (
            get.clone(),
            "/api/v1/version".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (
            get.clone(),
            "/register".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (get.clone(), "/signin".into(), Form, String::new(), [Ok; 7]),
        (
            get.clone(),
            "/password/forgot".into(),
            Form,
            String::new(),
            [Ok; 7],
        ),
        (
            get.clone(),
            "/account".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/patients".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            symptoms.clone(),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            symptoms.clone(),
            Form,
            format!("csrf={CSRF}&term=HP%3A0001250&presence=observed"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            post.clone(),
            format!("/patients/{p}/phenopacket/import"),
            Multipart,
            multipart.clone(),
            [SIGNIN, DENIED, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/phenopacket/import/apply"),
            Form,
            format!(
                "csrf={CSRF}&packet=%7B%22phenotypicFeatures%22%3A%5B%7B%22type%22%3A%7B%22id%22%3A%22HP%3A0001250%22%7D%7D%5D%7D"
            ),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            post.clone(),
            format!("{symptoms}/remove"),
            Form,
            format!("csrf={CSRF}&term=HP%3A0001250"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            format!("/patients/{p}/documents"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/documents"),
            Multipart,
            multipart.clone(),
            [SIGNIN, DENIED, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/patients/{p}/similar"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/patients/{theirs}/similar"),
            Form,
            String::new(),
            [SIGNIN, NONE, Ok, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/terms".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/account/export".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            format!("/patients/{p}/phenopacket"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/account/delete".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/validation".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            review.clone(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            format!("{review}/documents/{}", doc),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        // An incomplete decision: refused for staff (422), changes nothing for anyone.
        (
            post.clone(),
            review.clone(),
            Form,
            format!("csrf={CSRF}&decision=reject"),
            [SIGNIN, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            format!("{review}/mme"),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            format!("{review}/mme"),
            Form,
            format!("csrf={CSRF}&server=Nowhere"),
            [SIGNIN, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            post.clone(),
            format!("/patients/{p}/matchmaking/withdraw"),
            Form,
            format!("csrf={CSRF}"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            "/validation/audit".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            get.clone(),
            "/api/v1/me".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            get.clone(),
            "/api/v1/patients".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}"),
            Json,
            String::new(),
            [UNAUTH, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/symptoms"),
            Json,
            r#"[{"term":"HP:0001250"}]"#.into(),
            [UNAUTH, Ok, NONE, NONE, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}/documents"),
            Json,
            String::new(),
            [UNAUTH, Ok, NONE, NONE, NONE, NONE, NONE],
        ),
        (
            post.clone(),
            format!("/api/v1/patients/{p}/documents?kind=other"),
            Json,
            "<script>".into(),
            [UNAUTH, Is(415), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            format!("/api/v1/patients/{p}/similar"),
            Json,
            String::new(),
            [UNAUTH, Is(409), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/api/v1/validation/queue".into(),
            Json,
            String::new(),
            [UNAUTH, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            format!("/api/v1/validation/{owner_id}/{p}"),
            Json,
            r#"{"decision":"maybe"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            format!("/patients/{p}/edit"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/patients/{p}/remove"),
            Form,
            format!("csrf={CSRF}"),
            [SIGNIN, Is(422), NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/account/profile".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/api/v1/consents".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            "/api/v1/export".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}"),
            Json,
            r#"{"display_name":"Hiddenchild","birth_year":1800}"#.into(),
            [UNAUTH, Is(422), NONE, NONE, NONE, NONE, NONE],
        ),
        (
            get.clone(),
            "/account/matrix".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/contacts".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/contacts/0123456789abcdef0123456789abcdef".into(),
            Form,
            format!("csrf={CSRF}&answer=accept"),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/messages".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/messages/0123456789abcdef0123456789abcdef".into(),
            Form,
            String::new(),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/messages/0123456789abcdef0123456789abcdef".into(),
            Form,
            format!("csrf={CSRF}&action=send&body=Hello"),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/messages/0123456789abcdef0123456789abcdef/after/0".into(),
            Form,
            String::new(),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/messages/0123456789abcdef0123456789abcdef/report/1".into(),
            Form,
            format!("csrf={CSRF}&reason=Rude"),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/messages/0123456789abcdef0123456789abcdef/image".into(),
            Multipart,
            multipart.clone(),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/messages/0123456789abcdef0123456789abcdef/image/1".into(),
            Form,
            String::new(),
            [SIGNIN, NONE, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/validation/reports/0123456789abcdef0123456789abcdef/image".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, NONE, NONE, DENIED],
        ),
        (
            get.clone(),
            "/validation/reports".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            "/validation/reports/0123456789abcdef0123456789abcdef".into(),
            Form,
            format!("csrf={CSRF}&note=Done"),
            [SIGNIN, DENIED, DENIED, DENIED, NONE, NONE, DENIED],
        ),
        (
            post.clone(),
            format!("/patients/{p}/pseudonym"),
            Form,
            format!("csrf={CSRF}"),
            [
                SIGNIN,
                To("/patients/"),
                NONE,
                NONE,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            format!("/patients/{p}/questionnaires"),
            Form,
            String::new(),
            [SIGNIN, Ok, NONE, NONE, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            "/research".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, DENIED, DENIED, Ok],
        ),
        (
            post.clone(),
            "/api/v1/research/count".into(),
            Json,
            r#"{"symptom":"HP:0001250"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, Ok],
        ),
        (
            post.clone(),
            "/api/v1/research/distribution".into(),
            Json,
            r#"{"questionnaire":"none","question":"none"}"#.into(),
            [UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, Is(422)],
        ),
        (
            get.clone(),
            "/questions".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/questions/new".into(),
            Form,
            format!("csrf={CSRF}&title=T&body=B"),
            [
                SIGNIN,
                DENIED,
                To("/questions/"),
                DENIED,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            "/questions/search?q=authz".into(),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            get.clone(),
            format!("/questions/{qid}"),
            Form,
            String::new(),
            [SIGNIN, Ok, Ok, Ok, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/questions/{qid}"),
            Form,
            format!("csrf={CSRF}&action=answer&body="),
            [SIGNIN, DENIED, Is(422), DENIED, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            format!("/questions/{qid}/answers/{aid}"),
            Form,
            format!("csrf={CSRF}&action=helpful"),
            [SIGNIN, DENIED, DENIED, DENIED, ACCOUNT, ACCOUNT, ACCOUNT],
        ),
        (
            post.clone(),
            "/questions/settings".into(),
            Form,
            format!("csrf={CSRF}&action=digest_off"),
            [
                SIGNIN,
                To("/questions"),
                To("/questions"),
                To("/questions"),
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
            ],
        ),
        (
            get.clone(),
            "/moderation".into(),
            Form,
            String::new(),
            [SIGNIN, DENIED, DENIED, DENIED, Ok, Ok, DENIED],
        ),
        (
            post.clone(),
            "/moderation".into(),
            Form,
            format!("csrf={CSRF}&question={qid}&action=hide&reason="),
            [SIGNIN, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
        (
            get.clone(),
            "/api/v1/questions".into(),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            get.clone(),
            format!("/api/v1/questions/{qid}"),
            Json,
            String::new(),
            [UNAUTH, Ok, Ok, Ok, DENIED, DENIED, DENIED],
        ),
        (
            post.clone(),
            format!("/api/v1/questions/{qid}/answers"),
            Json,
            r#"{"body":""}"#.into(),
            [UNAUTH, DENIED, Is(422), DENIED, DENIED, DENIED, DENIED],
        ),
        (
            Method::PUT,
            format!("/api/v1/questions/{qid}"),
            Json,
            r#"{"title":"","body":""}"#.into(),
            [UNAUTH, DENIED, Is(422), DENIED, DENIED, DENIED, DENIED],
        ),
        (
            post.clone(),
            "/api/v1/moderation".into(),
            Json,
            format!(r#"{{"question":"{qid}","action":"hide","reason":""}}"#),
            [UNAUTH, DENIED, DENIED, DENIED, Is(422), Is(422), DENIED],
        ),
    ]
}
