//! The shipped release loads with the counts of the release notes and resolves ids.

use raremesh_ontology::{Frequency, HpoId, Lookup, Ontology, OrphaCode, Source};

use crate::shipped;

fn id(s: &str) -> HpoId {
    s.parse().expect("valid id")
}

#[test]
fn counts_match_the_release() {
    let o = shipped();
    let s = o.stats();
    assert_eq!(s.live_terms, 19_034);
    assert_eq!(s.obsolete_terms, 450);
    assert_eq!(s.replaced_terms, 356);
    assert_eq!(s.diseases, 4_281);
    assert_eq!(o.version().hpo, "hp/releases/2025-01-16");
    assert_eq!(o.version().annotations, "2025-01-16");
    assert_eq!(o.version().hpo_release(), "2025-01-16");
    assert_eq!(s.synonyms, 23_512);
    assert_eq!(s.layperson_synonyms, 8_093);
    assert_eq!(s.annotations, 114_188);
    assert_eq!(s.excluded_annotations, 711);
    assert_eq!(s.unresolved_annotations, 0);
}

#[test]
fn terms_carry_names_definitions_synonyms_and_parents() {
    let o = shipped();
    let t = o.term(o.resolve(id("HP:0000256")).expect("live"));
    assert_eq!(t.name, "Macrocephaly");
    assert!(
        t.definition
            .as_deref()
            .is_some_and(|d| d.starts_with("Occipitofrontal"))
    );
    assert!(
        t.synonyms
            .iter()
            .any(|s| s.text == "Big head" && s.layperson)
    );
    assert!(
        t.synonyms
            .iter()
            .any(|s| s.text == "Increased size of cranium" && !s.layperson)
    );
    let parents: Vec<String> = t
        .parents
        .iter()
        .map(|&p| o.term(p).id.to_string())
        .collect();
    assert!(!parents.is_empty());
}

#[test]
fn alt_ids_and_obsolete_ids_resolve() {
    let o = shipped();
    let macro_ = o.resolve(id("HP:0000256")).expect("live");
    assert_eq!(o.lookup(id("HP:0005491")), Lookup::AltId(macro_));
    let replacement = o.resolve(id("HP:0008665")).expect("live");
    assert_eq!(o.lookup(id("HP:0000057")), Lookup::Replaced(replacement));
    // Obsolete without replacement and listed as an alt_id of a live term: resolves.
    assert!(matches!(o.lookup(id("HP:0000489")), Lookup::AltId(_)));
    assert_eq!(o.lookup(id("HP:0001726")), Lookup::Obsolete);
    assert_eq!(o.lookup(id("HP:9999999")), Lookup::Unknown);
}

#[test]
fn ancestors_follow_is_a_to_the_root() {
    let o = shipped();
    let root = o.resolve(id("HP:0000001")).expect("root");
    let abnormality = o.resolve(id("HP:0000118")).expect("phenotypic abnormality");
    let seizure = o.resolve(id("HP:0001250")).expect("seizure");
    let focal = o.resolve(id("HP:0007359")).expect("focal-onset seizure");
    assert!(o.is_a(seizure, abnormality) && o.is_a(seizure, root));
    assert!(o.is_a(focal, seizure) && !o.is_a(seizure, focal));
    assert!(o.children(seizure).contains(&focal) || o.ancestors(focal).contains(&seizure));
    for (i, _) in o.terms().iter().enumerate() {
        let t = raremesh_ontology::TermIdx(i as u32);
        assert!(
            o.ancestors(t).contains(&root),
            "{} reaches the root",
            o.term(t).id
        );
    }
    for &t in o.topological_order() {
        for &p in &o.term(t).parents {
            assert!(o.depth(p) < o.depth(t));
        }
    }
}

#[test]
fn diseases_carry_annotations_frequencies_and_exclusions() {
    let o = shipped();
    let marfan = o
        .disease(OrphaCode::from_number(558))
        .expect("Marfan syndrome");
    assert_eq!(marfan.name, "Marfan syndrome");
    let tall = o.resolve(id("HP:0001519")).expect("live");
    let a = marfan
        .annotations
        .iter()
        .find(|a| a.term == tall)
        .expect("annotated");
    assert_eq!(a.frequency, Frequency::VeryFrequent);
    assert!(o.diseases().iter().any(|d| !d.excluded.is_empty()));
    assert!(o.diseases().windows(2).all(|w| w[0].code < w[1].code));
}

#[test]
fn omim_ids_map_to_orpha_where_the_annotations_name_both_alike() {
    let o = shipped();
    // "Cerebrocostomandibular syndrome": OMIM:117650 and ORPHA:1393 in the file.
    assert_eq!(
        o.orpha_for_omim(117_650),
        Some(OrphaCode::from_number(1393))
    );
    // "Marfan syndrome" is OMIM:154700 and ORPHA:558.
    assert_eq!(o.orpha_for_omim(154_700), Some(OrphaCode::from_number(558)));
    // Named differently in the two sources: no mapping is guessed.
    assert_eq!(o.orpha_for_omim(610_536), None);
    assert_eq!(o.orpha_for_omim(1), None);
    assert!(o.omim_mapped() > 400, "{}", o.omim_mapped());
}

#[test]
fn information_content_grows_with_precision() {
    let o = shipped();
    let ic = o.information_content();
    let root = o.resolve(id("HP:0000118")).expect("live");
    let seizure = o.resolve(id("HP:0001250")).expect("live");
    let focal = o.resolve(id("HP:0007359")).expect("live");
    assert!(ic[root.index()] < 0.1);
    assert!(ic[seizure.index()] > ic[root.index()]);
    assert!(ic[focal.index()] >= ic[seizure.index()]);
    let max = (4_281f64).ln();
    assert!(ic.iter().all(|&v| (0.0..=max + 1e-9).contains(&v)));
}

