//! OSV matching rules: whether a version is in an `affected` entry.
//!
//! A version is affected when it is listed in `versions` (equal by the ecosystem's ordering) or
//! lies inside a `SEMVER` or `ECOSYSTEM` range. A range's events are sorted by version
//! (`introduced: "0"` first; equal versions keep their order) and walked: `introduced` at or
//! below the version turns "affected" on, `fixed` at or below it and `last_affected` below it
//! turn it off. Then every `limit` (other than `"*"`) must be above the version. `GIT` ranges
//! and unknown types are skipped.

use std::cmp::Ordering;

use super::model::{Affected, Event, Range, RangeKind};
use super::version::Version;
use crate::ecosystem::Ecosystem;

/// An event with its version parsed once.
#[derive(Debug, Clone)]
pub(crate) struct CompiledEvent {
    event: Event,
    /// `None` for `introduced: "0"` (below everything) and `limit: "*"` (above everything).
    version: Option<Version>,
}

/// A range ready for matching: events sorted.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRange {
    events: Vec<CompiledEvent>,
}

/// An `affected` entry ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledAffected {
    ecosystem: Ecosystem,
    ranges: Vec<CompiledRange>,
    /// Positions in the entry's `versions`, in version order (for a binary search that parses
    /// only the probed versions: long lists cost 4 bytes a version, not a parsed copy).
    order: Vec<u32>,
}

impl CompiledAffected {
    /// Prepares `affected` for `ecosystem`.
    pub fn new(ecosystem: Ecosystem, affected: &Affected) -> CompiledAffected {
        let parsed: Vec<Version> = affected
            .versions
            .iter()
            .map(|v| Version::parse(ecosystem, v))
            .collect();
        let mut order: Vec<u32> = (0..parsed.len() as u32).collect();
        merge_sort_by(&mut order, |&a, &b| {
            parsed[a as usize].compare(&parsed[b as usize])
        });
        CompiledAffected {
            ecosystem,
            order,
            ranges: affected
                .ranges
                .iter()
                .filter(|r| matches!(r.kind, RangeKind::Semver | RangeKind::Ecosystem))
                .map(|r| compile_range(ecosystem, r))
                .collect(),
        }
    }

    /// Whether `version` (the text `raw`) is affected; `listed` is the entry's `versions`, the
    /// list this was compiled from.
    pub fn affects(&self, listed: &[String], raw: &str, version: &Version) -> bool {
        self.ranges.iter().any(|r| r.contains(version))
            || self
                .order
                .binary_search_by(|&i| match listed.get(i as usize) {
                    Some(text) if text == raw => Ordering::Equal,
                    Some(text) => Version::parse(self.ecosystem, text).compare(version),
                    None => Ordering::Less,
                })
                .is_ok()
    }

    /// The `fixed` versions of the ranges (candidates for a fix).
    pub(crate) fn fixed_versions(&self) -> impl Iterator<Item = (&str, &Version)> {
        self.ranges.iter().flat_map(|r| {
            r.events
                .iter()
                .filter_map(|e| match (&e.event, &e.version) {
                    (Event::Fixed(s), Some(v)) => Some((s.as_str(), v)),
                    _ => None,
                })
        })
    }
}

fn compile_range(ecosystem: Ecosystem, range: &Range) -> CompiledRange {
    let events: Vec<CompiledEvent> = range
        .events
        .iter()
        .map(|e| {
            let text = e.version().trim();
            let version = match e {
                Event::Introduced(_) if text == "0" => None,
                Event::Limit(_) if text == "*" => None,
                _ => Some(Version::parse(ecosystem, text)),
            };
            CompiledEvent {
                event: e.clone(),
                version,
            }
        })
        .collect();
    CompiledRange {
        events: sort_safely(events, event_order),
    }
}

fn event_order(a: &CompiledEvent, b: &CompiledEvent) -> Ordering {
    // `None` is below everything for introduced and above everything for limit.
    let key = |e: &CompiledEvent| -> i8 {
        match (&e.event, &e.version) {
            (Event::Introduced(_), None) => -1,
            (Event::Limit(_), None) => 1,
            _ => 0,
        }
    };
    match (key(a), key(b)) {
        (0, 0) => match (&a.version, &b.version) {
            (Some(x), Some(y)) => x.compare(y),
            _ => Ordering::Equal,
        },
        (x, y) => x.cmp(&y),
    }
}

impl CompiledRange {
    fn contains(&self, v: &Version) -> bool {
        let mut affected = false;
        for e in &self.events {
            match (&e.event, &e.version) {
                (Event::Introduced(_), None) => affected = true,
                (Event::Introduced(_), Some(i)) if v.compare(i) != Ordering::Less => {
                    affected = true
                }
                (Event::Fixed(_), Some(f)) if v.compare(f) != Ordering::Less => affected = false,
                (Event::LastAffected(_), Some(l)) if v.compare(l) == Ordering::Greater => {
                    affected = false
                }
                _ => {}
            }
        }
        affected
            && self.events.iter().all(|e| match (&e.event, &e.version) {
                (Event::Limit(_), Some(l)) => v.compare(l) == Ordering::Less,
                _ => true,
            })
    }
}

/// A stable merge sort that cannot panic even if `cmp` is not a total order (a malformed
/// version's fallback ordering is not guaranteed to be transitive, and the standard sorts may
/// panic on that). With a total order it sorts; otherwise it returns some permutation.
pub(crate) fn merge_sort_by<T: Clone>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    fn sort<T: Clone>(items: &mut [T], cmp: &mut dyn FnMut(&T, &T) -> Ordering) {
        let n = items.len();
        if n < 2 {
            return;
        }
        let mid = n / 2;
        sort(&mut items[..mid], cmp);
        sort(&mut items[mid..], cmp);
        let mut merged = Vec::with_capacity(n);
        let (mut i, mut j) = (0, mid);
        while i < mid && j < n {
            if cmp(&items[j], &items[i]) == Ordering::Less {
                merged.push(items[j].clone());
                j += 1;
            } else {
                merged.push(items[i].clone());
                i += 1;
            }
        }
        merged.extend_from_slice(&items[i..mid]);
        merged.extend_from_slice(&items[j..n]);
        items.clone_from_slice(&merged);
    }
    sort(items, &mut cmp);
}

/// Sorts `items` by `cmp` with [`merge_sort_by`] on their positions (no clones of the items).
pub(crate) fn sort_safely<T>(items: Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) -> Vec<T> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    merge_sort_by(&mut order, |&a, &b| cmp(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Whether `version` of a package is affected by `affected` (compiles it on the fly; the index
/// keeps compiled entries instead).
pub fn is_affected(ecosystem: Ecosystem, affected: &Affected, version: &str) -> bool {
    CompiledAffected::new(ecosystem, affected).affects(
        &affected.versions,
        version,
        &Version::parse(ecosystem, version),
    )
}

#[cfg(test)]
mod tests;
