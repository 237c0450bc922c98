//! Yarn berry (v2+) `yarn.lock`: moves a package to another version as yarn 4 would write it.
//!
//! Every entry resolving `pkg@npm:<from>` gets `version`, `resolution`, `dependencies`
//! (the registry manifest's `dependencies` and `optionalDependencies`, as `npm:` descriptors),
//! `peerDependencies` and `dependenciesMeta` (`optional: true` per optional dependency) of the
//! new version, and loses its `checksum`: yarn's checksum is the SHA-512 of the zip archive
//! yarn builds from the npm tarball (not of the tarball; see tests/data/yarn-berry/README.md),
//! and `yarn install --immutable` accepts an entry without one, computing it on fetch
//! (proved by the real tool in `scripts/real-tool-proofs`).
//!
//! A descriptor whose range excludes the new version is bumped together with the root
//! `package.json` when the root workspace declares exactly it; otherwise the package that
//! declares it is the parent that must move first (or, under an override, every descriptor
//! becomes `pkg@npm:<to>`, as yarn writes a `resolutions` pin). Each dependency descriptor
//! of the new version must be locked already (a new descriptor joins an entry whose version
//! it admits); descriptors no package needs any more are removed, and entries left without
//! descriptors with them. An entry left resolving what another entry resolves merges into it.

use serde_json::Value;

use super::berry_lock::{with_protocol, Entry, FieldValue, Lock};
use crate::deps::yarn::split_spec;
use crate::deps::ParseError;
use crate::ecosystems::npm::json::{quote, scan};
use crate::ecosystems::npm::range::{bumped, satisfies};
use crate::registry::NpmRelease;
use crate::remediation::patch::{
    apply_edits, not_fixable, npm_release_wanted, sibling, FileChange, ParentRule, PatchError,
    PatchRequest,
};

/// Whether a `yarn.lock` is berry's YAML form.
pub(crate) fn is_berry(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("__metadata:"))
}

/// The npm range of a descriptor `name@npm:range` (`None` for other protocols and aliases).
fn npm_range(descriptor: &str) -> Option<(&str, &str)> {
    let (name, reference) = split_spec(descriptor);
    let range = reference.strip_prefix("npm:")?;
    if range.contains('@') || name.is_empty() {
        return None;
    }
    Some((name, range))
}

/// The descriptors of the entries of `pkg` at `version` (where it is installed).
pub(crate) fn copy_paths(text: &str, pkg: &str, version: &str) -> Vec<String> {
    let Ok(lock) = Lock::parse(text) else {
        return Vec::new();
    };
    let resolution = format!("{pkg}@npm:{version}");
    lock.entries
        .iter()
        .filter(|e| e.resolution() == Some(resolution.as_str()))
        .map(Entry::key)
        .collect()
}

/// A dependency value as the lock writes it (`npm:` before a plain range in yarn 4's locks).
fn lock_reference(lock: &Lock, range: &str) -> Option<String> {
    if range.contains(':') || range.contains('/') {
        return None;
    }
    Some(lock.reference(range))
}

/// The fields the registry manifest of the new version gives.
fn manifest_fields(
    lock: &Lock,
    release: &NpmRelease,
) -> Result<Vec<(&'static str, Option<FieldValue>)>, PatchError> {
    let mut deps = Vec::new();
    for (n, r) in release
        .dependencies
        .iter()
        .chain(release.optional_dependencies.iter())
    {
        let Some(reference) = lock_reference(lock, r) else {
            return not_fixable(format!(
                "{} {} depends on {n} `{r}`, which is not an npm range; yarn.lock would need an entry backline cannot write",
                release.name, release.version
            ));
        };
        deps.push((n.clone(), reference));
    }
    deps.sort();
    deps.dedup_by(|a, b| a.0 == b.0);
    let peers: Vec<(String, String)> = release
        .peer_dependencies
        .iter()
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    let meta: String = release
        .optional_dependencies
        .keys()
        .map(|n| {
            format!(
                "    {}:\n      optional: true\n",
                super::berry_lock::syml_string(n)
            )
        })
        .collect();
    let some_map = |m: Vec<(String, String)>| (!m.is_empty()).then_some(FieldValue::Map(m));
    Ok(vec![
        ("version", Some(FieldValue::Scalar(release.version.clone()))),
        (
            "resolution",
            Some(FieldValue::Scalar(format!(
                "{}@npm:{}",
                release.name, release.version
            ))),
        ),
        ("dependencies", some_map(deps)),
        ("peerDependencies", some_map(peers)),
        (
            "dependenciesMeta",
            (!meta.is_empty()).then_some(FieldValue::Raw(meta)),
        ),
        ("checksum", None),
    ])
}

