//! A package registry that cannot be reached never fails a project's scan: the findings are
//! recorded, the fix waits with "registry unreachable: <host>: <error>", the registry (not each
//! package) is backed off, and after the back-off a later sync opens the MR. The registry here
//! is a second gitlab-sim's `/registry/crates` made to fail; the clock of the registry client
//! is moved by hand, so nothing waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backline::catalog::service::Quiet;
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::remediation::{lock, world_with};

const CRATES: &str = "/registry/crates/:path";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_registry_never_fails_the_scan_and_the_fix_waits_then_opens() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    registries.faults().fail_next("GET", CRATES, 100_000, 503);
    let registry_host = registries.url().trim_start_matches("http://").to_string();
    let elapsed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clock = {
        let elapsed = elapsed.clone();
        Arc::new(move || start + Duration::from_secs(elapsed.load(Ordering::SeqCst)))
    };
    let registry = HttpRegistry::with_clock(
        RegistryConfig {
            attempts: 2,
            retry_base: Duration::ZERO,
            outage_backoff: Duration::from_secs(30),
            network: Network::load(None, ProxySettings::none()).unwrap(),
            ..RegistryConfig::simulator(registries.url())
        },
        clock,
    )
    .unwrap();
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![reference.join("rustsec-advisory-db")]
    })
    .await;
    // regex 1.5.5 needs regex-syntax ^0.6.25: the lockfile has it, so the fix can be made.
    let with_syntax = lock("1.5.4").replace(
        " \"regex\",\n]\n",
        " \"regex\",\n]\n\n[[package]]\nname = \"regex-syntax\"\nversion = \"0.6.25\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    ).replace(
        "name = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        "name = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461\"\ndependencies = [\n \"regex-syntax\",\n]\n",
    );
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "Cargo.lock", &with_syntax).await;
    let service = w.app.app.catalog_service.clone().unwrap();

    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    // The scan went through: findings recorded, the fix planned and waiting, no MR.
    let (status, findings) = w
        .app
        .api(&format!("/api/v1/projects/{}/findings", w.pid))
        .await;
    assert_eq!(status, 200);
    assert!(
        findings.to_string().contains("regex"),
        "findings recorded: {findings}"
    );
    assert!(w.mrs().is_empty());
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "planned", "{rem}");
    let reason = rem["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!("registry unreachable: {registry_host}: HTTP 503"),
        "{rem}"
    );
    assert!(!reason.contains("GitLab"));
    let asked = registries.count("GET", CRATES);
    assert_eq!(
        asked, 2,
        "the request's two attempts, then the registry is left alone"
    );

    // A sync during the back-off: the registry is not asked, the fix keeps waiting.
    elapsed.store(10, Ordering::SeqCst);
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(registries.count("GET", CRATES), asked);
    assert!(w.mrs().is_empty());
    assert_eq!(w.remediation().await["state"], "planned");

    // The registry is back and the back-off is over: the next sync opens the MR.
    registries.faults().clear();
    elapsed.store(45, Ordering::SeqCst);
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1, "{}", w.remediation().await);
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open", "{rem}");
    assert!(w
        .file("backline/crates.io/regex-1.5.5", "Cargo.lock")
        .unwrap()
        .contains("name = \"regex\"\nversion = \"1.5.5\""));
    w.app.shutdown().await;
}
