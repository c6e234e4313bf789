//! The `raremesh` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// Prints a line to standard output; a reader that went away (`| head -1`) ends the
/// program quietly instead of a panic.
macro_rules! say {
    ($($t:tt)*) => { $crate::emit(format_args!($($t)*), true) };
}

/// The same, without the line end.
macro_rules! say_on {
    ($($t:tt)*) => { $crate::emit(format_args!($($t)*), false) };
}

/// mimalloc returns freed memory to the system: a node that received hundreds of thousands
/// of partners' vectors (transactions of megabytes, a matching pool rebuilt) keeps far
/// less than with the C library's allocator (`docs/performance.md#many-partners`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod federation_command;
mod phenopacket_command;
mod setup_command;

fn emit(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}
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
    /// First run: write a commented configuration file, the node's keys, the Matrix
    /// homeserver's registration file and the first admin; print what to add to the
    /// homeserver's configuration. Asks for what the flags do not give.
    Setup(setup_command::SetupArgs),
    /// Check a configuration file (and the environment overrides) without starting.
    CheckConfig {
        /// The file to check (default: --config).
        path: Option<PathBuf>,
    },
    /// Administration: accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Federation: what peers need to know, and the homeserver registration.
    #[command(subcommand)]
    Federation(FederationCommand),
    /// Rank candidate profiles for each query profile (JSON lines in, JSON lines out).
    ///
    /// Each input line: {"id": "...", "terms": ["HP:0001250", ...], "excluded": [...]}
    /// ("excluded" optional). Each output line: {"query": "<id>", "results": [{"id":
    /// "<candidate id>", "score": <number>}, ...]}, best first. Lines that cannot be used
    /// are reported on standard error with their line number and skipped.
    Match {
        /// The candidates (JSON lines).
        #[arg(long)]
        candidates: PathBuf,
        /// The queries (JSON lines).
        #[arg(long)]
        queries: PathBuf,
        /// Results per query.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        top: u32,
        /// The similarity measure: raremesh (the default), resnik-bma, lin-funsimavg, ...
        #[arg(long, default_value = "raremesh")]
        measure: String,
        /// Stop, writing nothing, at the first line that cannot be used.
        #[arg(long)]
        strict: bool,
        /// Explain each result with up to N pairs of terms ("why"), 0 for none.
        #[arg(long, default_value_t = 0)]
        explain: usize,
        /// Compute information content from the candidates instead of the ORPHA annotations.
        #[arg(long)]
        ic_from_candidates: bool,
    },
}

