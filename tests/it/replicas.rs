//! Several replicas on one PostgreSQL database (issue 16), with the real binary: three `serve`
//! processes share a schema; deliveries built by the simulator from its own state (pushes that
//! produce MRs, `/backline` commands on the MRs, the bot's own events) are sent to the replicas
//! in turn, and each one is sent again to the next replica (a load balancer retrying
//! elsewhere); one replica is SIGKILLed several times mid-stream and restarted, its leases left
//! to expire (`BACKLINE_LEASE_SECS=2`) and be taken over. A delivery that got no answer is sent
//! again later, as GitLab does.
//!
//! At the end: every acknowledged delivery is stored once and done, nothing is queued, failed,
//! dead or leased, every bot branch has one MR and every command one reply.
//!
//! Needs `BACKLINE_TEST_DATABASE_URL` (each run gets its own schema). The long run is
//! `REPLICA_ROUNDS=20 cargo test --release --test it replicas`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gitlab_sim::{access, DeliveryBuilder, GitLabSim, HookTarget, SimConfig};
use serde_json::Value;
use tokio::process::Child;

use crate::binary::command;
use crate::harness::free_port;
use crate::pg_schema::Schema;

const SECRET: &str = "replicas-secret";
const ADMIN: &str = "replicas-admin";
const REPLICAS: usize = 3;
/// The replica that is killed and restarted.
const VICTIM: usize = 1;
const LEASE_SECS: &str = "2";

