//! `raremesh match`: ranks candidate profiles for each query profile, from JSON-lines files.
//!
//! Input, one JSON object per line: `{"id": "...", "terms": ["HP:0001250", ...],
//! "excluded": ["HP:..."]}` (`excluded` optional). Output, one line per query:
//! `{"query": "<id>", "results": [{"id": "<candidate id>", "score": <number>}, ...]}`, best
//! first. A line that cannot be used is reported with its file and line number and skipped
//! (or, with `strict`, stops the run before anything is written): nothing is dropped
//! silently.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use raremesh_ontology::{HpoId, Ontology};
use raremesh_search::matching::{
    CandidateSet, IcTable, Matcher, Measure, Profile, Scored, Workspace, explain,
};
use serde::{Deserialize, Serialize};

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: String,
    terms: Vec<String>,
    #[serde(default)]
    excluded: Vec<String>,
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The file's name as given.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, line {}: {}", self.file, self.line, self.message)
    }
}

/// Profiles read from one file, with the lines that were skipped.
#[derive(Debug, Default)]
pub struct Profiles {
    /// `(id, profile)` in file order.
    pub profiles: Vec<(String, Profile)>,
    /// Lines that could not be used.
    pub skipped: Vec<LineError>,
}

/// Reads a JSON-lines file of profiles. Blank lines are ignored; ids must be unique.
pub fn read_profiles(
    ontology: &Ontology,
    file: &str,
    reader: impl BufRead,
) -> std::io::Result<Profiles> {
    let mut out = Profiles::default();
    let mut ids = HashSet::new();
    for (i, line) in reader.lines().enumerate() {
        let text = match line {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                out.skipped.push(LineError {
                    file: file.to_owned(),
                    line: i + 1,
                    message: "not UTF-8 text".into(),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(ontology, &text) {
            Ok((id, _)) if !ids.insert(id.clone()) => out.skipped.push(LineError {
                file: file.to_owned(),
                line: i + 1,
                message: format!("id {id:?} was already used on an earlier line"),
            }),
            Ok(p) => out.profiles.push(p),
            Err(message) => out.skipped.push(LineError {
                file: file.to_owned(),
                line: i + 1,
                message,
            }),
        }
    }
    Ok(out)
}

fn parse_line(ontology: &Ontology, text: &str) -> Result<(String, Profile), String> {
    let line: Line = serde_json::from_str(text).map_err(|e| format!("not a profile: {e}"))?;
    if line.id.trim().is_empty() {
        return Err("empty id".into());
    }
    let ids = |list: &[String]| -> Result<Vec<HpoId>, String> {
        list.iter()
            .map(|s| s.parse::<HpoId>().map_err(|e| e.to_string()))
            .collect()
    };
    let profile = Profile::new(ontology, &ids(&line.terms)?, &ids(&line.excluded)?, None)
        .map_err(|e| e.to_string())?;
    Ok((line.id, profile))
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Results per query.
    pub top: usize,
    /// The measure.
    pub measure: Measure,
    /// Explain each result with up to this many pairs of terms (0: no explanation).
    pub explain: usize,
    /// Compute information content from the candidates instead of the ORPHA annotations.
    pub ic_from_candidates: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    query: &'a str,
    results: Vec<Result_<'a>>,
}

#[derive(Serialize)]
struct Result_<'a> {
    id: &'a str,
    score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<Vec<Why>>,
}

#[derive(Serialize)]
struct Why {
    query_term: String,
    candidate_term: String,
    shared: String,
    shared_name: String,
}

/// Queries each thread ranks per block (the block is written before the next begins).
const QUERIES_PER_THREAD: usize = 64;

/// Writes one query's ranking as a JSON line.
#[allow(clippy::too_many_arguments)]
fn write_ranked(
    ontology: &Ontology,
    ic: &IcTable,
    candidates: &Profiles,
    qid: &str,
    q: &Profile,
    ranked: &[Scored],
    options: Options,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let results = ranked
        .iter()
        .map(|r| {
            let (cid, cand) = &candidates.profiles[r.index];
            let why = (options.explain > 0).then(|| {
                explain(ontology, ic, q.observed(), cand.observed(), options.explain)
                    .into_iter()
                    .map(|p| Why {
                        query_term: ontology.term(p.query_term).id.to_string(),
                        candidate_term: ontology.term(p.candidate_term).id.to_string(),
                        shared: ontology.term(p.shared).id.to_string(),
                        shared_name: ontology.term(p.shared).name.clone(),
                    })
                    .collect()
            });
            Result_ {
                id: cid,
                score: r.score,
                why,
            }
        })
        .collect();
    serde_json::to_writer(
        &mut *out,
        &Output {
            query: qid,
            results,
        },
    )?;
    out.write_all(b"\n")
}

/// Ranks every candidate for every query and writes one JSON line per query to `out`,
/// the queries ranked in parallel on every core.
pub fn run(
    ontology: &Ontology,
    candidates: &Profiles,
    queries: &Profiles,
    options: Options,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let ic = match options.ic_from_candidates {
        true => IcTable::from_profiles(ontology, candidates.profiles.iter().map(|(_, p)| p)),
        false => IcTable::from_annotations(ontology),
    };
    let matcher = Matcher::new(ontology, &ic, options.measure);
    let mut set = CandidateSet::with_capacity(candidates.profiles.len(), 10);
    for (_, p) in &candidates.profiles {
        set.push(p);
    }
    // Queries are ranked in parallel, a block at a time, and written in their order.
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    // Each thread keeps its buffers from block to block.
    let mut workspaces: Vec<Workspace> = (0..threads).map(|_| Workspace::default()).collect();
    for block in queries.profiles.chunks(threads * QUERIES_PER_THREAD) {
        let share = block.len().div_ceil(threads);
        let ranked: Vec<Vec<Scored>> = std::thread::scope(|scope| {
            let handles: Vec<_> = block
                .chunks(share)
                .zip(workspaces.iter_mut())
                .map(|(part, w)| {
                    let (matcher, set) = (&matcher, &set);
                    scope.spawn(move || {
                        part.iter()
                            .map(|(_, q)| matcher.top_k_with(q, set, options.top, w))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for ((qid, q), ranked) in block.iter().zip(&ranked) {
            write_ranked(ontology, &ic, candidates, qid, q, ranked, options, out)?;
        }
    }
    out.flush()
}
