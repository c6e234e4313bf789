//! The home page in real headless Chromium, driven over the WebDriver protocol
//! (ChromeDriver). `scripts/test.sh` installs Debian's `chromium` and `chromium-driver`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::socket::spawn_server;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_in_headless_chromium() {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;

    // Without typing: the page says what it is and shows the HPO version.
    d.goto(&format!("{base}/")).await;
    let footer = d.text("footer").await;
    assert!(
        footer.contains("Human Phenotype Ontology (version 2025-01-16)"),
        "{footer}"
    );
    assert!(d.text("label[for=q]").await.contains("Symptom"));
    // The accessibility check sees a page's faults: the home page has none; an image
    // without a text alternative, added here, is one.
    assert_eq!(d.accessibility().await, Vec::<String>::new());
    d.script("const i = document.createElement('img'); i.src = '/assets/none.png'; document.querySelector('main').appendChild(i); return true;").await;
    let found = d.accessibility().await;
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")),
        "{found:?}"
    );
    d.goto(&format!("{base}/")).await;

    // With JavaScript: suggestions appear while typing, lay words included.
    d.type_into("#q", "large head").await;
    let results = d.wait_for_text("#results", "Macrocephaly").await;
    assert!(results.starts_with("Macrocephaly"), "{results}");
    assert!(
        results.contains("matches \u{201c}Large head\u{201d}"),
        "{results}"
    );

    // The form itself (what works without JavaScript): submit with Enter.
    d.type_into("#q", "\u{E007}").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !d
        .script("return location.search")
        .await
        .as_str()
        .unwrap_or_default()
        .contains("q=large+head")
    {
        assert!(Instant::now() < deadline, "form did not submit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let results = d.wait_for_text("#results", "Macrocephaly").await;
    assert!(results.contains("HP:0000256"), "{results}");

    // Typos still find the symptom.
    d.goto(&format!("{base}/?q=siezure")).await;
    assert!(d.text("#results li").await.starts_with("Seizure"));

    // The page fits a phone screen: no horizontal scrolling.
    let overflow = d
        .script("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(overflow, Value::Bool(true));

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_registration_in_headless_chromium() {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;
    let started = Instant::now();
    let email = "browser.journey@example.org";

    d.goto(&format!("{base}/register")).await;
    d.click("#r-caregiver").await;
    d.type_into("#name", "Lena Browser").await;
    d.type_into("#email", email).await;
    d.type_into("#country", "France").await;
    d.screenshot("01-register-step1").await;
    d.click("button[type=submit]").await;
    assert!(
        d.wait_for_text("h1", "Check your email")
            .await
            .contains("Check your email")
    );
    d.screenshot("02-check-your-email").await;

    // The link from the mail in the outbox.
    let outbox = crate::state().config.outbox_path();
    let mail = std::fs::read_dir(outbox)
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains(&format!("To: {email}")))
        .expect("confirmation mail");
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("/register/confirm/").expect("link");
    let link = format!("{base}{}", &mail[at..at + "/register/confirm/".len() + 64]);

    d.goto(&link).await;
    assert!(d.text("h1").await.contains("Choose your password"));
    d.type_into("#password", "lena picks a long password").await;
    d.type_into("#password_again", "lena picks a long password")
        .await;
    d.screenshot("03-choose-password").await;
    d.click("button[type=submit]").await;
    // Registered: the next step, the patient, comes at once.
    assert!(
        d.wait_for_text("main", "Step 3 of 5")
            .await
            .contains("Tell us about the patient")
    );
    d.goto(&format!("{base}/account")).await;
    let account = d.wait_for_text("main", "Registration: 2 of 5").await;
    assert!(
        account.contains("Hello Lena Browser") && account.contains(email),
        "{account}"
    );
    d.screenshot("04-account").await;

    // Sign out, and back in.
    d.click("form[action='/signout'] button").await;
    // Sign-out lands on the home page; wait for it before going elsewhere.
    assert!(
        d.wait_for_text("h1", "Find people like you")
            .await
            .contains("Find people like you")
    );
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", "lena picks a long password").await;
    d.click("button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Registration: 2 of 5")
            .await
            .contains(email)
    );
    d.screenshot("05-signed-in-again").await;

    // Step 3: a child, with the disease found by name.
    d.goto(&format!("{base}/patients")).await;
    d.type_into("#display_name", "Théo").await;
    d.type_into("#birth_year", "2017").await;
    d.script("document.getElementById('sex').value = 'male'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-orpha").await;
    d.type_into("#disease", "marfan").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    // Typed by name: the page offers the matches; pick the first and save again.
    assert!(
        d.wait_for_text("main", "Which of these is it?")
            .await
            .contains("Marfan syndrome")
    );
    d.click("#s-1").await;
    d.screenshot("06-pick-the-disease").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    // Saved: on to the child's symptoms (step 4).
    assert!(d.wait_for_text("h1", "Théo").await.contains("Théo"));
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "Marfan syndrome (ORPHA:558)")
            .await
            .contains("Théo")
    );

    // A second child, with no diagnosis yet.
    d.type_into("#display_name", "Emma").await;
    d.type_into("#birth_year", "2020").await;
    d.script("document.getElementById('sex').value = 'female'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-none").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;
    assert!(d.wait_for_text("h1", "Emma").await.contains("Emma"));
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "Emma")
            .await
            .contains("Théo")
    );
    let theo = d
        .script("return Array.from(document.querySelectorAll('ul.patients li')).find(li => li.textContent.includes('Théo')).querySelector('a').getAttribute('href').split('/')[2]")
        .await
        .as_str()
        .expect("Théo's id")
        .to_owned();

    // Step 4: a symptom in lay words.
    d.goto(&format!("{base}/patients/{theo}/symptoms")).await;
    d.type_into("#term", "large head").await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    assert!(
        d.wait_for_text("main", "Which of these is it?")
            .await
            .contains("Macrocephaly")
    );
    d.screenshot("07-pick-the-symptom").await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    assert!(
        d.wait_for_text("ul.symptoms", "Macrocephaly")
            .await
            .contains("Macrocephaly")
    );
    // Another, picked from the suggestions that appear while typing.
    d.type_into("#term", "tall").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let suggestion = loop {
        let v = d
            .script(
                "var o = document.querySelector('#term-options option'); return o ? o.value : null",
            )
            .await;
        if let Some(v) = v.as_str() {
            break v.to_owned();
        }
        assert!(Instant::now() < deadline, "no suggestions appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(suggestion.starts_with("HP:"), "{suggestion}");
    d.script("document.getElementById('term').value = ''").await;
    d.type_into("#term", &suggestion).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let picked = suggestion
        .split_once(' ')
        .expect("id and name")
        .1
        .to_owned();
    assert!(
        d.wait_for_text("ul.symptoms", &picked)
            .await
            .contains("Macrocephaly")
    );
    d.screenshot("08-symptoms").await;

    // Step 5: terms and consents.
    d.goto(&format!("{base}/terms")).await;
    d.click("#accept").await;
    d.click("#local_matching").await;
    d.click("#federated_matching").await;
    d.screenshot("09-terms").await;
    d.click("form[action='/terms'] button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Registration: 5 of 5")
            .await
            .contains("5 of 5")
    );
    d.screenshot("10-registered").await;

    // Validation: three documents for Théo, chosen from the computer's files.
    let files = tempfile::tempdir().expect("tempdir");
    for (kind, name, bytes) in [
        ("consent", "consent.pdf", crate::validation::PDF),
        ("identity", "id-card.jpg", crate::validation::JPEG),
        ("medical", "cardiology-letter.pdf", crate::validation::PDF),
    ] {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        d.goto(&format!("{base}/patients/{theo}/documents")).await;
        d.script(&format!("document.getElementById('kind').value = '{kind}'"))
            .await;
        d.type_into("#file", &path.display().to_string()).await;
        if kind == "medical" {
            d.screenshot("11-documents").await;
        }
        d.click("main form[enctype] button[type=submit]").await;
        assert!(d.wait_for_text("table", name).await.contains(name));
    }
    assert!(d.text("p.status").await.contains("documents sent"));
    d.screenshot("12-documents-sent").await;

    // Another member of this organization, validated, with a similar child.
    let s = crate::state();
    let other = s
        .accounts
        .create(
            "browser.other@example.org",
            "another long password",
            raremesh::accounts::Role::Member,
            true,
        )
        .expect("account");
    s.registrations
        .save_member(&raremesh::registration::Member {
            account_id: other.id.clone(),
            info: raremesh::registration::PersonalInfo {
                name: "Other Parent".into(),
                email: other.email.clone(),
                country: "Spain".into(),
                language: "es".into(),
                registrant: raremesh::registration::Registrant::Caregiver,
            },
            step: 5,
            consents: raremesh::registration::Consents {
                terms_version: Some("1".into()),
                terms_accepted_at: Some(1),
                local_matching: true,
                ..Default::default()
            },
            matrix: None,
        })
        .expect("member");
    let mut similar = s
        .patients
        .add(
            &other.id,
            raremesh::registration::patient::PatientInput {
                display_name: "Othername".into(),
                birth_year: 2015,
                sex: raremesh::registration::patient::Sex::Male,
                relation: raremesh::registration::patient::Relation::Parent,
                diagnosis: raremesh::registration::patient::Diagnosis::NoneYet,
                organization: None,
            },
        )
        .expect("patient");
    similar.symptoms = ["HP:0000256", "HP:0000098"]
        .iter()
        .map(|t| raremesh::registration::patient::Symptom {
            term: t.parse().expect("id"),
            observed: true,
            onset: None,
        })
        .collect();
    similar.validation = raremesh::registration::patient::Validation::Approved {
        at: 1,
        by: "seed".into(),
    };
    s.patients.save(&similar).expect("save");

    // A validator signs in, finds Théo in the queue and approves.
    s.accounts
        .create(
            "browser.validator@example.org",
            "validator long password",
            raremesh::accounts::Role::Validator,
            true,
        )
        .expect("validator");
    d.goto(&format!("{base}/account")).await;
    d.click("form[action='/signout'] button").await;
    d.wait_for_text("h1", "Find people like you").await;
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", "browser.validator@example.org").await;
    d.type_into("#password", "validator long password").await;
    d.click("button[type=submit]").await;
    d.wait_for_text("main", "Validation queue").await;
    d.click("a[href='/validation']").await;
    assert!(
        d.wait_for_text("main", "Théo")
            .await
            .contains("Waiting for review")
    );
    d.screenshot("13-validation-queue").await;
    d.click("main table a").await;
    assert!(
        d.wait_for_text("main", "cardiology-letter.pdf")
            .await
            .contains("Lena Browser")
    );
    d.click("#approve").await;
    d.screenshot("14-review").await;
    d.click("main form button[type=submit]").await;
    assert!(
        d.wait_for_text("main", "Recent decisions")
            .await
            .contains("approved")
    );
    d.goto(&format!("{base}/account")).await;
    d.click("form[action='/signout'] button").await;
    d.wait_for_text("h1", "Find people like you").await;

    // Lena sees the status, and patients like Théo, with what they share.
    d.goto(&format!("{base}/signin")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", "lena picks a long password").await;
    d.click("button[type=submit]").await;
    d.wait_for_text("main", "Registration: 5 of 5").await;
    d.goto(&format!("{base}/patients")).await;
    assert!(
        d.wait_for_text("ul.patients", "validated")
            .await
            .contains("validated")
    );
    d.click("ul.patients a[href$='/similar']").await;
    let page = d.wait_for_text("main", "What makes them similar").await;
    assert!(
        page.contains(&raremesh::similar::pseudonym(&similar.id))
            && page.contains("Macrocephaly")
            && !page.contains("Othername"),
        "{page}"
    );
    d.screenshot("15-people-like-me").await;
    println!(
        "browser journey (5 registration steps with two patients, documents, validation, people like me): {:.1} s",
        started.elapsed().as_secs_f64()
    );

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_member_registers_and_describes_symptoms_in_spanish() {
    journey_in(Journey {
        lang: "es",
        name: "Lucía Navegador",
        email: "lucia.navegador@example.org",
        mail_says: "Para continuar su registro",
        child: "Mateo",
        words: "convulsiones",
        shown: "Convulsiones",
        english: "(Seizure)",
        term: "HP:0001250",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_member_registers_and_describes_symptoms_in_french() {
    journey_in(Journey {
        lang: "fr",
        name: "Élodie Navigatrice",
        email: "elodie.navigatrice@example.org",
        mail_says: "Pour poursuivre votre inscription",
        child: "Léo",
        words: "surdité",
        shown: "Hypoacousie",
        english: "(Hearing impairment)",
        term: "HP:0000365",
    })
    .await;
}

/// A registration and a symptom NOT present, in one language.
struct Journey {
    lang: &'static str,
    name: &'static str,
    email: &'static str,
    mail_says: &'static str,
    child: &'static str,
    words: &'static str,
    shown: &'static str,
    english: &'static str,
    term: &'static str,
}

async fn journey_in(j: Journey) {
    let (base, stop, _handle) = spawn_server().await;
    let d = Driver::start().await;
    let t = |key: &str| raremesh::http::i18n::shared().text(j.lang, key).to_owned();
    let shot = |n: &str| format!("{}-{n}", j.lang);

    // Step 1 in the member's language, with the mail in it.
    d.goto(&format!("{base}/register?lang={}", j.lang)).await;
    assert_eq!(d.text("h1").await, t("register.title"));
    d.click("#r-caregiver").await;
    d.type_into("#name", j.name).await;
    d.type_into("#email", j.email).await;
    d.type_into("#country", "Europa").await;
    d.screenshot(&shot("01-register")).await;
    d.click("button[type=submit]").await;
    d.wait_for_text("h1", &t("register.sent_title")).await;
    d.screenshot(&shot("02-check-email")).await;
    let outbox = crate::state().config.outbox_path();
    let mail = std::fs::read_dir(outbox)
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains(&format!("To: {}", j.email)))
        .expect("confirmation mail")
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains(j.mail_says), "{mail}");
    let at = mail.find("/register/confirm/").expect("link");
    let link = format!("{base}{}", &mail[at..at + "/register/confirm/".len() + 64]);

    // Step 2, then straight on to step 3: a child with no diagnosis yet.
    d.goto(&link).await;
    assert_eq!(d.text("h1").await, t("register.password_title"));
    d.type_into("#password", "a long password of this member")
        .await;
    d.type_into("#password_again", "a long password of this member")
        .await;
    d.click("button[type=submit]").await;
    d.wait_for_text("h1", &t("patient.title")).await;
    d.screenshot(&shot("03-patients")).await;
    d.type_into("#display_name", j.child).await;
    d.type_into("#birth_year", "2019").await;
    d.script("document.getElementById('sex').value = 'male'; document.getElementById('relation').value = 'parent';").await;
    d.click("#d-none").await;
    d.click("form[action='/patients'] button[type=submit]")
        .await;

    // Step 4: the member's words, NOT present, from birth: offered in the member's
    // language with the English name, and kept as chosen.
    d.wait_for_text("h1", j.child).await;
    d.type_into("#term", j.words).await;
    d.click("#p-exc").await;
    d.script("document.getElementById('onset').value = 'congenital'; return true;")
        .await;
    d.screenshot(&shot("04-symptoms")).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let pick = d.wait_for_text("main", &t("symptom.pick")).await;
    assert!(pick.contains(j.shown) && pick.contains(j.english), "{pick}");
    let kept = d
        .script("return [document.getElementById('p-exc').checked, document.getElementById('onset').value];")
        .await;
    assert_eq!(kept, json!([true, "congenital"]), "NOT and the onset kept");
    // Pick the term meant (ticked already when the words name it for sure).
    let id = j.term;
    d.script(&format!(
        "document.querySelector('input[name=term][value=\"{id}\"]').checked = true; return true;"
    ))
    .await;
    d.screenshot(&shot("05-which-is-it")).await;
    d.click("main form[action$='/symptoms'] button[type=submit]")
        .await;
    let listed = d.wait_for_text("ul.symptoms", j.shown).await;
    assert!(listed.contains(&t("symptom.not")), "{listed}");
    d.screenshot(&shot("06-symptoms-saved")).await;
    let s = crate::state();
    let account = s
        .accounts
        .by_email(j.email)
        .expect("read")
        .expect("account");
    let patient = &s.patients.of(&account.id).expect("patients")[0];
    let stored = patient
        .symptoms
        .iter()
        .find(|x| x.term.to_string() == j.term)
        .expect("stored");
    assert!(!stored.observed, "stored as NOT present");
    assert_eq!(
        stored
            .onset
            .map(raremesh::registration::patient::Onset::key),
        Some("congenital")
    );

    d.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    let _ = stop.send(());
}
