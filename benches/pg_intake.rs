//! Durable intake on PostgreSQL (issue 16): N concurrent requests store ~8 KB push deliveries
//! through the group-commit intake (`store::pg::intake`), each answered only after its
//! transaction committed, on one replica and on two replicas sharing the database; and in the
//! same run the sled inbox's enqueue + durable flush, for comparison. This is the storage step
//! of the webhook path (what `serve` does after verification and classification), not HTTP.
//!
//! Needs a PostgreSQL database: `BACKLINE_BENCH_DATABASE_URL`, else
//! `BACKLINE_TEST_DATABASE_URL` (scripts/test-postgres sets it up). Each scenario gets its own
//! schema.
//!
//! Run: `source scripts/test-postgres && cargo bench --bench pg_intake -- --tasks 64 --seconds 5`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backline::gitlab::hooks::EventKind;
use backline::gitlab::ProjectId;
use backline::inbox::{Enqueued, Inbox, NewDelivery};
use backline::net::Network;
use backline::store::pg::intake::{Intake, IntakeConfig};
use backline::store::pg::{DatabaseUrl, PgInbox, PgStore, ReplicaId};
use backline::store::Store;

struct Args {
    tasks: usize,
    seconds: u64,
    body_bytes: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        tasks: 64,
        seconds: 5,
        body_bytes: 8 * 1024,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok());
        match a.as_str() {
            "--tasks" => args.tasks = value().expect("--tasks N"),
            "--seconds" => args.seconds = value().expect("--seconds N") as u64,
            "--body-bytes" => args.body_bytes = value().expect("--body-bytes N"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// A push-like JSON body of at least `size` bytes (commits repeated, as GitLab sends them).
fn body(size: usize) -> Vec<u8> {
    let commit = r#"{"id":"b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327","message":"Update Gemfile.lock","timestamp":"2026-01-01T00:00:00Z","author":{"name":"Jane","email":"jane@example.com"},"added":[],"modified":["Gemfile.lock"],"removed":[]}"#;
    let mut out = String::from(r#"{"object_kind":"push","ref":"refs/heads/main","commits":["#);
    while out.len() < size {
        out.push_str(commit);
        out.push(',');
    }
    out.push_str(commit);
    out.push_str("]}");
    out.into_bytes()
}

fn delivery(task: usize, n: u64, run: u128) -> NewDelivery {
    NewDelivery {
        key: format!("id:{run}-{task}-{n}"),
        kind: EventKind::Push,
        project: Some(ProjectId(task as u64 % 50 + 1)),
        event_uuid: None,
        verified_by: backline::inbox::VerifiedBy::Signature,
        received_at_ms: 0,
    }
}

struct Measured {
    ok: u64,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// Runs `tasks` request loops for `seconds`; `store(task, n)` stores one delivery.
async fn drive<F, Fut>(tasks: usize, seconds: u64, store: F) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (store, stop) = (store.clone(), stop.clone());
        handles.push(tokio::spawn(async move {
            let (mut ok, mut latencies, mut n) = (0u64, Vec::new(), 0u64);
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let stored = store(t, n).await;
                latencies.push(at.elapsed());
                n += 1;
                ok += u64::from(stored);
            }
            (ok, latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Measured {
        ok: 0,
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for h in handles {
        let (ok, lat) = h.await.unwrap();
        out.ok += ok;
        out.latencies.extend(lat);
    }
    out.elapsed = started.elapsed();
    out.latencies.sort();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, m: &Measured, extra: &str) {
    let rate = m.ok as f64 / m.elapsed.as_secs_f64();
    println!(
        "{name:<34} {rate:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  stored {:>7}  failed {:>3}  {extra}",
        percentile(&m.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&m.latencies, 0.99).as_secs_f64() * 1e3,
        m.ok,
        m.latencies.len() as u64 - m.ok,
    );
}

async fn pg_scenario(base: &DatabaseUrl, replicas: usize, args: &Args, payload: Arc<Vec<u8>>) {
    let schema = format!("bench_{}_{}", std::process::id(), replicas);
    let admin = PgStore::connect(base, &Network::default(), 1).unwrap();
    admin
        .client()
        .await
        .expect("database reachable")
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let url = base.with_schema(&schema).unwrap();
    let mut intakes = Vec::new();
    for r in 0..replicas {
        let store = PgStore::open(&url, &Network::default(), 16).await.unwrap();
        let inbox = PgInbox::new(
            store,
            ReplicaId::new(format!("bench-{r}")),
            Duration::from_secs(30),
        );
        intakes.push(Intake::start(inbox, IntakeConfig::default()).0);
    }
    let intakes = Arc::new(intakes);
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let failures = Arc::new(AtomicU64::new(0));
    let (i2, f2) = (intakes.clone(), failures.clone());
    let m = drive(args.tasks, args.seconds, move |t, n| {
        let (intakes, payload, failures) = (i2.clone(), payload.clone(), f2.clone());
        async move {
            // Requests spread over the replicas, as a load balancer would.
            let intake = &intakes[t % intakes.len()];
            match intake.enqueue(delivery(t, n, run), &payload).await {
                Ok(Enqueued::Accepted { .. }) => true,
                Ok(_) => false,
                Err(e) => {
                    if failures.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("first failure: {e}");
                    }
                    false
                }
            }
        }
    })
    .await;
    let (batches, deliveries) = intakes.iter().fold((0, 0), |(b, d), i| {
        let s = i.stats();
        (b + s.batches, d + s.deliveries)
    });
    report(
        &format!("postgres, {replicas} replica(s)"),
        &m,
        &format!(
            "{:.1} deliveries per commit",
            deliveries as f64 / batches.max(1) as f64
        ),
    );
    admin
        .client()
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

async fn sled_scenario(args: &Args, payload: Arc<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inbox = Inbox::new(store.clone()).expect("inbox");
    let m = drive(args.tasks, args.seconds, move |t, n| {
        let (inbox, store, payload) = (inbox.clone(), store.clone(), payload.clone());
        async move {
            let d = delivery(t, n, 0);
            let stored = inbox.run(move |i| i.enqueue(&d, &payload)).await.unwrap();
            store.durable().await.unwrap();
            matches!(stored, Enqueued::Accepted { .. })
        }
    })
    .await;
    report("sled (enqueue + durable flush)", &m, "");
}

fn main() {
    let args = parse_args();
    let raw = std::env::var("BACKLINE_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("BACKLINE_TEST_DATABASE_URL"))
        .expect(
            "set BACKLINE_BENCH_DATABASE_URL (or run `source scripts/test-postgres`, which \
             starts a local PostgreSQL and sets BACKLINE_TEST_DATABASE_URL)",
        );
    let base = DatabaseUrl::parse(&raw).expect("a usable database URL");
    let payload = Arc::new(body(args.body_bytes));
    println!(
        "durable intake: {} concurrent requests, {} s each, {} byte bodies, base {base}",
        args.tasks,
        args.seconds,
        payload.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sled_scenario(&args, payload.clone()).await;
        pg_scenario(&base, 1, &args, payload.clone()).await;
        pg_scenario(&base, 2, &args, payload.clone()).await;
    });
}
