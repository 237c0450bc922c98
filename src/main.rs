//! The `backline` command line.

use std::io::IsTerminal;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use backline::app::App;
use backline::config::{self, FileConfig, ServeArgs};
use backline::handlers::RecordingHandler;

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
    Serve(ServeArgs),
    /// Advisory database: import, sync, stats.
    Advisories(backline::advisories::cli::AdvisoriesArgs),
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Post a payload file as GitLab would, with every GitLab header.
    Send(SendArgs),
}

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
    let app = App::build(settings, Arc::new(RecordingHandler))?;
    if app.replayed() > 0 {
        tracing::info!(
            count = app.replayed(),
            "replaying deliveries left pending by the last run"
        );
    }
    app.run(listener).await
}

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
        Command::Serve(args) => serve(cli.config.as_deref(), args).await.map(|()| true),
        Command::Advisories(args) => match load_file_config(cli.config.as_deref()) {
            Ok(file) => backline::advisories::cli::run(args, &file).await,
            Err(e) => Err(e),
        },
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
