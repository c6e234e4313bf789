//! The Matchmaker Exchange search API v1 on the wire: the versioned media type, the
//! request and response bodies, and what makes a request unusable (see
//! `docs/mme.md`). Fields this node does not use are accepted and ignored, as the API's
//! extension rule (`_`-prefixed fields) and later minor versions ask.

use serde::{Deserialize, Serialize};

/// The media type's prefix; a version (`v1.0`) and `+json` follow.
pub const MEDIA_PREFIX: &str = "application/vnd.ga4gh.matchmaker.";
/// The API versions this node speaks (major 1).
pub const SUPPORTED: [&str; 2] = ["1.0", "1.1"];
/// The version this node answers in when a request names a later minor version.
pub const LATEST: &str = "1.1";
/// The largest request body read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The most disorders or genomic features one request may list.
pub const MAX_ENTRIES: usize = 500;
/// The most features one request may list (a search prepares a table per feature: this
/// bounds its memory to about 30 MB).
pub const MAX_FEATURES: usize = 100;
/// The longest id, label or contact field (characters, as the API says).
pub const MAX_TEXT: usize = 255;

/// The media type of a version (`application/vnd.ga4gh.matchmaker.v1.0+json`).
pub fn media_type(version: &str) -> String {
    format!("{MEDIA_PREFIX}v{version}+json")
}

/// Why a request's `Content-Type` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// No `Content-Type`, or not a Matchmaker Exchange one (415).
    #[error("the Content-Type must be {}", media_type("1.0"))]
    NotMatchmaker,
    /// A Matchmaker Exchange version whose major version this node does not speak (406).
    #[error("unsupported API version {0}")]
    Unsupported(String),
}

/// The version a request's `Content-Type` names, as this node answers it: the same
/// version when it is one this node knows, the latest it knows for a later minor version
/// of major version 1.
pub fn version(content_type: Option<&str>) -> Result<&'static str, MediaError> {
    let ct = content_type.unwrap_or_default().trim();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let rest = essence
        .get(..MEDIA_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(MEDIA_PREFIX))
        .map(|_| &essence[MEDIA_PREFIX.len()..])
        .ok_or(MediaError::NotMatchmaker)?;
    let v = rest
        .strip_suffix("+json")
        .and_then(|v| v.strip_prefix('v'))
        .ok_or(MediaError::NotMatchmaker)?;
    let (major, minor) = v
        .split_once('.')
        .ok_or_else(|| MediaError::Unsupported(v.to_owned()))?;
    if major != "1" || minor.is_empty() || !minor.chars().all(|c| c.is_ascii_digit()) {
        return Err(MediaError::Unsupported(v.to_owned()));
    }
    Ok(SUPPORTED
        .iter()
        .find(|s| s.split_once('.').is_some_and(|(_, m)| m == minor))
        .copied()
        .unwrap_or(LATEST))
}

/// A search request: `POST <base>/match`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MatchRequest {
    /// The patient to find others like.
    pub patient: MmePatient,
    /// The sender's disclaimer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclaimer: Option<String>,
    /// The sender's terms, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// A patient, as the API describes one (in a request, and in each result).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MmePatient {
    /// Unique within the matchmaker that holds the record.
    pub id: String,
    /// A label without personal information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Who to contact about this patient.
    pub contact: Contact,
    /// NCBI taxon (`NCBITaxon:9606`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub species: Option<String>,
    /// The ORPHA or OMIM disorders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disorders: Vec<Disorder>,
    /// The HPO features, observed or explicitly not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
    /// Candidate genes and variants (this node holds none: read, not matched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genomic_features: Vec<serde_json::Value>,
    /// A test query: answered, but members are not told of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

/// The contact of a patient record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Contact {
    /// A person or organization.
    pub name: String,
    /// Their institution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    /// A public `http(s):` or `mailto:` address.
    pub href: String,
    /// An address, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `clinician`, `researcher`, `patient`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// A phenotypic feature.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// `HP:#######`.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `yes` (the default) or `no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// An HPO onset term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_of_onset: Option<String>,
}

impl Feature {
    /// Whether the feature was observed (absent `observed` means yes).
    pub fn is_observed(&self) -> bool {
        self.observed.as_deref() != Some("no")
    }
}

/// A disorder: `Orphanet:#####` or `MIM:######`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Disorder {
    /// Its id.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A search response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MatchResponse {
    /// Best first; may be empty.
    pub results: Vec<MatchResult>,
    /// This node's disclaimer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclaimer: Option<String>,
}

