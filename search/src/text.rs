//! Text normalization shared by indexing and querying, and a bounded edit distance.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

/// The tantivy name of the analyzer below.
pub(crate) const ANALYZER: &str = "raremesh_label";

/// Longest token kept; longer "words" are noise (and would slow fuzzy matching).
pub(crate) const MAX_TOKEN_LEN: usize = 40;

/// Splits on anything that is not a letter or digit, lowercases, folds accents to ASCII.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN + 1))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The normalized tokens of `text`.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// The optimal-string-alignment distance between `a` and `b` (a transposition costs 1),
/// or `None` when it exceeds `max`.
pub(crate) fn edit_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= max)
}

/// A word and the word without a plural ending (`-s`, `-es`), for comparing only.
pub(crate) fn forms(w: &str) -> [&str; 3] {
    let s = w.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(w);
    let es = w.strip_suffix("es").filter(|s| s.len() >= 3).unwrap_or(w);
    [w, s, es]
}

/// Whether two words differ only by a plural ending (`seizure`/`seizures`,
/// `convulsión`/`convulsiones` once folded).
pub(crate) fn same_word(a: &str, b: &str) -> bool {
    a == b || {
        let (a, b) = (forms(a), forms(b));
        a.iter().any(|x| b.contains(x))
    }
}

/// The other forms of `w` that may be indexed: singular and plural.
pub(crate) fn number_variants(w: &str) -> Vec<String> {
    let mut out: Vec<String> = forms(w)
        .into_iter()
        .filter(|f| *f != w)
        .map(str::to_owned)
        .collect();
    if w.len() >= 3 {
        out.push(format!("{w}s"));
        out.push(format!("{w}es"));
    }
    out.sort();
    out.dedup();
    out
}

/// How many typos a query word of this length may carry.
pub(crate) fn allowed_typos(len: usize) -> u8 {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_folded_and_split() {
        let mut a = analyzer();
        assert_eq!(
            tokens(&mut a, "Café-au-lait SPOTS (x2)"),
            ["cafe", "au", "lait", "spots", "x2"]
        );
        assert!(tokens(&mut a, "\u{0}\u{7}:*\"()").is_empty());
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance(b"siezure", b"seizure", 2), Some(1));
        assert_eq!(edit_distance(b"seizur", b"seizure", 2), Some(1));
        assert_eq!(edit_distance(b"kitten", b"sitting", 3), Some(3));
        assert_eq!(edit_distance(b"kitten", b"sitting", 2), None);
        assert_eq!(edit_distance(b"", b"ab", 2), Some(2));
    }
}
