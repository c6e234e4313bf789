//! A headless Chromium driven over WebDriver (ChromeDriver), for the browser tests: a
//! phone-wide viewport, and on every photographed page checks of width, text size and
//! accessibility (axe-core).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub async fn start() -> Self {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&chromedriver).exists()
                && std::path::Path::new(&chromium).exists(),
            "headless Chromium is needed: run scripts/test.sh (it installs Debian's chromium and chromium-driver)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                // A phone-wide viewport (a window cannot be narrower than 500 px).
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0}},
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=390,844",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_owned();
        let driver = Self {
            child,
            base,
            session,
            http,
            _profile: profile,
        };
        // Wait up to 15 s for elements to appear (pages load while the machine is busy).
        driver
            .cmd(
                reqwest::Method::POST,
                "/timeouts",
                json!({"implicit": 30000, "pageLoad": 60000}),
            )
            .await;
        driver
    }

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = self.http.request(method.clone(), url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub async fn find(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().map(str::to_owned)
    }

    pub async fn text(&self, css: &str) -> String {
        match self.find(css).await {
            Some(id) => self
                .cmd(
                    reqwest::Method::GET,
                    &format!("/element/{id}/text"),
                    Value::Null,
                )
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            None => String::new(),
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let Some(id) = self.find(css).await else {
            self.save_screenshot("failure").await;
            let url = self.script("return location.href").await;
            let h1 = self.text("h1").await;
            panic!(
                "no element {css} on {url} (h1: {h1:?}); screenshot in target/tmp/screenshots/failure.png"
            );
        };
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self
            .find(css)
            .await
            .unwrap_or_else(|| panic!("no element {css}"));
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Signs in on `base` after choosing `lang` with the footer's language switch.
    pub async fn sign_in(&self, base: &str, lang: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/signin")).await;
        self.click(&format!("footer a[href='/language/{lang}']"))
            .await;
        self.wait_for_text("h1", "").await;
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("button[type=submit]").await;
        self.wait_for_text("header", "").await;
    }

    /// Signs out with the account page's button; returns once on the home page.
    pub async fn sign_out(&self, base: &str) {
        self.goto(&format!("{base}/account")).await;
        self.click("form[action='/signout'] button").await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.script("return location.pathname").await != "/" {
            assert!(Instant::now() < deadline, "not signed out");
            tokio::task::yield_now().await;
        }
    }

    /// Saves a PNG of the page under `target/tmp/screenshots/` (a test artifact), and
    /// checks that the page fits the phone-wide window (no sideways scrolling) and that no
    /// visible text is smaller than 12 px.
    pub async fn screenshot(&self, name: &str) {
        self.save_screenshot(name).await;
        if name == "failure" {
            return;
        }
        let fit = self
            .script(
                "const w = document.documentElement.scrollWidth, v = screen.width;\
                 const wide = Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > v + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));\
                 const small = Array.from(document.querySelectorAll('body *')).filter(e => e.childNodes.length && Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim()) && e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < 12).slice(0, 5).map(e => e.tagName + ' ' + getComputedStyle(e).fontSize + ' ' + e.textContent.trim().slice(0, 30));\
                 return {w, v, wide, small};",
            )
            .await;
        let (w, v) = (
            fit["w"].as_f64().unwrap_or(0.0),
            fit["v"].as_f64().unwrap_or(0.0),
        );
        assert!(
            w <= v,
            "{name}: the page is {w} px wide in a {v} px window: {}",
            fit["wide"]
        );
        assert!(
            fit["small"].as_array().is_some_and(Vec::is_empty),
            "{name}: text under 12 px: {}",
            fit["small"]
        );
        let violations = self.accessibility().await;
        assert!(
            violations.is_empty(),
            "{name}: axe-core finds WCAG 2.1 AA violations: {violations:#?}"
        );
    }

    /// The WCAG 2.1 A and AA violations axe-core finds on the page (rule, how many
    /// elements, the first ones).
    pub async fn accessibility(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../.venv-test/axe-core-4.10.3/axe.min.js"),
        )
        .expect("axe-core is needed: run scripts/install-test-deps.sh");
        self.script(&format!("{axe}\nreturn true;")).await;
        let found = self
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                json!({"script": "const done = arguments[arguments.length - 1];\
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
                      .then(r => done(r.violations.map(v => v.id + ' (' + v.nodes.length + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))\
                      .catch(e => done(['axe failed: ' + e]));", "args": []}),
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(ToOwned::to_owned))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("no answer from axe: {found}")])
    }

    async fn save_screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self
            .cmd(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Some(png) = v
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }

    pub async fn script(&self, js: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": js, "args": []}),
        )
        .await
    }

    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = self.text(css).await;
            if t.contains(needle) || Instant::now() > deadline {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    /// Ends the WebDriver session (ChromeDriver then closes its browser), also when a test
    /// failed, then stops ChromeDriver; any browser process of this session's profile
    /// still running is killed, so no headless Chromium outlives the test.
    fn drop(&mut self) {
        end_session(&self.base, &self.session);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let profile = self._profile.path().display().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while browser_running(&profile) && Instant::now() < deadline {
            let _ = Command::new("pkill").args(["-f", &profile]).status();
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `DELETE /session/{id}` with a plain blocking request (a drop cannot await).
fn end_session(base: &str, session: &str) {
    use std::io::{Read, Write};
    let Some(addr) = base.strip_prefix("http://") else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

/// Whether a process started with this profile folder is running.
fn browser_running(profile: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", profile])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
