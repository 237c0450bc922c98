//! Issue 18 end to end: a transitive fix whose parent's range excludes it gets through by a
//! parent bump. The parents' packuments come from the simulator's npm registry (real packument
//! shape) through the real registry client; the branch holds, byte for byte, what npm 11 wrote
//! for the bumped project (tests/data/npm-transitive), and the MR and the API say the route.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::remediation::world_with;

const MS_213: &str = "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==";
const DEBUG_320: &str = "sha512-Ii8hOmyHANEZ4wnsj5ZKeWUQRLt+ZD6WSb1e+/RK0BNIrVaZQrN0r2qxl8ZvnFgb4TQpd9nsjGUxdPIUXo6Snw==";

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!("npm-transitive/{path}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_is_bumped_through_the_registry_and_the_mr_says_so() {
    let advisories = tempfile::tempdir().unwrap();
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
    npm.add_npm("ms", "2.0.0", "sha512-old", "aa", &[]);
    npm.add_npm(
        "ms",
        "2.1.3",
        MS_213,
        "574c8138ce1d2b5861f0b44579dbadd60c6615b2",
        &[],
    );
    npm.add_npm("debug", "2.6.9", "sha512-d269", "bb", &[("ms", "2.0.0")]);
    npm.add_npm("debug", "3.1.0", "sha512-d310", "cc", &[("ms", "2.0.0")]);
    npm.add_npm(
        "debug",
        "3.2.0",
        DEBUG_320,
        "cfba3c774175ee0f59a51cf8e0849aca9bfd8a9c",
        &[("ms", "^2.1.1")],
    );
    npm.add_npm("debug", "4.0.0", "sha512-d400", "dd", &[("ms", "^2.1.1")]);
    let registry = HttpRegistry::new(RegistryConfig::simulator(registries.url())).unwrap();
    let dir = advisories.path().to_path_buf();
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![dir]
    })
    .await;
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "package.json", &data("base/package.json"))
        .await;
    w.commit(
        alice,
        "main",
        "package-lock.json",
        &data("base/package-lock.json"),
    )
    .await;
    let gitlab_before = w.sim.requests().len();
    let started = std::time::Instant::now();
    w.app
        .app
        .catalog_service
        .clone()
        .unwrap()
        .sync(&Quiet)
        .await
        .unwrap();
    w.settle().await;

    let elapsed = started.elapsed();
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{}", w.remediation().await);
    // The registry calls of the route: the packuments of the fixed package and of the parent.
    let npm_gets = registries.count("GET", "/registry/npm/:name");
    println!(
        "transitive npm fix: sync to MR {elapsed:?}, {} GitLab requests, {npm_gets} packument requests",
        w.sim.requests().len() - gitlab_before
    );
    assert!(npm_gets <= 3, "{npm_gets} packument requests");
    let mr = &mrs[0];
    assert_eq!(mr.title, "Security: bump ms from 2.0.0 to 2.1.3");
    assert!(
        mr.description
            .contains("**Parent bump:** a parent's range excludes `ms` `2.1.3`")
            && mr.description.contains("- `debug` `2.6.9` → `3.2.0`\n")
            && mr.description.contains(r#""route":"parent_bump""#),
        "{}",
        mr.description
    );
    assert_eq!(
        w.file(&mr.source_branch, "package-lock.json").unwrap(),
        data("bump/package-lock.json")
    );
    assert_eq!(
        w.file(&mr.source_branch, "package.json").unwrap(),
        data("bump/package.json")
    );
    let (_, all) = w.app.api("/api/v1/remediations").await;
    let route = &all["items"][0]["route"];
    assert_eq!(route["kind"], "parent_bump", "{all}");
    assert_eq!(
        route["bumps"],
        serde_json::json!([{"package": "debug", "from": "2.6.9", "to": "3.2.0"}])
    );
}

/// One parent bump end to end: the project's base files pushed, a catalog sync, one MR whose
/// branch holds `expected` byte for byte and whose API route is `bump`. Prints the figures
/// (BENCHMARKS.md, "A transitive fix from sync to MR").
struct BumpCase {
    label: &'static str,
    /// The advisory (OSV JSON).
    advisory: &'static str,
    /// (repository path, test-data path) pushed before the sync.
    base: &'static [(&'static str, &'static str)],
    /// (repository path, test-data path) the MR branch must hold.
    expected: &'static [(&'static str, &'static str)],
    title: &'static str,
    bump: serde_json::Value,
    /// The simulator route of the registry requests counted.
    registry_route: &'static str,
}

fn test_data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(path)).unwrap()
}

/// The npm registry of the debug/ms cases (real integrities of what the branches hold).
fn debug_ms_registry(npm: &gitlab_sim::SimRegistry) {
    npm.add_npm("ms", "2.0.0", "sha512-old", "aa", &[]);
    npm.add_npm(
        "ms",
        "2.1.3",
        MS_213,
        "574c8138ce1d2b5861f0b44579dbadd60c6615b2",
        &[],
    );
    npm.add_npm("debug", "2.6.9", "sha512-d269", "bb", &[("ms", "2.0.0")]);
    npm.add_npm("debug", "3.1.0", "sha512-d310", "cc", &[("ms", "2.0.0")]);
    npm.add_npm(
        "debug",
        "3.2.0",
        DEBUG_320,
        "cfba3c774175ee0f59a51cf8e0849aca9bfd8a9c",
        &[("ms", "^2.1.1")],
    );
    npm.add_npm("debug", "4.0.0", "sha512-d400", "dd", &[("ms", "^2.1.1")]);
}

