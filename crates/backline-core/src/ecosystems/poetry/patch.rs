//! `poetry.lock`: the package's `version` and its `files` hashes (Poetry ≥ 1.2 keeps them in
//! the package; older locks in `[metadata.files]`), edited with `toml_edit` so that the rest
//! of the file keeps its bytes.
//!
//! Checked first, best effort: the new version's `requires_dist` entries without markers
//! against the versions locked for those projects, and the project's own constraint in
//! `pyproject.toml` (Poetry's `^`/`~`/exact forms and PEP 508 strings) when it can be read.
//! A constraint that excludes the new version is refused rather than edited: Poetry's
//! `content-hash` covers it, and only `poetry lock` can recompute that. The package's
//! `[package.dependencies]` table is left as it was.

use super::lock;
use super::pyproject::{self, Place};
use crate::deps::{self, pep503, ParseError};
use crate::ecosystems::npm::range::satisfies as caret_satisfies;
use crate::ecosystems::requirements::syntax::{name_and_specifier, pep440_satisfies};
use crate::remediation::patch::{not_fixable, FileChange, PatchError, PatchRequest};

/// Edits a `poetry.lock`.
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| ParseError::new(path, None, e.message().to_string()))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some(release) = req.facts.pypi_release.as_ref().filter(|r| r.version == to) else {
        return not_fixable(format!("the PyPI entry of {pkg} {to} was not fetched"));
    };
    let key = pep503(pkg);

    // Locked versions by name, for the requirement check (the lockfile as the reader reads it).
    let locked: Vec<(String, String)> = lock::read(path, bytes)?
        .package
        .into_iter()
        .map(|p| (pep503(&p.name), p.version))
        .collect();
    for r in release.requires_dist.iter().filter(|r| !r.contains(';')) {
        let (name, spec) = name_and_specifier(r);
        let Some((_, have)) = locked.iter().find(|(n, _)| *n == pep503(name)) else {
            continue;
        };
        if pep440_satisfies(spec, have) == Some(false) {
            return not_fixable(format!(
                "{pkg} {to} needs `{name}` {spec}, the lockfile has {have}"
            ));
        }
    }
    check_pyproject(req)?;

    let mut files: Vec<&(String, String)> = release.files.iter().collect();
    files.sort();
    let new_files = if files.is_empty() {
        "[]".to_string()
    } else {
        let items: Vec<String> = files
            .iter()
            .map(|(f, h)| {
                format!(
                    "    {{file = {}, hash = \"sha256:{h}\"}},",
                    toml_edit::Value::from(f.as_str())
                )
            })
            .collect();
        format!("[\n{}\n]", items.join("\n"))
    };
    let files_value = |old: &toml_edit::Value| -> Result<toml_edit::Value, PatchError> {
        let mut v: toml_edit::Value = new_files.parse().map_err(|_| PatchError::NotFixable {
            reason: format!("a file name of {pkg} {to} cannot be written to TOML"),
        })?;
        *v.decor_mut() = old.decor().clone();
        Ok(v)
    };

    let mut found = false;
    if let Some(arr) = doc
        .get_mut("package")
        .and_then(|p| p.as_array_of_tables_mut())
    {
        for t in arr.iter_mut() {
            let name = t.get("name").and_then(|n| n.as_str()).map(pep503);
            let version = t.get("version").and_then(|v| v.as_str());
            if name.as_deref() != Some(key.as_str()) || version != Some(from) {
                continue;
            }
            if let Some(v) = t.get_mut("version").and_then(|v| v.as_value_mut()) {
                let decor = v.decor().clone();
                *v = toml_edit::Value::from(to);
                *v.decor_mut() = decor;
            }
            if let Some(v) = t.get_mut("files").and_then(|v| v.as_value_mut()) {
                let new = files_value(v)?;
                *v = new;
            }
            found = true;
        }
    }
    if !found {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }
    // Poetry < 1.2: [metadata.files], keyed by the package name as written.
    if let Some(mf) = doc
        .get_mut("metadata")
        .and_then(|m| m.get_mut("files"))
        .and_then(|f| f.as_table_like_mut())
    {
        let only_version = locked.iter().filter(|(n, _)| *n == key).count() == 1;
        for (k, v) in mf.iter_mut() {
            if pep503(k.get()) != key {
                continue;
            }
            if !only_version {
                return not_fixable(format!(
                    "{path} lists {pkg} in several versions under [metadata.files]; not supported"
                ));
            }
            if let Some(val) = v.as_value_mut() {
                let new = files_value(val)?;
                *val = new;
            }
        }
    }
    Ok(vec![FileChange {
        path: path.to_string(),
        content: doc.to_string().into_bytes(),
    }])
}

