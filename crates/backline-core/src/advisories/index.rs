//! The in-memory index: (ecosystem, normalised package name) → the advisories about it, with
//! their `affected` entries compiled for matching.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::matching::{sort_safely, CompiledAffected};
use super::model::{Advisory, AdvisoryKind};
use super::names::normalize;
use super::version::Version;
use crate::ecosystem::Ecosystem;

/// One advisory that concerns an installed version.
#[derive(Debug, Clone)]
pub struct Match {
    /// The advisory.
    pub advisory: Arc<Advisory>,
    /// Its kind (vulnerability, unmaintained, ...), copied for convenience.
    pub kind: AdvisoryKind,
    /// The smallest version above the installed one that no advisory of the same kind on this
    /// package affects, taken from the advisories' `fixed` events; `None` when no such version is
    /// known (no fix yet, or only `last_affected` bounds, whose next version cannot be known).
    pub fix: Option<String>,
    /// The smallest `fixed` version of this advisory alone above the installed one that it
    /// does not affect; `None` when it names none.
    pub advisory_fix: Option<String>,
}

/// Counts of the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Advisories in the index.
    pub advisories: usize,
    /// Distinct (ecosystem, package) keys.
    pub packages: usize,
    /// Per OSV ecosystem name, per kind: advisories with at least one package there.
    /// Ecosystems backline does not scan are counted under their OSV name too.
    pub by_ecosystem: BTreeMap<String, BTreeMap<AdvisoryKind, usize>>,
}

struct Entry {
    advisory: usize,
    /// Position of the `affected` entry in the advisory.
    position: usize,
    affected: CompiledAffected,
}

/// The entries of one package, with its safe fix versions computed on first use.
#[derive(Default)]
struct PackageEntries {
    entries: Vec<Entry>,
    /// Per kind: the `fixed` versions that no entry of that kind affects, ascending.
    safe_fixes: OnceLock<HashMap<AdvisoryKind, Vec<(String, Version)>>>,
}

/// The advisories, indexed by package.
#[derive(Default)]
pub struct Index {
    advisories: Vec<Arc<Advisory>>,
    by_package: HashMap<(Ecosystem, String), PackageEntries>,
    stats: Stats,
    /// Severity resolution across every advisory (aliases) and the default.
    severity: super::severity::Resolver,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("stats", &self.stats).finish()
    }
}

impl Index {
    /// Builds an index. Advisories with an id seen before are dropped (the first wins), so a
    /// database imported twice, or RustSec both as Markdown and as OSV, counts once.
    pub fn new(advisories: impl IntoIterator<Item = Advisory>) -> Index {
        let mut index = Index::default();
        let mut seen = HashSet::new();
        for advisory in advisories {
            if !seen.insert(advisory.id.clone()) {
                continue;
            }
            let n = index.advisories.len();
            let mut ecosystems = HashSet::new();
            for (position, affected) in advisory.affected.iter().enumerate() {
                ecosystems.insert(osv_base(&affected.package.ecosystem));
                let Some(eco) = affected.package.known_ecosystem() else {
                    continue;
                };
                index
                    .by_package
                    .entry((eco, normalize(eco, &affected.package.name)))
                    .or_default()
                    .entries
                    .push(Entry {
                        advisory: n,
                        position,
                        affected: CompiledAffected::new(eco, affected),
                    });
            }
            for eco in ecosystems {
                *index
                    .stats
                    .by_ecosystem
                    .entry(eco)
                    .or_default()
                    .entry(advisory.kind)
                    .or_default() += 1;
            }
            index.advisories.push(Arc::new(advisory));
        }
        index.stats.advisories = index.advisories.len();
        index.stats.packages = index.by_package.len();
        index.severity = super::severity::Resolver::new(index.advisories.iter().map(|a| &**a));
        index
    }

    /// An advisory's severity and where it came from (its vectors, its database's word, a
    /// twin record through its aliases, or the default for unknown severities).
    pub fn severity_of(
        &self,
        advisory: &Advisory,
    ) -> (super::cvss::Level, super::severity::SeveritySource) {
        self.severity.resolve(advisory)
    }

    /// The level given to vulnerabilities whose severity nothing tells
    /// (`BACKLINE_UNKNOWN_SEVERITY`; medium unless set).
    pub fn unknown_severity(&self) -> super::cvss::Level {
        self.severity.unknown()
    }

    /// Sets [`Index::unknown_severity`].
    pub fn set_unknown_severity(&mut self, level: super::cvss::Level) {
        self.severity.set_unknown(level);
    }

    /// All advisories, in index order.
    pub fn advisories(&self) -> &[Arc<Advisory>] {
        &self.advisories
    }

