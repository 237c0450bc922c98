//! Dependency state in the service, end to end against gitlab-sim: a catalogued project is
//! scanned after the sync; a push to the default branch that touches no manifest costs no GitLab
//! request; one that bumps a lockfile re-reads only it and resolves the finding.

use backline::catalog::service::Quiet;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, HookTarget, ProjectSpec, SimConfig};
use serde_json::Value;

use crate::harness::{spawn, Options, TestApp, SECRET};

fn lock(regex: &str) -> String {
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"regex\"]\n\n[[package]]\nname = \"regex\"\nversion = \"{regex}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
    )
}

async fn app_for(sim: &GitLabSim) -> TestApp {
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let bot: User = gitlab.current_user().await.unwrap();
    let reference = crate::harness::test_data("");
    spawn(Options {
        gitlab: Some((gitlab, bot)),
        tweak: Box::new(move |s| {
            s.advisories = vec![
                reference.join("rustsec-advisory-db"),
                reference.join("pypa-advisory-database"),
            ]
        }),
        ..Options::default()
    })
    .await
}

fn ids(findings: &Value) -> Vec<String> {
    findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["advisory"]["kind"] == "vulnerability")
        .map(|f| {
            format!(
                "{} {} {}",
                f["package"].as_str().unwrap(),
                f["version"].as_str().unwrap(),
                f["advisory"]["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_findings_follow_the_default_branch() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let id = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "api")
                    .file("Cargo.lock", lock("1.5.4"))
                    .file("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n")
                    .file("requirements.txt", "jinja2==2.10\n")
                    .file("README.md", "hi"),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let app = app_for(&sim).await;
    sim.with_world(|w| w.add_project_hook(id, HookTarget::new(app.webhook_url()).token(SECRET)))
        .unwrap();
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    let (status, findings) = app
        .api(&format!("/api/v1/projects/{id}/findings?per_page=100"))
        .await;
    assert_eq!(status, 200);
    let found = ids(&findings);
    assert!(
        found.contains(&"regex 1.5.4 RUSTSEC-2022-0013".to_string()),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.starts_with("jinja2 2.10 PYSEC-")),
        "{found:?}"
    );
    let regex = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"]["id"] == "RUSTSEC-2022-0013")
        .unwrap()
        .clone();
    assert_eq!(regex["fix_version"], "1.5.5");
    assert_eq!(regex["direct"], true);
    let jinja_seen = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"] == "jinja2")
        .unwrap()["first_seen_at"]
        .clone();
    let (_, manifests) = app.api(&format!("/api/v1/projects/{id}/manifests")).await;
    assert_eq!(manifests["total"], 2);

    // A push that touches no manifest: handled without a single GitLab request.
    sim.reset_requests();
    sim.with_world(|w| {
        w.commit_files(
            id,
            bot,
            "main",
            "docs",
            vec![("README.md".into(), Some("hello".into()))],
        )
    })
    .unwrap();
    let sent = sim.deliver_pending().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, 202);
    app.drain().await;
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    let (_, deliveries) = app.api("/api/v1/deliveries?per_page=1").await;
    let outcome = deliveries["items"][0]["outcome"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(outcome.contains("no manifest touched"), "{outcome}");

    // A push that bumps regex: only Cargo.lock (and Cargo.toml) re-read; the finding resolved.
    sim.with_world(|w| {
        w.commit_files(
            id,
            bot,
            "main",
            "bump regex",
            vec![("Cargo.lock".into(), Some(lock("1.5.5").into()))],
        )
    })
    .unwrap();
    sim.deliver_pending().await;
    app.drain().await;
    let raw_reads = sim.count("GET", "/projects/:id/repository/files/:file_path/raw");
    assert_eq!(raw_reads, 2, "{:?}", sim.requests());
    assert_eq!(sim.count("GET", "/projects/:id/repository/tree"), 0);
    let (_, deliveries) = app.api("/api/v1/deliveries?per_page=1").await;
    let outcome = deliveries["items"][0]["outcome"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(outcome.contains("1 resolved"), "{outcome}");
    let (_, findings) = app
        .api(&format!("/api/v1/projects/{id}/findings?per_page=100"))
        .await;
    let found = ids(&findings);
    assert!(!found.iter().any(|f| f.starts_with("regex")), "{found:?}");
    // The jinja2 findings were kept, with their first-seen time.
    let jinja = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"] == "jinja2")
        .unwrap();
    assert_eq!(jinja["first_seen_at"], jinja_seen);
    assert!(jinja["first_seen_at"].as_str().unwrap() <= jinja["last_seen_at"].as_str().unwrap());
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_unchecked_dependencies_are_kept_per_project() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let git_lock = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"regex\"]\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"git+https://github.com/rust-lang/regex?tag=1.5.4#b92ffd5471018419a15e7ffb5ee5ae6e8a0d6d5d\"\n";
    let id = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "gitdeps")
                    .file("Cargo.lock", git_lock)
                    .file("requirements.txt", "flask>=2.0\njinja2==2.10\n"),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let app = app_for(&sim).await;
    app.app
        .catalog_service
        .clone()
        .unwrap()
        .sync(&Quiet)
        .await
        .unwrap();
    let (status, findings) = app
        .api(&format!("/api/v1/projects/{id}/findings?per_page=100"))
        .await;
    assert_eq!(status, 200);
    let found = ids(&findings);
    assert!(found.iter().all(|f| !f.starts_with("regex ")), "{found:?}");
    assert!(
        found.iter().any(|f| f.starts_with("jinja2 2.10 ")),
        "{found:?}"
    );
    let (status, unchecked) = app.api(&format!("/api/v1/projects/{id}/unchecked")).await;
    assert_eq!(status, 200, "{unchecked}");
    assert_eq!(unchecked["total"], 2);
    let rows: Vec<(String, String, String)> = unchecked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["path"].as_str().unwrap().to_string(),
                u["package"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Cargo.lock".into(), "regex".into(), "git source".into()),
            ("requirements.txt".into(), "flask".into(), "unpinned".into()),
        ]
    );
}
