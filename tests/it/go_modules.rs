//! go.mod / go.sum fixes end to end (issue 18): a push brings example.com/lib v1.0.0
//! (GO-TEST-0001, fixed in 1.0.1) in `svc/go.mod`; the bot fetches v1.0.1's `.info`, `.mod` and
//! `.zip` from the simulator's module proxy, computes the go.sum hashes, and opens an MR whose
//! go.mod and go.sum are byte for byte what `go get example.com/lib@v1.0.1 && go mod tidy`
//! wrote (tests/data/gomod-proofs/, made by its make.sh with go 1.19).

use std::sync::Arc;
use std::time::Instant;

use backline::catalog::service::Quiet;
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::remediation::world_with;

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!("gomod-proofs/{path}"))).unwrap()
}

/// Serves every module of tests/data/gomod-proofs/modules/ from the simulator's proxy.
fn serve_modules(sim: &GitLabSim) {
    for (path, version, file) in [
        ("example.com/Upper", "v0.1.0", "upper.go"),
        ("example.com/lib", "v1.0.0", "lib.go"),
        ("example.com/lib", "v1.0.1", "lib.go"),
        ("example.com/lib", "v1.1.0", "lib.go"),
        ("example.com/util", "v1.2.0", "util.go"),
        ("example.com/util", "v1.3.0", "util.go"),
    ] {
        let dir = format!("modules/{path}@{version}");
        let go_mod = data(&format!("{dir}/go.mod"));
        let src = data(&format!("{dir}/{file}"));
        sim.registry().add_go_module(
            path,
            version,
            &[("go.mod", go_mod.as_bytes()), (file, src.as_bytes())],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_vulnerable_go_module_gets_an_mr_with_gos_own_files() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    serve_modules(&registries);
    let registry = HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::simulator(registries.url())
    })
    .unwrap();
    let advisory = crate::harness::test_data("gomod-proofs/GO-TEST-0001.json");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![advisory]
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = [
        ("svc/go.mod", "before/go.mod"),
        ("svc/go.sum", "before/go.sum"),
        ("svc/main.go", "before/main.go"),
    ]
    .iter()
    .map(|(to, from)| (to.to_string(), Some(data(from).into())))
    .collect();
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add a go service", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let elapsed = started.elapsed();

    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "one MR for go.mod: {mrs:?}");
    let branch = &mrs[0].source_branch;
    assert!(
        mrs[0].title.contains("example.com/lib from 1.0.0 to 1.0.1"),
        "{}",
        mrs[0].title
    );
    assert_eq!(w.file(branch, "svc/go.mod").unwrap(), data("after/go.mod"));
    assert_eq!(w.file(branch, "svc/go.sum").unwrap(), data("after/go.sum"));
    assert_eq!(
        w.file(branch, "svc/main.go").unwrap(),
        data("before/main.go")
    );
    // One .info, .mod and .zip of the new version, nothing else from the proxy.
    let proxy: usize = [
        "/registry/goproxy/:module/@v/list",
        "/registry/goproxy/:module/@v/:version.info",
        "/registry/goproxy/:module/@v/:version.mod",
        "/registry/goproxy/:module/@v/:version.zip",
        "/registry/goproxy/:module/@latest",
    ]
    .iter()
    .map(|r| registries.count("GET", r))
    .sum();
    assert_eq!(proxy, 3);
    // Figures for BENCHMARKS.md (`cargo test --test it go_modules -- --nocapture`).
    println!(
        "go.mod: {} GitLab requests, {proxy} module proxy requests, {:?} from push to MR",
        w.sim.requests().len(),
        elapsed
    );
}