    /// Counts per ecosystem and kind.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The ecosystems backline scans that at least one advisory covers.
    pub fn ecosystems(&self) -> std::collections::BTreeSet<Ecosystem> {
        self.stats
            .by_ecosystem
            .keys()
            .filter_map(|name| Ecosystem::from_osv(name))
            .collect()
    }

    /// The advisories that affect `version` of package `name`, each once, in index order.
    pub fn matches(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Vec<Match> {
        let Some(package) = self
            .by_package
            .get(&(ecosystem, normalize(ecosystem, name)))
        else {
            return Vec::new();
        };
        let installed = Version::parse(ecosystem, version);
        let mut hits: Vec<usize> = package
            .entries
            .iter()
            .filter(|e| self.affects(e, version, &installed))
            .map(|e| e.advisory)
            .collect();
        if hits.is_empty() {
            return Vec::new();
        }
        hits.sort_unstable();
        hits.dedup();
        let safe = package
            .safe_fixes
            .get_or_init(|| self.safe_fixes(&package.entries));
        hits.into_iter()
            .map(|n| {
                let advisory = Arc::clone(&self.advisories[n]);
                let kind = advisory.kind;
                let fix = safe.get(&kind).and_then(|list| {
                    list.iter()
                        .find(|(_, v)| v.compare(&installed) == Ordering::Greater)
                        .map(|(text, _)| text.clone())
                });
                let advisory_fix = self.advisory_fix(&package.entries, n, &installed);
                Match {
                    advisory,
                    kind,
                    fix,
                    advisory_fix,
                }
            })
            .collect()
    }

    /// The smallest `fixed` version of advisory `n`'s entries above `installed` that none of
    /// them affects.
    fn advisory_fix(&self, entries: &[Entry], n: usize, installed: &Version) -> Option<String> {
        let own: Vec<&Entry> = entries.iter().filter(|e| e.advisory == n).collect();
        let candidates: Vec<(String, Version)> = own
            .iter()
            .flat_map(|e| e.affected.fixed_versions())
            .filter(|(_, v)| v.compare(installed) == Ordering::Greater)
            .map(|(text, v)| (text.to_string(), v.clone()))
            .collect();
        sort_safely(candidates, |a, b| a.1.compare(&b.1))
            .into_iter()
            .find(|(text, v)| !own.iter().any(|e| self.affects(e, text, v)))
            .map(|(text, _)| text)
    }

    fn affects(&self, entry: &Entry, raw: &str, version: &Version) -> bool {
        let listed = self.advisories[entry.advisory]
            .affected
            .get(entry.position)
            .map(|a| a.versions.as_slice())
            .unwrap_or(&[]);
        entry.affected.affects(listed, raw, version)
    }

    /// [`Index::matches`] for a dependency found in a manifest; nothing for an unpinned one (no
    /// version to compare) nor for one not from the public registry (git, path, URL, another
    /// registry: not the package the advisories name).
    pub fn matches_dependency(&self, dependency: &crate::deps::Dependency) -> Vec<Match> {
        match dependency.checkable_version() {
            Some(version) => self.matches(dependency.ecosystem, &dependency.name, version),
            None => Vec::new(),
        }
    }

    /// Per kind, the `fixed` versions of the package's entries that no entry of the same kind
    /// affects, ascending: the fix for an installed version is the first one above it.
    fn safe_fixes(&self, entries: &[Entry]) -> HashMap<AdvisoryKind, Vec<(String, Version)>> {
        let mut out = HashMap::new();
        for kind in AdvisoryKind::ALL {
            let same_kind: Vec<&Entry> = entries
                .iter()
                .filter(|e| self.advisories[e.advisory].kind == kind)
                .collect();
            if same_kind.is_empty() {
                continue;
            }
            let mut seen = HashSet::new();
            let candidates: Vec<(String, Version)> = same_kind
                .iter()
                .flat_map(|e| e.affected.fixed_versions())
                .filter(|(text, _)| seen.insert(text.to_string()))
                .map(|(text, v)| (text.to_string(), v.clone()))
                .collect();
            let mut candidates = sort_safely(candidates, |a, b| a.1.compare(&b.1));
            candidates.dedup_by(|a, b| a.1.compare(&b.1) == Ordering::Equal);
            candidates.retain(|(text, v)| !same_kind.iter().any(|e| self.affects(e, text, v)));
            out.insert(kind, candidates);
        }
        out
    }
}

/// `Debian:12` → `Debian`; known ecosystems keep their OSV spelling.
fn osv_base(name: &str) -> String {
    name.split(':').next().unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests;
