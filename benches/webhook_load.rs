//! Load test of `POST /webhooks/gitlab`: valid signed ~8 KB push payloads over N keep-alive
//! connections against the real `backline serve` binary (verification, dedupe, classification,
//! durable group-commit persist, workers draining at the same time), and in the same run against
//! a no-op actix handler that only reads the body, for a ratio.
//!
//! Run: `cargo bench --bench webhook_load -- --connections 64 --seconds 10`
//!
//! On PostgreSQL: `--database-url postgres://... --replicas N` starts N `serve` processes on that
//! (empty) database and spreads the connections over them in turn.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpResponse, HttpServer};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

#[path = "support/load.rs"]
mod support;
use support::{load, load_spread, report};

/// Distinguishes runs in ids (a counter per connection does the rest, without a syscall).
static RUN: std::sync::LazyLock<u128> = std::sync::LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
});

const TOKEN: &str = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";
const ADMIN: &str = "bench-admin";

struct Args {
    connections: usize,
    seconds: u64,
    body_bytes: usize,
    workers: usize,
    database_url: Option<String>,
    replicas: usize,
    projects: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        connections: 64,
        seconds: 10,
        body_bytes: 8 * 1024,
        workers: 2,
        database_url: None,
        replicas: 1,
        projects: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok());
        match a.as_str() {
            "--connections" => args.connections = value().expect("--connections N"),
            "--seconds" => args.seconds = value().expect("--seconds N") as u64,
            "--body-bytes" => args.body_bytes = value().expect("--body-bytes N"),
            "--workers" => args.workers = value().expect("--workers N"),
            "--database-url" => args.database_url = Some(it.next().expect("--database-url URL")),
            "--replicas" => args.replicas = value().expect("--replicas N"),
            "--projects" => args.projects = value().expect("--projects N"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// A push payload of at least `size` bytes, built from the example by repeating commits.
fn push_payload(size: usize) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks/push.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let commit = v["commits"][0].clone();
    let mut commits = Vec::new();
    while serde_json::to_vec(&v).unwrap().len() < size {
        commits.push(commit.clone());
        v["commits"] = Value::Array(commits.clone());
        v["total_commits_count"] = commits.len().into();
    }
    serde_json::to_vec(&v).unwrap()
}

/// `body` with its project id set to `id`.
fn for_project(body: &[u8], id: u64) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    v["project_id"] = id.into();
    v["project"]["id"] = id.into();
    serde_json::to_vec(&v).unwrap()
}

fn request(path: &str, body: &[u8], connection: usize, n: u64, signed: bool) -> Vec<u8> {
    let id = format!("bench-{}-{connection}-{n}", *RUN);
    let ts = backline::clock::now_secs();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Gitlab-Event: Push Hook\r\nContent-Length: {}\r\n",
        body.len()
    );
    if signed {
        let sig = gitlab_sim::webhook::sign(TOKEN, &id, ts, body).unwrap();
        head.push_str(&format!(
            "webhook-id: {id}\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: {sig}\r\n"
        ));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let body = Arc::new(push_payload(args.body_bytes));
        println!(
            "{} connections, {} s each, body {} bytes, {} cores",
            args.connections,
            args.seconds,
            body.len(),
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );

        // The no-op baseline: reads the body, answers 202.
        let noop_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let noop_addr = noop_listener.local_addr().unwrap().to_string();
        let noop = HttpServer::new(|| {
            actix_web::App::new()
                .app_data(web::PayloadConfig::new(32 << 20))
                .route(
                    "/noop",
                    web::post().to(|body: web::Bytes| async move {
                        std::hint::black_box(body.len());
                        HttpResponse::Accepted().body("{}")
                    }),
                )
        })
        .disable_signals()
        .listen(noop_listener)
        .unwrap()
        .run();
        let noop_handle = noop.handle();
        tokio::spawn(noop);

        let dir = tempfile::tempdir().unwrap();
        let mut children = Vec::new();
        let mut addrs = Vec::new();
        for replica in 0..args.replicas.max(1) {
            let (child, addr) = start_backline(
                args.workers,
                &dir.path().join(format!("data-{replica}")),
                args.database_url.as_deref(),
                replica,
            )
            .await;
            children.push(child);
            addrs.push(addr);
        }
        let addr = addrs[0].clone();

        println!("| target | 2xx | other | rate | p50 | p99 | max |");
        println!("|---|---|---|---|---|---|---|");
        let (connections, seconds) = (args.connections, args.seconds);
        let noop_body = body.clone();
        let base = load(noop_addr, connections, seconds, 202, move |c, n| {
            request("/noop", &noop_body, c, n, false)
        })
        .await;
        let base_rate = report("no-op actix handler (reads body)", &base);
        // With --projects N the pushes name N projects in turn, so their deliveries queue in N
        // lanes that the workers drain in parallel (one project's run one at a time).
        let bodies: Arc<Vec<Vec<u8>>> = Arc::new(match args.projects {
            0 | 1 => vec![body.to_vec()],
            n => (0..n as u64)
                .map(|p| for_project(&body, 1_000 + p))
                .collect(),
        });
        let real = load_spread(addrs.clone(), connections, seconds, 202, move |c, n| {
            let body = &bodies[(c as u64 + n * 7) as usize % bodies.len()];
            request("/webhooks/gitlab", body, c, n, true)
        })
        .await;
        let store = match &args.database_url {
            Some(_) => format!("PostgreSQL, {} replica(s)", addrs.len()),
            None => "sled".to_string(),
        };
        let label = format!(
            "backline on {store}: verified, durable (group commit), {} workers each, {} project(s)",
            args.workers,
            args.projects.max(1)
        );
        let real_rate = report(&label, &real);
        println!("ratio backline / no-op: {:.2}", real_rate / base_rate);
        if args.workers > 0 {
            let drain_start = Instant::now();
            let status: Value = reqwest::Client::new()
                .get(format!("http://{addr}/api/v1/inbox?wait_idle_secs=300"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            println!(
                "workers drained the backlog {:.1} s after the load stopped: {status}",
                drain_start.elapsed().as_secs_f64()
            );
        }
        for mut child in children {
            child.kill().await.unwrap();
        }
        noop_handle.stop(true).await;
    });
}

/// Starts one `backline serve` (on sled in `data_dir`, or on `database_url`); returns it and the
/// address it logged.
async fn start_backline(
    workers: usize,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    replica: usize,
) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_backline"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--workers"])
        .arg(workers.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .env("BACKLINE_WEBHOOK_SIGNING_TOKEN", TOKEN)
        .env("BACKLINE_ADMIN_TOKEN", ADMIN)
        .env("BACKLINE_LOG", "warn,backline::app=info")
        .env("BACKLINE_REPLICA_ID", format!("bench-{replica}"))
        .env_remove("BACKLINE_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.env("BACKLINE_DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("the backline binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("backline logs its address");
        if let Some(a) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
        {
            break a.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}
