//! `backline demo`: the whole loop on a fresh machine with no GitLab and no network. It starts
//! gitlab-sim in-process with a handful of projects carrying real vulnerable lockfiles, points a
//! real server at it with bundled real advisories (`examples/demo/advisories/`) and the
//! simulator's package registries, syncs, scans, opens the MRs, and keeps delivering the
//! simulator's webhooks until Ctrl-C.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::app::App;
use crate::config::Settings;
use crate::gitlab::{ClientConfig, GitLab};
use crate::secret::Secret;

pub mod guide;
pub mod scene;

/// `backline demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of backline's server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Generated projects to add to the five demo projects (a crowd for the project list).
    #[arg(long, default_value_t = 0)]
    pub projects: usize,
    /// Data directory [default: a temporary one, removed at exit].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// The bundled advisory databases.
pub fn bundled_advisories() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo/advisories");
    ["rustsec", "pypa", "osv"]
        .iter()
        .map(|d| root.join(d))
        .collect()
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Longest wait for the first MR before the guide is printed without the MR commands.
const FIRST_MR_WAIT: Duration = Duration::from_secs(60);

/// A running demo: the simulator, backline's server task and what the guide printed.
pub struct Demo {
    /// The simulator.
    pub sim: Arc<gitlab_sim::GitLabSim>,
    /// backline's base URL.
    pub backline: String,
    /// The admin token.
    pub admin: String,
    /// The webhook secret.
    pub secret: String,
    /// The projects.
    pub scene: scene::Scene,
    /// The guide as printed.
    pub guide: String,
    /// The held-back push payload file (in `dir`).
    pub push_file: Option<PathBuf>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pump: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the simulator and backline, waits for the bot's first MR, holds back one push for
    /// the guide and writes the guide.
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Demo> {
        let listener = TcpListener::bind(&args.listen).with_context(|| {
            format!(
                "could not listen on {} (try --listen 127.0.0.1:0)",
                args.listen
            )
        })?;
        let address = listener.local_addr()?;
        let sim = gitlab_sim::GitLabSim::start(gitlab_sim::SimConfig {
            workers: 2,
            ..Default::default()
        })?;
        let scene = sim.with_world(|w| {
            let scene = scene::populate(w);
            if args.projects > 0 {
                gitlab_sim::generate(w, args.projects, 1);
            }
            w.pending.clear();
            scene
        });
        let dir = tempfile::TempDir::new()?;
        let data_dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("data"));
        let admin = random_token();
        let secret = random_token();
        let mut settings = Settings::with_data_dir(data_dir);
        settings.listen = address;
        settings.webhook_secrets = vec![Secret::new(secret.clone())];
        settings.admin_token = Some(Secret::new(admin.clone()));
        settings.gitlab_url = Some(sim.url().to_string());
        settings.gitlab_token = Some(Secret::new(sim.bot_token()));
        settings.crates_index_url = format!("{}/registry/crates", sim.url());
        settings.npm_registry_url = format!("{}/registry/npm", sim.url());
        settings.pypi_url = format!("{}/registry/pypi", sim.url());
        settings.rubygems_url = format!("{}/registry/rubygems", sim.url());
        settings.packagist_url = format!("{}/registry/packagist", sim.url());
        settings.nuget_url = format!("{}/registry/nuget/v3/index.json", sim.url());
        settings.advisories = bundled_advisories();
        settings.public_url = Some(format!("http://{address}"));
        let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token())))?;
        let bot = gitlab.current_user().await?;
        let webhook = format!("http://{address}/webhooks/gitlab");
        sim.with_world(|w| {
            w.add_system_hook(gitlab_sim::HookTarget::new(webhook.clone()).token(secret.clone()));
            let ids: Vec<u64> = w.projects.keys().copied().collect();
            for id in ids {
                let _ = w.add_project_hook(
                    id,
                    gitlab_sim::HookTarget::new(webhook.clone()).token(secret.clone()),
                );
            }
        });
        let app = App::build_for_gitlab(settings, gitlab, bot)?;
        let server = tokio::spawn(app.run(listener));
        let sim = Arc::new(sim);
        let pump = {
            let sim = sim.clone();
            tokio::spawn(async move {
                loop {
                    sim.deliver_pending().await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        // The guide's commands need the bot's first MR (to comment on) and a scan done before
        // the held-back push (so that sending it changes something).
        let cargo = scene.cargo().id;
        let deadline = tokio::time::Instant::now() + FIRST_MR_WAIT;
        let mr = loop {
            let found = sim.with_world(|w| {
                let p = w.project(cargo).ok()?;
                let mr = p.merge_requests.first()?;
                Some((
                    cargo,
                    mr.iid,
                    format!("{}/-/merge_requests/{}", w.project_url(p), mr.iid),
                ))
            });
            if found.is_some() || tokio::time::Instant::now() >= deadline || server.is_finished() {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let push_file = match sim.with_world(|w| scene::prepare_push(w, cargo)) {
            Some(body) => {
                let file = dir.path().join("push-acme-platform-api.json");
                std::fs::write(&file, body)
                    .with_context(|| format!("could not write {}", file.display()))?;
                Some(file)
            }
            None => None,
        };
        let backline = format!("http://{address}");
        let guide = guide::guide(&guide::Facts {
            backline: &backline,
            gitlab: sim.url(),
            admin: &admin,
            secret: &secret,
            scene: &scene,
            push_file: push_file.as_deref(),
            mr,
        });
        Ok(Demo {
            sim,
            backline,
            admin,
            secret,
            scene,
            guide,
            push_file,
            server,
            pump,
            _dir: dir,
        })
    }

    /// Waits for the server to stop (Ctrl-C or SIGTERM), then stops the simulator.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.server.await;
        self.pump.abort();
        result.context("the server task failed")?
    }

    /// Stops everything at once (tests).
    pub fn abort(self) {
        self.server.abort();
        self.pump.abort();
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let demo = Demo::start(&args).await?;
    print!("{}", demo.guide);
    demo.wait().await
}
