//! `pnpm-lock.yaml` v6 (`lockfileVersion: '6.0'`, pnpm 8) and v9 (`'9.0'`, pnpm 9), and
//! `package.json` when a direct specifier excludes the new version.
//!
//! pnpm writes the file in one layout (two-space steps, `packages:` and, in v9, `snapshots:`
//! keyed `name@version(peers)`, `/name@version` in v6), so edits are made line by line at the
//! exact spans, keeping every other byte:
//! - every `packages`/`snapshots` key of the package at the old version gets the new version
//!   (its peer suffix kept), and every key or reference naming it as a peer (`(pkg@old)`) too;
//! - the `resolution: {integrity: ...}` of the moved `packages` entry gets the registry's;
//! - every dependency reference to it (importers' `version:`, snapshots' and v6 packages'
//!   `dependencies`/`optionalDependencies`) moves; a direct `specifier:` that excludes the new
//!   version is bumped in its style, with package.json;
//! - with an override (issue 18), the lock's top-level `overrides:` gets the pin too.
//!
//! Refused (not fixable, with the reason): v5 and other lockfile versions, a resolution that is
//! not the registry's integrity, a new version whose dependencies differ from what the entry
//! locks (entries would have to be added or pruned), a parent whose range (from its registry
//! entry) excludes the new version, and a rename that would change the order pnpm sorts keys
//! in (another copy of the package between).

use serde_norway::Value;

use crate::deps::pnpm::{parse_key, strip_peers};
use crate::deps::{self, ParseError};
use crate::ecosystems::npm::json::{quote, scan};
use crate::ecosystems::npm::range::{bumped, satisfies};
use crate::registry::NpmRelease;
use crate::remediation::patch::{
    apply_edits, lines_with_offsets, not_fixable, npm_release_wanted, parent_excludes, FileChange,
    ParentRule, PatchError, PatchRequest,
};

/// The two layouts edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `lockfileVersion: '6.0'`: keys `/name@version`, dependencies in `packages`.
    V6,
    /// `lockfileVersion: '9.0'`: keys `name@version`, dependencies in `snapshots`.
    V9,
}

fn layout(doc: &Value) -> Result<Layout, PatchError> {
    let v = match doc.get("lockfileVersion") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match v.split('.').next() {
        Some("6") => Ok(Layout::V6),
        Some("9") => Ok(Layout::V9),
        _ => not_fixable(format!(
            "editing pnpm-lock.yaml lockfileVersion {v} is not supported (v6 and v9 are)"
        )),
    }
}

/// A key as written (unquoted, or in single quotes as pnpm quotes `@scope/...` keys).
fn unquote_key(k: &str) -> &str {
    k.strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .unwrap_or(k)
}

/// The locked packages (name, version) that depend on `pkg` at `from` (their registry entries
/// give the ranges to check): from v9 `snapshots`, or v6 `packages`. Empty when unreadable.
pub(crate) fn dependents(bytes: &[u8], pkg: &str, from: &str) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(doc) = serde_norway::from_str::<Value>(text) else {
        return Vec::new();
    };
    let Ok(layout) = layout(&doc) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = graph(&doc, layout)
        .into_iter()
        .filter(|(_, deps)| {
            deps.iter()
                .any(|(n, r)| n == pkg && strip_peers(r, false) == from)
        })
        .map(|(k, _)| k)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A locked package (name, version) and its dependency references (name, reference).
type Node = ((String, String), Vec<(String, String)>);

