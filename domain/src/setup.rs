//! First-run setup of a node: `raremesh setup` writes a commented configuration file, the
//! node's keys, the application service registration its homeserver loads, and the first
//! admin, and says what to add to the homeserver's configuration. `raremesh federation
//! add-peer` trusts a partner from the block its admin sends (what `federation whoami`
//! prints). Both check what they write with the same loader `serve` uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::accounts::{Account, Accounts, Role};
use crate::config::{self, Config, PeerConfig};
use crate::store::{KvStore, SledStore};

/// Why setup or add-peer cannot go on (the message says what to do).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An answer is not usable.
    #[error("{0}")]
    Answer(String),
    /// A file already exists and would be overwritten.
    #[error("{} exists already; setup does not overwrite it (move it away, or edit it)", .0.display())]
    Exists(PathBuf),
    /// What was written does not load as `serve` would load it.
    #[error("the configuration written does not load: {0}")]
    Config(#[from] config::ConfigError),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
}

/// What an organization's admin answers (by flags or at the prompts).
#[derive(Debug, Clone)]
pub struct Answers {
    /// The organization's name.
    pub name: String,
    /// The address members use, e.g. `https://rare.example.org`.
    pub public_url: String,
    /// Where the node listens.
    pub bind: SocketAddr,
    /// The data folder (written as an absolute path).
    pub data_dir: PathBuf,
    /// The first admin's email address.
    pub admin_email: String,
    /// The reverse proxies in front of the node (`server.trusted_proxies`).
    pub trusted_proxies: Vec<String>,
    /// The federation over Matrix, if the organization has a homeserver.
    pub federation: Option<FederationAnswers>,
}

/// The organization's homeserver.
#[derive(Debug, Clone)]
pub struct FederationAnswers {
    /// The homeserver's client-server API, e.g. `http://127.0.0.1:8008`.
    pub homeserver_url: String,
    /// The homeserver's name (the part after `:` in its user ids).
    pub server_name: String,
    /// Where the homeserver reaches this node (default: the public address).
    pub node_url_for_homeserver: String,
}

/// What setup wrote.
#[derive(Debug)]
pub struct Written {
    /// The configuration file.
    pub config: PathBuf,
    /// The registration file, with federation.
    pub registration: Option<PathBuf>,
    /// The lines to add to the homeserver's configuration, with federation.
    pub homeserver_lines: Option<String>,
    /// The block partners add to trust this node, with federation.
    pub whoami: Option<String>,
    /// The first admin.
    pub admin: Account,
    /// The admin's password, when it was generated (shown once).
    pub generated_password: Option<String>,
}

fn toml_str(s: &str) -> String {
    // A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace('\u{7f}', "\\u007F")
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> SetupError + '_ {
    move |e| SetupError::Io(format!("{}: {e}", what.display()))
}

/// Writes `text` to a new file readable by its owner only; refuses to overwrite.
fn write_new(path: &Path, text: &str) -> Result<(), SetupError> {
    crate::files::write_new_private(path, text.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            SetupError::Exists(path.to_owned())
        } else {
            io(path)(e)
        }
    })
}

fn token() -> Result<String, SetupError> {
    crate::ids::random_token().map_err(|e| SetupError::Io(e.to_string()))
}

