//! Expands one query word into the indexed words it may stand for: itself, words it is a
//! prefix of, and words within a few typos, read from tantivy's term dictionary.

use std::collections::BTreeMap;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::Searcher;
use tantivy::schema::Field;

use crate::text::allowed_typos;

/// Prefix expansions kept per word (the most frequent words win).
const MAX_PREFIX: usize = 48;
/// Typo expansions kept per word.
const MAX_FUZZY: usize = 24;

/// Levenshtein automaton builders (costly to make, so made once).
pub(crate) struct Automata {
    by_distance: [LevenshteinAutomatonBuilder; 2],
}

impl Automata {
    pub fn new() -> Self {
        Self {
            by_distance: [
                LevenshteinAutomatonBuilder::new(1, true),
                LevenshteinAutomatonBuilder::new(2, true),
            ],
        }
    }

    fn builder(&self, d: u8) -> &LevenshteinAutomatonBuilder {
        &self.by_distance[usize::from(d.clamp(1, 2)) - 1]
    }
}

impl std::fmt::Debug for Automata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Automata")
    }
}

struct Dfa(DFA);

impl tantivy_fst::Automaton for Dfa {
    type State = u32;
    fn start(&self) -> u32 {
        self.0.initial_state()
    }
    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }
    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }
    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// One indexed word a query word may stand for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Expansion {
    /// Weight of the word in the tantivy query (exact 3, prefix 2, typo 1).
    pub boost: f32,
    /// How well it matches, for ranking ([`crate::rank::word_match`]).
    pub score: f32,
}

/// Indexed words for `word`, with their weights.
pub(crate) fn expand(
    searcher: &Searcher,
    field: Field,
    automata: &Automata,
    word: &str,
    is_last: bool,
) -> BTreeMap<String, Expansion> {
    let mut out: BTreeMap<Vec<u8>, f32> = BTreeMap::new();
    let mut prefixed: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut fuzzy: Vec<(u32, Vec<u8>)> = Vec::new();
    let typos = allowed_typos(word.len());
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let dict = inverted.terms();
        if let Ok(Some(_)) = dict.get(word.as_bytes()) {
            out.insert(word.as_bytes().to_vec(), 3.0);
        }
        // The singular of a plural word and the plural of a singular one, whether or not
        // the word itself is indexed.
        for v in crate::text::number_variants(word) {
            if let Ok(Some(_)) = dict.get(v.as_bytes()) {
                let w = out.entry(v.into_bytes()).or_insert(0.0);
                *w = w.max(2.5);
            }
        }
        if word.len() >= 2 {
            let mut upper = word.as_bytes().to_vec();
            upper.push(0xff);
            if let Ok(mut stream) = dict.range().ge(word.as_bytes()).lt(&upper).into_stream() {
                while stream.advance() && prefixed.len() < 4096 {
                    prefixed.push((stream.value().doc_freq, stream.key().to_vec()));
                }
            }
        }
        // Typos are looked for only when the word is not itself indexed (and, for the word
        // being typed, when nothing starts with it): correct words stay fast.
        let known = out.contains_key(word.as_bytes());
        let mut dfas = Vec::new();
        if typos > 0 && !known {
            dfas.push(automata.builder(typos).build_dfa(word));
        }
        if is_last && word.len() >= 4 && !known && prefixed.is_empty() {
            dfas.push(automata.builder(1).build_prefix_dfa(word));
        }
        for dfa in dfas {
            if let Ok(mut stream) = dict.search(Dfa(dfa)).into_stream() {
                while stream.advance() && fuzzy.len() < 4096 {
                    fuzzy.push((stream.value().doc_freq, stream.key().to_vec()));
                }
            }
        }
    }
    for (list, keep, weight) in [
        (&mut prefixed, MAX_PREFIX, 2.0),
        (&mut fuzzy, MAX_FUZZY, 1.0),
    ] {
        list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        list.dedup_by(|a, b| a.1 == b.1);
        for (_, term) in list.drain(..).take(keep) {
            let w = out.entry(term).or_insert(0.0);
            *w = w.max(weight);
        }
    }
    out.into_iter()
        .filter_map(|(term, boost)| {
            let term = String::from_utf8(term).ok()?;
            let graded = crate::rank::word_match(word, &term, is_last);
            // The prefix-typo automaton can accept a few words the grader does not.
            let score = if graded > 0.0 { graded } else { 0.5 };
            Some((term, Expansion { boost, score }))
        })
        .collect()
}
