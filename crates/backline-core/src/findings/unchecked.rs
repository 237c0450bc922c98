//! What was not checked: dependencies that are not the public registry's packages (git, path,
//! URL, another registry) and unpinned requirements. Listed so that a scan never reads as
//! "clean" for what it could not look at. Pure.

use serde::{Deserialize, Serialize};

use crate::deps::{Dependency, UncheckedReason};
use crate::ecosystem::Ecosystem;

/// One dependency of one manifest that was not checked against advisories.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unchecked {
    /// The manifest, relative to the repository root.
    pub path: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// The version or reference the manifest gives (a git URL, a range), when it gives one.
    pub version: Option<String>,
    /// Why it was not checked.
    pub reason: UncheckedReason,
}

/// The unchecked dependencies of one manifest, sorted.
pub fn unchecked_for(path: &str, dependencies: &[Dependency]) -> Vec<Unchecked> {
    let mut out: Vec<Unchecked> = dependencies
        .iter()
        .filter_map(|d| {
            d.unchecked().map(|reason| Unchecked {
                path: path.to_string(),
                ecosystem: d.ecosystem,
                package: d.name.clone(),
                version: d.version.clone(),
                reason,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deps::Source;

    #[test]
    fn lists_sources_and_unpinned_but_not_registry_pins() {
        let deps = [
            Dependency::new(Ecosystem::PyPI, "flask", None, true),
            Dependency::new(Ecosystem::PyPI, "django", Some("4.2.0".into()), true),
            Dependency::new(Ecosystem::PyPI, "mylib", Some("1.0".into()), true)
                .with_source(Source::Git),
        ];
        let got = unchecked_for("requirements.txt", &deps);
        let reasons: Vec<(&str, &str)> = got
            .iter()
            .map(|u| (u.package.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(reasons, [("flask", "unpinned"), ("mylib", "git source")]);
    }
}
