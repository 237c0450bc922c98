//! `uv.lock`: the package's `version`, its `sdist` line and `wheels` list (URL, SHA-256, size
//! and upload time of every file PyPI lists for the new version, wheels sorted by file name,
//! upload times cut to milliseconds as uv writes them), and the references to it that name a
//! version (`{ name = "x", version = "1.0", ... }`, written when several versions are locked).
//! When the project pins the old version exactly (`"idna==3.6"`), the pin moves in
//! `pyproject.toml` and in the root's `[package.metadata] requires-dist`, so that
//! `uv lock --check` still holds. Every other byte stays.
//!
//! Refused (uv must re-resolve): a new version whose requirements (those without an `extra`
//! marker) name other packages than the lock records for it, or a version the lock does not
//! satisfy; a project range other than an exact pin that excludes the new version.

use crate::deps::{self, pep503, ParseError};
use crate::ecosystems::requirements::syntax::pep440_satisfies;
use crate::registry::{PypiDist, PypiRelease};
use crate::remediation::patch::{
    apply_edits, lines_with_offsets, not_fixable, sibling, FileChange, ParentRule, PatchError,
    PatchRequest,
};

/// One `[[package]]` block: its lines with their byte offsets.
pub(super) struct Block<'a> {
    pub(super) lines: Vec<(usize, &'a str)>,
}

impl<'a> Block<'a> {
    /// The value of a top-level `key = "value"` line of the block.
    pub(super) fn string(&self, key: &str) -> Option<&'a str> {
        self.lines.iter().find_map(|(_, l)| {
            let rest = l
                .trim_end()
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?;
            let v = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
            Some(v)
        })
    }

    /// Whether it is one of the project's own packages (editable or virtual source).
    pub(super) fn is_root(&self) -> bool {
        self.lines.iter().any(|(_, l)| {
            l.starts_with("source = {") && (l.contains("editable = ") || l.contains("virtual = "))
        })
    }
}

/// Splits the lock into `[[package]]` blocks (each up to the next one).
pub(super) fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut out: Vec<Block> = Vec::new();
    for (at, line) in lines_with_offsets(text) {
        if line.trim_end() == "[[package]]" {
            out.push(Block { lines: Vec::new() });
        }
        if let Some(b) = out.last_mut() {
            b.lines.push((at, line));
        }
    }
    out
}

/// Edits a `uv.lock` (and `pyproject.toml` when it pins the old version). The locked packages
/// depending on the package must allow the new version (their requirements from PyPI, when
/// the caller fetched them: [`super::parents`]), unless `rule` lets them pass (a parent bump's
/// moving parent, or an override, which [`super::overrides`] then writes).
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some(release) = req.facts.pypi_release.as_ref().filter(|r| r.version == to) else {
        return not_fixable(format!("the PyPI entry of {pkg} {to} was not fetched"));
    };
    if release.dists.is_empty() {
        return not_fixable(format!("PyPI lists no file of {pkg} {to}"));
    }
    let key = pep503(pkg);
    let all = blocks(text);
    super::parents::check(&all, req, rule)?;
    let locked_versions = |name: &str| -> Vec<String> {
        all.iter()
            .filter(|b| b.string("name").map(pep503).as_deref() == Some(&pep503(name)))
            .filter_map(|b| b.string("version").map(str::to_string))
            .collect()
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut found = false;
    for block in &all {
        let is_it = block.string("name").map(pep503).as_deref() == Some(key.as_str())
            && block.string("version") == Some(from);
        if is_it {
            if !block
                .lines
                .iter()
                .any(|(_, l)| l.starts_with("source = { registry = "))
            {
                return not_fixable(format!(
                    "{pkg} {from} in {path} does not come from a registry"
                ));
            }
            check_dependencies(block, release, &locked_versions)?;
            edits.extend(package_edits(path, block, release)?);
            found = true;
        }
        // References naming the old version (several versions locked).
        for (at, line) in &block.lines {
            let named = line.contains(&format!("{{ name = \"{}\"", pkg))
                || line.contains(&format!("{{ name = \"{key}\""));
            let needle = format!("version = \"{from}\"");
            if named && line.trim_start().starts_with('{') {
                if let Some(i) = line.find(&needle) {
                    let s = at + i;
                    edits.push((s, s + needle.len(), format!("version = \"{to}\"")));
                }
            }
        }
        if block.is_root() {
            edits.extend(requires_dist_edits(block, pkg, from, to)?);
        }
    }
    if !found {
        return not_fixable(format!("{path} has no {pkg} {from} from a registry"));
    }
    let pins_moved = edits.iter().any(|(_, _, r)| r.contains("specifier = "));
    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: apply_edits(text, edits).into_bytes(),
    }];
    if pins_moved {
        changes.push(pyproject_edit(req)?);
    }
    Ok(changes)
}

