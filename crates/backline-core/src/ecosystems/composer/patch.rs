//! `composer.lock`: the package's entry written anew from Packagist's metadata for the new
//! version, as Composer's `Locker` writes it (src/Composer/Package/Locker.php `lockPackages`,
//! src/Composer/Package/Dumper/ArrayDumper.php: members in the dumper's order, links and
//! suggests sorted, keywords sorted, `version_normalized` dropped, `time` last, PHP's pretty
//! JSON with slashes and Unicode unescaped), keeping the entry's `notification-url` (it comes
//! from the repository, not the metadata). When `composer.json` pins the old version exactly,
//! the pin moves and `content-hash` is recomputed as `Locker::getContentHash` does. Every
//! other byte stays.
//!
//! Checked first: every other locked package's requirement on it, and the new version's own
//! requirements against what is locked (platform packages aside). Composer has no override
//! mechanism: a parent that excludes the fix must be upgraded first.

use super::constraint::satisfies;
use crate::deps::{self, ParseError};
use crate::ecosystems::npm::json::{array_items, indent_at, quote, scan, Node};
use crate::registry::ordered_json::Json;
use crate::registry::PackagistRelease;
use crate::remediation::patch::{
    apply_edits, not_fixable, parent_excludes, sibling, FileChange, PatchError, PatchRequest,
};

/// The lock sections that hold packages.
const SECTIONS: [&str; 2] = ["packages", "packages-dev"];

/// Link types in `BasePackage::$supportedLinkTypes` order.
const LINKS: [&str; 5] = ["require", "conflict", "provide", "replace", "require-dev"];

/// Platform requirements (`php`, `ext-json`, ...), which the lock does not list.
fn is_platform(name: &str) -> bool {
    !name.contains('/')
        || name.starts_with("ext-")
        || name.starts_with("lib-")
        || name == "php"
        || name.starts_with("composer")
}

/// A locked package: name, version and its `require` (package, constraint).
type Locked<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

