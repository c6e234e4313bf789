//! Research budgets a partner cannot multiply, and the smallest cell size.

use raremesh::accounts::Role;

use crate::validation::Node;

#[tokio::test]
async fn a_partner_cannot_buy_answers_with_invented_researchers_or_spellings() {
    use raremesh::research::query::{Criteria, QueryError, count, count_for_partner};
    let node = Node::new(|c| {
        c.research.k = 5;
        c.research.epsilon_per_query = 0.5;
        c.research.budget = 5.0;
        c.research.node_budget = 15.0;
    });
    let term = |i: usize| {
        let o = &node.state.ontology;
        o.terms()[100 + i].id.to_string()
    };
    // 50 invented researcher names, each asking one new question: the partner as a whole
    // gets 15 / 0.5 = 30 answers, then no more.
    let peer = "@raremesh:partner.example.org";
    let mut answered = 0;
    let mut refused_at = None;
    for i in 0..50 {
        let q = Criteria {
            symptom: Some(term(i)),
            ..Default::default()
        };
        match count_for_partner(node.state.counting(), peer, &format!("invented-{i}"), &q) {
            Ok(_) => answered += 1,
            Err(QueryError::Budget(_)) => {
                refused_at.get_or_insert(i);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(answered, 30);
    assert_eq!(refused_at, Some(30));
    // Another partner has its own budget; this node's own researchers theirs.
    let other = Criteria {
        symptom: Some(term(60)),
        ..Default::default()
    };
    assert!(
        count_for_partner(
            node.state.counting(),
            "@raremesh:other.example.org",
            "r",
            &other
        )
        .is_ok()
    );
    // A question asked again, however spelt, is the cached answer at no cost: spaces, an
    // alternative id of the same term, the ORPHA prefix in lower case.
    let (researcher, _) = node.account("speller@example.org", Role::Researcher, false);
    let spelt = |symptom: &str, disease: Option<&str>| Criteria {
        symptom: Some(symptom.into()),
        disease: disease.map(Into::into),
        ..Default::default()
    };
    let first = count(
        node.state.counting(),
        &researcher,
        &spelt("HP:0000256", Some("ORPHA:558")),
        None,
    )
    .expect("first");
    assert!(!first.cached);
    for (s, d) in [
        (" HP:0000256 ", Some("orpha:558")),
        ("HP:0005491", Some(" ORPHA:558")),
        ("hp:0000256", Some("558")),
    ] {
        let again = count(node.state.counting(), &researcher, &spelt(s, d), None).expect("again");
        assert_eq!(
            (again.count, again.cached, again.remaining),
            (first.count, true, first.remaining),
            "{s:?} {d:?}"
        );
    }
}

#[test]
fn a_small_k_needs_the_admins_explicit_yes() {
    let mut c = raremesh::config::Config::default();
    c.research.k = 2;
    let e = c.validate().expect_err("k = 2 refused");
    assert!(e.to_string().contains("research.k") && e.to_string().contains("allow_small_k"));
    c.research.allow_small_k = true;
    c.validate().expect("allowed on purpose");
}
