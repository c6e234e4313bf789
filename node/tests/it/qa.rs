//! Community questions on one node: asking, answering, the answer that helped, helpful
//! marks, and a feed ranked by how likely the member is to help.

use axum::http::StatusCode;
use raremesh::accounts::Role;

use crate::validation::Node;

const CSRF: &str = "abababababababababababababababababababababababababababababababab";

#[tokio::test]
async fn members_ask_answer_and_see_the_questions_they_can_help_with_first() {
    let node = Node::new(|_| {});
    let person = |email: &str, terms: &[&str], validated: bool| {
        let (id, session) = node.account(email, Role::Member, true);
        let p = node.patient(&id, "Child", terms);
        if validated {
            node.approve(&p);
        }
        (id, session, p)
    };
    let (_, asker, asker_patient) =
        person("asker@example.org", &["HP:0001250", "HP:0001252"], true);
    let (_, other_asker, _) = person("other@example.org", &["HP:0000365"], true);
    let (_, helper, _) = person("helper@example.org", &["HP:0002069", "HP:0001252"], true);
    let (_, newcomer, _) = person("new@example.org", &["HP:0001250"], false);

    // Not validated: may read, not ask.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &newcomer,
            &format!("csrf={CSRF}&title=T&body=B"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bad tags are refused.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &asker,
            &format!("csrf={CSRF}&title=T&body=B&tags=HP%3A9999999"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A seizure question (about the asker's patient), and an unrelated hearing question
    // asked later.
    let (s, _) = node
        .post_form(
            "/questions/new",
            &asker,
            &format!(
                "csrf={CSRF}&title=Night+seizures+%3Cscript%3E&body=What+helped+you%3F&tags=HP%3A0001250&patient={}",
                asker_patient.id
            ),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = node
        .post_form(
            "/questions/new",
            &other_asker,
            &format!("csrf={CSRF}&title=Hearing+aids&body=Which+brand%3F&tags=HP%3A0000365"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // The helper (seizures and hypotonia) sees the seizure question first, though newer is
    // the hearing one; the script in a title is shown as text.
    let (_, feed) = node.get("/questions", &helper).await;
    let (seiz, hear) = (
        feed.find("Night seizures").expect("seizures"),
        feed.find("Hearing aids").expect("hearing"),
    );
    assert!(seiz < hear, "{feed}");
    assert!(feed.contains("&lt;script&gt;") && !feed.contains("<script>"));
    let q = node
        .state
        .qa
        .questions()
        .expect("q")
        .into_iter()
        .find(|q| q.title.starts_with("Night"))
        .expect("q");
    // The helper answers; the newcomer cannot; the asker marks it; another marks helpful.
    let path = format!("/questions/{}", q.id);
    assert_eq!(
        node.post_form(&path, &newcomer, &format!("csrf={CSRF}&body=Hi"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        node.post_form(
            &path,
            &helper,
            &format!("csrf={CSRF}&body=A+ketogenic+diet+helped+us")
        )
        .await
        .0,
        StatusCode::SEE_OTHER
    );
    let a = node.state.qa.answers_of(&q.id).expect("a").remove(0);
    let mark = format!("{path}/answers/{}", a.id);
    assert_eq!(
        node.post_form(&mark, &helper, &format!("csrf={CSRF}&action=helpful"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "not one's own"
    );
    assert_eq!(
        node.post_form(&mark, &other_asker, &format!("csrf={CSRF}&action=accept"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "only the asker accepts"
    );
    assert_eq!(
        node.post_form(&mark, &asker, &format!("csrf={CSRF}&action=accept"))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        node.post_form(&mark, &other_asker, &format!("csrf={CSRF}&action=helpful"))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let a = node.state.qa.answers_of(&q.id).expect("a").remove(0);
    assert!(a.accepted && a.helpful.len() == 1);
    let (_, page) = node.get(&path, &newcomer).await;
    assert!(
        page.contains("The answer that helped") && page.contains("ketogenic"),
        "{page}"
    );
    assert_eq!(node.state.qa.helpfulness(&a.account_id).expect("h"), 3);
}
