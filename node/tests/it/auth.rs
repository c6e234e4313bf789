//! Signing in and out through the router: CSRF, no account enumeration, throttling,
//! cookie flags, sign out everywhere.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use raremesh::accounts::Role;

use crate::state;

use crate::web::{Res, enc, send};

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
    // A form the page cannot have sent (a field twice) gets a clear error, not a session.
    let r = send(form(
        "/signin",
        &format!("raremesh_csrf={csrf}"),
        &format!("csrf={csrf}&email=auth-member%40example.org&email=x&password=y"),
    ))
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("email"), "{}", r.body);
    assert!(cookie_value(&r.cookies, "raremesh_session").is_none());

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
    // A new CSRF token comes with the session, and the session is bound to it.
    let bound = cookie_value(&ok.cookies, "raremesh_csrf").expect("a new CSRF cookie");
    assert_ne!(bound, csrf);
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
    // With the session, a matching cookie and field are not enough: the token from before
    // signing in, or one planted in the browser by someone else, is refused.
    for other_token in [csrf.clone(), "ef".repeat(32)] {
        let refused = send(form(
            "/signout",
            &format!("raremesh_csrf={other_token}; raremesh_session={token}"),
            &format!("csrf={other_token}"),
        ))
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(s.sessions.get(&token).expect("get").is_some());
    }
    // A page opened from a link in a mail comes without the CSRF cookie (SameSite=Strict):
    // the page gives a new token and binds the session to it, so the member's forms work.
    let from_mail = send(
        Request::get("/account")
            .header(header::COOKIE, format!("raremesh_session={token}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    let rebound = cookie_value(&from_mail.cookies, "raremesh_csrf").expect("a new CSRF cookie");
    assert!(
        from_mail.body.contains(&rebound),
        "the page's forms carry it"
    );
    let stale = send(form(
        "/signout",
        &format!("raremesh_csrf={bound}; raremesh_session={token}"),
        &format!("csrf={bound}"),
    ))
    .await;
    assert_eq!(
        stale.status,
        StatusCode::FORBIDDEN,
        "the old token is no longer bound"
    );
    let out = send(form(
        "/signout",
        &format!("raremesh_csrf={rebound}; raremesh_session={token}"),
        &format!("csrf={rebound}"),
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
    let signed = sign_in(&csrf, "auth-member@example.org", "a good long password").await;
    let third = cookie_value(&signed.cookies, "raremesh_session").expect("third session");
    let csrf = cookie_value(&signed.cookies, "raremesh_csrf").expect("its CSRF cookie");
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
    for _ in 0..3 {
        assert_eq!(
            sign_in(&csrf, "throttled@example.org", "a wrong password")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // A fourth try at once waits (the right password too), about a second.
    let blocked = sign_in(&csrf, "throttled@example.org", "the right password").await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("Too many attempts"));
    assert!(cookie_value(&blocked.cookies, "raremesh_session").is_none());
    // A delay, not a lockout: once it has passed, the right password works.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = sign_in(&csrf, "throttled@example.org", "the right password").await;
        if r.status == StatusCode::SEE_OTHER {
            break;
        }
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(std::time::Instant::now() < deadline, "still refused");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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

fn reset_link_for(address: &str) -> Option<String> {
    let outbox = state().config.outbox_path();
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter(|m| m.contains(&format!("To: {address}")))
        .filter_map(|m| {
            let m = m.replace("=\r\n", "").replace("=\n", "");
            let at = m.find("/password/reset/")?;
            Some(m[at..at + "/password/reset/".len() + 64].to_owned())
        })
        .next_back()
}

#[test]
fn an_older_reset_link_dies_when_a_newer_one_is_used() {
    let s = state();
    let account = s
        .accounts
        .create(
            "twice.reset@example.org",
            "a first long password",
            Role::Member,
            true,
        )
        .expect("account");
    let older = s.accounts.issue_reset(&account.id).expect("older");
    let newer = s.accounts.issue_reset(&account.id).expect("newer");
    let other = s
        .accounts
        .create(
            "someone.else@example.org",
            "another long password",
            Role::Member,
            true,
        )
        .expect("other");
    let theirs = s.accounts.issue_reset(&other.id).expect("theirs");
    // Both links work until one is used.
    assert!(
        s.accounts
            .reset_account(&older, false)
            .expect("read")
            .is_some()
    );
    assert_eq!(
        s.accounts.reset_account(&newer, true).expect("use"),
        Some(account.id.clone())
    );
    assert_eq!(s.accounts.reset_account(&older, true).expect("older"), None);
    assert_eq!(s.accounts.reset_account(&newer, true).expect("again"), None);
    // Another member's link is untouched.
    assert_eq!(
        s.accounts.reset_account(&theirs, false).expect("theirs"),
        Some(other.id)
    );
}

#[tokio::test]
async fn the_reset_mail_is_in_the_members_language() {
    let s = state();
    let account = s
        .accounts
        .create(
            "oubli@example.org",
            "un ancien long mot de passe",
            Role::Member,
            true,
        )
        .expect("account");
    s.registrations
        .save_member(&raremesh::registration::Member {
            account_id: account.id.clone(),
            info: raremesh::registration::PersonalInfo {
                name: "Odile".into(),
                email: account.email.clone(),
                country: "France".into(),
                language: "fr".into(),
                registrant: raremesh::registration::Registrant::AdultPatient,
            },
            step: 2,
            consents: Default::default(),
            matrix: None,
        })
        .expect("member");
    let csrf = csrf().await;
    // Asked from an English browser: the member chose French.
    let asked = send(form(
        "/password/forgot",
        &format!("raremesh_csrf={csrf}"),
        &format!("csrf={csrf}&email=oubli%40example.org"),
    ))
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    let outbox = state().config.outbox_path();
    let mail = std::fs::read_dir(outbox)
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains("To: oubli@example.org"))
        .expect("the mail")
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(
        mail.contains("Pour choisir un nouveau mot de passe"),
        "{mail}"
    );
    assert!(!mail.contains("To choose a new password"), "{mail}");
}

#[tokio::test]
async fn forgotten_passwords_are_reset_by_mail() {
    let s = state();
    s.accounts
        .create(
            "forgetful@example.org",
            "the old long password",
            Role::Member,
            true,
        )
        .expect("account");
    let csrf = csrf().await;
    let old_session = cookie_value(
        &sign_in(&csrf, "forgetful@example.org", "the old long password")
            .await
            .cookies,
        "raremesh_session",
    )
    .expect("session");
    let ask = |email: &str| {
        form(
            "/password/forgot",
            &format!("raremesh_csrf={csrf}"),
            &format!("csrf={csrf}&email={}", enc(email)),
        )
    };
    let known = send(ask("Forgetful@example.org")).await;
    let unknown = send(ask("nobody.at.all@example.org")).await;
    assert_eq!(
        (known.status, unknown.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert!(
        known.body.contains("If an account uses this address")
            && unknown.body.contains("If an account uses this address")
    );
    assert!(reset_link_for("nobody.at.all@example.org").is_none());
    let link = reset_link_for("forgetful@example.org").expect("reset mail");

    let page = send(Request::get(&link).body(Body::empty()).expect("req")).await;
    assert_eq!(page.status, StatusCode::OK);
    let weak = send(form(
        &link,
        &format!("raremesh_csrf={csrf}"),
        &format!("csrf={csrf}&password=short&password_again=short"),
    ))
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = send(form(
        &link,
        &format!("raremesh_csrf={csrf}"),
        &format!("csrf={csrf}&password=the+new+long+password&password_again=the+new+long+password"),
    ))
    .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/signin?reset=1"))
    );
    let notice = send(
        Request::get("/signin?reset=1")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert!(notice.body.contains("Your password was changed"));

    // The link works once; the old password and the old sessions are gone.
    assert_eq!(
        send(Request::get(&link).body(Body::empty()).expect("req"))
            .await
            .status,
        StatusCode::GONE
    );
    assert!(
        s.sessions.get(&old_session).expect("get").is_none(),
        "signed out everywhere"
    );
    assert_eq!(
        sign_in(&csrf, "forgetful@example.org", "the old long password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&csrf, "forgetful@example.org", "the new long password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        send(
            Request::get("/password/reset/abc")
                .body(Body::empty())
                .expect("req")
        )
        .await
        .status,
        StatusCode::GONE
    );
}
