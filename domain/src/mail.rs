//! Mail to members: to an outbox folder by default, through SMTP when configured.

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, SmtpSecurity};

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address or header is not valid.
    #[error("message: {0}")]
    Message(String),
    /// Writing to the outbox failed.
    #[error("outbox {path}: {error}")]
    Outbox {
        /// The folder.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The SMTP server refused or could not be reached.
    #[error("smtp: {0}")]
    Smtp(String),
}

/// One plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
}

enum Route {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail the way the configuration says.
pub struct Mailer {
    from: Mailbox,
    route: Route,
    counts: MailCounts,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let route = match &self.route {
            Route::Outbox(p) => format!("outbox {}", p.display()),
            Route::Smtp(_) => "smtp".to_owned(),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("route", &route)
            .finish()
    }
}

impl Mailer {
    /// The mailer for `config` (validated beforehand).
    pub fn new(config: &Config) -> Result<Self, MailError> {
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|e| MailError::Message(format!("mail.from: {e}")))?;
        let route = match &config.mail.smtp {
            None => Route::Outbox(config.outbox_path()),
            Some(smtp) => {
                let builder = match smtp.security {
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                            .map_err(|e| MailError::Smtp(e.to_string()))?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| MailError::Smtp(e.to_string()))?,
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(std::time::Duration::from_secs(20)));
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.expose().to_owned(),
                    ));
                }
                Route::Smtp(builder.build())
            }
        };
        Ok(Self {
            from,
            route,
            counts: Default::default(),
        })
    }

    /// Mails sent (or written to the outbox) and failed since the start.
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.counts.sent.load(Relaxed),
            self.counts.failed.load(Relaxed),
        )
    }

    /// Sends (or writes to the outbox) one message, and counts it.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let result = self.deliver(mail).await;
        let counter = match result {
            Ok(()) => &self.counts.sent,
            Err(_) => &self.counts.failed,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        result
    }

    async fn deliver(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Message(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Message(e.to_string()))?;
        match &self.route {
            Route::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp(e.to_string())),
            Route::Outbox(dir) => write_outbox(dir, &message.formatted()).await,
        }
    }
}

/// Writes the message as `<unix nanos>-<random>.eml`, atomically (temporary file, then
/// rename), so a reader never sees half a message.
async fn write_outbox(dir: &std::path::Path, bytes: &[u8]) -> Result<(), MailError> {
    let err = |error| MailError::Outbox {
        path: dir.to_owned(),
        error,
    };
    tokio::fs::create_dir_all(dir).await.map_err(err)?;
    let mut rand = [0u8; 6];
    getrandom::fill(&mut rand).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(
        "{nanos}-{}",
        rand.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes).await.map_err(err)?;
    tokio::fs::rename(&tmp, dir.join(format!("{name}.eml")))
        .await
        .map_err(err)
}

/// Removes from the outbox folder every message addressed to `address` (a member being
/// erased); how many. A missing folder holds none.
pub fn forget_recipient(dir: &std::path::Path, address: &str) -> std::io::Result<usize> {
    let address = address.trim().to_lowercase();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).to_lowercase();
        let to_them = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.starts_with("to:"))
            .any(|l| {
                l[3..]
                    .split([',', '<', '>', ' '])
                    .any(|part| part.trim() == address)
            });
        if to_them {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_members_mails_leave_the_outbox_with_them() {
        let dir = tempfile::tempdir().expect("dir");
        let outbox = Mailer {
            from: "node@example.org".parse().expect("from"),
            route: Route::Outbox(dir.path().to_owned()),
            counts: Default::default(),
        };
        for to in ["Ana@Example.org", "bob@example.org", "ana@example.org"] {
            let mail = Mail {
                to: to.into(),
                subject: "Hello".into(),
                body: "ana@example.org is mentioned here".into(),
            };
            outbox.send(&mail).await.expect("send");
        }
        assert_eq!(
            forget_recipient(dir.path(), "ana@example.org").expect("forget"),
            2
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
        assert_eq!(left.len(), 1, "bob's mail stays");
        assert_eq!(
            forget_recipient(&dir.path().join("none"), "x@y.z").expect("none"),
            0
        );
    }
}

/// Counts kept by the mailer.
#[derive(Debug, Default)]
pub struct MailCounts {
    /// Sent (or written to the outbox).
    pub sent: std::sync::atomic::AtomicU64,
    /// Refused or not delivered.
    pub failed: std::sync::atomic::AtomicU64,
}
