//! `package-lock.json` / `npm-shrinkwrap.json` (lockfile v1–v3), and `package.json` when a
//! direct range excludes the new version.
//!
//! Edits are made at the exact byte spans of the values (`version`, `resolved`, `integrity`,
//! and the entry's `dependencies`/`requires` when the new version declares others), in the
//! v2/v3 `packages` map and in the v1-style `dependencies` tree (which v2 carries too). Every
//! copy of the package at the old version moves. Before that:
//! - each dependency the new version declares must resolve, by node's lookup from the
//!   package's folder upwards, to a locked copy in its range (optional ones may be absent);
//! - each locked package that resolves to a moved copy must accept the new version in its
//!   range (v2/v3 `dependencies`, v1 `requires`, both by node's lookup); when one does not, the
//!   patch says which parent to upgrade first;
//! - the project's own ranges (`package.json`, and the lock's root entry) are bumped in their
//!   style (`^`, `~`, exact) when they exclude it, and only when the top-level copy they resolve
//!   to is one that moves: manifest and lockfile always agree.
//!
//! The `resolved` URL keeps its host (a mirror stays a mirror): only the file name's version
//! changes.

use serde_json::Value;

use super::edit::{edit_entry, root_range_edits};
use super::json::scan;
use super::lock as npm_lock;
use super::range::{bumped, satisfies};
use super::v1::{check_v1_parents, walk_v1};
use crate::deps::{self, ParseError};
use crate::registry::NpmRelease;
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, npm_release_wanted, parent_excludes, FileChange,
    ParentRule, PatchError, PatchRequest,
};

/// Edits a `package-lock.json` (and `package.json` when needed).
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    let lock: Value = serde_json::from_str(body)
        .map_err(|e| ParseError::new(path, Some(e.line()), e.to_string()))?;
    let tree = scan(body).ok_or_else(|| ParseError::new(path, None, "unreadable JSON"))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let release = npm_release_wanted(req)?;
    let nl = line_ending(body);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut moved = 0;
    let mut root_ranges: Vec<(String, String)> = Vec::new();
    // Whether the copy the project's own ranges resolve to (the top-level one) moves.
    let top_level_moves = match npm_lock::packages(&lock) {
        Some(packages) => {
            packages
                .get(&format!("node_modules/{pkg}"))
                .and_then(npm_lock::version)
                == Some(from)
        }
        None => {
            npm_lock::tree(&lock)
                .and_then(|d| d.get(pkg))
                .and_then(npm_lock::version)
                == Some(from)
        }
    };

    if let Some(packages) = npm_lock::packages(&lock) {
        let spans = tree.get("packages");
        let at_old = npm_lock::copies(packages, pkg, from);
        for p in &at_old {
            check_deps(pkg, to, release, |dep| npm_lock::lookup(packages, p, dep))?;
        }
        // Who resolves to the moved copies must accept the new version.
        for (p, e) in packages {
            for kind in ["dependencies", "optionalDependencies", "peerDependencies"] {
                let Some(range) = e.get(kind).and_then(|m| m.get(pkg)).and_then(Value::as_str)
                else {
                    continue;
                };
                let Some((target, _)) = npm_lock::lookup(packages, p, pkg) else {
                    continue;
                };
                if !at_old.iter().any(|o| **o == target) {
                    continue;
                }
                if !npm_lock::is_installed(p) {
                    if kind != "peerDependencies" {
                        root_ranges.push((p.clone(), range.to_string()));
                    }
                    continue;
                }
                if satisfies(range, to) != Some(true) {
                    let who = npm_lock::package_name(p, e).unwrap_or(p);
                    let v = e.get("version").and_then(Value::as_str).unwrap_or("?");
                    if rule.lets_pass(who, v) {
                        continue;
                    }
                    return parent_excludes(who, v, pkg, range, to);
                }
            }
        }
        for p in &at_old {
            let (Some(entry), Some(node)) = (packages.get(*p), spans.and_then(|s| s.get(p))) else {
                continue;
            };
            edit_entry(
                body,
                entry,
                node,
                release,
                from,
                "dependencies",
                nl,
                &mut edits,
            )?;
            moved += 1;
        }
        // The root entry mirrors package.json; its range is the top-level copy's.
        if top_level_moves {
            if let Some(root) = spans.and_then(|s| s.get("")) {
                root_range_edits(body, root, pkg, to, &mut edits)?;
            }
        }
    }
    if let (Some(deps_v), Some(deps_n)) = (npm_lock::tree(&lock), tree.get("dependencies")) {
        if lock.get("packages").is_none() {
            check_v1_parents(deps_v, &[], pkg, from, to, rule)?;
        }
        let mut found = 0;
        walk_v1(
            body,
            deps_v,
            deps_n,
            req,
            release,
            nl,
            &mut edits,
            &mut found,
            &[],
        )?;
        if lock.get("packages").is_none() {
            moved += found;
        }
    }
    if moved == 0 {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }

    // package.json beside the lock.
    let mut changes = Vec::new();
    let pj_path = sibling(path, "package.json");
    if let Some(pj_bytes) = (req.files)(&pj_path) {
        let pj_text = std::str::from_utf8(&pj_bytes)
            .map_err(|_| ParseError::new(&pj_path, None, "the file is not valid UTF-8"))?;
        let pj_bom = if pj_text.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        if let (Some(pj_tree), true) = (scan(&pj_text[pj_bom..]), top_level_moves) {
            let mut pj_edits = Vec::new();
            root_range_edits(&pj_text[pj_bom..], &pj_tree, pkg, to, &mut pj_edits)?;
            if !pj_edits.is_empty() {
                let new = apply_edits(&pj_text[pj_bom..], pj_edits);
                changes.push(FileChange {
                    path: pj_path,
                    content: format!("{}{new}", &pj_text[..pj_bom]).into_bytes(),
                });
            }
        }
    } else {
        // Without package.json, the lock's own root ranges must already allow it.
        for (p, range) in root_ranges {
            if satisfies(&range, to) != Some(true) && bumped(&range, to).is_none() {
                return not_fixable(format!(
                    "{} requires {pkg} `{range}`, which excludes {to}",
                    if p.is_empty() {
                        "the project"
                    } else {
                        p.as_str()
                    }
                ));
            }
        }
    }
    let new_lock = format!("{}{}", &text[..bom], apply_edits(body, edits));
    changes.insert(
        0,
        FileChange {
            path: path.to_string(),
            content: new_lock.into_bytes(),
        },
    );
    Ok(changes)
}