/// The root workspace's entry (`name@workspace:.`).
fn root_workspace(lock: &Lock) -> Option<usize> {
    lock.entries
        .iter()
        .position(|e| e.resolution().is_some_and(|r| r.ends_with("@workspace:.")))
}

/// Edits a berry `yarn.lock` (and the root `package.json` when a direct range moves).
pub(crate) fn patch(
    req: &PatchRequest,
    text: &str,
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    let mut lock = Lock::parse(text).map_err(|e| {
        ParseError::new(
            path,
            Some(e.line),
            format!("could not parse {path} at line {}: {}", e.line, e.reason),
        )
    })?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let release = npm_release_wanted(req)?;
    let old_resolution = format!("{pkg}@npm:{from}");
    let new_resolution = format!("{pkg}@npm:{to}");
    let targets: Vec<usize> = (0..lock.entries.len())
        .filter(|i| lock.entries[*i].resolution() == Some(old_resolution.as_str()))
        .collect();
    if targets.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }
    let fields = manifest_fields(&lock, release)?;

    let pj_path = sibling(path, "package.json");
    let pj_text = (req.files)(&pj_path).and_then(|b| String::from_utf8(b).ok());
    let pj_tree = pj_text.as_deref().and_then(scan);
    let mut pj_edits: Vec<(usize, usize, String)> = Vec::new();
    let root = root_workspace(&lock);

    for &t in &targets {
        let old_deps = lock.entries[t].dependency_descriptors();
        let mut descriptors = Vec::new();
        for d in lock.entries[t].descriptors.clone() {
            let Some((_, range)) = npm_range(&d) else {
                return not_fixable(format!(
                    "{path}: the descriptor `{d}` is not a plain npm range, which backline does not edit"
                ));
            };
            if *rule == ParentRule::Override {
                // yarn writes the pinned descriptor in place of every range (`resolutions`).
                descriptors.push(new_resolution.clone());
                continue;
            }
            match satisfies(range, to) {
                Some(true) => {
                    descriptors.push(d);
                    continue;
                }
                None => {
                    return not_fixable(format!(
                        "{path}: the range of `{d}` cannot be read by backline"
                    ))
                }
                Some(false) => {}
            }
            let reference = format!("npm:{range}");
            let declared_by_root = root.is_some_and(|r| {
                lock.entries[r]
                    .map("dependencies")
                    .unwrap_or_default()
                    .iter()
                    .any(|(n, v)| n == pkg && with_protocol(v) == reference)
            });
            let pj = pj_text.as_deref().unwrap_or("");
            let node = pj_tree.as_ref().and_then(|tree| {
                ["dependencies", "devDependencies", "optionalDependencies"]
                    .iter()
                    .find_map(|k| tree.get(k).and_then(|m| m.get(pkg)))
                    .filter(|n| {
                        let (s, e) = n.span();
                        serde_json::from_str::<Value>(&pj[s..e])
                            .ok()
                            .and_then(|v| v.as_str().map(|v| v == range || v == reference))
                            .unwrap_or(false)
                    })
            });
            match (declared_by_root, node) {
                (true, Some(node)) => {
                    let Some(new_range) = bumped(range, to) else {
                        return not_fixable(format!(
                            "the project requires {pkg} `{range}`, which excludes {to}; edit the range by hand"
                        ));
                    };
                    let (s, e) = node.span();
                    pj_edits.push((s, e, quote(&new_range)));
                    if let Some(r) = root {
                        let new_value = lock.reference(&new_range);
                        rewrite_dependency(&mut lock.entries[r], pkg, &reference, &new_value);
                    }
                    descriptors.push(format!("{pkg}@npm:{new_range}"));
                }
                _ => {
                    let declaring = lock
                        .entries
                        .iter()
                        .find(|p| p.dependency_descriptors().contains(&d));
                    let parent = declaring
                        .and_then(|p| p.resolution())
                        .map(|r| split_spec(r).0.to_string())
                        .unwrap_or_else(|| format!("the package that requires `{d}`"));
                    let parent_version = declaring
                        .and_then(|p| p.scalar("version"))
                        .unwrap_or_default()
                        .to_string();
                    if rule.lets_pass(&parent, &parent_version) {
                        descriptors.push(d);
                        continue;
                    }
                    return Err(PatchError::ParentExcludes {
                        parent,
                        at: Box::new(crate::remediation::patch::ParentRange {
                            version: parent_version,
                            range: range.to_string(),
                        }),
                        package: pkg.to_string(),
                        to: to.to_string(),
                        message: format!(
                            "yarn.lock entry `{d}` excludes {to}; upgrade the package that requires it"
                        ),
                    });
                }
            }
        }
        let entry = &mut lock.entries[t];
        entry.descriptors = descriptors;
        for (name, value) in &fields {
            entry.set(name, value.clone());
        }
        let new_deps = entry.dependency_descriptors();
        for d in &new_deps {
            lock_descriptor(&mut lock, d, pkg, to)?;
        }
        let dropped: Vec<String> = old_deps
            .into_iter()
            .filter(|d| !new_deps.contains(d))
            .collect();
        prune(&mut lock, dropped);
    }
    merge_same_resolution(&mut lock, &new_resolution);

    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: lock.render().into_bytes(),
    }];
    if let (false, Some(pj)) = (pj_edits.is_empty(), pj_text) {
        changes.push(FileChange {
            path: pj_path,
            content: apply_edits(&pj, pj_edits).into_bytes(),
        });
    }
    Ok(changes)
}

