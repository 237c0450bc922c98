//! The promise "no acknowledged delivery is lost, no effect happens twice", with the real
//! binary: a stream of signed deliveries built by the simulator from its own state (pushes,
//! `/backline` commands, the bot's own MR and push events), the process SIGKILLed mid-stream
//! several times and restarted on the same data directory; GitLab's behaviour is imitated (a
//! delivery that got no answer is sent again with the same idempotency key). At the end every
//! acknowledged delivery was processed, every command got exactly one reply, and every bot branch
//! has exactly one MR. The long run is `SOAK_ROUNDS=50 cargo test --release --test it soak`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use gitlab_sim::{access, DeliveryBuilder, GitLabSim, HookTarget, SimConfig};
use serde_json::Value;
use tokio::process::Child;

use crate::binary::command;
use crate::harness::free_port;

const SECRET: &str = "soak-secret";
const ADMIN: &str = "soak-admin";

async fn start(sim: &GitLabSim, addr: &str, data: &std::path::Path) -> Child {
    let advisories = backline::demo::bundled_advisories()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut child = command(&[
        "serve",
        "--listen",
        addr,
        "--data-dir",
        data.to_str().unwrap(),
        "--retry-base-ms",
        "0",
    ])
    .env("BACKLINE_WEBHOOK_SECRET", SECRET)
    .env("BACKLINE_ADMIN_TOKEN", ADMIN)
    .env("BACKLINE_GITLAB_URL", sim.url())
    .env("BACKLINE_GITLAB_TOKEN", sim.bot_token())
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
    .env("BACKLINE_ADVISORIES", advisories)
    .env("BACKLINE_SYNC_INTERVAL_MINS", "0")
    .env("BACKLINE_AUTO_APPROVE", "low")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Ready when it logs that it listens.
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(120), lines.next_line())
            .await
            .expect("backline starts")
            .unwrap()
            .expect("backline runs");
        if line.contains("backline is listening") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

