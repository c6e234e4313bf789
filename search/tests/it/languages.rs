//! Symptom search in the member's language: the table in `queries.tsv` (English, Spanish,
//! French; clinical names and everyday words), top-1 and top-5 per language, and the
//! pre-selected suggestion, which must never be a wrong term.

use raremesh_search::Target;

use crate::fixture;

struct Row {
    lang: &'static str,
    query: &'static str,
    expected: &'static str,
    kind: &'static str,
}

fn table() -> Vec<Row> {
    include_str!("queries.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut c = l.split('\t');
            Row {
                lang: c.next().expect("lang"),
                query: c.next().expect("query"),
                expected: c.next().expect("expected"),
                kind: c.next().expect("kind"),
            }
        })
        .collect()
}

#[derive(Default)]
struct Figures {
    queries: usize,
    top1: usize,
    top5: usize,
    preselected: usize,
    preselected_wrong: Vec<String>,
    missed: Vec<String>,
}

#[test]
fn each_language_finds_its_words_and_never_preselects_a_wrong_term() {
    let (o, a) = fixture();
    let mut by_lang: std::collections::BTreeMap<(&str, &str), Figures> = Default::default();
    for row in table() {
        let hits = a.terms_in(o, row.query, 8, row.lang);
        let ids: Vec<String> = hits
            .iter()
            .map(|h| match h.target {
                Target::Term(t) => o.term(t).id.to_string(),
                Target::Disease(_) => unreachable!("terms only"),
            })
            .collect();
        let f = by_lang.entry((row.lang, row.kind)).or_default();
        f.queries += 1;
        let rank = ids.iter().position(|i| i == row.expected);
        if rank == Some(0) {
            f.top1 += 1;
        }
        if rank.is_some_and(|r| r < 5) {
            f.top5 += 1;
        } else {
            f.missed
                .push(format!("{:?} -> {:?}", row.query, &ids[..ids.len().min(3)]));
        }
        if hits.first().is_some_and(|h| h.confident) {
            f.preselected += 1;
            if rank != Some(0) {
                f.preselected_wrong.push(format!(
                    "{:?} pre-selects {} not {}",
                    row.query, ids[0], row.expected
                ));
            }
        }
    }
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d as f64;
    for ((lang, kind), f) in &by_lang {
        println!(
            "{lang} {kind}: {} queries; top-1 {:.1} %, top-5 {:.1} %; pre-selected {:.1} %, of which wrong {}",
            f.queries,
            pct(f.top1, f.queries),
            pct(f.top5, f.queries),
            pct(f.preselected, f.queries),
            f.preselected_wrong.len()
        );
        println!("  not in the top 5: {:?}", f.missed);
        println!("  wrong pre-selections: {:?}", f.preselected_wrong);
    }
    let mut per_lang: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for ((lang, _), f) in &by_lang {
        let e = per_lang.entry(lang).or_default();
        e.0 += f.queries;
        e.1 += f.top5;
    }
    for (lang, (n, top5)) in &per_lang {
        println!("{lang} in all: {n} queries; top-5 {:.1} %", pct(*top5, *n));
        assert!(*n >= 60, "{lang}: at least 60 queries");
        // Found in the top 5 for most of what members type, in each language.
        assert!(
            pct(*top5, *n) >= 80.0,
            "{lang}: top-5 {:.1} %",
            pct(*top5, *n)
        );
    }
    for ((lang, kind), f) in &by_lang {
        assert!(
            f.preselected_wrong.is_empty(),
            "{lang} {kind}: a wrong term pre-selected: {:?}",
            f.preselected_wrong
        );
    }
}

#[test]
fn names_are_shown_in_the_members_language() {
    let (o, a) = fixture();
    let hit = a.terms_in(o, "convulsiones", 5, "es");
    let Target::Term(t) = hit[0].target else {
        panic!("a term")
    };
    assert_eq!(o.term(t).id.to_string(), "HP:0001250");
    assert_eq!(o.term_name(t, "es"), "Convulsiones");
    assert_eq!(
        o.term_name(t, "es-AR"),
        "Convulsiones",
        "a region falls back"
    );
    assert_eq!(o.term_name(t, "en"), "Seizure");
    assert_eq!(
        o.term_name(t, "xx"),
        "Seizure",
        "an unknown language is English"
    );
    assert!(hit[0].confident);
    // Another language's words do not match: a French label is not searched for Spanish.
    let fr_only = a.terms_in(o, "grosse tête", 5, "es");
    assert!(fr_only.iter().all(|h| h.lang != "fr"));
    // English lay words still work for a Spanish member.
    let big_head = a.terms_in(o, "big head", 5, "es");
    let Target::Term(t) = big_head[0].target else {
        panic!("a term")
    };
    assert_eq!(o.term(t).id.to_string(), "HP:0000256");
}

#[test]
fn the_first_suggestion_is_not_preselected_for_vague_words() {
    let (o, a) = fixture();
    for (q, lang) in [
        ("cabeza", "es"),
        ("tête", "fr"),
        ("head", "en"),
        ("grande", "es"),
    ] {
        let hits = a.terms_in(o, q, 8, lang);
        assert!(
            hits.iter().all(|h| !h.confident),
            "{q:?} pre-selects {:?}",
            hits.first().map(|h| &h.matched)
        );
    }
}

#[test]
fn disease_suggestions_are_not_padded_with_unrelated_diseases() {
    let (o, a) = fixture();
    for q in ["duchenne", "marfan", "rett"] {
        let names: Vec<String> = a
            .diseases(o, q, 8)
            .into_iter()
            .map(|h| match h.target {
                Target::Disease(d) => o.diseases()[d as usize].name.to_lowercase(),
                Target::Term(_) => unreachable!("diseases only"),
            })
            .collect();
        assert!(!names.is_empty());
        assert!(names.iter().all(|n| n.contains(q)), "{q}: {names:?}");
    }
}
