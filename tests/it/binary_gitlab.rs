//! The real binary against gitlab-sim: `backline sync` (counts, incremental, no token in the
//! logs, a warning for a token about to expire), `sync` on a data directory that `serve` holds,
//! and `serve` checking GitLab and syncing at start.

use std::process::Stdio;

use gitlab_sim::{GitLabSim, SimConfig};
use time::{Duration as Days, OffsetDateTime};

use crate::binary::{command, start_with};

const TOKEN: &str = "glpat-binary-test-SECRET";

fn sim_with_projects(n: usize) -> GitLabSim {
    let sim = GitLabSim::start(SimConfig {
        bot_token: TOKEN.into(),
        ..SimConfig::default()
    })
    .unwrap();
    sim.with_world(|w| gitlab_sim::generate(w, n, 7));
    sim
}

async fn run_sync(sim: &GitLabSim, data: &std::path::Path, token: &str) -> (i32, String, String) {
    let out = command(&["sync", "--data-dir", data.to_str().unwrap()])
        .env("BACKLINE_GITLAB_URL", sim.url())
        .env("BACKLINE_GITLAB_TOKEN", token)
        .env(
            "BACKLINE_CRATES_INDEX_URL",
            format!("{}/registry/crates", sim.url()),
        )
        .env(
            "BACKLINE_NPM_REGISTRY_URL",
            format!("{}/registry/npm", sim.url()),
        )
        .env("BACKLINE_PYPI_URL", format!("{}/registry/pypi", sim.url()))
        .env(
            "BACKLINE_RUBYGEMS_URL",
            format!("{}/registry/rubygems", sim.url()),
        )
        .env(
            "BACKLINE_PACKAGIST_URL",
            format!("{}/registry/packagist", sim.url()),
        )
        .env(
            "BACKLINE_NUGET_URL",
            format!("{}/registry/nuget/v3/index.json", sim.url()),
        )
        .env("BACKLINE_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_catalogs_once_then_only_notices_changes() {
    let sim = sim_with_projects(30);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A second token of the bot's, expiring in five days.
    let soon = (OffsetDateTime::now_utc() + Days::days(5))
        .date()
        .to_string();
    let bot = sim.bot_user();
    sim.with_world(|w| w.create_token(bot, "glpat-expiring-SECRET", &["api"], Some(&soon)));
    let (code, stdout, stderr) = run_sync(&sim, &data, "glpat-expiring-SECRET").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("catalog: 30 projects (30 added, 0 updated, 0 unchanged, 0 removed"),
        "{stdout}"
    );
    assert!(stdout.contains(", 1 GitLab requests"), "{stdout}");
    assert!(stderr.contains("expires in 5 days"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "a token leaked into the logs");
    let (code, stdout, stderr) = run_sync(&sim, &data, TOKEN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("catalog: 30 projects (0 added, 0 updated, 30 unchanged, 0 removed"),
        "{stdout}"
    );
    assert!(!stderr.contains("SECRET"));
    // A wrong token: a clear error, exit code 2, no token shown.
    let (code, _, stderr) = run_sync(&sim, &data, "glpat-wrong-SECRET").await;
    assert_eq!(code, 2);
    assert!(stderr.contains("GitLab refused the token"), "{stderr}");
    assert!(!stderr.contains("SECRET"));
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checks_gitlab_syncs_at_start_and_sync_points_at_it_while_it_runs() {
    let sim = sim_with_projects(12);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = sim.url().to_string();
    let crates = format!("{url}/registry/crates");
    let npm = format!("{url}/registry/npm");
    let pypi = format!("{url}/registry/pypi");
    let rubygems = format!("{url}/registry/rubygems");
    let packagist = format!("{url}/registry/packagist");
    let nuget = format!("{url}/registry/nuget/v3/index.json");
    let server = start_with(
        &data,
        2,
        &[
            ("BACKLINE_GITLAB_URL", url.as_str()),
            ("BACKLINE_GITLAB_TOKEN", TOKEN),
            ("BACKLINE_CRATES_INDEX_URL", crates.as_str()),
            ("BACKLINE_NPM_REGISTRY_URL", npm.as_str()),
            ("BACKLINE_PYPI_URL", pypi.as_str()),
            ("BACKLINE_RUBYGEMS_URL", rubygems.as_str()),
            ("BACKLINE_PACKAGIST_URL", packagist.as_str()),
            ("BACKLINE_NUGET_URL", nuget.as_str()),
            ("BACKLINE_LOG", "debug"),
        ],
    )
    .await;
    let logs = server.logs.lock().unwrap().clone();
    assert!(
        logs.iter()
            .any(|l| l.contains("connected to GitLab") && l.contains("user=backline-bot")),
        "{logs:?}"
    );
    // The start-up sync runs in the background; the API waits for it.
    let status = server.api("/api/v1/sync?wait_secs=60").await;
    assert_eq!(status["running"], false, "{status}");
    assert_eq!(status["last"]["added"], 12, "{status}");
    let projects = server.api("/api/v1/projects").await;
    assert_eq!(projects["total"], 12, "{projects}");
    // `backline sync` on the same data directory says where to go instead.
    let (code, _, stderr) = run_sync(&sim, &data, TOKEN).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("held by a running `backline serve`"),
        "{stderr}"
    );
    assert!(stderr.contains("/api/v1/sync"), "{stderr}");
    let (status, logs) = server.sigterm().await;
    assert!(status.success());
    assert!(logs.iter().all(|l| !l.contains("SECRET")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_the_whole_loop_without_gitlab_or_network() {
    use tokio::io::AsyncBufReadExt;
    let mut child = command(&["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (base, token) = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(120), lines.next_line())
            .await
            .expect("the demo prints its address")
            .unwrap()
            .expect("the demo keeps running");
        if let Some(rest) = line.trim().strip_prefix("dashboard and API: ") {
            let url = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
            let token = rest
                .rsplit("admin token: ")
                .next()
                .unwrap()
                .trim_end_matches(')')
                .to_string();
            break (url, token);
        }
    };
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).bearer_auth(&token).send();
    let sync: serde_json::Value = get("/api/v1/sync?wait_secs=120")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The five demo projects (issue 14: a fixed scene rather than six generated ones).
    assert_eq!(sync["last"]["added"], 5, "{sync}");
    let rems: serde_json::Value = get("/api/v1/remediations?per_page=100")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let open = rems["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "mr_open")
        .count();
    assert!(open >= 1, "{rems}");
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
