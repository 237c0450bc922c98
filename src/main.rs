//! The `backline` command line.

use std::io::IsTerminal;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
#[cfg(feature = "demo")]
use clap::Args;
use clap::{Parser, Subcommand};

use backline::app::App;
use backline::catalog::{Catalog, CatalogService, NamespaceFilter, SyncProgress};
use backline::config::{self, CommonArgs, FileConfig, ServeArgs, Settings};
use backline::gitlab::check::{check, Startup};
use backline::gitlab::{ClientConfig, GitLab};
use backline::handlers::RecordingHandler;
use backline::store::{Store, StoreError};

/// A self-hosted GitLab security-remediation bot.
#[derive(Parser)]
#[command(name = "backline", version, about)]
struct Cli {
    /// Config file [default: ./backline.toml when it exists].
    #[arg(long, global = true, env = "BACKLINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the webhook server and the workers.
    Serve(Box<ServeArgs>),
    /// Catalog every project the token can reach (Developer or more, not archived), once.
    Sync(Box<CommonArgs>),
    /// Advisory database: import, sync, stats.
    Advisories(backline::cli::advisories::AdvisoriesArgs),
    /// The whole loop against a built-in GitLab simulator (no GitLab or network needed).
    #[cfg(feature = "demo")]
    Demo(backline::demo::DemoArgs),
    /// Check a deployment with the settings `serve` would use: data dir, GitLab and its TLS
    /// chain, token, role, hooks, registries, advisories. Exit 0 when all pass, 1 when a check
    /// fails, 2 on bad configuration.
    Doctor(Box<ServeArgs>),
    /// Scan a checkout or a manifest offline; exit code 1 when a vulnerability is found.
    Scan(backline::scan::ScanArgs),
    /// Copy a sled data directory into PostgreSQL (`--from-sled DIR`); idempotent.
    Migrate(backline::store::pg::from_sled::MigrateArgs),
    /// Webhook tools.
    #[cfg(feature = "demo")]
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[cfg(feature = "demo")]
#[derive(Subcommand)]
enum WebhookCommand {
    /// Post a payload file as GitLab would, with every GitLab header.
    Send(SendArgs),
}

#[cfg(feature = "demo")]
#[derive(Args)]
struct SendArgs {
    /// The JSON payload (e.g. examples/webhooks/push.json).
    file: PathBuf,
    /// The webhook endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8080/webhooks/gitlab")]
    url: String,
    /// Send this secret token as X-Gitlab-Token.
    #[arg(
        long,
        env = "BACKLINE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ','
    )]
    secret: Option<Vec<String>>,
    /// Sign with this whsec_ token (webhook-id, webhook-timestamp, webhook-signature).
    #[arg(
        long,
        env = "BACKLINE_WEBHOOK_SIGNING_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    signing_token: Option<Vec<String>>,
    /// X-Gitlab-Event [default: guessed from the payload's object_kind / event_name].
    #[arg(long)]
    event: Option<String>,
    /// A fixed Idempotency-Key / webhook-id (to try deduplication) [default: a fresh UUID].
    #[arg(long)]
    idempotency_key: Option<String>,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BACKLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn load_file_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    match path {
        Some(p) => Ok(FileConfig::load(p)?),
        None => {
            let default = Path::new("backline.toml");
            if default.exists() {
                Ok(FileConfig::load(default)?)
            } else {
                Ok(FileConfig::default())
            }
        }
    }
}

async fn serve(config_path: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    let file = load_file_config(config_path)?;
    let settings = config::resolve(args, file)?;
    config::require_verification(&settings)?;
    if settings.insecure_accept_unverified && !settings.verification_configured() {
        tracing::warn!("accepting UNVERIFIED webhooks (--insecure-accept-unverified): anyone who can reach this port can queue events");
    }
    let listener = TcpListener::bind(settings.listen)
        .with_context(|| format!("could not listen on {}", settings.listen))?;
    let app = match gitlab_client(&settings)? {
        None => {
            tracing::warn!("no GitLab configured (BACKLINE_GITLAB_URL, BACKLINE_GITLAB_TOKEN): deliveries are recorded, nothing is acted on");
            App::build(settings, Arc::new(RecordingHandler))?
        }
        Some(gitlab) => {
            let startup = check(&gitlab)
                .await
                .context("the GitLab start-up check failed")?;
            log_startup(&startup);
            if startup.may_act() {
                App::build_for_gitlab(settings, gitlab, startup.user)?
            } else {
                tracing::error!("the token lacks the `api` scope: backline will record deliveries but not act on any project until it is given a token with `api`");
                App::build(settings, Arc::new(RecordingHandler))?
            }
        }
    };
    if app.replayed() > 0 {
        tracing::info!(
            count = app.replayed(),
            "replaying deliveries left pending by the last run"
        );
    }
    app.run(listener).await
}

