//! `Cargo.lock` (and `Cargo.toml` when its requirement excludes the new version).
//!
//! The lockfile is edited line by line in cargo's own layout: the package's `version` and
//! `checksum` lines, its `dependencies` list when the new version depends on other crates,
//! the `"name version"` references other packages use when the name is ambiguous, and the
//! removal of packages nothing depends on any more. Each normal or build dependency of the
//! new version (optional ones only when the old version's entry had them, i.e. a feature
//! enabled them) must be satisfied by a version already locked, and, when the caller gives
//! their index entries ([`super::RegistryFacts::crate_dependents`]), the locked packages
//! depending on it must accept the new version. Manifests are edited with
//! `toml_edit`: a requirement is bumped only when it excludes the new version, and only when
//! it is a single `=`, `~`, `^` or bare version.
//!
//! When the new version is already locked (for another dependent), the old copy is merged
//! into it: its block goes, references follow, and packages only it needed go too.
//!
//! Refused: format v1 lockfiles (checksums in `[metadata]`), other registries, a bump past
//! another locked version of the same crate, a package depending on both versions, and
//! requirements the lockfile does not satisfy. Only the sibling `Cargo.toml` and the members
//! it lists by path are checked (glob members cannot be listed from files alone).

use std::collections::{BTreeSet, HashMap, HashSet};

use semver::{Version, VersionReq};

use super::{
    apply_edits, line_ending, lines_with_offsets, not_fixable, FileChange, PatchError, PatchRequest,
};
use crate::deps::{self, ParseError};
use crate::registry::DepKind;

const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// One `[[package]]` block as cargo writes it.
#[derive(Debug)]
struct Block {
    /// Byte span of the whole block, header line to the last field line (inclusive).
    start: usize,
    end: usize,
    name: String,
    version: String,
    source: Option<String>,
    version_line: Option<(usize, usize)>,
    checksum_line: Option<(usize, usize)>,
    /// Each reference with the span of its quoted string (without the quotes).
    deps: Vec<(String, (usize, usize))>,
    /// Span of the `dependencies = [ ... ]` lines, endings included.
    deps_span: Option<(usize, usize)>,
    /// Where a new `dependencies` field would go (after the last field line).
    fields_end: usize,
}

fn unquote(value: &str) -> Option<&str> {
    let v = value.trim();
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

fn scan(file: &str, text: &str) -> Result<(Vec<Block>, bool), PatchError> {
    let layout = |line: usize, what: &str| {
        PatchError::Unreadable(ParseError::new(
            file,
            Some(line),
            format!("not in cargo's layout: {what}"),
        ))
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut metadata = false;
    let mut in_block = false;
    let mut in_deps = false;
    for (i, (off, raw)) in lines_with_offsets(text).into_iter().enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_end = off + line.len();
        let full_end = off + raw.len();
        if in_deps {
            let b = blocks
                .last_mut()
                .ok_or_else(|| layout(i + 1, "dependencies"))?;
            let t = line.trim();
            if t == "]" {
                in_deps = false;
                if let Some(s) = &mut b.deps_span {
                    s.1 = full_end;
                }
                b.end = line_end;
                b.fields_end = full_end;
                continue;
            }
            let s = t.trim_end_matches(',');
            let inner = unquote(s).ok_or_else(|| layout(i + 1, "a dependency reference"))?;
            let q = off + line.find('"').unwrap_or(0) + 1;
            b.deps.push((inner.to_string(), (q, q + inner.len())));
            continue;
        }
        if line.starts_with('[') {
            in_block = line == "[[package]]";
            if line == "[metadata]" {
                metadata = true;
            }
            if in_block {
                blocks.push(Block {
                    start: off,
                    end: line_end,
                    name: String::new(),
                    version: String::new(),
                    source: None,
                    version_line: None,
                    checksum_line: None,
                    deps: Vec::new(),
                    deps_span: None,
                    fields_end: full_end,
                });
            }
            continue;
        }
        if !in_block || line.trim().is_empty() {
            continue;
        }
        let Some(b) = blocks.last_mut() else { continue };
        let Some((key, value)) = line.split_once(" = ") else {
            return Err(layout(i + 1, "expected `key = value`"));
        };
        b.end = line_end;
        b.fields_end = full_end;
        match key {
            "name" => b.name = unquote(value).ok_or_else(|| layout(i + 1, "name"))?.into(),
            "version" => {
                b.version = unquote(value)
                    .ok_or_else(|| layout(i + 1, "version"))?
                    .into();
                b.version_line = Some((off, line_end));
            }
            "source" => {
                b.source = Some(
                    unquote(value)
                        .ok_or_else(|| layout(i + 1, "source"))?
                        .into(),
                )
            }
            "checksum" => b.checksum_line = Some((off, line_end)),
            "dependencies" => {
                b.deps_span = Some((off, full_end));
                if value.trim() == "[" {
                    in_deps = true;
                } else if value.trim() != "[]" {
                    return Err(layout(i + 1, "a one-line dependencies list"));
                }
            }
            _ => {}
        }
    }
    Ok((blocks, metadata))
}

/// `name`, `name version` or `name version (source)`.
fn split_ref(r: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut parts = r.splitn(3, ' ');
    let name = parts.next().unwrap_or(r);
    (name, parts.next(), parts.next())
}

fn semver_of(v: &str) -> Option<Version> {
    Version::parse(v).ok()
}

/// The registry packages depending on `pkg` `from` in a lock.
pub(super) fn dependents(bytes: &[u8], pkg: &str, from: &str) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok((blocks, _)) = scan("Cargo.lock", text) else {
        return Vec::new();
    };
    let versions = blocks.iter().filter(|b| b.name == pkg).count();
    blocks
        .iter()
        .filter(|b| b.source.is_some())
        .filter(|b| {
            b.deps.iter().any(|(r, _)| {
                let (name, version, _) = split_ref(r);
                name == pkg && (version == Some(from) || (version.is_none() && versions == 1))
            })
        })
        .map(|b| (b.name.clone(), b.version.clone()))
        .collect()
}

