//! gitlab-sim: a stateful fake GitLab for backline's tests, benchmarks and demo.
//!
//! It serves GitLab's REST API (the part backline uses) over real HTTP on loopback, from a
//! model of users, tokens, groups, projects, repositories, merge requests and notes, and it
//! sends webhooks built from that model with the real [`DeliveryBuilder`] and [`Sender`].
//!
//! ```no_run
//! use gitlab_sim::{access, GitLabSim, HookTarget, ProjectSpec, SimConfig};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let sim = GitLabSim::start(SimConfig::default())?;
//! let bot = sim.bot_user();
//! let pid = sim.with_world(|w| {
//!     let pid = w
//!         .create_project(ProjectSpec::new("acme/platform", "api").file("Cargo.lock", "..."))
//!         .unwrap();
//!     w.add_member(pid, bot, access::DEVELOPER).unwrap();
//!     w.add_project_hook(pid, HookTarget::new("http://127.0.0.1:9/hook").token("s")).unwrap();
//!     pid
//! });
//! // The client under test talks to `sim.url()` + "/api/v4" with `sim.bot_token()`.
//! let sha = sim
//!     .with_world(|w| w.commit_files(pid, bot, "main", "bump", vec![("a.txt".into(), Some("x".into()))]))
//!     .unwrap();
//! let delivered = sim.deliver_pending().await; // posts the queued Push Hook, in order
//! assert!(sim.unmodeled().is_empty());
//! # let _ = (sha, delivered);
//! sim.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Routes (under `/api/v4`; `:id` is a numeric id or a URL-encoded path)
//!
//! `GET /user`, `GET /version`, `GET /personal_access_tokens/self`, `GET /projects`
//! (`membership`, `min_access_level`, `archived`, `simple`, `search`, `order_by`, `sort`,
//! offset pagination or `pagination=keyset&order_by=id`), `GET /projects/:id`,
//! `GET .../repository/tree` (offset or keyset with `page_token`),
//! `GET .../repository/files/:file_path[/raw]`, `GET .../repository/compare`,
//! `GET|DELETE .../repository/branches/:branch`, `POST .../repository/branches`,
//! `POST .../repository/commits`, `GET .../repository/commits/:sha[/statuses]`,
//! `POST .../statuses/:sha`, `GET|POST .../merge_requests`,
//! `GET|PUT .../merge_requests/:iid`, `PUT .../merge_requests/:iid/rebase|merge`,
//! `GET|POST .../merge_requests/:iid/notes`, `GET|PUT .../notes/:note_id`,
//! `GET|POST .../award_emoji` on MRs and notes, `GET .../members/all/:user_id`,
//! `GET|POST .../hooks`, `GET|PUT|DELETE .../hooks/:hook_id`, `GET|POST .../badges`,
//! `PUT .../badges/:badge_id`. Anything else below `/api/v4` answers 501
//! `{"message":"gitlab-sim does not model <METHOD> <path>"}` and shows in
//! [`GitLabSim::unmodeled`].
//!
//! Package registries for the remediation planner are served beside the API (no token
//! needed): `GET /registry/crates/...` (crates.io sparse index), `GET /registry/npm/:name`
//! (packuments) and `GET /registry/pypi/pypi/:name[/:version]/json` (PyPI JSON API); see
//! [`SimRegistry`] and [`GitLabSim::registry`].
//!
//! # Known simplifications
//!
//! - Background jobs advance one step per API request ([`World::background_delay`], default
//!   2): `PUT .../rebase` answers 202 `{"rebase_in_progress":true}` and the rebase runs two
//!   requests later (`rebase_in_progress` false, or `merge_error` on conflict); a new MR is
//!   `preparing`, then `unchecked`; a read enqueues the check (`checking`) which is done by the
//!   next request; a push to its source or target branch makes it `unchecked` again.
//! - Forks: `World::fork_project` and MRs from a fork into its upstream (listed, hooked and
//!   read in the target project); pushing to a fork branch from upstream is not.
//! - Tags, pipelines, approvals and discussions are not modelled.
//! - Webhooks are queued by world mutations and sent only by [`GitLabSim::deliver_pending`]
//!   (the binary calls it every 100 ms); there are no retries or auto-disabling.
//! - Recursion blocking: a delivery caused by an API call carrying `X-Gitlab-Event-UUID`
//!   goes out with that UUID, and is dropped when that event's chain already reached the
//!   same hook (`World::blocked_deliveries`), as lib/gitlab/web_hooks/recursion_detection.rb.
//! - Project hooks accept `signing_token` (`whsec_...`, as GitLab 19.x does) and answer
//!   `token_present`/`signing_token_present`; neither token is ever returned.
//! - A dropped connection (fault injection) closes the socket before the response head.
#![recursion_limit = "256"]
#![warn(missing_docs)]

