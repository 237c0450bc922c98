//! The application: store, inbox, lanes, workers and HTTP server, built once from settings.
//! `backline serve` and the tests build the same [`App`].

use std::net::TcpListener;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};
use futures_util::FutureExt;

use crate::catalog::{Catalog, CatalogService, HookManager, NamespaceFilter};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::engine::background::Background;
use crate::engine::{AdvisoryIndex, Engine, EngineParts, Scanner, ScannerParts};
use crate::findings::table::FindingsTable;
use crate::gitlab::rest::User;
use crate::gitlab::GitLab;
use crate::handlers::{Handler, Reactor};
use crate::http::verify::Verifier;
use crate::http::AppState;
use crate::inbox::Inbox;
use crate::inventory::Inventory;
use crate::lanes::Lanes;
use crate::metrics::Metrics;
use crate::periodic::{Cadence, Coordinator, Election, Job};
use crate::retry::RetryPolicy;
use crate::store::pg::PeriodicJob;
use crate::store::{Store, StoreError};
use crate::worker::{WorkerContext, WorkerPool};

/// How often finished deliveries older than the retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often non-security upgrades waiting for a `schedule` window are looked at (windows are
/// minutes wide).
const SCHEDULE_TICK: Duration = Duration::from_secs(60);

/// The assembled application.
pub struct App {
    /// Settings.
    pub settings: Arc<Settings>,
    /// The store.
    pub store: Store,
    /// The inbox.
    pub inbox: Inbox,
    /// The schedule.
    pub lanes: Arc<Lanes>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The project catalog.
    pub catalog: Catalog,
    /// Catalog sync and reconciliation, when GitLab is configured.
    pub catalog_service: Option<Arc<CatalogService>>,
    /// Manifests per project.
    pub inventory: Inventory,
    /// Findings per project.
    pub findings: FindingsTable,
    /// Scans, reactions, acting and advisory syncs, when GitLab is configured.
    pub engine: Option<Arc<Engine>>,
    /// Bytes of not-yet-verified webhook bodies buffered right now, and their cap.
    pub unverified_budget: Arc<crate::http::budget::ByteBudget>,
    /// This replica's name in leases (the inbox's claims and the periodic jobs' election).
    pub replica: crate::store::pg::ReplicaId,
    handler: Arc<dyn Handler>,
    live_workers: Arc<AtomicUsize>,
    replayed: usize,
}

/// Why the bot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The registry client could not be set up (proxy, CA bundle): the bot would report every
    /// fix as not fixable, so it does not start.
    #[error("could not set up the package registry client: {0}")]
    Registry(#[from] crate::registry::RegistryError),
}

/// Opens the data directory and brings an older schema up to date before anything reads it.
fn open_store(settings: &Settings) -> Result<Store, StoreError> {
    let store = Store::open_for(settings)?;
    if let Some(done) = crate::upgrade::upgrade(&store)? {
        tracing::info!(
            from = done.from,
            to = crate::store::SCHEMA_VERSION,
            remediations = done.remediations,
            derived_rows_dropped = done.derived_dropped,
            "data directory upgraded; every project is rescanned at the next sync"
        );
    }
    Ok(store)
}

impl App {
    /// Opens the store and loads every pending delivery into the lanes (replay after a stop or
    /// a crash). Workers are started separately.
    pub fn build(settings: Settings, handler: Arc<dyn Handler>) -> Result<App, StoreError> {
        let store = open_store(&settings)?;
        let catalog = Catalog::open(&store)?;
        let lanes = Arc::new(Lanes::new());
        Self::assemble(settings, store, catalog, handler, lanes, None, None)
    }

    /// The bot proper: reactions to GitLab's events through `gitlab`, acting as `bot` (the
    /// token's user), with the catalog kept by sync and system hooks.
    pub fn build_for_gitlab(
        settings: Settings,
        gitlab: GitLab,
        bot: User,
    ) -> Result<App, BuildError> {
        let registry = crate::remediation::fixer::registry_for(settings.registry_config())?;
        let fixer: Arc<dyn crate::remediation::executor::Fixer> =
            Arc::new(crate::remediation::fixer::PatchFixer::new(registry.clone()));
        Ok(Self::build_for_gitlab_with(
            settings, gitlab, bot, fixer, registry,
        )?)
    }