/// Edits a `Cargo.lock` and, when needed, the manifests beside it.
pub(super) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let (blocks, metadata) = scan(path, text)?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    if metadata {
        return not_fixable(
            "this Cargo.lock keeps checksums in [metadata] (format v1); regenerate it with a current cargo first",
        );
    }
    let Some(t) = blocks
        .iter()
        .position(|b| {
            b.name == pkg
                && b.version == from
                && b.source.as_deref().is_some_and(|s| CRATES_IO.contains(&s))
        })
        .or_else(|| {
            blocks
                .iter()
                .position(|b| b.name == pkg && b.version == from && b.source.is_some())
        })
    else {
        return not_fixable(format!("{path} has no registry package {pkg} {from}"));
    };
    if !blocks[t]
        .source
        .as_deref()
        .is_some_and(|s| CRATES_IO.contains(&s))
    {
        return not_fixable(format!(
            "{pkg} {from} comes from another registry than crates.io"
        ));
    }
    let Some(release) = req
        .facts
        .crate_release
        .as_ref()
        .filter(|r| r.name == pkg && r.version == to)
    else {
        return not_fixable(format!(
            "the crates.io index entry of {pkg} {to} was not fetched"
        ));
    };
    if release.yanked {
        return not_fixable(format!("{pkg} {to} is yanked"));
    }
    // When `to` is locked already (for another dependent), the old copy merges into it.
    let merge = blocks.iter().position(|b| b.name == pkg && b.version == to);
    let to_v = semver_of(to).ok_or_else(|| PatchError::NotFixable {
        reason: format!("{to} is not a semver version"),
    })?;
    // The bump must not move the package past another locked version of itself.
    let others: Vec<Version> = blocks
        .iter()
        .enumerate()
        .filter(|(i, b)| *i != t && b.name == pkg)
        .filter_map(|(_, b)| semver_of(&b.version))
        .collect();
    if let (Some(from_v), None) = (semver_of(from), merge) {
        let below = |v: &Version| others.iter().filter(|o| *o < v).count();
        if below(&from_v) != below(&to_v) {
            return not_fixable(format!(
                "moving {pkg} from {from} to {to} passes another locked version of {pkg}; not supported yet"
            ));
        }
    }

    // Versions after the change, by name.
    let version_of = |i: usize| -> &str {
        if i == t {
            to
        } else {
            &blocks[i].version
        }
    };
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, b) in blocks.iter().enumerate() {
        by_name.entry(b.name.as_str()).or_default().push(i);
    }
    let resolve = |r: &str| -> Option<usize> {
        let (name, version, _) = split_ref(r);
        let cands = by_name.get(name)?;
        match version {
            None => (cands.len() == 1).then(|| cands[0]),
            Some(v) => cands.iter().copied().find(|&i| blocks[i].version == v),
        }
    };
    let old_edges: Vec<Vec<usize>> = blocks
        .iter()
        .map(|b| b.deps.iter().filter_map(|(r, _)| resolve(r)).collect())
        .collect();

    // The locked packages depending on it must accept the new version.
    if let Some(dependents) = &req.facts.crate_dependents {
        let from_v = semver_of(from);
        for (i, b) in blocks.iter().enumerate() {
            if i == t || b.source.is_none() || !old_edges[i].contains(&t) {
                continue;
            }
            let Some(rel) = dependents
                .iter()
                .find(|r| r.name == b.name && r.version == b.version)
            else {
                return not_fixable(format!(
                    "the index entry of {} {}, which depends on {pkg}, was not fetched",
                    b.name, b.version
                ));
            };
            for d in rel
                .deps
                .iter()
                .filter(|d| d.name == pkg && d.kind != DepKind::Dev)
            {
                let Ok(r) = VersionReq::parse(&d.req) else {
                    continue;
                };
                let relevant = from_v.as_ref().is_none_or(|f| r.matches(f));
                if relevant && !r.matches(&to_v) {
                    return Err(PatchError::ParentExcludes {
                        parent: b.name.clone(),
                        at: Box::new(super::ParentRange {
                            version: b.version.clone(),
                            range: d.req.clone(),
                        }),
                        package: pkg.to_string(),
                        to: to.to_string(),
                        message: format!(
                            "{} {} requires {pkg} `{}`, which excludes {to}; upgrade {} too",
                            b.name, b.version, d.req, b.name
                        ),
                    });
                }
            }
        }
    }

    // The new version's dependencies, each resolved to a locked package (a merge target's
    // are locked already).
    let redirect = |j: usize| -> usize {
        match merge {
            Some(c) if j == t => c,
            _ => j,
        }
    };
    let old_target: HashSet<usize> = old_edges[t].iter().copied().collect();
    let mut new_deps: BTreeSet<usize> = BTreeSet::new();
    let own_deps = if merge.is_some() {
        &[][..]
    } else {
        &release.deps[..]
    };
    for dep in own_deps.iter().filter(|d| d.kind != DepKind::Dev) {
        let cands: Vec<usize> = by_name
            .get(dep.name.as_str())
            .map(|c| c.iter().copied().filter(|&i| i != t).collect())
            .unwrap_or_default();
        if dep.optional && !cands.iter().any(|c| old_target.contains(c)) {
            continue;
        }
        let vreq = VersionReq::parse(&dep.req).map_err(|e| PatchError::NotFixable {
            reason: format!(
                "{pkg} {to} requires `{}` {}, which backline cannot read: {e}",
                dep.name, dep.req
            ),
        })?;
        let matching: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| semver_of(&blocks[i].version).is_some_and(|v| vreq.matches(&v)))
            .collect();
        if cands.is_empty() {
            return not_fixable(format!(
                "{pkg} {to} needs `{}` {}, which the lockfile does not have",
                dep.name, dep.req
            ));
        }
        if matching.is_empty() {
            let have: Vec<&str> = cands.iter().map(|&i| blocks[i].version.as_str()).collect();
            return not_fixable(format!(
                "{pkg} {to} needs `{}` {}, the lockfile has {}",
                dep.name,
                dep.req,
                have.join(", ")
            ));
        }
        let chosen = matching
            .iter()
            .copied()
            .find(|i| old_target.contains(i))
            .or_else(|| {
                matching
                    .iter()
                    .copied()
                    .max_by_key(|&i| semver_of(&blocks[i].version))
            });
        new_deps.extend(chosen);
    }

    // Packages nothing reaches any more are dropped, as cargo would.
    let edges = |i: usize| -> Vec<usize> {
        if i == t {
            if merge.is_some() {
                Vec::new()
            } else {
                new_deps.iter().copied().collect()
            }
        } else {
            old_edges[i].iter().map(|&j| redirect(j)).collect()
        }
    };
    let reach = |new: bool| -> HashSet<usize> {
        let mut seen: HashSet<usize> = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.source.is_none())
            .map(|(i, _)| i)
            .collect();
        let mut stack: Vec<usize> = seen.iter().copied().collect();
        while let Some(i) = stack.pop() {
            let next = if new { edges(i) } else { old_edges[i].clone() };
            for j in next {
                if seen.insert(j) {
                    stack.push(j);
                }
            }
        }
        seen
    };
    let before = reach(false);
    let after = reach(true);
    let mut removed: HashSet<usize> = if blocks.iter().any(|b| b.source.is_none()) {
        before.difference(&after).copied().collect()
    } else {
        HashSet::new()
    };
    if merge.is_some() {
        removed.insert(t);
    } else if removed.contains(&t) {
        return not_fixable(format!("{pkg} {from} is not used by the workspace"));
    }

    // Rendering references after the change.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (i, b) in blocks.iter().enumerate() {
        if !removed.contains(&i) {
            *count.entry(b.name.as_str()).or_default() += 1;
        }
    }
    let render = |i: usize, old: Option<&str>| -> String {
        let name = blocks[i].name.as_str();
        let suffix = old.and_then(|o| split_ref(o).2);
        if count.get(name).copied().unwrap_or(0) > 1 || suffix.is_some() {
            match suffix {
                Some(s) => format!("{name} {} {s}", version_of(i)),
                None => format!("{name} {}", version_of(i)),
            }
        } else {
            name.to_string()
        }
    };

    let nl = line_ending(text);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        if removed.contains(&i) {
            // The block, the blank line before it and its own line ending.
            let n = nl.len();
            let framed = b.start >= n
                && text.get(b.start - n..b.start) == Some(nl)
                && text.get(b.end..b.end + n) == Some(nl);
            edits.push(if framed {
                (b.start - n, b.end + n, String::new())
            } else {
                (b.start, b.end, String::new())
            });
            continue;
        }
        if i == t {
            continue;
        }
        let mut rendered: HashSet<String> = HashSet::new();
        for (r, span) in &b.deps {
            if let Some(j) = resolve(r).map(redirect) {
                let new = render(j, Some(r));
                if !rendered.insert(new.clone()) {
                    return not_fixable(format!(
                        "{} {} depends on both {pkg} {from} and {to}; not supported",
                        b.name, b.version
                    ));
                }
                if &new != r {
                    edits.push((span.0, span.1, new));
                }
            }
        }
    }
    if merge.is_some() {
        let mut changes = vec![FileChange {
            path: path.to_string(),
            content: apply_edits(text, edits).into_bytes(),
        }];
        changes.extend(manifest_changes(req, &to_v)?);
        return Ok(changes);
    }
    let b = &blocks[t];
    let (vs, ve) = b.version_line.ok_or_else(|| PatchError::NotFixable {
        reason: format!("{pkg} {from} has no version line"),
    })?;
    edits.push((vs, ve, format!("version = \"{to}\"")));
    match b.checksum_line {
        Some((cs, ce)) => edits.push((cs, ce, format!("checksum = \"{}\"", release.cksum))),
        None => {
            return not_fixable(format!("{pkg} {from} has no checksum line in {path}"));
        }
    }
    let old_refs: Vec<&str> = b.deps.iter().map(|(r, _)| r.as_str()).collect();
    let mut new_refs: Vec<(Option<Version>, String, String)> = new_deps
        .iter()
        .map(|&j| {
            let old = b
                .deps
                .iter()
                .find(|(r, _)| resolve(r) == Some(j))
                .map(|(r, _)| r.as_str());
            (
                semver_of(version_of(j)),
                blocks[j].name.clone(),
                render(j, old),
            )
        })
        .collect();
    new_refs.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    let new_refs: Vec<String> = new_refs.into_iter().map(|r| r.2).collect();
    if new_refs != old_refs {
        let list = if new_refs.is_empty() {
            String::new()
        } else {
            let mut s = format!("dependencies = [{nl}");
            for r in &new_refs {
                s.push_str(&format!(" \"{r}\",{nl}"));
            }
            s.push(']');
            s.push_str(nl);
            s
        };
        match b.deps_span {
            Some((s, e)) => {
                // Keep the file's last byte as it was when the list ends the file.
                let list = if e == text.len() && !text.ends_with('\n') {
                    list.trim_end_matches(['\n', '\r']).to_string()
                } else {
                    list
                };
                edits.push((s, e, list));
            }
            None => {
                let at = b.fields_end;
                let list = if at == text.len() && !text.ends_with('\n') {
                    format!("{nl}{}", list.trim_end_matches(['\n', '\r']))
                } else {
                    list
                };
                edits.push((at, at, list));
            }
        }
    }
    let new_lock = apply_edits(text, edits);

    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: new_lock.into_bytes(),
    }];
    changes.extend(manifest_changes(req, &to_v)?);
    Ok(changes)
}

