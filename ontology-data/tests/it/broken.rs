//! Broken, partial or missing release files give clear errors, never panics.

use std::path::Path;

use raremesh_ontology::{Error, Ontology, Source};

const OBO_HEAD: &str = "format-version: 1.2\ndata-version: hp/releases/test\n\n";
const HPOA_HEAD: &str = "#version: test\ndatabase_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration\n";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn load_dir(dir: &Path) -> Result<Ontology, Error> {
    Ontology::load(&Source::Dir(dir.to_owned()), None).map(|(o, _)| o)
}

#[test]
fn a_small_valid_folder_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "hp.obo",
        &format!(
            "{OBO_HEAD}[Term]\nid: HP:0000001\nname: All\n\n[Term]\nid: HP:0000118\nname: Phenotypic abnormality\nis_a: HP:0000001\n"
        ),
    );
    write(
        dir.path(),
        "phenotype.hpoa",
        &format!(
            "{HPOA_HEAD}ORPHA:1\tA disease\t\tHP:0000118\tORPHA:1\tTAS\t\tHP:0040282\t\t\tP\tx\n"
        ),
    );
    let o = load_dir(dir.path()).expect("loads");
    assert_eq!(o.stats().live_terms, 2);
    assert_eq!(o.stats().diseases, 1);
    assert_eq!(o.version().hpo, "hp/releases/test");
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("no hp.obo"), "{err}");
    write(dir.path(), "hp.obo", OBO_HEAD);
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("no phenotype.hpoa"), "{err}");
    let err = load_dir(&dir.path().join("nope"))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a folder"), "{err}");
}

#[test]
fn truncated_real_files_fail_with_a_line_number() {
    let texts = Source::Embedded.read().expect("embedded");
    let dir = tempfile::tempdir().expect("tempdir");
    // An obo cut in the middle: the later terms' parents are missing.
    let cut = texts.obo.len() / 2;
    let cut = (cut..texts.obo.len())
        .find(|&i| texts.obo.is_char_boundary(i))
        .unwrap_or(cut);
    write(dir.path(), "hp.obo", &texts.obo[..cut]);
    write(dir.path(), "phenotype.hpoa", &texts.hpoa);
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.starts_with("hp.obo"), "{err}");
    // An hpoa cut in the middle of a row.
    write(dir.path(), "hp.obo", &texts.obo);
    let cut = texts.hpoa.len() / 2 + 7;
    write(dir.path(), "phenotype.hpoa", &texts.hpoa[..cut]);
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.starts_with("phenotype.hpoa, line"), "{err}");
}

#[test]
fn garbage_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "hp.obo", "\u{0}\u{1}binary junk\n");
    write(dir.path(), "phenotype.hpoa", HPOA_HEAD);
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("hp.obo"), "{err}");
    std::fs::write(dir.path().join("hp.obo"), [0xff, 0xfe, 0x00]).expect("write");
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("UTF-8"), "{err}");
}

#[test]
fn a_cycle_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "hp.obo",
        &format!(
            "{OBO_HEAD}[Term]\nid: HP:0000001\nname: All\n\n[Term]\nid: HP:0000002\nname: A\nis_a: HP:0000003\n\n[Term]\nid: HP:0000003\nname: B\nis_a: HP:0000002\n"
        ),
    );
    write(dir.path(), "phenotype.hpoa", HPOA_HEAD);
    let err = load_dir(dir.path()).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn the_newer_release_loads_from_a_folder() {
    // The 2026 ontology with the 2025 annotations: obsolete ids in the annotations resolve.
    let newer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hp-2026-02-16.obo.gz");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&newer, dir.path().join("hp.obo.gz")).expect("copy");
    let texts = Source::Embedded.read().expect("embedded");
    write(dir.path(), "phenotype.hpoa", &texts.hpoa);
    let o = load_dir(dir.path()).expect("newer release loads");
    assert_eq!(o.version().hpo, "hp/releases/2026-02-16");
    assert_eq!(o.stats().diseases, 4_281);
}
