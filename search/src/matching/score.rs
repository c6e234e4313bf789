//! Scoring one candidate against a prepared query.

use raremesh_ontology::{Ontology, TermIdx};

use super::{Combine, Measure, Prepared};

/// Per-thread scratch space, reused across candidates.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    best: Vec<f32>,
    stamp: Vec<u32>,
    epoch: u32,
}

impl Scratch {
    pub fn new(n_terms: usize, m: usize) -> Self {
        Self {
            best: vec![0.0; m],
            stamp: vec![0; n_terms],
            epoch: 0,
        }
    }
}

/// The score of a candidate with these observed and excluded terms.
pub(crate) fn score(p: &Prepared, ontology: &Ontology, ic: &[f32], observed: &[TermIdx], excluded: &[TermIdx], s: &mut Scratch) -> f32 {
    if observed.is_empty() || p.m == 0 {
        return 0.0;
    }
    match p.measure {
        Measure::Jaccard | Measure::SimGic => closure_score(p, ontology, ic, observed, s),
        Measure::Pairwise(_, combine) => {
            let (q_mean, q_sum, c_mean, c_sum, _) = directions(p, observed, excluded, s, 0.0);
            match combine {
                Combine::Bma => (q_sum + c_sum) / (p.m + observed.len()) as f32,
                Combine::FunSimAvg => 0.5 * (q_mean + c_mean),
                Combine::FunSimMax => q_mean.max(c_mean),
            }
        }
        Measure::Raremesh(t) => {
            let (q_mean, _, c_mean, _, contradiction) = directions(p, observed, excluded, s, t.floor);
            t.query_side * q_mean + (1.0 - t.query_side) * c_mean - t.exclusion * contradiction
        }
    }
}

/// Both best-match directions: (query mean, query sum, candidate mean, candidate sum,
/// contradiction IC). Query terms are weighted by `p.weights`; a best match below
/// `floor × the query term's IC` counts as zero.
#[inline]
fn directions(p: &Prepared, observed: &[TermIdx], excluded: &[TermIdx], s: &mut Scratch, floor: f32) -> (f32, f32, f32, f32, f32) {
    let (m, stride) = (p.m, p.stride);
    let best = &mut s.best[..m];
    best.fill(0.0);
    let mut c_sum = 0.0f32;
    let mut contradiction = 0.0f32;
    for &c in observed {
        let row = &p.table[c.index() * stride..c.index() * stride + stride];
        for (b, &v) in best.iter_mut().zip(&row[..m]) {
            *b = b.max(v);
        }
        c_sum += row[m];
        contradiction += row[m + 1];
    }
    for &e in excluded {
        contradiction += p.table[e.index() * stride + m + 2];
    }
    let mut q_sum = 0.0f32;
    let mut w_sum = 0.0f32;
    for ((&b, &w), &own) in best.iter().zip(&p.weights).zip(&p.self_ic) {
        let b = if b < floor * own { 0.0 } else { b };
        q_sum += w * b;
        w_sum += w;
    }
    let q_mean = q_sum / w_sum;
    (q_mean, q_sum, c_sum / observed.len() as f32, c_sum, contradiction)
}

fn closure_score(p: &Prepared, ontology: &Ontology, ic: &[f32], observed: &[TermIdx], s: &mut Scratch) -> f32 {
    s.epoch = s.epoch.wrapping_add(1);
    if s.epoch == 0 {
        s.stamp.fill(0);
        s.epoch = 1;
    }
    let (mut c_len, mut c_ic, mut i_len, mut i_ic) = (0usize, 0.0f32, 0usize, 0.0f32);
    for &c in observed {
        for &a in ontology.ancestors(c) {
            if s.stamp[a.index()] != s.epoch {
                s.stamp[a.index()] = s.epoch;
                c_len += 1;
                c_ic += ic[a.index()];
                if p.closure[a.index()] {
                    i_len += 1;
                    i_ic += ic[a.index()];
                }
            }
        }
    }
    match p.measure {
        Measure::Jaccard => i_len as f32 / (p.closure_len + c_len - i_len).max(1) as f32,
        _ => {
            let union = p.closure_ic + c_ic - i_ic;
            if union > 0.0 { i_ic / union } else { 0.0 }
        }
    }
}