mod api;
pub mod events;
pub mod faults;
pub mod generator;
mod goproxy;
pub mod nuget_registry;
pub mod pages;
pub mod recorder;
pub mod registry;
pub mod repo;
pub mod util;
pub mod webhook;
pub mod world;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{web, App, HttpServer};

pub use faults::Faults;
pub use generator::{generate, import_dir, GenSummary};
pub use recorder::RecordedRequest;
pub use registry::SimRegistry;
pub use webhook::{Delivery, DeliveryBuilder, SendError, Sender, GITLAB_VERSION};
pub use world::{
    access, CommitRequest, FileAction, HookAlert, HookTarget, MergeCheck, MrSpec, MrState,
    PendingDelivery, PersonSpec, ProjectId, ProjectSpec, UserId, Visibility, World, WorldError,
};

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; default `127.0.0.1:0` (a free port).
    pub listen: SocketAddr,
    /// The bot user's personal access token (scopes `api`, `read_repository`,
    /// `write_repository`; no expiry).
    pub bot_token: String,
    /// The bot user's username.
    pub bot_username: String,
    /// actix worker threads.
    pub workers: usize,
    /// A system hook to configure at start.
    pub system_hook: Option<HookTarget>,
    /// GitLab's `external_url` (e.g. `https://gitlab.example.com`), used only for `Link`
    /// headers as GitLab builds them; `None`: links name the address served.
    pub external_url: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bot_token: "sim-token".into(),
            bot_username: "backline-bot".into(),
            workers: 1,
            system_hook: None,
            external_url: None,
        }
    }
}

