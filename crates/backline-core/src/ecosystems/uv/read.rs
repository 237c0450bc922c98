//! `uv.lock` (TOML `[[package]]` tables).
//!
//! The project's own packages have `source = { editable = "." }` or `{ virtual = "." }` (also
//! workspace members); they are not reported, and their `dependencies`,
//! `optional-dependencies` and `dev-dependencies` are the direct ones (the last marked dev).
//! Local `directory`/`path` sources are not reported either. The parent of a transitive
//! package is the first package listing it.

use std::collections::HashMap;

use serde::Deserialize;

use crate::deps::text::{from_toml, utf8};
use crate::deps::{dedupe, pep503, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: toml::Table,
    #[serde(default)]
    dependencies: Vec<DepRef>,
    #[serde(default, rename = "optional-dependencies")]
    optional: HashMap<String, Vec<DepRef>>,
    #[serde(default, rename = "dev-dependencies")]
    dev: HashMap<String, Vec<DepRef>>,
}

#[derive(Deserialize)]
struct DepRef {
    name: String,
}

impl Package {
    fn is_root(&self) -> bool {
        self.source.contains_key("editable") || self.source.contains_key("virtual")
    }

    /// Where it comes from: `registry` (PyPI, or another index), `git`, `url`, or a local
    /// `path`/`directory`.
    fn source(&self) -> Source {
        let has = |k: &str| self.source.contains_key(k);
        if has("git") {
            Source::Git
        } else if has("url") {
            Source::Url
        } else if has("path") || has("directory") {
            Source::Path
        } else {
            match self.source.get("registry").and_then(|r| r.as_str()) {
                Some(url) if !is_pypi_index(url) => Source::AlternativeRegistry,
                _ => Source::Registry,
            }
        }
    }
}

/// Whether an index URL is PyPI's own (`https://pypi.org/simple`, `https://pypi.python.org/...`).
pub(crate) fn is_pypi_index(url: &str) -> bool {
    let rest = url
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = rest.split('/').next().unwrap_or("");
    matches!(
        host,
        "pypi.org" | "pypi.python.org" | "files.pythonhosted.org"
    )
}

/// Parses a `uv.lock`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let lock: Lock = from_toml(file, text)?;
    // Direct names, with whether only dev groups ask for them.
    let mut direct: HashMap<String, bool> = HashMap::new();
    let mut parent_of: HashMap<String, &str> = HashMap::new();
    for p in &lock.package {
        let all = p.dependencies.iter().chain(p.optional.values().flatten());
        if p.is_root() {
            for d in all {
                direct.insert(pep503(&d.name), false);
            }
            for d in p.dev.values().flatten() {
                direct.entry(pep503(&d.name)).or_insert(true);
            }
        } else {
            for d in all.chain(p.dev.values().flatten()) {
                parent_of.entry(pep503(&d.name)).or_insert(&p.name);
            }
        }
    }
    let out = lock
        .package
        .iter()
        .filter(|p| !p.is_root())
        .map(|p| {
            let key = pep503(&p.name);
            let (is_direct, dev) = match direct.get(&key) {
                Some(&dev) => (true, dev),
                None => (false, false),
            };
            let parent = if is_direct {
                None
            } else {
                parent_of.get(&key).map(|s| s.to_string())
            };
            Dependency::new(
                Ecosystem::PyPI,
                p.name.clone(),
                p.version.clone(),
                is_direct,
            )
            .with_parent(parent)
            .with_dev(dev)
            .with_source(p.source())
        })
        .collect();
    Ok(dedupe(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "httpx" },
]

[package.optional-dependencies]
cli = [
    { name = "click" },
]

[package.dev-dependencies]
dev = [
    { name = "pytest" },
]

[package.metadata]
requires-dist = [{ name = "httpx", specifier = ">=0.27" }]

[[package]]
name = "click"
version = "8.1.7"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "certifi" },
    { name = "idna" },
]
sdist = { url = "https://files.pythonhosted.org/httpx-0.27.0.tar.gz", hash = "sha256:a0cb", size = 126413 }

[[package]]
name = "certifi"
version = "2024.2.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "idna"
version = "3.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.1.1"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "iniconfig" },
]

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
"#;

    #[test]
    fn roots_give_directness() {
        let deps = parse("uv.lock", LOCK.as_bytes()).unwrap();
        assert_eq!(deps.len(), 6, "the editable root is not reported");
        let get = |n: &str| deps.iter().find(|d| d.name == n).unwrap();
        assert!(get("httpx").direct && get("click").direct);
        assert!(get("pytest").direct && get("pytest").dev);
        assert_eq!(get("idna").parent.as_deref(), Some("httpx"));
        assert_eq!(get("iniconfig").parent.as_deref(), Some("pytest"));
        assert!(!get("certifi").direct);
    }

    #[test]
    fn a_repeated_package_is_reported_once() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n");
        let deps = parse("uv.lock", lock.as_bytes()).unwrap();
        assert_eq!(deps.iter().filter(|d| d.name == "idna").count(), 1);
    }

    #[test]
    fn malformed_lock_names_the_line() {
        let bad = LOCK.replace("\nname = \"idna\"\n", "\nname = idna\n");
        let e = parse("uv.lock", bad.as_bytes()).unwrap_err();
        let line = LOCK.lines().position(|l| l == "name = \"idna\"").unwrap() + 1;
        assert_eq!((e.file.as_str(), e.line), ("uv.lock", Some(line)), "{e}");
    }
}
