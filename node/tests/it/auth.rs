//! Signing in and out through the router: CSRF, no account enumeration, throttling,
//! cookie flags, sign out everywhere.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use raremesh::accounts::Role;
use tower::ServiceExt;

use crate::state;

struct Res {
    status: StatusCode,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

async fn send(req: Request<Body>) -> Res {
    let res = raremesh::http::app(state())
        .oneshot(req)
        .await
        .expect("response");
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes())
        .into_owned();
    Res {
        status,
        cookies,
        location,
        body,
    }
}

fn cookie_value(set_cookie: &[String], name: &str) -> Option<String> {
    set_cookie
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

async fn csrf() -> String {
    let page = send(Request::get("/signin").body(Body::empty()).expect("req")).await;
    assert_eq!(page.status, StatusCode::OK);
    let set = page
        .cookies
        .iter()
        .find(|c| c.starts_with("raremesh_csrf="))
        .expect("csrf cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let token = cookie_value(&page.cookies, "raremesh_csrf").expect("token");
    assert!(
        page.body.contains(&format!("value=\"{token}\"")),
        "the form carries the token"
    );
    token
}

fn form(path: &str, cookies: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(body.to_owned()))
        .expect("req")
}

async fn sign_in(csrf: &str, email: &str, password: &str) -> Res {
    let body = format!(
        "csrf={csrf}&email={}&password={}",
        enc(email),
        enc(password)
    );
    send(form("/signin", &format!("raremesh_csrf={csrf}"), &body)).await
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn sign_in_and_out() {
    let s = state();
    s.accounts
        .create(
            "auth-member@example.org",
            "a good long password",
            Role::Member,
            true,
        )
        .expect("account");
    let csrf = csrf().await;

    // Without the CSRF cookie and field, nothing happens.
    let r = send(form(
        "/signin",
        "",
        "email=auth-member%40example.org&password=a+good+long+password",
    ))
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(cookie_value(&r.cookies, "raremesh_session").is_none());
    let r = send(form(
        "/signin",
        "raremesh_csrf=".to_owned().as_str(),
        &format!("csrf={csrf}&email=x&password=y"),
    ))
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a field without the cookie is refused"
    );

    // Wrong password and unknown address read the same.
    let wrong = sign_in(&csrf, "auth-member@example.org", "not the password").await;
    let unknown = sign_in(&csrf, "nobody-here@example.org", "not the password").await;
    assert_eq!(
        (wrong.status, unknown.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    let msg = "The email address or the password is not right.";
    assert!(wrong.body.contains(msg) && unknown.body.contains(msg));

    // The right password: a session cookie, HttpOnly, SameSite, and the account page.
    let ok = sign_in(&csrf, "Auth-Member@example.org", "a good long password").await;
    assert_eq!(
        (ok.status, ok.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/account"))
    );
    let set = ok
        .cookies
        .iter()
        .find(|c| c.starts_with("raremesh_session="))
        .expect("session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"),
        "{set}"
    );
    let token = cookie_value(&ok.cookies, "raremesh_session").expect("token");
    let page = send(
        Request::get("/account")
            .header(header::COOKIE, format!("raremesh_session={token}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("auth-member@example.org") && page.body.contains("(member)"));
    let anonymous = send(Request::get("/account").body(Body::empty()).expect("req")).await;
    assert_eq!(
        (anonymous.status, anonymous.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/signin"))
    );
    let forged = send(
        Request::get("/account")
            .header(
                header::COOKIE,
                format!("raremesh_session={}", "0".repeat(64)),
            )
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);

    // Sign out ends this session only.
    let other = cookie_value(
        &sign_in(&csrf, "auth-member@example.org", "a good long password")
            .await
            .cookies,
        "raremesh_session",
    )
    .expect("second session");
    let out = send(form(
        "/signout",
        &format!("raremesh_csrf={csrf}; raremesh_session={token}"),
        &format!("csrf={csrf}"),
    ))
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.cookies
            .iter()
            .any(|c| c.starts_with("raremesh_session=;") && c.contains("Max-Age=0"))
    );
    assert!(s.sessions.get(&token).expect("get").is_none());
    assert!(s.sessions.get(&other).expect("get").is_some());

    // Sign out everywhere ends them all.
    let third = cookie_value(
        &sign_in(&csrf, "auth-member@example.org", "a good long password")
            .await
            .cookies,
        "raremesh_session",
    )
    .expect("third session");
    let forged = send(form(
        "/signout-everywhere",
        &format!("raremesh_csrf={csrf}; raremesh_session={third}"),
        "csrf=wrong",
    ))
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        s.sessions.get(&third).expect("get").is_some(),
        "a forged form changes nothing"
    );
    let all = send(form(
        "/signout-everywhere",
        &format!("raremesh_csrf={csrf}; raremesh_session={third}"),
        &format!("csrf={csrf}"),
    ))
    .await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    assert!(
        s.sessions.get(&third).expect("get").is_none()
            && s.sessions.get(&other).expect("get").is_none()
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let s = state();
    s.accounts
        .create(
            "throttled@example.org",
            "the right password",
            Role::Member,
            true,
        )
        .expect("account");
    let csrf = csrf().await;
    for _ in 0..raremesh::http::throttle::MAX_FAILURES {
        assert_eq!(
            sign_in(&csrf, "throttled@example.org", "a wrong password")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked = sign_in(&csrf, "throttled@example.org", "the right password").await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("Too many attempts"));
    assert!(cookie_value(&blocked.cookies, "raremesh_session").is_none());
}

#[tokio::test]
async fn what_was_typed_is_escaped() {
    let csrf = csrf().await;
    let r = sign_in(
        &csrf,
        "<script>alert(1)</script>@x.org",
        "whatever password",
    )
    .await;
    assert!(
        !r.body.contains("<script>alert(1)") && r.body.contains("&lt;script&gt;"),
        "{}",
        r.body
    );
}
