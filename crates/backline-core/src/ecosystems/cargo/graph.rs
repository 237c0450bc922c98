//! The lockfile's package graph before and after one package moves version: which block a
//! reference means, whether the locked dependents accept the new version, which locked
//! packages the new version depends on, and which packages nothing reaches any more.

use std::collections::{BTreeSet, HashMap, HashSet};

use semver::{Version, VersionReq};

use super::lock::{split_ref, Block};
use crate::registry::{CrateRelease, DepKind};
use crate::remediation::patch::{not_fixable, ParentRule, PatchError};

pub(crate) fn semver_of(v: &str) -> Option<Version> {
    Version::parse(v).ok()
}

/// One package (`target`, at block index) moving to `to`, over the blocks of a lockfile.
pub(crate) struct Change<'a> {
    pub(crate) blocks: &'a [Block],
    pub(crate) target: usize,
    pub(crate) package: &'a str,
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    /// The block already locking `to`, when there is one (the old copy merges into it).
    pub(crate) merge: Option<usize>,
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Each block's dependencies (block indexes) before the change.
    pub(crate) old_edges: Vec<Vec<usize>>,
}

impl<'a> Change<'a> {
    pub(crate) fn new(
        blocks: &'a [Block],
        target: usize,
        package: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> Change<'a> {
        let merge = blocks
            .iter()
            .position(|b| b.name == package && b.version == to);
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, b) in blocks.iter().enumerate() {
            by_name.entry(b.name.as_str()).or_default().push(i);
        }
        let mut change = Change {
            blocks,
            target,
            package,
            from,
            to,
            merge,
            by_name,
            old_edges: Vec::new(),
        };
        change.old_edges = blocks
            .iter()
            .map(|b| {
                b.deps
                    .iter()
                    .filter_map(|(r, _)| change.resolve(r))
                    .collect()
            })
            .collect();
        change
    }

    /// The version of block `i` after the change.
    pub(crate) fn version_of(&self, i: usize) -> &str {
        if i == self.target {
            self.to
        } else {
            &self.blocks[i].version
        }
    }

    /// The block a reference (`name` or `name version ...`) means.
    pub(crate) fn resolve(&self, r: &str) -> Option<usize> {
        let (name, version, _) = split_ref(r);
        let cands = self.by_name.get(name)?;
        match version {
            None => (cands.len() == 1).then(|| cands[0]),
            Some(v) => cands.iter().copied().find(|&i| self.blocks[i].version == v),
        }
    }

    /// Where an edge to `j` points after the change (the merge target instead of the old copy).
    pub(crate) fn redirect(&self, j: usize) -> usize {
        match self.merge {
            Some(c) if j == self.target => c,
            _ => j,
        }
    }

    /// Refuses a bump past another locked version of the same crate.
    pub(crate) fn check_order(&self, to_v: &Version) -> Result<(), PatchError> {
        let (pkg, from, to) = (self.package, self.from, self.to);
        let others: Vec<Version> = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(i, b)| *i != self.target && b.name == pkg)
            .filter_map(|(_, b)| semver_of(&b.version))
            .collect();
        if let (Some(from_v), None) = (semver_of(from), self.merge) {
            let below = |v: &Version| others.iter().filter(|o| *o < v).count();
            if below(&from_v) != below(to_v) {
                return not_fixable(format!(
                    "moving {pkg} from {from} to {to} passes another locked version of {pkg}; not supported yet"
                ));
            }
        }
        Ok(())
    }

    /// The locked registry packages depending on the package must accept the new version
    /// (their index entries are `dependents`).
    pub(crate) fn check_dependents(
        &self,
        dependents: &[CrateRelease],
        to_v: &Version,
        rule: &ParentRule,
    ) -> Result<(), PatchError> {
        let (pkg, to) = (self.package, self.to);
        let from_v = semver_of(self.from);
        for (i, b) in self.blocks.iter().enumerate() {
            if i == self.target
                || b.source.is_none()
                || !self.old_edges[i].contains(&self.target)
                || (rule.lets_pass(&b.name, &b.version) && *rule != ParentRule::Override)
            {
                continue;
            }
            let Some(rel) = dependents
                .iter()
                .find(|r| r.name == b.name && r.version == b.version)
            else {
                return not_fixable(format!(
                    "the index entry of {} {}, which depends on {pkg}, was not fetched",
                    b.name, b.version
                ));
            };
            for d in rel
                .deps
                .iter()
                .filter(|d| d.name == pkg && d.kind != DepKind::Dev)
            {
                let Ok(r) = VersionReq::parse(&d.req) else {
                    continue;
                };
                let relevant = from_v.as_ref().is_none_or(|f| r.matches(f));
                if relevant && !r.matches(to_v) {
                    return Err(PatchError::ParentExcludes {
                        parent: b.name.clone(),
                        at: Box::new(crate::remediation::patch::ParentRange {
                            version: b.version.clone(),
                            range: d.req.clone(),
                        }),
                        package: pkg.to_string(),
                        to: to.to_string(),
                        message: format!(
                            "{} {} requires {pkg} `{}`, which excludes {to}; upgrade {} too",
                            b.name, b.version, d.req, b.name
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The new version's dependencies, each resolved to a locked package (a merge target's
    /// are locked already). Optional ones count only when the old version had them.
    pub(crate) fn new_deps(&self, release: &CrateRelease) -> Result<BTreeSet<usize>, PatchError> {
        let (pkg, to, t) = (self.package, self.to, self.target);
        let old_target: HashSet<usize> = self.old_edges[t].iter().copied().collect();
        let mut new_deps: BTreeSet<usize> = BTreeSet::new();
        let own_deps = if self.merge.is_some() {
            &[][..]
        } else {
            &release.deps[..]
        };
        for dep in own_deps.iter().filter(|d| d.kind != DepKind::Dev) {
            let cands: Vec<usize> = self
                .by_name
                .get(dep.name.as_str())
                .map(|c| c.iter().copied().filter(|&i| i != t).collect())
                .unwrap_or_default();
            if dep.optional && !cands.iter().any(|c| old_target.contains(c)) {
                continue;
            }
            let vreq = VersionReq::parse(&dep.req).map_err(|e| PatchError::NotFixable {
                reason: format!(
                    "{pkg} {to} requires `{}` {}, which backline cannot read: {e}",
                    dep.name, dep.req
                ),
            })?;
            let matching: Vec<usize> = cands
                .iter()
                .copied()
                .filter(|&i| semver_of(&self.blocks[i].version).is_some_and(|v| vreq.matches(&v)))
                .collect();
            if cands.is_empty() {
                return not_fixable(format!(
                    "{pkg} {to} needs `{}` {}, which the lockfile does not have",
                    dep.name, dep.req
                ));
            }
            if matching.is_empty() {
                let have: Vec<&str> = cands
                    .iter()
                    .map(|&i| self.blocks[i].version.as_str())
                    .collect();
                return not_fixable(format!(
                    "{pkg} {to} needs `{}` {}, the lockfile has {}",
                    dep.name,
                    dep.req,
                    have.join(", ")
                ));
            }
            let chosen = matching
                .iter()
                .copied()
                .find(|i| old_target.contains(i))
                .or_else(|| {
                    matching
                        .iter()
                        .copied()
                        .max_by_key(|&i| semver_of(&self.blocks[i].version))
                });
            new_deps.extend(chosen);
        }
        Ok(new_deps)
    }

    /// The blocks nothing reaches after the change (dropped, as cargo would); with a merge,
    /// the old copy too.
    pub(crate) fn removed(&self, new_deps: &BTreeSet<usize>) -> Result<HashSet<usize>, PatchError> {
        let t = self.target;
        let edges = |i: usize| -> Vec<usize> {
            if i == t {
                if self.merge.is_some() {
                    Vec::new()
                } else {
                    new_deps.iter().copied().collect()
                }
            } else {
                self.old_edges[i]
                    .iter()
                    .map(|&j| self.redirect(j))
                    .collect()
            }
        };
        let reach = |new: bool| -> HashSet<usize> {
            let mut seen: HashSet<usize> = self
                .blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.source.is_none())
                .map(|(i, _)| i)
                .collect();
            let mut stack: Vec<usize> = seen.iter().copied().collect();
            while let Some(i) = stack.pop() {
                let next = if new {
                    edges(i)
                } else {
                    self.old_edges[i].clone()
                };
                for j in next {
                    if seen.insert(j) {
                        stack.push(j);
                    }
                }
            }
            seen
        };
        let before = reach(false);
        let after = reach(true);
        let mut removed: HashSet<usize> = if self.blocks.iter().any(|b| b.source.is_none()) {
            before.difference(&after).copied().collect()
        } else {
            HashSet::new()
        };
        if self.merge.is_some() {
            removed.insert(t);
        } else if removed.contains(&t) {
            return not_fixable(format!(
                "{} {} is not used by the workspace",
                self.package, self.from
            ));
        }
        Ok(removed)
    }
}