/// Refuses when the new version's requirements name other packages than the lock lists for the
/// old one, or ask for versions the lock does not have.
fn check_dependencies(
    block: &Block,
    release: &PypiRelease,
    locked_versions: &dyn Fn(&str) -> Vec<String>,
) -> Result<(), PatchError> {
    let (pkg, to) = (release.name.as_str(), release.version.as_str());
    let mut locked: Vec<String> = Vec::new();
    let mut in_deps = false;
    for (_, l) in &block.lines {
        let t = l.trim();
        if t.starts_with("dependencies = [") {
            in_deps = true;
            if let Some(inline) = t
                .strip_prefix("dependencies = [")
                .and_then(|r| r.strip_suffix(']'))
            {
                locked.extend(dep_names(inline));
                in_deps = false;
            }
            continue;
        }
        if in_deps {
            if t == "]" {
                in_deps = false;
            } else {
                locked.extend(dep_names(t));
            }
        }
    }
    locked.sort();
    locked.dedup();
    let mut wanted = requirements(release);
    wanted.sort();
    let mut names: Vec<String> = wanted.iter().map(|(n, _)| n.clone()).collect();
    names.dedup();
    if names != locked {
        return not_fixable(format!(
            "{pkg} {to} requires [{}] where the lock has [{}] for the installed version; run `uv lock --upgrade-package {pkg}`",
            names.join(", "),
            locked.join(", ")
        ));
    }
    for (name, spec) in wanted.iter().filter(|(_, s)| !s.is_empty()) {
        let versions = locked_versions(name);
        if !versions.is_empty()
            && versions
                .iter()
                .all(|v| pep440_satisfies(spec, v) == Some(false))
        {
            return not_fixable(format!(
                "{pkg} {to} needs `{name}` {spec}, the lockfile has {}",
                versions.join(", ")
            ));
        }
    }
    Ok(())
}

/// A release's requirements outside extras, as (PEP 503 name, specifier without parentheses).
pub(super) fn requirements(release: &PypiRelease) -> Vec<(String, String)> {
    release
        .requires_dist
        .iter()
        .filter(|r| !r.split_once(';').is_some_and(|(_, m)| m.contains("extra")))
        .map(|r| {
            let req = r.split(';').next().unwrap_or("").trim();
            let name = crate::ecosystems::requirements::syntax::pep508_name(req);
            let spec = req[req.find(name).map(|i| i + name.len()).unwrap_or(0)..].trim();
            let spec = match spec.find(']') {
                Some(i) if spec.starts_with('[') => spec[i + 1..].trim(),
                _ => spec,
            };
            (
                pep503(name),
                spec.trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_string(),
            )
        })
        .collect()
}

