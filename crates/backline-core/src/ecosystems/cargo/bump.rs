//! The manifest side of a Cargo patch: a requirement on the package that excludes the new
//! version is bumped (only a single `=`, `~`, `^` or bare version), in the sibling
//! `Cargo.toml` and the workspace members it lists by path, keeping every other byte.

use semver::{Version, VersionReq};

use super::manifest;
use crate::deps::{text, ParseError};
use crate::remediation::patch::{not_fixable, FileChange, PatchError, PatchRequest};

/// The manifests to look at: the sibling `Cargo.toml` and the workspace members it lists by
/// path (globs cannot be listed without the tree and are skipped).
pub(crate) fn manifest_changes(
    req: &PatchRequest,
    to: &Version,
) -> Result<Vec<FileChange>, PatchError> {
    let root = text::sibling(req.manifest_path, "Cargo.toml");
    let mut paths = vec![root.clone()];
    if let Some(bytes) = (req.files)(&root) {
        if let Ok(doc) = manifest::parse(std::str::from_utf8(&bytes).unwrap_or("")) {
            paths.extend(manifest::member_manifests(req.manifest_path, &doc).0);
        }
    }
    let mut out = Vec::new();
    for p in paths {
        let Some(bytes) = (req.files)(&p) else {
            continue;
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ParseError::new(&p, None, "the file is not valid UTF-8"))?;
        let mut doc = manifest::parse(text).map_err(|e| {
            ParseError::new(
                &p,
                e.span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1)),
                e.message().to_string(),
            )
        })?;
        let mut changed = false;
        manifest::for_each_dependency_table::<PatchError>(&mut doc, &mut |t| {
            changed |= bump_table(t, req.package, req.to, to, &p)?;
            Ok(())
        })?;
        if changed {
            out.push(FileChange {
                path: p,
                content: doc.to_string().into_bytes(),
            });
        }
    }
    Ok(out)
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
        if manifest::real_name(key.get(), item) != pkg {
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