/// The GitLab client, when both the URL and the token are configured.
fn gitlab_client(settings: &Settings) -> anyhow::Result<Option<GitLab>> {
    match (&settings.gitlab_url, &settings.gitlab_token) {
        (None, None) => Ok(None),
        (Some(url), Some(token)) => {
            let mut config = ClientConfig::new(url.clone(), token.clone());
            config.max_concurrent = settings.gitlab_max_concurrent;
            config.timeout = settings.gitlab_timeout;
            config.network = settings.network.clone();
            Ok(Some(GitLab::new(config)?))
        }
        (Some(_), None) => {
            anyhow::bail!("BACKLINE_GITLAB_URL is set but BACKLINE_GITLAB_TOKEN is not")
        }
        (None, Some(_)) => {
            anyhow::bail!("BACKLINE_GITLAB_TOKEN is set but BACKLINE_GITLAB_URL is not")
        }
    }
}

fn log_startup(s: &Startup) {
    tracing::info!(
        user = %s.user.username,
        user_id = %s.user.id,
        gitlab_version = s.version.as_ref().map(|v| v.version.as_str()).unwrap_or("unknown"),
        scopes = s.token.as_ref().map(|t| t.scopes.join(",")).unwrap_or_else(|| "unknown".into()),
        expires_at = s.token.as_ref().and_then(|t| t.expires_at.as_deref()).unwrap_or("never"),
        "connected to GitLab"
    );
    for warning in s.assessment.iter().flat_map(|a| &a.warnings) {
        tracing::warn!("{warning}");
    }
}

/// Progress of `backline sync`: a spinner on a terminal, a log line every ten pages otherwise.
struct SyncDisplay {
    bar: Option<indicatif::ProgressBar>,
    pages: std::sync::atomic::AtomicUsize,
}

impl SyncProgress for SyncDisplay {
    fn listed(&self, listed: usize) {
        let pages = self
            .pages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        match &self.bar {
            Some(bar) => bar.set_message(format!("{listed} projects listed")),
            None if pages % 10 == 0 => tracing::info!(listed, pages, "listing projects"),
            None => {}
        }
    }
}

async fn sync(config_path: Option<&Path>, common: CommonArgs) -> anyhow::Result<bool> {
    let file = load_file_config(config_path)?;
    // `sync` has no --listen; the address only serves the hint below when a server holds the
    // store, so it follows the server's own setting.
    let args = ServeArgs {
        common,
        listen: std::env::var("BACKLINE_LISTEN").ok(),
        ..Default::default()
    };
    let settings = config::resolve(args, file)?;
    let gitlab = gitlab_client(&settings)?.context(
        "backline sync needs BACKLINE_GITLAB_URL and BACKLINE_GITLAB_TOKEN (or --gitlab-url and --gitlab-token)",
    )?;
    let store = match Store::open(&settings.data_dir) {
        Ok(store) => store,
        Err(StoreError::Locked(dir)) => anyhow::bail!(
            "data directory {} is held by a running `backline serve`; ask it to sync instead:\n  curl -X POST -H \"Authorization: Bearer $BACKLINE_ADMIN_TOKEN\" http://{}/api/v1/sync",
            dir.display(),
            settings.listen
        ),
        Err(e) => return Err(e.into()),
    };
    let startup = check(&gitlab)
        .await
        .context("the GitLab start-up check failed")?;
    log_startup(&startup);
    let filter = NamespaceFilter::new(&settings.namespace_allowlist, &settings.namespace_denylist);
    let service = CatalogService::new(Catalog::open(&store)?, gitlab, startup.user, filter, None);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message("listing projects");
        bar
    });
    let display = SyncDisplay {
        bar,
        pages: Default::default(),
    };
    let result = service.sync(&display).await;
    if let Some(bar) = &display.bar {
        bar.finish_and_clear();
    }
    let report = result?;
    store.flush_now()?;
    println!(
        "catalog: {} projects ({} added, {} updated, {} unchanged, {} removed, {} outside the namespace lists) in {} ms, {} GitLab requests",
        service.catalog.len(),
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        report.filtered_out,
        report.duration_ms,
        report.requests
    );
    Ok(true)
}

