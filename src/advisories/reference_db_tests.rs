//! Whole reference databases (`shared/reference/rustsec-advisory-db`, `pypa-advisory-database`)
//! imported and matched against known vulnerable and fixed versions.

use std::path::Path;

use super::import::{import_path, Layout};
use super::{AdvisoryKind, Index};
use crate::ecosystem::Ecosystem;

const RUSTSEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/rustsec-advisory-db"
);
const PYPA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/pypa-advisory-database"
);

fn ids(index: &Index, eco: Ecosystem, name: &str, version: &str) -> Vec<String> {
    index
        .matches(eco, name, version)
        .into_iter()
        .map(|m| m.advisory.id.clone())
        .collect()
}

#[test]
fn reference_rustsec_db_imports_without_errors_and_matches() {
    let report = import_path(Path::new(RUSTSEC)).expect("import");
    assert_eq!(report.layout, Some(Layout::RustSec));
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        report.advisories.len() > 1_100,
        "{}",
        report.advisories.len()
    );
    assert!(!report.withdrawn.is_empty());
    let index = Index::new(report.advisories);
    let crates = &index.stats().by_ecosystem["crates.io"];
    assert!(crates[&AdvisoryKind::Vulnerability] > 400, "{crates:?}");
    assert!(crates[&AdvisoryKind::Unmaintained] > 200, "{crates:?}");
    assert!(crates[&AdvisoryKind::Unsound] > 150, "{crates:?}");
    assert!(crates[&AdvisoryKind::Notice] > 0, "{crates:?}");

    // RUSTSEC-2020-0105: abi_stable, patched >= 0.9.1.
    let m = index.matches(Ecosystem::CratesIo, "abi_stable", "0.9.0");
    assert!(m.iter().any(|m| m.advisory.id == "RUSTSEC-2020-0105"));
    assert!(m.iter().all(|m| m.fix.as_deref() == Some("0.9.1")), "{m:?}");
    assert!(!ids(&index, Ecosystem::CratesIo, "abi-stable", "0.9.1")
        .contains(&"RUSTSEC-2020-0105".to_string()));

    // RUSTSEC-2021-0124: tokio, patched >= 1.8.4, < 1.9.0 and >= 1.13.1; unaffected < 0.1.14.
    let id = "RUSTSEC-2021-0124".to_string();
    for v in ["0.1.14", "1.8.3", "1.9.0", "1.13.0"] {
        assert!(
            ids(&index, Ecosystem::CratesIo, "tokio", v).contains(&id),
            "{v}"
        );
    }
    for v in ["0.1.13", "1.8.4", "1.8.9", "1.13.1", "1.40.0"] {
        assert!(
            !ids(&index, Ecosystem::CratesIo, "tokio", v).contains(&id),
            "{v}"
        );
    }
    // The fix for an old tokio clears every tokio vulnerability (RUSTSEC-2023-0005, an
    // `unsound` notice, is counted apart).
    let m = index.matches(Ecosystem::CratesIo, "tokio", "1.9.0");
    let vuln = m
        .iter()
        .find(|m| m.kind == AdvisoryKind::Vulnerability)
        .expect("a vulnerability");
    let fix = vuln.fix.clone().expect("a fix");
    let left = index.matches(Ecosystem::CratesIo, "tokio", &fix);
    assert!(
        left.iter().all(|m| m.kind != AdvisoryKind::Vulnerability),
        "{fix}: {left:?}"
    );
    assert!(m.iter().any(|m| m.kind == AdvisoryKind::Unsound));
    assert_eq!(
        crate::advisories::version::compare(Ecosystem::CratesIo, &fix, "1.9.0"),
        std::cmp::Ordering::Greater
    );
}

#[test]
fn reference_pypa_db_imports_without_errors_and_matches() {
    let report = import_path(Path::new(PYPA)).expect("import");
    assert_eq!(report.layout, Some(Layout::PyPA));
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        report.advisories.len() > 2_600,
        "{}",
        report.advisories.len()
    );
    assert_eq!(report.withdrawn.len(), 10);
    let index = Index::new(report.advisories);
    assert!(index.stats().by_ecosystem["PyPI"][&AdvisoryKind::Vulnerability] > 2_600);

    // PYSEC-2019-217: jinja2, introduced 0, fixed 2.10.1.
    let id = "PYSEC-2019-217".to_string();
    assert!(ids(&index, Ecosystem::PyPI, "Jinja2", "2.10").contains(&id));
    assert!(ids(&index, Ecosystem::PyPI, "jinja2", "2.10.0").contains(&id));
    assert!(!ids(&index, Ecosystem::PyPI, "jinja2", "2.10.1").contains(&id));
    assert!(!ids(&index, Ecosystem::PyPI, "jinja2", "3.1.4").contains(&id));
    // PYSEC-2020-342: apache-skywalking, listed versions only up to 1.0.1 (introduced 0, no fix).
    let id = "PYSEC-2020-342".to_string();
    assert!(ids(&index, Ecosystem::PyPI, "Apache_Skywalking", "0.3.0").contains(&id));
    let m = index.matches(Ecosystem::PyPI, "apache-skywalking", "1.0.1");
    assert!(m.iter().any(|m| m.advisory.id == id && m.fix.is_none()));
}
