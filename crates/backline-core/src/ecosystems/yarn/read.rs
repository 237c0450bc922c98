//! `yarn.lock`: the classic v1 format and yarn berry's YAML form (detected by `__metadata:`).
//!
//! v1: each entry is a header listing its specifiers (`"@babel/core@^7.0.0", "@babel/core@^7.1.0":`)
//! followed by indented fields (`version "7.1.2"`, `dependencies:` with `name "range"` lines).
//! An entry is direct when the sibling `package.json` declares one of its specifiers, or,
//! without `package.json`, when no other entry depends on it. The parent is the first entry
//! depending on one of its specifiers. Aliases (`alias@npm:real@^1`) report the real name.
//!
//! berry: entries with an `npm:` resolution are reported; workspaces (`workspace:`) and
//! `patch:` resolutions are not. The workspaces' own dependencies are the direct ones.
//!
//! Git, `file:`/`link:`/`portal:` and tarball URL entries (v1: by their range or `resolved`;
//! berry: by their resolution) are reported with that [`Source`], never matched.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;
use serde_norway::Value;

use crate::deps::text::{from_yaml, utf8};
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `yarn.lock`; `package_json` is the sibling `package.json` when there is one.
pub fn parse(
    file: &str,
    bytes: &[u8],
    package_json: Option<&[u8]>,
) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    if text.lines().any(|l| l.starts_with("__metadata:")) {
        return parse_berry(file, text);
    }
    let entries = parse_v1(file, text)?;
    let declared: Option<HashSet<String>> = package_json
        .and_then(|b| serde_json::from_slice::<Json>(crate::deps::text::strip_bom(b)).ok())
        .map(|pj| {
            [
                "dependencies",
                "devDependencies",
                "optionalDependencies",
                "peerDependencies",
            ]
            .iter()
            .filter_map(|k| pj.get(*k).and_then(Json::as_object))
            .flat_map(|m| {
                m.iter()
                    .map(|(n, r)| format!("{n}@{}", r.as_str().unwrap_or("")))
            })
            .collect()
        });
    let mut parent_of: HashMap<&str, &str> = HashMap::new();
    for e in &entries {
        for d in &e.deps {
            parent_of.entry(d.as_str()).or_insert(e.name.as_str());
        }
    }
    // Declared names whose exact `name@range` no entry has (package.json edited after the
    // lock was written): every entry of that name counts as direct.
    let unmatched: HashSet<&str> = declared
        .iter()
        .flatten()
        .filter(|d| !entries.iter().any(|e| e.specs.contains(d)))
        .map(|d| split_spec(d).0)
        .collect();
    let out = entries
        .iter()
        .map(|e| {
            let direct = match &declared {
                Some(decl) => e
                    .specs
                    .iter()
                    .any(|s| decl.contains(s) || unmatched.contains(split_spec(s).0)),
                None => !e.specs.iter().any(|s| parent_of.contains_key(s.as_str())),
            };
            let parent = if direct {
                None
            } else {
                e.specs
                    .iter()
                    .find_map(|s| parent_of.get(s.as_str()))
                    .map(|p| p.to_string())
            };
            Dependency::new(
                Ecosystem::Npm,
                e.name.clone(),
                Some(e.version.clone()),
                direct,
            )
            .with_parent(parent)
            .with_source(e.source())
        })
        .collect();
    Ok(dedupe(out))
}

/// One v1 entry.
struct Entry {
    /// The real package name.
    name: String,
    version: String,
    /// The header's specifiers, `name@range` as written (alias names kept).
    specs: Vec<String>,
    /// `name@range` of each dependency.
    deps: Vec<String>,
    /// The `resolved` field, when there is one.
    resolved: Option<String>,
}

impl Entry {
    /// Where it comes from: its `resolved` URL, else its first specifier's range.
    fn source(&self) -> Source {
        match &self.resolved {
            Some(r) => crate::deps::npm::source_of(r),
            None => self.specs.first().map_or(Source::Registry, |s| {
                crate::deps::npm::source_of(split_spec(s).1)
            }),
        }
    }
}