/// A running simulator.
pub struct GitLabSim {
    addr: SocketAddr,
    url: String,
    bot_token: String,
    bot_user: UserId,
    world: Arc<Mutex<World>>,
    faults: Faults,
    recorder: recorder::Recorder,
    registry: SimRegistry,
    sender: Sender,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl GitLabSim {
    /// Binds, creates the bot user and its token, and serves on the current tokio runtime.
    /// Must be called from within a tokio runtime.
    pub fn start(config: SimConfig) -> io::Result<GitLabSim> {
        let listener = TcpListener::bind(config.listen)?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let mut w = World::new(url.clone());
        let bot = w.create_user(&config.bot_username, "Backline Bot");
        if let Some(u) = w.users.get_mut(&bot) {
            u.bot = true;
        }
        w.bot_user = bot;
        w.create_token(
            bot,
            &config.bot_token,
            &["api", "read_repository", "write_repository"],
            None,
        );
        if let Some(h) = config.system_hook.clone() {
            w.add_system_hook(h);
        }
        let world = Arc::new(Mutex::new(w));
        let faults = Faults::default();
        let recorder = recorder::Recorder::default();
        let registry = SimRegistry::with_defaults(&url);
        let link_origin = config
            .external_url
            .as_deref()
            .map(api::pagination::LinkOrigin::parse)
            .transpose()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let shared = api::Shared {
            world: world.clone(),
            faults: faults.clone(),
            recorder: recorder.clone(),
            registry: registry.clone(),
            link_origin,
            sender: Sender::default(),
        };
        let configure = api::configure(shared);
        let server = HttpServer::new(move || {
            App::new()
                .configure(configure.clone())
                .default_service(web::to(api::entry))
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(GitLabSim {
            addr,
            url,
            bot_token: config.bot_token,
            bot_user: bot,
            world,
            faults,
            recorder,
            registry,
            sender: Sender::default(),
            handle,
            task,
        })
    }

    /// The instance root, `http://127.0.0.1:PORT` (the API is below `/api/v4`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `url()` + `/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bot user's token.
    pub fn bot_token(&self) -> &str {
        &self.bot_token
    }

    /// The bot user's id.
    pub fn bot_user(&self) -> UserId {
        self.bot_user
    }

    /// Locks the world. Keep the guard short; never hold it across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the world locked.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world())
    }

    /// The package registries served under `/registry/...` (crates.io sparse index, npm,
    /// PyPI JSON API); add packages through it.
    pub fn registry(&self) -> &SimRegistry {
        &self.registry
    }

    /// The fault table.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorder.all()
    }

    /// How many requests hit `METHOD pattern`, e.g. `count("GET", "/projects/:id")`.
    pub fn count(&self, method: &str, pattern: &str) -> usize {
        self.recorder.count(method, pattern)
    }

    /// Requests to routes the simulator does not model (answered 501, or outside `/api/v4`).
    pub fn unmodeled(&self) -> Vec<RecordedRequest> {
        self.recorder.unmodeled()
    }

    /// The most requests the simulator was answering at once (since the last reset).
    pub fn max_in_flight(&self) -> usize {
        self.recorder.max_in_flight()
    }

    /// Forgets recorded requests.
    pub fn reset_requests(&self) {
        self.recorder.clear()
    }

    /// Takes the queued webhook deliveries without sending them.
    pub fn take_pending(&self) -> Vec<PendingDelivery> {
        std::mem::take(&mut self.world().pending)
    }

    /// Posts every queued webhook, in order, as GitLab would (headers, secret token, signature
    /// from [`DeliveryBuilder`]). Returns each delivery with the receiver's status, or 0 when
    /// it could not be delivered (connection failure, malformed signing token).
    pub async fn deliver_pending(&self) -> Vec<(Delivery, u16)> {
        // The runner finishes the running pipelines first (their hooks go out with the rest).
        self.with_world(|w| w.run_pipelines());
        let pending = self.take_pending();
        let mut out = Vec::with_capacity(pending.len());
        for mut p in pending {
            // WebHookService#execute: a hook disabled since the event was queued is not sent.
            // (What was queued for a hook deleted since, with its project, is still sent.)
            if let Some((project, hook)) = p.hook {
                let now = util::now_ms();
                let executable = self.with_world(|w| {
                    w.projects
                        .get(&project)
                        .and_then(|pr| pr.hooks.iter().find(|h| h.id == hook))
                        .is_none_or(|h| h.executable(now))
                });
                if !executable {
                    continue;
                }
            }
            let uuid = self.with_world(|w| w.start_chain(&mut p));
            let mut b = DeliveryBuilder::new(p.event, p.body)
                .instance(self.url.clone())
                .event_uuid(uuid);
            if let Some(t) = &p.target.token {
                b = b.secret_token(t.clone());
            }
            if let Some(t) = &p.target.signing_token {
                b = b.signing_token(t.clone());
            }
            let delivery = match b.build() {
                Ok(d) => d,
                Err(_) => continue,
            };
            let status = match self.sender.send(&p.target.url, &delivery).await {
                Ok(r) => r.status,
                Err(e) => {
                    tracing::debug!("webhook not delivered: {e}");
                    0
                }
            };
            if let Some((project, hook)) = p.hook {
                self.with_world(|w| w.record_hook_outcome(project, hook, status));
            }
            out.push((delivery, status));
        }
        out
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.handle.stop(false).await;
        let _ = self.task.await;
    }
}
