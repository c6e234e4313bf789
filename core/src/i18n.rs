//! Message catalogues (`core/i18n/<lang>.toml`): every text a member reads, by key, in
//! each shipped language; the web layer and the mails render keys through them.

use std::collections::BTreeMap;

/// The shipped languages, English first (the fallback).
pub const LANGUAGES: [&str; 3] = ["en", "es", "fr"];

/// Every catalogue, flattened to `section.key` → text.
#[derive(Debug, Clone)]
pub struct Catalogs(BTreeMap<&'static str, BTreeMap<String, String>>);

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            _ => {}
        }
    }
}

impl Catalogs {
    /// Parses the shipped catalogues.
    pub fn load() -> Result<Self, String> {
        let mut all = BTreeMap::new();
        for (lang, text) in [
            ("en", include_str!("../i18n/en.toml")),
            ("es", include_str!("../i18n/es.toml")),
            ("fr", include_str!("../i18n/fr.toml")),
        ] {
            let table: toml::Table =
                toml::from_str(text).map_err(|e| format!("i18n/{lang}.toml: {e}"))?;
            let mut flat = BTreeMap::new();
            flatten("", &table, &mut flat);
            all.insert(lang, flat);
        }
        Ok(Self(all))
    }

    /// The text of `key` in `lang`, else in English, else the key itself (never empty).
    pub fn text<'a>(&'a self, lang: &str, key: &'a str) -> &'a str {
        self.0
            .get(lang)
            .and_then(|c| c.get(key))
            .or_else(|| self.0.get("en").and_then(|c| c.get(key)))
            .map_or(key, String::as_str)
    }

    /// The keys of one language.
    pub fn keys(&self, lang: &str) -> Vec<&str> {
        self.0
            .get(lang)
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

/// The shipped catalogues, parsed once (empty if they could not be: keys then show as
/// themselves; a test checks they parse).
pub fn shared() -> &'static Catalogs {
    static CATALOGS: std::sync::OnceLock<Catalogs> = std::sync::OnceLock::new();
    CATALOGS.get_or_init(|| Catalogs::load().unwrap_or(Catalogs(BTreeMap::new())))
}
