//! Sending a patient's profile to another matchmaker: a second node's validator against
//! the first node's `/mme/match` over a real socket; the settings of `[mme]` (servers over
//! https only, tokens, contacts) and the Beacon's wait for partners.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::config::{MmeClient, MmeServer, Secret};

use crate::mme::{OTHER, TOKEN, benchmark, mme_node};
use crate::validation::{CSRF, Node};

#[tokio::test]
async fn a_validator_of_another_node_sends_a_profile_and_reads_the_answers() {
    // Node A answers over a real socket.
    let a = mme_node(|_| ());
    let bench = benchmark();
    raremesh::demo::load_mme(&a.state, &bench).expect("load");
    let (url, stop, served) = crate::socket::serve_state(a.state.clone()).await;
    // Node B may send to A.
    let b = Node::new(|c| {
        c.node.name = "Rare B".into();
        c.mme.contact_name = "Rare B desk".into();
        c.mme.contact_href = "https://rare-b.example.org/contact".into();
        c.mme.servers = vec![MmeServer {
            name: "Rare A".into(),
            url: format!("{url}/mme"),
            token: Secret::from(TOKEN.to_owned()),
        }];
    });
    // B's member, whose patient has the observed features of benchmark patient 0.
    let (member, _) = b.account("parent@example.org", Role::Member, true);
    let features: Vec<String> = bench[0]
        .features
        .iter()
        .filter(|f| f.is_observed())
        .map(|f| f.id.clone())
        .collect();
    let refs: Vec<&str> = features.iter().map(String::as_str).collect();
    let p = b.patient(&member, "Child of B", &refs);
    b.approve(&p);
    let (_, validator) = b.account("validator@example.org", Role::Validator, false);
    let path = format!("/validation/{}/{}/mme", member, p.id);
    // Without the member's consent, nothing goes.
    let (st, html) = b
        .post_form(&path, &validator, &format!("csrf={CSRF}&server=Rare+A"))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    let mut m = b
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    m.consents.matchmaking = true;
    b.state.registrations.save_member(&m).expect("save");
    let (st, html) = b.get(&path, &validator).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("<option value=\"Rare A\""), "{html}");
    // A member cannot send.
    let (_, member_session) = b.account("other@example.org", Role::Member, true);
    let (st, _) = b.get(&path, &member_session).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // An unknown server.
    let (st, _) = b
        .post_form(&path, &validator, &format!("csrf={CSRF}&server=Nowhere"))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, html) = b
        .post_form(&path, &validator, &format!("csrf={CSRF}&server=Rare+A"))
        .await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("Answers from Rare A"), "{html}");
    assert!(html.contains("Matchmaking desk of Rare A"), "{html}");
    // The best answer is A's copy of benchmark patient 0: a perfect score.
    assert!(html.contains("Score 1.00"), "{html}");
    // Both sides audited; A saw the request as a search by "clinic"; B's name of the
    // patient did not travel.
    let sent = b.state.audit.recent(10).expect("audit");
    assert!(sent.iter().any(|e| {
        e.action == raremesh::audit::Action::MmeSent
            && e.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("to Rare A: ") && r.contains("results"))
    }));
    let seen = a.state.audit.recent(10).expect("audit");
    assert!(
        seen.iter()
            .any(|e| e.action == raremesh::audit::Action::MmeMatch && e.actor == "mme clinic")
    );
    // A wrong token on B's side: the page says what A answered.
    let c = Node::new(|c| {
        c.mme.servers = vec![MmeServer {
            name: "Rare A".into(),
            url: format!("{url}/mme"),
            token: Secret::from("a-token-rare-a-does-not-know-0123456789".to_owned()),
        }];
    });
    let (member, _) = c.account("parent@example.org", Role::Member, true);
    let mut m = c
        .state
        .registrations
        .member(&member)
        .expect("m")
        .expect("m");
    m.consents.matchmaking = true;
    c.state.registrations.save_member(&m).expect("save");
    let p = c.patient(&member, "Child of C", &["HP:0001250"]);
    let (_, validator) = c.account("validator@example.org", Role::Validator, false);
    let send = |path: String| {
        let (c, validator) = (&c, validator.clone());
        async move {
            c.post_form(&path, &validator, &format!("csrf={CSRF}&server=Rare+A"))
                .await
        }
    };
    let path = format!("/validation/{}/{}/mme", member, p.id);
    // Not validated yet: nothing goes.
    let (st, html) = send(path.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "{html}");
    c.approve(&p);
    let (st, html) = send(path).await;
    assert_eq!(st, StatusCode::BAD_GATEWAY, "{html}");
    assert!(html.contains("HTTP 401"), "{html}");
    let _ = stop.send(());
    served.await.expect("served");
}

#[test]
fn profiles_are_sent_over_https_only_and_the_settings_are_checked() {
    let server = |url: &str| raremesh::config::Config {
        mme: raremesh::config::MmeConfig {
            servers: vec![MmeServer {
                name: "partner".into(),
                url: url.into(),
                token: Secret::from(TOKEN.to_owned()),
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    for ok in [
        "https://matchmaker.example.org/mme",
        "http://127.0.0.1:8008/mme",
        "http://localhost:9000",
    ] {
        server(ok)
            .validate()
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "http://matchmaker.example.org/mme",
        "http://127.0.0.1.evil.example.org/mme",
        "ftp://x.example.org",
        "matchmaker.example.org",
    ] {
        let e = server(bad).validate().expect_err(bad).to_string();
        assert!(e.contains("mme.servers.url"), "{bad}: {e}");
    }
    // On: a client and a contact are needed; tokens are long.
    let mut on = raremesh::config::Config::default();
    on.mme.enabled = true;
    assert!(
        on.validate()
            .expect_err("no client")
            .to_string()
            .contains("mme.clients")
    );
    on.mme.clients = vec![MmeClient {
        name: "clinic".into(),
        token: Secret::from("short".to_owned()),
    }];
    on.mme.contact_name = "Desk".into();
    on.mme.contact_href = "mailto:desk@example.org".into();
    assert!(
        on.validate()
            .expect_err("short")
            .to_string()
            .contains("mme.clients.token")
    );
    on.mme.clients[0].token = Secret::from(TOKEN.to_owned());
    on.validate().expect("valid");
    assert!(!on.summary().contains(TOKEN), "tokens are never printed");
    // The Beacon's wait for partners stays under the request time limit.
    let mut beacon = raremesh::config::Config::default();
    beacon.beacon.network_wait_secs = 28;
    // Off, the Beacon's settings do not hold the node back (a short request time limit).
    beacon.validate().expect("the Beacon is off");
    beacon.beacon.enabled = true;
    beacon.beacon.clients = vec![raremesh::config::BeaconClient {
        name: "portal".into(),
        token: Secret::from(OTHER.to_owned()),
    }];
    let e = beacon.validate().expect_err("too long").to_string();
    assert!(e.contains("beacon.network_wait_secs"), "{e}");
    beacon.beacon.network_wait_secs = 10;
    beacon.server.request_timeout_secs = 5;
    beacon.validate().expect_err("over the request limit");
    beacon.beacon.enabled = false;
    beacon.validate().expect("the Beacon is off again");
}
