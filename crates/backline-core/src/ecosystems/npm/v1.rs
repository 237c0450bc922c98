//! The v1 `dependencies` tree of an npm lockfile (v2 carries it too): who requires the package
//! through the nesting, and every copy at the old version moved.

use serde_json::Value;

use super::edit::edit_entry;
use super::json::Node;
use super::patch::check_deps;
use super::range::satisfies;
use crate::registry::NpmRelease;
use crate::remediation::patch::{parent_excludes, ParentRule, PatchError, PatchRequest};

/// v1: every entry whose `requires` resolves `pkg` (node's lookup: its own nested
/// `dependencies`, then each enclosing level up to the top) to a copy at `from` must accept
/// `to`; the first that does not makes the patch not fixable, naming it.
pub(crate) fn check_v1_parents(
    level: &serde_json::Map<String, Value>,
    ancestors: &[&serde_json::Map<String, Value>],
    pkg: &str,
    from: &str,
    to: &str,
    rule: &ParentRule,
) -> Result<(), PatchError> {
    let mut scope = ancestors.to_vec();
    scope.push(level);
    for (name, entry) in level {
        let nested = entry.get("dependencies").and_then(Value::as_object);
        if let Some(range) = entry
            .get("requires")
            .and_then(|r| r.get(pkg))
            .and_then(Value::as_str)
        {
            let resolved = nested
                .and_then(|n| n.get(pkg))
                .or_else(|| scope.iter().rev().find_map(|m| m.get(pkg)));
            let version = resolved
                .and_then(|e| e.get("version"))
                .and_then(Value::as_str);
            if version == Some(from) && satisfies(range, to) != Some(true) {
                let v = entry.get("version").and_then(Value::as_str).unwrap_or("?");
                if !rule.lets_pass(name, v) {
                    return parent_excludes(name, v, pkg, range, to);
                }
            }
        }
        if let Some(nested) = nested {
            check_v1_parents(nested, &scope, pkg, from, to, rule)?;
        }
    }
    Ok(())
}

/// The v1 `dependencies` tree: every `pkg` entry at the old version moves; each one's
/// requirements are checked by node's lookup through the nesting.
#[allow(clippy::too_many_arguments)]
pub(crate) fn walk_v1<'a>(
    text: &str,
    level: &'a serde_json::Map<String, Value>,
    node: &Node,
    req: &PatchRequest,
    release: &NpmRelease,
    nl: &str,
    edits: &mut Vec<(usize, usize, String)>,
    found: &mut usize,
    ancestors: &[&'a serde_json::Map<String, Value>],
) -> Result<(), PatchError> {
    let mut scope: Vec<&serde_json::Map<String, Value>> = ancestors.to_vec();
    scope.push(level);
    for (name, entry) in level {
        let Some(n) = node.get(name) else { continue };
        let nested = entry.get("dependencies").and_then(Value::as_object);
        if name == req.package && entry.get("version").and_then(Value::as_str) == Some(req.from) {
            let mut inner = scope.clone();
            if let Some(nested) = nested {
                inner.push(nested);
            }
            check_deps(req.package, req.to, release, |dep| {
                inner.iter().rev().find_map(|m| {
                    m.get(dep).map(|e| {
                        (
                            format!("dependencies/{dep}"),
                            e.get("version").and_then(Value::as_str),
                        )
                    })
                })
            })?;
            edit_entry(text, entry, n, release, req.from, "requires", nl, edits)?;
            *found += 1;
        }
        if let (Some(nested), Some(nn)) = (nested, n.get("dependencies")) {
            walk_v1(text, nested, nn, req, release, nl, edits, found, &scope)?;
        }
    }
    Ok(())
}