impl Schema {
    async fn count(&self, sql: &str) -> i64 {
        self.store
            .client()
            .await
            .unwrap()
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

struct Replica {
    addr: String,
    data: std::path::PathBuf,
    child: Option<Child>,
    starts: usize,
}

impl Replica {
    fn url(&self) -> String {
        format!("http://{}/webhooks/gitlab", self.addr)
    }

    async fn start(&mut self, index: usize, sim: &GitLabSim, db: &Schema) {
        self.starts += 1;
        let advisories = backline::demo::bundled_advisories()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut child = command(&[
            "serve",
            "--listen",
            &self.addr,
            "--data-dir",
            self.data.to_str().unwrap(),
            "--retry-base-ms",
            "0",
        ])
        .env("BACKLINE_DATABASE_URL", &db.url)
        // A restarted process is a new holder: its old leases are not its own.
        .env(
            "BACKLINE_REPLICA_ID",
            format!("replica-{index}-start-{}", self.starts),
        )
        .env("BACKLINE_LEASE_SECS", LEASE_SECS)
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
        .env("BACKLINE_ADVISORIES", advisories)
        .env("BACKLINE_SYNC_INTERVAL_MINS", "0")
        .env("BACKLINE_AUTO_APPROVE", "low")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .expect("backline starts")
                .unwrap()
                .unwrap_or_else(|| {
                    panic!(
                        "replica {index} exited before listening:\n{}",
                        seen.join("\n")
                    )
                });
            if line.contains("backline is listening") {
                break;
            }
            seen.push(line);
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL: no shutdown, leases left behind.
            child.kill().await.unwrap();
        }
    }
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

/// Waits until the shared queue is empty (every pending delivery done), polling the database.
async fn wait_drained(db: &Schema, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let pending = db.count("SELECT count(*) FROM inbox").await;
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn signed(sim: &GitLabSim) -> Vec<gitlab_sim::Delivery> {
    sim.take_pending()
        .into_iter()
        .map(|p| {
            DeliveryBuilder::new(p.event, p.body)
                .secret_token(SECRET)
                .build()
                .unwrap()
        })
        .collect()
}

/// What the senders saw.
#[derive(Default)]
struct Ledger {
    /// Idempotency keys some replica acknowledged (202, or `duplicate` of a stored one).
    accepted: BTreeSet<String>,
    /// Deliveries that got no answer, to send again.
    unanswered: Vec<gitlab_sim::Delivery>,
    sent: usize,
    duplicates: usize,
}

impl Ledger {
    async fn send(&mut self, sender: &gitlab_sim::Sender, url: &str, d: &gitlab_sim::Delivery) {
        self.sent += 1;
        match sender.send(url, d).await {
            // Stored before (by any replica): answered 200 `duplicate`.
            Ok(r) if r.status == 200 && r.body.contains("\"duplicate\"") => {
                self.duplicates += 1;
                self.accepted.insert(d.idempotency_key.clone());
            }
            Ok(r) if r.status == 202 => {
                self.accepted.insert(d.idempotency_key.clone());
            }
            // Not an event backline stores (answered, nothing queued).
            Ok(r) if r.status == 200 => {}
            // The replica is shutting down or starting: as if unanswered.
            Ok(r) if r.status == 503 => self.unanswered.push(d.clone()),
            Ok(r) => panic!("{} {}", r.status, r.body),
            Err(_) => self.unanswered.push(d.clone()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sigkill_and_resends_lose_nothing_and_duplicate_nothing() {
    let rounds: usize = std::env::var("REPLICA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let db = Schema::create("replicas", 2).await;
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
    let dirs = tempfile::tempdir().unwrap();
    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|i| Replica {
            addr: format!("127.0.0.1:{}", free_port()),
            data: dirs.path().join(format!("data-{i}")),
            child: None,
            starts: 0,
        })
        .collect();
    sim.with_world(|w| {
        for id in &summary.catalogable {
            w.add_project_hook(*id, HookTarget::new(replicas[0].url()).token(SECRET))
                .unwrap();
        }
    });
    for (i, r) in replicas.iter_mut().enumerate() {
        r.start(i, &sim, &db).await;
    }
    let first = api(&replicas[0].addr, "/api/v1/sync?wait_secs=120").await;
    assert!(first["last"]["added"].as_u64().unwrap() >= 6, "{first}");
    // Every replica sees the catalog the first one wrote (one database).
    let seen = api(&replicas[2].addr, "/api/v1/projects?per_page=100").await;
    assert!(
        seen.to_string()
            .contains(&summary.catalogable[0].to_string()),
        "{seen}"
    );

    let sender = gitlab_sim::Sender::default();
    let mut ledger = Ledger::default();
    let mut kills = 0;
    for round in 0..rounds {
        sim.with_world(|w| {
            for id in summary.catalogable.clone() {
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
        let batch = signed(&sim);
        let kill_at = batch.len() / 2;
        let previous = std::mem::take(&mut ledger.unanswered);
        for (i, d) in previous.into_iter().chain(batch).enumerate() {
            if i == kill_at {
                // Mid-stream: the victim dies holding whatever it had claimed.
                replicas[VICTIM].kill().await;
                kills += 1;
            }
            if i == kill_at + 3 {
                replicas[VICTIM].start(VICTIM, &sim, &db).await;
            }
            // To the replicas in turn, then again to the next one (a retry elsewhere).
            let to = i % REPLICAS;
            ledger.send(&sender, &replicas[to].url(), &d).await;
            ledger
                .send(&sender, &replicas[(to + 1) % REPLICAS].url(), &d)
                .await;
        }
        if replicas[VICTIM].child.is_none() {
            replicas[VICTIM].start(VICTIM, &sim, &db).await;
        }
        // A kill while the workers run the batch.
        replicas[VICTIM].kill().await;
        kills += 1;
        // The bot's own events (MRs, notes, pushes) go out too, to the living replicas.
        for (i, d) in signed(&sim)
            .into_iter()
            .chain(std::mem::take(&mut ledger.unanswered))
            .enumerate()
        {
            let to = if i % 2 == 0 { 0 } else { 2 };
            ledger.send(&sender, &replicas[to].url(), &d).await;
        }
        replicas[VICTIM].start(VICTIM, &sim, &db).await;
        wait_drained(&db, Duration::from_secs(120)).await;
    }
    // Drain whatever the last reactions produced.
    loop {
        let more: Vec<_> = signed(&sim)
            .into_iter()
            .chain(std::mem::take(&mut ledger.unanswered))
            .collect();
        if more.is_empty() {
            break;
        }
        for (i, d) in more.iter().enumerate() {
            ledger.send(&sender, &replicas[i % REPLICAS].url(), d).await;
        }
        wait_drained(&db, Duration::from_secs(120)).await;
    }

    // Every acknowledged delivery stored once and done; nothing else left anywhere.
    let stored = db.count("SELECT count(*) FROM deliveries").await;
    assert_eq!(
        stored as usize,
        ledger.accepted.len(),
        "stored vs acknowledged"
    );
    let done = db
        .count("SELECT count(*) FROM deliveries WHERE state = 'done'")
        .await;
    assert_eq!(done, stored, "every stored delivery is done");
    assert_eq!(db.count("SELECT count(*) FROM inbox").await, 0, "queued");
    assert_eq!(
        db.count("SELECT count(*) FROM inbox WHERE leased_by IS NOT NULL")
            .await,
        0,
        "leased"
    );
    assert_eq!(db.count("SELECT count(*) FROM dead_letters").await, 0);
    assert_eq!(db.count("SELECT count(*) FROM payloads").await, 0, "bodies");
    // The API of any replica says the same.
    for state in ["queued", "processing", "failed", "dead"] {
        let v = api(
            &replicas[2].addr,
            &format!("/api/v1/deliveries?state={state}"),
        )
        .await;
        assert_eq!(v["total"], 0, "{state}: {v}");
    }
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
    assert!(commands > 0, "commands were sent and answered");
    for (branch, n) in &mrs_per_branch {
        assert_eq!(*n, 1, "{branch:?}");
    }
    // The sim's record agrees: one MR creation per branch.
    let created = sim
        .requests()
        .iter()
        .filter(|r| r.route == "POST /projects/:id/merge_requests" && r.status == 201)
        .count();
    assert_eq!(created, mrs_per_branch.len(), "MR creations");
    assert!(ledger.duplicates > 0, "resends were answered duplicate");
    eprintln!(
        "replicas: {REPLICAS} replicas, {rounds} rounds, {} deliveries sent, {} acknowledged, {} answered duplicate, {kills} SIGKILLs, {} MRs, {commands} commands answered once each",
        ledger.sent,
        ledger.accepted.len(),
        ledger.duplicates,
        mrs_per_branch.len()
    );
    for r in &mut replicas {
        r.kill().await;
    }
    db.drop().await;
}
