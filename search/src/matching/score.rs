//! Scoring one candidate against a prepared query.

use raremesh_ontology::{Ontology, TermIdx};

use super::prepared::QuerySide;
use super::{Combine, Measure, Prepared};

/// Per-thread scratch space, reused across candidates.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    best: Vec<f32>,
    best2: Vec<f32>,
    stamp: Vec<u32>,
    epoch: u32,
}

impl Scratch {
    pub fn new(n_terms: usize, m: usize) -> Self {
        Self {
            best: vec![0.0; m],
            best2: vec![0.0; m],
            stamp: vec![0; n_terms],
            epoch: 0,
        }
    }
}

/// The score of a candidate with these observed and excluded terms.
pub(crate) fn score(
    p: &Prepared,
    ontology: &Ontology,
    ic: &[f32],
    observed: &[TermIdx],
    excluded: &[TermIdx],
    s: &mut Scratch,
) -> f32 {
    if observed.is_empty() || p.m == 0 {
        return 0.0;
    }
    match p.measure {
        Measure::Jaccard | Measure::SimGic => closure_score(p, ontology, ic, observed, s),
        Measure::Pairwise(..) | Measure::Raremesh(_) => {
            combine(p, &directions(p, observed, excluded, s), observed.len())
        }
    }
}

/// The score from the sums of both directions (`n` candidate terms).
#[inline]
fn combine(p: &Prepared, d: &Directions, n: usize) -> f32 {
    match p.measure {
        Measure::Jaccard | Measure::SimGic => 0.0,
        Measure::Pairwise(_, combine) => {
            let (q_mean, c_mean) = (d.q_sum / p.m as f32, d.c_sum / n as f32);
            match combine {
                Combine::Bma => (d.q_sum + d.c_sum) / (p.m + n) as f32,
                Combine::FunSimAvg => 0.5 * (q_mean + c_mean),
                Combine::FunSimMax => q_mean.max(c_mean),
            }
        }
        Measure::Raremesh(t) => {
            let (q_dir, c_dir, contradiction) = if t.normalized {
                (
                    ratio(d.q_sum, p.total_ic),
                    ratio(d.c_sum, d.c_ic),
                    ratio(d.contradiction, p.total_ic),
                )
            } else {
                (d.q_sum / p.m as f32, d.c_sum / n as f32, d.contradiction)
            };
            let first = t.query_side * q_dir + (1.0 - t.query_side) * c_dir;
            let second = if p.blocks == 2 {
                (d.q_sum2 + d.c_sum2) / (p.m + n) as f32
            } else {
                0.0
            };
            (1.0 - t.graphic_mix) * first + t.graphic_mix * second - t.exclusion * contradiction
        }
    }
}

/// An upper bound of [`score`] read from the query's per-term summaries only (one short
/// read per candidate term instead of an `m`-wide row): the candidate side is exact, each
/// query-side sum is replaced by the sum of every candidate term's similarities to the
/// query terms (a best match is at most the sum of all matches), capped by its most,
/// and the candidate's own exclusions are left out. `None` when the measure has no such
/// bound.
#[inline]
pub(crate) fn bound(p: &Prepared, observed: &[TermIdx]) -> Option<f32> {
    if p.summary.is_empty() || observed.is_empty() {
        return None;
    }
    let mut acc = [0.0f32; 8];
    for &c in observed {
        let s = &p.summary[c.index()].0;
        for (a, v) in acc.iter_mut().zip(s) {
            *a += v;
        }
    }
    let d = Directions {
        c_sum: acc[0],
        c_ic: acc[1],
        q_sum: acc[2].min(p.q_cap[0]),
        c_sum2: acc[3],
        q_sum2: acc[4].min(p.q_cap[1]),
        contradiction: acc[5],
    };
    Some(combine(p, &d, observed.len()))
}

/// `own · (best / own)²`: the best match's share of the term's information, squared, in
/// units of that information.
#[inline]
pub(crate) fn sharpened(best: f32, own: f32) -> f32 {
    if own > 0.0 { best * best / own } else { 0.0 }
}

fn ratio(a: f32, b: f32) -> f32 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Sums gathered in one pass over a candidate.
struct Directions {
    /// Sum over query terms of their best match in the candidate.
    q_sum: f32,
    /// Sum over candidate terms of their best match in the query.
    c_sum: f32,
    /// Sum of the candidate terms' own IC.
    c_ic: f32,
    /// IC of contradicted exclusions, both ways.
    contradiction: f32,
    /// The two sums again for the second block of similarities, if any.
    q_sum2: f32,
    c_sum2: f32,
}

