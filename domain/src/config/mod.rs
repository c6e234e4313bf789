//! The node configuration: one TOML file, environment overrides, defaults in code.
//!
//! Every key is documented here, on the struct; `config.example.toml` lists them all and a
//! test keeps it in sync. Loading fails with a message that names the key (and the line of
//! the file where TOML gives it).

mod beacon;
mod error;
mod federation;
mod load;
mod messages;
mod metrics;
mod mme;
pub mod net;
mod qa;
mod research;
mod secret;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use beacon::{BeaconClient, BeaconConfig};
pub use error::ConfigError;
pub use federation::{FederationConfig, PeerConfig, is_user_id};
pub use load::{ENV_PREFIX, load, load_str};
pub use messages::MessagesConfig;
pub use metrics::MetricsConfig;
pub use mme::{MmeClient, MmeConfig, MmeServer};
pub use qa::{QaConfig, Readers};
pub use research::{GroupConfig, ResearchConfig};
pub use secret::Secret;

/// The whole configuration of a node.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The folder where the node keeps everything it stores: its database, the caches of
    /// the ontology and search indexes. Created on first start. Relative paths are relative
    /// to the working directory.
    pub data_dir: PathBuf,
    /// The organization running this node.
    pub node: NodeConfig,
    /// The web server.
    pub server: ServerConfig,
    /// The Human Phenotype Ontology release in use.
    pub ontology: OntologyConfig,
    /// Symptom and disease search.
    pub search: SearchConfig,
    /// Logging.
    pub log: LogConfig,
    /// Mail to members (confirmation links, notifications).
    pub mail: MailConfig,
    /// The legal terms members accept in registration step 5.
    pub terms: TermsConfig,
    /// Validation documents: encryption, size and type limits.
    pub documents: DocumentsConfig,
    /// The federation with other organizations' nodes, over Matrix (off by default).
    pub federation: FederationConfig,
    /// Research questionnaires and what members see of the answers.
    pub research: ResearchConfig,
    /// Community questions: who is told about new ones, and how often.
    pub qa: QaConfig,
    /// Private messages between members: whether images may be added.
    pub messages: MessagesConfig,
    /// The Prometheus endpoint for monitoring (off by default).
    pub metrics: MetricsConfig,
    /// The GA4GH Beacon v2 endpoint for researchers' tools (off by default).
    pub beacon: BeaconConfig,
    /// The Matchmaker Exchange endpoint for clinicians' matchmakers (off by default).
    pub mme: MmeConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            node: NodeConfig::default(),
            server: ServerConfig::default(),
            ontology: OntologyConfig::default(),
            search: SearchConfig::default(),
            log: LogConfig::default(),
            mail: MailConfig::default(),
            terms: TermsConfig::default(),
            documents: DocumentsConfig::default(),
            federation: FederationConfig::default(),
            research: ResearchConfig::default(),
            qa: QaConfig::default(),
            messages: MessagesConfig::default(),
            metrics: MetricsConfig::default(),
            beacon: BeaconConfig::default(),
            mme: MmeConfig::default(),
        }
    }
}

/// Validation documents (signed consent, ID document, medical proof).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    /// The age identity file (a line `AGE-SECRET-KEY-1...`) validators' views are
    /// decrypted with; documents are always encrypted to its public key. When unset, the
    /// node uses `documents/identity.txt` in `data_dir`, created on first start. Keep a
    /// copy of this file somewhere safe: without it, no stored document can be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
    /// More age public keys (`age1...`) every document is also encrypted to, e.g. an
    /// offline key kept by the organization's board for recovery.
    pub recipients: Vec<String>,
    /// The largest file accepted, in bytes (1 KiB to 100 MiB); larger ones get a 413.
    pub max_bytes: u64,
    /// The file types accepted, recognized from the file's content (not its name):
    /// `application/pdf`, `image/jpeg`, `image/png`, `image/webp`, `image/heic`. Others get
    /// a 415.
    pub types: Vec<String>,
    /// The most documents one patient may have (1 to 100).
    pub max_per_patient: usize,
    /// The organization's own consent form (a PDF) offered on the documents page instead
    /// of the built-in one. Translations sit beside it, named by language
    /// (`consent.es.pdf`, `consent.fr.pdf` next to `consent.pdf`) and are offered to members
    /// of that language; the others get this file. When unset, the built-in form is shown
    /// in the member's language.
    pub consent_form: Option<PathBuf>,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            identity_file: None,
            recipients: Vec::new(),
            max_bytes: 10 * 1024 * 1024,
            types: vec![
                "application/pdf".to_owned(),
                "image/jpeg".to_owned(),
                "image/png".to_owned(),
            ],
            max_per_patient: 30,
            consent_form: None,
        }
    }
}

/// The legal terms members accept.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TermsConfig {
    /// The version of the terms (1 to 40 characters). Change it when the text changes:
    /// members are then asked to accept the new version.
    pub version: String,
    /// A plain-text file with the organization's terms (paragraphs separated by blank
    /// lines), read at start-up; translations beside it, named with the language
    /// (`terms.es.txt`, `terms.fr.txt` next to `terms.txt`), are shown to members of that
    /// language (the others see this file, marked). When unset, a short built-in text
    /// describing how the node handles data is shown, in English, Spanish or French.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl Default for TermsConfig {
    fn default() -> Self {
        Self {
            version: "1".to_owned(),
            file: None,
        }
    }
}

