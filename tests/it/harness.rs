//! `spawn_app()`: a running backline on an ephemeral loopback port, with helpers to send
//! deliveries and to drain the workers (no sleeps: tests await the inbox becoming idle).

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backline::app::App;
use backline::config::Settings;
use backline::gitlab::hooks::HookEvent;
use backline::handlers::{Handler, HandlerError, RecordingHandler};
use backline::http::verify::SigningKey;
use backline::inbox::DeliveryRecord;
use backline::secret::Secret;
use backline::worker::WorkerPool;
use gitlab_sim::{Delivery, DeliveryBuilder, Sender};
use serde_json::Value;

pub const SECRET: &str = "test-secret-token";
pub const OLD_SECRET: &str = "previous-secret-token";
pub const SIGNING_TOKEN: &str = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// A running app.
pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub http: reqwest::Client,
    pub sender: Sender,
    workers: Option<WorkerPool>,
    server: actix_web::dev::ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

/// Options of [`spawn`].
pub struct Options {
    pub handler: Arc<dyn Handler>,
    /// Build the real bot against this GitLab, as this user (the handler is then unused).
    pub gitlab: Option<(backline::gitlab::GitLab, backline::gitlab::rest::User)>,
    /// The fixer for the bot (default: the patcher over `registry`).
    pub fixer: Option<Arc<dyn backline::remediation::executor::Fixer>>,
    /// The package registry (default: an empty fake; tests never reach the public ones).
    pub registry: Option<Arc<dyn backline::registry::Registry>>,
    pub workers: usize,
    pub tweak: Box<dyn FnOnce(&mut Settings)>,
    /// Set `public_url` to the app's own loopback address (GitLab reaches it).
    pub public_url_is_self: bool,
    /// The clock schedule windows are read against (default: the system clock).
    pub clock: Option<backline::clock::Clock>,
    /// Where the store lives.
    pub backend: Backend,
}

/// The store backend of a test app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// sled in a temporary data directory.
    Sled,
    /// PostgreSQL: a fresh schema of `BACKLINE_TEST_DATABASE_URL`'s database.
    Pg,
}

/// A loopback port free right now (for a `serve` process told where to listen).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh schema on the test database, as `BACKLINE_DATABASE_URL` for one app.
pub async fn fresh_database() -> backline::store::pg::DatabaseUrl {
    let raw = std::env::var("BACKLINE_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "BACKLINE_TEST_DATABASE_URL is not set: the PostgreSQL end-to-end tests need a real \
             server (Debian/Ubuntu: sudo apt-get install postgresql; then set \
             BACKLINE_TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DATABASE)"
        )
    });
    let base = backline::store::pg::DatabaseUrl::parse(&raw).expect("a usable test database URL");
    backline::store::pg::PgStore::create_schema(&base, &backline::net::Network::default(), "it")
        .await
        .expect("a fresh schema on the test database")
}

impl Default for Options {
    fn default() -> Self {
        Options {
            handler: Arc::new(RecordingHandler),
            gitlab: None,
            fixer: None,
            registry: None,
            workers: 4,
            tweak: Box::new(|_| {}),
            public_url_is_self: false,
            clock: None,
            backend: Backend::Sled,
        }
    }
}

/// The default app: token and signature verification, admin API, four workers.
pub async fn spawn_app() -> TestApp {
    spawn(Options::default()).await
}

