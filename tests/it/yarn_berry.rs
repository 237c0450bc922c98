//! Yarn berry `yarn.lock` fixes end to end (issue 18): a push brings a project that yarn 4
//! locked (tests/data/yarn-berry/direct-pin/before) with lodash 4.17.20 (GHSA-35jh-r3h4-6jhm,
//! fixed in 4.17.21) and ms 2.0.0 under debug 2.6.9 (a test advisory, fixed in 2.1.3, which
//! debug's `2.0.0` excludes and no debug release allows). Each gets an MR whose files are, byte
//! for byte, what yarn 4 wrote for that change (the moved entry's `checksum` left out, as the MR
//! says), from the simulator's npm registry.

use std::sync::Arc;
use std::time::Instant;

use backline::catalog::service::Quiet;
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::remediation::world_with;

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!("yarn-berry/{path}"))).unwrap()
}

/// yarn's lock without the `checksum` line of the entry resolving `resolution`.
fn without_checksum(lock: &str, resolution: &str) -> String {
    let mut out = String::new();
    let mut moved = false;
    for line in lock.split_inclusive('\n') {
        if !line.starts_with(' ') {
            moved = false;
        }
        if line.trim_end() == format!("  resolution: \"{resolution}\"") {
            moved = true;
        }
        if !(moved && line.starts_with("  checksum: ")) {
            out.push_str(line);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_yarn_berry_lock_gets_mrs_with_what_yarn_4_writes() {
    let advisories = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::harness::test_data("npm-audit/advisories/GHSA-35jh-r3h4-6jhm.json"),
        advisories.path().join("GHSA-35jh-r3h4-6jhm.json"),
    )
    .unwrap();
    std::fs::write(
        advisories.path().join("GHSA-test-ms.json"),
        r#"{"id":"GHSA-test-ms","modified":"2024-03-15T12:00:00Z","summary":"ReDoS in ms",
            "database_specific":{"severity":"HIGH"},
            "affected":[{"package":{"ecosystem":"npm","name":"ms"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.1.3"}]}]}]}"#,
    )
    .unwrap();
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    let npm = registries.registry();
    npm.add_npm("lodash", "4.17.20", "sha512-old", "aa", &[]);
    npm.add_npm(
        "lodash",
        "4.17.21",
        "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==",
        "679591c564c3bffaae8454cf0b3df370c3d6911c",
        &[],
    );
    npm.add_npm("ms", "2.0.0", "sha512-old", "bb", &[]);
    npm.add_npm(
        "ms",
        "2.1.3",
        "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
        "574c8138ce1d2b5861f0b44579dbadd60c6615b2",
        &[],
    );
    npm.add_npm("debug", "2.6.9", "sha512-d269", "cc", &[("ms", "2.0.0")]);
    let registry = HttpRegistry::new(RegistryConfig::simulator(registries.url())).unwrap();
    let dir = advisories.path().to_path_buf();
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![dir]
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = ["package.json", "yarn.lock"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                Some(data(&format!("direct-pin/before/{f}")).into()),
            )
        })
        .collect();
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add a yarn 4 project", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let elapsed = started.elapsed();

    let mrs = w.mrs();
    assert_eq!(mrs.len(), 2, "one MR per package: {mrs:?}");
    let mr_of = |title: &str| {
        mrs.iter()
            .find(|m| m.title.contains(title))
            .unwrap_or_else(|| panic!("no MR {title}: {mrs:?}"))
    };
    let lodash = mr_of("lodash from 4.17.20 to 4.17.21");
    assert_eq!(
        w.file(&lodash.source_branch, "yarn.lock").unwrap(),
        without_checksum(&data("direct-pin/after/yarn.lock"), "lodash@npm:4.17.21")
    );
    assert_eq!(
        w.file(&lodash.source_branch, "package.json").unwrap(),
        data("direct-pin/after/package.json")
    );
    let ms = mr_of("ms from 2.0.0 to 2.1.3");
    assert_eq!(
        w.file(&ms.source_branch, "yarn.lock").unwrap(),
        without_checksum(&data("override/after/yarn.lock"), "ms@npm:2.1.3")
    );
    assert_eq!(
        w.file(&ms.source_branch, "package.json").unwrap(),
        data("override/after/package.json")
    );
    assert!(
        ms.description.contains(
            "**Override:** this MR pins `ms` to `2.1.3` with `resolutions` in package.json"
        ),
        "{}",
        ms.description
    );
    for m in [lodash, ms] {
        assert!(
            m.description
                .contains("**Checksum:** the moved `yarn.lock` entries have no `checksum` line."),
            "{}",
            m.description
        );
    }
    // The packuments of lodash, ms and ms's parent debug: nothing else.
    let asked = registries.count("GET", "/registry/npm/:name");
    assert!(asked <= 4, "{asked} packument requests");
    // Figures for BENCHMARKS.md (`cargo test --test it yarn_berry -- --nocapture`).
    println!(
        "yarn berry: {} GitLab requests, {asked} npm registry requests, {:?} from push to both MRs",
        w.sim.requests().len(),
        elapsed
    );
}
