//! Findings: which dependencies an advisory affects, with the fix version. Pure: dependencies
//! and an index in, findings out. Used by `backline scan` and by the service.

pub mod allow;
pub mod render;
pub mod unchecked;

pub use unchecked::{unchecked_for, Unchecked};

use serde::{Deserialize, Serialize};

use crate::advisories::cvss::{cvss_of, Level};
use crate::advisories::severity::SeveritySource;
use crate::advisories::{AdvisoryKind, Index};
use crate::deps::Dependency;
use crate::ecosystem::Ecosystem;

/// The parts of an advisory a finding shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryRef {
    /// Id (`RUSTSEC-2022-0013`, `GHSA-...`, `PYSEC-...`).
    pub id: String,
    /// Other ids (CVE, GHSA).
    pub aliases: Vec<String>,
    /// One line.
    pub summary: Option<String>,
    /// Level, resolved in order: CVSS v3.x / v4.0 vector, the database's word, a twin record
    /// through aliases, the default for unknown severities.
    pub severity: Level,
    /// The CVSS vector, when there is one.
    pub cvss: Option<String>,
    /// Its CVSS v3.x or v4.0 base score, when computable.
    pub cvss_score: Option<f64>,
    /// `vulnerability`, or informational (`unmaintained`, `unsound`, `notice`).
    pub kind: AdvisoryKind,
    /// Where `severity` came from.
    pub severity_source: SeveritySource,
    /// The smallest version above the installed one that this advisory does not affect.
    pub fixed_in: Option<String>,
}

/// One (file, package, version, advisory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The manifest, relative to the repository root.
    pub path: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Required by the project itself.
    pub direct: bool,
    /// The smallest version above `version` that this advisory does not affect; `None` when
    /// none is known.
    pub fix_version: Option<String>,
    /// The smallest version above `version` that no advisory of this kind on the package
    /// affects (what a fix MR moves to); `None` when none is known.
    pub fixes_all: Option<String>,
    /// The advisory.
    pub advisory: AdvisoryRef,
}

impl Finding {
    /// A stable key: file, ecosystem, package, version, advisory id.
    pub fn key(&self) -> String {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.path, self.ecosystem, self.package, self.version, self.advisory.id
        )
    }

    /// Whether this is a vulnerability (rather than an informational advisory).
    pub fn is_vulnerability(&self) -> bool {
        self.advisory.kind == AdvisoryKind::Vulnerability
    }
}

/// A one-line summary from an advisory's details (PyPA records have no summary): the first
/// sentence or line, at most 120 characters.
pub fn short_summary(details: &str) -> String {
    let first = details.trim().lines().next().unwrap_or("").trim();
    let sentence = match first.find(". ") {
        Some(i) => &first[..=i],
        None => first,
    };
    if sentence.chars().count() > 120 {
        let cut: String = sentence.chars().take(119).collect();
        format!("{cut}…")
    } else {
        sentence.to_string()
    }
}

/// The findings of one manifest's dependencies. Unpinned dependencies (no version) and those
/// not from the public registry cannot be matched and are left out ([`unchecked_for`] lists
/// them).
pub fn findings_for(path: &str, dependencies: &[Dependency], index: &Index) -> Vec<Finding> {
    let mut out = Vec::new();
    for dep in dependencies {
        let Some(version) = dep.checkable_version() else {
            continue;
        };
        for m in index.matches(dep.ecosystem, &dep.name, version) {
            let a = &m.advisory;
            let cvss = cvss_of(a);
            let (severity, severity_source) = index.severity_of(a);
            out.push(Finding {
                path: path.to_string(),
                ecosystem: dep.ecosystem,
                package: dep.name.clone(),
                version: version.to_string(),
                direct: dep.direct,
                fix_version: m.advisory_fix.clone(),
                fixes_all: m.fix.clone(),
                advisory: AdvisoryRef {
                    id: a.id.clone(),
                    aliases: a.aliases.clone(),
                    summary: a
                        .summary
                        .clone()
                        .or_else(|| a.details.as_deref().map(short_summary)),
                    severity,
                    cvss_score: cvss.as_ref().and_then(|(_, s)| *s),
                    cvss: cvss.map(|(v, _)| v),
                    kind: m.kind,
                    severity_source,
                    fixed_in: m.advisory_fix.clone(),
                },
            });
        }
    }
    out.sort_by_cached_key(Finding::key);
    out.dedup_by(|a, b| a.key() == b.key());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_from_details() {
        assert_eq!(
            short_summary("Jinja2 before 2.10.1 has a sandbox escape. More text."),
            "Jinja2 before 2.10.1 has a sandbox escape."
        );
        assert_eq!(short_summary("\nOne line\nTwo"), "One line");
        assert!(short_summary(&"x".repeat(300)).chars().count() <= 120);
    }
}
