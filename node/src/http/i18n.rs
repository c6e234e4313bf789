//! Message catalogues (`node/i18n/<lang>.toml`) and the choice of a page's language.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

use super::cookies;

/// The shipped languages, English first (the fallback).
pub const LANGUAGES: [&str; 3] = ["en", "es", "fr"];

/// The cookie that remembers a language picked with `?lang=`.
pub const LANG_COOKIE: &str = "raremesh_lang";

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
            ("en", include_str!("../../i18n/en.toml")),
            ("es", include_str!("../../i18n/es.toml")),
            ("fr", include_str!("../../i18n/fr.toml")),
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

/// The language of a page: `?lang=` (remembered in a cookie), then that cookie, then the
/// member's preference, then the browser's `Accept-Language`, then English.
pub fn pick(
    headers: &HeaderMap,
    query_lang: Option<&str>,
    preference: Option<&str>,
) -> &'static str {
    let known = |l: &str| {
        LANGUAGES
            .into_iter()
            .find(|k| l.trim().to_ascii_lowercase().starts_with(k))
    };
    if let Some(l) = query_lang.and_then(known) {
        return l;
    }
    if let Some(l) = cookies::get(headers, LANG_COOKIE)
        .as_deref()
        .and_then(known)
    {
        return l;
    }
    if let Some(l) = preference.and_then(known) {
        return l;
    }
    accepted(headers).find_map(known).unwrap_or("en")
}

/// The languages of `Accept-Language`, in the order given (weights are not read).
pub fn accepted(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|part| part.split(';').next().unwrap_or_default().trim())
}