/// A header or value without its surrounding quotes. Shared with the yarn patcher, so that the
/// reader and the patcher read the format alike.
pub(crate) fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Splits `name@range` at the `@` after a possible scope `@`. Shared with the yarn patcher.
pub(crate) fn split_spec(spec: &str) -> (&str, &str) {
    match spec.get(1..).and_then(|s| s.find('@')) {
        Some(i) => (&spec[..i + 1], &spec[i + 2..]),
        None => (spec, ""),
    }
}

fn parse_v1(file: &str, text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut header_line = 0;
    let mut in_deps = false;
    let close = |entries: &mut Vec<Entry>, line: usize| -> Result<(), ParseError> {
        match entries.last() {
            Some(e) if e.version.is_empty() => Err(ParseError::new(
                file,
                Some(line),
                format!("entry `{}` has no version", e.specs.join(", ")),
            )),
            _ => Ok(()),
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let err = |m: String| ParseError::new(file, Some(line_no), m);
        match indent {
            0 => {
                close(&mut entries, header_line)?;
                let header = trimmed.strip_suffix(':').ok_or_else(|| {
                    err(format!(
                        "expected an entry header ending in `:`, found `{trimmed}`"
                    ))
                })?;
                let specs: Vec<String> = header
                    .split(',')
                    .map(|s| unquote(s).to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                let first = specs
                    .first()
                    .ok_or_else(|| err("empty entry header".into()))?;
                let (mut name, range) = split_spec(first);
                if let Some(alias) = range.strip_prefix("npm:") {
                    name = split_spec(alias).0;
                }
                if name.is_empty() {
                    return Err(err(format!("no package name in `{first}`")));
                }
                entries.push(Entry {
                    name: name.to_string(),
                    version: String::new(),
                    specs,
                    deps: Vec::new(),
                    resolved: None,
                });
                header_line = line_no;
                in_deps = false;
            }
            2 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| err("field outside an entry".into()))?;
                if let Some(block) = trimmed.strip_suffix(':') {
                    in_deps = matches!(block, "dependencies" | "optionalDependencies");
                    continue;
                }
                in_deps = false;
                let (key, value) = trimmed.split_once([' ', ':']).unwrap_or((trimmed, ""));
                match unquote(key) {
                    "version" => entry.version = unquote(value.trim_start_matches(':')).to_string(),
                    "resolved" => {
                        entry.resolved = Some(unquote(value.trim_start_matches(':')).to_string())
                    }
                    _ => {}
                }
            }
            _ => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| err("field outside an entry".into()))?;
                if in_deps {
                    let (name, range) = match trimmed.strip_prefix('"') {
                        Some(rest) => {
                            let end = rest.find('"').ok_or_else(|| err("unclosed quote".into()))?;
                            (&rest[..end], &rest[end + 1..])
                        }
                        None => trimmed.split_once(' ').unwrap_or((trimmed, "")),
                    };
                    entry
                        .deps
                        .push(format!("{name}@{}", unquote(range.trim_start_matches(':'))));
                }
            }
        }
    }
    close(&mut entries, header_line)?;
    Ok(entries)
}

