//! Whole reference databases (`tests/data/rustsec-advisory-db`, `pypa-advisory-database`)
//! imported and matched against known vulnerable and fixed versions.

use std::path::Path;

use super::import::{import_path, Layout};
use super::matching::CompiledAffected;
use super::{AdvisoryKind, Index};
use crate::ecosystem::Ecosystem;

const RUSTSEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/rustsec-advisory-db"
);
const PYPA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/pypa-advisory-database"
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
    let report = import_path(Path::new(RUSTSEC)).unwrap_or_else(|e| panic!("{RUSTSEC}: {e}"));
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
    let report = import_path(Path::new(PYPA)).unwrap_or_else(|e| panic!("{PYPA}: {e}"));
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

    // Every version a record lists is matched by its compiled entry (versions parsed as PEP 440,
    // found by binary search over the sorted positions).
    let mut listed = 0;
    for a in index.advisories() {
        for x in &a.affected {
            let compiled = CompiledAffected::new(Ecosystem::PyPI, x);
            for v in &x.versions {
                let parsed = crate::advisories::version::Version::parse(Ecosystem::PyPI, v);
                assert!(
                    compiled.affects(&x.versions, v, &parsed),
                    "{} {} {v}",
                    a.id,
                    x.package.name
                );
                // The same version spelt differently is found too.
                let respelt = format!("{v}.0");
                let parsed = crate::advisories::version::Version::parse(Ecosystem::PyPI, &respelt);
                if parsed.compare(&crate::advisories::version::Version::parse(
                    Ecosystem::PyPI,
                    v,
                )) == std::cmp::Ordering::Equal
                {
                    assert!(
                        compiled.affects(&x.versions, &respelt, &parsed),
                        "{} {respelt}",
                        a.id
                    );
                }
                listed += 1;
            }
        }
    }
    assert!(listed > 100_000, "{listed}");

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

/// For every RustSec advisory, the converted OSV range agrees with Cargo's own reading of
/// `patched` / `unaffected` (the `semver` crate's `VersionReq::matches`) on every release
/// version near a bound.
#[test]
fn reference_rustsec_ranges_agree_with_cargo_requirements() {
    use semver::{Version, VersionReq};

    #[derive(serde::Deserialize)]
    struct Front {
        advisory: FrontAdvisory,
        versions: FrontVersions,
    }
    #[derive(serde::Deserialize)]
    struct FrontAdvisory {
        id: String,
        package: String,
        #[serde(default)]
        withdrawn: Option<toml::Value>,
    }
    #[derive(serde::Deserialize)]
    struct FrontVersions {
        #[serde(default)]
        patched: Vec<String>,
        #[serde(default)]
        unaffected: Vec<String>,
    }

    let index = Index::new(
        import_path(Path::new(RUSTSEC))
            .unwrap_or_else(|e| panic!("{RUSTSEC}: {e}"))
            .advisories,
    );
    let mut files = Vec::new();
    let mut stack = vec![Path::new(RUSTSEC).join("crates")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("RUSTSEC-")
            {
                files.push(p);
            }
        }
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rest = text.trim_start().strip_prefix("```toml").unwrap();
        let front: Front = toml::from_str(&rest[..rest.find("\n```").unwrap()]).unwrap();
        if front.advisory.withdrawn.is_some() {
            continue;
        }
        let reqs: Vec<VersionReq> = front
            .versions
            .patched
            .iter()
            .chain(front.versions.unaffected.iter())
            .map(|r| VersionReq::parse(r.trim()).unwrap())
            .collect();
        let mut probes = vec![Version::new(0, 0, 0), Version::new(0, 0, 1)];
        for c in reqs.iter().flat_map(|r| r.comparators.iter()) {
            let (x, y, z) = (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
            probes.extend([
                Version::new(x, y, z),
                Version::new(x, y, z + 1),
                Version::new(x, y + 1, 0),
                Version::new(x + 1, 0, 0),
            ]);
            if z > 0 {
                probes.push(Version::new(x, y, z - 1));
            }
            if y > 0 {
                probes.push(Version::new(x, y - 1, 99));
            }
        }
        for v in probes {
            let safe = reqs.iter().any(|r| r.matches(&v));
            let hit = index
                .matches(Ecosystem::CratesIo, &front.advisory.package, &v.to_string())
                .iter()
                .any(|m| m.advisory.id == front.advisory.id);
            assert_eq!(
                hit,
                !safe,
                "{} at {v} ({})",
                front.advisory.id,
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 5_000, "{checked}");
}

const GHSA_JINJA2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/ghsa/GHSA-462w-v97r-4m45.json"
);

#[test]
fn reference_severity_comes_from_vectors_words_and_twin_records() {
    use super::cvss::Level;
    use super::severity::SeveritySource;
    let mut all = import_path(Path::new(PYPA)).expect("import").advisories;
    let pypa_only = Index::new(all.clone());
    all.extend(
        import_path(Path::new(GHSA_JINJA2))
            .expect("import")
            .advisories,
    );
    all.extend(import_path(Path::new(RUSTSEC)).expect("import").advisories);
    let index = Index::new(all);
    let record = |id: &str| {
        index
            .advisories()
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    // (3) PYSEC-2019-217 has no severity of its own: its GHSA twin's CVSS v3.0 vector (8.6).
    let pysec = record("PYSEC-2019-217");
    assert!(pysec.severity.scores.is_empty() && pysec.severity.label.is_none());
    assert_eq!(
        index.severity_of(&pysec),
        (
            Level::High,
            SeveritySource::Alias("GHSA-462w-v97r-4m45".into())
        )
    );
    // (4) Without the twin: the default for unknown severities, medium unless set.
    assert_eq!(
        pypa_only.severity_of(&pysec),
        (Level::Medium, SeveritySource::Default)
    );
    // (1) v3.x first: the GHSA record itself.
    assert_eq!(
        index.severity_of(&record("GHSA-462w-v97r-4m45")),
        (Level::High, SeveritySource::CvssV3)
    );
    // (1) A RustSec record with only a CVSS v4.0 vector.
    let v4 = record("RUSTSEC-2026-0041");
    assert!(v4.severity.scores[0].score.starts_with("CVSS:4.0/"));
    assert_eq!(
        index.severity_of(&v4),
        (Level::High, SeveritySource::CvssV4)
    );
    // Across the whole PyPA database, nothing is left unknown.
    assert!(index
        .advisories()
        .iter()
        .filter(|a| a.kind == AdvisoryKind::Vulnerability)
        .all(|a| index.severity_of(a).0 != Level::Unknown));
}
