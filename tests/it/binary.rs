//! The real `backline` binary: crash safety (SIGKILL after 202, restart, each delivery processed
//! exactly once), durability of every acknowledged delivery under a kill mid-stream, graceful
//! SIGTERM, refusal to start unverified, and `backline webhook send`.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gitlab_sim::{DeliveryBuilder, Sender};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{push_body, ADMIN_TOKEN, SECRET, SIGNING_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_backline");

/// A running `backline serve`.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) logs: Arc<Mutex<Vec<String>>>,
}

pub(crate) fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("BACKLINE_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env("BACKLINE_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

type StderrLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Reads log lines (keeping them in `logs`) until the "listening" line, which it returns.
async fn listening_line(lines: &mut StderrLines, logs: &Mutex<Vec<String>>) -> String {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("backline logs within a minute")
            .unwrap()
            .unwrap_or_else(|| panic!("backline exited early: {:?}", logs.lock().unwrap()));
        logs.lock().unwrap().push(line.clone());
        if line.contains("backline is listening") {
            return line;
        }
    }
}

/// Starts `serve` on an ephemeral port and waits for its "listening" log line (no polling).
async fn start(data_dir: &Path, workers: usize) -> Running {
    start_with(data_dir, workers, &[]).await
}

/// [`start`] with more environment variables.
pub(crate) async fn start_with(data_dir: &Path, workers: usize, env: &[(&str, &str)]) -> Running {
    let mut child = command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--workers",
        &workers.to_string(),
        "--retry-base-ms",
        "0",
    ])
    .env("BACKLINE_WEBHOOK_SECRET", SECRET)
    .env("BACKLINE_WEBHOOK_SIGNING_TOKEN", SIGNING_TOKEN)
    .env("BACKLINE_ADMIN_TOKEN", ADMIN_TOKEN)
    .envs(env.iter().copied())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("backline starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let line = listening_line(&mut lines, &logs).await;
    let address = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("address="))
        .expect("address field");
    let base = format!("http://{address}");
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    Running { child, base, logs }
}

impl Running {
    fn url(&self) -> String {
        format!("{}/webhooks/gitlab", self.base)
    }

    pub(crate) async fn api(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{}", self.base, path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_idle(&self) {
        let status = self.api("/api/v1/inbox?wait_idle_secs=120").await;
        assert_eq!(status["idle"], true, "{status}");
    }

    async fn sigkill(mut self) -> Vec<String> {
        self.child.kill().await.unwrap();
        let logs = self.logs.lock().unwrap().clone();
        logs
    }

    pub(crate) async fn sigterm(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().unwrap().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        let logs = self.logs.lock().unwrap().clone();
        (status, logs)
    }
}

fn signed(project: u64, marker: &str) -> gitlab_sim::Delivery {
    DeliveryBuilder::new("Push Hook", push_body(project, marker))
        .signing_token(SIGNING_TOKEN)
        .build()
        .unwrap()
}

fn assert_no_secrets(logs: &[String]) {
    for line in logs {
        for secret in [SECRET, ADMIN_TOKEN, "YWFhYWFhYWFh"] {
            assert!(!line.contains(secret), "secret in log line: {line}");
        }
    }
}

#[tokio::test]
async fn binary_crash_after_202_then_restart_processes_each_delivery_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sender = Sender::default();
    let intake_only = start(dir.path(), 0).await;
    let mut deliveries = Vec::new();
    let mut accepted = Vec::new();
    for i in 0..20u64 {
        let d = signed(1 + i % 4, &format!("crash-{i}"));
        let r = sender.send(&intake_only.url(), &d).await.unwrap();
        assert_eq!(r.status, 202, "{}", r.body);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        accepted.push(body["delivery"].as_u64().unwrap());
        deliveries.push(d);
    }
    let mut logs = intake_only.sigkill().await;

    let restarted = start(dir.path(), 2).await;
    restarted.wait_idle().await;
    let list = restarted.api("/api/v1/deliveries?per_page=100").await;
    assert_eq!(list["total"], 20, "{list}");
    let mut seen: Vec<u64> = Vec::new();
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["state"], "done", "{item}");
        assert_eq!(item["attempts"], 1, "processed exactly once: {item}");
        seen.push(item["id"].as_u64().unwrap());
    }
    seen.sort();
    accepted.sort();
    assert_eq!(seen, accepted);
    // GitLab retrying after the crash: still duplicates.
    for d in &deliveries[..3] {
        let r = sender.send(&restarted.url(), d).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("duplicate"));
    }
    let (status, more) = restarted.sigterm().await;
    assert!(status.success(), "graceful stop exits 0: {status:?}");
    logs.extend(more);
    assert!(logs.iter().any(|l| l.contains("replayed=20")), "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("stopped")));
    assert_no_secrets(&logs);
}

