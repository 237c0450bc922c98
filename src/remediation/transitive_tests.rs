//! Transitive fixes through [`PatchFixer`] over a fake registry (issue 18): a parent bump
//! (one and two parents up), an override when no parent release allows the fix, and the chain
//! that blocks it when neither works.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::executor::{FixError, FixRequest, Fixer};
use super::fixer::PatchFixer;
use super::route::{FixRoute, OverrideKind, ParentBump};
use crate::advisories::index::Index;
use crate::advisories::osv::{parse_json, Parsed};
use crate::ecosystem::Ecosystem;
use crate::registry::{FakeRegistry, NpmRelease};

fn rel(name: &str, version: &str, deps: &[(&str, &str)]) -> NpmRelease {
    NpmRelease {
        name: name.into(),
        version: version.into(),
        integrity: format!("sha512-{name}{version}"),
        shasum: None,
        tarball: format!("https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"),
        dependencies: deps
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<BTreeMap<_, _>>(),
        optional_dependencies: BTreeMap::new(),
        peer_dependencies: BTreeMap::new(),
    }
}

/// app -> c@1.0.0 -> a@1.2.0 -> b@2.0.0 (c requires a `~1.2.0`, a requires b `^2.0.0`).
const LOCK: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "dependencies": {
        "c": "^1.0.0"
      }
    },
    "node_modules/a": {
      "version": "1.2.0",
      "resolved": "https://registry.npmjs.org/a/-/a-1.2.0.tgz",
      "integrity": "sha512-a1.2.0",
      "dependencies": {
        "b": "^2.0.0"
      }
    },
    "node_modules/b": {
      "version": "2.0.0",
      "resolved": "https://registry.npmjs.org/b/-/b-2.0.0.tgz",
      "integrity": "sha512-b2.0.0"
    },
    "node_modules/c": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/c/-/c-1.0.0.tgz",
      "integrity": "sha512-c1.0.0",
      "dependencies": {
        "a": "~1.2.0"
      }
    }
  }
}
"#;

const PACKAGE_JSON: &str = "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"c\": \"^1.0.0\"\n  }\n}\n";

/// An advisory on `a` 1.3.0 alone.
fn a_130_vulnerable() -> Index {
    let osv = br#"{"id": "GHSA-test-a130", "modified": "2024-01-01T00:00:00Z",
      "affected": [{"package": {"ecosystem": "npm", "name": "a"},
        "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.3.0"}, {"fixed": "1.3.1"}]}]}]}"#;
    match parse_json(osv).unwrap() {
        Parsed::Advisory(a) => Index::new([*a]),
        Parsed::Withdrawn(_) => unreachable!(),
    }
}

fn fixer(registry: FakeRegistry, index: Index) -> PatchFixer {
    let f = PatchFixer::new(Arc::new(registry));
    f.use_advisories(crate::advisories::shared::AdvisoryIndex::new(index));
    f
}

async fn run(
    fixer: &PatchFixer,
    files: &HashMap<String, Vec<u8>>,
) -> Result<super::executor::FixOutcome, FixError> {
    fixer
        .fix(&FixRequest {
            ecosystem: Ecosystem::Npm,
            manifest: "package-lock.json",
            package: "b",
            from: "2.0.0",
            to: "3.0.1",
            direct: false,
            files,
            others: &[],
        })
        .await
}

fn files(pj: Option<&str>) -> HashMap<String, Vec<u8>> {
    let mut m = HashMap::from([("package-lock.json".to_string(), LOCK.as_bytes().to_vec())]);
    if let Some(pj) = pj {
        m.insert("package.json".into(), pj.as_bytes().to_vec());
    }
    m
}

fn edited(out: &super::executor::FixOutcome, path: &str) -> Option<String> {
    out.edits
        .iter()
        .find(|e| e.path == path)
        .map(|e| String::from_utf8(e.content.clone()).unwrap())
}

