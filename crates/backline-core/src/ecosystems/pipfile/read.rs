//! `Pipfile.lock` (JSON: `default` and `develop` sections, versions written `==x`).
//!
//! The lockfile lists every installed package flat. Direct ones are those the sibling
//! `Pipfile` declares in `[packages]` or `[dev-packages]`; without the `Pipfile` directness is
//! unknown and every package is reported as transitive (so nothing plans a `Pipfile` edit on a
//! guess). `develop` entries are dev (unless also in `default`). Git, path and file entries,
//! and those from an index other than PyPI, are reported with their [`Source`] and never
//! matched; the project's own `path = "."` is not reported. No parents: the format does not record them.

use std::collections::HashSet;

use serde_json::Value;

use crate::deps::text::from_json;
use crate::deps::{dedupe, pep503, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `Pipfile.lock`; `pipfile` is the sibling `Pipfile` when there is one.
pub fn parse(
    file: &str,
    bytes: &[u8],
    pipfile: Option<&[u8]>,
) -> Result<Vec<Dependency>, ParseError> {
    let lock: Value = from_json(file, bytes)?;
    if !lock.is_object() {
        return Err(ParseError::new(file, Some(1), "expected a JSON object"));
    }
    let declared: Option<HashSet<String>> = pipfile
        .and_then(crate::deps::text::companion_text)
        .and_then(|s| toml::from_str::<toml::Table>(s).ok())
        .map(|t| {
            ["packages", "dev-packages"]
                .iter()
                .filter_map(|k| t.get(*k).and_then(|v| v.as_table()))
                .flat_map(|t| t.keys().map(|k| pep503(k)))
                .collect()
        });
    // `_meta.sources`: index name → whether it is PyPI itself.
    let pypi_indexes: HashSet<&str> = lock
        .pointer("/_meta/sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| {
            s.get("url")
                .and_then(Value::as_str)
                .is_some_and(crate::deps::uv::is_pypi_index)
        })
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .collect();
    let mut out = Vec::new();
    for (section, dev) in [("default", false), ("develop", true)] {
        let Some(entries) = lock.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let text = |k: &str| entry.get(k).and_then(Value::as_str);
            let version = text("version")
                .map(|v| v.trim_start_matches('=').trim())
                .filter(|v| !v.is_empty());
            let (source, version) = if let Some(git) = text("git") {
                let reference = text("ref").map_or(git.to_string(), |r| format!("{git}@{r}"));
                (Source::Git, Some(reference))
            } else if let Some(path) = text("path") {
                if path == "." {
                    // The project itself (`-e .`).
                    continue;
                }
                (Source::Path, Some(path.to_string()))
            } else if let Some(url) = text("file") {
                (Source::Url, Some(url.to_string()))
            } else if let Some(version) = version {
                let other_index = text("index").is_some_and(|i| !pypi_indexes.contains(i));
                let source = if other_index {
                    Source::AlternativeRegistry
                } else {
                    Source::Registry
                };
                (source, Some(version.to_string()))
            } else {
                continue;
            };
            let direct = declared.as_ref().is_some_and(|d| d.contains(&pep503(name)));
            out.push(
                Dependency::new(Ecosystem::PyPI, name, version, direct)
                    .with_dev(dev)
                    .with_source(source),
            );
        }
    }
    Ok(dedupe(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_meta": {
        "hash": {"sha256": "abc"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]
    },
    "default": {
        "certifi": {"hashes": ["sha256:aa"], "index": "pypi", "markers": "python_version >= '3.6'", "version": "==2024.2.2"},
        "requests": {"hashes": ["sha256:bb"], "index": "pypi", "version": "==2.31.0"},
        "mylib": {"editable": true, "path": "."}
    },
    "develop": {
        "pytest": {"hashes": [], "version": "==8.1.1"},
        "certifi": {"version": "==2024.2.2"}
    }
}"#;

    #[test]
    fn sections_directness_and_dedupe() {
        let pipfile = b"[packages]\nRequests = \"*\"\n\n[dev-packages]\npytest = \"*\"\n";
        let deps = parse("Pipfile.lock", LOCK.as_bytes(), Some(pipfile)).unwrap();
        assert_eq!(deps.len(), 3);
        let get = |n: &str| deps.iter().find(|d| d.name == n).unwrap();
        assert!(get("requests").direct && !get("requests").dev);
        assert!(get("pytest").direct && get("pytest").dev);
        let c = get("certifi");
        assert_eq!(
            (c.direct, c.dev, c.version.as_deref()),
            (false, false, Some("2024.2.2"))
        );
        let deps = parse("Pipfile.lock", LOCK.as_bytes(), None).unwrap();
        assert!(deps.iter().all(|d| !d.direct));
    }

    #[test]
    fn git_path_and_other_index_entries_are_listed_apart() {
        let lock = r#"{"_meta": {"sources": [
            {"name": "pypi", "url": "https://pypi.org/simple"},
            {"name": "corp", "url": "https://pypi.corp.test/simple"}]},
          "default": {
            "a": {"git": "https://github.com/o/a.git", "ref": "abc123"},
            "b": {"path": "./libs/b", "editable": true},
            "c": {"version": "==1.0", "index": "corp"},
            "d": {"version": "==2.0", "index": "pypi"}
          }}"#;
        let deps = parse("Pipfile.lock", lock.as_bytes(), None).unwrap();
        let got: Vec<(&str, Source, Option<&str>)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.source, d.version.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Source::Git, Some("https://github.com/o/a.git@abc123")),
                ("b", Source::Path, Some("./libs/b")),
                ("c", Source::AlternativeRegistry, Some("1.0")),
                ("d", Source::Registry, Some("2.0")),
            ]
        );
    }

    #[test]
    fn malformed_json_names_the_line() {
        let bad = "{\n  \"default\": {\n    \"a\": {\"version\": \"==1\"},,\n  }\n}";
        let e = parse("Pipfile.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("Pipfile.lock", Some(3)), "{e}");
    }
}