/// The configuration file for `answers`, with comments, and the tokens it holds.
pub fn config_text(answers: &Answers) -> Result<String, SetupError> {
    let mut t = String::new();
    t.push_str(
        "# raremesh configuration, written by `raremesh setup`.\n\
         # Every key is documented in config.example.toml; check this file with\n\
         # `raremesh check-config <this file>`. It holds secrets: keep it readable by the\n\
         # node's user only.\n\n",
    );
    t.push_str(
        "# Where the node keeps everything it stores (back it up: `raremesh admin backup`).\n",
    );
    t.push_str(&format!(
        "data_dir = {}\n\n",
        toml_str(&answers.data_dir.display().to_string())
    ));
    t.push_str("[node]\n# The organization's name, shown on every page.\n");
    t.push_str(&format!("name = {}\n\n", toml_str(&answers.name)));
    t.push_str("[server]\n# Where the node listens (behind a TLS reverse proxy in production).\n");
    t.push_str(&format!("bind = {}\n", toml_str(&answers.bind.to_string())));
    t.push_str("# The address members use, for links in mail; https:// marks cookies Secure.\n");
    t.push_str(&format!("public_url = {}\n", toml_str(&answers.public_url)));
    if !answers.trusted_proxies.is_empty() {
        let list: Vec<String> = answers
            .trusted_proxies
            .iter()
            .map(|p| toml_str(p))
            .collect();
        t.push_str(&format!(
            "# The reverse proxy in front of the node: members are told apart by the address it\n# forwards, and every connection comes from it.\ntrusted_proxies = [{}]\nmax_connections_per_ip = 512\n",
            list.join(", ")
        ));
    }
    t.push('\n');
    t.push_str(
        "[metrics]\n# The bearer token Prometheus sends to scrape /metrics (see docker/prometheus.yml).\n",
    );
    t.push_str(&format!("token = {}\n\n", toml_str(&token()?)));
    match &answers.federation {
        Some(f) => {
            t.push_str("[federation]\n# The node is an application service of this homeserver; the registration file\n# written next to this one tells the homeserver the same tokens.\nenabled = true\n");
            t.push_str(&format!(
                "homeserver_url = {}\n",
                toml_str(&f.homeserver_url)
            ));
            t.push_str(&format!("server_name = {}\n", toml_str(&f.server_name)));
            t.push_str("# The tokens of the registration (never printed or logged).\n");
            t.push_str(&format!("as_token = {}\n", toml_str(&token()?)));
            t.push_str(&format!("hs_token = {}\n", toml_str(&token()?)));
            t.push_str(
                "# Partners are added with `raremesh --config <this file> federation add-peer`,\n\
                 # from the block their admin sends (`raremesh federation whoami` prints yours).\n",
            );
        }
        None => t.push_str(
            "[federation]\n# Off: the node serves its members alone. Run `raremesh setup` again in another\n# folder with --homeserver-url to see what federation needs.\nenabled = false\n",
        ),
    }
    Ok(t)
}

/// Checks the answers before anything is written.
fn check(answers: &Answers) -> Result<(), SetupError> {
    let bad = |m: String| Err(SetupError::Answer(m));
    if answers.name.trim().is_empty() {
        return bad("the organization's name is empty".into());
    }
    if !answers.admin_email.contains('@') {
        return bad(format!(
            "{:?} is not an email address (the first admin's)",
            answers.admin_email
        ));
    }
    if let Some(f) = &answers.federation {
        for (what, url) in [
            ("the homeserver's address", &f.homeserver_url),
            (
                "the node's address for the homeserver",
                &f.node_url_for_homeserver,
            ),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(format!(
                    "{what} {url:?} must start with http:// or https://"
                ));
            }
        }
    }
    Ok(())
}

/// Writes the configuration as `config_path`, the registration next to it, the node's
/// keys and the first admin (with `password`, or a generated one).
pub fn write(
    answers: &Answers,
    config_path: &Path,
    password: Option<String>,
) -> Result<Written, SetupError> {
    check(answers)?;
    let registration_path = config_path.with_file_name("raremesh-registration.yaml");
    if config_path.exists() {
        return Err(SetupError::Exists(config_path.to_owned()));
    }
    if answers.federation.is_some() && registration_path.exists() {
        return Err(SetupError::Exists(registration_path));
    }
    let text = config_text(answers)?;
    // Loaded exactly as `serve` would, before anything is written.
    let config = config::load_str(&text, &config_path.display().to_string(), [])?;
    config.federation.check()?;
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(&config.data_dir).map_err(io(&config.data_dir))?;
    let (password, generated) = match password {
        Some(p) => (p, None),
        None => {
            let p = crate::accounts::password::generate().map_err(SetupError::Io)?;
            (p.clone(), Some(p))
        }
    };
    // The admin first: a refused password leaves no file behind.
    let admin =
        create_user(&config, &answers.admin_email, Role::Admin, &password).map_err(|e| {
            SetupError::Answer(format!(
                "the first admin, in {}: {e}",
                config.data_dir.display()
            ))
        })?;
    write_new(config_path, &text)?;
    let (mut registration, mut homeserver_lines, mut whoami_block) = (None, None, None);
    if let Some(f) = &answers.federation {
        let keys = crate::federation::Keys::open_or_create(&config.federation_path())
            .map_err(|e| SetupError::Io(e.to_string()))?;
        let fc = &config.federation;
        let yaml = raremesh_bridge::registration::registration_yaml(
            &raremesh_bridge::registration::RegistrationSpec {
                url: &f.node_url_for_homeserver,
                as_token: fc.as_token.expose(),
                hs_token: fc.hs_token.expose(),
                sender_localpart: &fc.sender_localpart,
                server_name: fc.server_name.trim(),
            },
        )
        .map_err(|e| SetupError::Io(e.to_string()))?;
        write_new(&registration_path, &yaml)?;
        let shown = std::fs::canonicalize(&registration_path).unwrap_or(registration_path.clone());
        homeserver_lines = Some(homeserver_lines_for(&shown));
        whoami_block = Some(whoami(&config, &keys.public_key()));
        registration = Some(registration_path);
    }
    Ok(Written {
        config: config_path.to_owned(),
        registration,
        homeserver_lines,
        whoami: whoami_block,
        admin,
        generated_password: generated,
    })
}