/// The organization running this node.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The organization's name, shown on every page (1 to 120 characters).
    pub name: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: "raremesh node".to_owned(),
        }
    }
}

/// The web server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address and port to listen on. Use `0.0.0.0:8080` to accept connections from
    /// other machines (normally behind a TLS reverse proxy).
    pub bind: SocketAddr,
    /// Seconds after which a request is answered with 408 (1 to 600).
    pub request_timeout_secs: u64,
    /// The address members use to reach the node, for links in mail. When it starts with
    /// `https://`, cookies are marked `Secure`.
    pub public_url: String,
    /// Connections open at once, in all (1 to 100000); more are closed at once. Keep it
    /// under the process's limit of open files (`ulimit -n`, often 1024).
    pub max_connections: usize,
    /// Connections open at once from one address (1 to `max_connections`). Behind a reverse
    /// proxy every connection comes from the proxy: set it to `max_connections`.
    pub max_connections_per_ip: usize,
    /// Seconds a connection may wait for the client's next bytes before it is closed (a
    /// request sent a byte at a time, a client gone; 1 to 3600). At least
    /// `request_timeout_secs` + 5 is used.
    pub idle_timeout_secs: u64,
    /// The reverse proxies in front of the node (addresses, or networks such as
    /// `172.16.0.0/12`). A request that comes from one of them is taken to be from the
    /// address its `X-Forwarded-For` names (the last one not itself a proxy), for sign-in
    /// throttling. Empty: the connection's own address counts, and the header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_secs: 30,
            public_url: "http://127.0.0.1:8080".to_owned(),
            max_connections: 512,
            max_connections_per_ip: 64,
            idle_timeout_secs: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// The trusted proxies, parsed (the entries that do not parse are refused by the
    /// configuration's checks, so none are left out here).
    pub fn proxies(&self) -> Vec<crate::config::net::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The connection limits to serve with.
    pub fn limits(&self) -> crate::config::net::Limits {
        crate::config::net::Limits {
            max: self.max_connections,
            per_ip: self.max_connections_per_ip,
            idle: std::time::Duration::from_secs(
                self.idle_timeout_secs.max(self.request_timeout_secs + 5),
            ),
        }
    }
}

/// The Human Phenotype Ontology release in use.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OntologyConfig {
    /// A folder with a newer official HPO release: `hp.obo` and `phenotype.hpoa` (plain or
    /// `.gz`), and any translations as `hp-<lang>.babelon.tsv` (with
    /// `hp-<lang>.synonyms.tsv`), in the folder or its `translations/`. When unset, the
    /// release shipped with raremesh (2025-01-16, with its de/es/fr/it/pt translations) is
    /// used. The files are parsed on the first start and cached in `data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// Symptom and disease search.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// How many suggestions a search returns when the request does not say (1 to `max_limit`).
    pub default_limit: usize,
    /// The most suggestions a search may return (1 to 50).
    pub max_limit: usize,
    /// The longest query accepted, in characters; longer ones get a 400 (16 to 1000).
    pub max_query_chars: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            default_limit: 10,
            max_limit: 50,
            max_query_chars: 200,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or per-module
    /// directives such as `info,raremesh=debug`. `RUST_LOG`, when set, wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
        }
    }
}

/// Mail to members.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The sender of every message, e.g. `"Rare Org <noreply@rare.example.org>"`.
    pub from: String,
    /// Where messages are written, one `.eml` file each, when no SMTP server is configured.
    /// Relative paths are inside `data_dir`.
    pub outbox_dir: PathBuf,
    /// An SMTP server to send through. When this section is absent, messages go to the
    /// outbox folder instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "raremesh <noreply@localhost>".to_owned(),
            outbox_dir: PathBuf::from("outbox"),
            smtp: None,
        }
    }
}

/// An SMTP server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name.
    pub host: String,
    /// The port; 587 for STARTTLS, 465 for TLS, 25 for plain.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (upgrade a plain connection; refuse to send if that fails), `tls`
    /// (TLS from the start), or `none` (plain text: only for a server on the same machine).
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The user name to sign in with; empty for no sign-in.
    #[serde(default)]
    pub username: String,
    /// The password to sign in with. Never printed or logged.
    #[serde(default)]
    pub password: Secret,
}

fn default_smtp_port() -> u16 {
    587
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// STARTTLS on a plain connection, required.
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption (a server on the same machine).
    None,
}