async fn api(addr: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_sigkill_loses_nothing_and_duplicates_nothing() {
    let rounds: usize = std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let sim = GitLabSim::start(SimConfig {
        workers: 2,
        ..SimConfig::default()
    })
    .unwrap();
    let summary = sim.with_world(|w| {
        let s = gitlab_sim::generate(w, 6, 1);
        w.pending.clear();
        s
    });
    let alice = sim.with_world(|w| {
        let a = w.create_user("alice", "Alice");
        for id in &summary.catalogable {
            w.add_member(*id, a, access::DEVELOPER).unwrap();
        }
        a
    });
    let addr = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{addr}/webhooks/gitlab");
    sim.with_world(|w| {
        for id in &summary.catalogable {
            w.add_project_hook(*id, HookTarget::new(url.clone()).token(SECRET))
                .unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&sim, &addr, &data).await;
    let first = api(&addr, "/api/v1/sync?wait_secs=120").await;
    assert!(first["last"]["added"].as_u64().unwrap() >= 6, "{first}");
    let sender = gitlab_sim::Sender::default();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    let mut unanswered: Vec<gitlab_sim::Delivery> = Vec::new();
    let mut kills = 0;
    let mut sent = 0usize;
    for round in 0..rounds {
        // GitLab misbehaves a little every round: a 429 storm on note reads, a 502 on note
        // creation, a dropped connection on a file read, a 503 on the members API.
        let faults = sim.faults();
        faults.fail_next_retry_after("GET", "/projects/:id/merge_requests/:iid/notes", 3, 429, 0);
        faults.fail_next("POST", "/projects/:id/merge_requests/:iid/notes", 1, 502);
        faults.drop_connection_next("GET", "/projects/:id/repository/files/:file_path/raw", 1);
        faults.fail_next("GET", "/projects/:id/members/all/:user_id", 1, 503);
        // People act: a command on every bot MR, and a push to the default branch.
        sim.with_world(|w| {
            let ids: Vec<u64> = summary.catalogable.clone();
            for id in ids {
                let mrs: Vec<u64> = w
                    .project(id)
                    .unwrap()
                    .merge_requests
                    .iter()
                    .map(|m| m.iid)
                    .collect();
                for iid in mrs {
                    let _ = w.add_note(id, iid, alice, &format!("round {round}\n/backline status"));
                }
                let _ = w.commit_files(
                    id,
                    alice,
                    "main",
                    "docs",
                    vec![("NOTES.md".into(), Some(format!("round {round}").into()))],
                );
            }
        });
        let batch: Vec<gitlab_sim::Delivery> = sim
            .take_pending()
            .into_iter()
            .map(|p| {
                DeliveryBuilder::new(p.event, p.body)
                    .secret_token(SECRET)
                    .build()
                    .unwrap()
            })
            .collect();
        let kill_at = batch.len() / 2;
        let previous: Vec<gitlab_sim::Delivery> = std::mem::take(&mut unanswered);
        for (i, d) in previous.into_iter().chain(batch).enumerate() {
            if i == kill_at && round % 2 == 0 {
                server.kill().await.unwrap();
                kills += 1;
                server = start(&sim, &addr, &data).await;
            }
            sent += 1;
            match sender.send(&url, &d).await {
                Ok(r) if r.status == 202 || r.body.contains("duplicate") => {
                    accepted.insert(d.idempotency_key.clone());
                }
                Ok(r) if r.status == 200 => {}
                Ok(r) => panic!("{} {}", r.status, r.body),
                Err(_) => unanswered.push(d),
            }
        }
        // A kill while the workers run, then a restart that replays what was pending.
        server.kill().await.unwrap();
        kills += 1;
        server = start(&sim, &addr, &data).await;
        // The bot's own events (MRs, notes, pushes) go out too, as GitLab would send them.
        let own: Vec<gitlab_sim::Delivery> = sim
            .take_pending()
            .into_iter()
            .map(|p| {
                DeliveryBuilder::new(p.event, p.body)
                    .secret_token(SECRET)
                    .build()
                    .unwrap()
            })
            .collect();
        for d in own.into_iter().chain(std::mem::take(&mut unanswered)) {
            sent += 1;
            match sender.send(&url, &d).await {
                Ok(r) if r.status == 202 || r.body.contains("duplicate") => {
                    accepted.insert(d.idempotency_key.clone());
                }
                Ok(_) => {}
                Err(_) => unanswered.push(d),
            }
        }
        let idle = api(&addr, "/api/v1/inbox?wait_idle_secs=120").await;
        assert_eq!(idle["idle"], true, "{idle}");
    }
    // Drain whatever the last reactions produced.
    loop {
        let more = sim.take_pending();
        if more.is_empty() {
            break;
        }
        for p in more {
            let d = DeliveryBuilder::new(p.event, p.body)
                .secret_token(SECRET)
                .build()
                .unwrap();
            sent += 1;
            if let Ok(r) = sender.send(&url, &d).await {
                if r.status == 202 {
                    accepted.insert(d.idempotency_key.clone());
                }
            }
        }
        api(&addr, "/api/v1/inbox?wait_idle_secs=120").await;
    }
    // Nothing lost: every acknowledged delivery is done; none queued, failed or dead.
    for state in ["queued", "processing", "failed", "dead"] {
        let v = api(&addr, &format!("/api/v1/deliveries?state={state}")).await;
        assert_eq!(v["total"], 0, "{state}: {v}");
    }
    let done = api(&addr, "/api/v1/deliveries?state=done&per_page=1").await;
    assert_eq!(
        done["total"].as_u64().unwrap() as usize,
        accepted.len(),
        "done vs acknowledged"
    );
    // Nothing twice: one MR per bot branch, one reply per command note.
    let bot = sim.bot_user();
    let mut mrs_per_branch: BTreeMap<(u64, String), usize> = BTreeMap::new();
    let mut commands = 0;
    sim.with_world(|w| {
        for id in &summary.catalogable {
            let p = w.project(*id).unwrap();
            for mr in &p.merge_requests {
                *mrs_per_branch
                    .entry((*id, mr.source_branch.clone()))
                    .or_default() += 1;
                for note in mr.notes.iter().filter(|n| n.author_id == alice) {
                    commands += 1;
                    let marker = format!("backline-reply {} ", note.id);
                    let replies = mr
                        .notes
                        .iter()
                        .filter(|n| n.author_id == bot && n.body.contains(&marker))
                        .count();
                    assert_eq!(
                        replies, 1,
                        "note {} on !{} of project {id}",
                        note.id, mr.iid
                    );
                }
            }
        }
    });
    assert!(!mrs_per_branch.is_empty());
    for (branch, n) in &mrs_per_branch {
        assert_eq!(*n, 1, "{branch:?}");
    }
    let faulted = sim
        .requests()
        .iter()
        .filter(|r| r.status == 0 || r.status >= 429)
        .count();
    eprintln!(
        "soak: {faulted} faulty GitLab answers, {rounds} rounds, {sent} deliveries sent, {} acknowledged, {kills} SIGKILLs, {} MRs, {commands} commands answered once each, 0 lost, 0 duplicated",
        accepted.len(),
        mrs_per_branch.len()
    );
    let _ = server.kill().await;
}
