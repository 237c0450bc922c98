//! The dashboard driven in real headless Chromium over the Chrome DevTools Protocol (our own
//! small client over a loopback WebSocket): log in, find the vulnerable project, approve its
//! plan (auto-approval off, so it waits), see the MR on the page and in the simulator, and save
//! screenshots of the overview, the project page and the approvals page at 1280 and 390 px to
//! `target/screenshots/dashboard-{overview,project,approvals}-{1280,390}.png`. No sleeps: every
//! wait is on a CDP event or a bounded loop over page state.
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`; `.ci/run` installs it). Without it the
//! test fails and says so.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backline::catalog::service::Quiet;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab};
use backline::remediation::executor::{Edit, FixError, FixRequest, Fixer};
use backline::secret::Secret;
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use gitlab_sim::{access, GitLabSim, HookTarget, MrState, ProjectSpec, SimConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{spawn, Options, TestApp, ADMIN_TOKEN, SECRET};

/// Where Chromium is looked for.
const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
/// Longest wait for any one browser step (a bound, not a delay).
const STEP: Duration = Duration::from_secs(30);

/// Moves the package's `version` line in a Cargo.lock (as in the remediation tests).
struct CargoLockLines;

#[async_trait]
impl Fixer for CargoLockLines {
    async fn edits(&self, r: &FixRequest<'_>) -> Result<Vec<Edit>, FixError> {
        let text = String::from_utf8(r.files.get(r.manifest).cloned().unwrap_or_default())
            .map_err(|e| FixError::NotFixable(e.to_string()))?;
        let from = format!("name = \"{}\"\nversion = \"{}\"", r.package, r.from);
        let to = format!("name = \"{}\"\nversion = \"{}\"", r.package, r.to);
        Ok(vec![Edit {
            path: r.manifest.to_string(),
            content: text.replace(&from, &to).into_bytes(),
        }])
    }
}

fn lock(regex: &str) -> String {
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"regex\",\n]\n\n[[package]]\nname = \"regex\"\nversion = \"{regex}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
    )
}

/// A minimal CDP client on one page target.
struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next: u64,
    events: VecDeque<Value>,
}

impl Cdp {
    async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("Chromium answers within the step bound")
                .expect("the DevTools socket stays open")
                .expect("a DevTools message");
            if let Message::Text(text) = msg {
                return serde_json::from_str(text.as_str()).expect("DevTools sends JSON");
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).await.unwrap();
        loop {
            let v = self.recv().await;
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Waits for an event (events seen while waiting for answers count).
    async fn event(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i).unwrap_or_default();
        }
        loop {
            let v = self.recv().await;
            if v["method"] == method {
                return v;
            }
        }
    }

    /// Evaluates JavaScript in the page; its value.
    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// Runs `action` (which navigates) and waits until the new page has loaded.
    async fn navigating(&mut self, action: &str) {
        self.events.clear();
        self.eval(action).await;
        self.event("Page.loadEventFired").await;
    }

    async fn goto(&mut self, url: &str) {
        self.events.clear();
        let r = self.call("Page.navigate", json!({ "url": url })).await;
        assert!(r.get("errorText").is_none(), "{url}: {r}");
        self.event("Page.loadEventFired").await;
    }

    async fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn path(&mut self) -> String {
        self.eval("location.pathname + location.search")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Headless Chromium with a DevTools port; killed on drop.
struct Browser {
    child: tokio::process::Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn launch() -> Browser {
        let Some(bin) = CHROMIUM.iter().find(|p| std::path::Path::new(p).exists()) else {
            panic!(
                "Chromium is not installed: this test drives the dashboard in headless Chromium \
                 at /usr/bin/chromium (Debian package `chromium`; `.ci/run` installs it with \
                 apt-get). Install it and run the test again."
            );
        };
        let profile = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1200,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("Chromium starts");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let port = tokio::time::timeout(STEP, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1) {
                    return rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
                }
                seen.push(line);
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("Chromium did not open its DevTools port: {seen:?}"));
        // Keep reading stderr so that Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Browser {
            child,
            port,
            _profile: profile,
        }
    }

    /// A CDP connection to the page Chromium opened.
    async fn page(&self) -> Cdp {
        let list: Vec<Value> = reqwest::get(format!("http://127.0.0.1:{}/json/list", self.port))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let target = list
            .iter()
            .find(|t| t["type"] == "page")
            .unwrap_or_else(|| panic!("no page target: {list:?}"));
        let url = target["webSocketDebuggerUrl"].as_str().unwrap();
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut cdp = Cdp {
            ws,
            next: 0,
            events: VecDeque::new(),
        };
        cdp.call("Page.enable", json!({})).await;
        cdp.call("Runtime.enable", json!({})).await;
        cdp
    }

    async fn close(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

struct World {
    sim: GitLabSim,
    app: TestApp,
    pid: u64,
}

impl World {
    async fn settle(&self) {
        loop {
            let sent = self.sim.deliver_pending().await;
            self.app.drain().await;
            if sent.is_empty() && self.sim.with_world(|w| w.pending.is_empty()) {
                return;
            }
        }
    }
}

async fn world() -> World {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "api")
                    .file("Cargo.lock", lock("1.5.4"))
                    .file(
                        "Cargo.toml",
                        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n",
                    ),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me: User = gitlab.current_user().await.unwrap();
    let reference = crate::harness::test_data("");
    let app = spawn(Options {
        gitlab: Some((gitlab, me)),
        fixer: Some(Arc::new(CargoLockLines)),
        tweak: Box::new(move |s| {
            s.advisories = vec![reference.join("rustsec-advisory-db")];
            s.auto_approve = None;
        }),
        ..Options::default()
    })
    .await;
    sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(app.webhook_url()).token(SECRET)))
        .unwrap();
    World { sim, app, pid }
}

fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots").join(name)
}

/// Shows `path` at `width` px, checks that it neither scrolls sideways nor shows an API word,
/// a literal backtick or a "(s)" plural, and (with a `name`) saves a screenshot under target/.
async fn check_and_shoot(page: &mut Cdp, base: &str, path: &str, width: u64, name: Option<&str>) {
    let (height, mobile) = if width < 600 {
        (844, true)
    } else {
        (900, false)
    };
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
    )
    .await;
    page.goto(&format!("{base}{path}")).await;
    let wide = page.eval("document.documentElement.scrollWidth").await;
    assert!(
        wide.as_u64().unwrap() <= width,
        "{path} is {wide} px wide on a {width} px screen"
    );
    let text = page.text().await;
    for api_word in ["mr_open", "not_fixable", "`", "(s)"] {
        assert!(
            !text.contains(api_word),
            "{path} shows {api_word:?}:\n{text}"
        );
    }
    let Some(name) = name else {
        return;
    };
    let shot = page
        .call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        )
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let file = screenshot_path(&format!("dashboard-{name}-{width}.png"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_log_in_approve_and_see_the_mr_reference() {
    let w = world().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert!(w
        .sim
        .with_world(|x| x.project(w.pid).unwrap().merge_requests.is_empty()));

    let browser = Browser::launch().await;
    let mut page = browser.page().await;
    let base = w.app.base.clone();

    // Log in.
    page.goto(&format!("{base}/")).await;
    assert_eq!(page.path().await, "/login");
    page.navigating(&format!(
        "document.querySelector('input[name=token]').value = {}; \
         document.querySelector('form[action=\"/login\"] button').click()",
        json!(ADMIN_TOKEN)
    ))
    .await;
    assert_eq!(page.path().await, "/");
    let overview = page.text().await;
    assert!(overview.contains("Overview"), "{overview}");
    assert!(overview.contains("waiting for approval"), "{overview}");
    assert!(!overview.contains(ADMIN_TOKEN));

    // The project, found through the list, with its vulnerable dependency and waiting plan.
    page.goto(&format!("{base}/projects?q=acme")).await;
    page.navigating(
        "[...document.querySelectorAll('a')].find(a => a.textContent === 'acme/api').click()",
    )
    .await;
    assert_eq!(page.path().await, format!("/projects/{}", w.pid));
    let text = page.text().await;
    assert!(text.contains("regex 1.5.4"), "{text}");
    assert!(text.contains("RUSTSEC-2022-0013"), "{text}");
    assert!(text.contains("planned"), "{text}");

    // The approvals page while the plan waits, on a desktop and a phone.
    for width in [1280, 390] {
        check_and_shoot(&mut page, &base, "/approvals", width, Some("approvals")).await;
    }
    page.call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;

    // Approve it from the approvals page.
    page.goto(&format!("{base}/approvals")).await;
    let text = page.text().await;
    assert!(
        text.contains("Approvals (1)") && text.contains("regex"),
        "{text}"
    );
    page.navigating("document.querySelector('form[action$=\"/approve\"] button').click()")
        .await;
    assert!(
        page.path()
            .await
            .starts_with(&format!("/projects/{}?approved=", w.pid)),
        "{}",
        page.path().await
    );
    // The MR link: on the page after the approval, or after a few reloads (bounded).
    let mut link = Value::Null;
    for _ in 0..50 {
        link = page
            .eval("(document.querySelector('a.mr') || {}).href || null")
            .await;
        if !link.is_null() {
            break;
        }
        page.navigating("location.reload()").await;
    }
    let link = link
        .as_str()
        .expect("the MR link appears on the project page")
        .to_string();
    let text = page.text().await;
    assert!(text.contains("MR open"), "{text}");
    assert!(text.contains("approved by dashboard"), "{text}");
    w.settle().await;
    let mrs = w
        .sim
        .with_world(|x| x.project(w.pid).unwrap().merge_requests.clone());
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].state, MrState::Opened);
    assert_eq!(mrs[0].source_branch, "backline/crates.io/regex-1.5.5");
    assert!(
        link.ends_with(&format!("/merge_requests/{}", mrs[0].iid)),
        "{link}"
    );
    let (_, rem) = w.app.api("/api/v1/remediations").await;
    assert_eq!(rem["items"][0]["approved_by"], "dashboard");
    assert_eq!(rem["items"][0]["sla_breached"], false);
    let due = rem["items"][0]["sla_due_at"].as_str().unwrap().to_string();
    assert!(
        due.as_str() > rem["items"][0]["detected_at"].as_str().unwrap(),
        "{due}"
    );
    let (_, summary) = w.app.api("/api/v1/summary").await;
    assert_eq!(summary["fixes_open"], 1);
    assert_eq!(summary["waiting_for_approval"], 0);

    // Screenshots of the overview and the project page (with its MR) on a desktop and a phone,
    // saved under target/; on neither do the pages scroll sideways (wide tables scroll inside),
    // and no page shows an API word, a literal backtick or a "(s)" plural.
    let project_path = format!("/projects/{}", w.pid);
    for width in [1280, 390] {
        for (name, path) in [
            (Some("overview"), "/"),
            (Some("project"), project_path.as_str()),
            (None, "/approvals"),
            (None, "/deliveries"),
        ] {
            check_and_shoot(&mut page, &base, path, width, name).await;
        }
    }
    page.call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    page.goto(&format!("{base}/")).await;
    let text = page.text().await;
    assert!(text.contains("fix open (MR)"), "{text}");
    assert!(!text.contains("1 projects"), "{text}");
    assert!(
        text.contains("Vulnerable packages now, by worst severity"),
        "{text}"
    );

    browser.close().await;
    w.app.shutdown().await;
}
