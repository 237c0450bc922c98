//! `pnpm-lock.yaml`, lockfile versions 5.x, 6.x and 9.x.
//!
//! Packages come from the `packages` keys (`/name/1.2.3_peer@1` in 5.x, `/name@1.2.3(peer@1)`
//! in 6.x, `name@1.2.3` in 9.x; peer suffixes dropped). Direct dependencies are those the
//! importers (`importers.<path>`, or the top level for a single project) list in
//! `dependencies`, `devDependencies` and `optionalDependencies`. Parents come from each
//! package's `dependencies` (in `snapshots` for 9.x). `link:`/`workspace:` importer references
//! are the project's own. Packages whose `resolution` is a git repository, a local directory
//! or a tarball outside the registry are reported with that [`Source`], never matched.

use std::collections::{HashMap, HashSet};

use serde_norway::{Mapping, Value};

use crate::deps::text::{from_yaml, utf8};
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `pnpm-lock.yaml`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let doc: Value = from_yaml(file, text)?;
    let Some(doc) = doc.as_mapping() else {
        return Err(ParseError::new(file, Some(1), "expected a YAML mapping"));
    };
    let version = match doc.get("lockfileVersion") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    let Some(version) = version else {
        let line = text
            .lines()
            .position(|l| l.starts_with("lockfileVersion"))
            .map(|i| i + 1);
        return Err(ParseError::new(
            file,
            line,
            "missing or unreadable lockfileVersion",
        ));
    };
    let slash_keys = version < 6.0;

    // Direct (name, version) pairs, and whether they are dev-only.
    let mut direct: HashMap<(String, String), bool> = HashMap::new();
    let importers: Vec<&Mapping> = match doc.get("importers").and_then(Value::as_mapping) {
        Some(imps) => imps.values().filter_map(Value::as_mapping).collect(),
        None => vec![doc],
    };
    for imp in importers {
        for (kind, dev) in [
            ("dependencies", false),
            ("optionalDependencies", false),
            ("devDependencies", true),
        ] {
            let Some(deps) = imp.get(kind).and_then(Value::as_mapping) else {
                continue;
            };
            for (name, reference) in deps {
                let (Some(name), Some(reference)) = (name.as_str(), reference_of(reference)) else {
                    continue;
                };
                if let Some(key) = resolve(name, reference, slash_keys) {
                    let e = direct.entry(key).or_insert(true);
                    *e &= dev;
                }
            }
        }
    }

    let packages = doc.get("packages").and_then(Value::as_mapping);
    let snapshots = doc
        .get("snapshots")
        .and_then(Value::as_mapping)
        .or(packages);
    let mut parent_of: HashMap<(String, String), String> = HashMap::new();
    for (key, entry) in snapshots.into_iter().flatten() {
        let Some((parent, _)) = key.as_str().and_then(|k| parse_key(k, slash_keys)) else {
            continue;
        };
        for kind in ["dependencies", "optionalDependencies"] {
            let Some(deps) = entry.get(kind).and_then(Value::as_mapping) else {
                continue;
            };
            for (name, reference) in deps {
                let (Some(name), Some(reference)) = (name.as_str(), reference_of(reference)) else {
                    continue;
                };
                if let Some(child) = resolve(name, reference, slash_keys) {
                    parent_of.entry(child).or_insert_with(|| parent.clone());
                }
            }
        }
    }

    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (key, entry) in packages.into_iter().flatten() {
        let Some(pair) = key.as_str().and_then(|k| parse_key(k, slash_keys)) else {
            continue;
        };
        let source = resolution_source(entry.get("resolution"));
        let registry_version = pair.1.starts_with(|c: char| c.is_ascii_digit());
        if (!registry_version && source == Source::Registry) || !seen.insert(pair.clone()) {
            continue;
        }
        let lock_dev = entry.get("dev").and_then(Value::as_bool);
        let (is_direct, dev) = match direct.get(&pair) {
            Some(&dev) => (true, dev),
            None => (false, lock_dev.unwrap_or(false)),
        };
        let parent = if is_direct {
            None
        } else {
            parent_of.get(&pair).cloned()
        };
        let (name, mut version) = pair;
        if !registry_version {
            if let Some(v) = entry.get("version").and_then(Value::as_str) {
                version = v.to_string();
            }
        }
        out.push(
            Dependency::new(Ecosystem::Npm, name, Some(version), is_direct)
                .with_parent(parent)
                .with_dev(dev)
                .with_source(source),
        );
    }
    Ok(dedupe(out))
}

