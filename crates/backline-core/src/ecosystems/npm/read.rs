//! `package-lock.json` (and `npm-shrinkwrap.json`), lockfile versions 1 to 3.
//!
//! - v2/v3 (`packages`): every `node_modules/...` path is one installed package; its name is
//!   the `name` field (npm aliases) or the path's last package segment. The root `""` entry,
//!   `link: true` entries to workspace folders and the workspace folders themselves (paths
//!   outside `node_modules`) are not reported.
//!   A package is direct when it sits right under the root's or a workspace's `node_modules`
//!   and that root or workspace declares it. A nested path gives the parent; for a hoisted
//!   transitive package the parent is the first package that declares it.
//! - v1 (nested `dependencies`): nesting gives the parent; top-level entries are direct when
//!   the sibling `package.json` declares them, or, without it, when no other entry requires them.
//!
//! Versions that are not registry versions (`file:`, `link:`, git URLs, tarball URLs), and v2/v3
//! entries whose `resolved` is one, are reported with their [`Source`] and never matched; an
//! alias version `npm:real@1.2.3` reports `real` at `1.2.3`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::lock as npm_lock;
use crate::deps::text::from_json;
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// The dependency kinds a package.json (or lock entry) declares.
const DECLARING: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Parses a `package-lock.json`; `package_json` is the sibling `package.json` when there is one.
pub fn parse(
    file: &str,
    bytes: &[u8],
    package_json: Option<&[u8]>,
) -> Result<Vec<Dependency>, ParseError> {
    let lock: Value = from_json(file, bytes)?;
    let Some(lock) = lock.as_object() else {
        return Err(ParseError::new(file, Some(1), "expected a JSON object"));
    };
    if let Some(packages) = lock.get("packages").and_then(Value::as_object) {
        return Ok(dedupe(parse_packages(packages)));
    }
    let declared = package_json
        .and_then(|b| serde_json::from_slice::<Value>(crate::deps::text::strip_bom(b)).ok())
        .map(|v| declared_names(&v));
    let mut out = Vec::new();
    if let Some(deps) = lock.get("dependencies").and_then(Value::as_object) {
        let required = required_names_v1(deps);
        npm_lock::walk_tree(deps, &mut |chain, name, entry| {
            let (direct, parent) = match chain.last() {
                // A nested entry: its parent is the entry it is nested in.
                Some(parent) => (false, Some(*parent)),
                None => {
                    let direct = match &declared {
                        Some(d) => d.contains(name),
                        None => !required.contains_key(name),
                    };
                    // A hoisted transitive package: its parent is the first entry requiring it.
                    let parent = if direct {
                        None
                    } else {
                        required.get(name).copied()
                    };
                    (direct, parent)
                }
            };
            push_v1(name, entry, direct, parent, &mut out);
        });
    }
    Ok(dedupe(out))
}

/// Every name listed under `requires` anywhere in a v1 tree, with the first entry (breadth
/// first) requiring it.
fn required_names_v1(deps: &Map<String, Value>) -> HashMap<&str, &str> {
    let mut first = HashMap::new();
    let mut queue = vec![deps];
    let mut i = 0;
    while let Some(level) = queue.get(i).copied() {
        i += 1;
        for (name, entry) in level {
            if let Some(req) = entry.get("requires").and_then(Value::as_object) {
                for r in req.keys() {
                    first.entry(r.as_str()).or_insert(name.as_str());
                }
            }
            if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                queue.push(nested);
            }
        }
    }
    first
}

/// One v1 entry as a dependency (entries without a version are skipped).
fn push_v1(
    name: &str,
    entry: &Value,
    direct: bool,
    parent: Option<&str>,
    out: &mut Vec<Dependency>,
) {
    let version = npm_lock::version(entry).unwrap_or("");
    let resolved = entry.get("resolved").and_then(Value::as_str);
    let (real, version, source) = match registry_version(name, version) {
        Some((real, version)) => (real, version, resolved.map_or(Source::Registry, source_of)),
        None => (name.to_string(), version.to_string(), source_of(version)),
    };
    if !version.is_empty() {
        let dev = entry.get("dev").and_then(Value::as_bool).unwrap_or(false);
        out.push(
            Dependency::new(Ecosystem::Npm, real, Some(version), direct)
                .with_parent(parent.map(str::to_string))
                .with_dev(dev)
                .with_source(source),
        );
    }
}