fn base_registry() -> FakeRegistry {
    FakeRegistry::new()
        .npm_release(rel("b", "2.0.0", &[]))
        .npm_release(rel("b", "3.0.1", &[]))
        .npm_release(rel("a", "1.2.0", &[("b", "^2.0.0")]))
        .npm_release(rel("c", "1.0.0", &[("a", "~1.2.0")]))
}

#[tokio::test]
async fn a_parent_whose_next_release_allows_the_fix_is_bumped() {
    // a 1.2.1 still wants b ^2; a 1.2.2 allows b ^3 and stays inside c's `~1.2.0`.
    let registry = base_registry()
        .npm_release(rel("a", "1.2.1", &[("b", "^2.0.0")]))
        .npm_release(rel("a", "1.2.2", &[("b", "^3.0.0")]))
        .npm_release(rel("a", "2.0.0", &[("b", "^3.0.0")]));
    let out = run(
        &fixer(registry, Index::default()),
        &files(Some(PACKAGE_JSON)),
    )
    .await
    .unwrap();
    assert_eq!(
        out.route,
        FixRoute::ParentBump {
            bumps: vec![ParentBump {
                package: "a".into(),
                from: "1.2.0".into(),
                to: "1.2.2".into()
            }]
        }
    );
    let expected = LOCK
        .replace("\"version\": \"1.2.0\"", "\"version\": \"1.2.2\"")
        .replace("a-1.2.0.tgz", "a-1.2.2.tgz")
        .replace("sha512-a1.2.0", "sha512-a1.2.2")
        .replace("\"b\": \"^2.0.0\"", "\"b\": \"^3.0.0\"")
        .replace("\"version\": \"2.0.0\"", "\"version\": \"3.0.1\"")
        .replace("b-2.0.0.tgz", "b-3.0.1.tgz")
        .replace("sha512-b2.0.0", "sha512-b3.0.1");
    assert_eq!(edited(&out, "package-lock.json").unwrap(), expected);
    // c's range admits a 1.2.2: package.json is untouched.
    assert_eq!(edited(&out, "package.json"), None);
}

#[tokio::test]
async fn bumps_go_up_the_chain_and_skip_vulnerable_releases() {
    // a 1.3.0 allows b 3 but is vulnerable; a 1.4.0 allows it but c 1.0.0 wants a `~1.2.0`;
    // c 1.1.0 allows a ^1.4.0.
    let registry = base_registry()
        .npm_release(rel("a", "1.3.0", &[("b", "^3.0.0")]))
        .npm_release(rel("a", "1.4.0", &[("b", "^3.0.0")]))
        .npm_release(rel("c", "1.1.0", &[("a", "^1.4.0")]));
    let out = run(
        &fixer(registry, a_130_vulnerable()),
        &files(Some(PACKAGE_JSON)),
    )
    .await
    .unwrap();
    assert_eq!(
        out.route,
        FixRoute::ParentBump {
            bumps: vec![
                ParentBump {
                    package: "a".into(),
                    from: "1.2.0".into(),
                    to: "1.4.0".into()
                },
                ParentBump {
                    package: "c".into(),
                    from: "1.0.0".into(),
                    to: "1.1.0".into()
                }
            ]
        }
    );
    let lock = edited(&out, "package-lock.json").unwrap();
    assert!(lock.contains("\"a\": \"^1.4.0\""), "{lock}");
    assert!(lock.contains("c-1.1.0.tgz") && lock.contains("a-1.4.0.tgz"));
    let parsed = crate::deps::parse("package-lock.json", lock.as_bytes(), &|_| None).unwrap();
    let at = |n: &str| {
        parsed
            .iter()
            .find(|d| d.name == n)
            .and_then(|d| d.version.clone())
    };
    assert_eq!(
        (at("a"), at("b"), at("c")),
        (
            Some("1.4.0".into()),
            Some("3.0.1".into()),
            Some("1.1.0".into())
        )
    );
}

