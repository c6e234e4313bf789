//! Mail: the outbox folder, and a real SMTP server process (Python's aiosmtpd, installed
//! into `.venv-test` by `scripts/install-test-deps.sh`) receiving over loopback.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raremesh::config::{Config, MailConfig, SmtpConfig, SmtpSecurity};
use raremesh::mail::{Mail, Mailer};

fn mail() -> Mail {
    Mail {
        to: "carer@example.org".into(),
        subject: "Confirm your email address".into(),
        body: "Open this link to confirm: http://127.0.0.1/confirm/abc\nÀ bientôt".into(),
    }
}

#[tokio::test]
async fn the_default_writes_to_the_outbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let mailer = Mailer::new(&config).expect("mailer");
    mailer.send(&mail()).await.expect("send");
    mailer.send(&mail()).await.expect("send");
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("outbox"))
        .expect("outbox")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "one file per message, no temporary files left"
    );
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "eml"))
    );
    let text = std::fs::read_to_string(&files[0]).expect("read");
    assert!(
        text.contains("To: carer@example.org")
            && text.contains("Subject: Confirm your email address"),
        "{text}"
    );
    assert!(
        text.contains("From: raremesh <noreply@localhost>"),
        "{text}"
    );
    let bad = Mail {
        to: "not an address".into(),
        ..mail()
    };
    assert!(
        mailer
            .send(&bad)
            .await
            .is_err_and(|e| e.to_string().contains("recipient"))
    );
}

struct SmtpSink {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> Self {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test/bin/python");
        assert!(
            python.exists(),
            "the SMTP test server is needed: run scripts/test.sh (it installs aiosmtpd into .venv-test)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            maildir,
        }
    }

    fn received(&self) -> Vec<String> {
        let new = self.maildir.path().join("box/new");
        std::fs::read_dir(new)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn smtp_delivers_to_a_real_server() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        mail: MailConfig {
            from: "Rare Org <noreply@rare.example.org>".into(),
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: sink.port,
                security: SmtpSecurity::None,
                username: String::new(),
                password: Default::default(),
            }),
            ..MailConfig::default()
        },
        ..Config::default()
    };
    config.validate().expect("valid");
    let mailer = Mailer::new(&config).expect("mailer");
    mailer.send(&mail()).await.expect("delivered");
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let got = sink.received();
        if !got.is_empty() || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("Subject: Confirm your email address")
            && got[0].contains("From: \"Rare Org\" <noreply@rare.example.org>"),
        "{}",
        got[0]
    );
    assert!(
        !dir.path().join("outbox").exists(),
        "nothing went to the outbox"
    );
    // STARTTLS is required by default: a server without it gets nothing (no downgrade).
    let strict = Config {
        mail: MailConfig {
            smtp: config.mail.smtp.clone().map(|s| SmtpConfig {
                security: SmtpSecurity::Starttls,
                ..s
            }),
            ..config.mail.clone()
        },
        ..config.clone()
    };
    let refused = Mailer::new(&strict).expect("mailer").send(&mail()).await;
    assert!(refused.is_err(), "sent without TLS");
    assert_eq!(sink.received().len(), 1);
}