/// The (name, version) to report for a lock version string, or `None` when not from a registry.
fn registry_version(name: &str, version: &str) -> Option<(String, String)> {
    if let Some(alias) = version.strip_prefix("npm:") {
        let at = alias.rfind('@').filter(|&i| i > 0)?;
        return Some((alias[..at].to_string(), alias[at + 1..].to_string()));
    }
    let first = version.chars().next()?;
    if first.is_ascii_digit() && !version.contains(':') && !version.contains('/') {
        Some((name.to_string(), version.to_string()))
    } else {
        None
    }
}

/// Where an npm version spec or `resolved` value points: a git host, a local path, a tarball
/// URL, or the registry (a registry tarball, `https://host/.../-/name-1.2.3.tgz`).
pub(crate) fn source_of(spec: &str) -> Source {
    let lower = spec.to_ascii_lowercase();
    const GIT: [&str; 6] = ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"];
    if GIT.iter().any(|p| lower.starts_with(p)) {
        Source::Git
    } else if ["file:", "link:", "portal:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        Source::Path
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        let before_fragment = lower.split('#').next().unwrap_or(&lower);
        if before_fragment.ends_with(".git") || lower.contains("://codeload.github.com/") {
            Source::Git
        } else if lower.contains("/-/") {
            Source::Registry
        } else {
            Source::Url
        }
    } else if !lower.contains(':') && lower.contains('/') {
        // `user/repo`: GitHub shorthand.
        Source::Git
    } else {
        Source::Registry
    }
}

