//! `HttpRegistry` against the simulator's registries over loopback, and a patch made from
//! the facts it fetches.

use backline::ecosystem::Ecosystem;
use backline::registry::{DepKind, HttpRegistry, Registry, RegistryConfig, RegistryError};
use backline::remediation::patch::{facts_needed, patch, PatchRequest, RegistryFacts};
use gitlab_sim::{GitLabSim, SimConfig};

fn client(sim: &GitLabSim) -> HttpRegistry {
    let config = RegistryConfig {
        retry_base: std::time::Duration::ZERO,
        // Each test below sees every failure itself: no back-off between requests.
        outage_backoff: std::time::Duration::ZERO,
        ..RegistryConfig::simulator(sim.url())
    };
    HttpRegistry::new(config).unwrap()
}

#[tokio::test]
async fn crates_from_the_sparse_index() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    let r = reg.crate_release("regex", "1.5.5").await.unwrap().unwrap();
    assert_eq!(
        r.cksum,
        "1a11647b6b25ff05a515cb92c365cec08801e83423a235b51e231e1808747286"
    );
    let syntax = r.deps.iter().find(|d| d.name == "regex-syntax").unwrap();
    assert_eq!(
        (syntax.req.as_str(), syntax.kind, syntax.optional),
        ("^0.6.25", DepKind::Normal, false)
    );
    assert!(r.deps.iter().any(|d| d.kind == DepKind::Dev));
    assert_eq!(reg.crate_versions("regex").await.unwrap().len(), 3);
    assert!(reg.crate_release("regex", "9.9.9").await.unwrap().is_none());
    assert!(reg
        .crate_versions("no-such-crate")
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        reg.crate_release("../x", "1").await,
        Err(RegistryError::InvalidName(_))
    ));
    sim.registry()
        .add_crate("Ab", "0.1.0-rc.1", "00", &[], false);
    assert_eq!(reg.crate_versions("ab").await.unwrap().len(), 1);
    assert_eq!(
        reg.latest(Ecosystem::CratesIo, "ab").await.unwrap(),
        None,
        "a pre-release only"
    );
    assert_eq!(
        reg.latest(Ecosystem::CratesIo, "regex")
            .await
            .unwrap()
            .as_deref(),
        Some("1.5.6")
    );
    assert!(sim.count("GET", "/registry/crates/:path") >= 5);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    sim.stop().await;
}

#[tokio::test]
async fn npm_packuments_and_pypi_json() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    let l = reg.npm_release("lodash", "4.17.21").await.unwrap().unwrap();
    assert!(l.integrity.starts_with("sha512-v2kDEe57"));
    assert!(l
        .tarball
        .ends_with("/registry/npm/lodash/-/lodash-4.17.21.tgz"));
    assert_eq!(reg.npm_versions("lodash").await.unwrap().len(), 2);
    sim.registry().add_npm(
        "@acme/ui",
        "1.2.0",
        "sha512-x",
        "ab",
        &[("lodash", "^4.17.21")],
    );
    let s = reg.npm_release("@acme/ui", "1.2.0").await.unwrap().unwrap();
    assert_eq!(s.dependencies["lodash"], "^4.17.21");
    assert_eq!(
        reg.latest(Ecosystem::Npm, "lodash")
            .await
            .unwrap()
            .as_deref(),
        Some("4.17.21")
    );
    assert!(reg
        .npm_release("left-pad", "1.0.0")
        .await
        .unwrap()
        .is_none());

    let j = reg.pypi_release("jinja2", "2.11.3").await.unwrap().unwrap();
    assert_eq!(j.files.len(), 2);
    assert!(j.requires_dist.iter().any(|r| r.starts_with("MarkupSafe")));
    assert!(reg.pypi_release("jinja2", "0.1").await.unwrap().is_none());
    assert_eq!(
        reg.latest(Ecosystem::PyPI, "Jinja2")
            .await
            .unwrap()
            .as_deref(),
        Some("2.11.3")
    );
    assert_eq!(reg.latest(Ecosystem::Go, "x").await.unwrap(), None);
    assert_eq!(sim.count("GET", "/registry/npm/:name"), 5);
    assert_eq!(
        sim.count("GET", "/registry/pypi/pypi/:name/:version/json"),
        2
    );
    assert_eq!(sim.count("GET", "/registry/pypi/pypi/:name/json"), 1);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    sim.stop().await;
}

