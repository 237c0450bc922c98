//! `Pipfile.lock`: the entry's `version` and `hashes` (one `sha256:` per file PyPI lists for
//! the new version, sorted, as pipenv writes them), and — when the `Pipfile` pins the package
//! to the old version (`"==1.2"`) — the `Pipfile` too, with `_meta.hash.sha256` recomputed as
//! pipenv does (plette's `Pipfile.get_hash`: SHA-256 of the sorted, compact JSON of the
//! sources, requires, packages and other categories). Every other byte stays.
//!
//! Refused: a `Pipfile` range that excludes the new version other than an exact pin (pipenv
//! must re-resolve), a new version whose unconditional requirements the lockfile does not
//! satisfy, a version PyPI lists no file for.

use serde_json::Value;

use crate::deps::{self, pep503, ParseError};
use crate::ecosystems::npm::json::{indent_at, quote, scan, Node};
use crate::ecosystems::requirements::syntax::pep440_satisfies;
use crate::registry::PypiRelease;
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, sibling, FileChange, PatchError, PatchRequest,
};

/// The sections of a `Pipfile.lock` that hold packages.
const SECTIONS: [&str; 2] = ["default", "develop"];

/// Edits a `Pipfile.lock` (and its `Pipfile` when that pins the old version).
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let lock: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(path, Some(e.line()), e.to_string()))?;
    let root = scan(text).ok_or_else(|| ParseError::new(path, None, "not valid JSON"))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some(release) = req.facts.pypi_release.as_ref().filter(|r| r.version == to) else {
        return not_fixable(format!("the PyPI entry of {pkg} {to} was not fetched"));
    };
    if release.files.is_empty() {
        return not_fixable(format!("PyPI lists no file of {pkg} {to} to hash"));
    }
    check_requirements(&lock, release, pkg, to)?;
    let pipfile = pipfile_edit(req)?;

    let key = pep503(pkg);
    let old_version = format!("=={from}");
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for section in SECTIONS {
        for (name, entry) in root.get(section).map(Node::members).unwrap_or_default() {
            let version = entry
                .get("version")
                .and_then(|v| str_at(text, v))
                .map(|v| v.trim().to_string());
            if pep503(name) != key || version.as_deref() != Some(old_version.as_str()) {
                continue;
            }
            if let Some(v) = entry.get("version") {
                let (s, e) = v.span();
                edits.push((s, e, quote(&format!("=={to}"))));
            }
            match entry.get("hashes") {
                Some(h @ Node::Array(_)) => {
                    let (s, e) = h.span();
                    edits.push((s, e, hashes_array(text, s, release)));
                }
                _ => {
                    return not_fixable(format!(
                        "{path} has no hashes list for {pkg} {from}; not supported"
                    ))
                }
            }
            if let (Some(m), Some(new)) = (
                entry.get("markers"),
                release.requires_python.as_deref().and_then(python_marker),
            ) {
                if str_at(text, m).is_some_and(is_python_floor_marker) {
                    let (s, e) = m.span();
                    edits.push((s, e, quote(&new)));
                }
            }
        }
    }
    if edits.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }
    let mut changes = Vec::new();
    if let Some((pipfile_path, new_pipfile)) = pipfile {
        let Some(hash) = root
            .get("_meta")
            .and_then(|m| m.get("hash"))
            .and_then(|h| h.get("sha256"))
        else {
            return not_fixable(format!("{path} has no _meta.hash.sha256 to update"));
        };
        let (s, e) = hash.span();
        edits.push((s, e, quote(&pipfile_hash(&pipfile_path, &new_pipfile)?)));
        changes.push(FileChange {
            path: pipfile_path,
            content: new_pipfile.into_bytes(),
        });
    }
    changes.insert(
        0,
        FileChange {
            path: path.to_string(),
            content: apply_edits(text, edits).into_bytes(),
        },
    );
    Ok(changes)
}

/// The string a scalar node holds, when it is a JSON string.
fn str_at(text: &str, node: &Node) -> Option<String> {
    let (s, e) = node.span();
    serde_json::from_str::<String>(text.get(s..e)?).ok()
}

/// The new `hashes` array, laid out as pipenv writes it (`json.dumps(indent=4)`): one item a
/// line, one level deeper than the key's line.
fn hashes_array(text: &str, at: usize, release: &PypiRelease) -> String {
    let nl = line_ending(text);
    let indent = indent_at(text, at);
    let mut hashes: Vec<String> = release
        .files
        .iter()
        .map(|(_, h)| format!("sha256:{}", h.to_ascii_lowercase()))
        .collect();
    hashes.sort();
    hashes.dedup();
    let items: Vec<String> = hashes
        .iter()
        .map(|h| format!("{indent}    {}", quote(h)))
        .collect();
    format!("[{nl}{}{nl}{indent}]", items.join(&format!(",{nl}")))
}

/// Whether a lock entry's `markers` is the one pipenv derives from a `requires_python` floor
/// alone (`python_version >= '3.5'`).
fn is_python_floor_marker(m: String) -> bool {
    let m = m.trim();
    ["python_version >= '", "python_full_version >= '"]
        .iter()
        .any(|p| {
            m.strip_prefix(p)
                .is_some_and(|r| r.ends_with('\'') && !r[..r.len() - 1].contains('\''))
        })
}

/// The marker pipenv writes for a `requires_python` that is a floor alone (`>=3.8` →
/// `python_version >= '3.8'`); `None` for other forms, whose marker is then left as it was.
fn python_marker(requires_python: &str) -> Option<String> {
    let v = requires_python.trim().strip_prefix(">=")?.trim();
    let parts: Vec<&str> = v.split('.').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    (parts.len() == 2).then(|| format!("python_version >= '{v}'"))
}