    /// [`App::build_for_gitlab`] with the given fixer (tests give one over a fake registry).
    pub fn build_for_gitlab_with(
        settings: Settings,
        gitlab: GitLab,
        bot: User,
        fixer: Arc<dyn crate::remediation::executor::Fixer>,
        registry: Arc<dyn crate::registry::Registry>,
    ) -> Result<App, StoreError> {
        Self::build_for_gitlab_clocked(
            settings,
            gitlab,
            bot,
            fixer,
            registry,
            crate::clock::Clock::system(),
        )
    }

    /// [`App::build_for_gitlab_with`] reading schedule windows against `clock` (tests move a
    /// given clock instead of waiting).
    pub fn build_for_gitlab_clocked(
        settings: Settings,
        gitlab: GitLab,
        bot: User,
        fixer: Arc<dyn crate::remediation::executor::Fixer>,
        registry: Arc<dyn crate::registry::Registry>,
        clock: crate::clock::Clock,
    ) -> Result<App, StoreError> {
        let store = open_store(&settings)?;
        let catalog = Catalog::open(&store)?;
        let filter =
            NamespaceFilter::new(&settings.namespace_allowlist, &settings.namespace_denylist);
        let hooks = match (&settings.public_url, settings.manage_hooks) {
            // The last secret is the current one (earlier entries are accepted during rotation).
            (Some(url), true) => Some(HookManager::new(url, settings.webhook_secrets.last())),
            _ => None,
        };
        let mut loaded = load_advisories(&store, &settings.advisories)?;
        loaded.set_unknown_severity(settings.unknown_severity);
        let index = AdvisoryIndex::new(loaded);
        // Parent releases a transitive fix bumps to are checked against the same advisories.
        fixer.use_advisories(index.clone());
        let policies = crate::policy::PolicyTable::open(
            &store,
            crate::policy::InstanceDefaults {
                auto_approve: settings.auto_approve,
                max_open_mrs: settings.max_open_mrs,
                labels: settings.mr_labels.clone(),
                update_outdated: settings.update_outdated,
            },
        )?;
        let executor = Arc::new(
            crate::remediation::executor::Executor::new(
                gitlab.clone(),
                crate::remediation::table::Remediations::open(&store)?,
                fixer,
                bot.clone(),
                crate::remediation::executor::MrSettings {
                    title_prefix: settings.mr_title_prefix.clone(),
                    labels: settings.mr_labels.clone(),
                    policy: crate::remediation::planner::Policy {
                        auto_approve: settings.auto_approve,
                        max_open_mrs: settings.max_open_mrs,
                        upgrades_wait: None,
                    },
                },
            )
            .with_policies(policies.clone())
            .with_clock(clock)
            .with_pipelines(crate::pipeline::table::PipelineTable::open(&store)?)
            .with_people(crate::remediation::people_steps::MrPeopleTable::open(
                &store,
            )?),
        );
        let scanner = Arc::new(Scanner::new(ScannerParts {
            gitlab: gitlab.clone(),
            catalog: catalog.clone(),
            inventory: Inventory::open(&store)?,
            findings: FindingsTable::open(&store)?,
            index: index.clone(),
            executor,
            outdated: crate::engine::outdated::OutdatedChecks::new(
                registry,
                crate::findings::outdated::OutdatedTable::open(&store)?,
                settings.update_outdated,
            ),
            policies: Some(policies),
            public_url: settings.public_url.clone(),
        }));
        let lanes = Arc::new(Lanes::new());
        let background = Arc::new(Background::new(
            scanner.clone(),
            lanes.clone(),
            settings.gitlab_max_concurrent,
        ));
        let mut service = CatalogService::new(catalog.clone(), gitlab, bot, filter, hooks)
            .with_after_sync(background.clone());
        if let Some(base) = settings.public_url.clone() {
            let for_badges = settings.clone();
            service = service.with_badges(crate::catalog::badges::BadgeRegistrar::new(Arc::new(
                move |p: &crate::catalog::CatalogProject| {
                    crate::http::badge::badge_url(&for_badges, &base, p)
                },
            )));
        }
        let service = Arc::new(service);
        let engine = Arc::new(Engine::new(EngineParts {
            scanner,
            background,
            index,
            catalog: service.clone(),
            store: store.clone(),
            sync_options: settings.sync_options(),
        }));
        let handler = Arc::new(
            Reactor::new(service.clone(), engine.clone()).with_mr_checks(
                crate::handlers::mrcheck::MrChecker {
                    table: crate::mrcheck::table::MrChecks::open(&store)?,
                    fail_on: settings.mr_check_fail_on,
                    public_url: settings.public_url.clone(),
                },
            ),
        );
        Self::assemble(
            settings,
            store,
            catalog,
            handler,
            lanes,
            Some(service),
            Some(engine),
        )
    }

