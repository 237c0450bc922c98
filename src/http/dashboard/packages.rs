//! A project's findings grouped as the pages show them: one row per vulnerable package
//! (manifest, package and version, as the figures count them), its advisories inside, worst
//! first (pure).

use crate::advisories::cvss::Level;
use crate::findings::table::StoredFinding;
use crate::findings::AdvisoryRef;

/// One package at one version in one manifest, with every advisory on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRow<'a> {
    /// The manifest.
    pub path: &'a str,
    /// The package.
    pub package: &'a str,
    /// The installed version.
    pub version: &'a str,
    /// The worst severity among its advisories.
    pub worst: Level,
    /// The version that fixes every advisory shown, when one is known (findings carry the
    /// smallest version no advisory of their kind on the package affects: the same for each).
    pub fix_version: Option<&'a str>,
    /// When the first of its findings was first seen (ms).
    pub first_seen_ms: i64,
    /// Its advisories, worst first.
    pub advisories: Vec<&'a AdvisoryRef>,
}

/// Groups `findings` into rows: vulnerabilities in the first list, informational advisories
/// (RustSec `unmaintained`, `unsound`, `notice`) in the second. Each list is sorted worst first,
/// then by package, version and manifest.
pub fn group(findings: &[StoredFinding]) -> (Vec<PackageRow<'_>>, Vec<PackageRow<'_>>) {
    let mut vulnerable: Vec<PackageRow<'_>> = Vec::new();
    let mut informational: Vec<PackageRow<'_>> = Vec::new();
    for s in findings {
        let f = &s.finding;
        let rows = if f.is_vulnerability() {
            &mut vulnerable
        } else {
            &mut informational
        };
        let at = rows
            .iter()
            .position(|r| r.path == f.path && r.package == f.package && r.version == f.version);
        let row = match at {
            Some(i) => &mut rows[i],
            None => {
                rows.push(PackageRow {
                    path: &f.path,
                    package: &f.package,
                    version: &f.version,
                    worst: f.advisory.severity,
                    fix_version: None,
                    first_seen_ms: s.first_seen_ms,
                    advisories: Vec::new(),
                });
                rows.last_mut().expect("just pushed")
            }
        };
        row.worst = row.worst.max(f.advisory.severity);
        row.first_seen_ms = row.first_seen_ms.min(s.first_seen_ms);
        row.fix_version = row.fix_version.or(f.fix_version.as_deref());
        if !row.advisories.iter().any(|a| a.id == f.advisory.id) {
            row.advisories.push(&f.advisory);
        }
    }
    for rows in [&mut vulnerable, &mut informational] {
        for r in rows.iter_mut() {
            r.advisories
                .sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
        }
        rows.sort_by(|a, b| {
            b.worst
                .cmp(&a.worst)
                .then_with(|| a.package.cmp(b.package))
                .then_with(|| a.version.cmp(b.version))
                .then_with(|| a.path.cmp(b.path))
        });
    }
    (vulnerable, informational)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::model::AdvisoryKind;
    use crate::ecosystem::Ecosystem;
    use crate::findings::Finding;

    fn stored(
        package: &str,
        version: &str,
        id: &str,
        level: Level,
        kind: AdvisoryKind,
    ) -> StoredFinding {
        StoredFinding {
            finding: Finding {
                path: "Cargo.lock".into(),
                ecosystem: Ecosystem::CratesIo,
                package: package.into(),
                version: version.into(),
                direct: true,
                fix_version: Some("9.9.9".into()),
                fixes_all: Some("9.9.9".into()),
                advisory: AdvisoryRef {
                    id: id.into(),
                    aliases: vec![],
                    summary: None,
                    severity: level,
                    cvss: None,
                    cvss_score: None,
                    kind,
                    severity_source: crate::advisories::severity::SeveritySource::Database,
                    fixed_in: Some("9.9.9".into()),
                },
            },
            first_seen_ms: id.len() as i64,
            last_seen_ms: 0,
        }
    }

    #[test]
    fn one_row_per_package_version_worst_first() {
        let v = AdvisoryKind::Vulnerability;
        let findings = vec![
            stored("a", "1.0.0", "A-1", Level::Low, v),
            stored("b", "2.0.0", "B-1", Level::Medium, v),
            stored("a", "1.0.0", "A-22", Level::Critical, v),
            stored("b", "2.0.0", "B-2", Level::Low, v),
            stored("c", "0.1.0", "C-1", Level::High, AdvisoryKind::Unmaintained),
        ];
        let (vulnerable, informational) = group(&findings);
        assert_eq!(vulnerable.len(), 2);
        assert_eq!(
            (vulnerable[0].package, vulnerable[0].worst),
            ("a", Level::Critical)
        );
        let ids: Vec<&str> = vulnerable[0]
            .advisories
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["A-22", "A-1"]);
        assert_eq!(vulnerable[0].first_seen_ms, 3);
        assert_eq!(vulnerable[1].package, "b");
        assert_eq!(vulnerable[1].fix_version, Some("9.9.9"));
        assert_eq!(informational.len(), 1);
        assert_eq!(informational[0].package, "c");
    }
}
