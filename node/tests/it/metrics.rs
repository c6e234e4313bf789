//! `/metrics` on the real binary, scraped by a real Prometheus server: the token guards
//! it, the figures are right, no token from a path reaches it, and the example scrape
//! configuration in docker/ is one Prometheus accepts.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::backup::admin;
use crate::hardening::Server;

const TOKEN: &str = "metrics-token-for-the-test-0123";

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// The value of the one series `query` selects, as the Prometheus server has it.
fn query(http: &reqwest::blocking::Client, prometheus: &str, query: &str) -> Option<f64> {
    let v: serde_json::Value = http
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .ok()?
        .json()
        .ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn prometheus_scrapes_the_node_with_its_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let (ok, _, err) = admin(&data, &["demo-data", "--patients", "30"], "");
    assert!(ok, "{err}");
    let server = Server::start(
        &data,
        &[
            ("RAREMESH_LOG__LEVEL", "info"),
            ("RAREMESH_METRICS__TOKEN", TOKEN),
        ],
    );
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = &server.base;
    for path in [
        "/healthz",
        "/healthz",
        "/no/such/page",
        "/register/confirm/SECRETLINKTOKEN",
        "/api/v1/patients/SECRETPATIENTID",
    ] {
        http.get(format!("{base}{path}")).send().expect("request");
    }
    // The token guards it.
    let scrape = |auth: Option<&str>| {
        let mut r = http.get(format!("{base}/metrics"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().expect("scrape");
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    assert_eq!(scrape(None).0, 401);
    assert_eq!(scrape(Some("Bearer not-the-token-at-all")).0, 401);
    let (status, text) = scrape(Some(&format!("Bearer {TOKEN}")));
    assert_eq!(status, 200);
    for line in [
        r#"raremesh_http_requests_total{method="GET",route="/healthz",status="200"} 2"#,
        r#"raremesh_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"raremesh_http_requests_total{method="GET",route="/register/confirm/{token}",status="410"} 1"#,
        r#"raremesh_http_requests_total{method="GET",route="/api/v1/patients/{id}",status="401"} 1"#,
        r#"raremesh_patients{status="approved"} 31"#,
        r#"raremesh_accounts{role="member"} 1"#,
        "# EOF",
    ] {
        assert!(text.contains(line), "{line} is not in\n{text}");
    }
    assert!(
        text.contains("raremesh_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        !text.contains("SECRETLINKTOKEN") && !text.contains("SECRETPATIENTID"),
        "a token or id from a path: {text}"
    );
    // A real Prometheus, with the example's settings pointed at this node.
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/prometheus.yml"),
    )
    .expect("example");
    let target = base.trim_start_matches("http://");
    let config = example
        .replace("scrape_interval: 30s", "scrape_interval: 1s")
        .replace("scheme: https", "scheme: http")
        .replace("\"rare.example.org\"", &format!("\"{target}\""));
    assert!(
        config.contains(target),
        "the example has the lines the test edits"
    );
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("dir");
    std::fs::write(prom_dir.join("prometheus.yml"), config).expect("config");
    std::fs::write(prom_dir.join("metrics-token"), TOKEN).expect("token");
    let checked = Command::new("promtool")
        .args(["check", "config"])
        .arg(prom_dir.join("prometheus.yml"))
        .output()
        .expect("promtool (scripts/install-test-deps.sh installs Prometheus)");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let port = free_port();
    let _prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                prom_dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus"),
    );
    let prometheus = format!("http://127.0.0.1:{port}");
    wait_for("Prometheus to scrape the node", || {
        query(&http, &prometheus, r#"up{job="raremesh"}"#) == Some(1.0)
            && query(
                &http,
                &prometheus,
                r#"raremesh_patients{status="approved"}"#,
            ) == Some(31.0)
    });
    assert_eq!(
        query(&http, &prometheus, r#"raremesh_accounts{role="member"}"#),
        Some(1.0),
        "what Prometheus stored"
    );
    // Without a token configured there is no /metrics.
    drop(server);
    let server = Server::start(&data, &[("RAREMESH_LOG__LEVEL", "info")]);
    let r = http
        .get(format!("{}/metrics", server.base))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .expect("scrape");
    assert_eq!(r.status().as_u16(), 404);
}
