//! Periodic jobs on one replica at a time (issue 16), with the real binary: two `serve`
//! processes on one PostgreSQL schema sync the simulator's catalog every second
//! (`BACKLINE_SYNC_INTERVAL_SECS=1`) with leases of 3 s (polled every second).
//!
//! - Each sync runs on one replica only: the simulator's count of catalog listings equals the
//!   sum of the replicas' `backline_periodic_runs_total{job="catalog_sync"}`, the other
//!   replica's is 0, and the listings come at most once per period.
//! - SIGKILL of the holder: the other replica runs the job once the lease has run out (within
//!   the lease and a poll).
//! - SIGTERM of the holder: it lets go of its jobs, and the other replica runs the job at its
//!   next poll, before the lease would have run out.
//!
//! Needs `BACKLINE_TEST_DATABASE_URL` (the run gets its own schema).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitlab_sim::{access, GitLabSim, ProjectSpec, SimConfig};
use tokio::process::Child;

use crate::binary::command;
use crate::harness::free_port;
use crate::pg_schema::Schema;

const LEASE: Duration = Duration::from_secs(3);
/// A third of the lease: how often each replica asks the election.
const POLL: Duration = Duration::from_secs(1);
const PERIOD: Duration = Duration::from_secs(1);

impl Schema {
    /// Who holds the catalog sync, and until when (Unix ms).
    async fn catalog_holder(&self) -> (String, i64) {
        let row = self
            .store
            .client()
            .await
            .unwrap()
            .query_one(
                "SELECT holder, lease_until_ms FROM leaders WHERE job = 'catalog_sync'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }
}

struct Replica {
    name: String,
    addr: String,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    async fn start(name: &str, dir: &std::path::Path, sim: &GitLabSim, db: &Schema) -> Replica {
        let addr = format!("127.0.0.1:{}", free_port());
        let data = dir.join(name);
        let lease = LEASE.as_secs().to_string();
        let mut child = command(&[
            "serve",
            "--listen",
            &addr,
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .env("BACKLINE_DATABASE_URL", &db.url)
        .env("BACKLINE_REPLICA_ID", name)
        .env("BACKLINE_LEASE_SECS", &lease)
        .env("BACKLINE_SYNC_INTERVAL_SECS", PERIOD.as_secs().to_string())
        .env("BACKLINE_WEBHOOK_SECRET", "periodic-secret")
        .env("BACKLINE_ADMIN_TOKEN", "periodic-admin")
        .env("BACKLINE_GITLAB_URL", sim.url())
        .env("BACKLINE_GITLAB_TOKEN", sim.bot_token())
        // Never the public registries.
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
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let logs = Arc::new(Mutex::new(Vec::new()));
        loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .expect("backline starts")
                .unwrap()
                .unwrap_or_else(|| {
                    panic!(
                        "{name} exited before listening:\n{}",
                        logs.lock().unwrap().join("\n")
                    )
                });
            let listening = line.contains("backline is listening");
            logs.lock().unwrap().push(line);
            if listening {
                break;
            }
        }
        let kept = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().unwrap().push(line);
            }
        });
        Replica {
            name: name.to_string(),
            addr,
            child,
            logs,
        }
    }

    /// `backline_periodic_runs_total{job="catalog_sync"}` of this replica.
    async fn catalog_runs(&self) -> u64 {
        let text = reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("backline_periodic_runs_total{job=\"catalog_sync\"}"))
            .unwrap_or_else(|| panic!("no catalog_sync run counter in /metrics:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    /// The log lines saying this replica took the catalog sync, in which terms.
    fn took_catalog_sync(&self) -> Vec<String> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("took a periodic job") && l.contains("catalog_sync"))
            .cloned()
            .collect()
    }

    async fn sigterm(&mut self) {
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
        assert!(status.success(), "{}: {status}", self.name);
    }
}

/// The catalog syncs the simulator saw: each lists the bot's projects (one page here).
fn syncs_seen(sim: &GitLabSim) -> u64 {
    sim.requests()
        .iter()
        .filter(|r| r.route == "GET /projects" && r.query.contains("membership=true"))
        .count() as u64
}