/// The manifests to look at: the sibling `Cargo.toml` and the workspace members it lists by
/// path (globs cannot be listed without the tree and are skipped).
fn manifest_changes(req: &PatchRequest, to: &Version) -> Result<Vec<FileChange>, PatchError> {
    let root = sibling(req.manifest_path, "Cargo.toml");
    let mut paths = vec![root.clone()];
    if let Some(bytes) = (req.files)(&root) {
        if let Ok(doc) = std::str::from_utf8(&bytes)
            .unwrap_or("")
            .parse::<toml_edit::DocumentMut>()
        {
            let members = doc
                .get("workspace")
                .and_then(|w| w.get("members"))
                .and_then(|m| m.as_array());
            for m in members.into_iter().flatten().filter_map(|m| m.as_str()) {
                if !m.contains(['*', '?', '[']) {
                    let dir = dir_of(req.manifest_path);
                    let p = if dir.is_empty() {
                        format!("{}/Cargo.toml", m.trim_end_matches('/'))
                    } else {
                        format!("{dir}/{}/Cargo.toml", m.trim_end_matches('/'))
                    };
                    paths.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        let Some(bytes) = (req.files)(&p) else {
            continue;
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ParseError::new(&p, None, "the file is not valid UTF-8"))?;
        let mut doc = text.parse::<toml_edit::DocumentMut>().map_err(|e| {
            ParseError::new(
                &p,
                e.span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1)),
                e.message().to_string(),
            )
        })?;
        if bump_manifest(&mut doc, req.package, req.to, to, &p)? {
            out.push(FileChange {
                path: p,
                content: doc.to_string().into_bytes(),
            });
        }
    }
    Ok(out)
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn sibling(path: &str, name: &str) -> String {
    match dir_of(path) {
        "" => name.to_string(),
        d => format!("{d}/{name}"),
    }
}

/// Bumps every requirement on `pkg` in a manifest that excludes `to`; whether anything changed.
fn bump_manifest(
    doc: &mut toml_edit::DocumentMut,
    pkg: &str,
    to_s: &str,
    to: &Version,
    file: &str,
) -> Result<bool, PatchError> {
    const TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut changed = false;
    let root = doc.as_table_mut();
    for key in TABLES {
        if let Some(t) = root.get_mut(key).and_then(|i| i.as_table_like_mut()) {
            changed |= bump_table(t, pkg, to_s, to, file)?;
        }
    }
    if let Some(targets) = root.get_mut("target").and_then(|i| i.as_table_like_mut()) {
        for (_, target) in targets.iter_mut() {
            let Some(target) = target.as_table_like_mut() else {
                continue;
            };
            for key in TABLES {
                if let Some(t) = target.get_mut(key).and_then(|i| i.as_table_like_mut()) {
                    changed |= bump_table(t, pkg, to_s, to, file)?;
                }
            }
        }
    }
    if let Some(t) = root
        .get_mut("workspace")
        .and_then(|w| w.as_table_like_mut())
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(|d| d.as_table_like_mut())
    {
        changed |= bump_table(t, pkg, to_s, to, file)?;
    }
    Ok(changed)
}

fn bump_table(
    table: &mut dyn toml_edit::TableLike,
    pkg: &str,
    to_s: &str,
    to: &Version,
    file: &str,
) -> Result<bool, PatchError> {
    let mut changed = false;
    for (key, item) in table.iter_mut() {
        let real = item
            .get("package")
            .and_then(|p| p.as_str())
            .unwrap_or(key.get())
            .to_string();
        if real != pkg {
            continue;
        }
        let value = if item.is_str() {
            item.as_value_mut()
        } else {
            item.as_table_like_mut()
                .and_then(|t| t.get_mut("version"))
                .and_then(|v| v.as_value_mut())
        };
        let Some(value) = value else { continue };
        let Some(current) = value.as_str().map(str::to_string) else {
            continue;
        };
        let vreq = VersionReq::parse(&current).map_err(|e| PatchError::NotFixable {
            reason: format!("{file} requires {pkg} `{current}`, which backline cannot read: {e}"),
        })?;
        if vreq.matches(to) {
            continue;
        }
        let Some(new) = bumped_req(&current, to_s) else {
            return not_fixable(format!(
                "{file} requires {pkg} `{current}`, which excludes {to_s}; edit the requirement by hand"
            ));
        };
        let decor = value.decor().clone();
        *value = toml_edit::Value::from(new);
        *value.decor_mut() = decor;
        changed = true;
    }
    Ok(changed)
}

/// `=1.5.4` → `=1.5.5`, `~1.5.4` → `~1.5.5`, `^0.4` / `0.4` → `^1.0.0` / `1.0.0`; `None` for
/// anything but a single comparator of those kinds.
fn bumped_req(req: &str, to: &str) -> Option<String> {
    let t = req.trim();
    let (op, rest) = match t.chars().next()? {
        '=' | '~' | '^' => (&t[..1], t[1..].trim_start()),
        _ => ("", t),
    };
    let simple = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && !rest.contains(['x', 'X', '*']);
    simple.then(|| format!("{op}{to}"))
}

#[cfg(test)]
mod tests {
    use super::super::{patch, PatchError, PatchRequest, RegistryFacts};
    use crate::registry::{CrateDep, CrateRelease, DepKind};

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "aho-corasick"
version = "0.7.18"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1e37cfd5e7657ada45f742d6e99ca5788580b5c529dc78faf11ece6dc702656f"
dependencies = [
 "memchr",
]

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "regex",
]

[[package]]
name = "memchr"
version = "2.4.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "308cc39be01b73d0d18f82a0e7b2a3df85245f84af96fdddc5d202d27e47b86a"

[[package]]
name = "regex"
version = "1.5.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461"
dependencies = [
 "aho-corasick",
 "memchr",
 "regex-syntax",
]

[[package]]
name = "regex-syntax"
version = "0.6.25"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f497285884f3fcff424ffc933e56d7cbca511def0c9831a7f9b5f6153e3cc89b"
"#;

    fn dep(name: &str, req: &str, optional: bool) -> CrateDep {
        CrateDep {
            name: name.into(),
            req: req.into(),
            kind: DepKind::Normal,
            optional,
        }
    }

    fn regex_155(memchr_req: &str) -> CrateRelease {
        CrateRelease {
            name: "regex".into(),
            version: "1.5.5".into(),
            cksum: "1a11647b6b25ff05a515cb92c365cec08801e83423a235b51e231e1808747286".into(),
            yanked: false,
            deps: vec![
                dep("aho-corasick", "^0.7.18", true),
                dep("memchr", memchr_req, true),
                dep("regex-syntax", "^0.6.25", false),
                CrateDep {
                    kind: DepKind::Dev,
                    ..dep("quickcheck", "^1.0.3", false)
                },
            ],
        }
    }

    fn run(
        lock: &str,
        manifest: Option<&str>,
        release: CrateRelease,
    ) -> Result<Vec<(String, String)>, PatchError> {
        let lock = lock.to_string();
        let manifest = manifest.map(str::to_string);
        let files = move |p: &str| match p {
            "Cargo.lock" => Some(lock.clone().into_bytes()),
            "Cargo.toml" => manifest.clone().map(String::into_bytes),
            _ => None,
        };
        let facts = RegistryFacts {
            crate_release: Some(release.clone()),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: "Cargo.lock",
            package: &release.name,
            from: "1.5.4",
            to: &release.version,
            direct: true,
            files: &files,
            facts: &facts,
        };
        patch(&req).map(|cs| {
            cs.into_iter()
                .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
                .collect()
        })
    }

    #[test]
    fn bumps_version_and_checksum_only() {
        let out = run(
            LOCK,
            Some("[dependencies]\nregex = \"1.5\"\n"),
            regex_155("^2.4.0"),
        )
        .unwrap();
        assert_eq!(out.len(), 1, "a caret requirement allowing 1.5.5 stays");
        let expected = LOCK
            .replace("version = \"1.5.4\"", "version = \"1.5.5\"")
            .replace(
                "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461",
                "1a11647b6b25ff05a515cb92c365cec08801e83423a235b51e231e1808747286",
            );
        assert_eq!(out[0], ("Cargo.lock".to_string(), expected));
    }

    #[test]
    fn unsatisfied_requirement_is_not_fixable() {
        let e = run(LOCK, None, regex_155("^2.5.0")).unwrap_err();
        assert_eq!(
            e,
            PatchError::NotFixable {
                reason: "regex 1.5.5 needs `memchr` ^2.5.0, the lockfile has 2.4.1".into()
            }
        );
        let mut r = regex_155("^2.4.0");
        r.deps.push(dep("thread_local", "^1", false));
        let e = run(LOCK, None, r).unwrap_err();
        assert!(
            e.to_string()
                .contains("needs `thread_local` ^1, which the lockfile does not have"),
            "{e}"
        );
        let mut r = regex_155("^2.4.0");
        r.yanked = true;
        assert!(run(LOCK, None, r)
            .unwrap_err()
            .to_string()
            .contains("yanked"));
    }

    #[test]
    fn exact_and_tilde_requirements_are_bumped_in_place() {
        let manifest = "[package]\nname = \"app\"\n\n[dependencies]\nregex = { version = \"=1.5.4\", default-features = false } # pinned\n\n[build-dependencies]\nre = { package = \"regex\", version = '~1.4.0' }\n[dev-dependencies.regex]\nversion = \"1\"\n";
        let out = run(LOCK, Some(manifest), regex_155("^2.4.0")).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1].1,
            "[package]\nname = \"app\"\n\n[dependencies]\nregex = { version = \"=1.5.5\", default-features = false } # pinned\n\n[build-dependencies]\nre = { package = \"regex\", version = \"~1.5.5\" }\n[dev-dependencies.regex]\nversion = \"1\"\n"
        );
        let e = run(
            LOCK,
            Some("[dependencies]\nregex = \">=1, <1.5.5\"\n"),
            regex_155("^2.4.0"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("edit the requirement by hand"),
            "{e}"
        );
    }

    #[test]
    fn dropped_dependencies_and_orphans_are_removed() {
        // 1.5.5 without aho-corasick: its entry goes, and so does the reference.
        let mut r = regex_155("^2.4.0");
        r.deps.retain(|d| d.name != "aho-corasick");
        let out = run(LOCK, None, r).unwrap();
        let lock = &out[0].1;
        assert!(!lock.contains("aho-corasick"), "{lock}");
        assert!(lock.starts_with("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n\n[[package]]\nname = \"app\""), "{lock}");
        assert!(lock.contains("dependencies = [\n \"memchr\",\n \"regex-syntax\",\n]\n\n[[package]]\nname = \"regex-syntax\""), "{lock}");
    }

    #[test]
    fn ambiguous_references_follow_the_version() {
        let lock = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa 0.4.8\",\n \"itoa 1.0.1\",\n]\n\n\
[[package]]\nname = \"itoa\"\nversion = \"0.4.8\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"aa\"\n\n\
[[package]]\nname = \"itoa\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"bb\"\n";
        let r = CrateRelease {
            name: "itoa".into(),
            version: "1.0.2".into(),
            cksum: "cc".into(),
            yanked: false,
            deps: vec![],
        };
        let files = |p: &str| (p == "Cargo.lock").then(|| lock.as_bytes().to_vec());
        let facts = RegistryFacts {
            crate_release: Some(r),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: "Cargo.lock",
            package: "itoa",
            from: "1.0.1",
            to: "1.0.2",
            direct: true,
            files: &files,
            facts: &facts,
        };
        let out = patch(&req).unwrap();
        assert_eq!(
            String::from_utf8(out[0].content.clone()).unwrap(),
            lock.replace("itoa 1.0.1", "itoa 1.0.2")
                .replace("version = \"1.0.1\"", "version = \"1.0.2\"")
                .replace("\"bb\"", "\"cc\"")
        );
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts {
            crate_release: Some(regex_155("^2.4.0")),
            ..Default::default()
        };
        super::super::assert_no_panic("Cargo.lock", LOCK, "regex", "1.5.4", "1.5.5", &facts);
    }

    #[test]
    fn dependents_requirements_are_checked() {
        use super::super::cargo_dependents;
        assert_eq!(
            cargo_dependents(LOCK.as_bytes(), "memchr", "2.4.1"),
            vec![
                ("aho-corasick".to_string(), "0.7.18".to_string()),
                ("regex".to_string(), "1.5.4".to_string())
            ]
        );
        let memchr = CrateRelease {
            name: "memchr".into(),
            version: "2.5.0".into(),
            cksum: "2dffe52ecf27772e601905b7522cb4ef790d2cc203488bbd0e2fe85fcb74566d".into(),
            yanked: false,
            deps: vec![],
        };
        let mut aho = CrateRelease {
            name: "aho-corasick".into(),
            version: "0.7.18".into(),
            cksum: String::new(),
            yanked: false,
            deps: vec![dep("memchr", "^2.4.0", false)],
        };
        let regex = CrateRelease {
            version: "1.5.4".into(),
            ..regex_155("^2.4.0")
        };
        let files = |p: &str| (p == "Cargo.lock").then(|| LOCK.as_bytes().to_vec());
        let attempt = |dependents: Option<Vec<CrateRelease>>| {
            let facts = RegistryFacts {
                crate_release: Some(memchr.clone()),
                crate_dependents: dependents,
                ..Default::default()
            };
            let req = PatchRequest {
                manifest_path: "Cargo.lock",
                package: "memchr",
                from: "2.4.1",
                to: "2.5.0",
                direct: false,
                files: &files,
                facts: &facts,
            };
            patch(&req)
        };
        assert!(attempt(Some(vec![aho.clone(), regex.clone()])).is_ok());
        assert!(attempt(None).is_ok(), "unchecked without the facts");
        let e = attempt(Some(vec![aho.clone()])).unwrap_err();
        assert!(
            e.to_string().contains("the index entry of regex 1.5.4"),
            "{e}"
        );
        aho.deps[0].req = "=2.4.1".into();
        let e = attempt(Some(vec![aho, regex])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: aho-corasick 0.7.18 requires memchr `=2.4.1`, which excludes 2.5.0; upgrade aho-corasick too"
        );
    }

    #[test]
    fn an_old_copy_merges_into_the_locked_new_version() {
        let lock = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"aa\"\ndependencies = [\n \"syn 1.0.1\",\n]\n\n\
[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n \"syn 1.0.2\",\n]\n\n\
[[package]]\nname = \"syn\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"s1\"\ndependencies = [\n \"unicode\",\n]\n\n\
[[package]]\nname = \"syn\"\nversion = \"1.0.2\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"s2\"\n\n\
[[package]]\nname = \"unicode\"\nversion = \"0.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"u\"\n";
        let files = |p: &str| (p == "Cargo.lock").then(|| lock.as_bytes().to_vec());
        let facts = RegistryFacts {
            crate_release: Some(CrateRelease {
                name: "syn".into(),
                version: "1.0.2".into(),
                cksum: "s2".into(),
                yanked: false,
                deps: vec![],
            }),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: "Cargo.lock",
            package: "syn",
            from: "1.0.1",
            to: "1.0.2",
            direct: false,
            files: &files,
            facts: &facts,
        };
        let out = patch(&req).unwrap();
        assert_eq!(
            String::from_utf8(out[0].content.clone()).unwrap(),
            "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"aa\"\ndependencies = [\n \"syn\",\n]\n\n\
[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n \"syn\",\n]\n\n\
[[package]]\nname = \"syn\"\nversion = \"1.0.2\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"s2\"\n"
        );
    }

    #[test]
    fn refusals() {
        let e = run(
            LOCK.replace("1.5.4", "1.5.3").as_str(),
            None,
            regex_155("^2"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("has no registry package regex 1.5.4"),
            "{e}"
        );
        let files = |_: &str| Some(b"version = 3\n[[package]]\nname = 1\n".to_vec());
        let facts = RegistryFacts::default();
        let req = PatchRequest {
            manifest_path: "Cargo.lock",
            package: "a",
            from: "1",
            to: "2",
            direct: false,
            files: &files,
            facts: &facts,
        };
        assert!(matches!(patch(&req), Err(PatchError::Unreadable(_))));
    }

    /// Issue 13 in Cargo.lock: smallvec locked twice; `old-dep` requires `^0.6`, which excludes
    /// the fix 1.6.1, so 0.6.13 is left naming it and 1.6.0 alone moves.
    #[test]
    fn two_copies_move_where_every_dependent_allows() {
        use super::super::{patch_copies, CopiesRequest, PlacedCopy};
        let reg = "source = \"registry+https://github.com/rust-lang/crates.io-index\"";
        let lock = format!(
            "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"old-dep\",\n \"smallvec 1.6.0\",\n]\n\n\
[[package]]\nname = \"old-dep\"\nversion = \"0.3.0\"\n{reg}\nchecksum = \"od\"\ndependencies = [\n \"smallvec 0.6.13\",\n]\n\n\
[[package]]\nname = \"smallvec\"\nversion = \"0.6.13\"\n{reg}\nchecksum = \"s0\"\n\n\
[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\n{reg}\nchecksum = \"s1\"\n"
        );
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nold-dep = \"0.3\"\nsmallvec = \"1\"\n";
        let files = |p: &str| match p {
            "Cargo.lock" => Some(lock.clone().into_bytes()),
            "Cargo.toml" => Some(manifest.as_bytes().to_vec()),
            _ => None,
        };
        let fixed = CrateRelease {
            name: "smallvec".into(),
            version: "1.6.1".into(),
            cksum: "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e".into(),
            yanked: false,
            deps: vec![],
        };
        let old_dep = CrateRelease {
            name: "old-dep".into(),
            version: "0.3.0".into(),
            cksum: "od".into(),
            yanked: false,
            deps: vec![dep("smallvec", "^0.6", false)],
        };
        let facts = |dependents: Vec<CrateRelease>| RegistryFacts {
            crate_release: Some(fixed.clone()),
            crate_dependents: Some(dependents),
            ..Default::default()
        };
        let copies = vec![
            ("0.6.13".to_string(), facts(vec![old_dep])),
            ("1.6.0".to_string(), facts(vec![])),
        ];
        let out = patch_copies(&CopiesRequest {
            manifest_path: "Cargo.lock",
            package: "smallvec",
            to: "1.6.1",
            direct: true,
            files: &files,
            copies: &copies,
        })
        .unwrap();
        assert_eq!(
            out.moved,
            vec![PlacedCopy {
                version: "1.6.0".into(),
                paths: vec![]
            }]
        );
        assert_eq!(out.left.len(), 1);
        assert_eq!(
            out.left[0].1,
            "needs old-dep to allow smallvec >= 1.6.1 (old-dep 0.3.0 requires smallvec `^0.6`, which excludes 1.6.1; upgrade old-dep too)"
        );
        let new = String::from_utf8(out.changes[0].content.clone()).unwrap();
        assert_eq!(
            new,
            lock.replace("\"smallvec 1.6.0\"", "\"smallvec 1.6.1\"")
                .replace(
                    "version = \"1.6.0\"\n{reg}\nchecksum = \"s1\""
                        .replace("{reg}", reg)
                        .as_str(),
                    format!("version = \"1.6.1\"\n{reg}\nchecksum = \"{}\"", fixed.cksum).as_str()
                ),
        );
        assert!(
            new.contains("\"smallvec 0.6.13\""),
            "the excluded copy stays: {new}"
        );
    }
}