/// Each locked package with its dependency references.
fn graph(doc: &Value, layout: Layout) -> Vec<Node> {
    let section = match layout {
        Layout::V6 => "packages",
        Layout::V9 => "snapshots",
    };
    let Some(map) = doc.get(section).and_then(Value::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, e)| {
            let key = parse_key(k.as_str()?, false)?;
            let deps = ["dependencies", "optionalDependencies"]
                .iter()
                .filter_map(|kind| e.get(*kind).and_then(Value::as_mapping))
                .flat_map(|m| m.iter())
                .filter_map(|(n, r)| Some((n.as_str()?.to_string(), scalar(r)?)))
                .collect();
            Some((key, deps))
        })
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `pkg@from` with `from` replaced in a key or reference text (peer suffixes kept):
/// the key's own version when it is the package's, and every `(pkg@from)` peer mention.
fn moved_text(text: &str, pkg: &str, from: &str, to: &str, own: bool) -> String {
    let mut s = text.to_string();
    if own {
        let lead = if s.starts_with('/') { "/" } else { "" };
        let old = format!("{lead}{pkg}@{from}");
        if let Some(rest) = s.strip_prefix(&old) {
            if rest.is_empty() || rest.starts_with('(') {
                s = format!("{lead}{pkg}@{to}{rest}");
            }
        }
    }
    for close in [")", "("] {
        s = s.replace(
            &format!("({pkg}@{from}{close}"),
            &format!("({pkg}@{to}{close}"),
        );
    }
    s
}

