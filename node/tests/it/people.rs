//! People like me on one node, match notices, and changing everything afterwards.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::registration::patient::{Patient, Validation};

use crate::validation::{CSRF, JPEG, Node, PDF, PNG};

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
    assert_eq!(
        raremesh::notify::pass(&node.state.notifier)
            .await
            .expect("pass"),
        0
    );
    assert_eq!(mails(&node), 0);
    // A close patient appears: a mail, and a "New" mark until the page is seen.
    let (third, _) = node.account("close@example.org", Role::Member, true);
    let close = node.patient(&third, "Close", &["HP:0002069", "HP:0001252", "HP:0001263"]);
    node.approve(&close);
    assert_eq!(
        raremesh::notify::pass(&node.state.notifier)
            .await
            .expect("pass"),
        1
    );
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
    assert_eq!(
        raremesh::notify::pass(&node.state.notifier)
            .await
            .expect("pass"),
        0
    );
    let (fourth, _) = node.account("also@example.org", Role::Member, true);
    let also = node.patient(&fourth, "Also", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&also);
    assert_eq!(
        raremesh::notify::pass(&node.state.notifier)
            .await
            .expect("pass"),
        1
    );
    assert_eq!(mails(&node), 1, "at most one mail a day");
    let (_, page) = node.get(&path, &session).await;
    assert!(page.contains("class=\"new\""));
    // A member who did not ask hears nothing.
    let (quiet, _) = node.account("quiet@example.org", Role::Member, true);
    let q = node.patient(&quiet, "Quiet", &["HP:0001250", "HP:0001252"]);
    node.approve(&q);
    raremesh::notify::pass(&node.state.notifier)
        .await
        .expect("pass");
    assert!(
        !node
            .outbox()
            .iter()
            .any(|m| m.contains("quiet@example.org"))
    );
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
async fn the_notice_of_new_matches_is_in_the_members_language() {
    let node = Node::new(|_| {});
    let (me, _) = node.account("aviso@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&me).expect("m").expect("m");
    m.consents.notify_matches = true;
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let mine = node.patient(&me, "Mío", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&mine);
    raremesh::notify::pass(&node.state.notifier)
        .await
        .expect("first pass");
    let (other, _) = node.account("cercano@example.org", Role::Member, true);
    let close = node.patient(
        &other,
        "Cercano",
        &["HP:0002069", "HP:0001252", "HP:0001263"],
    );
    node.approve(&close);
    assert_eq!(
        raremesh::notify::pass(&node.state.notifier)
            .await
            .expect("pass"),
        1
    );
    let mail = node
        .outbox()
        .into_iter()
        .find(|m| m.contains("aviso@example.org"))
        .expect("a mail to the member");
    assert!(
        mail.contains("nuevos pacientes como el suyo") && mail.contains("Hay nuevos pacientes"),
        "{mail}"
    );
    assert!(!mail.contains("new patients like yours"), "{mail}");
}

/// A ranking is made once per patient until something changes: the cached answer is the
/// ranking made afresh, and any change (a new patient, a changed symptom, a consent
/// withdrawn) is in the next answer.
#[test]
fn a_kept_ranking_is_the_fresh_one_and_every_change_shows() {
    let node = Node::new(|_| {});
    let (me, _) = node.account("cache.me@example.org", Role::Member, true);
    let mine = node.patient(&me, "Mine", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&mine);
    let mine = node
        .state
        .patients
        .get(&me, &mine.id)
        .expect("get")
        .expect("p");
    let mut others = Vec::new();
    for (i, terms) in [
        &["HP:0001250", "HP:0000365"][..],
        &["HP:0001252"][..],
        &["HP:0000256", "HP:0001263"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let (id, _) = node.account(&format!("cache{i}@example.org"), Role::Member, true);
        let p = node.patient(&id, "Other", terms);
        node.approve(&p);
        others.push((id, p));
    }
    let s = &node.state.similar;
    let first = s.find(&mine, 10).expect("rank");
    assert_eq!(first.len(), 3);
    // Kept: the same answer.
    assert_eq!(s.find(&mine, 10).expect("rank"), first);
    // A closer patient arrives: first in the next answer.
    let (id, _) = node.account("cache.twin@example.org", Role::Member, true);
    let twin = node.patient(&id, "Twin", &["HP:0001250", "HP:0001252", "HP:0001263"]);
    node.approve(&twin);
    let second = s.find(&mine, 10).expect("rank");
    assert_eq!(second.len(), 4);
    assert_eq!(second[0].pseudonym, raremesh::similar::pseudonym(&twin.id));
    // A member withdraws their consent: gone from the next answer.
    let (gone, _) = &others[1];
    let mut m = node
        .state
        .registrations
        .member(gone)
        .expect("m")
        .expect("m");
    m.consents.local_matching = false;
    node.state.registrations.save_member(&m).expect("save");
    let third = s.find(&mine, 10).expect("rank");
    assert_eq!(third.len(), 3);
    assert!(
        !third
            .iter()
            .any(|x| x.pseudonym == raremesh::similar::pseudonym(&others[1].1.id))
    );
    // A kept answer equals one made afresh: saving a patient unchanged makes the next
    // call rank again.
    let kept = (
        s.find(&mine, 10).expect("rank"),
        s.find(&mine, 2).expect("rank"),
    );
    let p = node
        .state
        .patients
        .get(&others[0].0, &others[0].1.id)
        .expect("get")
        .expect("p");
    node.state.patients.save(&p).expect("save");
    let fresh = (
        s.find(&mine, 10).expect("rank"),
        s.find(&mine, 2).expect("rank"),
    );
    assert_eq!(kept, fresh);
    assert_eq!(kept.0, third);
    assert_eq!(kept.1[..], third[..2]);
}
