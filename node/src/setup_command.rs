//! `raremesh setup` and `raremesh federation add-peer` on the command line: the flags, the
//! questions on standard input, and what is printed (the work is in `raremesh::setup`).

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// The configuration file to write (refused if it exists); the registration goes
    /// next to it as raremesh-registration.yaml.
    #[arg(long, default_value = "raremesh.toml")]
    pub out: PathBuf,
    /// Ask nothing: every answer comes from the flags (--name and --admin-email at least).
    #[arg(long)]
    pub non_interactive: bool,
    /// The organization's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The address members use, e.g. https://rare.example.org.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Where the node listens, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub bind: Option<std::net::SocketAddr>,
    /// The data folder (default: `data` next to the configuration file).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The first admin's email address.
    #[arg(long)]
    pub admin_email: Option<String>,
    /// Read the first admin's password from the last line of standard input; without
    /// this flag a strong one is generated and printed once.
    #[arg(long)]
    pub admin_password_stdin: bool,
    /// The Matrix homeserver's client-server address, e.g. http://127.0.0.1:8008 (turns
    /// federation on).
    #[arg(long)]
    pub homeserver_url: Option<String>,
    /// The homeserver's name (the part after ':' in its user ids).
    #[arg(long)]
    pub server_name: Option<String>,
    /// Where the homeserver reaches this node (default: http://<bind>).
    #[arg(long)]
    pub node_url_for_homeserver: Option<String>,
    /// No federation (and no question about it).
    #[arg(long)]
    pub no_federation: bool,
    /// A reverse proxy in front of the node (an address or a network such as
    /// 172.16.0.0/12; may be repeated): members are told apart by the address it forwards.
    #[arg(long = "trusted-proxy", value_name = "NET")]
    pub trusted_proxies: Vec<String>,
}

pub fn setup(args: &SetupArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    // What `serve` would take from the environment (the container image sets both) is
    // the default here too, so that the two agree.
    let env_bind = std::env::var("RAREMESH_SERVER__BIND")
        .ok()
        .and_then(|b| b.parse().ok());
    let env_data = std::env::var_os("RAREMESH_DATA_DIR").map(PathBuf::from);
    let given = raremesh::setup::Given {
        name: args.name.clone(),
        public_url: args.public_url.clone(),
        bind: args.bind.or(env_bind),
        data_dir: args.data_dir.clone().or(env_data),
        admin_email: args.admin_email.clone(),
        homeserver_url: args.homeserver_url.clone(),
        server_name: args.server_name.clone(),
        node_url_for_homeserver: args.node_url_for_homeserver.clone(),
        no_federation: args.no_federation,
        trusted_proxies: args.trusted_proxies.clone(),
    };
    let folder = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).with_context(|| folder.display().to_string())?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let answers = raremesh::setup::answers(
        given,
        folder,
        !args.non_interactive,
        &mut input,
        &mut std::io::stderr(),
    )?;
    let password = if args.admin_password_stdin {
        if std::io::stdin().is_terminal() {
            eprint!("The first admin's password: ");
        }
        let mut line = String::new();
        std::io::BufRead::read_line(&mut input, &mut line)
            .context("reading the password from standard input")?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let w = raremesh::setup::write(&answers, &args.out, password)?;
    say!(
        "wrote {} (the configuration; it holds secrets: readable by you only)",
        w.config.display()
    );
    say!("created the first admin {} ({})", w.admin.email, w.admin.id);
    if let Some(p) = &w.generated_password {
        say!("  password (shown once; change it after signing in): {p}");
    }
    if let (Some(reg), Some(lines), Some(whoami)) =
        (&w.registration, &w.homeserver_lines, &w.whoami)
    {
        say!(
            "wrote {} (the homeserver's application service registration)\n\nAdd to the homeserver's configuration (Synapse: homeserver.yaml), then restart the homeserver:\n\n{lines}\n\nGive this block to each partner's admin; they run `raremesh --config <their file> federation add-peer <file>` with it (and you, with theirs):\n\n{whoami}\n",
            reg.display()
        );
    }
    say!(
        "Next: raremesh --config {0} check-config, then raremesh --config {0} serve",
        w.config.display()
    );
    Ok(())
}

pub fn add_peer(config: Option<&Path>, block: &Path) -> anyhow::Result<()> {
    let Some(config) = config else {
        anyhow::bail!("add-peer changes a configuration file: give it with --config FILE");
    };
    let text = if block == Path::new("-") {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .context("reading the block from standard input")?;
        t
    } else {
        std::fs::read_to_string(block).with_context(|| block.display().to_string())?
    };
    let peer = raremesh::setup::add_peer(config, &text)?;
    say!(
        "{} ({}) is now a partner in {}; restart the node for it to take effect",
        peer.name,
        peer.user_id,
        config.display()
    );
    Ok(())
}
