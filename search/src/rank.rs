//! Scores a candidate label against the query words: the "obvious answer first" rules.

use crate::labels::Label;
use crate::text::{allowed_typos, edit_distance};

/// How well one query word matches one label word, in 0..=1.
pub(crate) fn word_match(q: &str, l: &str, is_last: bool) -> f32 {
    if q == l {
        return 1.0;
    }
    if crate::text::same_word(q, l) {
        // The same word, singular or plural.
        return 0.95;
    }
    if q.len() >= 2 && l.starts_with(q) {
        // A word being typed, or a shortened word.
        return if is_last { 0.85 } else { 0.6 };
    }
    let typos = usize::from(allowed_typos(q.len()));
    if typos > 0 {
        if let Some(d) = edit_distance(q.as_bytes(), l.as_bytes(), typos) {
            return 0.75 - 0.15 * (d as f32 - 1.0);
        }
        if is_last && q.len() >= 4 && l.len() > q.len() {
            // A misspelled word still being typed: compare with the label word's start.
            let end = (q.len() + 1).min(l.len());
            let best = (q.len().saturating_sub(1)..=end)
                .filter_map(|e| l.get(..e))
                .filter_map(|p| edit_distance(q.as_bytes(), p.as_bytes(), 1))
                .min();
            if best.is_some() {
                return 0.55;
            }
        }
    }
    0.0
}

/// The score of `label` for the query words; `popularity` in 0..=1 breaks near-ties in
/// favour of terms that describe many diseases. `matches(i, word)` says how well query word
/// `i` matches a label word (see [`word_match`]; precomputed per query for speed).
pub(crate) fn score(
    query: &[String],
    label: &Label,
    popularity: f32,
    matches: impl Fn(usize, &str) -> f32,
) -> f32 {
    if query.is_empty() || label.tokens.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; label.tokens.len()];
    let mut q_total = 0.0;
    let mut q_weight = 0.0;
    for (i, q) in query.iter().enumerate() {
        // Short words ("of", "in") matter less than content words.
        let w = if q.len() <= 2 { 0.4 } else { 1.0 };
        let mut best = 0.0f32;
        let mut best_j = None;
        for (j, l) in label.tokens.iter().enumerate() {
            let m = matches(i, l);
            if m > best || (m == best && best_j.is_some_and(|b: usize| used[b] && !used[j])) {
                best = m;
                best_j = Some(j);
            }
        }
        if let Some(j) = best_j.filter(|_| best > 0.0) {
            used[j] = true;
        }
        q_total += w * best;
        q_weight += w;
    }
    let q_cov = q_total / q_weight;
    let l_cov = used.iter().filter(|u| **u).count() as f32 / label.tokens.len() as f32;
    let phrase = if label.tokens == query {
        1.0
    } else if starts_with_words(&label.tokens, query) {
        0.5
    } else {
        0.0
    };
    6.0 * q_cov + 2.0 * l_cov + 2.0 * phrase + 0.5 * label.kind.bonus() + 0.7 * popularity
}

/// Whether the label begins with the query words, the last one possibly unfinished.
fn starts_with_words(label: &[String], query: &[String]) -> bool {
    if query.len() > label.len() {
        return false;
    }
    let (last, rest) = match query.split_last() {
        Some(x) => x,
        None => return false,
    };
    rest.iter().zip(label).all(|(q, l)| q == l) && label[rest.len()].starts_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{LabelKind, Target};
    use raremesh_ontology::TermIdx;

    fn label(text: &str, kind: LabelKind) -> Label {
        Label {
            target: Target::Term(TermIdx(0)),
            kind,
            lang: "en".into(),
            text: text.into(),
            tokens: text.to_lowercase().split(' ').map(String::from).collect(),
        }
    }

    fn q(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    fn score(query: &[String], label: &Label, popularity: f32) -> f32 {
        super::score(query, label, popularity, |i, l| {
            word_match(&query[i], l, i + 1 == query.len())
        })
    }

    #[test]
    fn exact_beats_prefix_beats_typo() {
        let seizure = label("seizure", LabelKind::Name);
        let focal = label("focal seizure", LabelKind::Name);
        assert!(score(&q("seizure"), &seizure, 0.0) > score(&q("seizure"), &focal, 0.0));
        assert!(score(&q("seizure"), &seizure, 0.0) > score(&q("seizur"), &seizure, 0.0));
        assert!(score(&q("seizur"), &seizure, 0.0) > score(&q("siezure"), &seizure, 0.0));
        assert!(score(&q("siezure"), &seizure, 0.0) > 0.0);
        assert_eq!(
            score(&q("xylophone"), &seizure, 0.0),
            0.5 * LabelKind::Name.bonus()
        );
    }

    #[test]
    fn names_beat_synonyms_on_equal_text() {
        let name = label("large head", LabelKind::Name);
        let syn = label("large head", LabelKind::Other);
        assert!(score(&q("large head"), &name, 0.0) > score(&q("large head"), &syn, 0.0));
    }
}