/// Edits a `composer.lock` (and `composer.json` when it pins the old version).
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let lock =
        Json::parse(text).map_err(|e| ParseError::new(path, Some(e.line()), e.to_string()))?;
    let root = scan(text).ok_or_else(|| ParseError::new(path, None, "not valid JSON"))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some(release) = req
        .facts
        .packagist_release
        .as_ref()
        .filter(|r| r.is_version(to))
    else {
        return not_fixable(format!(
            "Packagist's metadata of {pkg} {to} was not fetched"
        ));
    };
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let version_is = |a: &str, b: &str| a.trim_start_matches('v') == b.trim_start_matches('v');

    // Every locked package (name, version, requires).
    let mut locked: Vec<Locked> = Vec::new();
    for section in SECTIONS {
        if let Some(Json::Array(list)) = lock.get(section) {
            for p in list {
                let (Some(n), Some(v)) = (
                    p.get("name").and_then(Json::as_str),
                    p.get("version").and_then(Json::as_str),
                ) else {
                    continue;
                };
                let requires = match p.get("require") {
                    Some(Json::Object(m)) => m
                        .iter()
                        .filter_map(|(k, c)| Some((k.as_str(), c.as_str()?)))
                        .collect(),
                    _ => Vec::new(),
                };
                locked.push((n, v, requires));
            }
        }
    }
    // Parents: their requirement on the package must admit the new version.
    for (n, v, requires) in &locked {
        for (dep, c) in requires {
            if same(dep, pkg) && satisfies(c, to) != Some(true) {
                return parent_excludes(n, v, pkg, c, to);
            }
        }
    }
    // The new version's requirements must be met by what is locked.
    if let Some(Json::Object(m)) = release.data.get("require") {
        for (dep, c) in m {
            let Some(c) = c.as_str() else { continue };
            if is_platform(dep) || same(dep, pkg) {
                continue;
            }
            let have: Vec<&str> = locked
                .iter()
                .filter(|(n, _, _)| same(n, dep))
                .map(|(_, v, _)| *v)
                .collect();
            if have.is_empty() {
                return not_fixable(format!(
                    "{pkg} {to} requires {dep} `{c}`, which the lockfile does not have; run `composer update {pkg} --with-dependencies`"
                ));
            }
            if have.iter().all(|v| satisfies(c, v) == Some(false)) {
                return not_fixable(format!(
                    "{pkg} {to} needs {dep} `{c}`, the lockfile has {}",
                    have.join(", ")
                ));
            }
        }
    }
    let manifest = composer_json_edit(req)?;

    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for section in SECTIONS {
        let Some(list @ Node::Array(_)) = root.get(section) else {
            continue;
        };
        for item in array_items(text, list.span()).unwrap_or_default() {
            let name = item.get("name").and_then(|n| str_at(text, n));
            let version = item.get("version").and_then(|n| str_at(text, n));
            if !(name.as_deref().is_some_and(|n| same(n, pkg))
                && version.as_deref().is_some_and(|v| version_is(v, from)))
            {
                continue;
            }
            let (s, e) = item.span();
            let old = Json::parse(&text[s..e])
                .map_err(|err| ParseError::new(path, None, err.to_string()))?;
            let entry = lock_entry(release, &old);
            edits.push((s, e, entry.pretty_php(indent_at(text, s))));
        }
    }
    if edits.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }
    let mut changes = Vec::new();
    if let Some((json_path, new_json)) = manifest {
        let Some(hash) = root.get("content-hash") else {
            return not_fixable(format!("{path} has no content-hash to update"));
        };
        let (s, e) = hash.span();
        edits.push((s, e, quote(&content_hash(&json_path, &new_json)?)));
        changes.push(FileChange {
            path: json_path,
            content: new_json.into_bytes(),
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

/// The string a node holds, when it is a JSON string.
fn str_at(text: &str, node: &Node) -> Option<String> {
    let (s, e) = node.span();
    serde_json::from_str::<String>(text.get(s..e)?).ok()
}

/// The lock entry Composer writes for a release (ArrayDumper order, then `time`).
fn lock_entry(release: &PackagistRelease, old: &Json) -> Json {
    let d = &release.data;
    let mut out: Vec<(String, Json)> = Vec::new();
    let put = |out: &mut Vec<(String, Json)>, key: &str, v: Option<Json>| {
        if let Some(v) = v.filter(|v| !v.is_empty_php()) {
            out.push((key.to_string(), v));
        }
    };
    let pick = |obj: Option<&Json>, keys: &[&str]| -> Option<Json> {
        let obj = obj?;
        obj.get("type")?;
        Some(Json::Object(
            keys.iter()
                .filter_map(|k| Some((k.to_string(), obj.get(k)?.clone())))
                .filter(|(k, v)| *k != "mirrors" || !v.is_empty_php())
                .collect(),
        ))
    };
    let sorted = |v: Option<&Json>| -> Option<Json> {
        match v? {
            Json::Object(m) => {
                let mut m = m.clone();
                m.sort_by(|a, b| a.0.cmp(&b.0));
                Some(Json::Object(m))
            }
            other => Some(other.clone()),
        }
    };
    put(&mut out, "name", Some(Json::String(release.name.clone())));
    put(
        &mut out,
        "version",
        Some(Json::String(release.version.clone())),
    );
    put(&mut out, "target-dir", d.get("target-dir").cloned());
    put(
        &mut out,
        "source",
        pick(d.get("source"), &["type", "url", "reference", "mirrors"]),
    );
    put(
        &mut out,
        "dist",
        pick(
            d.get("dist"),
            &["type", "url", "reference", "shasum", "mirrors"],
        ),
    );
    for link in LINKS {
        put(&mut out, link, sorted(d.get(link)));
    }
    put(&mut out, "suggest", sorted(d.get("suggest")));
    if d.get("default-branch") == Some(&Json::Bool(true)) {
        put(&mut out, "default-branch", Some(Json::Bool(true)));
    }
    put(&mut out, "bin", d.get("bin").cloned());
    put(
        &mut out,
        "type",
        Some(
            d.get("type")
                .cloned()
                .unwrap_or_else(|| Json::String("library".into())),
        ),
    );
    for key in ["extra", "autoload", "autoload-dev"] {
        put(&mut out, key, d.get(key).cloned());
    }
    put(
        &mut out,
        "notification-url",
        old.get("notification-url").cloned(),
    );
    for key in ["include-path", "php-ext"] {
        put(&mut out, key, d.get(key).cloned());
    }
    if let Some(archive) = d.get("archive") {
        put(&mut out, "archive", Some(archive.clone()));
    }
    for key in ["scripts", "license", "authors", "description", "homepage"] {
        put(&mut out, key, d.get(key).cloned());
    }
    let keywords = match d.get("keywords") {
        Some(Json::Array(k)) => {
            let mut k = k.clone();
            k.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Some(Json::Array(k))
        }
        other => other.cloned(),
    };
    put(&mut out, "keywords", keywords);
    for key in ["repositories", "support", "funding"] {
        put(&mut out, key, d.get(key).cloned());
    }
    match d.get("abandoned") {
        Some(Json::Bool(false)) | None => {}
        Some(a) => put(&mut out, "abandoned", Some(a.clone())),
    }
    put(&mut out, "time", d.get("time").cloned());
    Json::Object(out)
}

/// `composer.json`'s new text when it pins the old version exactly (`"1.0.0"`, `"v1.0.0"`,
/// `"==1.0.0"`); `None` when its constraint admits the new one (or it cannot be read);
/// refused when another constraint excludes it.
fn composer_json_edit(req: &PatchRequest) -> Result<Option<(String, String)>, PatchError> {
    let path = sibling(req.manifest_path, "composer.json");
    let Some(text) = (req.files)(&path).and_then(|b| String::from_utf8(b).ok()) else {
        return Ok(None);
    };
    let Some(root) = scan(&text) else {
        return Err(ParseError::new(&path, None, "not valid JSON").into());
    };
    let mut edits = Vec::new();
    for section in ["require", "require-dev"] {
        for (name, value) in root.get(section).map(Node::members).unwrap_or_default() {
            if !name.eq_ignore_ascii_case(req.package) {
                continue;
            }
            let Some(c) = str_at(&text, value) else {
                continue;
            };
            if satisfies(&c, req.to) == Some(true) {
                continue;
            }
            let trimmed = c.trim();
            let op = if trimmed.starts_with("==") {
                "=="
            } else if trimmed.starts_with('=') {
                "="
            } else {
                ""
            };
            let bare = &trimmed[op.len()..];
            if bare.trim_start_matches('v') == req.from.trim_start_matches('v') {
                let v = if bare.starts_with('v') { "v" } else { "" };
                let new = format!("{op}{v}{}", req.to.trim_start_matches('v'));
                let (s, e) = value.span();
                edits.push((s, e, quote(&new)));
            } else {
                return not_fixable(format!(
                    "{path} requires {} `{c}`, which excludes {}; change it and run `composer update {}`",
                    req.package, req.to, req.package
                ));
            }
        }
    }
    Ok((!edits.is_empty()).then(|| (path, apply_edits(&text, edits))))
}

/// `Locker::getContentHash`: the MD5 of the relevant members of `composer.json` (keys sorted,
/// `config.platform` kept), encoded as `json_encode` does with no flags.
pub(crate) fn content_hash(path: &str, composer_json: &str) -> Result<String, PatchError> {
    use md5::{Digest, Md5};
    const RELEVANT: [&str; 11] = [
        "name",
        "version",
        "require",
        "require-dev",
        "conflict",
        "replace",
        "provide",
        "minimum-stability",
        "prefer-stable",
        "repositories",
        "extra",
    ];
    let doc = Json::parse(composer_json)
        .map_err(|e| ParseError::new(path, Some(e.line()), e.to_string()))?;
    let Json::Object(members) = doc else {
        return Err(ParseError::new(path, None, "expected a JSON object").into());
    };
    let mut relevant: Vec<(String, Json)> = members
        .iter()
        .filter(|(k, _)| RELEVANT.contains(&k.as_str()))
        .cloned()
        .collect();
    let platform = members
        .iter()
        .find(|(k, _)| k == "config")
        .and_then(|(_, c)| c.get("platform").cloned());
    if let Some(p) = platform {
        relevant.push(("config".into(), Json::Object(vec![("platform".into(), p)])));
    }
    relevant.sort_by(|a, b| a.0.cmp(&b.0));
    let encoded = Json::Object(relevant).compact_php(true);
    Ok(hex::encode(Md5::digest(encoded.as_bytes())))
}

#[cfg(test)]
mod tests;
