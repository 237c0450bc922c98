//! From a push to a merged fix, in the simulator: for each of N projects (default 50) with CI
//! (two jobs that succeed at once) and a policy file letting patch bumps merge themselves, a
//! person pushes a vulnerable Cargo.lock to the default branch; the time from the push
//! webhook's 202 to the bot's MR being merged (its pipeline green, GitLab's auto-merge done,
//! every webhook delivered and handled) is measured, one project at a time.
//!
//! Run: `cargo bench --bench automerge_latency -- --projects 50`; with `--people` the policy
//! also names an assignee and `reviewers: [codeowners]` (a root `CODEOWNERS`), so each MR is
//! opened with its people (the username lookup and the `CODEOWNERS` read included).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backline::app::App;
use backline::catalog::service::Quiet;
use backline::config::Settings;
use backline::gitlab::{ClientConfig, GitLab};
use backline::registry::FakeRegistry;
use backline::remediation::fixer::PatchFixer;
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, HookTarget, ProjectSpec, SimConfig};

const SECRET: &str = "bench-secret";
const OLD: &str = "d1d0a3c1d5c1b1f1a1e1b1c1d1e1f1a1b1c1d1e1f1a1b1c1d1e1f1a1b1c1d1e1";
const NEW: &str = "1a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4";

const POLICY: &str = "auto_merge:\n  enabled: true\n  max_bump: patch\n";
const PEOPLE: &str = "assignees: [alice]\nreviewers: [codeowners]\n";

fn lock(regex: &str) -> String {
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"regex\",\n]\n\n[[package]]\nname = \"regex\"\nversion = \"{regex}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
        if regex == "1.5.5" { NEW } else { OLD }
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut projects = 50usize;
    let mut people = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--people" {
            people = true;
        } else if a == "--projects" {
            projects = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--projects N");
        }
    }
    let sim = GitLabSim::start(SimConfig {
        workers: 2,
        ..SimConfig::default()
    })
    .unwrap();
    let bot = sim.bot_user();
    let person = sim.with_world(|w| w.create_user("alice", "Alice"));
    let ids: Vec<u64> = sim.with_world(|w| {
        (0..projects)
            .map(|i| {
                let id = w
                    .create_project(
                        ProjectSpec::new("bench", format!("svc{i}"))
                            .file("Cargo.lock", lock("1.5.5"))
                            .file("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n"),
                    )
                    .unwrap();
                w.add_member(id, bot, access::DEVELOPER).unwrap();
                w.add_member(id, person, access::DEVELOPER).unwrap();
                w.set_ci_jobs(id, &["build", "test"]).unwrap();
                w.commit_files(
                    id,
                    person,
                    "main",
                    "policy",
                    if people {
                        vec![
                            (".gitlab/backline.yml".into(), Some(format!("{POLICY}{PEOPLE}").into())),
                            ("CODEOWNERS".into(), Some("* @alice\n".to_string().into())),
                        ]
                    } else {
                        vec![(".gitlab/backline.yml".into(), Some(POLICY.to_string().into()))]
                    },
                )
                .unwrap();
                id
            })
            .collect()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.webhook_secrets = vec![Secret::new(SECRET)];
    settings.advisories =
        vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/rustsec-advisory-db")];
    settings.workers = 4;
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me = gitlab.current_user().await.unwrap();
    let registry = FakeRegistry::new().crate_version("regex", "1.5.5", NEW, &[]);
    let registry: Arc<dyn backline::registry::Registry> = Arc::new(registry);
    let fixer = Arc::new(PatchFixer::new(registry.clone()));
    let app = Arc::new(App::build_for_gitlab_with(settings, gitlab, me, fixer, registry).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/gitlab", listener.local_addr().unwrap());
    let server = app.server(listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    let _workers = app.start_workers();
    let service = app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    sim.with_world(|w| {
        w.pending.clear();
        for id in &ids {
            w.add_project_hook(*id, HookTarget::new(url.clone()).token(SECRET))
                .unwrap();
        }
    });
    sim.reset_requests();
    let mut latencies = Vec::new();
    let sender = gitlab_sim::Sender::default();
    for id in &ids {
        sim.with_world(|w| {
            w.commit_files(
                *id,
                person,
                "main",
                "downgrade",
                vec![("Cargo.lock".into(), Some(lock("1.5.4").into()))],
            )
        })
        .unwrap();
        let pending = sim.take_pending();
        let started = Instant::now();
        for p in pending {
            let delivery = gitlab_sim::DeliveryBuilder::new(p.event, p.body)
                .secret_token(SECRET)
                .build()
                .unwrap();
            let answer = sender.send(&url, &delivery).await.unwrap();
            assert!(
                answer.status == 202 || answer.status == 200,
                "{}",
                answer.status
            );
        }
        let mut merged = false;
        for _ in 0..50 {
            app.lanes.wait_idle().await;
            merged = sim.with_world(|w| {
                w.project(*id)
                    .unwrap()
                    .merge_requests
                    .iter()
                    .any(|m| m.state == gitlab_sim::MrState::Merged)
            });
            if merged {
                break;
            }
            sim.deliver_pending().await;
        }
        assert!(merged, "project {id}: the fix should be merged");
        if people {
            let given = sim.with_world(|w| {
                w.project(*id)
                    .unwrap()
                    .merge_requests
                    .iter()
                    .any(|m| m.assignee_ids == [person] && m.reviewer_ids == [person])
            });
            assert!(
                given,
                "project {id}: the MR should carry its assignee and reviewer"
            );
        }
        latencies.push(started.elapsed());
        // What the merge set off (push to main, hooks) is settled before the next project.
        for _ in 0..10 {
            if sim.deliver_pending().await.is_empty() {
                break;
            }
            app.lanes.wait_idle().await;
        }
    }
    let requests = sim.requests();
    let per_route = {
        let mut m = std::collections::BTreeMap::<String, usize>::new();
        for r in &requests {
            *m.entry(r.route.clone()).or_default() += 1;
        }
        m
    };
    latencies.sort();
    println!(
        "projects: {projects}, fixes merged: {}, people on MRs: {people}",
        latencies.len()
    );
    println!(
        "push -> merged fix: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "GitLab requests: {} in all, {:.2} per merged fix (push refresh and merge included)",
        requests.len(),
        requests.len() as f64 / projects as f64
    );
    for (route, n) in per_route {
        println!("  {:>6}  {route}", n);
    }
    handle.stop(true).await;
}