/// `backline doctor`: bad configuration exits 2 before any check runs.
async fn doctor(config_path: Option<&Path>, args: ServeArgs) -> ExitCode {
    let configured = load_file_config(config_path)
        .and_then(|file| Ok(config::resolve(args, file)?))
        .and_then(|settings| Ok((gitlab_client(&settings)?, settings)));
    let (gitlab, settings) = match configured {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: bad configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    let checks = backline::doctor::run(&settings, gitlab.as_ref()).await;
    print!("{}", backline::doctor::render(&checks));
    ExitCode::from(backline::doctor::exit_code(&checks))
}

/// `backline webhook send`: builds and posts the delivery with the simulator's sender (the
/// same headers and signatures the simulator's GitLab sends), so it comes with `demo`.
#[cfg(feature = "demo")]
async fn send(args: SendArgs) -> anyhow::Result<bool> {
    let body = std::fs::read(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let event = match args.event {
        Some(e) => e,
        None => gitlab_sim::webhook::event_header_for(&body)
            .with_context(|| {
                format!(
                    "could not tell the X-Gitlab-Event of {} (no object_kind or event_name); pass --event",
                    args.file.display()
                )
            })?
            .to_string(),
    };
    let mut builder = gitlab_sim::DeliveryBuilder::new(event.clone(), body);
    if let Some(secret) = args.secret.and_then(|s| s.into_iter().next()) {
        builder = builder.secret_token(secret);
    }
    if let Some(token) = args.signing_token.and_then(|s| s.into_iter().next()) {
        builder = builder.signing_token(token);
    }
    if let Some(key) = args.idempotency_key {
        builder = builder.idempotency_key(key);
    }
    let delivery = builder.build()?;
    let response = gitlab_sim::Sender::default()
        .send(&args.url, &delivery)
        .await?;
    println!("{} {}: {}", response.status, event, response.body);
    Ok((200..300).contains(&response.status))
}

fn main() -> ExitCode {
    // The main runtime runs the workers (and the blocking pool); the HTTP server has threads of
    // its own. Under load the workers yield the CPU to the intake: answering GitLab fast matters
    // more than processing at once, since every accepted delivery is already on disk.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("backline-worker")
        .on_thread_start(|| backline::priority::lower_current_thread(WORKER_NICENESS))
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}

/// Niceness of the worker threads (0 normal, 19 lowest).
const WORKER_NICENESS: i32 = 10;

async fn run() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(cli.config.as_deref(), *args).await.map(|()| true),
        Command::Sync(args) => sync(cli.config.as_deref(), *args).await,
        Command::Doctor(args) => return doctor(cli.config.as_deref(), *args).await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => backline::demo::run(args).await.map(|()| true),
        Command::Scan(args) => {
            return match tokio::task::spawn_blocking(move || backline::scan::run(args)).await {
                Ok(Ok(code)) => ExitCode::from(code),
                Ok(Err(e)) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Advisories(args) => match load_file_config(cli.config.as_deref()) {
            Ok(file) => backline::cli::advisories::run(args, &file).await,
            Err(e) => Err(e),
        },
        Command::Migrate(args) => match load_file_config(cli.config.as_deref()) {
            Ok(file) => backline::store::pg::from_sled::run(args, &file).await,
            Err(e) => Err(e),
        },
        #[cfg(feature = "demo")]
        Command::Webhook {
            command: WebhookCommand::Send(args),
        } => send(args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