/// Edits a `pnpm-lock.yaml`.
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| ParseError::new(path, None, e.to_string()))?;
    let layout = layout(&doc)?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let release = npm_release_wanted(req)?;
    let packages = doc.get("packages").and_then(Value::as_mapping);
    let own_keys: Vec<&str> = packages
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str())
        .filter(|k| parse_key(k, false) == Some((pkg.to_string(), from.to_string())))
        .collect();
    if own_keys.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }
    for k in &own_keys {
        let entry = packages.and_then(|p| p.get(*k));
        let resolution = entry.and_then(|e| e.get("resolution"));
        let registry_only = resolution
            .and_then(Value::as_mapping)
            .is_some_and(|m| m.len() == 1 && m.get("integrity").is_some());
        if !registry_only {
            return not_fixable(format!(
                "{pkg} {from} in {path} is not resolved from the registry by integrity alone"
            ));
        }
    }
    check_new_dependencies(&doc, layout, pkg, from, to, release)?;
    check_parents(&doc, layout, req, rule)?;
    check_order(&doc, pkg, from, to)?;

    // package.json's specifiers, edited when an importer's specifier is bumped.
    let pj_path = sibling(path, "package.json");
    let pj_text = (req.files)(&pj_path).and_then(|b| String::from_utf8(b).ok());
    let mut pj_edits: Vec<(usize, usize, String)> = Vec::new();

    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // The path of keys down to each line, by indentation (two spaces a level).
    let mut stack: Vec<String> = Vec::new();
    let mut pending_spec: Option<(usize, usize, String, String)> = None;
    for (off, raw) in lines_with_offsets(text) {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let level = indent / 2;
        let body = &line[indent..];
        let Some((key_raw, value)) = split_key(body) else {
            continue;
        };
        stack.truncate(level);
        let key = unquote_key(key_raw).to_string();
        let top = stack.first().map(String::as_str);
        let value_span = (off + line.len() - value.len(), off + line.len());
        // Keys of `packages`/`snapshots` entries.
        if level == 1 && matches!(top, Some("packages" | "snapshots")) {
            let new = moved_text(&key, pkg, from, to, true);
            if new != key {
                let quoted = key_raw.starts_with('\'');
                let new_raw = if quoted { format!("'{new}'") } else { new };
                edits.push((off + indent, off + indent + key_raw.len(), new_raw));
            }
        }
        // The moved entry's resolution.
        if level == 2
            && top == Some("packages")
            && key == "resolution"
            && stack
                .get(1)
                .is_some_and(|k| parse_key(k, false) == Some((pkg.to_string(), from.to_string())))
        {
            edits.push((
                value_span.0,
                value_span.1,
                format!("{{integrity: {}}}", release.integrity),
            ));
        }
        // Dependency references in `packages` (v6) and `snapshots` (v9).
        if level == 3
            && matches!(top, Some("packages" | "snapshots"))
            && matches!(
                stack.get(2).map(String::as_str),
                Some("dependencies" | "optionalDependencies")
            )
        {
            let v = unquote_key(value);
            let new = moved_text(v, pkg, from, to, false);
            let new = if key == pkg && strip_peers(v, false) == from {
                format!("{to}{}", &v[from.len()..])
            } else {
                new
            };
            if new != v {
                edits.push((value_span.0, value_span.1, new));
            }
        }
        // Importers: `importers.<path>.<kind>.<name>.{specifier,version}` (v6 workspaces and
        // v9), or `<kind>.<name>.{...}` at the top (v6 single project).
        let importer = match (top, layout) {
            (Some("importers"), _) if level == 4 => Some((stack[1].clone(), 2)),
            (Some("dependencies" | "devDependencies" | "optionalDependencies"), Layout::V6)
                if level == 2 =>
            {
                Some((".".to_string(), 0))
            }
            _ => None,
        };
        if let Some((importer_path, at)) = importer {
            let kind = stack.get(at).map(String::as_str).unwrap_or("");
            let name = stack.get(at + 1).map(String::as_str).unwrap_or("");
            if name == pkg
                && matches!(
                    kind,
                    "dependencies" | "devDependencies" | "optionalDependencies"
                )
            {
                match key.as_str() {
                    "specifier" => {
                        pending_spec = Some((
                            value_span.0,
                            value_span.1,
                            unquote_yaml(value),
                            importer_path.clone(),
                        ))
                    }
                    "version" => {
                        let v = unquote_key(value);
                        if strip_peers(v, false) == from {
                            edits.push((
                                value_span.0,
                                value_span.1,
                                format!("{to}{}", &v[from.len()..]),
                            ));
                            if let Some((s, e, spec, imp)) = pending_spec.take() {
                                spec_edit(
                                    req,
                                    &spec,
                                    (s, e),
                                    &imp,
                                    kind,
                                    &pj_path,
                                    &pj_text,
                                    &mut edits,
                                    &mut pj_edits,
                                )?;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // Overrides already in the lock (`overrides.<name>`).
        if level == 1 && top == Some("overrides") && key == pkg && *rule == ParentRule::Override {
            edits.push((value_span.0, value_span.1, to.to_string()));
        }
        stack.push(key);
    }
    let mut new_text = apply_edits(text, edits);
    if *rule == ParentRule::Override && doc.get("overrides").and_then(|o| o.get(pkg)).is_none() {
        new_text = add_override(&new_text, pkg, to);
    }
    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: new_text.into_bytes(),
    }];
    if let (false, Some(pj)) = (pj_edits.is_empty(), pj_text) {
        changes.push(FileChange {
            path: pj_path,
            content: apply_edits(&pj, pj_edits).into_bytes(),
        });
    }
    Ok(changes)
}

/// `key: value` of a YAML block line (`key:` alone gives an empty value).
fn split_key(body: &str) -> Option<(&str, &str)> {
    if let Some(rest) = body.strip_prefix('\'') {
        let end = rest.find('\'')? + 1;
        let after = body[end + 1..].strip_prefix(':')?;
        return Some((&body[..=end], after.trim_start()));
    }
    let i = body
        .find(": ")
        .or_else(|| body.strip_suffix(':').map(|b| b.len()))?;
    let value = body.get(i + 1..).unwrap_or("").trim_start();
    Some((&body[..i], value))
}

/// A YAML scalar as written (`'*'` gives `*`).
fn unquote_yaml(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => v.to_string(),
    }
}

fn sibling(path: &str, name: &str) -> String {
    match path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/{name}"),
        None => name.to_string(),
    }
}

/// A direct specifier that excludes the new version is bumped in its style (`^`, `~`,
/// exact) in the lock and in the importer's package.json, which must declare the same.
#[allow(clippy::too_many_arguments)]
fn spec_edit(
    req: &PatchRequest,
    spec: &str,
    span: (usize, usize),
    importer: &str,
    kind: &str,
    pj_path: &str,
    pj_text: &Option<String>,
    edits: &mut Vec<(usize, usize, String)>,
    pj_edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), PatchError> {
    let (pkg, to) = (req.package, req.to);
    match satisfies(spec, to) {
        Some(true) => return Ok(()),
        None => {
            return not_fixable(format!(
                "the project requires {pkg} `{spec}`, which backline cannot read"
            ))
        }
        Some(false) => {}
    }
    let Some(new) = bumped(spec, to) else {
        return not_fixable(format!(
            "the project requires {pkg} `{spec}`, which excludes {to}; edit the range by hand"
        ));
    };
    if importer != "." {
        return not_fixable(format!(
            "the workspace package {importer} requires {pkg} `{spec}`, which excludes {to}; edit its package.json"
        ));
    }
    let node = pj_text
        .as_deref()
        .and_then(scan)
        .and_then(|t| t.get(kind).and_then(|m| m.get(pkg)).cloned());
    let (Some(node), Some(pj)) = (node, pj_text.as_deref()) else {
        return not_fixable(format!(
            "{pj_path} does not declare {pkg}, which the lock's importer requires `{spec}`"
        ));
    };
    let (s, e) = node.span();
    if serde_json::from_str::<String>(&pj[s..e]).ok().as_deref() != Some(spec) {
        return not_fixable(format!(
            "{pj_path} and the lockfile disagree on the range of {pkg}"
        ));
    }
    pj_edits.push((s, e, quote(&new)));
    edits.push((span.0, span.1, new));
    Ok(())
}

/// The new version's dependencies must be what the moved entries lock, each in range.
fn check_new_dependencies(
    doc: &Value,
    layout: Layout,
    pkg: &str,
    from: &str,
    to: &str,
    release: &NpmRelease,
) -> Result<(), PatchError> {
    for ((name, version), locked) in graph(doc, layout) {
        if name != pkg || version != from {
            continue;
        }
        let mut old: Vec<&str> = locked.iter().map(|(n, _)| n.as_str()).collect();
        old.sort();
        old.dedup();
        let mut new: Vec<&str> = release
            .dependencies
            .keys()
            .chain(release.optional_dependencies.keys())
            .map(String::as_str)
            .collect();
        new.sort();
        new.dedup();
        if old != new {
            return not_fixable(format!(
                "{pkg} {to} declares other dependencies than {from}; pnpm-lock.yaml entries would have to be added or removed, which is not supported yet"
            ));
        }
        for (dep, reference) in &locked {
            let range = release
                .dependencies
                .get(dep)
                .or_else(|| release.optional_dependencies.get(dep));
            let v = strip_peers(reference, false);
            if let Some(range) = range {
                if satisfies(range, v) != Some(true) {
                    return not_fixable(format!(
                        "{pkg} {to} needs `{dep}` {range}, the lockfile has {v}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every locked package that depends on the moved copy must accept the new version in the
/// range its registry entry declares.
fn check_parents(
    doc: &Value,
    layout: Layout,
    req: &PatchRequest,
    rule: &ParentRule,
) -> Result<(), PatchError> {
    let (pkg, from, to) = (req.package, req.from, req.to);
    for ((name, version), deps) in graph(doc, layout) {
        if !deps
            .iter()
            .any(|(n, r)| n == pkg && strip_peers(r, false) == from)
        {
            continue;
        }
        let known = req
            .facts
            .npm_dependents
            .as_ref()
            .and_then(|list| list.iter().find(|r| r.name == name && r.version == version));
        let Some(parent) = known else {
            if rule.lets_pass(&name, &version) {
                continue;
            }
            return not_fixable(format!(
                "the npm registry entry of {name} {version}, which depends on {pkg}, was not fetched"
            ));
        };
        let Some(range) = parent
            .dependencies
            .get(pkg)
            .or_else(|| parent.optional_dependencies.get(pkg))
        else {
            continue;
        };
        if satisfies(range, to) != Some(true) && !rule.lets_pass(&name, &version) {
            return parent_excludes(&name, &version, pkg, range, to);
        }
    }
    Ok(())
}

/// pnpm sorts keys as strings; only another copy of the package can sit between the old and
/// the new key, and that is refused.
fn check_order(doc: &Value, pkg: &str, from: &str, to: &str) -> Result<(), PatchError> {
    let others: Vec<String> = doc
        .get("packages")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| parse_key(k.as_str()?, false))
        .filter(|(n, v)| n == pkg && v != from)
        .map(|(_, v)| v)
        .collect();
    let (a, b) = (format!("{pkg}@{from}"), format!("{pkg}@{to}"));
    let (lo, hi) = if a < b { (&a, &b) } else { (&b, &a) };
    if others.iter().any(|v| {
        let k = format!("{pkg}@{v}");
        &k > lo && &k < hi
    }) || others.iter().any(|v| v == to)
    {
        return not_fixable(format!(
            "another copy of {pkg} is locked between {from} and {to}; moving it would reorder or merge pnpm-lock.yaml entries, which is not supported yet"
        ));
    }
    Ok(())
}

/// Adds `overrides:\n  pkg: to\n\n` where pnpm writes it: after `settings:` (else after
/// `lockfileVersion:`), before the importers.
fn add_override(text: &str, pkg: &str, to: &str) -> String {
    let nl = crate::remediation::patch::line_ending(text);
    let lines = lines_with_offsets(text);
    let mut at = None;
    let mut in_block = false;
    for (off, raw) in &lines {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.starts_with("settings:") || line.starts_with("lockfileVersion:") {
            in_block = true;
            continue;
        }
        if in_block && (line.is_empty() || line.starts_with(' ')) {
            if line.is_empty() {
                at = Some(off + raw.len());
                in_block = false;
            }
            continue;
        }
        in_block = false;
    }
    let name = if pkg.starts_with('@') {
        format!("'{pkg}'")
    } else {
        pkg.to_string()
    };
    let block = format!("overrides:{nl}  {name}: {to}{nl}{nl}");
    match at {
        Some(i) => format!("{}{block}{}", &text[..i], &text[i..]),
        None => format!("{text}{nl}{block}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::NpmRelease;
    use crate::remediation::patch::{patch_with, ParentRule, PatchRequest, RegistryFacts};
    use std::collections::BTreeMap;

    fn rel(name: &str, version: &str, integrity: &str, deps: &[(&str, &str)]) -> NpmRelease {
        NpmRelease {
            name: name.into(),
            version: version.into(),
            integrity: integrity.into(),
            shasum: None,
            tarball: format!("https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"),
            dependencies: deps
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
            optional_dependencies: BTreeMap::new(),
            peer_dependencies: BTreeMap::new(),
        }
    }

    const LODASH_21: &str = "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==";
    const MS_213: &str = "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==";

    /// The real pnpm's files (tests/data/pnpm, README there says how they were made).
    fn data(v: u8, case: &str, file: &str) -> String {
        let p = format!(
            "{}/../../tests/data/pnpm/v{v}-{case}/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn run(
        v: u8,
        package: &str,
        from: &str,
        to: &str,
        direct: bool,
        facts: RegistryFacts,
        rule: &ParentRule,
    ) -> Result<Vec<(String, String)>, crate::remediation::patch::PatchError> {
        let lock = data(v, "base", "pnpm-lock.yaml");
        let pj = data(v, "base", "package.json");
        let files = move |p: &str| match p {
            "pnpm-lock.yaml" => Some(lock.clone().into_bytes()),
            "package.json" => Some(pj.clone().into_bytes()),
            _ => None,
        };
        let req = PatchRequest {
            manifest_path: "pnpm-lock.yaml",
            package,
            from,
            to,
            direct,
            files: &files,
            facts: &facts,
        };
        patch_with(&req, rule).map(|cs| {
            cs.into_iter()
                .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
                .collect()
        })
    }

    #[test]
    fn a_direct_move_is_what_pnpm_writes_v6_and_v9() {
        for v in [6, 9] {
            let facts = RegistryFacts {
                npm_release: Some(rel("lodash", "4.17.21", LODASH_21, &[])),
                npm_dependents: Some(vec![]),
                ..Default::default()
            };
            let out = run(
                v,
                "lodash",
                "4.17.20",
                "4.17.21",
                true,
                facts,
                &ParentRule::Check,
            )
            .unwrap();
            assert_eq!(out[0].0, "pnpm-lock.yaml");
            assert_eq!(out[0].1, data(v, "direct", "pnpm-lock.yaml"), "v{v}");
            assert_eq!(out[1].1, data(v, "direct", "package.json"), "v{v}");
            // The patched file reads again at the new version.
            let deps =
                crate::deps::parse("pnpm-lock.yaml", out[0].1.as_bytes(), &|_| None).unwrap();
            assert!(deps
                .iter()
                .any(|d| d.name == "lodash" && d.version.as_deref() == Some("4.17.21")));
        }
    }

    #[test]
    fn a_parent_range_that_excludes_it_is_refused_and_an_override_is_what_pnpm_writes() {
        for v in [6, 9] {
            let facts = RegistryFacts {
                npm_release: Some(rel("ms", "2.1.3", MS_213, &[])),
                npm_dependents: Some(vec![rel("debug", "2.6.9", "x", &[("ms", "2.0.0")])]),
                ..Default::default()
            };
            let err = run(
                v,
                "ms",
                "2.0.0",
                "2.1.3",
                false,
                facts.clone(),
                &ParentRule::Check,
            )
            .unwrap_err();
            assert!(
                matches!(&err, crate::remediation::patch::PatchError::ParentExcludes { parent, at, .. } if parent == "debug" && at.version == "2.6.9" && at.range == "2.0.0"),
                "{err:?}"
            );
            let out = run(
                v,
                "ms",
                "2.0.0",
                "2.1.3",
                false,
                facts,
                &ParentRule::Override,
            )
            .unwrap();
            assert_eq!(out[0].1, data(v, "override", "pnpm-lock.yaml"), "v{v}");
            assert_eq!(out[1].1, data(v, "override", "package.json"), "v{v}");
        }
    }

    #[test]
    fn without_the_parents_registry_entries_it_is_refused() {
        let facts = RegistryFacts {
            npm_release: Some(rel("ms", "2.1.3", MS_213, &[])),
            ..Default::default()
        };
        let err = run(9, "ms", "2.0.0", "2.1.3", false, facts, &ParentRule::Check).unwrap_err();
        assert!(err.reason().contains("debug 2.6.9"), "{err:?}");
        // Other dependencies than the entry locks: refused.
        let facts = RegistryFacts {
            npm_release: Some(rel("lodash", "4.17.21", LODASH_21, &[("x", "^1")])),
            npm_dependents: Some(vec![]),
            ..Default::default()
        };
        let err = run(
            9,
            "lodash",
            "4.17.20",
            "4.17.21",
            true,
            facts,
            &ParentRule::Check,
        )
        .unwrap_err();
        assert!(
            err.reason().contains("declares other dependencies"),
            "{err:?}"
        );
    }

    #[test]
    fn keys_and_peer_mentions_move() {
        assert_eq!(
            super::moved_text("/react@18.2.0", "react", "18.2.0", "18.3.1", true),
            "/react@18.3.1"
        );
        assert_eq!(
            super::moved_text(
                "react-dom@18.2.0(react@18.2.0)",
                "react",
                "18.2.0",
                "18.3.1",
                true
            ),
            "react-dom@18.2.0(react@18.3.1)"
        );
        assert_eq!(
            super::moved_text("react@18.2.0(x@1)", "react", "18.2.0", "18.3.1", true),
            "react@18.3.1(x@1)"
        );
        // Another package whose name starts the same is not moved.
        assert_eq!(
            super::moved_text("react@18.2.01", "react", "18.2.0", "18.3.1", true),
            "react@18.2.01"
        );
        assert_eq!(
            super::split_key("'@a/b@1.0.0': {}"),
            Some(("'@a/b@1.0.0'", "{}"))
        );
        assert_eq!(super::split_key("ms: 2.0.0"), Some(("ms", "2.0.0")));
        assert_eq!(super::split_key("packages:"), Some(("packages", "")));
    }

    #[test]
    fn broken_input_never_panics() {
        let lock = data(9, "base", "pnpm-lock.yaml");
        let facts = RegistryFacts {
            npm_release: Some(rel("lodash", "4.17.21", LODASH_21, &[])),
            npm_dependents: Some(vec![]),
            ..Default::default()
        };
        crate::remediation::patch::assert_no_panic(
            "pnpm-lock.yaml",
            &lock,
            "lodash",
            "4.17.20",
            "4.17.21",
            &facts,
        );
    }
}
