//! Start-up: prepare the data folder, load the ontology, open the search index.

use std::path::Path;
use std::time::{Duration, Instant};

use raremesh_ontology::{LoadReport, Ontology, Source};
use raremesh_search::Autocomplete;

use crate::config::Config;
use crate::state::AppState;
use crate::{Error, Result};

/// What start-up did and how long it took.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// Whether the ontology came from the binary cache.
    pub ontology_from_cache: bool,
    /// Time to load the ontology.
    pub ontology_time: Duration,
    /// Whether the search index was built (rather than reopened).
    pub index_built: bool,
    /// Time to open or build the search index.
    pub index_time: Duration,
    /// A problem with the caches that did not stop start-up.
    pub cache_problem: Option<String>,
}

/// Loads the ontology `config` names, through the cache in its data folder.
pub fn load_ontology(config: &Config) -> Result<(Ontology, LoadReport)> {
    ensure_writable(&config.data_dir)?;
    let (source, origin) = match &config.ontology.dir {
        Some(dir) => (
            Source::Dir(dir.clone()),
            format!("ontology.dir ({})", dir.display()),
        ),
        None => (Source::Embedded, "shipped HPO release".to_owned()),
    };
    Ontology::load(&source, Some(&config.data_dir.join("cache")))
        .map_err(|error| Error::Ontology { origin, error })
}

/// Loads everything the node serves from `config`.
pub fn boot(config: Config) -> Result<(AppState, BootReport)> {
    let data = &config.data_dir;
    let started = Instant::now();
    let (ontology, report) = load_ontology(&config)?;
    let ontology_time = started.elapsed();
    let started = Instant::now();
    let autocomplete =
        Autocomplete::open(&ontology, Some(&data.join("search")), &report.fingerprint)?;
    let boot = BootReport {
        ontology_from_cache: report.from_cache,
        ontology_time,
        index_built: autocomplete.was_built(),
        index_time: started.elapsed(),
        cache_problem: report.cache_problem,
    };
    let kv = std::sync::Arc::new(crate::store::SledStore::open(&data.join("db"))?);
    let state = AppState::new(config, ontology, autocomplete, kv)?;
    crate::erasure::resume(&state)?;
    Ok((state, boot))
}

fn ensure_writable(dir: &Path) -> Result<()> {
    let err = |error| Error::DataDir {
        path: dir.to_owned(),
        error,
    };
    crate::files::private_by_default();
    std::fs::create_dir_all(dir).map_err(err)?;
    match crate::files::make_private(dir) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            path = %dir.display(),
            entries = n,
            "the data folder was readable by other users of this machine; made it private (folders 0700, files 0600)"
        ),
        Err(e) => return Err(err(e)),
    }
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}
