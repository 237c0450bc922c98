//! uv's override (issue 18): `[tool.uv] override-dependencies = ["pkg>=fixed"]` in
//! `pyproject.toml`, and in `uv.lock` the `[manifest]` table's `overrides` that uv records for
//! it (`[{ name = "pkg", specifier = ">=fixed" }]`, before the first `[[package]]`), as
//! `uv lock` 0.13 writes them (tests/data/lockfile-proofs/uv/override-*). The moved package
//! itself is written by [`super::patch`]. Refused (edit by hand): a pyproject.toml that already
//! has `override-dependencies`, and a lock that already has a `[manifest]` table.

use crate::deps::{pep503, ParseError};
use crate::remediation::patch::{
    line_ending, not_fixable, sibling, FileChange, PatchError, PatchRequest,
};

/// The override's specifier: the fixed version or newer.
fn specifier(to: &str) -> String {
    format!(">={to}")
}

/// Adds the override to pyproject.toml and uv.lock on top of `changes` (the lock's move).
pub(crate) fn write(
    req: &PatchRequest,
    mut changes: Vec<FileChange>,
) -> Result<Vec<FileChange>, PatchError> {
    let current = |path: &str, changes: &[FileChange]| {
        changes
            .iter()
            .find(|c| c.path == path)
            .map(|c| c.content.clone())
            .or_else(|| (req.files)(path))
    };
    let text_of = |path: &str, bytes: Vec<u8>| {
        String::from_utf8(bytes)
            .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))
    };
    let pyproject_path = sibling(req.manifest_path, "pyproject.toml");
    let Some(bytes) = current(&pyproject_path, &changes) else {
        return not_fixable(format!(
            "an override needs {pyproject_path}, which could not be read"
        ));
    };
    let pyproject = text_of(&pyproject_path, bytes)?;
    if pyproject
        .lines()
        .any(|l| l.trim_start().starts_with("override-dependencies"))
    {
        return not_fixable(format!(
            "{pyproject_path} already has override-dependencies; add {}{} to it by hand",
            req.package,
            specifier(req.to)
        ));
    }
    let nl = line_ending(&pyproject);
    let line = format!(
        "override-dependencies = [\"{}{}\"]{nl}",
        req.package,
        specifier(req.to)
    );
    let new_pyproject = match pyproject.find(&format!("[tool.uv]{nl}")) {
        Some(at) => {
            let after = at + "[tool.uv]".len() + nl.len();
            format!("{}{line}{}", &pyproject[..after], &pyproject[after..])
        }
        None => {
            let sep = if pyproject.ends_with('\n') || pyproject.is_empty() {
                ""
            } else {
                nl
            };
            format!("{pyproject}{sep}{nl}[tool.uv]{nl}{line}")
        }
    };
    let lock_path = req.manifest_path;
    let Some(bytes) = current(lock_path, &changes) else {
        return not_fixable(format!("{lock_path} disappeared while patching"));
    };
    let lock = text_of(lock_path, bytes)?;
    if lock.lines().any(|l| l.trim_end() == "[manifest]") {
        return not_fixable(format!(
            "{lock_path} already has a [manifest] table; adding an override to it is not supported yet"
        ));
    }
    let Some(at) = lock.find(&format!("{nl}[[package]]")).map(|i| i + nl.len()) else {
        return not_fixable(format!("{lock_path} has no [[package]] table"));
    };
    let manifest = format!(
        "[manifest]{nl}overrides = [{{ name = \"{}\", specifier = \"{}\" }}]{nl}{nl}",
        pep503(req.package),
        specifier(req.to)
    );
    let new_lock = format!("{}{manifest}{}", &lock[..at], &lock[at..]);
    for (path, content) in [
        (lock_path.to_string(), new_lock),
        (pyproject_path, new_pyproject),
    ] {
        match changes.iter_mut().find(|c| c.path == path) {
            Some(c) => c.content = content.into_bytes(),
            None => changes.push(FileChange {
                path,
                content: content.into_bytes(),
            }),
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use crate::registry::parse_pypi_release;
    use crate::remediation::patch::{patch_with, ParentRule, PatchRequest, RegistryFacts};

    macro_rules! data {
        ($p:literal) => {
            include_str!(concat!("../../../../../tests/data/lockfile-proofs/", $p))
        };
    }

    fn run(pyproject: &str, lock: &str) -> Result<Vec<(String, String)>, String> {
        let doc: serde_json::Value = serde_json::from_str(data!("pypi/idna-3.7.json")).unwrap();
        let facts = RegistryFacts {
            pypi_release: parse_pypi_release(&doc),
            ..RegistryFacts::default()
        };
        let (pyproject, lock) = (pyproject.to_string(), lock.to_string());
        let files = move |p: &str| match p {
            "svc/pyproject.toml" => Some(pyproject.clone().into_bytes()),
            "svc/uv.lock" => Some(lock.clone().into_bytes()),
            _ => None,
        };
        patch_with(
            &PatchRequest {
                manifest_path: "svc/uv.lock",
                package: "idna",
                from: "2.10",
                to: "3.7",
                direct: false,
                files: &files,
                facts: &facts,
            },
            &ParentRule::Override,
        )
        .map(|cs| {
            cs.into_iter()
                .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
                .collect()
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn the_override_is_written_as_uv_writes_it() {
        let out = run(
            data!("uv/override-before/pyproject.toml"),
            data!("uv/override-before/uv.lock"),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                (
                    "svc/uv.lock".to_string(),
                    data!("uv/override-after/uv.lock").to_string()
                ),
                (
                    "svc/pyproject.toml".to_string(),
                    data!("uv/override-after/pyproject.toml").to_string()
                ),
            ]
        );
        // An existing [tool.uv] table gets the key under its header.
        let with_table = format!(
            "{}\n[tool.uv]\ndev-dependencies = []\n",
            data!("uv/override-before/pyproject.toml")
        );
        let out = run(&with_table, data!("uv/override-before/uv.lock")).unwrap();
        assert!(
            out[1].1.ends_with(
                "[tool.uv]\noverride-dependencies = [\"idna>=3.7\"]\ndev-dependencies = []\n"
            ),
            "{}",
            out[1].1
        );
    }

    #[test]
    fn existing_overrides_and_manifests_are_left_to_people() {
        let e = run(
            data!("uv/override-after/pyproject.toml"),
            data!("uv/override-before/uv.lock"),
        )
        .unwrap_err();
        assert!(e.contains("already has override-dependencies"), "{e}");
        let lock = data!("uv/override-before/uv.lock").replacen(
            "\n[[package]]",
            "\n[manifest]\nmembers = [\"app\"]\n\n[[package]]",
            1,
        );
        let e = run(data!("uv/override-before/pyproject.toml"), &lock).unwrap_err();
        assert!(e.contains("already has a [manifest] table"), "{e}");
    }
}
