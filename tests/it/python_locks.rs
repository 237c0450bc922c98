//! Python lockfile fixes end to end (issue 18): a push brings idna 3.6 (PYSEC-2024-60, fixed in
//! 3.7) in Pipfile.lock, uv.lock, a hashed requirements.txt and poetry.lock, and each gets an MR
//! whose files are byte for byte what pipenv, uv, pip-compile and Poetry wrote for idna 3.7
//! (tests/data/lockfile-proofs/), from the simulator's PyPI JSON API. requirements.txt and
//! poetry.lock are measured over many pushes (`push_figures`).

use std::sync::Arc;
use std::time::Instant;

use backline::catalog::service::Quiet;
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::push_figures::{self, RUNS};
use crate::remediation::{world_with, World};

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!(
        "lockfile-proofs/{path}"
    )))
    .unwrap()
}

/// The registries (PyPI serving idna 3.7's JSON API answer) and a world whose bot fixes with the
/// real patchers over them, with the PyPA advisory database.
async fn pypi_world() -> (GitLabSim, World) {
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
        s.advisories = vec![reference.join("pypa-advisory-database")];
        // Each measured push opens one more MR.
        s.max_open_mrs = RUNS + 1;
    })
    .await;
    (registries, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_vulnerable_pipenv_and_uv_locks_gets_mrs_with_the_tools_files() {
    let (registries, w) = pypi_world().await;
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

/// The one PyPI request a requirements.txt or poetry.lock fix makes: idna 3.7's JSON API answer.
const PYPI_VERSION: &str = "GET /registry/pypi/pypi/:name/:version/json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_with_a_hashed_requirements_txt_get_mrs_with_pip_compiles_file() {
    let (registries, w) = pypi_world().await;
    let alice = w.bot_user_other().await;
    push_figures::catalogue(&w).await;
    let files = [
        (
            "requirements.in",
            data("requirements/hashes-before/requirements.in"),
        ),
        (
            "requirements.txt",
            data("requirements/hashes-before/requirements.txt"),
        ),
    ];
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let run = push_figures::push(&w, &registries, alice, n, &files).await;
        let (dir, branch) = (&run.dir, &run.mr.source_branch);
        assert!(
            run.mr.title.contains("idna from 3.6 to 3.7"),
            "{}",
            run.mr.title
        );
        assert_eq!(
            push_figures::changed_paths(&w, branch),
            [format!("{dir}/requirements.txt")]
        );
        assert_eq!(
            w.file(branch, &format!("{dir}/requirements.txt")).unwrap(),
            data("requirements/hashes-after/requirements.txt")
        );
        assert_eq!(run.registry, [PYPI_VERSION]);
        runs.push(run);
    }
    // Figures for BENCHMARKS.md (`cargo test --test it python_locks -- --nocapture`).
    push_figures::report("requirements.txt", &runs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_with_a_poetry_lock_get_mrs_with_poetrys_file() {
    let (registries, w) = pypi_world().await;
    let alice = w.bot_user_other().await;
    push_figures::catalogue(&w).await;
    let files = [
        ("pyproject.toml", data("poetry/range-before/pyproject.toml")),
        ("poetry.lock", data("poetry/range-before/poetry.lock")),
    ];
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let run = push_figures::push(&w, &registries, alice, n, &files).await;
        let (dir, branch) = (&run.dir, &run.mr.source_branch);
        assert!(
            run.mr.title.contains("idna from 3.6 to 3.7"),
            "{}",
            run.mr.title
        );
        // The range (>=3.6,<4.0) admits 3.7: only the lock moves, its content-hash kept.
        assert_eq!(
            push_figures::changed_paths(&w, branch),
            [format!("{dir}/poetry.lock")]
        );
        assert_eq!(
            w.file(branch, &format!("{dir}/poetry.lock")).unwrap(),
            data("poetry/range-after/poetry.lock")
        );
        assert_eq!(run.registry, [PYPI_VERSION]);
        runs.push(run);
    }
    // Figures for BENCHMARKS.md (`cargo test --test it python_locks -- --nocapture`).
    push_figures::report("poetry.lock", &runs);
}