/// Both best-match directions in one pass. A query term's best match below
/// `floor × its own IC` counts as zero.
#[inline]
fn directions(
    p: &Prepared,
    observed: &[TermIdx],
    excluded: &[TermIdx],
    s: &mut Scratch,
) -> Directions {
    let side = QuerySide::of(p.measure);
    let (m, stride, blocks) = (p.m, p.stride, p.blocks);
    let extra = blocks * (m + 1);
    let best = &mut s.best[..m];
    best.fill(0.0);
    let best2 = &mut s.best2[..m];
    best2.fill(0.0);
    let mut d = Directions {
        q_sum: 0.0,
        c_sum: 0.0,
        c_ic: 0.0,
        contradiction: 0.0,
        q_sum2: 0.0,
        c_sum2: 0.0,
    };
    for &c in observed {
        let row = &p.table[c.index() * stride..c.index() * stride + stride];
        for (b, &v) in best.iter_mut().zip(&row[..m]) {
            *b = b.max(v);
        }
        if blocks == 2 {
            for (b, &v) in best2.iter_mut().zip(&row[m..2 * m]) {
                *b = b.max(v);
            }
            d.c_sum2 += row[2 * m + 1];
        }
        let own = row[extra + 2];
        d.c_sum += side.candidate_value(row[blocks * m], own);
        d.contradiction += row[extra];
        d.c_ic += own;
    }
    for &e in excluded {
        d.contradiction += p.table[e.index() * stride + extra + 1];
    }
    d.q_sum = best
        .iter()
        .zip(&p.self_ic)
        .map(|(&b, &own)| side.value(b, own))
        .sum();
    d.q_sum2 = best2.iter().sum();
    d
}

fn closure_score(
    p: &Prepared,
    ontology: &Ontology,
    ic: &[f32],
    observed: &[TermIdx],
    s: &mut Scratch,
) -> f32 {
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

/// The score of query `Y` (these observed and excluded terms) against the prepared
/// profile `X` as the candidate: `score(prepare(Y), X)` computed from `X`'s table, which
/// holds every term's similarity to `X`'s terms (term similarities are symmetric). One
/// prepared profile thus scores against every member in either role: when a member's
/// profile changes, everyone's ranking of that member is updated without preparing
/// anyone else's query.
pub(crate) fn reverse_score(
    p: &Prepared,
    ontology: &Ontology,
    ic: &[f32],
    y_observed: &[TermIdx],
    y_excluded: &[TermIdx],
    s: &mut Scratch,
) -> f32 {
    if y_observed.is_empty() || p.m == 0 {
        return 0.0;
    }
    if matches!(p.measure, Measure::Jaccard | Measure::SimGic) {
        // Symmetric: score Y's closure against X's.
        return closure_score(p, ontology, ic, y_observed, s);
    }
    let (m, stride, blocks) = (p.m, p.stride, p.blocks);
    let extra = blocks * (m + 1);
    let (sharpen, floor) = match p.measure {
        Measure::Raremesh(t) => (t.sharpen, t.floor),
        _ => (false, 0.0),
    };
    // X's terms play the candidate: their best match among Y's terms, per block.
    let best = &mut s.best[..m];
    best.fill(0.0);
    let best2 = &mut s.best2[..m];
    best2.fill(0.0);
    let (mut q_sum, mut q_sum2, mut y_ic, mut contradiction) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for &y in y_observed {
        let row = &p.table[y.index() * stride..y.index() * stride + stride];
        for (b, &v) in best.iter_mut().zip(&row[..m]) {
            *b = b.max(v);
        }
        if blocks == 2 {
            for (b, &v) in best2.iter_mut().zip(&row[m..2 * m]) {
                *b = b.max(v);
            }
            q_sum2 += row[2 * m + 1];
        }
        let own = row[extra + 2];
        let b = row[blocks * m];
        q_sum += if b < floor * own {
            0.0
        } else if sharpen {
            sharpened(b, own)
        } else {
            b
        };
        y_ic += own;
        // X excludes an ancestor of Y's term.
        contradiction += row[extra];
    }
    for &e in y_excluded {
        // Y excludes a term X has (or has a descendant of).
        contradiction += p.table[e.index() * stride + extra + 1];
    }
    let c_sum: f32 = if sharpen {
        best.iter()
            .zip(&p.self_ic)
            .map(|(&b, &own)| sharpened(b, own))
            .sum()
    } else {
        best.iter().sum()
    };
    let c_sum2: f32 = best2.iter().sum();
    let (n_y, n_x) = (y_observed.len() as f32, m as f32);
    match p.measure {
        Measure::Jaccard | Measure::SimGic => 0.0,
        Measure::Pairwise(_, combine) => {
            let (q_mean, c_mean) = (q_sum / n_y, c_sum / n_x);
            match combine {
                Combine::Bma => (q_sum + c_sum) / (n_y + n_x),
                Combine::FunSimAvg => 0.5 * (q_mean + c_mean),
                Combine::FunSimMax => q_mean.max(c_mean),
            }
        }
        Measure::Raremesh(t) => {
            let (q_dir, c_dir, contradiction) = if t.normalized {
                (
                    ratio(q_sum, y_ic),
                    ratio(c_sum, p.total_ic),
                    ratio(contradiction, y_ic),
                )
            } else {
                (q_sum / n_y, c_sum / n_x, contradiction)
            };
            let first = t.query_side * q_dir + (1.0 - t.query_side) * c_dir;
            let second = if blocks == 2 {
                (q_sum2 + c_sum2) / (n_y + n_x)
            } else {
                0.0
            };
            (1.0 - t.graphic_mix) * first + t.graphic_mix * second - t.exclusion * contradiction
        }
    }
}
