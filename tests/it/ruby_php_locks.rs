//! Gemfile.lock and composer.lock fixes end to end (issue 18): a push brings vuln-lib 1.0.0
//! (GEM-TEST-0001) with its Gemfile and acme/vuln-lib 1.0.0 (PHP-TEST-0001) with its
//! composer.json, both fixed in 1.0.1; each gets an MR whose files are byte for byte what
//! Bundler and Composer wrote for 1.0.1 (tests/data/lockfile-proofs/), from the simulator's
//! rubygems.org v2 API and Packagist p2 metadata.

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
async fn a_push_with_vulnerable_bundler_and_composer_locks_gets_mrs_with_the_tools_files() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    let gem: serde_json::Value =
        serde_json::from_str(&data("rubygems/vuln-lib-1.0.1.json")).unwrap();
    registries.registry().add_gem_document(gem);
    registries
        .registry()
        .add_packagist_document("acme/vuln-lib", &data("packagist/p2/acme/vuln-lib.json"));
    registries
        .registry()
        .add_packagist_document("acme/helper", &data("packagist/p2/acme/helper.json"));
    let registry = HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::simulator(registries.url())
    })
    .unwrap();
    let advisories = vec![
        crate::harness::test_data("lockfile-proofs/osv/GEM-TEST-0001.json"),
        crate::harness::test_data("lockfile-proofs/osv/PHP-TEST-0001.json"),
    ];
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = advisories
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = [
        ("ruby/Gemfile", "bundler/Gemfile"),
        ("ruby/Gemfile.lock", "bundler/before/Gemfile.lock"),
        ("php/composer.json", "composer/pin-before/composer.json"),
        ("php/composer.lock", "composer/pin-before/composer.lock"),
    ]
    .iter()
    .map(|(to, from)| (to.to_string(), Some(data(from).into())))
    .collect();
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add ruby and php services", files))
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
                    .is_some_and(|f| f.contains("1.0.1"))
            })
            .map(|m| m.source_branch.clone())
            .unwrap_or_else(|| panic!("no MR moves {needle}: {mrs:?}"))
    };
    let ruby = branch_of("ruby/Gemfile.lock");
    assert_eq!(
        w.file(&ruby, "ruby/Gemfile.lock").unwrap(),
        data("bundler/after/Gemfile.lock")
    );
    assert_eq!(
        w.file(&ruby, "ruby/Gemfile").unwrap(),
        data("bundler/Gemfile")
    );
    let php = branch_of("php/composer.lock");
    assert_eq!(
        w.file(&php, "php/composer.lock").unwrap(),
        data("composer/pin-after/composer.lock")
    );
    assert_eq!(
        w.file(&php, "php/composer.json").unwrap(),
        data("composer/pin-after/composer.json")
    );
    assert_ne!(ruby, php);
    // One registry answer per lockfile: the new version's rubygems.org v2 document and the
    // package's Packagist p2 document.
    let gems = registries.count(
        "GET",
        "/registry/rubygems/api/v2/rubygems/:name/versions/:version.json",
    );
    let packagist = registries.count("GET", "/registry/packagist/p2/:vendor/:name.json");
    assert_eq!((gems, packagist), (1, 1));
    // Figures for BENCHMARKS.md (`cargo test --test it ruby_php_locks -- --nocapture`).
    println!(
        "bundler+composer: {} GitLab requests, {} registry requests, {:?} from push to both MRs",
        w.sim.requests().len(),
        gems + packagist,
        elapsed
    );
}
