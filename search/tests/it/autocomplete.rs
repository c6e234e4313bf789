//! Relevance: a table of query -> expected hits, plus bad input.

use raremesh_search::{Autocomplete, Target};

use crate::fixture;

fn term_ids(q: &str, n: usize) -> Vec<String> {
    let (o, a) = fixture();
    a.terms(o, q, n)
        .into_iter()
        .map(|h| match h.target {
            Target::Term(t) => o.term(t).id.to_string(),
            Target::Disease(_) => unreachable!("terms only"),
        })
        .collect()
}

fn disease_codes(q: &str, n: usize) -> Vec<String> {
    let (o, a) = fixture();
    a.diseases(o, q, n)
        .into_iter()
        .map(|h| match h.target {
            Target::Disease(d) => o.diseases()[d as usize].code.to_string(),
            Target::Term(_) => unreachable!("diseases only"),
        })
        .collect()
}

/// (query, expected id, must be within the top n)
const TERMS: &[(&str, &str, usize)] = &[
    ("seizure", "HP:0001250", 1),
    ("Seizures", "HP:0001250", 1),
    ("seizur", "HP:0001250", 1),
    ("siezure", "HP:0001250", 1),
    ("seiz", "HP:0001250", 3),
    ("large head", "HP:0000256", 1),
    ("big head", "HP:0000256", 1),
    ("macrocephaly", "HP:0000256", 1),
    ("macrocefaly", "HP:0000256", 1),
    ("hypotonia", "HP:0001252", 1),
    ("low muscle tone", "HP:0001252", 3),
    ("short stature", "HP:0004322", 1),
    ("intellectual disability", "HP:0001249", 1),
    ("intelectual disabilty", "HP:0001249", 1),
    ("autism", "HP:0000717", 1),
    ("scoliosis", "HP:0002650", 1),
    ("curved spine", "HP:0010674", 1),
    ("HP:0000256", "HP:0000256", 1),
    ("HP:0005491", "HP:0000256", 1),
    ("hp_0001250", "HP:0001250", 1),
    ("café au lait spots", "HP:0000957", 3),
    ("ataxia", "HP:0001251", 1),
    ("microcephaly", "HP:0000252", 1),
    ("small head", "HP:0000252", 1),
    ("hearing loss", "HP:0000365", 1),
    ("deaf", "HP:0000365", 3),
];

#[test]
fn obvious_terms_come_first() {
    let mut failures = Vec::new();
    for &(q, want, n) in TERMS {
        let got = term_ids(q, 10);
        if !got.iter().take(n).any(|g| g == want) {
            failures.push(format!(
                "{q:?}: want {want} in top {n}, got {:?}",
                &got[..got.len().min(5)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const DISEASES: &[(&str, &str, usize)] = &[
    ("marfan", "ORPHA:558", 1),
    ("Marfan syndrome", "ORPHA:558", 1),
    ("ORPHA:558", "ORPHA:558", 1),
    ("558", "ORPHA:558", 1),
    ("duchenne", "ORPHA:98896", 1),
    ("cystic fibrosis", "ORPHA:586", 1),
    ("cystic fibrosys", "ORPHA:586", 1),
    ("rett", "ORPHA:778", 1),
];

#[test]
fn obvious_diseases_come_first() {
    let mut failures = Vec::new();
    for &(q, want, n) in DISEASES {
        let got = disease_codes(q, 10);
        if !got.iter().take(n).any(|g| g == want) {
            failures.push(format!(
                "{q:?}: want {want} in top {n}, got {:?}",
                &got[..got.len().min(5)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_term_appears_once_under_its_best_label() {
    let (o, a) = fixture();
    let hits = a.terms(o, "big head", 10);
    let mut seen = std::collections::HashSet::new();
    assert!(hits.iter().all(|h| seen.insert(h.target)));
    assert_eq!(hits[0].matched, "Big head");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn bad_input_gets_a_normal_answer() {
    let (o, a) = fixture();
    let huge = "seizure ".repeat(1300);
    let control: String = (0u8..32).map(char::from).collect();
    for q in [
        "",
        "   ",
        "\"",
        ":",
        "*",
        "(",
        "\"seizure\" AND (x:*)",
        "HP:",
        "ORPHA:",
        &huge,
        &control,
        "🙂🙂",
        "a",
    ] {
        let t = a.terms(o, q, 10);
        let d = a.diseases(o, q, 10);
        assert!(t.len() <= 10 && d.len() <= 10, "{q:?}");
    }
    assert!(!a.terms(o, &huge, 5).is_empty());
    assert_eq!(
        a.terms(o, "seizure", 1000).len(),
        raremesh_search::MAX_LIMIT
    );
    assert_eq!(a.terms(o, "seizure", 0).len(), 1);
}

#[test]
fn the_index_persists_and_reopens() {
    let (o, _) = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Autocomplete::open(o, Some(dir.path()), "k1").expect("build");
    assert!(first.was_built());
    let again = Autocomplete::open(o, Some(dir.path()), "k1").expect("reopen");
    assert!(!again.was_built());
    let expected = first.terms(o, "large head", 1);
    assert_eq!(again.terms(o, "large head", 1), expected);
    // A damaged folder is rebuilt (the open indexes map its files, so drop them first).
    drop((first, again));
    let folder = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("labels-k1"))
        .expect("folder");
    for f in std::fs::read_dir(folder.path()).expect("ls").flatten() {
        if f.file_name() != "READY" {
            std::fs::write(f.path(), b"junk").expect("write");
        }
    }
    let rebuilt = Autocomplete::open(o, Some(dir.path()), "k1").expect("rebuild");
    assert!(rebuilt.was_built());
    assert_eq!(rebuilt.terms(o, "large head", 1), expected);
}