/// The PEP 503 names of the `{ name = "x", ... }` tables in a piece of a dependencies list.
pub(super) fn dep_names(s: &str) -> Vec<String> {
    s.split("{ name = \"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(pep503)
        .collect()
}

/// The edits of the package's own block: `version`, `sdist`, `wheels`.
fn package_edits(
    path: &str,
    block: &Block,
    release: &PypiRelease,
) -> Result<Vec<(usize, usize, String)>, PatchError> {
    let mut edits = Vec::new();
    let nl = block
        .lines
        .first()
        .map(|(_, l)| if l.ends_with("\r\n") { "\r\n" } else { "\n" })
        .unwrap_or("\n");
    let with_time = block
        .lines
        .iter()
        .any(|(_, l)| l.contains("upload-time = "));
    // The first line of the files region and the end of it.
    let mut region: Option<(usize, usize)> = None;
    let mut in_wheels = false;
    for (at, line) in &block.lines {
        let end = at + line.len();
        if line.starts_with("version = ") {
            edits.push((*at, end, format!("version = \"{}\"{nl}", release.version)));
        } else if line.starts_with("sdist = ") {
            region = Some((region.map_or(*at, |r| r.0), end));
        } else if line.starts_with("wheels = [") {
            in_wheels = !line.trim_end().ends_with(']');
            region = Some((region.map_or(*at, |r| r.0), end));
        } else if in_wheels {
            region = region.map(|r| (r.0, end));
            if line.trim_end() == "]" {
                in_wheels = false;
            }
        }
    }
    let Some((s, e)) = region else {
        return not_fixable(format!(
            "{path} records no files of {} {}; not supported",
            release.name, release.version
        ));
    };
    let mut new = String::new();
    if let Some(sdist) = release.dists.iter().find(|d| d.sdist) {
        new.push_str(&format!("sdist = {}{nl}", file_table(sdist, with_time)?));
    }
    let mut wheels: Vec<&PypiDist> = release.dists.iter().filter(|d| !d.sdist).collect();
    wheels.sort_by(|a, b| a.filename.cmp(&b.filename));
    if !wheels.is_empty() {
        new.push_str(&format!("wheels = [{nl}"));
        for w in wheels {
            new.push_str(&format!("    {},{nl}", file_table(w, with_time)?));
        }
        new.push_str(&format!("]{nl}"));
    }
    edits.push((s, e, new));
    Ok(edits)
}

/// `{ url = "...", hash = "sha256:...", size = N, upload-time = "..." }`.
fn file_table(d: &PypiDist, with_time: bool) -> Result<String, PatchError> {
    let plain = |s: &str| !s.contains(['"', '\\', '\n', '\r']) && !s.chars().any(char::is_control);
    if !plain(&d.url) || !d.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return not_fixable(format!(
            "PyPI's entry for {} cannot be written to uv.lock",
            d.filename
        ));
    }
    let time = match (with_time, d.upload_time.as_deref().and_then(uv_time)) {
        (true, Some(t)) => format!(", upload-time = \"{t}\""),
        (true, None) => {
            return not_fixable(format!("PyPI gives no upload time for {}", d.filename))
        }
        (false, _) => String::new(),
    };
    Ok(format!(
        "{{ url = \"{}\", hash = \"sha256:{}\", size = {}{time} }}",
        d.url,
        d.sha256.to_ascii_lowercase(),
        d.size
    ))
}

/// An upload time as uv writes it: cut to milliseconds, trailing zeros (and a bare `.`)
/// dropped (`2024-04-11T03:34:41.447563Z` → `2024-04-11T03:34:41.447Z`,
/// `…:38.000000Z` → `…:38Z`).
pub(crate) fn uv_time(iso: &str) -> Option<String> {
    let body = iso
        .strip_suffix('Z')
        .or_else(|| iso.strip_suffix("+00:00"))?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    if whole.len() != 19 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms = frac.get(..3).unwrap_or(frac).trim_end_matches('0');
    Some(if ms.is_empty() {
        format!("{whole}Z")
    } else {
        format!("{whole}.{ms}Z")
    })
}

