//! The in-memory index: (ecosystem, normalised package name) → the advisories about it, with
//! their `affected` entries compiled for matching.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::matching::CompiledAffected;
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
    affected: CompiledAffected,
}

/// The advisories, indexed by package.
#[derive(Default)]
pub struct Index {
    advisories: Vec<Arc<Advisory>>,
    by_package: HashMap<(Ecosystem, String), Vec<Entry>>,
    stats: Stats,
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
            for affected in &advisory.affected {
                ecosystems.insert(osv_base(&affected.package.ecosystem));
                let Some(eco) = affected.package.known_ecosystem() else {
                    continue;
                };
                index
                    .by_package
                    .entry((eco, normalize(eco, &affected.package.name)))
                    .or_default()
                    .push(Entry {
                        advisory: n,
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
        index
    }

    /// All advisories, in index order.
    pub fn advisories(&self) -> &[Arc<Advisory>] {
        &self.advisories
    }

    /// Counts per ecosystem and kind.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The advisories that affect `version` of package `name`, each once, in index order.
    pub fn matches(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Vec<Match> {
        let Some(entries) = self
            .by_package
            .get(&(ecosystem, normalize(ecosystem, name)))
        else {
            return Vec::new();
        };
        let installed = Version::parse(ecosystem, version);
        let mut hits: Vec<usize> = entries
            .iter()
            .filter(|e| e.affected.affects(version, &installed))
            .map(|e| e.advisory)
            .collect();
        hits.sort_unstable();
        hits.dedup();
        let mut fixes: HashMap<AdvisoryKind, Option<String>> = HashMap::new();
        hits.into_iter()
            .map(|n| {
                let advisory = Arc::clone(&self.advisories[n]);
                let kind = advisory.kind;
                let fix = fixes
                    .entry(kind)
                    .or_insert_with(|| self.fix_for(entries, kind, &installed))
                    .clone();
                Match {
                    advisory,
                    kind,
                    fix,
                }
            })
            .collect()
    }

    /// The smallest `fixed` version above `installed` that no entry of `kind` affects.
    fn fix_for(
        &self,
        entries: &[Entry],
        kind: AdvisoryKind,
        installed: &Version,
    ) -> Option<String> {
        let same_kind: Vec<&Entry> = entries
            .iter()
            .filter(|e| self.advisories[e.advisory].kind == kind)
            .collect();
        let mut candidates: Vec<(&str, &Version)> = same_kind
            .iter()
            .flat_map(|e| e.affected.fixed_versions())
            .filter(|(_, v)| v.compare(installed) == std::cmp::Ordering::Greater)
            .collect();
        super::matching::insertion_sort(&mut candidates, |a, b| a.1.compare(b.1));
        candidates.dedup_by(|a, b| a.1.compare(b.1) == std::cmp::Ordering::Equal);
        candidates
            .into_iter()
            .find(|(text, v)| !same_kind.iter().any(|e| e.affected.affects(text, v)))
            .map(|(text, _)| text.to_string())
    }
}

/// `Debian:12` → `Debian`; known ecosystems keep their OSV spelling.
fn osv_base(name: &str) -> String {
    name.split(':').next().unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests;

impl Index {
    /// Loads the live generation of the store's advisories table (blocking).
    pub fn load(store: &crate::store::Store) -> Result<Index, crate::store::StoreError> {
        let table = super::persist::AdvisoryStore::open(store)?;
        Ok(Index::new(table.load()?.into_iter().map(|r| r.advisory)))
    }
}
