//! The one source of random identifiers and tokens: the operating system's.

use crate::store::StoreError;

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A secret token (sessions, links, CSRF): 32 random bytes, 64 hex digits.
pub fn random_token() -> Result<String, StoreError> {
    random_hex(32)
}

/// A record id: 16 random bytes, 32 hex digits.
pub fn new_id() -> Result<String, StoreError> {
    random_hex(16)
}

/// Declares a record id type: a string on the wire and on disk, its own type in code.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Default,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id `s` (as stored or sent; not checked).
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// A new random id.
            pub fn random() -> Result<Self, StoreError> {
                new_id().map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type!(
    /// An account's id (a member, a validator, an admin, a researcher).
    AccountId
);
id_type!(
    /// A patient's id (unique on its node; never sent to partners, who see pseudonyms).
    PatientId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire_and_their_own_type_in_code() {
        let a = AccountId::new("0123");
        assert_eq!(serde_json::to_string(&a).expect("json"), "\"0123\"");
        let back: AccountId = serde_json::from_str("\"0123\"").expect("read");
        assert_eq!(back, a);
        assert_eq!(a, "0123");
        assert_eq!(a.len(), 4, "reads as text");
        let p = PatientId::random().expect("random");
        assert_eq!(p.len(), 32);
        assert_ne!(p, PatientId::random().expect("random"));
    }
}
