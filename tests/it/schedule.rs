//! The policy's `schedule` end to end against gitlab-sim, with a given clock (never a sleep): a
//! project whose window is closed gets its security fix at once, while its approved
//! outdated-dependency upgrade waits as `planned` with `waiting for schedule (opens ...)`;
//! the schedule tick opens it once the clock enters the window.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use backline::catalog::service::Quiet;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, HookTarget, ProjectSpec, SimConfig};
use serde_json::Value;

use crate::harness::{spawn, Options, SECRET};
use crate::remediation::CargoLockLines;

const CKSUM: &str = "1a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4";

/// Saturday 2026-12-05 12:00 UTC: Berlin's Mon-Fri morning window is closed.
const SATURDAY_NOON: i64 = 1_796_472_000_000;
/// Monday 2026-12-07 05:00 UTC: 06:00 in Berlin (CET), the window opens.
const MONDAY_SIX_BERLIN: i64 = 1_796_619_600_000;

const POLICY: &str = "update_outdated: true\nschedule: \"Mon-Fri 06:00-09:00 Europe/Berlin\"\n";

fn lockfile() -> String {
    let entry = |name: &str, version: &str| {
        format!("[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n")
    };
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa\",\n \"regex\",\n]\n\n{}\n{}",
        entry("itoa", "1.0.0"),
        entry("regex", "1.5.4")
    )
}

const CARGO_TOML: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nitoa = \"1\"\nregex = \"1\"\n";

async fn remediation_of(app: &crate::harness::TestApp, package: &str) -> Value {
    let (_, body) = app.api("/api/v1/remediations").await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["package"] == package)
        .cloned()
        .unwrap_or_else(|| panic!("no remediation of {package}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_wait_for_the_schedule_window_and_security_fixes_do_not() {
    assert_eq!(
        MONDAY_SIX_BERLIN - SATURDAY_NOON,
        (36 + 5) * 3_600_000,
        "the constants are Saturday noon and Monday 05:00 UTC"
    );
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "api")
                    .file("Cargo.lock", lockfile())
                    .file("Cargo.toml", CARGO_TOML)
                    .file(".gitlab/backline.yml", POLICY),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let registry: Arc<dyn backline::registry::Registry> = Arc::new(
        backline::registry::FakeRegistry::new()
            .crate_version("itoa", "1.0.0", CKSUM, &[])
            .crate_version("itoa", "1.0.11", CKSUM, &[])
            .crate_version("regex", "1.5.4", CKSUM, &[])
            .crate_version("regex", "1.5.5", CKSUM, &[]),
    );
    let now = Arc::new(AtomicI64::new(SATURDAY_NOON));
    let clock = {
        let now = now.clone();
        backline::clock::Clock::from_fn(move || now.load(Ordering::SeqCst))
    };
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me: User = gitlab.current_user().await.unwrap();
    let reference = crate::harness::test_data("");
    let app = spawn(Options {
        gitlab: Some((gitlab, me)),
        registry: Some(registry),
        fixer: Some(Arc::new(CargoLockLines)),
        clock: Some(clock),
        tweak: Box::new(move |s| {
            s.advisories = vec![reference.join("rustsec-advisory-db")];
        }),
        ..Options::default()
    })
    .await;
    sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(app.webhook_url()).token(SECRET)))
        .unwrap();
    let mrs = || sim.with_world(|w| w.project(pid).unwrap().merge_requests.clone());
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    app.drain().await;
    // The security fix opens at once, window or not.
    let opened = mrs();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].title, "Security: bump regex from 1.5.4 to 1.5.5");
    // The upgrade is approved by a person, and waits for Monday morning in Berlin.
    let itoa = remediation_of(&app, "itoa").await;
    assert_eq!(itoa["state"], "planned", "{itoa}");
    let (status, _) = app
        .api_post(&format!("/api/v1/remediations/{}/approve", itoa["id"]))
        .await;
    assert_eq!(status, 202);
    app.drain().await;
    let itoa = remediation_of(&app, "itoa").await;
    assert_eq!(itoa["state"], "planned", "{itoa}");
    assert_eq!(
        itoa["reason"], "waiting for schedule (opens 2026-12-07 06:00 Europe/Berlin)",
        "{itoa}"
    );
    assert_eq!(mrs().len(), 1);
    let background = app.app.engine.as_ref().unwrap().background().clone();
    // The tick before the window: nothing is due.
    now.store(MONDAY_SIX_BERLIN - 1, Ordering::SeqCst);
    assert_eq!(background.open_scheduled().await.unwrap(), 0);
    assert_eq!(mrs().len(), 1);
    // The clock enters the window: the tick opens the upgrade's MR.
    now.store(MONDAY_SIX_BERLIN, Ordering::SeqCst);
    assert_eq!(background.open_scheduled().await.unwrap(), 1);
    app.drain().await;
    let opened = mrs();
    assert_eq!(opened.len(), 2, "{opened:?}");
    assert!(
        opened
            .iter()
            .any(|m| m.title == "Update: bump itoa from 1.0.0 to 1.0.11"),
        "{opened:?}"
    );
    let itoa = remediation_of(&app, "itoa").await;
    assert_eq!(itoa["state"], "mr_open", "{itoa}");
    // Nothing waits any more: the next tick acts on no project.
    assert_eq!(background.open_scheduled().await.unwrap(), 0);
    app.shutdown().await;
}
