//! Pipfile.lock and uv.lock fixes end to end (issue 18): a push brings idna 3.6 (PYSEC-2024-60,
//! fixed in 3.7) in both formats, and each gets an MR whose files are byte for byte what pipenv
//! and uv wrote for idna 3.7 (tests/data/lockfile-proofs/), from the simulator's PyPI JSON API.

use std::sync::Arc;
use std::time::Instant;

use backline::catalog::service::Quiet;
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::remediation::world_with;

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!(
        "lockfile-proofs/{path}"
    )))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_vulnerable_pipenv_and_uv_locks_gets_mrs_with_the_tools_files() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&data("pypi/idna-3.7.json")).unwrap();
    registries.registry().add_pypi_document(doc);
    let registry = HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::simulator(registries.url())
    })
    .unwrap();
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![reference.join("pypa-advisory-database")]
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = [
        ("pipenv/Pipfile", "pipenv/before/Pipfile"),
        ("pipenv/Pipfile.lock", "pipenv/before/Pipfile.lock"),
        ("svc/pyproject.toml", "uv/pin-before/pyproject.toml"),
        ("svc/uv.lock", "uv/pin-before/uv.lock"),
    ]
    .iter()
    .map(|(to, from)| (to.to_string(), Some(data(from).into())))
    .collect();
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add python services", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let elapsed = started.elapsed();

    let mrs = w.mrs();
    assert_eq!(mrs.len(), 2, "one MR per lockfile: {mrs:?}");
    let branch_of = |needle: &str| {
        mrs.iter()
            .find(|m| {
                w.file(&m.source_branch, needle)
                    .is_some_and(|f| f.contains("3.7"))
            })
            .map(|m| m.source_branch.clone())
            .unwrap_or_else(|| panic!("no MR moves {needle}: {mrs:?}"))
    };
    let pipenv = branch_of("pipenv/Pipfile.lock");
    assert_eq!(
        w.file(&pipenv, "pipenv/Pipfile.lock").unwrap(),
        data("pipenv/after/Pipfile.lock")
    );
    assert_eq!(
        w.file(&pipenv, "pipenv/Pipfile").unwrap(),
        data("pipenv/after/Pipfile")
    );
    let uv = branch_of("svc/uv.lock");
    assert_eq!(
        w.file(&uv, "svc/uv.lock").unwrap(),
        data("uv/pin-after/uv.lock")
    );
    assert_eq!(
        w.file(&uv, "svc/pyproject.toml").unwrap(),
        data("uv/pin-after/pyproject.toml")
    );
    assert_ne!(pipenv, uv);
    for m in &mrs {
        assert!(m.title.contains("idna from 3.6 to 3.7"), "{}", m.title);
    }
    // One JSON API answer per lockfile (the per-version document), nothing else.
    let asked = registries.count("GET", "/registry/pypi/pypi/:name/:version/json");
    assert_eq!(asked, 2);
    // Figures for BENCHMARKS.md (`cargo test --test it python_locks -- --nocapture`).
    println!(
        "pipenv+uv: {} GitLab requests, {asked} PyPI requests, {:?} from push to both MRs",
        w.sim.requests().len(),
        elapsed
    );
}
