//! `composer.lock` (JSON `packages` and `packages-dev`), with `composer.json` for directness.
//!
//! The lockfile lists every installed package; `packages-dev` ones are marked dev. Direct ones
//! are the sibling `composer.json`'s `require` and `require-dev` keys; without it, the packages
//! that no other locked package requires. Platform requirements (`php`, `ext-*`, `lib-*`,
//! `composer-*`) are not packages. The parent is the first package requiring it. Names compare
//! case-insensitively; versions are kept as written (`v5.4.3`, `dev-main`).
//!
//! A package whose `dist` is a `path`, or whose `source.url` is one of `composer.json`'s VCS
//! `repositories`, is a path or git source: listed, never matched.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::deps::text::from_json;
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `composer.lock`; `composer_json` is the sibling `composer.json` when there is one.
pub fn parse(
    file: &str,
    bytes: &[u8],
    composer_json: Option<&[u8]>,
) -> Result<Vec<Dependency>, ParseError> {
    let lock: Value = from_json(file, bytes)?;
    if !lock.is_object() {
        return Err(ParseError::new(file, Some(1), "expected a JSON object"));
    }
    let requires = |v: &Value| -> Vec<String> {
        ["require", "require-dev"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_object))
            .flat_map(|m| m.keys())
            .filter(|n| n.contains('/'))
            .map(|n| n.to_ascii_lowercase())
            .collect()
    };
    let sections: Vec<(&Value, bool)> = [("packages", false), ("packages-dev", true)]
        .iter()
        .filter_map(|(k, dev)| lock.get(*k).and_then(Value::as_array).map(|a| (a, *dev)))
        .flat_map(|(a, dev)| a.iter().map(move |p| (p, dev)))
        .collect();
    let mut parent_of: HashMap<String, &str> = HashMap::new();
    for (p, _) in &sections {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(req) = p.get("require").and_then(Value::as_object) {
            for dep in req.keys() {
                parent_of.entry(dep.to_ascii_lowercase()).or_insert(name);
            }
        }
    }
    let manifest: Option<Value> = composer_json
        .and_then(|b| serde_json::from_slice::<Value>(crate::deps::text::strip_bom(b)).ok());
    let declared: Option<HashSet<String>> =
        manifest.as_ref().map(|v| requires(v).into_iter().collect());
    let vcs_urls: HashSet<String> = manifest
        .as_ref()
        .and_then(|m| m.get("repositories"))
        .map(|r| match r {
            Value::Array(a) => a.iter().collect::<Vec<_>>(),
            Value::Object(o) => o.values().collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            let kind = r.get("type").and_then(Value::as_str).unwrap_or("");
            matches!(
                kind,
                "vcs" | "git" | "github" | "gitlab" | "bitbucket" | "hg" | "svn" | "fossil"
            )
        })
        .filter_map(|r| r.get("url").and_then(Value::as_str).map(repo_key))
        .collect();
    let mut out = Vec::new();
    for (p, dev) in sections {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(Value::as_str),
            p.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        let key = name.to_ascii_lowercase();
        let direct = match &declared {
            Some(d) => d.contains(&key),
            None => !parent_of.contains_key(&key),
        };
        let parent = if direct {
            None
        } else {
            parent_of.get(&key).map(|s| s.to_string())
        };
        out.push(
            Dependency::new(
                Ecosystem::Packagist,
                name,
                Some(version.to_string()),
                direct,
            )
            .with_parent(parent)
            .with_dev(dev)
            .with_source(source_of(p, &vcs_urls)),
        );
    }
    Ok(dedupe(out))
}

