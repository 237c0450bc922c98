//! `poetry.lock` (`[[package]]` tables), with the sibling `pyproject.toml` for directness.
//!
//! Direct dependencies are those `pyproject.toml` declares: `[tool.poetry.dependencies]`,
//! `[tool.poetry.dev-dependencies]`, `[tool.poetry.group.*.dependencies]`, PEP 621
//! `[project] dependencies` and `optional-dependencies`, and PEP 735 `[dependency-groups]`.
//! Without it, the packages no other package depends on are taken as direct. A package is dev
//! when its `category` is `dev` (Poetry 1) or its `groups` leave out `main` (Poetry 2). Local
//! `directory`/`file` sources are not reported. Names compare after PEP 503 normalisation.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::deps::requirements::pep508_name;
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
    version: String,
    category: Option<String>,
    groups: Option<Vec<String>>,
    #[serde(default)]
    dependencies: toml::Table,
    source: Option<toml::Table>,
}

/// Parses a `poetry.lock`; `pyproject` is the sibling `pyproject.toml` when there is one.
pub fn parse(
    file: &str,
    bytes: &[u8],
    pyproject: Option<&[u8]>,
) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let lock: Lock = from_toml(file, text)?;
    let mut parent_of: HashMap<String, &str> = HashMap::new();
    for p in &lock.package {
        for dep in p.dependencies.keys() {
            parent_of.entry(pep503(dep)).or_insert(&p.name);
        }
    }
    let declared = pyproject.and_then(declared_names);
    let out = lock
        .package
        .iter()
        .map(|p| {
            let key = pep503(&p.name);
            let direct = match &declared {
                Some(d) => d.contains(&key),
                None => !parent_of.contains_key(&key),
            };
            let parent = if direct {
                None
            } else {
                parent_of.get(&key).map(|s| s.to_string())
            };
            let dev = p.category.as_deref() == Some("dev")
                || p.groups
                    .as_ref()
                    .is_some_and(|g| !g.is_empty() && !g.iter().any(|g| g == "main"));
            Dependency::new(
                Ecosystem::PyPI,
                p.name.clone(),
                Some(p.version.clone()),
                direct,
            )
            .with_parent(parent)
            .with_dev(dev)
            .with_source(source_of(p.source.as_ref()))
        })
        .collect();
    Ok(dedupe(out))
}

/// Where a `[package.source]` table points: absent (PyPI), `git`, `directory`/`file` (a
/// path), `url`, or `legacy` (another index; PyPI's own URL counts as PyPI).
fn source_of(source: Option<&toml::Table>) -> Source {
    let Some(source) = source else {
        return Source::Registry;
    };
    let get = |k: &str| source.get(k).and_then(|v| v.as_str());
    match get("type") {
        None => Source::Registry,
        Some("git") => Source::Git,
        Some("directory" | "file") => Source::Path,
        Some("url") => Source::Url,
        Some(_) if get("url").is_some_and(crate::deps::uv::is_pypi_index) => Source::Registry,
        Some(_) => Source::AlternativeRegistry,
    }
}