impl Config {
    /// A summary safe to print: no secret values (keys that hold secrets print as
    /// "set"/"not set").
    pub fn summary(&self) -> String {
        let Self {
            data_dir,
            node,
            server,
            ontology,
            search,
            log,
            mail,
            terms,
            documents,
            federation,
            research,
            qa,
            messages,
            metrics,
            beacon,
            mme,
        } = self;
        let smtp = match &mail.smtp {
            Some(s) => format!(
                "mail.smtp = {}:{} ({:?}), username {:?}, password {}",
                s.host,
                s.port,
                s.security,
                s.username,
                s.password.state()
            ),
            None => format!(
                "mail.smtp = not set: messages go to {}",
                self.outbox_path().display()
            ),
        };
        format!(
            "data_dir = {}\nnode.name = {:?}\nserver.bind = {}\nserver.request_timeout_secs = {}\nserver.public_url = {}\nserver.max_connections = {} ({} per address)\nserver.trusted_proxies = {:?}\nontology.dir = {}\nsearch.default_limit = {}\nsearch.max_limit = {}\nsearch.max_query_chars = {}\nlog.level = {:?}\nmail.from = {:?}\n{}\nterms.version = {:?}\nterms.file = {}\ndocuments.identity_file = {}\ndocuments.recipients = {} more\ndocuments.max_bytes = {}\ndocuments.types = {:?}\ndocuments.max_per_patient = {}\ndocuments.consent_form = {}\n{}research.questionnaires_dir = {}\nresearch.k = {}\nresearch.groups = {}\nqa.notify_top = {}\nqa.max_notices_per_day = {}\nqa.min_fit = {}\nqa.readers = {:?}\nmessages.attachments = {}\nmessages.max_image_bytes = {}\nmetrics.token = {}\n{}{}",
            data_dir.display(),
            node.name,
            server.bind,
            server.request_timeout_secs,
            server.public_url,
            server.max_connections,
            server.max_connections_per_ip,
            server.trusted_proxies,
            ontology
                .dir
                .as_ref()
                .map_or("(shipped HPO 2025-01-16 release)".into(), |d| d
                    .display()
                    .to_string()),
            search.default_limit,
            search.max_limit,
            search.max_query_chars,
            log.level,
            mail.from,
            smtp,
            terms.version,
            terms
                .file
                .as_ref()
                .map_or("(built-in text)".into(), |f| f.display().to_string()),
            self.identity_path().display(),
            documents.recipients.len(),
            documents.max_bytes,
            documents.types,
            documents.max_per_patient,
            documents
                .consent_form
                .as_ref()
                .map_or("(built-in form)".into(), |f| f.display().to_string()),
            if federation.enabled {
                format!(
                    "federation = on: {} on {} ({}), as_token {}, hs_token {}, {} peers\n",
                    federation.user_id(),
                    federation.homeserver_url,
                    match federation.check() {
                        Ok(()) => "valid".to_owned(),
                        Err(e) => format!("NOT USABLE: {e}"),
                    },
                    federation.as_token.state(),
                    federation.hs_token.state(),
                    federation.peers.len()
                )
            } else {
                "federation = off\n".to_owned()
            },
            research
                .questionnaires_dir
                .as_ref()
                .map_or("(none)".into(), |d| d.display().to_string()),
            research.k,
            research.groups.len(),
            qa.notify_top,
            qa.max_notices_per_day,
            qa.min_fit,
            qa.readers,
            messages.attachments,
            messages.max_image_bytes,
            metrics.token.state(),
            if beacon.enabled {
                format!(
                    "beacon = on: {} clients ({})\n",
                    beacon.clients.len(),
                    beacon
                        .clients
                        .iter()
                        .map(|c| format!("{} token {}", c.name, c.token.state()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "beacon = off\n".to_owned()
            },
            mme_summary(mme),
        )
    }

    /// Whether cookies must be marked `Secure` (the node is reached over https).
    pub fn secure_cookies(&self) -> bool {
        self.server.public_url.starts_with("https://")
    }

    /// The age identity file documents are decrypted with.
    pub fn identity_path(&self) -> PathBuf {
        self.documents
            .identity_file
            .clone()
            .unwrap_or_else(|| self.documents_path().join("identity.txt"))
    }

    /// The folder of the encrypted documents.
    pub fn documents_path(&self) -> PathBuf {
        self.data_dir.join("documents")
    }

    /// The folder of the node's federation keys.
    pub fn federation_path(&self) -> PathBuf {
        self.data_dir.join("federation")
    }

    /// The outbox folder (inside `data_dir` unless absolute).
    pub fn outbox_path(&self) -> PathBuf {
        self.data_dir.join(&self.mail.outbox_dir)
    }
}

/// The `[mme]` lines of [`Config::summary`]: names, never tokens.
fn mme_summary(mme: &MmeConfig) -> String {
    let names = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!(
        "mme = {}: contact {:?} {:?}, {} results at most, {} requests per client per 15 min; clients: {}; servers: {}\n",
        if mme.enabled { "on" } else { "off" },
        mme.contact_name,
        mme.contact_href,
        mme.max_results,
        mme.requests_per_window,
        names(
            mme.clients
                .iter()
                .map(|c| format!("{} token {}", c.name, c.token.state()))
                .collect()
        ),
        names(
            mme.servers
                .iter()
                .map(|s| format!("{} at {} token {}", s.name, s.url, s.token.state()))
                .collect()
        ),
    )
}
