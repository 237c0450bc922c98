//! The byte edits of an npm patch: one lock entry moved (`version`, `resolved`, `integrity`,
//! its dependency map), and the project's own ranges bumped in their style.

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{indent_at, quote, render_object, Node};
use super::range::{bumped, satisfies};
use crate::registry::NpmRelease;
use crate::remediation::patch::{not_fixable, PatchError};

/// The kinds of the project's own ranges (package.json, the lock's root entry).
pub(super) const ROOT_KINDS: [&str; 3] =
    ["dependencies", "devDependencies", "optionalDependencies"];

/// Edits one lock entry: version, resolved, integrity, and its dependency map (`deps_key`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn edit_entry(
    text: &str,
    entry: &Value,
    node: &Node,
    release: &NpmRelease,
    from: &str,
    deps_key: &str,
    nl: &str,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), PatchError> {
    let str_span = |k: &str| node.get(k).map(Node::span);
    if let Some((s, e)) = str_span("version") {
        edits.push((s, e, quote(&release.version)));
    }
    if let (Some((s, e)), Some(old)) = (
        str_span("resolved"),
        entry.get("resolved").and_then(Value::as_str),
    ) {
        edits.push((s, e, quote(&resolved_url(old, from, release))));
    }
    if let Some((s, e)) = str_span("integrity") {
        edits.push((s, e, quote(&release.integrity)));
    }
    let old: BTreeMap<String, String> = entry
        .get(deps_key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if old != release.dependencies {
        set_map(text, node, deps_key, &release.dependencies, nl, edits)?;
    }
    Ok(())
}

/// Replaces, inserts or removes the string map `key` of an entry object.
fn set_map(
    text: &str,
    node: &Node,
    key: &str,
    map: &BTreeMap<String, String>,
    nl: &str,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), PatchError> {
    let members = node.members();
    let at = members.iter().position(|(k, _)| k == key);
    match (at, map.is_empty()) {
        (Some(i), false) => {
            let (s, e) = members[i].1.span();
            let indent = indent_at(text, s);
            let step = step_of(text, &members[i].1, indent);
            edits.push((s, e, render_object(map, indent, step, nl)));
        }
        (Some(i), true) if i > 0 => {
            // Drop `,<newline><indent>"key": {...}` after the previous member.
            let (_, prev_end) = members[i - 1].1.span();
            let (_, e) = members[i].1.span();
            edits.push((prev_end, e, String::new()));
        }
        (None, false) => {
            // After integrity/license (npm's order), else after the last member.
            let after = ["license", "integrity", "resolved", "version"]
                .iter()
                .find_map(|k| members.iter().find(|(m, _)| m == k))
                .or(members.last());
            let Some((_, prev)) = after else {
                return not_fixable("an empty lock entry cannot be given dependencies");
            };
            let (ps, pe) = prev.span();
            let indent = indent_at(text, ps);
            let step = step_of(text, node, indent_at(text, node.span().0));
            let obj = render_object(map, indent, step, nl);
            edits.push((pe, pe, format!(",{nl}{indent}{}: {obj}", quote(key))));
        }
        (None, true) => {}
        (Some(_), true) => {
            return not_fixable(format!(
                "the lock entry's `{key}` cannot be removed in place"
            ));
        }
    }
    Ok(())
}

/// The indentation step of an object (its first member's indentation minus the key's).
fn step_of<'a>(text: &'a str, node: &Node, indent: &str) -> &'a str {
    if let Some((_, first)) = node.members().first() {
        let (s, _) = first.span();
        // The member's key starts on the line of its value.
        let inner = indent_at(text, s);
        if inner.len() > indent.len() && inner.starts_with(indent) {
            return &inner[indent.len()..];
        }
    }
    "  "
}

/// The old URL with the file name moved to the new version, or the registry's tarball.
fn resolved_url(old: &str, from: &str, release: &NpmRelease) -> String {
    let (base, hash) = match old.split_once('#') {
        Some((b, h)) => (b, Some(h)),
        None => (old, None),
    };
    let suffix = format!("-{from}.tgz");
    let url = match base.strip_suffix(&suffix) {
        Some(stem) => format!("{stem}-{}.tgz", release.version),
        None => release.tarball.clone(),
    };
    match (hash, &release.shasum) {
        (Some(_), Some(sha)) => format!("{url}#{sha}"),
        _ => url,
    }
}

/// Bumps the project's own ranges on `pkg` (package.json, or the lock's root entry) when they
/// exclude `to`.
pub(crate) fn root_range_edits(
    text: &str,
    root: &Node,
    pkg: &str,
    to: &str,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), PatchError> {
    for kind in ROOT_KINDS {
        let Some(n) = root.get(kind).and_then(|m| m.get(pkg)) else {
            continue;
        };
        let (s, e) = n.span();
        let Ok(range) = serde_json::from_str::<String>(&text[s..e]) else {
            continue;
        };
        match satisfies(&range, to) {
            Some(true) => {}
            Some(false) => match bumped(&range, to) {
                Some(new) => edits.push((s, e, quote(&new))),
                None => {
                    return not_fixable(format!(
                        "the project requires {pkg} `{range}`, which excludes {to}; edit the range by hand"
                    ))
                }
            },
            None => {
                return not_fixable(format!(
                    "the project requires {pkg} `{range}`, which backline cannot read"
                ))
            }
        }
    }
    Ok(())
}
