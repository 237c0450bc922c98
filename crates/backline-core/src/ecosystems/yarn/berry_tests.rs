//! The berry patcher against lockfiles yarn 4 wrote (tests/data/yarn-berry/, README there says
//! how): the patched files equal yarn's own `after` files byte for byte, except the moved
//! entries' `checksum` lines, which the patcher drops (yarn fills them in on install).

use std::collections::BTreeMap;

use crate::registry::NpmRelease;
use crate::remediation::patch::{patch_with, ParentRule, PatchError, PatchRequest, RegistryFacts};

fn data(case: &str, file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../tests/data/yarn-berry/{case}/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A registry entry with the given dependencies (the real manifests' ones in the cases).
fn release(name: &str, version: &str, deps: &[(&str, &str)]) -> NpmRelease {
    NpmRelease {
        name: name.into(),
        version: version.into(),
        integrity: "sha512-unused-by-berry".into(),
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

/// Patches `lock` (with `pj` beside it) and gives the changed files by path.
fn run(
    lock: &str,
    pj: &str,
    rel: NpmRelease,
    from: &str,
    rule: &ParentRule,
) -> Result<BTreeMap<String, String>, PatchError> {
    let (lock, pj) = (lock.to_string(), pj.to_string());
    let files = move |p: &str| match p {
        "yarn.lock" => Some(lock.clone().into_bytes()),
        "package.json" => Some(pj.clone().into_bytes()),
        _ => None,
    };
    let facts = RegistryFacts {
        npm_release: Some(rel.clone()),
        ..Default::default()
    };
    let req = PatchRequest {
        manifest_path: "yarn.lock",
        package: &rel.name,
        from,
        to: &rel.version,
        direct: false,
        files: &files,
        facts: &facts,
    };
    patch_with(&req, rule).map(|cs| {
        cs.into_iter()
            .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
            .collect()
    })
}

/// yarn's `after` lock without the `checksum` line of the entry resolving `resolution`.
fn without_checksum(lock: &str, resolution: &str) -> String {
    let mut out = String::new();
    let mut in_moved = false;
    for line in lock.split_inclusive('\n') {
        if !line.starts_with(' ') {
            in_moved = false;
        }
        if line.trim_end() == format!("  resolution: \"{resolution}\"") {
            in_moved = true;
        }
        if in_moved && line.starts_with("  checksum: ") {
            continue;
        }
        out.push_str(line);
    }
    out
}

fn case(name: &str, rel: NpmRelease, from: &str, rule: &ParentRule) {
    let out = run(
        &data(name, "before/yarn.lock"),
        &data(name, "before/package.json"),
        rel.clone(),
        from,
        rule,
    )
    .unwrap();
    let resolution = format!("{}@npm:{}", rel.name, rel.version);
    let want = without_checksum(&data(name, "after/yarn.lock"), &resolution);
    assert_ne!(
        want,
        data(name, "after/yarn.lock"),
        "{name}: a checksum line is dropped"
    );
    assert_eq!(out["yarn.lock"], want, "{name}");
    let pj_after = data(name, "after/package.json");
    if pj_after != data(name, "before/package.json") {
        assert_eq!(out["package.json"], pj_after, "{name}");
    } else {
        assert!(!out.contains_key("package.json"), "{name}");
    }
    // The patched lock reads again, with the package at the new version only.
    let deps =
        crate::deps::parse("yarn.lock", out["yarn.lock"].as_bytes(), &|_: &str| None).unwrap();
    let versions: Vec<&str> = deps
        .iter()
        .filter(|d| d.name == rel.name)
        .filter_map(|d| d.version.as_deref())
        .collect();
    assert_eq!(versions, vec![rel.version.as_str()], "{name}");
}

#[test]
fn a_direct_pin_moves_with_package_json_as_yarn_4_writes_it() {
    case(
        "direct-pin",
        release("lodash", "4.17.21", &[]),
        "4.17.20",
        &ParentRule::Check,
    );
}

#[test]
fn a_direct_pin_moves_as_yarn_3_writes_it() {
    case(
        "direct-pin-yarn3",
        release("lodash", "4.17.21", &[]),
        "4.17.20",
        &ParentRule::Check,
    );
}

#[test]
fn a_transitive_package_moves_within_its_parents_range_as_yarn_4_writes_it() {
    case(
        "transitive",
        release(
            "brace-expansion",
            "1.1.12",
            &[("balanced-match", "^1.0.0"), ("concat-map", "0.0.1")],
        ),
        "1.1.11",
        &ParentRule::Check,
    );
}

#[test]
fn a_resolutions_override_is_written_as_yarn_4_writes_it() {
    case(
        "override",
        release("ms", "2.1.3", &[]),
        "2.0.0",
        &ParentRule::Override,
    );
}

#[test]
fn a_parent_whose_range_excludes_the_fix_is_named() {
    let e = run(
        &data("override", "before/yarn.lock"),
        &data("override", "before/package.json"),
        release("ms", "2.1.3", &[]),
        "2.0.0",
        &ParentRule::Check,
    )
    .unwrap_err();
    match &e {
        PatchError::ParentExcludes { parent, at, .. } => {
            assert_eq!(parent, "debug");
            assert_eq!(at.version, "2.6.9");
            assert_eq!(at.range, "2.0.0");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.copy_reason(),
        "needs debug to allow ms >= 2.1.3 (yarn.lock entry `ms@npm:2.0.0` excludes 2.1.3; upgrade the package that requires it)"
    );
}

const LOCK: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"a@npm:^1.0.0":
  version: 1.0.0
  resolution: "a@npm:1.0.0"
  dependencies:
    old: "npm:^1.0.0"
  checksum: 10c0/aaaa
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    a: "npm:^1.0.0"
    b: "npm:^2.0.0"
  languageName: unknown
  linkType: soft

"b@npm:^2.0.0":
  version: 2.3.0
  resolution: "b@npm:2.3.0"
  checksum: 10c0/bbbb
  languageName: node
  linkType: hard

"old@npm:^1.0.0":
  version: 1.0.0
  resolution: "old@npm:1.0.0"
  dependencies:
    gone: "npm:1.0.0"
  checksum: 10c0/cccc
  languageName: node
  linkType: hard

"gone@npm:1.0.0":
  version: 1.0.0
  resolution: "gone@npm:1.0.0"
  checksum: 10c0/dddd
  languageName: node
  linkType: hard
"#;

const PJ: &str = "{\"dependencies\": {\"a\": \"^1.0.0\", \"b\": \"^2.0.0\"}}";

#[test]
fn new_dependencies_join_locked_entries_and_unneeded_ones_are_removed() {
    let out = run(
        LOCK,
        PJ,
        release("a", "1.0.1", &[("b", "^2.1.0")]),
        "1.0.0",
        &ParentRule::Check,
    )
    .unwrap();
    let lock = &out["yarn.lock"];
    assert!(
        lock.contains("\"a@npm:^1.0.0\":\n  version: 1.0.1\n  resolution: \"a@npm:1.0.1\"\n  dependencies:\n    b: \"npm:^2.1.0\"\n  languageName: node\n"),
        "{lock}"
    );
    assert!(
        lock.contains("\"b@npm:^2.0.0, b@npm:^2.1.0\":\n  version: 2.3.0\n"),
        "{lock}"
    );
    assert!(!lock.contains("old@") && !lock.contains("gone@"), "{lock}");
    assert!(!lock.contains("10c0/aaaa"), "{lock}");
}

#[test]
fn a_dependency_no_entry_satisfies_is_refused() {
    let e = run(
        LOCK,
        PJ,
        release("a", "1.0.1", &[("b", "^3.0.0")]),
        "1.0.0",
        &ParentRule::Check,
    )
    .unwrap_err();
    assert!(
        e.reason()
            .contains("needs b `^3.0.0`, which no yarn.lock entry satisfies"),
        "{e}"
    );
}

#[test]
fn entries_that_come_to_resolve_the_same_version_merge() {
    let lock = LOCK.replace(
        "\"b@npm:^2.0.0\":\n  version: 2.3.0\n  resolution: \"b@npm:2.3.0\"\n  checksum: 10c0/bbbb\n  languageName: node\n  linkType: hard\n",
        "\"b@npm:^2.0.0\":\n  version: 2.3.0\n  resolution: \"b@npm:2.3.0\"\n  checksum: 10c0/bbbb\n  languageName: node\n  linkType: hard\n\n\"b@npm:~2.2.0\":\n  version: 2.2.0\n  resolution: \"b@npm:2.2.0\"\n  checksum: 10c0/eeee\n  languageName: node\n  linkType: hard\n",
    ).replace("    old: \"npm:^1.0.0\"\n", "    b: \"npm:~2.2.0\"\n    old: \"npm:^1.0.0\"\n");
    // b 2.2.1 within `~2.2.0`: the entry moves; its version differs from 2.3.0, no merge.
    let out = run(
        &lock,
        PJ,
        release("b", "2.2.1", &[]),
        "2.2.0",
        &ParentRule::Check,
    )
    .unwrap();
    assert!(out["yarn.lock"].contains("\"b@npm:~2.2.0\":\n  version: 2.2.1\n"));
    // Overridden to 2.3.0, both entries resolve 2.3.0 and become one, keyed by the pin.
    let out = run(
        &lock,
        PJ,
        release("b", "2.3.0", &[]),
        "2.2.0",
        &ParentRule::Override,
    )
    .unwrap();
    assert!(
        out["yarn.lock"].contains("\"b@npm:2.3.0, b@npm:^2.0.0\":\n  version: 2.3.0\n  resolution: \"b@npm:2.3.0\"\n  checksum: 10c0/bbbb\n"),
        "{}",
        out["yarn.lock"]
    );
    assert_eq!(out["yarn.lock"].matches("resolution: \"b@").count(), 1);
}

#[test]
fn a_broken_lock_is_a_finding_with_its_line() {
    let broken = LOCK.replace(
        "  resolution: \"a@npm:1.0.0\"\n",
        "  resolution: \"a@npm:1.0.0\n",
    );
    let e = run(
        &broken,
        PJ,
        release("a", "1.0.1", &[]),
        "1.0.0",
        &ParentRule::Check,
    )
    .unwrap_err();
    let PatchError::Unreadable(p) = &e else {
        panic!("{e:?}")
    };
    assert!(p.line.is_some(), "{e}");
}

#[test]
fn no_panic_on_damaged_input() {
    let facts = RegistryFacts {
        npm_release: Some(release("a", "1.0.1", &[("b", "^2.1.0")])),
        ..Default::default()
    };
    crate::remediation::patch::assert_no_panic("yarn.lock", LOCK, "a", "1.0.0", "1.0.1", &facts);
}
