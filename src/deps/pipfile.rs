//! `Pipfile.lock` (JSON: `default` and `develop` sections, versions written `==x`).
//!
//! The lockfile lists every installed package flat. Direct ones are those the sibling
//! `Pipfile` declares in `[packages]` or `[dev-packages]`; without the `Pipfile` directness is
//! unknown and every package is reported as transitive (so nothing plans a `Pipfile` edit on a
//! guess). `develop` entries are dev (unless also in `default`). Entries without a version
//! (git, path, editable) are not reported. No parents: the format does not record them.

use std::collections::HashSet;

use serde_json::Value;

use super::text::from_json;
use super::{dedupe, pep503, Dependency, ParseError};
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
        .and_then(super::text::companion_text)
        .and_then(|s| toml::from_str::<toml::Table>(s).ok())
        .map(|t| {
            ["packages", "dev-packages"]
                .iter()
                .filter_map(|k| t.get(*k).and_then(|v| v.as_table()))
                .flat_map(|t| t.keys().map(|k| pep503(k)))
                .collect()
        });
    let mut out = Vec::new();
    for (section, dev) in [("default", false), ("develop", true)] {
        let Some(entries) = lock.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            let version = version.trim_start_matches('=').trim();
            if version.is_empty() {
                continue;
            }
            let direct = declared.as_ref().is_some_and(|d| d.contains(&pep503(name)));
            out.push(
                Dependency::new(Ecosystem::PyPI, name, Some(version.to_string()), direct)
                    .with_dev(dev),
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
    fn malformed_json_names_the_line() {
        let bad = "{\n  \"default\": {\n    \"a\": {\"version\": \"==1\"},,\n  }\n}";
        let e = parse("Pipfile.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("Pipfile.lock", Some(3)), "{e}");
    }
}
