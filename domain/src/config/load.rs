//! Reading a configuration: the file (if any), then `RAREMESH_*` environment overrides.

use std::path::Path;

use serde::Deserialize;

use super::{Config, ConfigError};

/// Environment variables starting with this override keys: `RAREMESH_SERVER__BIND`
/// sets `server.bind` (sections joined by a double underscore).
pub const ENV_PREFIX: &str = "RAREMESH_";

/// Variables with the prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["RAREMESH_CONFIG"];

/// Loads the file at `path` (or only defaults without one), applies the overrides found in
/// `env`, and validates the result.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let (text, origin) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                key: String::new(),
                origin: Some(p.display().to_string()),
                line: None,
                message: format!("cannot read the configuration file: {e}"),
            })?;
            (text, p.display().to_string())
        }
        None => (String::new(), "defaults".to_owned()),
    };
    load_str(&text, &origin, env)
}

/// Like [`load`], from TOML text; `origin` names it in errors.
pub fn load_str(
    text: &str,
    origin: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    // First the file alone, so errors carry its line numbers.
    let config = from_toml_text(text, origin)?;
    let overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !NOT_KEYS.contains(&k.as_str()))
        .collect();
    let config = if overrides.is_empty() {
        config
    } else {
        apply_env(text, origin, &overrides)?
    };
    config.validate().map_err(|mut e| {
        let var = overrides.iter().find(|(var, _)| {
            var[ENV_PREFIX.len()..]
                .replace("__", ".")
                .eq_ignore_ascii_case(&e.key)
        });
        e.origin = Some(var.map_or_else(
            || origin.to_owned(),
            |(v, _)| format!("environment variable {v}"),
        ));
        e
    })?;
    Ok(config)
}

fn from_toml_text(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
    };
    let de = toml::Deserializer::parse(text).map_err(|e| ConfigError {
        key: String::new(),
        origin: Some(origin.to_owned()),
        line: line_of(e.span()),
        message: e.message().to_owned(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ConfigError {
            key: if path == "." { String::new() } else { path },
            origin: Some(origin.to_owned()),
            line: line_of(inner.span()),
            message: inner.message().to_owned(),
        }
    })
}

/// Merges `RAREMESH_A__B=value` into the file's table and deserializes again.
fn apply_env(
    text: &str,
    origin: &str,
    overrides: &[(String, String)],
) -> Result<Config, ConfigError> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| ConfigError::invalid("", format!("{origin}: {e}")))?;
    let mut keys: Vec<(String, &str)> = Vec::new();
    for (var, raw) in overrides {
        let path: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let env_err = |message: String| ConfigError {
            key: path.join("."),
            origin: Some(format!("environment variable {var}")),
            line: None,
            message,
        };
        let Some((last, sections)) = path
            .split_last()
            .filter(|_| path.iter().all(|p| !p.is_empty()))
        else {
            return Err(env_err("is not a configuration key".into()));
        };
        let mut at = &mut table;
        for s in sections {
            let entry = at
                .entry(s.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = entry
                .as_table_mut()
                .ok_or_else(|| env_err(format!("{s} is not a section")))?;
        }
        at.insert(last.clone(), env_value(raw));
        keys.push((path.join("."), var));
    }
    check(&table).map_err(|(key, message)| {
        let var = keys
            .iter()
            .find(|(k, _)| *k == key || k.starts_with(&format!("{key}.")))
            .map(|(_, v)| *v);
        ConfigError {
            origin: Some(var.map_or_else(
                || "environment".to_owned(),
                |v| format!("environment variable {v}"),
            )),
            key,
            line: None,
            message,
        }
    })
}

fn check(table: &toml::Table) -> Result<Config, (String, String)> {
    let de = toml::Value::Table(table.clone());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        (
            if path == "." { String::new() } else { path },
            e.into_inner().message().to_owned(),
        )
    })
}

/// An environment value: a TOML number, boolean or array (`["10.0.0.0/8"]`) when it reads
/// as one, else a string.
fn env_value(raw: &str) -> toml::Value {
    #[derive(Deserialize)]
    struct V {
        v: toml::Value,
    }
    match toml::from_str::<V>(&format!("v = {raw}")) {
        Ok(V {
            v:
                v @ (toml::Value::Integer(_)
                | toml::Value::Boolean(_)
                | toml::Value::Float(_)
                | toml::Value::Array(_)),
        }) => v,
        _ => toml::Value::String(raw.to_owned()),
    }
}
