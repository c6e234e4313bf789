//! The `raremesh` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use raremesh::config::{self, Config};

/// raremesh: a self-hosted, federated node for rare-disease patient organizations.
#[derive(Debug, Parser)]
#[command(name = "raremesh", version, about)]
struct Cli {
    /// The configuration file (TOML). Without one, built-in defaults apply; any key can
    /// also be set with RAREMESH_<SECTION>__<KEY> environment variables.
    #[arg(long, short, global = true, env = "RAREMESH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node: web UI and JSON API.
    Serve,
    /// Check a configuration file (and the environment overrides) without starting.
    CheckConfig {
        /// The file to check (default: --config).
        path: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve => serve(cli.config.as_deref()),
        Command::CheckConfig { path } => check_config(path.as_deref().or(cli.config.as_deref())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once (library errors often repeat their cause).
fn message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg = format!("{msg}: {c}");
        }
    }
    msg
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(config::load(path, std::env::vars())?)
}

fn check_config(path: Option<&Path>) -> anyhow::Result<()> {
    let config = load_config(path)?;
    println!(
        "{}: configuration is valid\n\n{}",
        path.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string()),
        config.summary()
    );
    Ok(())
}

fn serve(path: Option<&Path>) -> anyhow::Result<()> {
    let config = load_config(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .context("log.level")?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let bind = config.server.bind;
    let (state, report) = raremesh::boot::boot(config)?;
    let v = state.ontology.version();
    tracing::info!(
        hpo = %v.hpo,
        annotations = %v.annotations,
        from_cache = report.ontology_from_cache,
        ms = report.ontology_time.as_millis() as u64,
        "ontology loaded"
    );
    tracing::info!(
        built = report.index_built,
        ms = report.index_time.as_millis() as u64,
        "search index ready"
    );
    if let Some(problem) = &report.cache_problem {
        tracing::warn!(%problem, "ontology cache");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("server.bind: cannot listen on {bind}"))?;
        tracing::info!("raremesh listening on http://{}", listener.local_addr()?);
        raremesh::serve::serve(listener, state).await?;
        anyhow::Ok(())
    })
}