/// A repository URL compared loosely: lower case, no trailing `/` or `.git`.
fn repo_key(url: &str) -> String {
    url.trim()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

/// Where a locked package comes from: a `path` dist, a VCS repository of `composer.json`, or
/// Packagist.
fn source_of(package: &Value, vcs_urls: &HashSet<String>) -> Source {
    let text = |ptr: &str| package.pointer(ptr).and_then(Value::as_str);
    if text("/dist/type") == Some("path") {
        Source::Path
    } else if text("/source/url").is_some_and(|u| vcs_urls.contains(&repo_key(u))) {
        Source::Git
    } else {
        Source::Registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_readme": ["This file locks the dependencies of your project to a known state"],
    "content-hash": "abc",
    "packages": [
        {
            "name": "guzzlehttp/guzzle",
            "version": "7.8.1",
            "source": {"type": "git", "url": "https://github.com/guzzle/guzzle.git", "reference": "41042bc"},
            "require": {"php": "^7.2.5 || ^8.0", "ext-json": "*", "guzzlehttp/psr7": "^1.9.1 || ^2.5.1"},
            "type": "library"
        },
        {
            "name": "guzzlehttp/psr7",
            "version": "2.6.2",
            "require": {"php": "^7.2.5 || ^8.0"}
        },
        {
            "name": "symfony/console",
            "version": "v6.4.4"
        }
    ],
    "packages-dev": [
        {
            "name": "phpunit/phpunit",
            "version": "10.5.10",
            "require": {"sebastian/diff": "^5.0"}
        },
        {
            "name": "sebastian/diff",
            "version": "5.1.0"
        }
    ],
    "aliases": [],
    "minimum-stability": "stable",
    "platform": {"php": "^8.1"}
}"#;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {deps:?}"))
    }

    #[test]
    fn path_dists_and_vcs_repositories_are_listed_apart() {
        let lock = br#"{"packages": [
  {"name": "acme/local", "version": "dev-main", "dist": {"type": "path", "url": "../local"}},
  {"name": "acme/fork", "version": "v5.4.3", "source": {"type": "git", "url": "https://git.acme.test/fork.git"}},
  {"name": "symfony/console", "version": "v5.4.3", "source": {"type": "git", "url": "https://github.com/symfony/console.git"}}
]}"#;
        let manifest =
            br#"{"repositories": [{"type": "vcs", "url": "https://git.acme.test/fork"}]}"#;
        let deps = parse("composer.lock", lock, Some(manifest)).unwrap();
        let got: Vec<(&str, Source)> = deps.iter().map(|d| (d.name.as_str(), d.source)).collect();
        assert_eq!(
            got,
            [
                ("acme/local", Source::Path),
                ("acme/fork", Source::Git),
                ("symfony/console", Source::Registry)
            ]
        );
    }

    #[test]
    fn without_composer_json() {
        let deps = parse("composer.lock", LOCK.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 5);
        assert!(find(&deps, "guzzlehttp/guzzle").direct);
        let psr7 = find(&deps, "guzzlehttp/psr7");
        assert_eq!(
            (psr7.direct, psr7.parent.as_deref()),
            (false, Some("guzzlehttp/guzzle"))
        );
        assert_eq!(
            find(&deps, "symfony/console").version.as_deref(),
            Some("v6.4.4")
        );
        let unit = find(&deps, "phpunit/phpunit");
        assert!(unit.direct && unit.dev);
        assert!(find(&deps, "sebastian/diff").dev);
    }

    #[test]
    fn with_composer_json() {
        let cj = br#"{"require": {"php": "^8.1", "Guzzlehttp/Guzzle": "^7.8"}, "require-dev": {"phpunit/phpunit": "^10"}}"#;
        let deps = parse("composer.lock", LOCK.as_bytes(), Some(cj)).unwrap();
        assert!(find(&deps, "guzzlehttp/guzzle").direct);
        assert!(!find(&deps, "symfony/console").direct);
        assert!(find(&deps, "phpunit/phpunit").direct);
    }

    #[test]
    fn a_package_in_both_sections_is_reported_once_and_not_dev() {
        let lock = r#"{"packages": [{"name": "a/b", "version": "1.0.0"}], "packages-dev": [{"name": "A/B", "version": "1.0.0"}]}"#;
        let deps = parse("composer.lock", lock.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 1);
        assert!(!deps[0].dev);
    }

    #[test]
    fn malformed_json_names_the_line() {
        let bad = "{\n  \"packages\": [\n    {\"name\": \"a/b\", \"version\": \"1.0.0\"}\n    {\"name\": \"c/d\"}\n  ]\n}";
        let e = parse("composer.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("composer.lock", Some(4)), "{e}");
    }
}
