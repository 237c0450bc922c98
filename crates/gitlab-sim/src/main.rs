//! `gitlab-sim`: run the simulator as a process (for the demo and end-to-end tests).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use gitlab_sim::{GitLabSim, HookTarget, PersonSpec, SimConfig};

/// A stateful fake GitLab on loopback.
#[derive(Debug, Parser)]
#[command(name = "gitlab-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8929")]
    listen: SocketAddr,
    /// The bot user's personal access token.
    #[arg(long, default_value = "sim-token")]
    token: String,
    /// Generate this many projects the bot must catalog (plus a tenth it must not).
    #[arg(long, default_value_t = 0)]
    projects: usize,
    /// Seed for the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Import a directory as a project: `group/name=DIR` (repeatable).
    #[arg(long = "import", value_name = "PATH=DIR")]
    imports: Vec<String>,
    /// A person, `NAME=TOKEN:ROLE` (repeatable; ROLE guest, reporter, developer, maintainer or
    /// owner on every project): their token acts as them through the API, so the commits, MRs
    /// and notes it makes are theirs and the hooks name them.
    #[arg(long = "user", value_name = "NAME=TOKEN:ROLE")]
    users: Vec<String>,
    /// Post system hooks here.
    #[arg(long)]
    system_hook_url: Option<String>,
    /// Secret token for the system hook (`X-Gitlab-Token`).
    #[arg(long)]
    hook_secret: Option<String>,
    /// Signing token for the system hook (`whsec_...`).
    #[arg(long)]
    hook_signing_token: Option<String>,
    /// GitLab's external URL, used only in pagination `Link` headers (as GitLab builds them
    /// from its configured host and port, not the address called).
    #[arg(long)]
    external_url: Option<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if let Some(t) = &args.hook_signing_token {
        if gitlab_sim::webhook::sign(t, "check", 0, b"").is_err() {
            eprintln!("gitlab-sim: --hook-signing-token must be whsec_ followed by base64");
            std::process::exit(2);
        }
    }
    let mut people = Vec::new();
    for spec in &args.users {
        match PersonSpec::parse(spec) {
            Ok(p) => people.push(p),
            Err(e) => {
                eprintln!("gitlab-sim: {e}");
                std::process::exit(2);
            }
        }
    }
    let sim = GitLabSim::start(SimConfig {
        listen: args.listen,
        bot_token: args.token.clone(),
        workers: 2,
        external_url: args.external_url.clone(),
        ..SimConfig::default()
    })?;
    let mut imports = Vec::new();
    for spec in &args.imports {
        let (path, dir) = spec.split_once('=').ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--import expects group/name=DIR, got {spec}"),
            )
        })?;
        imports.push((path.to_string(), PathBuf::from(dir)));
    }
    sim.with_world(|w| -> std::io::Result<()> {
        if args.projects > 0 {
            gitlab_sim::generate(w, args.projects, args.seed);
        }
        for (path, dir) in &imports {
            gitlab_sim::import_dir(w, path, dir)?;
        }
        for p in &people {
            w.add_person(p);
        }
        // Hooks start after the initial population: no flood of project_create at boot.
        w.pending.clear();
        if let Some(url) = &args.system_hook_url {
            let mut t = HookTarget::new(url.clone());
            t.token = args.hook_secret.clone();
            t.signing_token = args.hook_signing_token.clone();
            w.add_system_hook(t);
        }
        Ok(())
    })?;
    println!("gitlab-sim listening on {}", sim.url());

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                // Webhooks queued by API calls are posted as they happen.
                sim.deliver_pending().await;
            }
        }
    }
    let requests = sim.requests();
    let unmodeled = requests.iter().filter(|r| !r.modeled).count();
    let mut by_route = std::collections::BTreeMap::<&str, usize>::new();
    for r in &requests {
        *by_route.entry(r.route.as_str()).or_default() += 1;
    }
    eprintln!(
        "gitlab-sim served {} requests ({unmodeled} unmodeled)",
        requests.len()
    );
    for (route, n) in by_route {
        eprintln!("  {n:>8}  {route}");
    }
    sim.stop().await;
    Ok(())
}