pub async fn spawn(options: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.webhook_secrets = vec![Secret::new(OLD_SECRET), Secret::new(SECRET)];
    settings.signing_keys = vec![SigningKey::from_token(SIGNING_TOKEN).unwrap()];
    settings.admin_token = Some(Secret::new(ADMIN_TOKEN));
    settings.retry_base = std::time::Duration::ZERO;
    settings.workers = options.workers;
    if options.backend == Backend::Pg {
        settings.database_url = Some(fresh_database().await);
        settings.replica_id = Some("it".to_string());
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    if options.public_url_is_self {
        settings.public_url = Some(base.clone());
    }
    (options.tweak)(&mut settings);
    let app = match options.gitlab {
        Some((gitlab, bot)) => {
            // Never the public registries in tests: an empty fake unless the test brings one.
            let registry: Arc<dyn backline::registry::Registry> = options
                .registry
                .unwrap_or_else(|| Arc::new(backline::registry::FakeRegistry::new()));
            let fixer = options.fixer.unwrap_or_else(|| {
                Arc::new(backline::remediation::fixer::PatchFixer::new(
                    registry.clone(),
                ))
            });
            App::build_for_gitlab_clocked(
                settings,
                gitlab,
                bot,
                fixer,
                registry,
                options.clock.unwrap_or_default(),
            )
        }
        None => App::build(settings, options.handler),
    };
    let app = Arc::new(app.expect("app builds"));
    let server = app.server(listener).expect("server");
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let workers = Some(app.start_workers());
    TestApp {
        base,
        app,
        http: reqwest::Client::new(),
        sender: Sender::default(),
        workers,
        server: handle,
        server_task,
        _dir: dir,
    }
}

impl TestApp {
    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/gitlab", self.base)
    }

    /// Sends a delivery; returns status and JSON body.
    pub async fn deliver(&self, delivery: &Delivery) -> (u16, Value) {
        let response = self
            .sender
            .send(&self.webhook_url(), delivery)
            .await
            .expect("delivery answered");
        let body = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        (response.status, body)
    }

    /// Sends a body with the secret token.
    pub async fn deliver_with_token(&self, event: &str, body: &[u8]) -> (u16, Value) {
        let d = DeliveryBuilder::new(event, body.to_vec())
            .secret_token(SECRET)
            .build()
            .unwrap();
        self.deliver(&d).await
    }

    /// Waits until every accepted delivery is finished.
    pub async fn drain(&self) {
        self.app.inbox.wait_idle(&self.app.lanes).await;
    }

    /// GET an API path with the admin token.
    pub async fn api(&self, path: &str) -> (u16, Value) {
        self.api_call(reqwest::Method::GET, path).await
    }

    /// POST an API path with the admin token.
    pub async fn api_post(&self, path: &str) -> (u16, Value) {
        self.api_call(reqwest::Method::POST, path).await
    }

    async fn api_call(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Stops the server and the workers and closes the store, as a graceful stop does.
    pub async fn shutdown(mut self) {
        self.server.stop(true).await;
        (&mut self.server_task).await.unwrap().unwrap();
        self.stop_workers().await;
        self.app.store.flush_now().unwrap();
        let app = self.app;
        assert_eq!(Arc::strong_count(&app), 1, "nothing else holds the app");
    }

    /// Stops the workers (the server keeps answering).
    pub async fn stop_workers(&mut self) {
        if let Some(w) = self.workers.take() {
            assert!(w.shutdown(std::time::Duration::from_secs(10)).await);
        }
    }
}

/// The example payloads with their header and expected classification.
#[derive(serde::Deserialize, Clone, Debug)]
pub struct Example {
    pub file: String,
    pub event: String,
    pub kind: String,
    pub accepted: bool,
}

pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/webhooks")
}

pub fn examples() -> Vec<Example> {
    let text = std::fs::read_to_string(examples_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn example_body(file: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(file)).unwrap()
}

/// A push payload for `project` with a marker in its message, so that bodies differ.
pub fn push_body(project: u64, marker: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&example_body("push.json")).unwrap();
    v["project_id"] = project.into();
    v["project"]["id"] = project.into();
    v["message"] = marker.into();
    serde_json::to_vec(&v).unwrap()
}

/// One handler call as a [`ScriptedHandler`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub seq: u64,
    pub project: Option<u64>,
    pub attempt: u32,
}

type Script = dyn Fn(&DeliveryRecord, &HookEvent) -> Result<String, HandlerError> + Send + Sync;

/// A handler that logs each call and answers by a script.
pub struct ScriptedHandler {
    pub calls: Mutex<Vec<Call>>,
    script: Box<Script>,
}

impl ScriptedHandler {
    pub fn new(
        script: impl Fn(&DeliveryRecord, &HookEvent) -> Result<String, HandlerError>
            + Send
            + Sync
            + 'static,
    ) -> Arc<Self> {
        Arc::new(ScriptedHandler {
            calls: Mutex::new(Vec::new()),
            script: Box::new(script),
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Handler for ScriptedHandler {
    async fn handle(
        &self,
        delivery: &DeliveryRecord,
        event: &HookEvent,
    ) -> Result<String, HandlerError> {
        self.calls.lock().unwrap().push(Call {
            seq: delivery.seq,
            project: delivery.project.map(|p| p.get()),
            attempt: delivery.attempts,
        });
        (self.script)(delivery, event)
    }
}

/// A file or folder under `tests/data/` (it ships with the repository); panics naming the
/// path when it is missing, so a partial checkout fails saying what it lacks.
pub fn test_data(relative: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative);
    assert!(
        path.exists(),
        "test data missing: {} (it ships with the repository under tests/data/)",
        path.display()
    );
    path
}
