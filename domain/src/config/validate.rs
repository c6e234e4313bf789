//! The checks of values that parse but cannot work.

use std::str::FromStr;

use super::{Config, ConfigError};

impl Config {
    /// Checks values that parse but cannot work; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_node()?;
        self.check_server()?;
        self.check_search()?;
        self.check_terms()?;
        self.check_mail()?;
        self.check_documents()?;
        self.check_metrics()?;
        self.check_qa()?;
        self.check_messages()?;
        self.check_beacon()?;
        self.check_mme()?;
        self.check_research()?;
        self.check_log()?;
        Ok(())
    }

    /// The checks of `data_dir` and `[node]`.
    fn check_node(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty".into());
        }
        if std::os::unix::ffi::OsStrExt::as_bytes(self.data_dir.as_os_str()).contains(&0) {
            return bad("data_dir", "must not contain a NUL character".into());
        }
        let name = self.node.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return bad("node.name", "must be 1 to 120 characters".into());
        }
        if self.node.name.chars().any(char::is_control) {
            return bad("node.name", "must not contain control characters".into());
        }
        Ok(())
    }

    /// The checks of `[server]`.
    fn check_server(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if !(1..=600).contains(&self.server.request_timeout_secs) {
            return bad(
                "server.request_timeout_secs",
                format!(
                    "{} is not between 1 and 600",
                    self.server.request_timeout_secs
                ),
            );
        }
        if !(1..=100_000).contains(&self.server.max_connections) {
            return bad(
                "server.max_connections",
                format!(
                    "{} is not between 1 and 100000",
                    self.server.max_connections
                ),
            );
        }
        if !(1..=self.server.max_connections).contains(&self.server.max_connections_per_ip) {
            return bad(
                "server.max_connections_per_ip",
                format!(
                    "{} is not between 1 and server.max_connections ({})",
                    self.server.max_connections_per_ip, self.server.max_connections
                ),
            );
        }
        if !(1..=3600).contains(&self.server.idle_timeout_secs) {
            return bad(
                "server.idle_timeout_secs",
                format!(
                    "{} is not between 1 and 3600",
                    self.server.idle_timeout_secs
                ),
            );
        }
        for (i, p) in self.server.trusted_proxies.iter().enumerate() {
            if let Err(e) = p.parse::<crate::config::net::IpNet>() {
                return bad(&format!("server.trusted_proxies[{i}]"), e);
            }
        }
        let url = self.server.public_url.trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host
            .is_none_or(|h| h.is_empty() || h.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return bad(
                "server.public_url",
                format!(
                    "{:?} is not an http:// or https:// address",
                    self.server.public_url
                ),
            );
        }
        Ok(())
    }

    /// The checks of `[ontology]` and `[search]`.
    fn check_search(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if let Some(dir) = &self.ontology.dir
            && !dir.is_dir()
        {
            return bad("ontology.dir", format!("{} is not a folder", dir.display()));
        }
        let s = &self.search;
        if !(1..=raremesh_search::MAX_LIMIT).contains(&s.max_limit) {
            return bad(
                "search.max_limit",
                format!(
                    "{} is not between 1 and {}",
                    s.max_limit,
                    raremesh_search::MAX_LIMIT
                ),
            );
        }
        if s.default_limit == 0 || s.default_limit > s.max_limit {
            return bad(
                "search.default_limit",
                format!(
                    "{} is not between 1 and search.max_limit ({})",
                    s.default_limit, s.max_limit
                ),
            );
        }
        if !(16..=1000).contains(&s.max_query_chars) {
            return bad(
                "search.max_query_chars",
                format!("{} is not between 16 and 1000", s.max_query_chars),
            );
        }
        Ok(())
    }

    /// The checks of `[terms]`.
    fn check_terms(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        let v = self.terms.version.trim();
        if v.is_empty() || v.chars().count() > 40 || v.chars().any(char::is_control) {
            return bad("terms.version", "must be 1 to 40 characters".into());
        }
        if let Some(file) = &self.terms.file
            && let Err(e) = std::fs::read_to_string(file)
        {
            return bad("terms.file", format!("{}: {e}", file.display()));
        }
        Ok(())
    }

    /// The checks of `[mail]`.
    fn check_mail(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if lettre::message::Mailbox::from_str(&self.mail.from).is_err() {
            return bad(
                "mail.from",
                format!(
                    "{:?} is not a mail address (e.g. \"Rare Org <noreply@rare.example.org>\")",
                    self.mail.from
                ),
            );
        }
        if let Some(smtp) = &self.mail.smtp {
            if smtp.host.trim().is_empty() {
                return bad("mail.smtp.host", "must not be empty".into());
            }
            if smtp.port == 0 {
                return bad("mail.smtp.port", "must not be 0".into());
            }
            if smtp.username.is_empty() != smtp.password.expose().is_empty() {
                return bad(
                    "mail.smtp.password",
                    "set both mail.smtp.username and mail.smtp.password, or neither".into(),
                );
            }
        }
        Ok(())
    }

    /// The checks of `[documents]`.
    fn check_documents(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        let d = &self.documents;
        if let Some(f) = &d.identity_file
            && let Err(e) = crate::documents::Vault::read_identity(f)
        {
            return bad("documents.identity_file", e.to_string());
        }
        for (i, r) in d.recipients.iter().enumerate() {
            if r.trim().parse::<age::x25519::Recipient>().is_err() {
                return bad(
                    &format!("documents.recipients[{i}]"),
                    format!("{r:?} is not an age public key (age1...)"),
                );
            }
        }
        if !(1024..=100 * 1024 * 1024).contains(&d.max_bytes) {
            return bad(
                "documents.max_bytes",
                format!("{} is not between 1024 and 104857600", d.max_bytes),
            );
        }
        if d.types.is_empty() {
            return bad("documents.types", "name at least one file type".into());
        }
        if let Some(f) = &d.consent_form {
            for file in std::iter::once(f.clone()).chain(crate::terms::beside(f).map(|(_, p)| p)) {
                match std::fs::read(&file) {
                    Ok(b) if b.starts_with(b"%PDF-") => {}
                    Ok(_) => {
                        return bad(
                            "documents.consent_form",
                            format!("{} is not a PDF file", file.display()),
                        );
                    }
                    Err(e) => {
                        return bad("documents.consent_form", format!("{}: {e}", file.display()));
                    }
                }
            }
        }
        for (i, t) in d.types.iter().enumerate() {
            if crate::documents::FileType::from_mime(t).is_none() {
                return bad(
                    &format!("documents.types[{i}]"),
                    format!(
                        "{t:?} is not one of {}",
                        crate::documents::FileType::ALL
                            .iter()
                            .map(|t| t.mime())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
        if !(1..=100).contains(&d.max_per_patient) {
            return bad(
                "documents.max_per_patient",
                format!("{} is not between 1 and 100", d.max_per_patient),
            );
        }
        Ok(())
    }

    /// The checks of `[metrics]`.
    fn check_metrics(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        let token = self.metrics.token.expose();
        if !token.is_empty() && (token.len() < 16 || token.chars().any(char::is_whitespace)) {
            return bad(
                "metrics.token",
                "must be empty (no /metrics) or at least 16 characters without spaces".into(),
            );
        }
        Ok(())
    }

    /// The checks of `[qa]`.
    fn check_qa(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        let q = &self.qa;
        if q.notify_top > 50 {
            return bad(
                "qa.notify_top",
                format!("{} is not between 0 and 50", q.notify_top),
            );
        }
        if !(1..=50).contains(&q.max_notices_per_day) {
            return bad(
                "qa.max_notices_per_day",
                format!("{} is not between 1 and 50", q.max_notices_per_day),
            );
        }
        if q.min_fit > 100 {
            return bad(
                "qa.min_fit",
                format!("{} is not between 0 and 100", q.min_fit),
            );
        }
        Ok(())
    }

    /// The checks of `[beacon]`: each client named once, with its own long token.
    fn check_beacon(&self) -> Result<(), ConfigError> {
        let b = &self.beacon;
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if b.enabled && b.clients.is_empty() {
            return bad(
                "beacon.clients",
                "the Beacon is on but no client may ask: add a [[beacon.clients]]".into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        let mut tokens = std::collections::HashSet::new();
        for c in &b.clients {
            let name = c.name.trim();
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                return bad(
                    "beacon.clients.name",
                    format!("{:?} must be 1 to 64 characters", c.name),
                );
            }
            if !names.insert(name.to_owned()) {
                return bad("beacon.clients.name", format!("{name:?} is given twice"));
            }
            let token = c.token.expose();
            if token.chars().count() < 32 || token.chars().any(char::is_whitespace) {
                return bad(
                    "beacon.clients.token",
                    format!("the token of {name:?} must be at least 32 characters, without spaces"),
                );
            }
            if !tokens.insert(token.to_owned()) {
                return bad(
                    "beacon.clients.token",
                    format!("the token of {name:?} is another client's too"),
                );
            }
        }
        if b.contact.chars().count() > 300 || b.contact.chars().any(char::is_control) {
            return bad("beacon.contact", "must be at most 300 characters".into());
        }
        if !(1..=60).contains(&b.network_wait_secs)
            || (b.enabled && b.network_wait_secs + 5 > self.server.request_timeout_secs)
        {
            return bad(
                "beacon.network_wait_secs",
                format!(
                    "{} must be between 1 and 60, and (with the Beacon on) at least 5 s under server.request_timeout_secs ({})",
                    b.network_wait_secs, self.server.request_timeout_secs
                ),
            );
        }
        Ok(())
    }

    /// The checks of `[mme]`: a contact when on, each client and server named once, long
    /// and distinct tokens, servers' URLs.
    fn check_mme(&self) -> Result<(), ConfigError> {
        let m = &self.mme;
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if m.enabled && m.clients.is_empty() {
            return bad(
                "mme.clients",
                "the matchmaking endpoint is on but no client may ask: add a [[mme.clients]]"
                    .into(),
            );
        }
        let name = m.contact_name.trim();
        if (m.enabled && name.is_empty())
            || name.chars().count() > 255
            || name.chars().any(char::is_control)
        {
            return bad(
                "mme.contact_name",
                "must be 1 to 255 characters: the person or desk clinicians reach".into(),
            );
        }
        let href = m.contact_href.trim();
        let href_ok = (href.starts_with("mailto:") && href.len() > 8 && href.contains('@'))
            || (href.starts_with("https://") || href.starts_with("http://")) && href.len() > 10;
        if (m.enabled || !href.is_empty())
            && (!href_ok || href.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return bad(
                "mme.contact_href",
                format!("{href:?} is not a mailto: address or a web page (https://...)"),
            );
        }
        if !(1..=50).contains(&m.max_results) {
            return bad(
                "mme.max_results",
                format!("{} is not between 1 and 50", m.max_results),
            );
        }
        if !(1..=10_000).contains(&m.requests_per_window) {
            return bad(
                "mme.requests_per_window",
                format!("{} is not between 1 and 10000", m.requests_per_window),
            );
        }
        let named = |key: &str, n: &str, seen: &mut std::collections::HashSet<String>| {
            let n = n.trim();
            if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
                return bad(key, format!("{n:?} must be 1 to 64 characters"));
            }
            if !seen.insert(n.to_owned()) {
                return bad(key, format!("{n:?} is given twice"));
            }
            Ok(())
        };
        let long = |key: &str, who: &str, token: &str| {
            if token.chars().count() < 32 || token.chars().any(char::is_whitespace) {
                return bad(
                    key,
                    format!("the token of {who:?} must be at least 32 characters, without spaces"),
                );
            }
            Ok(())
        };
        let mut names = std::collections::HashSet::new();
        let mut tokens = std::collections::HashSet::new();
        for c in &m.clients {
            named("mme.clients.name", &c.name, &mut names)?;
            long("mme.clients.token", &c.name, c.token.expose())?;
            if !tokens.insert(c.token.expose().to_owned()) {
                return bad(
                    "mme.clients.token",
                    format!("the token of {:?} is another client's too", c.name),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for s in &m.servers {
            named("mme.servers.name", &s.name, &mut names)?;
            long("mme.servers.token", &s.name, s.token.expose())?;
            let url = s.url.trim_end_matches('/');
            // The token and patients' profiles would travel in clear over http: only to
            // this machine.
            let loopback = [
                "http://127.0.0.1:",
                "http://127.0.0.1/",
                "http://localhost:",
                "http://localhost/",
                "http://[::1]:",
            ]
            .iter()
            .any(|p| format!("{url}/").starts_with(p));
            if !(url.starts_with("https://") || loopback)
                || url.len() < 10
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return bad(
                    "mme.servers.url",
                    format!(
                        "{:?} of {:?} is not an https:// address (http:// only on this machine)",
                        s.url, s.name
                    ),
                );
            }
        }
        Ok(())
    }

    /// The checks of `[messages]`.
    fn check_messages(&self) -> Result<(), ConfigError> {
        let m = &self.messages;
        if !(1024..=10 * 1024 * 1024).contains(&m.max_image_bytes) {
            return Err(ConfigError::invalid(
                "messages.max_image_bytes",
                format!(
                    "{} is not between 1024 (1 KiB) and 10485760 (10 MiB)",
                    m.max_image_bytes
                ),
            ));
        }
        Ok(())
    }

    /// The checks of `[research]`.
    fn check_research(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        let r = &self.research;
        if !(2..=1000).contains(&r.k) {
            return bad("research.k", format!("{} is not between 2 and 1000", r.k));
        }
        if r.k < 5 && !r.allow_small_k {
            return bad(
                "research.k",
                format!(
                    "{} is below 5: with so few, members can read each other's answers; set research.allow_small_k = true to allow it",
                    r.k
                ),
            );
        }
        if let Some(dir) = &r.questionnaires_dir
            && !dir.is_dir()
        {
            return bad(
                "research.questionnaires_dir",
                format!("{} is not a folder", dir.display()),
            );
        }
        if !(0.01..=10.0).contains(&r.epsilon_per_query) {
            return bad(
                "research.epsilon_per_query",
                format!("{} is not between 0.01 and 10", r.epsilon_per_query),
            );
        }
        if !(r.budget..=10_000.0).contains(&r.node_budget) {
            return bad(
                "research.node_budget",
                format!(
                    "{} is not between research.budget ({}) and 10000",
                    r.node_budget, r.budget
                ),
            );
        }
        if !(0.01..=1000.0).contains(&r.budget) || r.budget < r.epsilon_per_query {
            return bad(
                "research.budget",
                format!(
                    "{} is not between 0.01 and 1000, or is less than research.epsilon_per_query",
                    r.budget
                ),
            );
        }
        if !(1..=366).contains(&r.budget_period_days) {
            return bad(
                "research.budget_period_days",
                format!("{} is not between 1 and 366", r.budget_period_days),
            );
        }
        let mut ids = std::collections::HashSet::new();
        for (i, g) in r.groups.iter().enumerate() {
            let short = !g.id.is_empty()
                && g.id.len() <= 40
                && g.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !short || !ids.insert(g.id.as_str()) {
                return bad(
                    &format!("research.groups[{i}].id"),
                    format!("{:?} must be unique: lowercase letters, digits, -", g.id),
                );
            }
            if g.name.trim().is_empty() || g.name.chars().count() > 120 {
                return bad(
                    &format!("research.groups[{i}].name"),
                    "must be 1 to 120 characters".into(),
                );
            }
            if g.orpha.is_empty() {
                return bad(
                    &format!("research.groups[{i}].orpha"),
                    "list at least one ORPHA code".into(),
                );
            }
        }
        Ok(())
    }

    /// The checks of `[log]`.
    fn check_log(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return bad(
                "log.level",
                format!("{:?} is not a log filter: {e}", self.log.level),
            );
        }
        Ok(())
    }
}
