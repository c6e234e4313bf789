//! The matching engine: small cases computed by hand, then properties over the real
//! ontology with simulated patients.

use raremesh_ontology::{HpoId, Ontology, TermIdx};
use raremesh_search::matching::simulate::{Condition, Rng, Simulator};
use raremesh_search::matching::{
    CandidateSet, Combine, IcTable, Matcher, Measure, Profile, ProfileError, TermSim, Tuning,
    explain,
};

use crate::fixture;

/// All(1) ─ A(2) ─ A1(4), A2(5); All ─ B(3) ─ B1(6).
/// Diseases: D1 {A1}, D2 {A2}, D3 {B1}, D4 {A1, B1}.
/// n(t): All 4, A 3, B 2, A1 2, A2 1, B1 2; IC = ln(4 / n).
fn tiny() -> Ontology {
    let mut obo = String::from("format-version: 1.2\ndata-version: hp/releases/tiny\n\n");
    for (id, name, parent) in [
        (1, "All", 0),
        (2, "A", 1),
        (3, "B", 1),
        (4, "A1", 2),
        (5, "A2", 2),
        (6, "B1", 3),
    ] {
        obo.push_str(&format!("[Term]\nid: HP:{id:07}\nname: {name}\n"));
        if parent > 0 {
            obo.push_str(&format!("is_a: HP:{parent:07}\n"));
        }
        obo.push('\n');
    }
    let mut hpoa = String::from(
        "#version: tiny\ndatabase_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration\n",
    );
    for (d, t) in [(1, 4), (2, 5), (3, 6), (4, 4), (4, 6)] {
        hpoa.push_str(&format!(
            "ORPHA:{d}\tD{d}\t\tHP:{t:07}\tx\tTAS\t\tHP:0040282\t\t\tP\tx\n"
        ));
    }
    Ontology::parse(&obo, &hpoa).expect("tiny ontology")
}

fn t(o: &Ontology, n: u32) -> TermIdx {
    o.resolve(HpoId::from_number(n)).expect("term")
}

fn score(o: &Ontology, ic: &IcTable, measure: Measure, q: &[u32], c: &[u32]) -> f32 {
    let m = Matcher::new(o, ic, measure);
    let query = Profile::from_terms(q.iter().map(|&n| t(o, n)).collect(), vec![], None);
    let cand = Profile::from_terms(c.iter().map(|&n| t(o, n)).collect(), vec![], None);
    m.score(&m.prepare(&query), &cand)
}

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() < 1e-4
}

#[test]
fn hand_computed_scores() {
    let o = tiny();
    let ic = IcTable::from_annotations(&o);
    let ln = |x: f64| x.ln();
    assert!(close(ic.ic(t(&o, 2)), ln(4.0 / 3.0)) && close(ic.ic(t(&o, 5)), ln(4.0)));
    let (ic_a, ic_a1, ic_a2) = (ln(4.0 / 3.0), ln(2.0), ln(4.0));
    // Q = {A1, B1}, C = {A2}. Resnik: A1~A2 = IC(A), B1~A2 = 0.
    let pw = |s, c| Measure::Pairwise(s, c);
    let q = [4, 6];
    let c = [5];
    let r = |comb| score(&o, &ic, pw(TermSim::Resnik, comb), &q, &c);
    assert!(close(r(Combine::Bma), (ic_a + ic_a) / 3.0));
    assert!(close(r(Combine::FunSimAvg), 0.5 * (ic_a / 2.0 + ic_a)));
    assert!(close(r(Combine::FunSimMax), ic_a));
    let lin = 2.0 * ic_a / (ic_a1 + ic_a2);
    assert!(close(
        score(&o, &ic, pw(TermSim::Lin, Combine::FunSimMax), &q, &c),
        lin
    ));
    let jc = 1.0 - (ic_a1 + ic_a2 - 2.0 * ic_a) / (2.0 * ic_a2);
    assert!(close(
        score(
            &o,
            &ic,
            pw(TermSim::JiangConrath, Combine::FunSimMax),
            &q,
            &c
        ),
        jc
    ));
    let graphic = ic_a / (ic_a + ic_a1 + ic_a2);
    assert!(close(
        score(&o, &ic, pw(TermSim::GraphIc, Combine::FunSimMax), &q, &c),
        graphic
    ));
    // Closures: A(Q) = {All, A, A1, B, B1}, A(C) = {All, A, A2}.
    assert!(close(score(&o, &ic, Measure::Jaccard, &q, &c), 2.0 / 6.0));
    let union = ic_a + ic_a1 + ln(2.0) + ln(2.0) + ic_a2;
    assert!(close(score(&o, &ic, Measure::SimGic, &q, &c), ic_a / union));
}