/// Refuses when the new version requires (without markers) a package or a version the
/// lockfile does not have.
fn check_requirements(
    lock: &Value,
    release: &PypiRelease,
    pkg: &str,
    to: &str,
) -> Result<(), PatchError> {
    let locked = |name: &str| -> Option<String> {
        SECTIONS.iter().find_map(|s| {
            lock.get(*s)?.as_object()?.iter().find_map(|(n, e)| {
                (pep503(n) == pep503(name)).then(|| {
                    e.get("version")?
                        .as_str()
                        .map(|v| v.trim_start_matches('=').trim().to_string())
                })?
            })
        })
    };
    for r in release.requires_dist.iter().filter(|r| !r.contains(';')) {
        let name = crate::ecosystems::requirements::syntax::pep508_name(r);
        let Some(have) = locked(name) else {
            return not_fixable(format!(
                "{pkg} {to} requires `{name}`, which the lockfile does not have; run `pipenv lock`"
            ));
        };
        let spec = r[r.find(name).map(|i| i + name.len()).unwrap_or(0)..]
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')');
        if pep440_satisfies(spec, &have) == Some(false) {
            return not_fixable(format!(
                "{pkg} {to} needs `{name}` {spec}, the lockfile has {have}"
            ));
        }
    }
    Ok(())
}

/// The `Pipfile`'s new text when it pins the old version exactly; `None` when its range already
/// admits the new one (or there is no `Pipfile`); refused when another range excludes it.
fn pipfile_edit(req: &PatchRequest) -> Result<Option<(String, String)>, PatchError> {
    let path = sibling(req.manifest_path, "Pipfile");
    let Some(text) = (req.files)(&path).and_then(|b| String::from_utf8(b).ok()) else {
        return Ok(None);
    };
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| ParseError::new(&path, None, e.message().to_string()))?;
    let key = pep503(req.package);
    let mut changed = false;
    for section in ["packages", "dev-packages"] {
        let Some(table) = doc.get_mut(section).and_then(|t| t.as_table_like_mut()) else {
            continue;
        };
        for (k, item) in table.iter_mut() {
            if pep503(k.get()) != key {
                continue;
            }
            // `pkg = "spec"` or `pkg = { version = "spec", ... }`.
            let value = if item.as_str().is_some() {
                item.as_value_mut()
            } else {
                item.get_mut("version").and_then(|v| v.as_value_mut())
            };
            let Some(value) = value else { continue };
            let Some(spec) = value.as_str().map(str::trim).map(str::to_string) else {
                continue;
            };
            if spec == "*" || spec.is_empty() || pep440_satisfies(&spec, req.to) == Some(true) {
                continue;
            }
            if spec == format!("=={}", req.from) {
                let decor = value.decor().clone();
                *value = toml_edit::Value::from(format!("=={}", req.to));
                *value.decor_mut() = decor;
                changed = true;
            } else {
                return not_fixable(format!(
                    "{path} requires {} `{spec}`, which excludes {}; change it and run `pipenv lock`",
                    req.package, req.to
                ));
            }
        }
    }
    Ok(changed.then(|| (path, doc.to_string())))
}

/// `_meta.hash.sha256` of a `Pipfile`, as pipenv computes it (plette's `Pipfile.load` adds
/// the default PyPI source when none is declared; `get_hash` hashes the compact JSON, keys
/// sorted, non-ASCII escaped).
pub(crate) fn pipfile_hash(path: &str, text: &str) -> Result<String, PatchError> {
    use sha2::{Digest, Sha256};
    let table: toml::Table =
        toml::from_str(text).map_err(|e| ParseError::new(path, None, e.message().to_string()))?;
    let mut data = serde_json::Map::new();
    let json = |v: &toml::Value| serde_json::to_value(v).unwrap_or(Value::Null);
    let sources = table.get("source").map(json).unwrap_or_else(|| {
        serde_json::json!([{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}])
    });
    let requires = table
        .get("requires")
        .map(json)
        .unwrap_or_else(|| Value::Object(Default::default()));
    data.insert(
        "_meta".into(),
        serde_json::json!({"sources": sources, "requires": requires}),
    );
    let empty = || Value::Object(Default::default());
    data.insert(
        "default".into(),
        table.get("packages").map(json).unwrap_or_else(empty),
    );
    data.insert(
        "develop".into(),
        table.get("dev-packages").map(json).unwrap_or_else(empty),
    );
    const SKIPPED: [&str; 10] = [
        "source",
        "packages",
        "dev-packages",
        "requires",
        "scripts",
        "pipfile",
        "pipenv",
        "default",
        "develop",
        "_meta",
    ];
    for (k, v) in &table {
        if !SKIPPED.contains(&k.as_str()) {
            data.insert(k.clone(), json(v));
        }
    }
    let compact =
        serde_json::to_string(&Value::Object(data)).map_err(|e| PatchError::NotFixable {
            reason: format!("{path} cannot be hashed: {e}"),
        })?;
    Ok(hex::encode(Sha256::digest(ascii_json(&compact).as_bytes())))
}

/// Python's `json.dumps` (with `ensure_ascii`) escapes every character outside printable
/// ASCII as `\uXXXX` (UTF-16 units); serde_json leaves them as they are.
fn ascii_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (' '..='~').contains(&c) || matches!(c, '\n' | '\r' | '\t') {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