/// What to add to Synapse's `homeserver.yaml` for the registration at `path`.
pub fn homeserver_lines_for(path: &Path) -> String {
    format!(
        "app_service_config_files:\n  - {}\n# Optional: the node's partners get changes within seconds after an outage\n# (Synapse otherwise waits up to a minute before retrying a homeserver that was down).\nfederation:\n  max_long_retry_delay: 5s",
        serde_json::to_string(&path.display().to_string()).unwrap_or_default()
    )
}

/// The block a partner's admin adds to trust this node.
pub fn whoami(config: &Config, public_key: &str) -> String {
    format!(
        "[[federation.peers]]\nname = {}\nuser_id = {}\nage_key = {}",
        toml_str(&config.node.name),
        toml_str(&config.federation.user_id()),
        toml_str(public_key)
    )
}

/// Creates an account (and, for a member, the member record that lets them add patients).
pub fn create_user(
    config: &Config,
    email: &str,
    role: Role,
    password: &str,
) -> Result<Account, String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("data_dir {}: {e}", config.data_dir.display()))?;
    let store: std::sync::Arc<dyn KvStore> = std::sync::Arc::new(
        SledStore::open(&config.data_dir.join("db")).map_err(|e| e.to_string())?,
    );
    let accounts = Accounts::new(store.clone());
    let account = accounts
        .create(email, password, role, true)
        .map_err(|e| e.to_string())?;
    if role == Role::Member {
        // A member account can add patients at once; the member completes the rest
        // (name, country, language) on their profile page.
        let registrations = crate::registration::Registrations::new(store, Default::default());
        registrations
            .save_member(&crate::registration::Member {
                account_id: account.id.clone(),
                info: crate::registration::PersonalInfo {
                    name: account
                        .email
                        .split('@')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    email: account.email.clone(),
                    country: String::new(),
                    language: "en".to_owned(),
                    registrant: crate::registration::Registrant::Caregiver,
                },
                step: 2,
                consents: Default::default(),
                matrix: None,
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(account)
}

/// Adds a partner to the configuration file at `config_path` from the block its admin
/// sent: checked (a `[[federation.peers]]` block with a name, a Matrix user id and an age
/// key; not already trusted), appended, and the whole file loaded again as `serve` would;
/// when that fails the file is left as it was. The partner as added.
pub fn add_peer(config_path: &Path, block: &str) -> Result<PeerConfig, SetupError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Block {
        federation: Peers,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Peers {
        peers: Vec<PeerConfig>,
    }
    let parsed: Block = toml::from_str(block).map_err(|e| {
        SetupError::Answer(format!(
            "the partner's block is not what `raremesh federation whoami` prints: {e}"
        ))
    })?;
    let [peer] = <[PeerConfig; 1]>::try_from(parsed.federation.peers).map_err(|_| {
        SetupError::Answer("the block must hold exactly one [[federation.peers]]".into())
    })?;
    // Checked on its own too: with federation off, the file's checks skip the peers.
    if peer.name.trim().is_empty() {
        return Err(SetupError::Answer("the partner's name is empty".into()));
    }
    raremesh_bridge::client::parse_id::<raremesh_bridge::ruma::OwnedUserId>(
        "the partner's user_id",
        &peer.user_id,
    )
    .map_err(|e| SetupError::Answer(e.to_string()))?;
    peer.age_key
        .trim()
        .parse::<age::x25519::Recipient>()
        .map_err(|_| {
            SetupError::Answer(format!(
                "the partner's age_key {:?} is not an age public key (age1...)",
                peer.age_key
            ))
        })?;
    let before = std::fs::read_to_string(config_path).map_err(io(config_path))?;
    let config = config::load_str(&before, &config_path.display().to_string(), [])?;
    if config
        .federation
        .peers
        .iter()
        .any(|p| p.user_id == peer.user_id)
    {
        return Err(SetupError::Answer(format!(
            "{} is already a partner in {}",
            peer.user_id,
            config_path.display()
        )));
    }
    let addition = format!(
        "\n# Added by `raremesh federation add-peer`.\n[[federation.peers]]\nname = {}\nuser_id = {}\nage_key = {}\n",
        toml_str(&peer.name),
        toml_str(&peer.user_id),
        toml_str(peer.age_key.trim())
    );
    let mut after = before.clone();
    if !after.ends_with('\n') {
        after.push('\n');
    }
    after.push_str(&addition);
    let loaded = config::load_str(&after, &config_path.display().to_string(), [])?;
    loaded.federation.check()?;
    let tmp = config_path.with_extension("toml.new");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, &after)?;
    // The same mode as the file it replaces.
    if let Ok(meta) = std::fs::metadata(config_path) {
        std::fs::set_permissions(&tmp, meta.permissions()).map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, config_path).map_err(io(config_path))?;
    Ok(peer)
}

/// What the admin gave as flags; what is missing is asked for (or refused with
/// `--non-interactive`).
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// The organization's name.
    pub name: Option<String>,
    /// The address members use.
    pub public_url: Option<String>,
    /// Where the node listens.
    pub bind: Option<SocketAddr>,
    /// The data folder.
    pub data_dir: Option<PathBuf>,
    /// The first admin's email address.
    pub admin_email: Option<String>,
    /// The homeserver's client-server API (none: no federation).
    pub homeserver_url: Option<String>,
    /// The homeserver's name.
    pub server_name: Option<String>,
    /// Where the homeserver reaches the node.
    pub node_url_for_homeserver: Option<String>,
    /// No federation, and no question about it.
    pub no_federation: bool,
    /// The reverse proxies in front of the node (not asked for).
    pub trusted_proxies: Vec<String>,
}

