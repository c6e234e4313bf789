//! A Beacon request's filters, read into the criteria of a research count.

use serde::Deserialize;

use crate::registration::patient::Sex;
use crate::research::query::Criteria;

/// The age bands, as custom filter terms (`age_band:6-11`).
pub const AGE_BANDS: [&str; 6] = ["0-5", "6-11", "12-17", "18-39", "40-64", "65+"];
/// The prefix of the age band filter terms.
pub const AGE_BAND_PREFIX: &str = "age_band:";

/// The NCIT terms of sex in the Beacon v2 individuals model, and what each stands for.
pub const SEXES: [(&str, &str, Sex); 2] = [
    ("NCIT:C16576", "female", Sex::Female),
    ("NCIT:C20197", "male", Sex::Male),
];

/// One filter of a request, as Beacon v2 writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The term: `HP:…`, `ORPHA:…`, `NCIT:…` (sex) or `age_band:…`.
    pub id: String,
    /// Whether narrower terms count too (the default, and the only way this Beacon
    /// counts).
    #[serde(default)]
    pub include_descendant_terms: Option<bool>,
    /// Present in alphanumeric filters, which this Beacon does not take.
    #[serde(default)]
    pub operator: Option<String>,
    /// Present in alphanumeric filters.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Ignored (the Beacon has one scope: individuals).
    #[serde(default)]
    pub scope: Option<String>,
}

impl Filter {
    /// A filter from a query string's `filters=a,b`.
    pub fn plain(id: &str) -> Self {
        Self {
            id: id.trim().to_owned(),
            include_descendant_terms: None,
            operator: None,
            value: None,
            scope: None,
        }
    }
}

/// The criteria of `filters`, or why they cannot be answered: one term of each kind at
/// most (HPO, Orphanet, sex, age band), all of which must hold.
pub fn criteria(filters: &[Filter]) -> Result<Criteria, String> {
    let mut c = Criteria::default();
    let once = |slot: &mut Option<String>, value: String, what: &str| {
        if slot.is_some() {
            return Err(format!("one {what} filter at most"));
        }
        *slot = Some(value);
        Ok(())
    };
    if filters.len() > 8 {
        return Err("at most 8 filters".into());
    }
    for f in filters {
        let id = f.id.trim();
        if id.is_empty() || id.len() > 64 {
            return Err("a filter needs an id (at most 64 characters)".into());
        }
        if f.operator.is_some() || f.value.is_some() {
            return Err(format!(
                "{id}: alphanumeric filters are not supported; use the ontology terms and \
                 the age_band:… terms of /filtering_terms"
            ));
        }
        if f.include_descendant_terms == Some(false) {
            return Err(format!(
                "{id}: this Beacon always counts narrower terms too (includeDescendantTerms must be true)"
            ));
        }
        let (prefix, rest) = id.split_once(':').unwrap_or(("", id));
        match prefix.to_ascii_uppercase().as_str() {
            "HP" => once(&mut c.symptom, id.to_owned(), "HPO term")?,
            "ORPHA" | "ORPHANET" => once(&mut c.disease, id.to_owned(), "Orphanet disease")?,
            "NCIT" => {
                let Some((_, name, _)) = SEXES.iter().find(|(t, _, _)| t.eq_ignore_ascii_case(id))
                else {
                    return Err(format!(
                        "{id}: not a sex this Beacon knows (NCIT:C16576 female, NCIT:C20197 male)"
                    ));
                };
                once(&mut c.sex, (*name).to_owned(), "sex")?;
            }
            "AGE_BAND" => {
                if !AGE_BANDS.contains(&rest) {
                    return Err(format!(
                        "{id}: not an age band ({})",
                        AGE_BANDS
                            .map(|b| format!("{AGE_BAND_PREFIX}{b}"))
                            .join(", ")
                    ));
                }
                once(&mut c.age_band, rest.to_owned(), "age band")?;
            }
            _ => {
                return Err(format!(
                    "{id}: not a filter this Beacon knows (HP:…, ORPHA:…, NCIT sex terms, age_band:…)"
                ));
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_criteria_or_a_reason() {
        let c = criteria(&[
            Filter::plain("HP:0001250"),
            Filter::plain("Orphanet:558"),
            Filter::plain("NCIT:C16576"),
            Filter::plain("age_band:6-11"),
        ])
        .expect("criteria");
        assert_eq!(c.symptom.as_deref(), Some("HP:0001250"));
        assert_eq!(c.disease.as_deref(), Some("Orphanet:558"));
        assert_eq!(c.sex.as_deref(), Some("female"));
        assert_eq!(c.age_band.as_deref(), Some("6-11"));
        for bad in [
            vec![Filter::plain("HP:0001250"), Filter::plain("HP:0001263")],
            vec![Filter::plain("MONDO:0007947")],
            vec![Filter::plain("NCIT:C0000")],
            vec![Filter::plain("age_band:7-9")],
            vec![Filter::plain("")],
            vec![Filter {
                operator: Some(">".into()),
                value: Some(serde_json::json!(3)),
                ..Filter::plain("age")
            }],
            vec![Filter {
                include_descendant_terms: Some(false),
                ..Filter::plain("HP:0001250")
            }],
        ] {
            assert!(criteria(&bad).is_err(), "{bad:?}");
        }
    }
}