/// In a root block's `requires-dist` (and dev groups): `specifier = "==from"` of the package
/// moves to `==to`; another specifier that excludes `to` is refused.
fn requires_dist_edits(
    block: &Block,
    pkg: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(usize, usize, String)>, PatchError> {
    let mut edits = Vec::new();
    for (at, line) in &block.lines {
        for (i, _) in line.match_indices("{ name = \"") {
            let rest = &line[i + 10..];
            let Some(name) = rest.split('"').next() else {
                continue;
            };
            if pep503(name) != pep503(pkg) {
                continue;
            }
            let table = &rest[..rest.find('}').unwrap_or(rest.len())];
            let Some(j) = table.find("specifier = \"") else {
                continue;
            };
            let spec_start = i + 10 + j + 13;
            let Some(spec) = line[spec_start..].split('"').next() else {
                continue;
            };
            if spec == format!("=={from}") {
                let s = at + spec_start - 13;
                edits.push((
                    s,
                    s + 13 + spec.len() + 1,
                    format!("specifier = \"=={to}\""),
                ));
            } else if pep440_satisfies(spec, to) == Some(false) {
                return not_fixable(format!(
                    "the project requires {pkg} `{spec}`, which excludes {to}; change it and run `uv lock`"
                ));
            }
        }
    }
    Ok(edits)
}

/// `pyproject.toml` with the exact pin on the old version moved (project dependencies,
/// optional dependencies and dependency groups).
fn pyproject_edit(req: &PatchRequest) -> Result<FileChange, PatchError> {
    let path = sibling(req.manifest_path, "pyproject.toml");
    let Some(text) = (req.files)(&path).and_then(|b| String::from_utf8(b).ok()) else {
        return not_fixable(format!(
            "{path} could not be read, and it pins {} {}",
            req.package, req.from
        ));
    };
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| ParseError::new(&path, None, e.message().to_string()))?;
    let key = pep503(req.package);
    let mut moved = 0;
    let mut visit = |arr: &mut toml_edit::Array| {
        for v in arr.iter_mut() {
            let Some(s) = v.as_str() else { continue };
            if let Some(new) = moved_pin(s, &key, req.from, req.to) {
                let decor = v.decor().clone();
                *v = toml_edit::Value::from(new);
                *v.decor_mut() = decor;
                moved += 1;
            }
        }
    };
    if let Some(project) = doc.get_mut("project") {
        if let Some(a) = project
            .get_mut("dependencies")
            .and_then(|d| d.as_array_mut())
        {
            visit(a);
        }
        if let Some(t) = project
            .get_mut("optional-dependencies")
            .and_then(|d| d.as_table_like_mut())
        {
            for (_, item) in t.iter_mut() {
                if let Some(a) = item.as_array_mut() {
                    visit(a);
                }
            }
        }
    }
    if let Some(t) = doc
        .get_mut("dependency-groups")
        .and_then(|d| d.as_table_like_mut())
    {
        for (_, item) in t.iter_mut() {
            if let Some(a) = item.as_array_mut() {
                visit(a);
            }
        }
    }
    if moved == 0 {
        return not_fixable(format!(
            "{path} does not pin {} =={} where uv.lock says it does",
            req.package, req.from
        ));
    }
    Ok(FileChange {
        path,
        content: doc.to_string().into_bytes(),
    })
}

/// A PEP 508 string pinning `key` to `from` exactly, with the pin moved to `to`.
fn moved_pin(s: &str, key: &str, from: &str, to: &str) -> Option<String> {
    let (req, marker) = match s.split_once(';') {
        Some((r, m)) => (r, Some(m)),
        None => (s, None),
    };
    let name = crate::ecosystems::requirements::syntax::pep508_name(req);
    if pep503(name) != key {
        return None;
    }
    let after = &req[req.find(name)? + name.len()..];
    let spec_at = after.find(']').map(|i| i + 1).unwrap_or(0);
    let spec: String = after[spec_at..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if spec != format!("=={from}") {
        return None;
    }
    let i = req.rfind(from)?;
    let mut out = format!("{}{to}{}", &req[..i], &req[i + from.len()..]);
    if let Some(m) = marker {
        out.push(';');
        out.push_str(m);
    }
    Some(out)
}

#[cfg(test)]
mod tests;