/// One match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MatchResult {
    /// How well it matched.
    pub score: Score,
    /// The matched patient.
    pub patient: MmePatient,
}

/// A match's score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
pub struct Score {
    /// 0 (poor) to 1 (perfect).
    pub patient: f64,
}

impl MatchRequest {
    /// What makes the request unusable (a 422), if anything: the mandatory fields, the
    /// sizes, the forms of ids and of `observed`.
    pub fn problem(&self) -> Option<String> {
        let p = &self.patient;
        let long = |s: &str| s.chars().count() > MAX_TEXT;
        if p.id.trim().is_empty() || long(&p.id) {
            return Some("patient.id must be 1 to 255 characters".into());
        }
        if p.label.as_deref().is_some_and(long) {
            return Some("patient.label must be at most 255 characters".into());
        }
        if p.contact.name.trim().is_empty() || long(&p.contact.name) {
            return Some("patient.contact.name must be 1 to 255 characters".into());
        }
        if p.contact.href.trim().is_empty() || !p.contact.href.contains(':') {
            return Some("patient.contact.href must be a URL (https:... or mailto:...)".into());
        }
        if p.features.is_empty() && p.genomic_features.is_empty() {
            return Some("patient must list features or genomicFeatures".into());
        }
        if p.features.len() > MAX_FEATURES {
            return Some(format!("at most {MAX_FEATURES} features"));
        }
        if p.disorders.len() > MAX_ENTRIES || p.genomic_features.len() > MAX_ENTRIES {
            return Some(format!(
                "at most {MAX_ENTRIES} disorders and genomicFeatures each"
            ));
        }
        for f in &p.features {
            if !is_hpo_id(&f.id) {
                return Some(format!(
                    "feature id {:?} is not an HPO id (HP:#######)",
                    f.id
                ));
            }
            if let Some(o) = f.observed.as_deref()
                && o != "yes"
                && o != "no"
            {
                return Some(format!(
                    "feature {}: observed must be \"yes\" or \"no\"",
                    f.id
                ));
            }
        }
        if let Some(d) = p
            .disorders
            .iter()
            .find(|d| d.id.trim().is_empty() || long(&d.id))
        {
            return Some(format!(
                "disorder id {:?} must be 1 to 255 characters",
                d.id
            ));
        }
        None
    }
}

/// `HP:` and seven digits.
pub fn is_hpo_id(s: &str) -> bool {
    s.strip_prefix("HP:")
        .is_some_and(|d| d.len() == 7 && d.chars().all(|c| c.is_ascii_digit()))
}

/// The Orphanet code (`Orphanet:558`, `ORPHA:558`) or the OMIM number (`MIM:154700`,
/// `OMIM:154700`) a disorder id names.
pub fn disorder_code(id: &str) -> Option<DisorderCode> {
    let (prefix, number) = id.trim().split_once(':')?;
    let n: u32 = number.trim().parse().ok()?;
    match prefix.to_ascii_uppercase().as_str() {
        "ORPHANET" | "ORPHA" => Some(DisorderCode::Orpha(n)),
        "MIM" | "OMIM" => Some(DisorderCode::Omim(n)),
        _ => None,
    }
}

/// A disorder id this node can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisorderCode {
    /// An Orphanet code.
    Orpha(u32),
    /// An OMIM number.
    Omim(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_major_one_are_answered_others_refused() {
        let v = |s: &str| version(Some(s));
        assert_eq!(v("application/vnd.ga4gh.matchmaker.v1.0+json"), Ok("1.0"));
        assert_eq!(
            v("application/vnd.ga4gh.matchmaker.v1.1+json; charset=utf-8"),
            Ok("1.1")
        );
        assert_eq!(v("application/vnd.ga4gh.matchmaker.v1.7+json"), Ok(LATEST));
        assert_eq!(
            v("application/vnd.ga4gh.matchmaker.v2.0+json"),
            Err(MediaError::Unsupported("2.0".into()))
        );
        assert_eq!(v("application/json"), Err(MediaError::NotMatchmaker));
        assert_eq!(version(None), Err(MediaError::NotMatchmaker));
    }

    #[test]
    fn disorder_ids() {
        assert_eq!(
            disorder_code("Orphanet:558"),
            Some(DisorderCode::Orpha(558))
        );
        assert_eq!(
            disorder_code("MIM:154700"),
            Some(DisorderCode::Omim(154_700))
        );
        assert_eq!(disorder_code("DOID:1"), None);
        assert!(is_hpo_id("HP:0001250") && !is_hpo_id("HP:1250") && !is_hpo_id("MP:0001250"));
    }
}