#[tokio::test]
async fn retries_then_gives_up_and_caches_latest() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    sim.faults().fail_next("GET", "/registry/npm/:name", 2, 503);
    assert!(reg
        .npm_release("lodash", "4.17.20")
        .await
        .unwrap()
        .is_some());
    sim.faults().fail_next("GET", "/registry/npm/:name", 3, 502);
    match reg.npm_release("lodash", "4.17.20").await {
        Err(RegistryError::Status { status: 502, .. }) => {}
        other => panic!("{other:?}"),
    }
    sim.faults().fail_next("GET", "/registry/npm/:name", 1, 403);
    assert!(matches!(
        reg.npm_release("lodash", "4.17.20").await,
        Err(RegistryError::Status { status: 403, .. })
    ));
    let before = sim.count("GET", "/registry/npm/:name");
    for _ in 0..3 {
        reg.latest(Ecosystem::Npm, "lodash").await.unwrap();
    }
    assert_eq!(
        sim.count("GET", "/registry/npm/:name"),
        before + 1,
        "cached"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_patch_from_fetched_facts() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    let lock = "version = 3\n\n[[package]]\nname = \"aho-corasick\"\nversion = \"0.7.18\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"1e37cfd5e7657ada45f742d6e99ca5788580b5c529dc78faf11ece6dc702656f\"\ndependencies = [\n \"memchr\",\n]\n\n\
[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"regex\",\n]\n\n\
[[package]]\nname = \"memchr\"\nversion = \"2.4.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"308cc39be01b73d0d18f82a0e7b2a3df85245f84af96fdddc5d202d27e47b86a\"\n\n\
[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461\"\ndependencies = [\n \"aho-corasick\",\n \"memchr\",\n \"regex-syntax\",\n]\n\n\
[[package]]\nname = \"regex-syntax\"\nversion = \"0.6.25\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"f497285884f3fcff424ffc933e56d7cbca511def0c9831a7f9b5f6153e3cc89b\"\n";
    let files = |p: &str| (p == "Cargo.lock").then(|| lock.as_bytes().to_vec());
    assert!(facts_needed("Cargo.lock").crate_release);
    for (to, expect) in [
        ("1.5.5", Ok(())),
        (
            "1.5.6",
            Err("regex 1.5.6 needs `regex-syntax` ^0.6.26, the lockfile has 0.6.25"),
        ),
    ] {
        let facts = RegistryFacts {
            crate_release: reg.crate_release("regex", to).await.unwrap(),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: "Cargo.lock",
            package: "regex",
            from: "1.5.4",
            to,
            direct: true,
            files: &files,
            facts: &facts,
        };
        match (patch(&req), expect) {
            (Ok(c), Ok(())) => {
                let text = String::from_utf8(c[0].content.clone()).unwrap();
                assert!(text.contains("name = \"regex\"\nversion = \"1.5.5\""));
            }
            (Err(e), Err(reason)) => assert!(e.to_string().ends_with(reason), "{e}"),
            (got, _) => panic!("{to}: {got:?}"),
        }
    }
    sim.stop().await;
}

#[tokio::test]
async fn gems_from_the_rubygems_v2_api_and_pypi_files_in_full() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    let sha = "09bdfe312159ebe4189efc5ee93f3573a45c083d4a1700e6d9208762a3dfe43d";
    sim.registry().add_gem(
        "vuln-lib",
        "1.0.1",
        sha,
        &[("helper-lib", ">= 2.0.1, ~> 2.0")],
    );
    let g = reg.gem_release("vuln-lib", "1.0.1").await.unwrap().unwrap();
    assert_eq!(
        (g.platform.as_str(), g.sha256.as_deref()),
        ("ruby", Some(sha))
    );
    assert_eq!(
        g.runtime,
        vec![("helper-lib".to_string(), ">= 2.0.1, ~> 2.0".to_string())]
    );
    assert!(reg.gem_release("vuln-lib", "9.9").await.unwrap().is_none());
    assert!(matches!(
        reg.gem_release("../x", "1").await,
        Err(RegistryError::InvalidName(_))
    ));
    assert_eq!(
        sim.count(
            "GET",
            "/registry/rubygems/api/v2/rubygems/:name/versions/:version.json"
        ),
        2
    );
    // PyPI's urls[] in full: what uv.lock records of each file.
    let j = reg.pypi_release("jinja2", "2.11.3").await.unwrap().unwrap();
    let sdist = j.dists.iter().find(|d| d.sdist).unwrap();
    assert_eq!(sdist.filename, "Jinja2-2.11.3.tar.gz");
    assert!(sdist
        .url
        .ends_with("/registry/pypi/files/Jinja2-2.11.3.tar.gz"));
    assert!(sdist.size > 0 && sdist.upload_time.is_some());
    assert_eq!(j.dists.iter().filter(|d| !d.sdist).count(), 1);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    sim.stop().await;
}

#[tokio::test]
async fn composer_packages_from_packagist_p2_metadata() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let reg = client(&sim);
    let p2 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/lockfile-proofs/packagist/p2/acme/vuln-lib.json"
    ))
    .unwrap();
    sim.registry().add_packagist_document("acme/vuln-lib", &p2);
    let versions = reg.packagist_versions("acme/vuln-lib").await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["v1.0.1", "v1.0.0"]
    );
    // The minified second entry inherits what it does not change (description, license).
    let old = &versions[1];
    assert_eq!(
        old.data.get("description").and_then(|d| d.as_str()),
        Some("A library with a flaw")
    );
    assert!(reg
        .packagist_versions("acme/none")
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        reg.packagist_versions("../x").await,
        Err(RegistryError::InvalidName(_))
    ));
    assert_eq!(
        sim.count("GET", "/registry/packagist/p2/:vendor/:name.json"),
        2
    );
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    sim.stop().await;
}
