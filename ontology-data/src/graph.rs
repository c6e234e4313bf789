//! The `is_a` graph: parents, children and ancestor closures in compact CSR form.

use crate::{Error, HpoId, Result, TermIdx};

/// Rows of term indexes stored back to back: row `i` is `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Csr {
    offsets: Vec<u32>,
    data: Vec<TermIdx>,
}

impl Csr {
    /// Row `i`.
    #[inline]
    pub fn row(&self, i: TermIdx) -> &[TermIdx] {
        let (a, b) = (self.offsets[i.index()], self.offsets[i.index() + 1]);
        &self.data[a as usize..b as usize]
    }

    /// Total number of entries over all rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no entries at all.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row `i`, by position (for rows that are not indexed by term).
    #[inline]
    pub fn row_at(&self, i: usize) -> &[TermIdx] {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        &self.data[a as usize..b as usize]
    }

    fn from_rows(rows: impl Iterator<Item = Vec<TermIdx>>) -> Self {
        let mut csr = Self {
            offsets: vec![0],
            data: Vec::new(),
        };
        for row in rows {
            csr.data.extend(row);
            csr.offsets.push(csr.data.len() as u32);
        }
        csr
    }
}

/// The derived graph structure of an ontology.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub children: Csr,
    /// Each term's ancestors including itself, sorted by index.
    pub ancestors: Csr,
    /// Terms in an order where every parent comes before its children.
    pub topological: Vec<TermIdx>,
    /// Row `i`: the parents of `topological[i]`, stored in walking order so that a pass
    /// over the graph reads them front to back.
    pub topological_parents: Csr,
    /// Length of the longest `is_a` path from a root, per term.
    pub depth: Vec<u32>,
}

/// Builds children, a topological order and ancestor closures from parent lists.
pub(crate) fn build(parents: &[&[TermIdx]], ids: &[HpoId]) -> Result<Graph> {
    let n = parents.len();
    let mut child_rows = vec![Vec::new(); n];
    for (i, ps) in parents.iter().enumerate() {
        for p in *ps {
            child_rows[p.index()].push(TermIdx(i as u32));
        }
    }
    // Kahn's algorithm over parent counts.
    let mut pending: Vec<usize> = parents.iter().map(|p| p.len()).collect();
    let mut order: Vec<TermIdx> = (0..n)
        .filter(|&i| pending[i] == 0)
        .map(|i| TermIdx(i as u32))
        .collect();
    let mut head = 0;
    while head < order.len() {
        let t = order[head];
        head += 1;
        for c in &child_rows[t.index()] {
            pending[c.index()] -= 1;
            if pending[c.index()] == 0 {
                order.push(*c);
            }
        }
    }
    if order.len() != n {
        let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        return Err(Error::parse(
            "hp.obo",
            0,
            format!("is_a cycle through {}", ids[stuck]),
        ));
    }
    let mut anc: Vec<Vec<TermIdx>> = vec![Vec::new(); n];
    let mut depth = vec![0u32; n];
    for &t in &order {
        let mut set: Vec<TermIdx> = vec![t];
        for p in parents[t.index()] {
            set.extend_from_slice(&anc[p.index()]);
            depth[t.index()] = depth[t.index()].max(depth[p.index()] + 1);
        }
        set.sort_unstable();
        set.dedup();
        anc[t.index()] = set;
    }
    let topological_parents = Csr::from_rows(order.iter().map(|t| parents[t.index()].to_vec()));
    Ok(Graph {
        topological_parents,
        children: Csr::from_rows(child_rows.into_iter()),
        ancestors: Csr::from_rows(anc.into_iter()),
        topological: order,
        depth,
    })
}