/// PEP 503 names a `pyproject.toml` declares (Poetry tables, PEP 621, PEP 735); `None` when it
/// cannot be read.
pub(crate) fn declared_names(pyproject: &[u8]) -> Option<HashSet<String>> {
    let table: toml::Table =
        crate::deps::text::companion_text(pyproject).and_then(|s| toml::from_str(s).ok())?;
    let mut names = HashSet::new();
    let keys = |v: Option<&toml::Value>, names: &mut HashSet<String>| {
        if let Some(t) = v.and_then(|v| v.as_table()) {
            names.extend(
                t.keys()
                    .filter(|k| k.as_str() != "python")
                    .map(|k| pep503(k)),
            );
        }
    };
    let strings = |v: Option<&toml::Value>, names: &mut HashSet<String>| {
        for s in v
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
        {
            let name = pep508_name(s);
            if !name.is_empty() {
                names.insert(pep503(name));
            }
        }
    };
    if let Some(poetry) = table.get("tool").and_then(|t| t.get("poetry")) {
        keys(poetry.get("dependencies"), &mut names);
        keys(poetry.get("dev-dependencies"), &mut names);
        for group in poetry
            .get("group")
            .and_then(|g| g.as_table())
            .into_iter()
            .flat_map(|g| g.values())
        {
            keys(group.get("dependencies"), &mut names);
        }
    }
    if let Some(project) = table.get("project") {
        strings(project.get("dependencies"), &mut names);
        for extra in project
            .get("optional-dependencies")
            .and_then(|o| o.as_table())
            .into_iter()
            .flat_map(|o| o.values())
        {
            strings(Some(extra), &mut names);
        }
    }
    for group in table
        .get("dependency-groups")
        .and_then(|g| g.as_table())
        .into_iter()
        .flat_map(|g| g.values())
    {
        strings(Some(group), &mut names);
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Poetry 1.8.2 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2024.2.2"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.6"
files = [
    {file = "certifi-2024.2.2-py3-none-any.whl", hash = "sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1"},
]

[[package]]
name = "pytest"
version = "8.1.1"
description = "pytest: simple powerful testing with Python"
optional = false
python-versions = ">=3.8"
groups = ["dev"]
files = []

[[package]]
name = "Requests"
version = "2.31.0"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.7"
files = []

[package.dependencies]
certifi = ">=2017.4.17"
urllib3 = {version = ">=1.21.1,<3", markers = "python_version >= \"3.7\""}

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[[package]]
name = "urllib3"
version = "2.2.1"
description = "HTTP library"
optional = false
python-versions = ">=3.8"
files = []

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.source]
type = "directory"
url = "../mylib"

[metadata]
lock-version = "2.0"
python-versions = "^3.9"
content-hash = "abc"
"#;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {deps:?}"))
    }

    #[test]
    fn without_pyproject() {
        let deps = parse("poetry.lock", LOCK.as_bytes(), None).unwrap();
        assert_eq!(deps.len(), 5);
        // The directory source is listed as a path source, never matched.
        let local: Vec<&str> = deps
            .iter()
            .filter(|d| d.source == Source::Path)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(local, ["mylib"]);
        assert!(find(&deps, "Requests").direct);
        let c = find(&deps, "certifi");
        assert_eq!((c.direct, c.parent.as_deref()), (false, Some("Requests")));
        assert!(find(&deps, "pytest").dev);
        assert!(!find(&deps, "Requests").dev);
    }

    #[test]
    fn with_pyproject() {
        let pyproject = br#"
[tool.poetry.dependencies]
python = "^3.9"
requests = "^2.31"
[tool.poetry.group.test.dependencies]
pytest = "^8"
[project]
dependencies = ["urllib3 (>=2) ; python_version >= '3.8'"]
"#;
        let deps = parse("poetry.lock", LOCK.as_bytes(), Some(pyproject)).unwrap();
        assert!(find(&deps, "Requests").direct);
        assert!(find(&deps, "pytest").direct);
        assert!(find(&deps, "urllib3").direct);
        assert!(!find(&deps, "certifi").direct);
    }

    #[test]
    fn a_repeated_package_is_reported_once() {
        let lock = format!(
            "{LOCK}\n[[package]]\nname = \"certifi\"\nversion = \"2024.2.2\"\nfiles = []\n"
        );
        let deps = parse("poetry.lock", lock.as_bytes(), None).unwrap();
        assert_eq!(deps.iter().filter(|d| d.name == "certifi").count(), 1);
    }

    #[test]
    fn malformed_lock_names_the_line() {
        let bad =
            "[[package]]\nname = \"a\"\nversion = \"1\"\n\n[[package]]\nname = \"b\"\nversion = \n";
        let e = parse("py/poetry.lock", bad.as_bytes(), None).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("py/poetry.lock", Some(7)),
            "{e}"
        );
        let e = parse("poetry.lock", b"[[package]]\nname = \"a\"\n", None).unwrap_err();
        assert_eq!(e.line, Some(1), "missing version: {e}");
    }
}