    fn assemble(
        settings: Settings,
        store: Store,
        catalog: Catalog,
        handler: Arc<dyn Handler>,
        lanes: Arc<Lanes>,
        catalog_service: Option<Arc<CatalogService>>,
        engine: Option<Arc<Engine>>,
    ) -> Result<App, StoreError> {
        let inventory = Inventory::open(&store)?;
        let findings = FindingsTable::open(&store)?;
        let replica = settings
            .replica_id
            .clone()
            .map(crate::store::pg::ReplicaId::new)
            .unwrap_or_else(crate::store::pg::ReplicaId::generate);
        let inbox = Inbox::open_as(
            store.clone(),
            settings.inbox_max_bytes,
            crate::inbox::Replica {
                id: replica.clone(),
                lease: settings.lease,
            },
        )?;
        if let Some(db) = store.pg() {
            // Several replicas: a project's lane excludes every replica's work on it.
            lanes.share_with(db.clone());
        }
        let now = now_ms();
        let recovered = inbox.recover()?;
        if recovered.stale_entries + recovered.stale_dead_letters > 0 {
            tracing::warn!(
                stale_entries = recovered.stale_entries,
                stale_dead_letters = recovered.stale_dead_letters,
                "mended what an interrupted write had left in the inbox"
            );
        }
        let pending = recovered.pending;
        for p in &pending {
            let delay = p
                .not_before_ms
                .filter(|at| *at > now)
                .map(|at| Duration::from_millis((at - now) as u64));
            lanes.push(p.lane, p.seq, delay);
        }
        let metrics = Arc::new(Metrics::new());
        metrics.start_verification_failures(&crate::http::verify::VerifyError::LABELS);
        metrics.set_inbox_depth(lanes.depth());
        metrics.set_dead_letters(inbox.dead_count());
        Ok(App {
            unverified_budget: crate::http::budget::ByteBudget::new(
                settings.unverified_body_budget_bytes,
            ),
            settings: Arc::new(settings),
            store,
            replica,
            inbox,
            lanes,
            metrics,
            catalog,
            catalog_service,
            inventory,
            findings,
            engine,
            handler,
            live_workers: Arc::new(AtomicUsize::new(0)),
            replayed: pending.len(),
        })
    }

    /// Deliveries found pending when the store was opened.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The state shared by the HTTP handlers.
    pub fn http_state(&self) -> web::Data<AppState> {
        let s = &self.settings;
        web::Data::new(AppState {
            settings: self.settings.clone(),
            verifier: Verifier::new(
                &s.webhook_secrets,
                s.signing_keys.clone(),
                s.signature_tolerance,
                s.insecure_accept_unverified,
            ),
            unverified_budget: self.unverified_budget.clone(),
            refusal_log: crate::http::log_rate::LogRate::default(),
            sessions: crate::http::dashboard::session::SessionStore::open(&self.store)
                .expect("the sessions tree opens (the store is open)"),
            auth_guard: crate::http::throttle::AuthGuard::default(),
            inbox: self.inbox.clone(),
            lanes: self.lanes.clone(),
            metrics: self.metrics.clone(),
            live_workers: self.live_workers.clone(),
            catalog: self.catalog.clone(),
            catalog_service: self.catalog_service.clone(),
            inventory: self.inventory.clone(),
            findings: self.findings.clone(),
            outdated: crate::findings::outdated::OutdatedTable::open(&self.store)
                .expect("the outdated tree opens (the store is open)"),
            remediations: self.engine.as_ref().map(|e| e.executor().table.clone()),
            advisories: self.engine.as_ref().map(|e| e.advisories().status()),
            actions: crate::engine::queue::ActionQueue::new(self.inbox.clone(), self.lanes.clone()),
            mr_checks: crate::mrcheck::table::MrChecks::open(&self.store)
                .expect("the mr_checks tree opens (the store is open)"),
            policies: self
                .engine
                .as_ref()
                .and_then(|e| e.executor().policies().cloned()),
            pipelines: self
                .engine
                .as_ref()
                .and_then(|e| e.executor().pipelines().cloned()),
        })
    }

