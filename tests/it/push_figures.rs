//! The push-to-MR figure of one ecosystem (issue 18), measured over many runs: the project is
//! catalogued once (a sync, not measured), then each run pushes the same vulnerable files
//! under a folder of its own (`run-N/...`), so that every run is a new finding on a new
//! manifest and ends with a new MR. A run is timed from the commit to the bot's work settled
//! (every webhook delivered and handled: the MR open), and its requests are counted: GitLab's
//! on the simulator's recorder, the registries' on the second simulator that serves them.

use std::time::{Duration, Instant};

use backline::catalog::service::Quiet;
use gitlab_sim::GitLabSim;

use crate::remediation::World;

/// How many pushes each figure is taken over.
pub const RUNS: usize = 100;

/// One push and what it cost.
#[derive(Debug)]
pub struct Run {
    /// The folder the run's files were pushed under (`run-N`).
    pub dir: String,
    /// From the commit to the bot's work settled.
    pub elapsed: Duration,
    /// The GitLab requests the run made (`METHOD /route`), in order.
    pub gitlab: Vec<String>,
    /// The registry requests the run made (`METHOD /route`), in order.
    pub registry: Vec<String>,
    /// The webhooks GitLab delivered to the bot (`X-Gitlab-Event`), in order.
    pub webhooks: Vec<String>,
    /// The MR the run opened.
    pub mr: gitlab_sim::world::MergeRequest,
}

/// Catalogues the world's project (its first scan) before the runs, so that a run measures a
/// push to a project the bot already knows.
pub async fn catalogue(w: &World) {
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
}

/// Pushes `files` (path below the run's folder, content) as `user` under `run-{n}/` and waits
/// until the bot is done; asserts that exactly one MR was opened.
pub async fn push(
    w: &World,
    registries: &GitLabSim,
    user: u64,
    n: usize,
    files: &[(&str, String)],
) -> Run {
    let dir = format!("run-{n}");
    let before = w.mrs().len();
    let commit: Vec<(String, Option<bytes::Bytes>)> = files
        .iter()
        .map(|(path, text)| (format!("{dir}/{path}"), Some(text.clone().into())))
        .collect();
    w.sim.reset_requests();
    registries.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, user, "main", &format!("add {dir}"), commit))
        .unwrap();
    let webhooks = settle(w).await;
    let elapsed = started.elapsed();
    let routes = |sim: &GitLabSim| -> Vec<String> {
        sim.requests()
            .into_iter()
            .map(|r| {
                assert!(r.modeled, "an unmodelled request: {r:?}");
                r.route
            })
            .collect()
    };
    let mrs = w.mrs();
    assert_eq!(mrs.len(), before + 1, "one new MR for {dir}: {mrs:?}");
    Run {
        dir,
        elapsed,
        gitlab: routes(&w.sim),
        registry: routes(registries),
        webhooks,
        mr: mrs.last().unwrap().clone(),
    }
}

/// [`World::settle`], naming the webhooks delivered.
async fn settle(w: &World) -> Vec<String> {
    let mut events = Vec::new();
    loop {
        let sent = w.sim.deliver_pending().await;
        for (d, status) in &sent {
            let event = d.header("X-Gitlab-Event").unwrap_or_default().to_string();
            assert!(*status == 202 || *status == 200, "{status} {event}");
            events.push(event);
        }
        w.app.drain().await;
        if sent.is_empty() && w.sim.with_world(|x| x.pending.is_empty()) {
            return events;
        }
    }
}

/// The paths whose content differs between the default branch and `branch` (added, changed or
/// removed): what the MR's diff shows.
pub fn changed_paths(w: &World, branch: &str) -> Vec<String> {
    w.sim.with_world(|x| {
        let repo = &x.project(w.pid).unwrap().repo;
        let (main, head) = (repo.head("main").unwrap(), repo.head(branch).unwrap());
        let mut paths: Vec<String> = main
            .files
            .keys()
            .chain(head.files.keys())
            .filter(|p| {
                main.files.get(*p).map(|f| &f.content) != head.files.get(*p).map(|f| &f.content)
            })
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    })
}

/// The value at quantile `q` of `sorted` (nearest rank, as `benches/remediation_latency.rs`).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Checks that every run asked the same requests and got the same webhooks (the figure is per push, not an average), and
/// prints the figure for BENCHMARKS.md.
pub fn report(label: &str, runs: &[Run]) {
    let first = &runs[0];
    for r in runs {
        assert_eq!(
            (&r.gitlab, &r.registry, &r.webhooks),
            (&first.gitlab, &first.registry, &first.webhooks),
            "{} asked other requests than {}",
            r.dir,
            first.dir
        );
    }
    let mut times: Vec<Duration> = runs.iter().map(|r| r.elapsed).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}: {} runs, push to MR open median {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         per push {} GitLab requests, {} registry requests",
        runs.len(),
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99)),
        ms(*times.last().unwrap()),
        first.gitlab.len(),
        first.registry.len(),
    );
    println!("{label} GitLab requests: {:#?}", first.gitlab);
    println!("{label} registry requests: {:#?}", first.registry);
    println!("{label} webhooks delivered: {:?}", first.webhooks);
}