const MS_ADVISORY: &str = r#"{"id":"GHSA-test-ms","modified":"2024-03-15T12:00:00Z","summary":"ReDoS in ms",
    "database_specific":{"severity":"HIGH"},
    "affected":[{"package":{"ecosystem":"npm","name":"ms"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.1.3"}]}]}]}"#;

async fn bump_end_to_end(case: BumpCase, setup: impl FnOnce(&gitlab_sim::SimRegistry)) {
    let advisories = tempfile::tempdir().unwrap();
    std::fs::write(advisories.path().join("advisory.json"), case.advisory).unwrap();
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    setup(registries.registry());
    let registry = HttpRegistry::new(RegistryConfig::simulator(registries.url())).unwrap();
    let dir = advisories.path().to_path_buf();
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![dir]
    })
    .await;
    let alice = w.bot_user_other().await;
    for (path, data) in case.base {
        w.commit(alice, "main", path, &test_data(data)).await;
    }
    let gitlab_before = w.sim.requests().len();
    let started = std::time::Instant::now();
    w.app
        .app
        .catalog_service
        .clone()
        .unwrap()
        .sync(&Quiet)
        .await
        .unwrap();
    w.settle().await;
    let elapsed = started.elapsed();
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{}: {}", case.label, w.remediation().await);
    let registry_gets = registries.count("GET", case.registry_route);
    println!(
        "transitive {} fix: sync to MR {elapsed:?}, {} GitLab requests, {registry_gets} registry requests",
        case.label,
        w.sim.requests().len() - gitlab_before
    );
    let mr = &mrs[0];
    assert_eq!(mr.title, case.title, "{}", case.label);
    assert!(
        mr.description.contains(r#""route":"parent_bump""#),
        "{}",
        mr.description
    );
    for (path, data) in case.expected {
        assert_eq!(
            w.file(&mr.source_branch, path).unwrap(),
            test_data(data),
            "{}: {path}",
            case.label
        );
    }
    let (_, all) = w.app.api("/api/v1/remediations").await;
    let route = &all["items"][0]["route"];
    assert_eq!(route["kind"], "parent_bump", "{all}");
    assert_eq!(route["bumps"], case.bump, "{}", case.label);
}

fn debug_bump() -> serde_json::Value {
    serde_json::json!([{"package": "debug", "from": "2.6.9", "to": "3.2.0"}])
}

/// yarn v1: the branch is what yarn 1.22 wrote for debug 3.2.0 (tests/data/yarn-v1-override).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yarn_v1_parent_is_bumped_end_to_end() {
    bump_end_to_end(
        BumpCase {
            label: "yarn.lock v1",
            advisory: MS_ADVISORY,
            base: &[
                ("package.json", "yarn-v1-override/base/package.json"),
                ("yarn.lock", "yarn-v1-override/base/yarn.lock"),
            ],
            expected: &[
                ("package.json", "yarn-v1-override/bump/package.json"),
                ("yarn.lock", "yarn-v1-override/bump/yarn.lock"),
            ],
            title: "Security: bump ms from 2.0.0 to 2.1.3",
            bump: debug_bump(),
            registry_route: "/registry/npm/:name",
        },
        debug_ms_registry,
    )
    .await;
}

/// pnpm 9: the branch is what pnpm 9 wrote for debug 3.2.0 (tests/data/pnpm/v9-bump).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pnpm_parent_is_bumped_end_to_end() {
    bump_end_to_end(
        BumpCase {
            label: "pnpm-lock.yaml v9",
            advisory: MS_ADVISORY,
            base: &[
                ("package.json", "pnpm/v9-base/package.json"),
                ("pnpm-lock.yaml", "pnpm/v9-base/pnpm-lock.yaml"),
            ],
            expected: &[
                ("package.json", "pnpm/v9-bump/package.json"),
                ("pnpm-lock.yaml", "pnpm/v9-bump/pnpm-lock.yaml"),
            ],
            title: "Security: bump ms from 2.0.0 to 2.1.3",
            bump: debug_bump(),
            registry_route: "/registry/npm/:name",
        },
        |npm| {
            debug_ms_registry(npm);
            // lodash 4.17.20 is in the project too (not vulnerable here).
            npm.add_npm("lodash", "4.17.20", "sha512-l20", "ee", &[]);
        },
    )
    .await;
}

/// Cargo.lock: serde 1.0.150 pins serde_derive `=1.0.150`; the branch is what `cargo update -p
/// serde --precise 1.0.151` wrote (tests/data/cargo-parent), from the real index lines served
/// by the simulator's sparse index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cargo_dependent_is_bumped_end_to_end() {
    bump_end_to_end(
        BumpCase {
            label: "Cargo.lock",
            advisory: r#"{"id":"RUSTSEC-0000-0001","modified":"2024-03-15T12:00:00Z","summary":"test advisory",
                "database_specific":{"severity":"HIGH"},
                "affected":[{"package":{"ecosystem":"crates.io","name":"serde_derive"},
                  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.151"}]}]}]}"#,
            base: &[
                ("Cargo.toml", "cargo-parent/base/Cargo.toml"),
                ("Cargo.lock", "cargo-parent/base/Cargo.lock"),
            ],
            expected: &[
                ("Cargo.toml", "cargo-parent/base/Cargo.toml"),
                ("Cargo.lock", "cargo-parent/bump/Cargo.lock"),
            ],
            title: "Security: bump serde_derive from 1.0.150 to 1.0.151",
            bump: serde_json::json!([{"package": "serde", "from": "1.0.150", "to": "1.0.151"}]),
            registry_route: "/registry/crates/:path",
        },
        |crates| {
            for name in ["serde", "serde_derive"] {
                for line in test_data(&format!("cargo-parent/index/{name}")).lines() {
                    crates.add_crate_line(serde_json::from_str(line).unwrap());
                }
            }
        },
    )
    .await;
}
