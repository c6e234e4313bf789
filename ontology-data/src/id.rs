//! Validated identifiers: HPO term ids and ORPHA codes, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// An HPO term identifier such as `HP:0000256`, held as its number.
///
/// Parsing accepts `HP:0000256` and `HP_0000256` (case-insensitive prefix, seven digits);
/// display is always the canonical `HP:0000256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HpoId(u32);

impl HpoId {
    /// The id with this number (`HpoId::from_number(256)` is `HP:0000256`).
    pub const fn from_number(n: u32) -> Self {
        Self(n)
    }

    /// The number of this id.
    pub const fn number(self) -> u32 {
        self.0
    }
}

impl FromStr for HpoId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let digits = t
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("HP:") || p.eq_ignore_ascii_case("HP_"))
            .and_then(|_| t.get(3..))
            .filter(|d| d.len() == 7 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| Error::InvalidHpoId(truncate(s)))?;
        digits
            .parse()
            .map(HpoId)
            .map_err(|_| Error::InvalidHpoId(truncate(s)))
    }
}

impl fmt::Display for HpoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HP:{:07}", self.0)
    }
}

impl Serialize for HpoId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HpoId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An Orphanet disease code such as `ORPHA:558`, held as its number.
///
/// Parsing accepts `ORPHA:558`, `Orphanet:558` and a bare `558`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrphaCode(u32);

impl OrphaCode {
    /// The code with this number.
    pub const fn from_number(n: u32) -> Self {
        Self(n)
    }

    /// The number of this code.
    pub const fn number(self) -> u32 {
        self.0
    }
}

impl FromStr for OrphaCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let digits = match t.split_once(':') {
            Some((prefix, rest))
                if prefix.eq_ignore_ascii_case("ORPHA")
                    || prefix.eq_ignore_ascii_case("Orphanet") =>
            {
                rest
            }
            Some(_) => return Err(Error::InvalidOrphaCode(truncate(s))),
            None => t,
        };
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidOrphaCode(truncate(s)));
        }
        digits
            .parse()
            .map(OrphaCode)
            .map_err(|_| Error::InvalidOrphaCode(truncate(s)))
    }
}

impl fmt::Display for OrphaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ORPHA:{}", self.0)
    }
}

impl Serialize for OrphaCode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrphaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Keeps error messages short when a caller passes a huge string.
fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A string schema for an id (OpenAPI descriptions of the node's API).
fn id_schema(
    pattern: &str,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .examples([example])
        .into()
}

impl utoipa::PartialSchema for HpoId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        id_schema("^HP:[0-9]{7}$", "HP:0001250")
    }
}

impl utoipa::ToSchema for HpoId {}

impl utoipa::PartialSchema for OrphaCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        id_schema("^ORPHA:[0-9]+$", "ORPHA:558")
    }
}

impl utoipa::ToSchema for OrphaCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpo_ids_parse_and_display() -> Result<()> {
        assert_eq!("HP:0000256".parse::<HpoId>()?, HpoId::from_number(256));
        assert_eq!("hp_0000256".parse::<HpoId>()?.to_string(), "HP:0000256");
        for bad in [
            "",
            "HP:",
            "HP:256",
            "HP:00002560",
            "XP:0000256",
            "HP:000025a",
            "HP:０００",
        ] {
            assert!(bad.parse::<HpoId>().is_err(), "{bad} should fail");
        }
        Ok(())
    }

    #[test]
    fn orpha_codes_parse_and_display() -> Result<()> {
        assert_eq!("ORPHA:558".parse::<OrphaCode>()?.to_string(), "ORPHA:558");
        assert_eq!("558".parse::<OrphaCode>()?, OrphaCode::from_number(558));
        assert_eq!("Orphanet:558".parse::<OrphaCode>()?.number(), 558);
        for bad in ["", "ORPHA:", "OMIM:558", "55x", "ORPHA:-1", "1234567890"] {
            assert!(bad.parse::<OrphaCode>().is_err(), "{bad} should fail");
        }
        Ok(())
    }

    #[test]
    fn long_input_is_truncated_in_errors() {
        let long = "x".repeat(10_000);
        let msg = long.parse::<HpoId>().map_err(|e| e.to_string());
        assert!(matches!(msg, Err(m) if m.len() < 120));
    }
}