/// Where a package's `resolution` points: `{type: git}`/`{repo}` (git), `{directory}` (a
/// path), `{tarball}` (the registry's, else a URL), `{integrity}` alone (the registry).
fn resolution_source(resolution: Option<&Value>) -> Source {
    let Some(r) = resolution else {
        return Source::Registry;
    };
    let text = |k: &str| r.get(k).and_then(Value::as_str);
    if text("type") == Some("git") || text("repo").is_some() {
        Source::Git
    } else if text("type") == Some("directory") || text("directory").is_some() {
        Source::Path
    } else if let Some(tarball) = text("tarball") {
        match crate::deps::npm::source_of(tarball) {
            Source::Registry if !tarball.contains("://") => Source::Path,
            other => other,
        }
    } else {
        Source::Registry
    }
}

/// The version reference of an importer or package dependency: a plain string (5.x, package
/// dependencies) or the `version` of a `{specifier, version}` mapping (6.x and later).
fn reference_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Mapping(_) => reference_of(value.get("version")?),
        _ => None,
    }
}

/// The (name, version) a dependency reference points at, or `None` for local links.
fn resolve(name: &str, reference: String, slash_keys: bool) -> Option<(String, String)> {
    if ["link:", "file:", "workspace:"]
        .iter()
        .any(|p| reference.starts_with(p))
    {
        return None;
    }
    if reference.starts_with('/') {
        return parse_key(&reference, slash_keys);
    }
    let clean = strip_peers(&reference, slash_keys);
    // An alias points at another package's key (`string-width@4.2.3`).
    if clean.get(1..).is_some_and(|s| s.contains('@')) {
        return parse_key(clean, false);
    }
    Some((name.to_string(), clean.to_string()))
}

pub(crate) fn strip_peers(version: &str, slash_keys: bool) -> &str {
    let v = version.split('(').next().unwrap_or(version);
    if slash_keys {
        v.split('_').next().unwrap_or(v)
    } else {
        v
    }
}

/// Splits a `packages` key into (name, version).
pub(crate) fn parse_key(key: &str, slash_keys: bool) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let (name, version) = if slash_keys {
        // `name/version_peers` or `@scope/name/version_peers`.
        let mut parts = key.splitn(3, '/');
        let first = parts.next()?;
        if first.starts_with('@') {
            let second = parts.next()?;
            (
                &key[..first.len() + 1 + second.len()],
                strip_peers(parts.next()?, true),
            )
        } else {
            (first, strip_peers(parts.next()?, true))
        }
    } else {
        let key = key.split('(').next().unwrap_or(key);
        let at = key.get(1..).and_then(|s| s.find('@'))? + 1;
        (&key[..at], &key[at + 1..])
    };
    (!name.is_empty() && !version.is_empty()).then(|| (name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {deps:?}"))
    }

    const V5: &str = r#"lockfileVersion: 5.4

specifiers:
  '@babel/core': ^7.0.0
  react-dom: ^18.0.0
  jest: ^29.0.0

dependencies:
  '@babel/core': 7.23.0
  react-dom: 18.2.0_react@18.2.0

devDependencies:
  jest: 29.7.0

packages:

  /@babel/core/7.23.0:
    resolution: {integrity: sha512-x}
    dependencies:
      debug: 4.3.4
    dev: false

  /debug/4.3.4:
    resolution: {integrity: sha512-y}
    dev: false

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: sha512-z}
    peerDependencies:
      react: ^18.2.0
    dependencies:
      react: 18.2.0
    dev: false

  /react/18.2.0:
    resolution: {integrity: sha512-r}
    dev: false

  /jest/29.7.0:
    resolution: {integrity: sha512-j}
    dev: true
"#;

    #[test]
    fn v5() {
        let deps = parse("pnpm-lock.yaml", V5.as_bytes()).unwrap();
        assert_eq!(deps.len(), 5);
        assert!(find(&deps, "@babel/core").direct);
        let rd = find(&deps, "react-dom");
        assert_eq!((rd.direct, rd.version.as_deref()), (true, Some("18.2.0")));
        let react = find(&deps, "react");
        assert_eq!(
            (react.direct, react.parent.as_deref()),
            (false, Some("react-dom"))
        );
        assert_eq!(find(&deps, "debug").parent.as_deref(), Some("@babel/core"));
        assert!(find(&deps, "jest").dev && find(&deps, "jest").direct);
    }

    const V6: &str = r#"lockfileVersion: '6.0'

importers:

  .:
    dependencies:
      express:
        specifier: ^4.18.0
        version: 4.18.2
      ui:
        specifier: workspace:*
        version: link:packages/ui

  packages/ui:
    dependencies:
      '@types/react':
        specifier: ^18
        version: 18.2.0

packages:

  /express@4.18.2:
    resolution: {integrity: sha512-e}
    dependencies:
      qs: 6.11.0
    dev: false

  /qs@6.11.0:
    resolution: {integrity: sha512-q}
    dev: false

  /@types/react@18.2.0:
    resolution: {integrity: sha512-t}
    dev: false

  /styled@5.0.0(react@18.2.0):
    resolution: {integrity: sha512-s}
    dev: false
