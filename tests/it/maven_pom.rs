//! Maven `pom.xml` fixes end to end (issue 18): a push brings log4j-core 2.14.1, its version set
//! by the `log4j2.version` property (GHSA-jfh8-c2jp-5v3q, Log4Shell, fixed in 2.15.0 for the
//! 2.13 line), and the bot opens an MR whose pom.xml differs from the pushed one in that
//! property's text alone (tests/data/maven/). Maven has no lockfile, so the fix needs nothing
//! from a registry. Measured over many pushes (`push_figures`).

use std::sync::Arc;

use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig};

use crate::push_figures::{self, RUNS};
use crate::remediation::world_with;

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!("maven/{path}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_with_a_vulnerable_property_version_in_pom_xml_get_mrs_moving_the_property() {
    // Registries the bot may ask (it must not need them for a pom.xml).
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    let registry = HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::simulator(registries.url())
    })
    .unwrap();
    let advisory = crate::harness::test_data("maven/advisories/GHSA-jfh8-c2jp-5v3q.json");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![advisory];
        // Each measured push opens one more MR.
        s.max_open_mrs = RUNS + 1;
    })
    .await;
    let alice = w.bot_user_other().await;
    push_figures::catalogue(&w).await;
    let files = [("pom.xml", data("before/pom.xml"))];
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let run = push_figures::push(&w, &registries, alice, n, &files).await;
        let (dir, branch) = (&run.dir, &run.mr.source_branch);
        assert!(
            run.mr
                .title
                .contains("org.apache.logging.log4j:log4j-core from 2.14.1 to 2.15.0"),
            "{}",
            run.mr.title
        );
        assert_eq!(
            push_figures::changed_paths(&w, branch),
            [format!("{dir}/pom.xml")]
        );
        assert_eq!(
            w.file(branch, &format!("{dir}/pom.xml")).unwrap(),
            data("after/pom.xml")
        );
        assert!(run.registry.is_empty(), "{:?}", run.registry);
        runs.push(run);
    }
    // Figures for BENCHMARKS.md (`cargo test --test it maven_pom -- --nocapture`).
    push_figures::report("pom.xml", &runs);
}
