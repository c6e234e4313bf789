//! Questionnaires for members who do not write English: decimal numbers with a comma.

use axum::http::StatusCode;
use raremesh::accounts::Role;
use raremesh::research::answers::Value;

use crate::validation::{CSRF, Node};

const BODY: &str = r#"
id = "body"
version = 1
title = "Body"
[[questions]]
id = "weight"
text = "Weight"
kind = "number"
min = 1
max = 200
unit = "kg"
decimals = 1
[[questions]]
id = "teeth"
text = "Teeth"
kind = "number"
min = 0
max = 32
"#;

#[tokio::test]
async fn a_decimal_comma_is_a_number() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("body.toml"), BODY).expect("write");
    let path = dir.path().to_owned();
    let node = Node::new(move |c| c.research.questionnaires_dir = Some(path));
    let (id, session) = node.account("coma@example.org", Role::Member, true);
    let mut m = node.state.registrations.member(&id).expect("m").expect("m");
    m.consents.research = true;
    m.info.language = "es".into();
    node.state.registrations.save_member(&m).expect("save");
    let p = node.patient(&id, "Iker", &["HP:0001250"]);
    node.approve(&p);
    let form = format!("/patients/{}/questionnaires/body", p.id);
    let stored = || {
        node.state
            .research
            .answers(&p.account_id, &p.id, "body")
            .expect("read")
    };

    // Too many decimals, a decimal where a whole number is asked, out of range: refused,
    // nothing stored.
    for bad in [
        "q-weight=27,55&q-teeth=20",
        "q-weight=27,5&q-teeth=20,5",
        "q-weight=200,1&q-teeth=20",
    ] {
        let (s, _) = node
            .post_form(&form, &session, &format!("csrf={CSRF}&{bad}&action=draft"))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(stored().is_none(), "{bad}");
    }

    // A comma or a point: the same number, kept with a point, shown with the member's comma.
    let (s, _) = node
        .post_form(
            &form,
            &session,
            &format!("csrf={CSRF}&q-weight=27%2C5&q-teeth=20&action=draft"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let a = stored().expect("saved");
    assert_eq!(a.values.get("weight"), Some(&Value::Text("27.5".into())));
    assert_eq!(a.values.get("teeth"), Some(&Value::Int(20)));
    let (_, page) = node.get(&form, &session).await;
    assert!(page.contains("value=\"27,5\""), "{page}");
    assert!(page.contains("inputmode=\"decimal\""), "{page}");
    let (s, _) = node
        .post_form(
            &form,
            &session,
            &format!("csrf={CSRF}&q-weight=27.5&q-teeth=20&action=submit"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(stored().expect("saved").submitted);
}