"#;

    #[test]
    fn v6_importers() {
        let deps = parse("pnpm-lock.yaml", V6.as_bytes()).unwrap();
        assert_eq!(deps.len(), 4);
        assert!(find(&deps, "express").direct);
        assert!(find(&deps, "@types/react").direct);
        assert_eq!(find(&deps, "qs").parent.as_deref(), Some("express"));
        assert_eq!(find(&deps, "styled").version.as_deref(), Some("5.0.0"));
        assert!(deps.iter().all(|d| d.name != "ui"));
    }

    const V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true

importers:

  .:
    dependencies:
      cliui:
        specifier: ^8
        version: 8.0.1
      sw:
        specifier: npm:string-width@^4
        version: string-width@4.2.3
    devDependencies:
      typescript:
        specifier: ^5
        version: 5.4.5

packages:

  cliui@8.0.1:
    resolution: {integrity: sha512-c}

  string-width@4.2.3:
    resolution: {integrity: sha512-s}

  strip-ansi@6.0.1:
    resolution: {integrity: sha512-a}

  typescript@5.4.5:
    resolution: {integrity: sha512-t}

snapshots:

  cliui@8.0.1:
    dependencies:
      string-width: 4.2.3
      strip-ansi: 6.0.1

  string-width@4.2.3:
    dependencies:
      strip-ansi: 6.0.1

  strip-ansi@6.0.1: {}

  typescript@5.4.5: {}
"#;

    #[test]
    fn v9_snapshots_and_aliases() {
        let deps = parse("pnpm-lock.yaml", V9.as_bytes()).unwrap();
        assert_eq!(deps.len(), 4);
        assert!(find(&deps, "cliui").direct);
        assert!(find(&deps, "string-width").direct, "through the alias");
        assert_eq!(find(&deps, "strip-ansi").parent.as_deref(), Some("cliui"));
        assert!(find(&deps, "typescript").dev);
    }

    #[test]
    fn git_and_directory_resolutions_are_listed_apart() {
        let lock = V9.replace(
            "packages:\n\n  cliui@8.0.1:",
            "packages:\n\n  left-pad@https://codeload.github.com/x/left-pad/tar.gz/abc:\n    resolution: {tarball: https://codeload.github.com/x/left-pad/tar.gz/abc}\n    version: 1.3.0\n\n  local@file:../local:\n    resolution: {directory: ../local, type: directory}\n    version: 0.1.0\n\n  git-only@git+https://github.com/x/git-only.git#abc:\n    resolution: {type: git, repo: https://github.com/x/git-only.git, commit: abc}\n    version: 2.0.0\n\n  cliui@8.0.1:",
        );
        let deps = parse("pnpm-lock.yaml", lock.as_bytes()).unwrap();
        assert_eq!(find(&deps, "left-pad").source, Source::Git);
        assert_eq!(find(&deps, "left-pad").version.as_deref(), Some("1.3.0"));
        assert_eq!(find(&deps, "local").source, Source::Path);
        assert_eq!(find(&deps, "git-only").source, Source::Git);
        assert_eq!(find(&deps, "cliui").source, Source::Registry);
    }

    #[test]
    fn peer_variants_are_reported_once() {
        let lock = "lockfileVersion: '6.0'\npackages:\n  /styled@5.0.0(react@17.0.0):\n    dev: false\n  /styled@5.0.0(react@18.2.0):\n    dev: false\n";
        let deps = parse("pnpm-lock.yaml", lock.as_bytes()).unwrap();
        assert_eq!(deps.len(), 1);
    }

    /// An 80 KB lockfile of nested flow mappings: the YAML parser's scanner is quadratic in
    /// their depth (seconds for this one); the depth pre-scan refuses it before it gets there.
    pub(crate) fn nested_lockfile(bytes: usize) -> String {
        let depth = bytes / 5;
        format!(
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}{}\n",
            "{a: ".repeat(depth),
            "}".repeat(depth)
        )
    }

    #[test]
    fn a_deeply_nested_lockfile_is_refused_not_parsed() {
        let hostile = nested_lockfile(80 * 1024);
        assert!(hostile.len() >= 80 * 1024);
        let e = parse("pnpm-lock.yaml", hostile.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "could not parse pnpm-lock.yaml: too deeply nested (limit {})",
                crate::deps::limits::MAX_YAML_DEPTH
            )
        );
        // Nesting at the limit still parses (the cap refuses only what is over it).
        let fine = format!(
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}{}\n",
            "{a: ".repeat(40),
            "}".repeat(40)
        );
        assert_eq!(parse("pnpm-lock.yaml", fine.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let bad = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {a: [}\n";
        let e = parse("pnpm-lock.yaml", bad.as_bytes()).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("pnpm-lock.yaml", Some(4)),
            "{e}"
        );
        let e = parse("pnpm-lock.yaml", b"packages: {}\n").unwrap_err();
        assert_eq!(e.line, None);
    }
}