/// Where `pkg` at `version` is installed, as `parent > … > pkg` (the top-level copy is `pkg`):
/// from the v2/v3 `packages` map, else the v1 `dependencies` tree. Empty when unreadable.
pub(crate) fn copy_paths(bytes: &[u8], pkg: &str, version: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let Ok(lock) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(packages) = npm_lock::packages(&lock) {
        out.extend(
            npm_lock::copies(packages, pkg, version)
                .into_iter()
                .map(|p| npm_lock::chain(p)),
        );
    } else if let Some(deps) = npm_lock::tree(&lock) {
        npm_lock::walk_tree(deps, &mut |chain, name, entry| {
            if name == pkg && npm_lock::version(entry) == Some(version) {
                let mut chain = chain.to_vec();
                chain.push(name);
                out.push(chain.join(" > "));
            }
        });
    }
    out.sort();
    out
}

/// The packages from the project down to an installed copy of `pkg` at `version`, each with
/// its version: the shortest dependency path from the project (node's lookup at each step),
/// from the v2/v3 `packages` map; empty when unknown.
pub(crate) fn chain(bytes: &[u8], pkg: &str, version: &str) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let Ok(lock) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
        return Vec::new();
    };
    let Some(packages) = lock.get("packages").and_then(Value::as_object) else {
        return Vec::new();
    };
    let is_target = |p: &str| {
        packages.get(p).is_some_and(|e| {
            p.contains("node_modules/")
                && npm_lock::package_name(p, e) == Some(pkg)
                && e.get("version").and_then(Value::as_str) == Some(version)
        })
    };
    // Breadth first from the project's own entry.
    let mut came_from: std::collections::BTreeMap<String, String> =
        std::collections::BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([String::new()]);
    let mut found = None;
    while let Some(at) = queue.pop_front() {
        if is_target(&at) {
            found = Some(at);
            break;
        }
        let Some(entry) = packages.get(&at) else {
            continue;
        };
        let kinds: &[&str] = if at.is_empty() {
            &super::edit::ROOT_KINDS
        } else {
            &["dependencies", "optionalDependencies"]
        };
        for kind in kinds {
            let Some(deps) = entry.get(*kind).and_then(Value::as_object) else {
                continue;
            };
            for dep in deps.keys() {
                if let Some((next, _)) = npm_lock::lookup(packages, &at, dep) {
                    if !next.is_empty() && !came_from.contains_key(&next) {
                        came_from.insert(next.clone(), at.clone());
                        queue.push_back(next);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut at = match found {
        Some(f) => f,
        None => return out,
    };
    while !at.is_empty() {
        if let Some(e) = packages.get(&at) {
            let name = npm_lock::package_name(&at, e).unwrap_or(&at).to_string();
            let v = e.get("version").and_then(Value::as_str).unwrap_or("?");
            out.push((name, v.to_string()));
        }
        at = came_from.get(&at).cloned().unwrap_or_default();
    }
    out.reverse();
    out
}

fn sibling(path: &str, name: &str) -> String {
    match path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/{name}"),
        None => name.to_string(),
    }
}

/// Checks each dependency of the new version against what `find` resolves it to.
pub(crate) fn check_deps<'a>(
    pkg: &str,
    to: &str,
    release: &NpmRelease,
    find: impl Fn(&str) -> Option<(String, Option<&'a str>)>,
) -> Result<(), PatchError> {
    let required = release.dependencies.iter().map(|d| (d, false));
    let optional = release.optional_dependencies.iter().map(|d| (d, true));
    for ((dep, range), optional) in required.chain(optional) {
        match find(dep) {
            None if optional => {}
            None => {
                return not_fixable(format!(
                    "{pkg} {to} needs `{dep}` {range}, which the lockfile does not have"
                ))
            }
            Some((at, version)) => {
                let version = version.unwrap_or("");
                if satisfies(range, version) != Some(true) {
                    return not_fixable(format!(
                        "{pkg} {to} needs `{dep}` {range}, the lockfile has {version} at {at}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::registry::NpmRelease;
    use crate::remediation::patch::npm_test_support::{lodash, run_lodash};
    use crate::remediation::patch::{PatchError, RegistryFacts};

    const V3: &str = r#"{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "web",
      "version": "1.0.0",
      "dependencies": {
        "lodash": "4.17.20",
        "express-ish": "^1.0.0"
      }
    },
    "node_modules/express-ish": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/express-ish/-/express-ish-1.0.0.tgz",
      "integrity": "sha512-AAAA",
      "dependencies": {
        "lodash": "^4.17.0"
      }
    },
    "node_modules/lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==",
      "license": "MIT"
    }
  }
}
"#;

    const PJ: &str = "{\n  \"name\": \"web\",\n  \"dependencies\": {\n    \"lodash\": \"4.17.20\",\n    \"express-ish\": \"^1.0.0\"\n  }\n}\n";

    const INTEGRITY: &str = "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==";

    fn run(
        lock: &str,
        pj: Option<&str>,
        rel: NpmRelease,
    ) -> Result<Vec<(String, String)>, PatchError> {
        run_lodash("web/package-lock.json", lock, "web/package.json", pj, rel)
    }

    #[test]
    fn v3_entry_root_range_and_package_json() {
        let out = run(V3, Some(PJ), lodash(&[])).unwrap();
        let expected_lock = V3
            .replace("\"lodash\": \"4.17.20\"", "\"lodash\": \"4.17.21\"")
            .replace("\"version\": \"4.17.20\"", "\"version\": \"4.17.21\"")
            .replace("lodash-4.17.20.tgz", "lodash-4.17.21.tgz")
            .replace(
                "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==",
                INTEGRITY,
            );
        assert_eq!(out[0], ("web/package-lock.json".to_string(), expected_lock));
        assert_eq!(
            out[1],
            (
                "web/package.json".to_string(),
                PJ.replace("4.17.20", "4.17.21")
            )
        );
    }

    #[test]
    fn caret_range_stays_and_new_dependencies_are_checked() {
        let lock = V3.replace("\"lodash\": \"4.17.20\",", "\"lodash\": \"^4.17.20\",");
        let pj = PJ.replace("\"lodash\": \"4.17.20\"", "\"lodash\": \"^4.17.20\"");
        let out = run(&lock, Some(&pj), lodash(&[])).unwrap();
        assert_eq!(out.len(), 1, "the caret range allows 4.17.21");
        let e = run(&lock, Some(&pj), lodash(&[("express-ish", "^2.0.0")])).unwrap_err();
        assert_eq!(
            e,
            PatchError::NotFixable {
                reason: "lodash 4.17.21 needs `express-ish` ^2.0.0, the lockfile has 1.0.0 at node_modules/express-ish".into()
            }
        );
        let e = run(&lock, Some(&pj), lodash(&[("left-pad", "^1")])).unwrap_err();
        assert!(
            e.to_string().contains("which the lockfile does not have"),
            "{e}"
        );
    }

    #[test]
    fn a_parent_range_excluding_the_version_is_reported() {
        let lock = V3.replace(
            "\"lodash\": \"^4.17.0\"",
            "\"lodash\": \"~4.17.0 <4.17.21\"",
        );
        let e = run(&lock, Some(PJ), lodash(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: express-ish 1.0.0 requires lodash `~4.17.0 <4.17.21`, which excludes 4.17.21; upgrade express-ish first"
        );
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts {
            npm_release: Some(lodash(&[("express-ish", "^1")])),
            ..Default::default()
        };
        crate::remediation::patch::assert_no_panic(
            "package-lock.json",
            V3,
            "lodash",
            "4.17.20",
            "4.17.21",
            &facts,
        );
    }

    const V1: &str = r#"{
  "name": "old",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-old"
    },
    "tool": {
      "version": "2.0.0",
      "requires": {
        "lodash": "^4.0.0"
      },
      "dependencies": {
        "lodash": {
          "version": "4.17.20",
          "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
          "integrity": "sha512-old"
        }
      }
    }
  }
}
"#;

    #[test]
    fn v1_every_copy_moves() {
        let out = run(V1, None, lodash(&[])).unwrap();
        assert_eq!(
            out[0].1,
            V1.replace("4.17.20", "4.17.21")
                .replace("sha512-old", INTEGRITY)
        );
    }

    /// The shape of the issue's real project: lodash at 2.4.2 (under a parent requiring
    /// `~2.4.1`), 4.13.1 and 4.17.11 (top level, pinned by package.json).
    const V1_MIXED: &str = r#"{
  "name": "old",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "lodash": {
      "version": "4.17.11",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.11.tgz",
      "integrity": "sha512-top"
    },
    "legacy": {
      "version": "1.0.0",
      "requires": {
        "lodash": "~2.4.1"
      },
      "dependencies": {
        "lodash": {
          "version": "2.4.2",
          "resolved": "https://registry.npmjs.org/lodash/-/lodash-2.4.2.tgz",
          "integrity": "sha512-old"
        }
      }
    },
    "modern": {
      "version": "3.0.0",
      "requires": {
        "lodash": "^4.13.0"
      },
      "dependencies": {
        "lodash": {
          "version": "4.13.1",
          "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.13.1.tgz",
          "integrity": "sha512-mid"
        }
      }
    }
  }
}
"#;

    const PJ_MIXED: &str = "{\n  \"name\": \"old\",\n  \"dependencies\": {\n    \"lodash\": \"4.17.11\",\n    \"legacy\": \"1.0.0\",\n    \"modern\": \"3.0.0\"\n  }\n}\n";

    fn run_from(
        lock: &str,
        pj: Option<&str>,
        from: &str,
    ) -> Result<Vec<(String, String)>, PatchError> {
        crate::remediation::patch::npm_test_support::run_lodash_from(
            "web/package-lock.json",
            lock,
            "web/package.json",
            pj,
            lodash(&[]),
            from,
        )
    }

    #[test]
    fn v1_a_parent_range_excluding_the_fix_is_reported() {
        let e = run_from(V1_MIXED, Some(PJ_MIXED), "2.4.2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: legacy 1.0.0 requires lodash `~2.4.1`, which excludes 4.17.21; upgrade legacy first"
        );
    }

    #[test]
    fn v1_a_nested_copy_moves_without_touching_the_top_level_pin() {
        // modern's `^4.13.0` accepts 4.17.21; the top-level copy (4.17.11) and package.json's
        // pin stay as they are: manifest and lockfile agree.
        let out = run_from(V1_MIXED, Some(PJ_MIXED), "4.13.1").unwrap();
        assert_eq!(out.len(), 1, "package.json is not touched: {out:?}");
        assert_eq!(
            out[0].1,
            V1_MIXED
                .replace("lodash-4.13.1.tgz", "lodash-4.17.21.tgz")
                .replace("\"version\": \"4.13.1\"", "\"version\": \"4.17.21\"")
                .replace("sha512-mid", INTEGRITY)
        );
        // Moving the top-level copy bumps the pin with it.
        let out = run_from(V1_MIXED, Some(PJ_MIXED), "4.17.11").unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].1.contains("lodash-4.17.21.tgz"));
        assert!(out[1].1.contains("\"lodash\": \"4.17.21\""), "{}", out[1].1);
    }

    #[test]
    fn dependencies_are_added_and_removed() {
        let out = run(V3, Some(PJ), lodash(&[("express-ish", "^1.0.0")])).unwrap();
        assert!(out[0].1.contains("      \"license\": \"MIT\",\n      \"dependencies\": {\n        \"express-ish\": \"^1.0.0\"\n      }\n    }\n"), "{}", out[0].1);
        let with = out[0].1.replace("4.17.21", "4.17.20");
        let back = run(&with, Some(PJ), lodash(&[])).unwrap();
        assert!(
            back[0].1.contains("      \"license\": \"MIT\"\n    }\n"),
            "{}",
            back[0].1
        );
        let v1 = run(V1, None, lodash(&[("tool", "^2")])).unwrap();
        assert!(v1[0].1.contains("      \"integrity\": \"sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==\",\n      \"requires\": {\n        \"tool\": \"^2\"\n      }\n    },"), "{}", v1[0].1);
    }

    #[test]
    fn changed_dependency_lists_are_rewritten() {
        let lock = V3.replace(
            "      \"integrity\": \"sha512-AAAA\",\n      \"dependencies\": {\n        \"lodash\": \"^4.17.0\"\n      }\n    },\n    \"node_modules/lodash\": {\n      \"version\": \"4.17.20\",",
            "      \"integrity\": \"sha512-AAAA\",\n      \"dependencies\": {\n        \"lodash\": \"^4.17.0\"\n      }\n    },\n    \"node_modules/lodash\": {\n      \"version\": \"4.17.20\",\n      \"dependencies\": {\n        \"gone\": \"^1\"\n      },",
        );
        let out = run(&lock, Some(PJ), lodash(&[("express-ish", "^1.0.0")])).unwrap();
        assert!(out[0].1.contains("      \"version\": \"4.17.21\",\n      \"dependencies\": {\n        \"express-ish\": \"^1.0.0\"\n      },"), "{}", out[0].1);
    }

    /// Issue 13: three installed copies (lodash 2.4.2 under `legacy` requiring `~2.4.1`, 4.13.1
    /// under `modern` requiring `^4.13.0`, 4.17.11 at the top, pinned by package.json): one
    /// patch moves the two that every range allows, bumps the pin with the top-level copy, and
    /// leaves 2.4.2 with the parent it needs.
    #[test]
    fn v1_three_copies_move_where_every_parent_allows_and_the_rest_is_left() {
        use crate::remediation::patch::{npm_test_support::run_lodash_copies, PlacedCopy};
        let out = run_lodash_copies(
            "web/package-lock.json",
            V1_MIXED,
            "web/package.json",
            Some(PJ_MIXED),
            &["4.17.11", "2.4.2", "4.13.1"],
        )
        .unwrap();
        assert_eq!(
            out.moved,
            vec![
                PlacedCopy {
                    version: "4.17.11".into(),
                    paths: vec!["lodash".into()]
                },
                PlacedCopy {
                    version: "4.13.1".into(),
                    paths: vec!["modern > lodash".into()]
                },
            ]
        );
        assert_eq!(out.left.len(), 1, "{:?}", out.left);
        assert_eq!(
            out.left[0].0,
            PlacedCopy {
                version: "2.4.2".into(),
                paths: vec!["legacy > lodash".into()]
            }
        );
        assert_eq!(
            out.left[0].1,
            "needs legacy to allow lodash >= 4.17.21 (legacy 1.0.0 requires lodash `~2.4.1`, which excludes 4.17.21; upgrade legacy first)"
        );
        let lock = std::str::from_utf8(&out.changes[0].content).unwrap();
        assert_eq!(
            lock,
            V1_MIXED
                .replace("lodash-4.13.1.tgz", "lodash-4.17.21.tgz")
                .replace("lodash-4.17.11.tgz", "lodash-4.17.21.tgz")
                .replace("\"version\": \"4.13.1\"", "\"version\": \"4.17.21\"")
                .replace("\"version\": \"4.17.11\"", "\"version\": \"4.17.21\"")
                .replace("sha512-mid", INTEGRITY)
                .replace("sha512-top", INTEGRITY)
        );
        assert!(lock.contains("lodash-2.4.2.tgz"), "the excluded copy stays");
        assert_eq!(out.changes[1].path, "web/package.json");
        assert_eq!(
            std::str::from_utf8(&out.changes[1].content).unwrap(),
            PJ_MIXED.replace("\"lodash\": \"4.17.11\"", "\"lodash\": \"4.17.21\"")
        );
        // Every range in the patched tree holds: each parent's and the manifest's.
        let tree: serde_json::Value = serde_json::from_str(lock).unwrap();
        let deps = &tree["dependencies"];
        for (parent, range) in [("legacy", "~2.4.1"), ("modern", "^4.13.0")] {
            let installed = deps[parent]["dependencies"]["lodash"]["version"]
                .as_str()
                .unwrap();
            assert_eq!(
                super::satisfies(range, installed),
                Some(true),
                "{parent} {range} {installed}"
            );
        }
        // When no copy can move, the first refusal is the answer.
        let e = run_lodash_copies(
            "web/package-lock.json",
            V1_MIXED,
            "web/package.json",
            Some(PJ_MIXED),
            &["2.4.2"],
        )
        .unwrap_err();
        assert!(
            matches!(e, PatchError::ParentExcludes { ref parent, .. } if parent == "legacy"),
            "{e:?}"
        );
    }

    /// The same tree as a lockfile v3: the `packages` map gives the paths.
    #[test]
    fn v3_three_copies_move_where_every_parent_allows() {
        use crate::remediation::patch::npm_test_support::run_lodash_copies;
        let entry = |path: &str, version: &str, extra: &str| {
            format!(
                "    \"{path}\": {{\n      \"version\": \"{version}\",\n      \"resolved\": \"https://registry.npmjs.org/lodash/-/lodash-{version}.tgz\",\n      \"integrity\": \"sha512-{version}\"{extra}\n    }}"
            )
        };
        let parent = |name: &str, range: &str| {
            format!(
                "    \"node_modules/{name}\": {{\n      \"version\": \"1.0.0\",\n      \"resolved\": \"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz\",\n      \"integrity\": \"sha512-{name}\",\n      \"dependencies\": {{\n        \"lodash\": \"{range}\"\n      }}\n    }}"
            )
        };
        let lock = format!(
            "{{\n  \"name\": \"old\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {{\n    \"\": {{\n      \"name\": \"old\",\n      \"version\": \"1.0.0\",\n      \"dependencies\": {{\n        \"legacy\": \"1.0.0\",\n        \"lodash\": \"4.17.11\",\n        \"modern\": \"1.0.0\"\n      }}\n    }},\n{},\n{},\n{},\n{},\n{}\n  }}\n}}\n",
            parent("legacy", "~2.4.1"),
            entry("node_modules/legacy/node_modules/lodash", "2.4.2", ""),
            entry("node_modules/lodash", "4.17.11", ""),
            parent("modern", "^4.13.0"),
            entry("node_modules/modern/node_modules/lodash", "4.13.1", ""),
        );
        let pj = "{\n  \"name\": \"old\",\n  \"dependencies\": {\n    \"legacy\": \"1.0.0\",\n    \"lodash\": \"4.17.11\",\n    \"modern\": \"1.0.0\"\n  }\n}\n";
        let out = run_lodash_copies(
            "package-lock.json",
            &lock,
            "package.json",
            Some(pj),
            &["2.4.2", "4.13.1", "4.17.11"],
        )
        .unwrap();
        let moved: Vec<(&str, &[String])> = out
            .moved
            .iter()
            .map(|c| (c.version.as_str(), c.paths.as_slice()))
            .collect();
        assert_eq!(
            moved,
            vec![
                ("4.13.1", &["modern > lodash".to_string()][..]),
                ("4.17.11", &["lodash".to_string()][..]),
            ]
        );
        assert_eq!(out.left[0].0.paths, vec!["legacy > lodash".to_string()]);
        assert!(out.left[0]
            .1
            .starts_with("needs legacy to allow lodash >= 4.17.21"));
        let new: serde_json::Value = serde_json::from_slice(&out.changes[0].content).unwrap();
        let v = |p: &str| new["packages"][p]["version"].as_str().unwrap().to_string();
        assert_eq!(v("node_modules/legacy/node_modules/lodash"), "2.4.2");
        assert_eq!(v("node_modules/modern/node_modules/lodash"), "4.17.21");
        assert_eq!(v("node_modules/lodash"), "4.17.21");
        assert_eq!(new["packages"][""]["dependencies"]["lodash"], "4.17.21");
        assert!(std::str::from_utf8(&out.changes[1].content)
            .unwrap()
            .contains("\"lodash\": \"4.17.21\""));
    }
}