fn parse_berry(file: &str, text: &str) -> Result<Vec<Dependency>, ParseError> {
    let doc: serde_norway::Mapping = from_yaml(file, text)?;
    struct Berry<'a> {
        name: &'a str,
        version: Option<&'a str>,
        workspace: bool,
        /// `None` for what is not reported (workspaces, patches).
        source: Option<Source>,
        specs: Vec<&'a str>,
        deps: Vec<String>,
    }
    let mut entries = Vec::new();
    for (key, value) in &doc {
        let Some(key) = key.as_str() else { continue };
        if key == "__metadata" {
            continue;
        }
        let resolution = value
            .get("resolution")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (name, reference) = split_spec(resolution);
        let deps = ["dependencies", "optionalDependencies", "peerDependencies"]
            .iter()
            .filter_map(|k| value.get(*k).and_then(Value::as_mapping))
            .flat_map(|m| m.iter())
            .filter_map(|(n, r)| {
                let n = n.as_str()?;
                let r = match r {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some(if r.contains(':') {
                    format!("{n}@{r}")
                } else {
                    format!("{n}@npm:{r}")
                })
            })
            .collect();
        entries.push(Berry {
            name,
            version: value.get("version").and_then(Value::as_str),
            workspace: reference.starts_with("workspace:"),
            source: if reference.starts_with("npm:") {
                Some(Source::Registry)
            } else if reference.starts_with("workspace:") || reference.starts_with("patch:") {
                None
            } else {
                // Not the registry, whatever the protocol (`exec:` and the like included).
                match crate::deps::npm::source_of(reference) {
                    Source::Registry => Some(Source::Url),
                    other => Some(other),
                }
            },
            specs: key.split(',').map(str::trim).collect(),
            deps,
        });
    }
    let mut direct: HashSet<&str> = HashSet::new();
    let mut parent_of: HashMap<&str, &str> = HashMap::new();
    for e in &entries {
        for d in &e.deps {
            if e.workspace {
                direct.insert(d);
            } else {
                parent_of.entry(d.as_str()).or_insert(e.name);
            }
        }
    }
    let out = entries
        .iter()
        .filter_map(|e| {
            let source = e.source?;
            let version = e.version?.to_string();
            let is_direct = e.specs.iter().any(|s| direct.contains(s));
            let parent = if is_direct {
                None
            } else {
                e.specs
                    .iter()
                    .find_map(|s| parent_of.get(s))
                    .map(|p| p.to_string())
            };
            Some(
                Dependency::new(Ecosystem::Npm, e.name, Some(version), is_direct)
                    .with_parent(parent)
                    .with_source(source),
            )
        })
        .collect();
    Ok(dedupe(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0":
  version "7.22.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.13.tgz#e3c1c099"
  integrity sha512-XktuhWlJ5g+3TJXc5upd9Ks1HutSArik6jf2eAjYFyIOf4ej3RN+184cZbzDvbPnuTJIUhPKKJE3cIsYTiAT3w==
  dependencies:
    chalk "^2.4.2"

"@babel/core@^7.0.0", "@babel/core@^7.1.0":
  version "7.1.2"
  dependencies:
    "@babel/code-frame" "^7.0.0"
    debug "^4.1.0"

chalk@^2.4.2:
  version "2.4.2"

debug@^4.1.0, debug@^4.3.1:
  version "4.3.4"
  optionalDependencies:
    ms "2.1.2"

ms@2.1.2:
  version "2.1.2"

left@npm:left-pad@^1.3.0:
  version "1.3.0"
"#;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {deps:?}"))
    }

    #[test]
    fn v1_without_package_json() {
        let deps = parse("yarn.lock", V1.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 6);
        let core = find(&deps, "@babel/core");
        assert_eq!(
            (core.version.as_deref(), core.direct),
            (Some("7.1.2"), true)
        );
        let frame = find(&deps, "@babel/code-frame");
        assert_eq!(
            (frame.direct, frame.parent.as_deref()),
            (false, Some("@babel/core"))
        );
        assert_eq!(
            find(&deps, "chalk").parent.as_deref(),
            Some("@babel/code-frame")
        );
        assert_eq!(find(&deps, "ms").parent.as_deref(), Some("debug"));
        assert!(find(&deps, "left-pad").direct);
    }

    #[test]
    fn v1_with_package_json() {
        let pj = br#"{"dependencies": {"@babel/core": "^7.1.0"}, "devDependencies": {"debug": "^4.3.1"}}"#;
        let deps = parse("yarn.lock", V1.as_bytes(), Some(pj)).unwrap();
        assert!(find(&deps, "@babel/core").direct);
        assert!(find(&deps, "debug").direct);
        assert!(!find(&deps, "left-pad").direct);
        // A range the lock does not know still marks the package direct.
        let pj = br#"{"dependencies": {"chalk": "^2.5.0"}}"#;
        let deps = parse("yarn.lock", V1.as_bytes(), Some(pj)).unwrap();
        assert!(find(&deps, "chalk").direct);
        assert!(!find(&deps, "debug").direct);
    }

    #[test]
    fn v1_entries_resolving_to_one_version_are_reported_once() {
        let lock = "debug@^4.1.0:\n  version \"4.3.4\"\n\ndebug@4.3.4:\n  version \"4.3.4\"\n\ndebug@^3:\n  version \"3.2.7\"\n";
        let deps = parse("yarn.lock", lock.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 2);
    }

    #[test]
    fn git_and_file_entries_are_listed_apart() {
        let lock = "lodash@^4.17.0:\n  version \"4.17.11\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.11.tgz#abc\"\n\n\"minimist@git+https://github.com/substack/minimist.git#0.0.8\":\n  version \"0.0.8\"\n  resolved \"git+https://github.com/substack/minimist.git#0123\"\n\n\"local@file:../local\":\n  version \"1.0.0\"\n";
        let deps = parse("yarn.lock", lock.as_bytes(), None).unwrap();
        let got: Vec<(&str, Source)> = deps.iter().map(|d| (d.name.as_str(), d.source)).collect();
        assert_eq!(
            got,
            [
                ("lodash", Source::Registry),
                ("minimist", Source::Git),
                ("local", Source::Path)
            ]
        );
        let berry = format!(
            "{BERRY}\n\"left-pad@https://github.com/x/left-pad.git#commit=abc\":\n  version: 1.3.0\n  resolution: \"left-pad@https://github.com/x/left-pad.git#commit=abc\"\n"
        );
        let deps = parse("yarn.lock", berry.as_bytes(), None).unwrap();
        assert_eq!(find(&deps, "left-pad").source, Source::Git);
        assert_eq!(find(&deps, "lodash").source, Source::Registry);
    }

    #[test]
    fn v1_errors_name_the_line() {
        let bad =
            "# yarn lockfile v1\n\nfoo@^1:\n  version \"1.0.0\"\nbar@^2\n  version \"2.0.0\"\n";
        let e = parse("web/yarn.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("web/yarn.lock", Some(5)));
        let e = parse(
            "yarn.lock",
            b"foo@^1:\n  resolved \"x\"\n\nbar@^2:\n  version \"2\"\n",
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    lodash: "npm:^4.17.21"
    "@types/node": "npm:^20.0.0"
  languageName: unknown
  linkType: soft

"@types/node@npm:^20.0.0":
  version: 20.11.0
  resolution: "@types/node@npm:20.11.0"
  dependencies:
    undici-types: "npm:~5.26.4"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"lodash@npm:^4.17.21, lodash@npm:^4.17.4":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  languageName: node
  linkType: hard

"undici-types@npm:~5.26.4":
  version: 5.26.5
  resolution: "undici-types@npm:5.26.5"
  languageName: node
  linkType: hard
"#;

    #[test]
    fn berry() {
        let deps = parse("yarn.lock", BERRY.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 3);
        assert!(find(&deps, "lodash").direct);
        assert!(find(&deps, "@types/node").direct);
        let u = find(&deps, "undici-types");
        assert_eq!(
            (u.direct, u.parent.as_deref(), u.version.as_deref()),
            (false, Some("@types/node"), Some("5.26.5"))
        );
        let bad = BERRY.replace("  linkType: soft", "  linkType: soft\n bad: [");
        let e = parse("yarn.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!(e.file, "yarn.lock");
        assert_eq!(e.line, Some(15), "{e}");
    }

    #[test]
    fn a_deeply_nested_berry_lockfile_is_refused() {
        let hostile = format!(
            "__metadata:\n  version: 6\n\n\"a@npm:1\":\n  resolution: {}{}\n",
            "[".repeat(40_000),
            "]".repeat(40_000)
        );
        let e = parse("yarn.lock", hostile.as_bytes(), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse yarn.lock: too deeply nested (limit 64)"
        );
    }
}
