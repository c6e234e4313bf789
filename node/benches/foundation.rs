//! Foundation benchmarks: ontology load time (against the `hpo` crate loading the same
//! release in the same run) and autocomplete latency over a few hundred realistic queries.
//!
//! Run with `cargo bench -p raremesh --bench foundation`. HTTP throughput is measured with
//! wrk by `scripts/bench-http.sh`.

use std::time::{Duration, Instant};

use raremesh_ontology::{Ontology, Source};
use raremesh_search::Autocomplete;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// A small deterministic generator (xorshift64*), so the query set is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What members type: whole names, unfinished words, typos, lay phrases, disease names.
fn queries(o: &Ontology, n: usize) -> Vec<(bool, String)> {
    let mut rng = Rng(0x5eed_2026_1125);
    let used: Vec<_> = o
        .terms()
        .iter()
        .enumerate()
        .filter(|(i, _)| o.disease_count(raremesh_ontology::TermIdx(*i as u32)) > 0)
        .map(|(_, t)| t)
        .collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = used[rng.below(used.len())];
        let name = t.name.to_lowercase();
        let q = match i % 6 {
            0 => name.clone(),
            1 => name.chars().take(3 + rng.below(4)).collect(),
            2 => {
                let mut b: Vec<char> = name.chars().collect();
                if b.len() > 4 {
                    let at = 1 + rng.below(b.len() - 3);
                    b.swap(at, at + 1);
                }
                b.into_iter().collect()
            }
            3 => t
                .synonyms
                .iter()
                .find(|s| s.layperson)
                .map_or_else(|| name.clone(), |s| s.text.to_lowercase()),
            4 => {
                let words: Vec<&str> = name.split_whitespace().collect();
                let k = words.len().min(2);
                words[words.len() - k..].join(" ")
            }
            _ => {
                let d = &o.diseases()[rng.below(o.diseases().len())];
                out.push((
                    false,
                    d.name
                        .split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase(),
                ));
                continue;
            }
        };
        out.push((true, q));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let texts = Source::Embedded.read()?;
    let cache = tempfile::tempdir()?;
    let (o, _) = Ontology::load(&Source::Embedded, Some(cache.path()))?;

    println!("# Ontology load (HPO 2025-01-16 + ORPHA annotations), median of runs\n");
    println!("| what | time |\n|---|---|");
    let parse = time(5, || Ontology::parse(&texts.obo, &texts.hpoa));
    let decompress = time(5, || Source::Embedded.read());
    let cached = time(21, || Ontology::load(&Source::Embedded, Some(cache.path())));
    let bytes = o.to_bytes()?;
    let decode = time(21, || Ontology::from_bytes(&bytes));
    println!(
        "| raremesh: decompress the shipped .gz files | {} |",
        ms(decompress)
    );
    println!(
        "| raremesh: parse hp.obo + phenotype.hpoa and derive graph, IC | {} |",
        ms(parse)
    );
    println!(
        "| raremesh: start-up load from the data-folder cache (fingerprint, read, decode, derive) | {} |",
        ms(cached)
    );
    println!(
        "| raremesh: decode the cache bytes alone ({} KiB) | {} |",
        bytes.len() / 1024,
        ms(decode)
    );

    // The reference: the hpo crate loading the same release files in the same run.
    let jax = tempfile::tempdir()?;
    std::fs::write(jax.path().join("hp.obo"), &texts.obo)?;
    std::fs::write(jax.path().join("phenotype.hpoa"), &texts.hpoa)?;
    // hpo also reads gene links; a header-only file makes it do less work, not more.
    std::fs::write(
        jax.path().join("genes_to_phenotype.txt"),
        "ncbi_gene_id\tgene_symbol\thpo_id\thpo_name\tfrequency\tdisease_id\n",
    )?;
    let dir = jax.path().to_str().ok_or("path")?.to_owned();
    let reference = time(3, || hpo::Ontology::from_standard(&dir).map(|o| o.len()));
    let hpo_bytes = hpo::Ontology::from_standard(&dir)?.as_bytes();
    let reference_bin = time(5, || hpo::Ontology::from_bytes(&hpo_bytes).map(|o| o.len()));
    println!(
        "| hpo 0.12: `Ontology::from_standard` on the same files | {} |",
        ms(reference)
    );
    println!(
        "| hpo 0.12: `Ontology::from_bytes` (its binary form) | {} |",
        ms(reference_bin)
    );
    println!(
        "\nRatios: parse from text, hpo / raremesh = {:.1}x; start-up load, hpo binary / raremesh cache = {:.1}x\n",
        reference.as_secs_f64() / parse.as_secs_f64(),
        reference_bin.as_secs_f64() / cached.as_secs_f64()
    );

    let build = time(3, || {
        Autocomplete::open(&o, None, "bench").map(|a| a.label_count())
    });
    let idx = tempfile::tempdir()?;
    Autocomplete::open(&o, Some(idx.path()), "bench")?;
    let reopen = time(5, || {
        Autocomplete::open(&o, Some(idx.path()), "bench").map(|a| a.label_count())
    });
    let a = Autocomplete::open(&o, Some(idx.path()), "bench")?;
    println!("# Search index ({} labels)\n", a.label_count());
    println!("| what | time |\n|---|---|");
    println!("| build (in memory) | {} |", ms(build));
    println!(
        "| reopen from the data folder (labels re-tokenized) | {} |\n",
        ms(reopen)
    );

    let qs = queries(&o, 600);
    // Warm up once, then measure every query 5 times.
    for (is_term, q) in &qs {
        if *is_term {
            a.terms(&o, q, 10)
        } else {
            a.diseases(&o, q, 10)
        };
    }
    let mut lat = Vec::new();
    for _ in 0..5 {
        for (is_term, q) in &qs {
            let t = Instant::now();
            let hits = if *is_term {
                a.terms(&o, q, 10)
            } else {
                a.diseases(&o, q, 10)
            };
            lat.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    lat.sort();
    let terms = qs.iter().filter(|q| q.0).count();
    println!("# Autocomplete latency, in-process, limit 10\n");
    println!(
        "{} queries ({terms} symptom, {} disease: whole names, unfinished words, typos, lay phrases), each run 5 times, one thread.\n",
        qs.len(),
        qs.len() - terms
    );
    println!("| p50 | p90 | p99 | max |\n|---|---|---|---|");
    println!(
        "| {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.9).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}