/// Rewrites one `dependencies` value of an entry.
fn rewrite_dependency(entry: &mut Entry, name: &str, old: &str, new: &str) {
    for f in &mut entry.fields {
        if let (true, FieldValue::Map(m)) = (f.name == "dependencies", &mut f.value) {
            for (n, v) in m.iter_mut() {
                if n == name && with_protocol(v) == old {
                    *v = new.to_string();
                }
            }
        }
    }
}

/// Makes sure descriptor `d` is a key of some entry: an entry whose version its range admits
/// takes it (the highest such version), else the patch is refused.
fn lock_descriptor(lock: &mut Lock, d: &str, pkg: &str, to: &str) -> Result<(), PatchError> {
    if lock
        .entries
        .iter()
        .any(|e| e.descriptors.iter().any(|x| x == d))
    {
        return Ok(());
    }
    let Some((name, range)) = npm_range(d) else {
        return not_fixable(format!(
            "{pkg} {to} needs `{d}`, which yarn.lock does not lock"
        ));
    };
    let best = lock
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let (n, reference) = split_spec(e.resolution()?);
            let v = reference.strip_prefix("npm:")?;
            (n == name && satisfies(range, v) == Some(true))
                .then(|| Some((semver::Version::parse(v).ok()?, i)))
                .flatten()
        })
        .max();
    match best {
        Some((_, i)) => {
            lock.entries[i].descriptors.push(d.to_string());
            Ok(())
        }
        None => not_fixable(format!(
            "{pkg} {to} needs {name} `{range}`, which no yarn.lock entry satisfies; entries would have to be added, which is not supported yet"
        )),
    }
}

/// Removes the descriptors in `dropped` that no entry depends on any more, and the entries
/// left without descriptors (whose own dependencies are then looked at the same way).
fn prune(lock: &mut Lock, mut dropped: Vec<String>) {
    while let Some(d) = dropped.pop() {
        if lock
            .entries
            .iter()
            .any(|e| e.dependency_descriptors().contains(&d))
        {
            continue;
        }
        let Some(i) = lock.entries.iter().position(|e| e.descriptors.contains(&d)) else {
            continue;
        };
        lock.entries[i].descriptors.retain(|x| *x != d);
        if lock.entries[i].descriptors.is_empty() {
            let gone = lock.entries.remove(i);
            dropped.extend(gone.dependency_descriptors());
        }
    }
}

/// Entries resolving the same package version become one, their descriptors together.
fn merge_same_resolution(lock: &mut Lock, resolution: &str) {
    let same: Vec<usize> = (0..lock.entries.len())
        .filter(|i| lock.entries[*i].resolution() == Some(resolution))
        .collect();
    if let Some((&keep, rest)) = same.split_first() {
        for &i in rest.iter().rev() {
            let gone = lock.entries.remove(i);
            lock.entries[keep].descriptors.extend(gone.descriptors);
        }
        lock.entries[keep].descriptors.sort();
        lock.entries[keep].descriptors.dedup();
    }
}