#[tokio::test]
async fn without_an_admitting_parent_release_an_override_is_pinned() {
    let out = run(
        &fixer(base_registry(), Index::default()),
        &files(Some(PACKAGE_JSON)),
    )
    .await
    .unwrap();
    let FixRoute::Override { mechanism, reason } = &out.route else {
        panic!("{:?}", out.route)
    };
    assert_eq!(*mechanism, OverrideKind::NpmOverrides);
    assert_eq!(
        reason,
        "a 1.2.0 requires b `^2.0.0`, which excludes 3.0.1; no parent bump: no release of a after 1.2.0 allows b 3.0.1"
    );
    // npm records the override in package.json only; the parent keeps its declared range.
    assert_eq!(
        edited(&out, "package.json").unwrap(),
        "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"c\": \"^1.0.0\"\n  },\n  \"overrides\": {\n    \"b\": \"3.0.1\"\n  }\n}\n"
    );
    let lock = edited(&out, "package-lock.json").unwrap();
    assert!(lock.contains("\"b\": \"^2.0.0\"") && lock.contains("b-3.0.1.tgz"));
}

#[tokio::test]
async fn when_nothing_gets_through_the_chain_is_named() {
    // No package.json: no override can be written.
    let err = run(&fixer(base_registry(), Index::default()), &files(None))
        .await
        .unwrap_err();
    let FixError::Blocked { chain, reason } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        chain,
        "app -> c@1.0.0 -> a@1.2.0 -> b@^2.0.0 (fix needs b 3.0.1)"
    );
    assert!(
        reason.starts_with(
            "no parent bump: no release of a after 1.2.0 allows b 3.0.1; no overrides:"
        ),
        "{reason}"
    );
    // Without advisories no parent release is trusted.
    let unchecked = PatchFixer::new(Arc::new(base_registry().npm_release(rel(
        "a",
        "1.2.2",
        &[("b", "^3.0.0")],
    ))));
    let out = run(&unchecked, &files(Some(PACKAGE_JSON))).await.unwrap();
    assert!(
        matches!(&out.route, FixRoute::Override { reason, .. } if reason.ends_with("the advisories are not loaded, so no parent release can be checked")),
        "{:?}",
        out.route
    );
}

/// The real npm's files (tests/data/npm-transitive, README there says how they were made).
mod real_npm {
    use super::*;

    const BASE_LOCK: &str = include_str!("../../tests/data/npm-transitive/base/package-lock.json");
    const BASE_PJ: &str = include_str!("../../tests/data/npm-transitive/base/package.json");

    fn real(
        name: &str,
        version: &str,
        integrity: &str,
        shasum: &str,
        deps: &[(&str, &str)],
    ) -> NpmRelease {
        NpmRelease {
            integrity: integrity.into(),
            shasum: Some(shasum.into()),
            ..rel(name, version, deps)
        }
    }

    fn ms_213() -> NpmRelease {
        real(
            "ms",
            "2.1.3",
            "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
            "574c8138ce1d2b5861f0b44579dbadd60c6615b2",
            &[],
        )
    }

    fn registry() -> FakeRegistry {
        FakeRegistry::new().npm_release(ms_213()).npm_release(rel(
            "debug",
            "2.6.9",
            &[("ms", "2.0.0")],
        ))
    }