#[test]
fn the_default_on_a_hand_computed_case() {
    let o = tiny();
    let ic = IcTable::from_annotations(&o);
    let (ic_a, ic_a1, ic_a2, ic_b1) =
        (f64::ln(4.0 / 3.0), f64::ln(2.0), f64::ln(4.0), f64::ln(2.0));
    // Q = {A1, B1}, C = {A2}; sharpened shares: A1 explained by A2 through A: IC(A)²/IC(A1).
    let q_dir = (ic_a * ic_a / ic_a1) / (ic_a1 + ic_b1);
    let c_dir = (ic_a * ic_a / ic_a2) / ic_a2;
    let first = 0.7 * q_dir + 0.3 * c_dir;
    let g = ic_a / (ic_a + ic_a1 + ic_a2); // GraphIC(A1, A2); GraphIC(B1, A2) = 0
    let second = (g + g) / 3.0;
    let want = 0.5 * first + 0.5 * second;
    assert!(close(
        score(&o, &ic, Measure::default(), &[4, 6], &[5]),
        want
    ));
    // Against itself, the default gives exactly 1 (both parts are 1).
    assert!(close(
        score(&o, &ic, Measure::default(), &[4, 6], &[4, 6]),
        1.0
    ));
    // An exclusion contradicted costs its IC relative to the query's.
    let m = Matcher::new(&o, &ic, Measure::default());
    let query = Profile::from_terms(vec![t(&o, 4)], vec![t(&o, 3)], None);
    let plain = Profile::from_terms(vec![t(&o, 4)], vec![], None);
    let contradicting = Profile::from_terms(vec![t(&o, 4), t(&o, 6)], vec![], None);
    let p = m.prepare(&query);
    assert!(close(m.score(&p, &plain), 1.0));
    let without_penalty = {
        let mm = Matcher::new(
            &o,
            &ic,
            Measure::Raremesh(Tuning {
                exclusion: 0.0,
                ..Tuning::DEFAULT
            }),
        );
        mm.score(&mm.prepare(&query), &contradicting)
    };
    assert!(close(
        m.score(&p, &contradicting),
        f64::from(without_penalty) - f64::ln(2.0) / ic_a1
    ));
}

#[test]
fn explanations_name_the_shared_term() {
    let o = tiny();
    let ic = IcTable::from_annotations(&o);
    let pairs = explain(&o, &ic, &[t(&o, 4), t(&o, 6)], &[t(&o, 5), t(&o, 6)], 5);
    // B1 ~ B1 (shared B1, IC ln 2) first, then A1 ~ A2 (shared A, IC ln 4/3).
    let got: Vec<_> = pairs
        .iter()
        .map(|p| (p.query_term, p.candidate_term, p.shared))
        .collect();
    assert_eq!(
        got,
        [
            (t(&o, 6), t(&o, 6), t(&o, 6)),
            (t(&o, 4), t(&o, 5), t(&o, 2))
        ]
    );
    // A pair that shares only the root explains nothing.
    assert!(explain(&o, &ic, &[t(&o, 4)], &[t(&o, 6)], 5).is_empty());
}

#[test]
fn profiles_validate_ids() {
    let (o, _) = fixture();
    let id = |s: &str| s.parse::<HpoId>().expect("id");
    let p = Profile::new(
        o,
        &[id("HP:0005491"), id("HP:0000256"), id("HP:0000057")],
        &[],
        None,
    )
    .expect("valid");
    assert_eq!(
        p.observed().len(),
        2,
        "alt id folded into its live term, obsolete id replaced"
    );
    assert_eq!(
        Profile::new(o, &[id("HP:9999999")], &[], None),
        Err(ProfileError::UnknownTerm(id("HP:9999999")))
    );
    assert_eq!(
        Profile::new(o, &[id("HP:0001726")], &[], None),
        Err(ProfileError::ObsoleteTerm(id("HP:0001726")))
    );
    assert_eq!(
        Profile::new(o, &[], &[id("HP:0001250")], None),
        Err(ProfileError::Empty)
    );
    assert_eq!(
        Profile::new(o, &[id("HP:0001250")], &[id("HP:0001250")], None),
        Err(ProfileError::Contradiction(id("HP:0001250")))
    );
}

fn simulated(n: usize, seed: u64) -> Vec<Profile> {
    let (o, _) = fixture();
    let sim = Simulator::new(o);
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    while out.len() < n {
        let d = &o.diseases()[rng.below(o.diseases().len())];
        let cond = Condition::ALL[rng.below(Condition::ALL.len())];
        if let Some(p) = sim.patient(d, cond, &mut rng) {
            out.push(p);
        }
    }
    out
}