/// Polls `what` every 50 ms until it gives `Some`, failing after `within`.
async fn until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_jobs_run_on_one_replica_and_resume_on_another_after_sigkill_and_sigterm() {
    let db = Schema::create("periodic", 1).await;
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    sim.with_world(|w| {
        let bot = w.bot_user;
        for name in ["one", "two"] {
            let id = w
                .create_project(ProjectSpec::new("team", name).file("README.md", "# hi\n"))
                .unwrap();
            w.add_member(id, bot, access::DEVELOPER).unwrap();
        }
        w.pending.clear();
    });
    let dirs = tempfile::tempdir().unwrap();
    // A takes every job before it says it is listening, so before B starts.
    let mut a = Replica::start("replica-a", dirs.path(), &sim, &db).await;
    let started = Instant::now();
    let mut b = Replica::start("replica-b", dirs.path(), &sim, &db).await;

    // Several syncs; each on one replica.
    let (on_a, on_b, seen) = until(
        "four catalog syncs, counted alike",
        Duration::from_secs(90),
        || async {
            let (a1, b1) = (a.catalog_runs().await, b.catalog_runs().await);
            let seen = syncs_seen(&sim);
            let (a2, b2) = (a.catalog_runs().await, b.catalog_runs().await);
            // A run is counted as it starts, before its listing reaches the simulator: read
            // between two equal counts.
            (seen >= 4 && (a1, b1) == (a2, b2) && seen == a1 + b1).then_some((a1, b1, seen))
        },
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(on_b, 0, "B never ran the catalog sync A holds");
    assert_eq!(on_a, seen);
    assert!(
        seen as f64 <= elapsed.as_secs_f64() / PERIOD.as_secs_f64() + 2.0,
        "at most one sync per period across the replicas: {seen} in {elapsed:?}"
    );
    let took = a.took_catalog_sync();
    assert_eq!(took.len(), 1, "{took:?}");
    assert!(
        took[0].contains("replica-a") && took[0].contains("term=1"),
        "{took:?}"
    );
    assert!(b.took_catalog_sync().is_empty());

    // SIGKILL: A's lease is left to run out; B takes the job over and runs it.
    a.child.kill().await.unwrap();
    let killed = Instant::now();
    until(
        "B runs the catalog sync after A's SIGKILL",
        Duration::from_secs(30),
        || async { (b.catalog_runs().await > 0).then_some(()) },
    )
    .await;
    let after_kill = killed.elapsed();
    assert!(
        after_kill <= LEASE + POLL + Duration::from_millis(1500),
        "taken over within the lease and a poll: {after_kill:?}"
    );
    let took = b.took_catalog_sync();
    assert!(took.len() == 1 && took[0].contains("term=2"), "{took:?}");
    let before = syncs_seen(&sim);
    until("B keeps syncing", Duration::from_secs(30), || async {
        (syncs_seen(&sim) >= before + 2).then_some(())
    })
    .await;

    // SIGTERM: B lets go of its jobs as it stops, and A2 (a new process) takes the job at its
    // next poll instead of waiting for the lease.
    let mut a2 = Replica::start("replica-a2", dirs.path(), &sim, &db).await;
    assert_eq!(a2.catalog_runs().await, 0, "B still holds the job");
    let stopping = Instant::now();
    b.sigterm().await;
    let (holder, until_ms) = db.catalog_holder().await;
    assert!(
        holder != "replica-b" || until_ms <= backline::clock::now_ms(),
        "B released the job as it stopped: {holder} until {until_ms}"
    );
    until(
        "A2 runs the catalog sync after B's SIGTERM",
        Duration::from_secs(30),
        || async { (a2.catalog_runs().await > 0).then_some(()) },
    )
    .await;
    let after_term = stopping.elapsed();
    assert!(
        after_term < LEASE,
        "taken over before the lease would have run out: {after_term:?}"
    );
    let took = a2.took_catalog_sync();
    assert!(took.len() == 1 && took[0].contains("term=3"), "{took:?}");
    assert!(
        b.logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("let go of the periodic jobs")),
        "B says it let go"
    );
    eprintln!(
        "periodic: {seen} catalog syncs in {elapsed:?} all on replica-a; takeover after SIGKILL {after_kill:?} (lease {LEASE:?}, poll {POLL:?}); after SIGTERM {after_term:?}"
    );
    a2.sigterm().await;
    db.drop().await;
}