/// Refuses when `pyproject.toml` declares the package with a constraint excluding `to`
/// (Poetry's tables and PEP 621 dependencies without markers).
fn check_pyproject(req: &PatchRequest) -> Result<(), PatchError> {
    let path = crate::deps::text::sibling(req.manifest_path, "pyproject.toml");
    let Some(declared) = (req.files)(&path)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| pyproject::declared(&s))
    else {
        return Ok(());
    };
    let key = pep503(req.package);
    for d in declared.iter().filter(|d| d.name == key && !d.markers) {
        let Some(c) = d.constraint.as_deref() else {
            continue;
        };
        let ok = match d.place {
            Place::Poetry if !c.contains(['>', '<', '=', '!', ',']) => caret_satisfies(c, req.to),
            Place::Poetry | Place::Project => pep440_satisfies(c, req.to),
            Place::OptionalDependencies | Place::DependencyGroup => continue,
        };
        if ok == Some(false) {
            return not_fixable(format!(
                "{path} requires {} `{c}`, which excludes {}; change it and run `poetry lock`",
                req.package, req.to
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::registry::PypiRelease;
    use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

    const LOCK: &str = r#"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "jinja2"
version = "2.10"
description = "A very fast and expressive template engine."
optional = false
python-versions = "*"
files = [
    {file = "Jinja2-2.10-py2.py3-none-any.whl", hash = "sha256:74c935a1b8bb9a3947c50a54766a969d4846290e1e788ea44c1392163723c3bd"},
    {file = "Jinja2-2.10.tar.gz", hash = "sha256:f84be1bb0040caca4cea721fcbbbbd61f9be9464ca236387158b0feea01914a4"},
]

[package.dependencies]
MarkupSafe = ">=0.23"

[[package]]
name = "markupsafe"
version = "1.1.1"
description = "Safely add untrusted strings to HTML/XML markup."
optional = false
python-versions = ">=2.7, !=3.0.*"
files = [
    {file = "MarkupSafe-1.1.1.tar.gz", hash = "sha256:29872e92839765e546828bb7754a68c418d927cd064fd4708fab9fe9c8bb116b"},
]

[metadata]
lock-version = "2.0"
python-versions = "^3.8"
content-hash = "0123"
"#;

    fn jinja(requires: &[&str]) -> PypiRelease {
        PypiRelease {
            name: "Jinja2".into(),
            version: "2.11.3".into(),
            files: vec![
                (
                    "Jinja2-2.11.3.tar.gz".into(),
                    "a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6".into(),
                ),
                (
                    "Jinja2-2.11.3-py2.py3-none-any.whl".into(),
                    "03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419".into(),
                ),
            ],
            requires_dist: requires.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn run(lock: &str, pyproject: Option<&str>, rel: PypiRelease) -> Result<String, PatchError> {
        let (lock, py) = (lock.to_string(), pyproject.map(str::to_string));
        let files = move |p: &str| match p {
            "poetry.lock" => Some(lock.clone().into_bytes()),
            "pyproject.toml" => py.clone().map(String::into_bytes),
            _ => None,
        };
        let facts = RegistryFacts {
            pypi_release: Some(rel),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: "poetry.lock",
            package: "Jinja2",
            from: "2.10",
            to: "2.11.3",
            direct: true,
            files: &files,
            facts: &facts,
        };
        patch(&req).map(|c| String::from_utf8(c[0].content.clone()).unwrap())
    }

    #[test]
    fn version_and_files_change_alone() {
        let out = run(
            LOCK,
            Some("[tool.poetry.dependencies]\npython = \"^3.8\"\njinja2 = \"^2.10\"\n"),
            jinja(&["MarkupSafe (>=0.23)"]),
        )
        .unwrap();
        let expected = LOCK.replace("version = \"2.10\"", "version = \"2.11.3\"").replace(
            "    {file = \"Jinja2-2.10-py2.py3-none-any.whl\", hash = \"sha256:74c935a1b8bb9a3947c50a54766a969d4846290e1e788ea44c1392163723c3bd\"},\n    {file = \"Jinja2-2.10.tar.gz\", hash = \"sha256:f84be1bb0040caca4cea721fcbbbbd61f9be9464ca236387158b0feea01914a4\"},",
            "    {file = \"Jinja2-2.11.3-py2.py3-none-any.whl\", hash = \"sha256:03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419\"},\n    {file = \"Jinja2-2.11.3.tar.gz\", hash = \"sha256:a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6\"},",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts {
            pypi_release: Some(jinja(&["MarkupSafe (>=0.23)"])),
            ..Default::default()
        };
        crate::remediation::patch::assert_no_panic(
            "poetry.lock",
            LOCK,
            "jinja2",
            "2.10",
            "2.11.3",
            &facts,
        );
    }

    #[test]
    fn refusals() {
        let e = run(LOCK, None, jinja(&["MarkupSafe (>=2.0)"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: Jinja2 2.11.3 needs `MarkupSafe` >=2.0, the lockfile has 1.1.1"
        );
        let e = run(
            LOCK,
            Some("[tool.poetry.dependencies]\njinja2 = \"2.10\"\n"),
            jinja(&[]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("run `poetry lock`"), "{e}");
        let e = run(
            LOCK,
            Some("[project]\ndependencies = [\"jinja2>=2.10,<2.11\"]\n"),
            jinja(&[]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("excludes 2.11.3"), "{e}");
    }

    #[test]
    fn old_metadata_files_layout() {
        let old = "[[package]]\nname = \"jinja2\"\nversion = \"2.10\"\ncategory = \"main\"\n\n[metadata]\ncontent-hash = \"x\"\n\n[metadata.files]\njinja2 = [\n    {file = \"Jinja2-2.10.tar.gz\", hash = \"sha256:f8\"},\n]\n";
        let out = run(old, None, jinja(&[])).unwrap();
        assert!(
            out.starts_with(
                "[[package]]\nname = \"jinja2\"\nversion = \"2.11.3\"\ncategory = \"main\"\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("[metadata.files]\njinja2 = [\n    {file = \"Jinja2-2.11.3-py2.py3-none-any.whl\", hash = \"sha256:03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419\"},\n    {file = \"Jinja2-2.11.3.tar.gz\", hash = \"sha256:a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6\"},\n]\n"), "{out}");
    }
}
