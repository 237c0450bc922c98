//! Held to npm's own audit (issue 13): on real npm (lockfile v1, v2, v3) and yarn lockfiles,
//! with the same GitHub advisory records (OSV JSON), backline finds exactly the (package,
//! version, advisory) set npm's audit logic reported. npm's answer was recorded on loopback by
//! `examples/record_npm_audit.rs` (see tests/data/npm-audit/README.md); this test reads files
//! only.

use std::collections::BTreeSet;
use std::path::PathBuf;

use backline::advisories::{import_path, Index};
use backline::findings::findings_for;
use serde_json::Value;

use crate::harness::test_data;

fn fixture(key: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-tools")
        .join(key)
}

/// backline's (package, version, advisory) set for one lockfile.
fn backline_set(key: &str, index: &Index) -> BTreeSet<(String, String, String)> {
    let path = fixture(key);
    let dir = path.parent().unwrap().to_path_buf();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let lookup = move |p: &str| std::fs::read(dir.join(p)).ok();
    let deps =
        backline::deps::parse(&name, &bytes, &lookup).unwrap_or_else(|e| panic!("{key}: {e}"));
    findings_for(&name, &deps, index)
        .into_iter()
        .map(|f| (f.package, f.version, f.advisory.id))
        .collect()
}

#[test]
fn findings_equal_npm_audit_on_npm_and_yarn_lockfiles() {
    let report = import_path(&test_data("npm-audit/advisories")).expect("the GHSA records import");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.advisories.len(), 8);
    let index = Index::new(report.advisories);
    let answer: Value = serde_json::from_slice(
        &std::fs::read(test_data("npm-audit/npm-audit-answer.json")).unwrap(),
    )
    .unwrap();
    let projects = answer["projects"].as_object().unwrap();
    assert_eq!(projects.len(), 4, "npm v1, v2, v3 and yarn lockfiles");
    let mut compared = 0;
    for (key, list) in projects {
        let npm: BTreeSet<(String, String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let s = |k: &str| t[k].as_str().unwrap().to_string();
                (s("package"), s("version"), s("advisory"))
            })
            .collect();
        assert!(!npm.is_empty(), "{key}: npm found something");
        let ours = backline_set(key, &index);
        assert_eq!(
            ours,
            npm,
            "{key}: only backline {:?}; only npm {:?}",
            ours.difference(&npm).collect::<Vec<_>>(),
            npm.difference(&ours).collect::<Vec<_>>()
        );
        compared += npm.len();
    }
    // 15 per npm lockfile, 16 in the yarn lockfile (see the README).
    assert_eq!(compared, 61);
}