    async fn fix_ms(fixer: &PatchFixer) -> super::super::executor::FixOutcome {
        let files = HashMap::from([
            (
                "package-lock.json".to_string(),
                BASE_LOCK.as_bytes().to_vec(),
            ),
            ("package.json".to_string(), BASE_PJ.as_bytes().to_vec()),
        ]);
        fixer
            .fix(&FixRequest {
                ecosystem: Ecosystem::Npm,
                manifest: "package-lock.json",
                package: "ms",
                from: "2.0.0",
                to: "2.1.3",
                direct: false,
                files: &files,
                others: &[],
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_parent_bump_is_what_npm_writes() {
        let mut registry = registry();
        for v in ["3.0.0", "3.0.1", "3.1.0"] {
            registry = registry.npm_release(rel("debug", v, &[("ms", "2.0.0")]));
        }
        let registry = registry
            .npm_release(real(
                "debug",
                "3.2.0",
                "sha512-Ii8hOmyHANEZ4wnsj5ZKeWUQRLt+ZD6WSb1e+/RK0BNIrVaZQrN0r2qxl8ZvnFgb4TQpd9nsjGUxdPIUXo6Snw==",
                "cfba3c774175ee0f59a51cf8e0849aca9bfd8a9c",
                &[("ms", "^2.1.1")],
            ))
            .npm_release(rel("debug", "3.2.1", &[("ms", "^2.1.1")]));
        let out = fix_ms(&fixer(registry, Index::default())).await;
        assert_eq!(
            out.route,
            FixRoute::ParentBump {
                bumps: vec![ParentBump {
                    package: "debug".into(),
                    from: "2.6.9".into(),
                    to: "3.2.0".into()
                }]
            }
        );
        assert_eq!(
            edited(&out, "package-lock.json").unwrap(),
            include_str!("../../tests/data/npm-transitive/bump/package-lock.json")
        );
        assert_eq!(
            edited(&out, "package.json").unwrap(),
            include_str!("../../tests/data/npm-transitive/bump/package.json")
        );
    }

    /// debug 3.0.0 to 3.1.0 still pin ms 2.0.0; 3.2.0 (real) allows ^2.1.1.
    fn with_debug_releases(mut registry: FakeRegistry) -> FakeRegistry {
        for v in ["3.0.0", "3.0.1", "3.1.0"] {
            registry = registry.npm_release(rel("debug", v, &[("ms", "2.0.0")]));
        }
        registry
            .npm_release(real(
                "debug",
                "3.2.0",
                "sha512-Ii8hOmyHANEZ4wnsj5ZKeWUQRLt+ZD6WSb1e+/RK0BNIrVaZQrN0r2qxl8ZvnFgb4TQpd9nsjGUxdPIUXo6Snw==",
                "cfba3c774175ee0f59a51cf8e0849aca9bfd8a9c",
                &[("ms", "^2.1.1")],
            ))
            .npm_release(rel("debug", "3.2.1", &[("ms", "^2.1.1")]))
    }

    fn debug_bump() -> FixRoute {
        FixRoute::ParentBump {
            bumps: vec![ParentBump {
                package: "debug".into(),
                from: "2.6.9".into(),
                to: "3.2.0".into(),
            }],
        }
    }

    /// Fixes ms 2.0.0 -> 2.1.3 in `lock_name` read from `base` beside its package.json.
    async fn fix_ms_in(
        fixer: &PatchFixer,
        lock_name: &str,
        base: &str,
    ) -> super::super::executor::FixOutcome {
        let read = |f: &str| std::fs::read(format!("{base}/{f}")).unwrap();
        let files = HashMap::from([
            (lock_name.to_string(), read(lock_name)),
            ("package.json".to_string(), read("package.json")),
        ]);
        fixer
            .fix(&FixRequest {
                ecosystem: Ecosystem::Npm,
                manifest: lock_name,
                package: "ms",
                from: "2.0.0",
                to: "2.1.3",
                direct: false,
                files: &files,
                others: &[],
            })
            .await
            .unwrap()
    }

    fn data(dir: &str) -> String {
        format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"))
    }

    /// yarn v1 (issue 18): the parent bump is what yarn 1.22 writes for debug 3.2.0
    /// (tests/data/yarn-v1-override/bump): debug's entry and its `ms "^2.1.1"`, the ms
    /// entry's header moved from `ms@2.0.0` to `ms@^2.1.1`, package.json's exact pin moved.
    #[tokio::test]
    async fn the_yarn_v1_parent_bump_is_what_yarn_writes() {
        let out = fix_ms_in(
            &fixer(with_debug_releases(registry()), Index::default()),
            "yarn.lock",
            &data("yarn-v1-override/base"),
        )
        .await;
        assert_eq!(out.route, debug_bump());
        let want = |f: &str| std::fs::read_to_string(data(&format!("yarn-v1-override/bump/{f}")));
        assert_eq!(
            edited(&out, "yarn.lock").unwrap(),
            want("yarn.lock").unwrap()
        );
        assert_eq!(
            edited(&out, "package.json").unwrap(),
            want("package.json").unwrap()
        );
        let lock = edited(&out, "yarn.lock").unwrap();
        let parsed = crate::deps::parse("yarn.lock", lock.as_bytes(), &|_| None).unwrap();
        let mut got: Vec<(String, Option<String>)> =
            parsed.into_iter().map(|d| (d.name, d.version)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("debug".to_string(), Some("3.2.0".to_string())),
                ("ms".to_string(), Some("2.1.3".to_string()))
            ]
        );
    }

    /// pnpm 8 (lockfile v6) and pnpm 9 (v9): the parent bump is what pnpm writes for debug
    /// 3.2.0 (tests/data/pnpm/v*-bump), debug's range read from its registry entry.
    #[tokio::test]
    async fn the_pnpm_parent_bump_is_what_pnpm_writes() {
        for layout in ["v6", "v9"] {
            let out = fix_ms_in(
                &fixer(with_debug_releases(registry()), Index::default()),
                "pnpm-lock.yaml",
                &data(&format!("pnpm/{layout}-base")),
            )
            .await;
            assert_eq!(out.route, debug_bump(), "{layout}");
            let want = |f: &str| {
                std::fs::read_to_string(data(&format!("pnpm/{layout}-bump/{f}"))).unwrap()
            };
            assert_eq!(
                edited(&out, "pnpm-lock.yaml").unwrap(),
                want("pnpm-lock.yaml"),
                "{layout}"
            );
            assert_eq!(
                edited(&out, "package.json").unwrap(),
                want("package.json"),
                "{layout}"
            );
        }
    }

    #[tokio::test]
    async fn the_override_is_what_npm_accepts() {
        let out = fix_ms(&fixer(registry(), Index::default())).await;
        assert!(matches!(
            out.route,
            FixRoute::Override {
                mechanism: OverrideKind::NpmOverrides,
                ..
            }
        ));
        assert_eq!(
            edited(&out, "package-lock.json").unwrap(),
            include_str!("../../tests/data/npm-transitive/override/package-lock.json")
        );
        assert_eq!(
            edited(&out, "package.json").unwrap(),
            include_str!("../../tests/data/npm-transitive/override/package.json")
        );
    }
}

/// pnpm (v9): the parent's range comes from its registry entry; no release of `debug` 2.x
/// allows `ms` 2.1.3 here, so `pnpm.overrides` is pinned, byte for byte as pnpm 9 writes it.
#[tokio::test]
async fn pnpm_gets_an_override_as_pnpm_writes_it() {
    let data = |case: &str, file: &str| {
        std::fs::read(format!(
            "{}/tests/data/pnpm/v9-{case}/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let files = HashMap::from([
        ("pnpm-lock.yaml".to_string(), data("base", "pnpm-lock.yaml")),
        ("package.json".to_string(), data("base", "package.json")),
    ]);
    let registry = FakeRegistry::new()
        .npm_release(NpmRelease {
            integrity: "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==".into(),
            ..rel("ms", "2.1.3", &[])
        })
        .npm_release(rel("debug", "2.6.9", &[("ms", "2.0.0")]));
    let out = fixer(registry, Index::default())
        .fix(&FixRequest {
            ecosystem: Ecosystem::Npm,
            manifest: "pnpm-lock.yaml",
            package: "ms",
            from: "2.0.0",
            to: "2.1.3",
            direct: false,
            files: &files,
            others: &[],
        })
        .await
        .unwrap();
    let FixRoute::Override { mechanism, reason } = &out.route else {
        panic!("{:?}", out.route)
    };
    assert_eq!(*mechanism, OverrideKind::PnpmOverrides);
    assert!(
        reason.starts_with("debug 2.6.9 requires ms `2.0.0`, which excludes 2.1.3; no parent bump: no release of debug after 2.6.9 allows ms 2.1.3"),
        "{reason}"
    );
    let get = |p: &str| {
        out.edits
            .iter()
            .find(|e| e.path == p)
            .unwrap()
            .content
            .clone()
    };
    assert_eq!(get("pnpm-lock.yaml"), data("override", "pnpm-lock.yaml"));
    assert_eq!(get("package.json"), data("override", "package.json"));
}

/// yarn v1: `resolutions`, byte for byte as yarn 1.22 writes it (tests/data/yarn-v1-override).
#[tokio::test]
async fn yarn_v1_gets_resolutions_as_yarn_writes_them() {
    let data = |case: &str, file: &str| {
        std::fs::read(format!(
            "{}/tests/data/yarn-v1-override/{case}/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let files = HashMap::from([
        ("yarn.lock".to_string(), data("base", "yarn.lock")),
        ("package.json".to_string(), data("base", "package.json")),
    ]);
    let registry = FakeRegistry::new()
        .npm_release(NpmRelease {
            integrity: "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==".into(),
            shasum: Some("574c8138ce1d2b5861f0b44579dbadd60c6615b2".into()),
            ..rel("ms", "2.1.3", &[])
        })
        .npm_release(rel("debug", "2.6.9", &[("ms", "2.0.0")]));
    let out = fixer(registry, Index::default())
        .fix(&FixRequest {
            ecosystem: Ecosystem::Npm,
            manifest: "yarn.lock",
            package: "ms",
            from: "2.0.0",
            to: "2.1.3",
            direct: false,
            files: &files,
            others: &[],
        })
        .await
        .unwrap();
    assert!(
        matches!(
            out.route,
            FixRoute::Override {
                mechanism: OverrideKind::YarnResolutions,
                ..
            }
        ),
        "{:?}",
        out.route
    );
    let get = |p: &str| {
        out.edits
            .iter()
            .find(|e| e.path == p)
            .unwrap()
            .content
            .clone()
    };
    assert_eq!(
        String::from_utf8(get("yarn.lock")).unwrap(),
        String::from_utf8(data("override", "yarn.lock")).unwrap()
    );
    assert_eq!(get("package.json"), data("override", "package.json"));
}

/// Cargo.lock (issue 18): serde 1.0.150 pins `serde_derive = "=1.0.150"`; the fix of
/// serde_derive (1.0.151) bumps serde to 1.0.151 (the smallest release whose requirement
/// allows it, chosen from the crates.io index entries), byte for byte what
/// `cargo update -p serde --precise 1.0.151` wrote (tests/data/cargo-parent, README there).
mod cargo_parent {
    use super::*;
    use crate::registry::{CrateDep, CrateRelease, DepKind};

    fn serde(version: &str, cksum: &str, yanked: bool) -> CrateRelease {
        CrateRelease {
            name: "serde".into(),
            version: version.into(),
            cksum: cksum.into(),
            yanked,
            deps: vec![
                CrateDep {
                    name: "serde_derive".into(),
                    req: format!("={version}"),
                    kind: DepKind::Normal,
                    optional: true,
                },
                CrateDep {
                    name: "serde_derive".into(),
                    req: "^1.0".into(),
                    kind: DepKind::Dev,
                    optional: false,
                },
            ],
        }
    }

    fn serde_derive(version: &str, cksum: &str) -> CrateRelease {
        let dep = |name: &str, req: &str| CrateDep {
            name: name.into(),
            req: req.into(),
            kind: DepKind::Normal,
            optional: false,
        };
        CrateRelease {
            name: "serde_derive".into(),
            version: version.into(),
            cksum: cksum.into(),
            yanked: false,
            deps: vec![
                dep("proc-macro2", "^1.0"),
                dep("quote", "^1.0"),
                dep("syn", "^1.0.104"),
            ],
        }
    }

    /// The crates.io index entries (cksums and requirements as the index has them).
    fn registry() -> FakeRegistry {
        FakeRegistry::new()
            .crate_release(serde(
                "1.0.150",
                "e326c9ec8042f1b5da33252c8a37e9ffbd2c9bef0155215b6e6c80c790e05f91",
                false,
            ))
            .crate_release(serde(
                "1.0.151",
                "97fed41fc1a24994d044e6db6935e69511a1153b52c15eb42493b26fa87feba0",
                false,
            ))
            .crate_release(serde(
                "1.0.152",
                "bb7d1f0d3021d347a83e556fc4683dea2ea09d87bccdf88ff5c12545d89d5efb",
                false,
            ))
            .crate_release(serde_derive(
                "1.0.151",
                "255abe9a125a985c05190d687b320c12f9b1f0b99445e608c21ba0782c719ad8",
            ))
    }

    fn data(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/data/cargo-parent/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    async fn fix(
        registry: FakeRegistry,
        index: Index,
        manifest: &str,
    ) -> Result<super::super::executor::FixOutcome, FixError> {
        let files = HashMap::from([
            (
                "Cargo.lock".to_string(),
                data("base/Cargo.lock").into_bytes(),
            ),
            ("Cargo.toml".to_string(), manifest.as_bytes().to_vec()),
        ]);
        fixer(registry, index)
            .fix(&FixRequest {
                ecosystem: Ecosystem::CratesIo,
                manifest: "Cargo.lock",
                package: "serde_derive",
                from: "1.0.150",
                to: "1.0.151",
                direct: false,
                files: &files,
                others: &[],
            })
            .await
    }

    fn serde_bump(to: &str) -> FixRoute {
        FixRoute::ParentBump {
            bumps: vec![ParentBump {
                package: "serde".into(),
                from: "1.0.150".into(),
                to: to.into(),
            }],
        }
    }

    #[tokio::test]
    async fn the_dependent_crate_is_bumped_as_cargo_update_precise_writes_it() {
        let out = fix(registry(), Index::default(), &data("base/Cargo.toml"))
            .await
            .unwrap();
        assert_eq!(out.route, serde_bump("1.0.151"));
        assert_eq!(edited(&out, "Cargo.lock").unwrap(), data("bump/Cargo.lock"));
        // `serde = "1.0.150"` (a caret requirement) allows 1.0.151: Cargo.toml stays.
        assert_eq!(edited(&out, "Cargo.toml"), None);
    }

    #[tokio::test]
    async fn a_pinned_direct_dependent_moves_in_cargo_toml_and_vulnerable_releases_are_skipped() {
        let pinned = data("base/Cargo.toml").replace("\"1.0.150\"", "\"=1.0.150\"");
        let osv = br#"{"id": "RUSTSEC-0000-test", "modified": "2024-01-01T00:00:00Z",
          "affected": [{"package": {"ecosystem": "crates.io", "name": "serde"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.151"}, {"fixed": "1.0.152"}]}]}]}"#;
        let Parsed::Advisory(a) = parse_json(osv).unwrap() else {
            unreachable!()
        };
        // serde 1.0.151 is flagged: 1.0.152 pins serde_derive 1.0.152, which excludes the fix.
        let err = fix(registry(), Index::new([*a.clone()]), &pinned)
            .await
            .unwrap_err();
        let FixError::Blocked { chain, reason } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            chain,
            "app -> serde@1.0.150 -> serde_derive@=1.0.150 (fix needs serde_derive 1.0.151)"
        );
        assert!(
            reason.starts_with("no parent bump: serde 1.0.151 allows serde_derive 1.0.151, but every such release of serde is vulnerable itself"),
            "{reason}"
        );
        let out = fix(registry(), Index::default(), &pinned).await.unwrap();
        assert_eq!(out.route, serde_bump("1.0.151"));
        assert_eq!(
            edited(&out, "Cargo.toml").unwrap(),
            pinned.replace("\"=1.0.150\"", "\"=1.0.151\"")
        );
        assert_eq!(edited(&out, "Cargo.lock").unwrap(), data("bump/Cargo.lock"));
    }
}

/// uv.lock (issue 18): requests 2.25.1 requires `idna (<3,>=2.5)` (its PyPI `requires_dist`);
/// no parent bump is tried for uv, so the fix of idna (3.7) is pinned with
/// `[tool.uv] override-dependencies`, byte for byte what `uv lock` 0.13.9 wrote
/// (tests/data/lockfile-proofs/uv/override-*, README there).
mod uv_override {
    use super::*;
    use crate::registry::{parse_pypi_release, PypiRelease};

    fn data(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/data/lockfile-proofs/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// requests 2.25.1 with the requirements of its wheel's METADATA.
    fn requests() -> PypiRelease {
        PypiRelease {
            name: "requests".into(),
            version: "2.25.1".into(),
            files: Vec::new(),
            requires_dist: [
                "chardet (<5,>=3.0.2)",
                "idna (<3,>=2.5)",
                "urllib3 (<1.27,>=1.21.1)",
                "certifi (>=2017.4.17)",
                "pyOpenSSL (>=0.14) ; extra == 'security'",
                "cryptography (>=1.3.4) ; extra == 'security'",
                "PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'",
            ]
            .map(String::from)
            .to_vec(),
            dists: Vec::new(),
            requires_python: None,
        }
    }

    async fn fix(registry: FakeRegistry) -> Result<super::super::executor::FixOutcome, FixError> {
        let files = HashMap::from([
            (
                "uv.lock".to_string(),
                data("uv/override-before/uv.lock").into_bytes(),
            ),
            (
                "pyproject.toml".to_string(),
                data("uv/override-before/pyproject.toml").into_bytes(),
            ),
        ]);
        fixer(registry, Index::default())
            .fix(&FixRequest {
                ecosystem: Ecosystem::PyPI,
                manifest: "uv.lock",
                package: "idna",
                from: "2.10",
                to: "3.7",
                direct: false,
                files: &files,
                others: &[],
            })
            .await
    }

    fn idna_37() -> PypiRelease {
        let doc: serde_json::Value = serde_json::from_str(&data("pypi/idna-3.7.json")).unwrap();
        parse_pypi_release(&doc).unwrap()
    }

    #[tokio::test]
    async fn the_override_is_what_uv_writes() {
        let out = fix(FakeRegistry::new()
            .pypi_release(idna_37())
            .pypi_release(requests()))
        .await
        .unwrap();
        let FixRoute::Override { mechanism, reason } = &out.route else {
            panic!("{:?}", out.route)
        };
        assert_eq!(*mechanism, OverrideKind::UvOverrideDependencies);
        assert!(
            reason.starts_with(
                "requests 2.25.1 requires idna `<3,>=2.5`, which excludes 3.7; no parent bump:"
            ),
            "{reason}"
        );
        assert_eq!(
            edited(&out, "uv.lock").unwrap(),
            data("uv/override-after/uv.lock")
        );
        assert_eq!(
            edited(&out, "pyproject.toml").unwrap(),
            data("uv/override-after/pyproject.toml")
        );
    }

    #[tokio::test]
    async fn without_the_parents_entry_the_move_is_refused_not_made_blindly() {
        // The parent's requirement cannot be read: no edit that uv would reject.
        let err = fix(FakeRegistry::new().pypi_release(idna_37()))
            .await
            .unwrap_err();
        assert!(matches!(err, FixError::NotFixable(_)), "{err:?}");
    }
}