    /// The HTTP server on an already bound listener (not yet running: await or spawn it).
    pub fn server(&self, listener: TcpListener) -> std::io::Result<Server> {
        let state = self.http_state();
        let max_body = self.settings.max_body_bytes;
        let server = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .configure(crate::http::routes)
        })
        .disable_signals()
        // The head must arrive within 10 s (GitLab's own webhook timeout); the body has its own
        // timeout in the handler (`BACKLINE_BODY_READ_TIMEOUT_SECS`); an idle kept-alive
        // connection is closed after 5 s, and a closing one gets 2 s to go.
        .client_request_timeout(Duration::from_secs(10))
        .keep_alive(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(2))
        .shutdown_timeout(self.settings.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        Ok(server)
    }

    /// Starts the configured number of workers.
    pub fn start_workers(&self) -> WorkerPool {
        self.start_workers_n(self.settings.workers)
    }

    /// Starts `count` workers.
    pub fn start_workers_n(&self, count: usize) -> WorkerPool {
        let ctx = Arc::new(WorkerContext {
            inbox: self.inbox.clone(),
            lanes: self.lanes.clone(),
            handler: self.handler.clone(),
            metrics: self.metrics.clone(),
            retry: RetryPolicy::inbox(
                self.settings.max_attempts,
                self.settings.retry_base,
                self.settings.retry_max,
            ),
            live: self.live_workers.clone(),
        });
        WorkerPool::start(ctx, count)
    }

    /// Removes finished deliveries older than the retention period, and dead letters older
    /// than theirs or past their most kept. Returns how many deliveries went.
    pub async fn prune(&self) -> Result<usize, StoreError> {
        let retention = self.settings.delivery_retention.as_millis() as i64;
        let dead_retention = self.settings.dead_letter_retention.as_millis() as i64;
        let max = self.settings.dead_letter_max;
        let (removed, dead) = self
            .inbox
            .run(move |inbox| {
                let now = now_ms();
                let done = inbox.prune(now - retention)?;
                let buried = inbox.prune_dead(crate::inbox::DeadLetterLimits {
                    cutoff_ms: now - dead_retention,
                    max,
                })?;
                // Expired dashboard sessions go with them (the same hourly pass).
                crate::http::dashboard::session::SessionStore::open(inbox.store())?
                    .prune(now / 1000)?;
                Ok((done + buried, inbox.dead_count()))
            })
            .await?;
        self.metrics.set_dead_letters(dead);
        Ok(removed)
    }

    /// The periodic jobs' coordinator: alone on sled (one process holds the data directory),
    /// the lease election on PostgreSQL (one replica at a time runs each job).
    pub fn coordinator(&self) -> Arc<Coordinator> {
        let election = match self.store.pg() {
            Some(db) => Election::shared(db.clone(), self.replica.clone(), self.settings.lease),
            None => Election::solo(),
        };
        Coordinator::new(election, self.settings.lease, self.metrics.clone())
    }

    /// The periodic jobs `serve` runs: the catalog sync (with its after-sync work: scanning
    /// new and changed projects, reconciling MRs, fixes waiting for a registry), the advisory
    /// sync when it has an interval, the schedule tick, pruning. Explicit requests (`POST
    /// /api/v1/sync`, `POST /api/v1/advisories/sync`) are actions in the inbox, run by
    /// whichever replica's worker claims them, outside this.
    pub fn periodic_jobs(self: &Arc<Self>) -> Vec<Job> {
        let mut jobs = Vec::new();
        if let Some(service) = &self.catalog_service {
            let service = service.clone();
            let every = self.settings.sync_interval;
            jobs.push(Job {
                kind: PeriodicJob::CatalogSync,
                cadence: if every.is_zero() {
                    Cadence::AtStart
                } else {
                    Cadence::Every(every)
                },
                work: Arc::new(move || {
                    // Marked running in this call (`GET /api/v1/sync?wait_secs=` waits for
                    // it); a sync already running (asked through the API) is waited for, not
                    // repeated.
                    let running = service.start_sync();
                    let service = service.clone();
                    async move {
                        match running {
                            Some(run) => {
                                let _ = run.await;
                            }
                            None => service.wait_idle().await,
                        }
                    }
                    .boxed()
                }),
            });
        }
        if let Some(engine) = &self.engine {
            let every = self.settings.advisories_sync_interval;
            if !every.is_zero() {
                let advisories = engine.advisories().clone();
                jobs.push(Job {
                    kind: PeriodicJob::AdvisorySync,
                    cadence: Cadence::Every(every),
                    work: Arc::new(move || {
                        let advisories = advisories.clone();
                        async move {
                            match advisories.sync().await {
                                Ok(summary) => tracing::info!(
                                    advisories = summary.advisories,
                                    projects_rechecked = summary.projects_rechecked,
                                    "advisories synced"
                                ),
                                Err(e) => {
                                    tracing::warn!(error = %e, "advisory sync failed; the next one will try again")
                                }
                            }
                        }
                        .boxed()
                    }),
                });
            }
            // Non-security upgrades waiting for their `schedule` window open at the first tick
            // after it opens.
            let engine = engine.clone();
            jobs.push(Job {
                kind: PeriodicJob::ScheduleTick,
                cadence: Cadence::Every(SCHEDULE_TICK),
                work: Arc::new(move || {
                    let engine = engine.clone();
                    async move {
                        match engine.background().open_scheduled().await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(projects = n, "schedule windows opened"),
                            Err(e) => tracing::warn!(error = %e, "the schedule tick failed"),
                        }
                    }
                    .boxed()
                }),
            });
        }
        let app = self.clone();
        jobs.push(Job {
            kind: PeriodicJob::Prune,
            cadence: Cadence::Every(PRUNE_EVERY),
            work: Arc::new(move || {
                let app = app.clone();
                async move {
                    match app.prune().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "pruned finished deliveries"),
                        Err(e) => tracing::warn!(error = %e, "pruning failed"),
                    }
                }
                .boxed()
            }),
        });
        jobs
    }

    /// Serves until SIGTERM or SIGINT: then lets go of the periodic jobs (another replica takes
    /// them at once), stops accepting, lets running handlers finish (up to the shutdown
    /// timeout; the rest stay pending for the next start) and flushes the store.
    pub async fn run(self, listener: TcpListener) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        let server = self.server(listener)?;
        let handle = server.handle();
        let workers = self.start_workers();
        let app = Arc::new(self);
        let periodic = app.coordinator();
        // Started before the "listening" line, so that an API call made on seeing it already
        // finds a catalog sync due at start running (`GET /api/v1/sync?wait_secs=` then waits
        // for it).
        for job in app.periodic_jobs() {
            periodic.start(job).await;
        }
        tracing::info!(
            %address,
            workers = workers.len(),
            max_attempts = app.settings.max_attempts,
            replayed = app.replayed,
            data_dir = %app.settings.data_dir.display(),
            "backline is listening; webhooks go to POST /webhooks/gitlab"
        );
        let signals = {
            let periodic = periodic.clone();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("shutting down: no new deliveries; finishing running handlers");
                // First, so that another replica takes the periodic jobs at its next poll.
                periodic.stop().await;
                handle.stop(true).await;
            })
        };
        server.await?;
        signals.abort();
        periodic.stop().await;
        let finished = workers.shutdown(app.settings.shutdown_timeout).await;
        if !finished {
            tracing::warn!("some handlers did not finish in time; their deliveries stay queued and run on the next start");
        }
        app.store.flush_now()?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Imports the configured advisory databases into the store (each replacing what an earlier
/// import of the same path brought), then loads the whole stored index. A database that cannot
/// be read is logged and skipped: the stored index still serves.
fn load_advisories(
    store: &Store,
    paths: &[std::path::PathBuf],
) -> Result<crate::advisories::Index, StoreError> {
    for path in paths {
        match crate::advisories::import_into_store(store, path) {
            Ok((report, imported, _)) => tracing::info!(
                path = %path.display(),
                imported,
                errors = report.errors.len(),
                "advisories imported"
            ),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "could not import advisories")
            }
        }
    }
    let index = crate::advisories::persist::load_index(store)?;
    tracing::info!(
        advisories = index.stats().advisories,
        packages = index.stats().packages,
        "advisory index loaded"
    );
    Ok(index)
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
