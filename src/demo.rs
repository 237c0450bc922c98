//! `backline demo`: the whole loop on a fresh machine with no GitLab and no network. It starts
//! gitlab-sim in-process with a handful of projects carrying real vulnerable lockfiles, points a
//! real server at it with bundled real advisories (`examples/demo/advisories/`) and the
//! simulator's package registries, syncs, scans, opens the MRs, and keeps delivering the
//! simulator's webhooks until Ctrl-C.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::app::App;
use crate::config::Settings;
use crate::gitlab::{ClientConfig, GitLab};
use crate::secret::Secret;

/// `backline demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of backline's server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Projects the simulator generates (plus a tenth the bot must skip).
    #[arg(long, default_value_t = 6)]
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
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    hex::encode(bytes)
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
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
    let summary = sim.with_world(|w| {
        let s = gitlab_sim::generate(w, args.projects, 1);
        w.pending.clear();
        s
    });
    let temp = tempfile::TempDir::new()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().join("data"));
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
    settings.advisories = bundled_advisories();
    settings.public_url = Some(format!("http://{address}"));
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token())))?;
    let bot = gitlab.current_user().await?;
    let webhook = format!("http://{address}/webhooks/gitlab");
    sim.with_world(|w| {
        w.add_system_hook(gitlab_sim::HookTarget::new(webhook.clone()).token(secret.clone()));
        for id in &summary.catalogable {
            let _ = w.add_project_hook(
                *id,
                gitlab_sim::HookTarget::new(webhook.clone()).token(secret.clone()),
            );
        }
    });
    let app = App::build_for_gitlab(settings, gitlab, bot)?;
    println!("backline demo");
    println!("  dashboard and API: http://{address}/   (admin token: {admin})");
    println!(
        "  GitLab simulator:  {}   (bot token: {})",
        sim.url(),
        sim.bot_token()
    );
    println!(
        "  {} projects to watch ({} with known-vulnerable dependencies), {} the bot must skip",
        summary.catalogable.len(),
        summary.vulnerable.len(),
        summary.excluded.len()
    );
    println!("  try: curl -H 'Authorization: Bearer {admin}' http://{address}/api/v1/remediations");
    println!("  and: backline webhook send examples/webhooks/push.json --url {webhook} --secret {secret}");
    println!("  Ctrl-C stops it.");
    let pump = {
        let sim = std::sync::Arc::new(sim);
        let pumped = sim.clone();
        let task = tokio::spawn(async move {
            loop {
                pumped.deliver_pending().await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        (sim, task)
    };
    let result = app.run(listener).await;
    pump.1.abort();
    drop(pump.0);
    drop(temp);
    result
}