#[tokio::test]
async fn binary_every_acknowledged_delivery_survives_a_kill_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), 2).await;
    let url = first.url();
    // 32 concurrent senders; the process is killed once 100 deliveries have been acknowledged.
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let (enough_tx, enough_rx) = tokio::sync::oneshot::channel::<()>();
    let enough_tx = Arc::new(Mutex::new(Some(enough_tx)));
    let mut tasks = Vec::new();
    for t in 0..32u64 {
        let (url, acked, enough_tx) = (url.clone(), acked.clone(), enough_tx.clone());
        tasks.push(tokio::spawn(async move {
            let sender = Sender::new(Duration::from_secs(5));
            for i in 0..50u64 {
                let d = signed(1 + t % 8, &format!("stream-{t}-{i}"));
                let Ok(r) = sender.send(&url, &d).await else {
                    return;
                };
                if r.status == 202 {
                    let body: Value = serde_json::from_str(&r.body).unwrap();
                    let mut acked = acked.lock().unwrap();
                    acked.push(body["delivery"].as_u64().unwrap());
                    if acked.len() >= 100 {
                        if let Some(tx) = enough_tx.lock().unwrap().take() {
                            let _ = tx.send(());
                        }
                    }
                }
            }
        }));
    }
    enough_rx.await.expect("100 deliveries acknowledged");
    first.sigkill().await;
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100);

    let second = start(dir.path(), 2).await;
    second.wait_idle().await;
    for seq in &acked {
        let d = second.api(&format!("/api/v1/deliveries/{seq}")).await;
        assert_eq!(
            d["state"], "done",
            "acknowledged delivery {seq} lost or unfinished: {d}"
        );
    }
    second.sigkill().await;
}

#[tokio::test]
async fn binary_refuses_to_start_without_verification() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BACKLINE_WEBHOOK_SECRET"), "{stderr}");
    assert!(stderr.contains("--insecure-accept-unverified"), "{stderr}");
}

#[tokio::test]
async fn binary_sync_help_lists_only_its_own_flags() {
    let help = |sub: &'static str| async move {
        let out = command(&[sub, "--help"]).output().await.unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let sync = help("sync").await;
    for shared in [
        "--gitlab-url",
        "--gitlab-token",
        "--data-dir",
        "--namespace-allowlist",
    ] {
        assert!(sync.contains(shared), "{shared} missing from:\n{sync}");
    }
    for serve_only in [
        "--listen",
        "--webhook-secret",
        "--workers",
        "--manage-hooks",
        "--auto-approve",
        "--badge-secret",
        "--insecure-accept-unverified",
    ] {
        assert!(!sync.contains(serve_only), "{serve_only} in:\n{sync}");
    }
    let serve = help("serve").await;
    for flag in ["--listen", "--manage-hooks", "--gitlab-url"] {
        assert!(serve.contains(flag), "{flag} missing from:\n{serve}");
    }
}

#[tokio::test]
async fn binary_boolean_flags_work_bare() {
    // `--manage-hooks` alone is accepted like `--insecure-accept-unverified`; what stops the
    // start is the setting it needs, not the command line.
    let dir = tempfile::tempdir().unwrap();
    let out = command(&[
        "serve",
        "--insecure-accept-unverified",
        "--manage-hooks",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .output()
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("BACKLINE_MANAGE_HOOKS: needs BACKLINE_PUBLIC_URL"),
        "{stderr}"
    );
}

#[tokio::test]
async fn binary_webhook_send_posts_like_gitlab() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), 1).await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks/push.json");
    for flag in ["--secret", "--signing-token"] {
        let value = if flag == "--secret" {
            SECRET
        } else {
            SIGNING_TOKEN
        };
        let out = command(&[
            "webhook",
            "send",
            example,
            "--url",
            &server.url(),
            flag,
            value,
        ])
        .output()
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("202 Push Hook"), "{stdout}");
    }
    let out = command(&[
        "webhook",
        "send",
        example,
        "--url",
        &server.url(),
        "--secret",
        "wrong",
    ])
    .output()
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("401"));
    server.wait_idle().await;
    let list = server.api("/api/v1/deliveries?state=done").await;
    assert_eq!(list["total"], 2);
    server.sigkill().await;
}

#[tokio::test]
async fn binary_environment_wins_over_the_config_file_and_flags_over_both() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("backline.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nworkers = 3\nmax_attempts = 4\nwebhook_secret = \"from-file\"\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let mut child = command(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--max-attempts",
        "2",
    ])
    .env("BACKLINE_WORKERS", "1")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = listening_line(&mut lines, &Mutex::new(Vec::new())).await;
    assert!(
        line.contains("workers=1"),
        "environment wins over the file: {line}"
    );
    assert!(
        line.contains("max_attempts=2"),
        "a flag wins over the file: {line}"
    );
    assert!(
        line.contains(&format!("data_dir={}", dir.path().join("data").display())),
        "{line}"
    );
    child.kill().await.unwrap();

    // A typo in the file is an error that names it, not a silent default.
    std::fs::write(&config, "wrokers = 3\n").unwrap();
    let out = command(&["--config", config.to_str().unwrap(), "serve"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrokers"), "{stderr}");
}