/// Names a package.json (or a lock's root/workspace entry) declares.
fn declared_names(manifest: &Value) -> HashSet<String> {
    DECLARING
        .iter()
        .filter_map(|k| manifest.get(*k).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

fn parse_packages(packages: &Map<String, Value>) -> Vec<Dependency> {
    // Declared names of the root and of each workspace folder.
    let mut declared_by_root: HashMap<&str, HashSet<String>> = HashMap::new();
    // First declaring package of each name, for hoisted transitive packages.
    let mut first_requirer: HashMap<String, String> = HashMap::new();
    for (path, entry) in packages {
        if !npm_lock::is_installed(path) {
            declared_by_root.insert(path.as_str(), declared_names(entry));
        } else if let Some(name) = package_name(path, entry) {
            for kind in ["dependencies", "optionalDependencies", "peerDependencies"] {
                if let Some(m) = entry.get(kind).and_then(Value::as_object) {
                    for dep in m.keys() {
                        first_requirer
                            .entry(dep.clone())
                            .or_insert_with(|| name.clone());
                    }
                }
            }
        }
    }

    let mut out = Vec::new();
    for (path, entry) in packages {
        let Some((owner, key)) = npm_lock::split_installed(path) else {
            continue;
        };
        let Some(name) = package_name(path, entry) else {
            continue;
        };
        let resolved = entry.get("resolved").and_then(Value::as_str);
        let source = if entry.get("link").and_then(Value::as_bool) == Some(true) {
            // A link to a workspace folder is the project's own code, not a dependency.
            if resolved.is_some_and(|r| packages.contains_key(r)) {
                continue;
            }
            Source::Path
        } else {
            resolved.map_or(Source::Registry, source_of)
        };
        let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let (name, version, source) = match registry_version(&name, version) {
            Some((name, version)) => (name, version, source),
            None if source != Source::Registry => (name, version.to_string(), source),
            None => (name, version.to_string(), source_of(version)),
        };
        if version.is_empty() && source == Source::Registry {
            continue;
        }
        // The folder holding this node_modules: a root/workspace folder, or a package.
        let (direct, parent) = if let Some(declared) = declared_by_root.get(owner) {
            let direct = declared.contains(key);
            (
                direct,
                if direct {
                    None
                } else {
                    first_requirer.get(key).cloned()
                },
            )
        } else {
            let parent = packages.get(owner).and_then(|e| package_name(owner, e));
            (false, parent)
        };
        let dev = entry.get("dev").and_then(Value::as_bool).unwrap_or(false);
        let version = (!version.is_empty()).then_some(version);
        out.push(
            Dependency::new(Ecosystem::Npm, name, version, direct)
                .with_parent(parent)
                .with_dev(dev)
                .with_source(source),
        );
    }
    out
}

/// The package name of a `packages` entry.
fn package_name(path: &str, entry: &Value) -> Option<String> {
    npm_lock::package_name(path, entry).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: &str = r#"{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "web",
      "version": "1.0.0",
      "workspaces": ["packages/ui"],
      "dependencies": { "express": "^4.18.0", "lodash": "^4.17.0" },
      "devDependencies": { "jest": "^29.0.0" }
    },
    "node_modules/express": {
      "version": "4.18.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz",
      "integrity": "sha512-x",
      "dependencies": { "debug": "2.6.9", "qs": "6.11.0" }
    },
    "node_modules/express/node_modules/debug": { "version": "2.6.9" },
    "node_modules/debug": { "version": "4.3.4", "dev": true },
    "node_modules/qs": { "version": "6.11.0" },
    "node_modules/lodash": { "version": "4.17.21" },
    "node_modules/jest": { "version": "29.7.0", "dev": true, "dependencies": { "debug": "^4" } },
    "node_modules/@scope/thing": { "version": "1.0.0" },
    "node_modules/my-alias": { "name": "real-pkg", "version": "2.0.0" },
    "node_modules/ui": { "resolved": "packages/ui", "link": true },
    "node_modules/local": { "version": "file:../local" },
    "packages/ui": { "name": "ui", "version": "0.1.0", "dependencies": { "react": "^18" } },
    "packages/ui/node_modules/react": { "version": "18.2.0" }
  }
}"#;

    fn find<'a>(deps: &'a [Dependency], name: &str, version: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name && d.version.as_deref() == Some(version))
            .unwrap_or_else(|| panic!("{name}@{version} missing in {deps:?}"))
    }

    #[test]
    fn git_file_and_tarball_sources_are_told_apart() {
        let lock = r#"{"lockfileVersion": 3, "packages": {
  "": {"dependencies": {"lodash": "^4", "gitdep": "github:org/gitdep", "tgz": "https://x.test/t.tgz"}},
  "node_modules/lodash": {"version": "4.17.11", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.11.tgz"},
  "node_modules/gitdep": {"version": "4.17.11", "resolved": "git+ssh://git@github.com/org/gitdep.git#0123abc"},
  "node_modules/tgz": {"version": "1.0.0", "resolved": "https://x.test/t.tgz"}
}}"#;
        let deps = parse("package-lock.json", lock.as_bytes(), None).unwrap();
        let sources: Vec<(&str, Source)> =
            deps.iter().map(|d| (d.name.as_str(), d.source)).collect();
        assert_eq!(
            sources,
            [
                ("gitdep", Source::Git),
                ("lodash", Source::Registry),
                ("tgz", Source::Url)
            ]
        );
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {
  "lodash": {"version": "git+https://github.com/lodash/lodash.git#abc"},
  "minimist": {"version": "0.0.8"}
}}"#;
        let deps = parse("package-lock.json", v1.as_bytes(), None).unwrap();
        assert_eq!(deps[0].source, Source::Git);
        assert_eq!(
            deps[0].unchecked(),
            Some(crate::deps::UncheckedReason::GitSource)
        );
        assert_eq!(deps[1].source, Source::Registry);
    }

    #[test]
    fn v3_packages_directness_and_parents() {
        let deps = parse("package-lock.json", V3.as_bytes(), None).unwrap();
        assert!(find(&deps, "express", "4.18.2").direct);
        assert!(find(&deps, "jest", "29.7.0").direct);
        assert!(find(&deps, "jest", "29.7.0").dev);
        let nested = find(&deps, "debug", "2.6.9");
        assert!(!nested.direct);
        assert_eq!(nested.parent.as_deref(), Some("express"));
        let hoisted = find(&deps, "qs", "6.11.0");
        assert_eq!(hoisted.parent.as_deref(), Some("express"));
        assert!(!find(&deps, "@scope/thing", "1.0.0").direct);
        find(&deps, "real-pkg", "2.0.0");
        assert!(
            find(&deps, "react", "18.2.0").direct,
            "declared by the workspace"
        );
        assert!(deps.iter().all(|d| d.name != "ui" && d.name != "web"));
        // A `file:` package is listed, as a path source (never matched).
        let local = find(&deps, "local", "file:../local");
        assert_eq!(local.source, Source::Path);
        assert_eq!(
            deps.iter().filter(|d| d.source == Source::Registry).count(),
            9
        );
        assert_eq!(deps.len(), 10);
    }

    const V1: &str = r#"{
  "name": "old",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "express": {
      "version": "4.16.0",
      "requires": { "debug": "2.6.9", "qs": "6.5.1" },
      "dependencies": { "debug": { "version": "2.6.9", "requires": { "ms": "2.0.0" } } }
    },
    "qs": { "version": "6.5.1" },
    "ms": { "version": "2.0.0" },
    "mocha": { "version": "5.0.0", "dev": true },
    "aliased": { "version": "npm:left-pad@1.3.0" }
  }
}"#;

    #[test]
    fn v1_nested_dependencies() {
        let deps = parse("package-lock.json", V1.as_bytes(), None).unwrap();
        assert!(find(&deps, "express", "4.16.0").direct);
        assert!(!find(&deps, "qs", "6.5.1").direct, "required by express");
        assert_eq!(
            find(&deps, "qs", "6.5.1").parent.as_deref(),
            Some("express")
        );
        assert_eq!(find(&deps, "ms", "2.0.0").parent.as_deref(), Some("debug"));
        assert_eq!(
            find(&deps, "debug", "2.6.9").parent.as_deref(),
            Some("express")
        );
        assert!(find(&deps, "mocha", "5.0.0").dev);
        assert!(find(&deps, "left-pad", "1.3.0").direct);
        let pj = br#"{"dependencies": {"express": "^4", "qs": "^6"}}"#;
        let deps = parse("package-lock.json", V1.as_bytes(), Some(pj)).unwrap();
        assert!(find(&deps, "qs", "6.5.1").direct);
        assert!(!find(&deps, "mocha", "5.0.0").direct);
    }

    #[test]
    fn the_same_version_nested_twice_is_reported_once() {
        let lock = r#"{"lockfileVersion": 2, "packages": {
            "": {"dependencies": {"a": "1", "b": "1"}},
            "node_modules/a": {"version": "1.0.0"},
            "node_modules/b": {"version": "1.0.0"},
            "node_modules/a/node_modules/x": {"version": "1.0.0"},
            "node_modules/b/node_modules/x": {"version": "1.0.0"},
            "node_modules/x": {"version": "2.0.0"}
        }}"#;
        let deps = parse("package-lock.json", lock.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 4);
        assert_eq!(find(&deps, "x", "1.0.0").parent.as_deref(), Some("a"));
    }

    #[test]
    fn malformed_json_names_the_line() {
        let bad = "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/a\": { \"version\": \"1.0.0\" }\n    \"node_modules/b\": {}\n  }\n}\n";
        let e = parse("web/package-lock.json", bad.as_bytes(), None).unwrap_err();
        assert_eq!(e.file, "web/package-lock.json");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(
            e.to_string()
                .starts_with("could not parse web/package-lock.json at line 5: expected"),
            "{e}"
        );
        let e = parse("package-lock.json", b"[]", None).unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
