//! Pseudonymous display names: the same person always gets the same name on a node, and
//! the name says nothing about who they are.

use sha2::{Digest, Sha256};

const COLOURS: [&str; 16] = [
    "Amber", "Azure", "Coral", "Crimson", "Golden", "Indigo", "Ivory", "Jade", "Lilac", "Olive",
    "Pearl", "Ruby", "Sage", "Silver", "Teal", "Violet",
];
const ANIMALS: [&str; 16] = [
    "Badger", "Crane", "Dolphin", "Finch", "Fox", "Hare", "Heron", "Lynx", "Otter", "Owl", "Panda",
    "Robin", "Seal", "Swift", "Wren", "Zebra",
];

/// The display name of `who` (an account id, or a Matrix user id from another node), salted
/// with a node secret so that names cannot be computed from ids elsewhere.
pub fn display_name(salt: &[u8], who: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update([0]);
    h.update(who.as_bytes());
    let d = h.finalize();
    format!(
        "{} {} {}",
        COLOURS[(d[0] & 15) as usize],
        ANIMALS[(d[1] & 15) as usize],
        u16::from_le_bytes([d[2], d[3]]) % 1000
    )
}

/// Whether a display name sent by another node is acceptable: short, plain text.
pub fn acceptable(name: &str) -> bool {
    let n = name.chars().count();
    (1..=60).contains(&n) && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_salted_and_distinct() {
        assert_eq!(display_name(b"s", "a"), display_name(b"s", "a"));
        assert_ne!(display_name(b"s", "a"), display_name(b"t", "a"));
        let names: std::collections::HashSet<String> = (0..200)
            .map(|i| display_name(b"s", &i.to_string()))
            .collect();
        assert!(names.len() > 190, "{}", names.len());
        assert!(acceptable(&display_name(b"s", "a")));
        assert!(!acceptable(""));
        assert!(!acceptable("a\nb"));
    }
}