/// The answers: the flags, then (unless `interactive` is false) a question on `prompt` for
/// each one missing, answered by a line of `input` (an empty line takes the default shown
/// in brackets). `folder` is where the configuration goes (the data folder's default is
/// `data` in it).
pub fn answers(
    given: Given,
    folder: &Path,
    interactive: bool,
    input: &mut dyn std::io::BufRead,
    prompt: &mut dyn std::io::Write,
) -> Result<Answers, SetupError> {
    let mut ask = |question: &str, default: Option<&str>| -> Result<String, SetupError> {
        if !interactive {
            return default.map(str::to_owned).ok_or_else(|| {
                SetupError::Answer(format!("--non-interactive: {question} is needed"))
            });
        }
        let shown = default.map(|d| format!(" [{d}]")).unwrap_or_default();
        let _ = write!(prompt, "{question}{shown}: ");
        let _ = prompt.flush();
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(|e| SetupError::Io(format!("reading an answer: {e}")))?;
        let line = line.trim();
        match (line.is_empty(), default) {
            (false, _) => Ok(line.to_owned()),
            (true, Some(d)) => Ok(d.to_owned()),
            (true, None) => Err(SetupError::Answer(format!("{question}: no answer"))),
        }
    };
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_owned());
    let name = match given.name {
        Some(n) => n,
        None => ask("The organization's name (--name)", None)?,
    };
    let public_url = match given.public_url {
        Some(u) => u,
        None => ask(
            "The address members use, e.g. https://rare.example.org (--public-url)",
            Some("http://127.0.0.1:8080"),
        )?,
    };
    let bind = match given.bind {
        Some(b) => b,
        None => ask("Where the node listens (--bind)", Some("127.0.0.1:8080"))?
            .parse()
            .map_err(|e| SetupError::Answer(format!("the address to listen on: {e}")))?,
    };
    let data_dir = match given.data_dir {
        Some(d) => d,
        None => {
            let default = folder.join("data").display().to_string();
            PathBuf::from(ask("The data folder (--data-dir)", Some(&default))?)
        }
    };
    let data_dir = if data_dir.is_absolute() {
        data_dir
    } else {
        folder.join(data_dir)
    };
    let admin_email = match given.admin_email {
        Some(e) => e,
        None => ask("The first admin's email address (--admin-email)", None)?,
    };
    let homeserver_url = if given.no_federation {
        None
    } else {
        match given.homeserver_url {
            Some(u) => Some(u),
            None if interactive => Some(ask(
                "The Matrix homeserver's address, e.g. http://127.0.0.1:8008; \"none\" for no federation (--homeserver-url)",
                Some("none"),
            )?)
            .filter(|u| u != "none"),
            None => None,
        }
    };
    let federation = match homeserver_url {
        None => None,
        Some(homeserver_url) => {
            let server_name = match given.server_name {
                Some(s) => s,
                None => ask(
                    "The homeserver's name, the part after ':' in its user ids (--server-name)",
                    None,
                )?,
            };
            let node_url_for_homeserver = match given.node_url_for_homeserver {
                Some(u) => u,
                None => {
                    let default = format!("http://{bind}");
                    ask(
                        "Where the homeserver reaches this node (--node-url-for-homeserver)",
                        Some(&default),
                    )?
                }
            };
            Some(FederationAnswers {
                homeserver_url,
                server_name,
                node_url_for_homeserver,
            })
        }
    };
    Ok(Answers {
        name,
        public_url,
        bind,
        data_dir,
        admin_email,
        trusted_proxies: given.trusted_proxies,
        federation,
    })
}
