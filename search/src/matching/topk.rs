//! Exact top-k over many candidates, on all cores, with a deterministic order.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A ranked candidate: its position in the candidate set and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Position in the candidate set.
    pub index: usize,
    /// The score (higher is more similar).
    pub score: f32,
}

/// Orders by score descending, then by position ascending: the "better" entry is greater.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(Scored);

impl Eq for Key {}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .score
            .total_cmp(&other.0.score)
            .then_with(|| other.0.index.cmp(&self.0.index))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the best `k` entries seen.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Key>>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    pub fn offer(&mut self, s: Scored) {
        if self.k == 0 || s.score.is_nan() {
            return;
        }
        let key = Key(s);
        if self.heap.len() < self.k {
            self.heap.push(Reverse(key));
        } else if self.heap.peek().is_some_and(|worst| key > worst.0) {
            self.heap.pop();
            self.heap.push(Reverse(key));
        }
    }

    /// The score a candidate must beat to enter, once `k` are held.
    #[inline]
    pub fn threshold(&self) -> Option<f32> {
        if self.heap.len() < self.k {
            return None;
        }
        self.heap.peek().map(|worst| worst.0.0.score)
    }

    pub fn merge(mut self, other: Self) -> Self {
        for r in other.heap {
            self.offer(r.0.0);
        }
        self
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Key> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v.into_iter().map(|k| k.0).collect()
    }
}