#[test]
fn the_binary_cache_round_trips_and_is_used() -> Result<(), raremesh_ontology::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, r1) = Ontology::load(&Source::Embedded, Some(dir.path()))?;
    assert!(!r1.from_cache && r1.cache_file.is_some() && r1.cache_problem.is_none());
    let (second, r2) = Ontology::load(&Source::Embedded, Some(dir.path()))?;
    assert!(r2.from_cache);
    assert_eq!(first.stats(), second.stats());
    assert_eq!(first.information_content(), second.information_content());
    assert_eq!(first.terms(), second.terms());
    // A damaged cache is reported and rebuilt, not fatal.
    let file = r2.cache_file.expect("cache file");
    std::fs::write(&file, b"RMONTO\0\0garbage").expect("write");
    let (third, r3) = Ontology::load(&Source::Embedded, Some(dir.path()))?;
    assert!(!r3.from_cache && r3.cache_problem.is_some());
    assert_eq!(third.stats(), first.stats());
    Ok(())
}

/// The SHA-256 of `b`, in hex.
fn hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn the_shipped_files_are_the_unmodified_release() {
    let texts = Source::Embedded.read().expect("embedded");
    assert_eq!(
        hex(texts.obo.as_bytes()),
        "6b77de067eecc838319ce7650ed5bab0f92a502eabb160e6bc7c0238bc1548c5"
    );
    assert_eq!(
        hex(texts.hpoa.as_bytes()),
        "8180403e2f5de0d8f41890e587d95077ce7f8bb8228d5d7b29dd358b70f0938c"
    );
}

#[test]
fn the_shipped_translations_are_unmodified_and_load() {
    let texts = Source::Embedded.read().expect("embedded");
    let want = [
        (
            "de",
            "bda90165c9f0e1688b0daa02625028cbc2410950ed7637ebb8e09a388a113c7c",
        ),
        (
            "es",
            "00972e33775a0340ad7b45620f0ff1d2794766c45beb937a165ee86e6f16ed9a",
        ),
        (
            "fr",
            "6a2c28bb381769583ebcdfd6901d1e99d3a3fda29b1ff052e69f965ad72398ad",
        ),
        (
            "it",
            "4349bde8befa25309cba295d6928234f7ef58bd8903c87778abe6cac0962ae21",
        ),
        (
            "pt",
            "31f642ef8f6951287d9386d3b3454990504143520161ef4615c1c5c0ed85ebd0",
        ),
    ];
    for (lang, sha) in want {
        let t = texts
            .translations
            .iter()
            .find(|t| t.lang == lang)
            .expect("shipped");
        assert_eq!(hex(t.babelon.as_bytes()), sha, "hp-{lang}.babelon.tsv");
    }
    let fr = texts
        .translations
        .iter()
        .find(|t| t.lang == "fr")
        .expect("fr");
    assert_eq!(
        hex(fr.synonyms.as_deref().expect("fr synonyms").as_bytes()),
        "bb94699ec496161cad0813b22d00a3db1394b971605f246dd8d452d9655c5454"
    );
    let o = Ontology::parse_texts(&texts).expect("parse");
    let es = o.translation("es").expect("es");
    println!(
        "translated names: es {}, fr {}, de {}; synonyms: fr {}",
        es.name_count(),
        o.translation("fr").expect("fr").name_count(),
        o.translation("de").expect("de").name_count(),
        o.translation("fr").expect("fr").synonym_count()
    );
    assert!(es.name_count() > 18_000, "{}", es.name_count());
    let seizure = o.resolve("HP:0001250".parse().expect("id")).expect("live");
    assert_eq!(o.term_name(seizure, "es"), "Convulsiones");
    assert_eq!(
        o.term_name(seizure, "pt-BR"),
        o.translation("pt")
            .and_then(|t| t.name(seizure))
            .unwrap_or("Seizure")
    );
}

#[test]
fn an_admin_adds_a_language_in_the_release_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let texts = Source::Embedded.read().expect("embedded");
    std::fs::write(dir.path().join("hp.obo"), &texts.obo).expect("obo");
    std::fs::write(dir.path().join("phenotype.hpoa"), &texts.hpoa).expect("hpoa");
    std::fs::create_dir(dir.path().join("translations")).expect("dir");
    std::fs::write(
        dir.path().join("translations/hp-nl.babelon.tsv"),
        "source_language\ttranslation_language\tsubject_id\tpredicate_id\tsource_value\ttranslation_value\ttranslation_status\n\
         en\tnl\tHP:0001250\trdfs:label\tSeizure\tEpileptische aanval\tOFFICIAL\n\
         en\tnl\tHP:0005491\trdfs:label\tMacrocephaly\tMacrocefalie\tOFFICIAL\n",
    )
    .expect("nl");
    let (o, _) = Ontology::load(&Source::Dir(dir.path().to_owned()), None).expect("load");
    let nl = o.translation("nl").expect("the added language");
    assert_eq!(nl.name_count(), 2, "an alternative id resolves to its term");
    let big = o.resolve("HP:0000256".parse().expect("id")).expect("live");
    assert_eq!(o.term_name(big, "nl"), "Macrocefalie");
    // Without the file, the fingerprint (and so the cache and the index) changes.
    let with = Source::Dir(dir.path().to_owned())
        .fingerprint()
        .expect("fp");
    std::fs::remove_file(dir.path().join("translations/hp-nl.babelon.tsv")).expect("rm");
    let without = Source::Dir(dir.path().to_owned())
        .fingerprint()
        .expect("fp");
    assert_ne!(with, without);
}