#[test]
fn properties_over_simulated_patients() {
    let (o, _) = fixture();
    let ic = IcTable::from_annotations(o);
    let profiles = simulated(120, 7);
    let mut set = CandidateSet::new();
    for p in &profiles {
        set.push(p);
    }
    let normalized = [
        Measure::Pairwise(TermSim::Lin, Combine::Bma),
        Measure::Pairwise(TermSim::GraphIc, Combine::FunSimAvg),
        Measure::Pairwise(TermSim::JiangConrath, Combine::FunSimMax),
        Measure::Jaccard,
        Measure::SimGic,
        Measure::default(),
    ];
    for measure in Measure::all() {
        let m = Matcher::new(o, &ic, measure);
        for (i, q) in profiles.iter().enumerate().take(25) {
            let ranked = m.top_k(q, &set, set.len());
            // Scores in range, best first, ties by position, every candidate once.
            assert_eq!(ranked.len(), set.len());
            assert!(
                ranked.windows(2).all(|w| w[0].score > w[1].score
                    || (w[0].score == w[1].score && w[0].index < w[1].index)),
                "{measure}"
            );
            for r in &ranked {
                assert!(r.score.is_finite(), "{measure}");
                if normalized.contains(&measure) && measure != Measure::default() {
                    assert!(
                        (0.0..=1.0 + 1e-5).contains(&r.score),
                        "{measure}: {}",
                        r.score
                    );
                }
                if measure == Measure::default() {
                    assert!(r.score <= 1.0 + 1e-5, "{measure}: {}", r.score);
                }
            }
            // A profile is most similar to itself, for the measures bounded by 1.
            if normalized.contains(&measure) && q.excluded().is_empty() {
                let own = ranked.iter().find(|r| r.index == i).expect("itself");
                assert!(
                    (own.score - 1.0).abs() < 1e-4,
                    "{measure}: self score {}",
                    own.score
                );
                assert!(ranked[0].score <= own.score + 1e-5, "{measure}");
            }
            // Top-k is a prefix of the full ranking.
            assert_eq!(m.top_k(q, &set, 5), ranked[..5].to_vec(), "{measure}");
        }
    }
}

#[test]
fn symmetric_measures_are_symmetric() {
    let (o, _) = fixture();
    let ic = IcTable::from_annotations(o);
    let profiles = simulated(30, 11);
    for measure in Measure::all() {
        let symmetric = match measure {
            Measure::Pairwise(..) | Measure::Jaccard | Measure::SimGic => true,
            Measure::Raremesh(_) => false,
        };
        if !symmetric {
            continue;
        }
        let m = Matcher::new(o, &ic, measure);
        for pair in profiles.windows(2) {
            let ab = m.score(&m.prepare(&pair[0]), &pair[1]);
            let ba = m.score(&m.prepare(&pair[1]), &pair[0]);
            assert!(
                (ab - ba).abs() <= 1e-4 * ab.abs().max(1.0),
                "{measure}: {ab} vs {ba}"
            );
        }
    }
}

#[test]
fn ranking_is_the_same_on_one_thread_and_many() {
    let (o, _) = fixture();
    let ic = IcTable::from_annotations(o);
    let profiles = simulated(50, 3);
    let mut big = CandidateSet::new();
    // Enough candidates to use every core, with duplicates to create ties.
    for i in 0..60_000 {
        big.push(&profiles[i % profiles.len()]);
    }
    let m = Matcher::new(o, &ic, Measure::default());
    let top = m.top_k(&profiles[0], &big, 20);
    let p = m.prepare(&profiles[0]);
    let mut all: Vec<(f32, usize)> = (0..big.len())
        .map(|i| (m.score(&p, &profiles[i % profiles.len()]), i))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let want: Vec<usize> = all[..20].iter().map(|x| x.1).collect();
    assert_eq!(top.iter().map(|s| s.index).collect::<Vec<_>>(), want);
}

#[test]
fn measure_names_round_trip() {
    for m in Measure::all() {
        assert_eq!(m.to_string().parse::<Measure>(), Ok(m));
    }
    assert_eq!("default".parse::<Measure>(), Ok(Measure::default()));
    assert!(
        "cosine"
            .parse::<Measure>()
            .is_err_and(|e| e.to_string().contains("resnik-bma"))
    );
}

#[test]
fn reverse_scores_equal_forward_scores() {
    let (o, _) = fixture();
    let ic = IcTable::from_annotations(o);
    let profiles = simulated(40, 21);
    let mut set = CandidateSet::new();
    for p in &profiles {
        set.push(p);
    }
    for measure in Measure::all() {
        let m = Matcher::new(o, &ic, measure);
        for x in profiles.iter().take(8) {
            let px = m.prepare(x);
            let reverse = m.scores_reverse(&px, &set);
            for (y, r) in profiles.iter().zip(&reverse) {
                let forward = m.score(&m.prepare(y), x);
                assert!(
                    (forward - r).abs() <= 1e-4 * forward.abs().max(1.0),
                    "{measure}: forward {forward} reverse {r}"
                );
            }
        }
    }
}