#[derive(Debug, Subcommand)]
enum FederationCommand {
    /// Print what another node's admin adds to their config to trust this node (creates
    /// the node's federation keys on first use).
    Whoami,
    /// Print the application service registration to add to the homeserver's
    /// `app_service_config_files` (it holds the two tokens: keep it private).
    Registration {
        /// The address at which the homeserver reaches this node, e.g.
        /// `http://127.0.0.1:8080`. Default: `server.public_url`.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print two new random tokens for `federation.as_token` and `federation.hs_token`.
    Tokens,
    /// Trust a partner: add the block its admin sent (what `federation whoami` prints on
    /// their node) to this node's configuration file (--config), checked; restart the
    /// node afterwards.
    AddPeer {
        /// A file holding the block, or `-` for standard input.
        block: PathBuf,
    },
    /// Is federation healthy? Each peer, its rooms, the last event from it, the last sent,
    /// the queues, the last error, the sync, whether the homeserver answers. Reads what
    /// the running node writes every few seconds; exits with 1 when not healthy.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account, e.g. the first admin: `raremesh admin create-user --email
    /// you@example.org --role admin`. Run it while the node is stopped.
    CreateUser {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// member, validator, admin or researcher.
        #[arg(long, default_value = "member")]
        role: String,
        /// Read the password from the first line of standard input; without this flag a
        /// strong password is generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Export, for an approved study, the validated patients of members who consent to
    /// research: a GA4GH Phenopacket v2 and the questionnaire answers each, under
    /// pseudonyms stable within the study (JSON lines). Run it while the node is stopped.
    ExportStudy {
        /// The study's name (pseudonyms differ from one study to another).
        #[arg(long)]
        study: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a backup of the node: the database, documents and keys, in one compressed
    /// archive. Works while the node is running (it makes the copy; writes wait only
    /// while the database is dumped) and while it is stopped.
    Backup {
        /// The archive to write (replaced if it exists; written under FILE.part first).
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the archive to this age recipient (`age1...`); may be repeated. Keep
        /// the matching identity apart from the backups.
        #[arg(long = "encrypt-to", value_name = "RECIPIENT")]
        encrypt_to: Vec<String>,
    },
    /// Restore a backup into an empty data folder (`data_dir`), then start the node on it.
    Restore {
        /// The archive `admin backup` wrote.
        archive: PathBuf,
        /// The age identity file to decrypt an encrypted archive with.
        #[arg(long)]
        identity: Option<PathBuf>,
    },
    /// Import GA4GH Phenopackets (the .json files of DIR) into the patients they name
    /// (`subject.id`, else `id`: the patient's id, as this node exports it). Shows what
    /// each file would add; `--apply` imports them (each whole or not at all, audited).
    /// Run it while the node is stopped.
    ImportPhenopackets {
        /// The folder of packets.
        dir: PathBuf,
        /// Import; without it, nothing is saved.
        #[arg(long)]
        apply: bool,
    },
    /// Fill an empty node with simulated, validated patients and one member who can sign
    /// in (to try "people like me", and for benchmarks). Refused when the node has
    /// members. Run it while the node is stopped.
    DemoData {
        /// How many simulated patients.
        #[arg(long, default_value_t = 1000)]
        patients: usize,
        /// The email address of the member who signs in.
        #[arg(long, default_value = "demo@example.org")]
        email: String,
        /// Read that member's password from standard input; otherwise one is generated
        /// and printed.
        #[arg(long)]
        password_stdin: bool,
        /// Which simulated population (give each node of a trial its own number).
        #[arg(long, default_value_t = 0x5EED)]
        seed: u64,
        /// The simulated members do not consent to matching with partner organizations or
        /// to research (by default they do, so that a trial across nodes shows something).
        #[arg(long)]
        no_sharing: bool,
    },
}

fn main() -> ExitCode {
    // Keys, the database and mails are for the node's user only.
    raremesh::files::private_by_default();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve => serve(cli.config.as_deref()),
        Command::Setup(args) => setup_command::setup(args),
        Command::Federation(FederationCommand::AddPeer { block }) => {
            setup_command::add_peer(cli.config.as_deref(), block)
        }
        Command::CheckConfig { path } => check_config(path.as_deref().or(cli.config.as_deref())),
        Command::Admin(AdminCommand::CreateUser {
            email,
            role,
            password_stdin,
        }) => create_user(cli.config.as_deref(), email, role, *password_stdin),
        Command::Federation(FederationCommand::Whoami) => {
            federation_command::whoami(cli.config.as_deref())
        }
        Command::Federation(FederationCommand::Registration { url }) => {
            federation_command::registration(cli.config.as_deref(), url.as_deref())
        }
        Command::Federation(FederationCommand::Tokens) => federation_command::tokens(),
        Command::Federation(FederationCommand::Status { json }) => {
            federation_command::status(cli.config.as_deref(), *json)
        }
        Command::Admin(AdminCommand::Backup { out, encrypt_to }) => {
            backup(cli.config.as_deref(), out, encrypt_to)
        }
        Command::Admin(AdminCommand::Restore { archive, identity }) => {
            restore(cli.config.as_deref(), archive, identity.as_deref())
        }
        Command::Admin(AdminCommand::ImportPhenopackets { dir, apply }) => {
            phenopacket_command::import(cli.config.as_deref(), dir, *apply)
        }
        Command::Admin(AdminCommand::ExportStudy { study, out }) => {
            export_study(cli.config.as_deref(), study, out)
        }
        Command::Admin(AdminCommand::DemoData {
            patients,
            email,
            password_stdin,
            seed,
            no_sharing,
        }) => demo_data(
            cli.config.as_deref(),
            *patients,
            email,
            *password_stdin,
            (*seed, !*no_sharing),
        ),
        Command::Match {
            candidates,
            queries,
            top,
            measure,
            strict,
            explain,
            ic_from_candidates,
        } => match_files(
            cli.config.as_deref(),
            candidates,
            queries,
            *top as usize,
            measure,
            *strict,
            *explain,
            *ic_from_candidates,
        ),
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
    if let Err(e) = config.federation.check() {
        anyhow::bail!("{e}\n(the node would start and serve its members, without federation)");
    }
    say!(
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
    // Colours only on a terminal: a log file or the journal gets plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
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

#[allow(clippy::too_many_arguments)]
fn match_files(
    config: Option<&Path>,
    candidates: &Path,
    queries: &Path,
    top: usize,
    measure: &str,
    strict: bool,
    explain: usize,
    ic_from_candidates: bool,
) -> anyhow::Result<()> {
    use raremesh::batch;
    let measure: raremesh_search::matching::Measure = measure.parse()?;
    let config = load_config(config)?;
    let (ontology, _) = raremesh::boot::load_ontology(&config)?;
    let read = |path: &Path| -> anyhow::Result<batch::Profiles> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let label = path.display().to_string();
        let profiles = batch::read_profiles(&ontology, &label, std::io::BufReader::new(file))
            .with_context(|| format!("{label}: cannot read"))?;
        for e in &profiles.skipped {
            eprintln!("{e}{}", if strict { "" } else { " (skipped)" });
        }
        Ok(profiles)
    };
    let candidates = read(candidates)?;
    let queries = read(queries)?;
    let skipped = candidates.skipped.len() + queries.skipped.len();
    if strict && skipped > 0 {
        anyhow::bail!("{skipped} line(s) cannot be used (--strict): nothing was ranked");
    }
    let options = batch::Options {
        top,
        measure,
        explain,
        ic_from_candidates,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    batch::run(&ontology, &candidates, &queries, options, &mut out).context("writing results")?;
    eprintln!(
        "ranked {} candidates for {} queries with {measure}{}",
        candidates.profiles.len(),
        queries.profiles.len(),
        if skipped > 0 {
            format!("; {skipped} line(s) skipped")
        } else {
            String::new()
        }
    );
    Ok(())
}

fn backup(config: Option<&Path>, out: &Path, encrypt_to: &[String]) -> anyhow::Result<()> {
    let config = load_config(config)?;
    let started = std::time::Instant::now();
    let w = raremesh::backup::to_file(&config.data_dir, out, encrypt_to)?;
    say!(
        "backup of {} ({}) written to {}: {} records, {} files ({:.1} MB), {:.1} MB{} in {:.1} s",
        config.data_dir.display(),
        if w.from_running_node {
            "made by the running node"
        } else {
            "node stopped"
        },
        out.display(),
        w.summary.records,
        w.summary.files,
        w.summary.file_bytes as f64 / 1e6,
        w.bytes as f64 / 1e6,
        if encrypt_to.is_empty() {
            ""
        } else {
            ", encrypted"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn restore(config: Option<&Path>, archive: &Path, identity: Option<&Path>) -> anyhow::Result<()> {
    let config = load_config(config)?;
    let started = std::time::Instant::now();
    let (manifest, summary) = raremesh::backup::from_file(archive, identity, &config.data_dir)?;
    raremesh::files::make_private(&config.data_dir)
        .with_context(|| format!("data_dir: {}", config.data_dir.display()))?;
    say!(
        "restored into {}: {} records, {} files ({:.1} MB), written by raremesh {} at {} (unix time), in {:.1} s",
        config.data_dir.display(),
        summary.records,
        summary.files,
        summary.file_bytes as f64 / 1e6,
        manifest.node_version,
        manifest.created_at,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn export_study(config: Option<&Path>, study: &str, out: &Path) -> anyhow::Result<()> {
    let study = study.trim();
    if study.is_empty() || study.chars().count() > 100 {
        anyhow::bail!("--study must be 1 to 100 characters");
    }
    let config = load_config(config)?;
    let (state, _) = raremesh::boot::boot(config)?;
    let records =
        raremesh::research::study::export(state.counting(), &state.config.data_dir, study)?;
    let mut text = String::new();
    for r in &records {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    say!("{} patients exported to {}", records.len(), out.display());
    Ok(())
}

fn read_or_generate_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((
            raremesh::accounts::password::generate().map_err(anyhow::Error::msg)?,
            true,
        ))
    }
}

fn demo_data(
    config: Option<&Path>,
    patients: usize,
    email: &str,
    password_stdin: bool,
    (seed, share): (u64, bool),
) -> anyhow::Result<()> {
    let config = load_config(config)?;
    let (password, generated) = read_or_generate_password(password_stdin)?;
    let (state, _) = raremesh::boot::boot(config)?;
    let started = std::time::Instant::now();
    let r = raremesh::demo::seed(&state, patients, email, &password, seed, share)?;
    say!(
        "added {} simulated validated patients in {:.1} s\nsign in as {} and open /patients/{}/similar",
        r.patients,
        started.elapsed().as_secs_f64(),
        r.email,
        r.patient_id
    );
    if generated {
        say!("password (shown once): {password}");
    }
    Ok(())
}

fn create_user(
    config: Option<&Path>,
    email: &str,
    role: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let role: raremesh::accounts::Role = role.parse().map_err(anyhow::Error::msg)?;
    let config = load_config(config)?;
    let (password, generated) = read_or_generate_password(password_stdin)?;
    let account = raremesh::setup::create_user(&config, email, role, &password)
        .map_err(anyhow::Error::msg)?;
    say!(
        "created {:?} account {} ({})",
        account.role,
        account.email,
        account.id
    );
    if generated {
        say!("password (shown once; change it after signing in): {password}");
    }
    Ok(())
}
