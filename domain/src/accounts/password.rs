//! Password rules and argon2id hashing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Fewest characters in a password.
pub const MIN_CHARS: usize = 10;
/// Most characters in a password (longer ones only cost hashing time).
pub const MAX_CHARS: usize = 128;

/// Why a password is refused, in words a member understands.
pub fn check(password: &str, email: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!(
            "use at least {MIN_CHARS} characters (a few words work well)"
        ));
    }
    if n > MAX_CHARS {
        return Err(format!("use at most {MAX_CHARS} characters"));
    }
    if password.trim().is_empty() || password.chars().any(char::is_control) {
        return Err("use letters, digits, spaces or symbols".into());
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("do not use your email address as your password".into());
    }
    Ok(())
}

/// The argon2id hash (PHC string) of `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A random password of 20 characters from an alphabet without look-alikes.
pub fn generate() -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check("short", "a@b.org").is_err());
        assert!(check(&"x".repeat(129), "a@b.org").is_err());
        assert!(check("          ", "a@b.org").is_err());
        assert!(check("member@example.org", "Member@Example.org").is_err());
        assert!(check("correct horse battery", "a@b.org").is_ok());
    }

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(
            hash("same password!").expect("hash"),
            hash("same password!").expect("hash")
        );
        assert_eq!(generate().expect("generate").len(), 20);
    }
}
