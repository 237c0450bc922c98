//! The build's shape (issue 15): one `rand` in Cargo.lock, and the simulator only behind the
//! default `demo` feature (so `cargo build --no-default-features` leaves it out) and in the
//! tests. `.ci/run` also builds that way and runs `cargo deny` (deny.toml).

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn one_rand_in_the_lockfile() {
    let lock: toml::Value = toml::from_str(&read("Cargo.lock")).unwrap();
    let packages = lock["package"].as_array().unwrap();
    for name in ["rand", "rand_core"] {
        let versions: Vec<&str> = packages
            .iter()
            .filter(|p| p["name"].as_str() == Some(name))
            .filter_map(|p| p["version"].as_str())
            .collect();
        assert_eq!(versions.len(), 1, "{name}: {versions:?}");
    }
}

#[test]
fn the_simulator_is_optional_behind_the_default_demo_feature() {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let sim = &manifest["dependencies"]["gitlab-sim"];
    assert_eq!(sim["optional"].as_bool(), Some(true), "{sim}");
    let features = &manifest["features"];
    assert!(features["default"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str() == Some("demo")));
    assert!(features["demo"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str() == Some("dep:gitlab-sim")));
    assert!(manifest["dev-dependencies"].get("gitlab-sim").is_some());
    assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deny.toml")
        .is_file());
}
