//! What an admin waits for on a node with 2,000 simulated patients and 1,000 documents
//! (100 kB each): a backup (time, size, and the longest a write waited meanwhile), a
//! restore into an empty folder, and the database rewrite that makes an erasure final
//! (how long writes wait). A writer thread puts records without pause during each, and
//! its slowest write is reported next to its median outside them.
//!
//! `cargo bench -p raremesh --bench operations [-- <patients> <documents>]`
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use raremesh::config::Config;
use raremesh::documents::{Document, DocumentKind};
use raremesh::store::{KvStore, Tree};

/// Puts records until told to stop; every write's latency.
fn writer(kv: Arc<dyn KvStore>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut took = Vec::new();
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            i += 1;
            let t = Instant::now();
            kv.put(Tree::Audit, format!("bench{i:012}").as_bytes(), b"a write")
                .expect("put");
            took.push(t.elapsed());
        }
        took
    })
}

/// Runs `f` with the writer going; its time, and the writer's slowest write.
fn under_writes<T>(kv: &Arc<dyn KvStore>, f: impl FnOnce() -> T) -> (T, Duration, Duration, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(kv.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    stop.store(true, Ordering::SeqCst);
    let lat = w.join().expect("writer");
    let slowest = lat.iter().max().copied().unwrap_or_default();
    (out, took, slowest, lat.len())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else {
            total += std::fs::metadata(&p).map_or(0, |m| m.len());
        }
    }
    total
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let patients = args.first().copied().unwrap_or(2000);
    let documents = args.get(1).copied().unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let (state, _) = raremesh::boot::boot(config).expect("boot");
    raremesh::demo::seed(
        &state,
        patients,
        "demo@example.org",
        "a long password here",
        1,
        true,
    )
    .expect("demo data");
    let all = state.patients.all().expect("patients");
    let mut content = vec![0u8; 100_000];
    content[..9].copy_from_slice(b"%PDF-1.4\n");
    for (n, p) in all.iter().cycle().take(documents).enumerate() {
        let id = raremesh::ids::new_id().expect("id");
        let mut sealer = state.documents.vault().sealer(&id).expect("sealer");
        content[9..17].copy_from_slice(&(n as u64).to_le_bytes());
        sealer.write(&content).expect("write");
        let size = sealer.finish().expect("finish");
        state
            .documents
            .add(&Document {
                id,
                account_id: p.account_id.clone(),
                patient_id: p.id.clone(),
                kind: DocumentKind::Medical,
                file_type: raremesh::documents::FileType::Pdf,
                size,
                name: format!("scan-{n}.pdf"),
                uploaded_at: 0,
            })
            .expect("record");
    }
    let kv = state.kv.clone();
    // Writes alone, for reference.
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(kv.clone(), stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let alone = w.join().expect("writer");
    let reference = median(alone.clone());
    println!(
        "node: {patients} patients, {documents} documents of 100 kB; data folder {:.1} MB (database {:.1} MB)",
        folder_bytes(&data) as f64 / 1e6,
        folder_bytes(&data.join("db")) as f64 / 1e6
    );
    println!(
        "writes alone: median {:.2} ms, slowest {:.2} ms ({} in 2 s)",
        reference.as_secs_f64() * 1e3,
        alone
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        alone.len()
    );
    let archive = dir.path().join("backup.tar.gz");
    let (summary, took, slowest, n) = under_writes(&kv, || {
        let file = std::io::BufWriter::new(std::fs::File::create(&archive).expect("create"));
        raremesh::backup::write(kv.as_ref(), &data, file).expect("backup")
    });
    println!(
        "backup: {:.2} s, {:.1} MB ({} records, {} files); slowest write meanwhile {:.0} ms ({n} writes)",
        took.as_secs_f64(),
        std::fs::metadata(&archive).expect("archive").len() as f64 / 1e6,
        summary.records,
        summary.files,
        slowest.as_secs_f64() * 1e3
    );
    let target = dir.path().join("restored");
    let t = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&archive).expect("open"));
    let (_, restored) = raremesh::backup::restore(file, &target).expect("restore");
    println!(
        "restore: {:.2} s ({} records, {} files)",
        t.elapsed().as_secs_f64(),
        restored.records,
        restored.files
    );
    let ((), took, slowest, n) = under_writes(&kv, || kv.forget_removed().expect("rewrite"));
    println!(
        "database rewrite after an erasure: {:.2} s; slowest write meanwhile {:.0} ms ({n} writes)",
        took.as_secs_f64(),
        slowest.as_secs_f64() * 1e3
    );
}
