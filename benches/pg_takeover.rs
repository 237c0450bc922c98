//! Takeover time on PostgreSQL (issue 16): two real `serve` replicas share one database; GitLab
//! (the simulator) answers the repository reads slowly, so replica A holds leases on the
//! pushes it is processing; A is SIGKILLed and the clock runs until replica B has claimed
//! every delivery A held (the takeover) and until they are done. Repeated `--rounds` times,
//! for the lease given by `--lease-secs` (`BACKLINE_LEASE_SECS`; `--lease-secs default` leaves
//! it unset, so the replicas run with `serve`'s default).
//!
//! Needs a PostgreSQL database: `BACKLINE_BENCH_DATABASE_URL`, else `BACKLINE_TEST_DATABASE_URL`.
//!
//! Run: `cargo bench --bench pg_takeover -- --lease-secs 2 --rounds 5`

use std::process::Stdio;
use std::time::{Duration, Instant};

use backline::net::Network;
use backline::store::pg::{DatabaseUrl, PgStore};
use gitlab_sim::{DeliveryBuilder, GitLabSim, HookTarget, SimConfig};
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

const SECRET: &str = "takeover-secret";
const ADMIN: &str = "takeover-admin";

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

async fn start(
    sim: &GitLabSim,
    addr: &str,
    data: &std::path::Path,
    url: &str,
    id: &str,
    lease: Option<u64>,
) -> Child {
    let advisories = backline::demo::bundled_advisories()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_backline"));
    for (key, _) in std::env::vars() {
        if key.starts_with("BACKLINE_") {
            cmd.env_remove(key);
        }
    }
    if let Some(lease) = lease {
        cmd.env("BACKLINE_LEASE_SECS", lease.to_string());
    }
    let mut child = cmd
        .args(["serve", "--listen", addr, "--data-dir"])
        .arg(data)
        .args(["--retry-base-ms", "0"])
        .env("BACKLINE_LOG", "info")
        .env("BACKLINE_DATABASE_URL", url)
        .env("BACKLINE_REPLICA_ID", id)
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the backline binary starts");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
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

async fn count(pg: &PgStore, sql: &str, holder: &str) -> i64 {
    pg.client()
        .await
        .unwrap()
        .query_one(sql, &[&holder])
        .await
        .unwrap()
        .get(0)
}

async fn pending(pg: &PgStore) -> i64 {
    pg.client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM inbox", &[])
        .await
        .unwrap()
        .get(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let (mut lease, mut rounds, mut default_lease) = (2u64, 5usize, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // `default`: BACKLINE_LEASE_SECS left unset, so `serve` runs with its default.
            "--lease-secs" => match it.next().as_deref() {
                Some("default") => {
                    lease = backline::store::pg::queue::DEFAULT_LEASE.as_secs();
                    default_lease = true;
                }
                v => lease = v.and_then(|v| v.parse().ok()).expect("N or default"),
            },
            "--rounds" => rounds = it.next().and_then(|v| v.parse().ok()).expect("N"),
            _ => {}
        }
    }
    let lease_env = (!default_lease).then_some(lease);
    let raw = std::env::var("BACKLINE_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("BACKLINE_TEST_DATABASE_URL"))
        .expect("set BACKLINE_BENCH_DATABASE_URL or BACKLINE_TEST_DATABASE_URL");
    let base = DatabaseUrl::parse(&raw).expect("a usable database URL");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let schema = format!("bench_takeover_{}", std::process::id());
        let admin = PgStore::connect(&base, &Network::default(), 1).unwrap();
        admin
            .client()
            .await
            .expect("database reachable")
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
        let sep = if raw.contains('?') { '&' } else { '?' };
        let url = format!("{raw}{sep}options=-c%20search_path%3D{schema}");
        let pg = PgStore::connect(&base.with_schema(&schema).unwrap(), &Network::default(), 2)
            .unwrap();

        let sim = GitLabSim::start(SimConfig::default()).unwrap();
        let summary = sim.with_world(|w| {
            let s = gitlab_sim::generate(w, 6, 1);
            w.pending.clear();
            s
        });
        let alice = sim.with_world(|w| {
            let a = w.create_user("alice", "Alice");
            for id in &summary.catalogable {
                w.add_member(*id, a, gitlab_sim::access::DEVELOPER).unwrap();
            }
            a
        });
        let dirs = tempfile::tempdir().unwrap();
        let (addr_a, addr_b) = (free_addr(), free_addr());
        let hook = format!("http://{addr_a}/webhooks/gitlab");
        sim.with_world(|w| {
            for id in &summary.catalogable {
                w.add_project_hook(*id, HookTarget::new(hook.clone()).token(SECRET))
                    .unwrap();
            }
        });
        let mut b = start(&sim, &addr_b, &dirs.path().join("b"), &url, "replica-b", lease_env).await;
        let mut a = start(&sim, &addr_a, &dirs.path().join("a-0"), &url, "replica-a-0", lease_env).await;
        let synced = reqwest::Client::new()
            .get(format!("http://{addr_b}/api/v1/sync?wait_secs=120"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        println!(
            "takeover: 2 replicas, lease {lease} s, {} projects; sync: {}",
            summary.catalogable.len(),
            synced.len()
        );
        let sender = gitlab_sim::Sender::default();
        let (mut claimed_after, mut done_after) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let holder = format!("replica-a-{round}");
            // Slow repository reads: whoever processes a push holds its lease for seconds.
            let faults = sim.faults();
            faults.add_latency(
                "GET",
                "/projects/:id/repository/files/:file_path/raw",
                Duration::from_secs(4 * lease),
            );
            faults.add_latency(
                "GET",
                "/projects/:id/repository/tree",
                Duration::from_secs(4 * lease),
            );
            sim.with_world(|w| {
                for id in summary.catalogable.clone() {
                    let _ = w.commit_files(
                        id,
                        alice,
                        "main",
                        "docs",
                        vec![("NOTES.md".into(), Some(format!("round {round}").into()))],
                    );
                }
            });
            let deliveries: Vec<_> = sim
                .take_pending()
                .into_iter()
                .map(|p| {
                    DeliveryBuilder::new(p.event, p.body)
                        .secret_token(SECRET)
                        .build()
                        .unwrap()
                })
                .collect();
            for d in &deliveries {
                let r = sender
                    .send(&format!("http://{addr_a}/webhooks/gitlab"), d)
                    .await
                    .unwrap();
                assert!(r.status < 300, "{} {}", r.status, r.body);
            }
            // Wait (polling) until A holds leases, then kill it.
            let deadline = Instant::now() + Duration::from_secs(60);
            let held = loop {
                let n = count(
                    &pg,
                    "SELECT count(*) FROM inbox WHERE leased_by = $1",
                    &holder,
                )
                .await;
                if n > 0 {
                    break n;
                }
                assert!(Instant::now() < deadline, "replica A never claimed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let seqs: Vec<i64> = pg
                .client()
                .await
                .unwrap()
                .query("SELECT seq FROM inbox WHERE leased_by = $1", &[&holder])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            a.kill().await.unwrap();
            let killed = Instant::now();
            faults.clear();
            let mut claimed = None;
            loop {
                let rows = pg
                    .client()
                    .await
                    .unwrap()
                    .query(
                        "SELECT d.state, i.leased_by FROM deliveries d
                         LEFT JOIN inbox i ON i.seq = d.seq WHERE d.seq = ANY($1)",
                        &[&seqs],
                    )
                    .await
                    .unwrap();
                let taken = rows.iter().all(|r| {
                    let state: String = r.get(0);
                    let by: Option<String> = r.get(1);
                    state == "done" || by.as_deref() == Some("replica-b")
                });
                if taken && claimed.is_none() {
                    claimed = Some(killed.elapsed());
                }
                if rows.iter().all(|r| r.get::<_, String>(0) == "done") {
                    break;
                }
                assert!(
                    killed.elapsed() < Duration::from_secs(60 + 2 * lease),
                    "replica B never took over"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let done = killed.elapsed();
            let claimed = claimed.unwrap_or(done);
            println!(
                "round {round}: A held {held} lease(s); B claimed them {:.2} s after the kill, done {:.2} s after",
                claimed.as_secs_f64(),
                done.as_secs_f64()
            );
            claimed_after.push(claimed.as_secs_f64());
            done_after.push(done.as_secs_f64());
            // Wait for the rest of the round to drain, then bring A back as a new holder.
            let deadline = Instant::now() + Duration::from_secs(120);
            while pending(&pg).await > 0 {
                assert!(Instant::now() < deadline, "the queue never drained");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            a = start(
                &sim,
                &addr_a,
                &dirs.path().join(format!("a-{}", round + 1)),
                &url,
                &format!("replica-a-{}", round + 1),
                lease_env,
            )
            .await;
        }
        claimed_after.sort_by(f64::total_cmp);
        done_after.sort_by(f64::total_cmp);
        println!(
            "| lease | rounds | takeover (claimed by B) p50 | max | done p50 | max |\n|---|---|---|---|---|---|\n| {lease} s | {rounds} | {:.2} s | {:.2} s | {:.2} s | {:.2} s |",
            percentile(&claimed_after, 0.5),
            percentile(&claimed_after, 1.0),
            percentile(&done_after, 0.5),
            percentile(&done_after, 1.0),
        );
        let _ = a.kill().await;
        let _ = b.kill().await;
        admin
            .client()
            .await
            .unwrap()
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
}
