//! `go.mod` / `go.sum`: the module's `require` line(s) move to the new version (only the
//! version token changes: `// indirect`, other comments, quoting and layout stay), and in
//! go.sum its two lines (zip `h1:` and `/go.mod h1:`) give way to the new version's, computed by
//! the fixer from the module proxy's `.zip` and `.mod` ([`crate::registry::GoModule`]).
//!
//! Refused, with the reason, when:
//! - a `replace` directive applies to the module at the old or the new version (a folder, or
//!   another module: the code built is the replacement's; backline does not edit replaces),
//!   or the package is itself a replacement target;
//! - `exclude` names the new version, or a version the new one requires;
//! - the new version's `go` line is above go.mod's (go would raise go.mod's `go` line);
//! - go.mod's `go` is below 1.17 (its module graph is not pruned: go.sum would need the go.mod
//!   hashes of everything the new version reaches);
//! - **the minimal-version-selection rule**: the new version requires another module at a
//!   version above the one go.mod lists. Go's MVS would select that higher version, and a
//!   go.mod at go ≥ 1.17 must list what is selected, so both would have to move together
//!   (`go get mod@version` does that). backline moves one module at a time and says which
//!   modules would have to move with it (the chain `mod v → other v (go.mod has u)`).
//!   Requirements go.mod does not list are fine for a pruned graph (their go.mod is not
//!   loaded); when the new version's own go.mod is below 1.17 (unpruned), each requirement's
//!   `/go.mod` line must already be in go.sum, else refused (one level checked).
//!
//! The old version's two go.sum lines are removed (as `go mod tidy` does when nothing else
//! loads that version's go.mod).

use super::modfile::{self, ModFile};
use super::sum;
use super::version::{cmp_go, cmp_module};
use crate::deps::ParseError;
use crate::registry::goproxy::go_version;
use crate::registry::GoModule;
use crate::remediation::patch::{
    line_ending, lines_with_offsets, not_fixable, sibling, FileChange, PatchError, PatchRequest,
};
use std::cmp::Ordering;

/// The first `go` version whose module graph is pruned (go.dev/ref/mod#graph-pruning).
const PRUNED_FROM: &str = "1.17";

/// Edits `go.mod` and the `go.sum` beside it.
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let main = modfile::parse(path, text)?;
    let (pkg, from, to) = (req.package, go_version(req.from), go_version(req.to));
    let Some(module) = req
        .facts
        .go_module
        .as_ref()
        .filter(|m| m.path == pkg && m.version == to)
    else {
        return not_fixable(format!(
            "the module proxy's {pkg} {to} (.mod and .zip) was not fetched"
        ));
    };
    refuse_replaced(&main, pkg, &from, &to)?;
    if main.excludes.iter().any(|(p, v)| p == pkg && *v == to) {
        return not_fixable(format!("{path} excludes {pkg} {to} (`exclude {pkg} {to}`)"));
    }
    let go_main = main.go.clone().unwrap_or_else(|| "1.16".into());
    if cmp_go(&go_main, PRUNED_FROM) == Ordering::Less {
        return not_fixable(format!(
            "{path} declares go {go_main} (below {PRUNED_FROM}): its module graph is not pruned, so go.sum would need the go.mod hashes of every module {pkg} {to} reaches; run `go get {pkg}@{to}`"
        ));
    }
    let sum_path = sibling(path, "go.sum");
    let Some(sum_bytes) = (req.files)(&sum_path) else {
        return not_fixable(format!(
            "{sum_path} is missing: go would refuse the build without {pkg} {to}'s hashes in it"
        ));
    };
    let sum_text = std::str::from_utf8(&sum_bytes)
        .map_err(|_| ParseError::new(&sum_path, None, "the file is not valid UTF-8"))?;
    sum::check(&sum_path, sum_text)?;
    let new = modfile::parse(&format!("{pkg}@{to}/go.mod"), &module.go_mod).map_err(|e| {
        PatchError::NotFixable {
            reason: format!("the module proxy's go.mod of {pkg} {to} does not parse: {e}"),
        }
    })?;
    check_requirements(&main, &new, module, sum_text)?;
    if let Some(go_new) = &new.go {
        if cmp_go(go_new, &go_main) == Ordering::Greater {
            return not_fixable(format!(
                "{pkg} {to} declares go {go_new}, above {path}'s go {go_main}: go would raise {path}'s go line; raise it first"
            ));
        }
    }

    // go.mod: the version token of each require of the module at the old version.
    let nl = line_ending(text);
    let lines = lines_with_offsets(text);
    let mut out = String::with_capacity(text.len() + 8);
    let mut moved = 0;
    for (i, (_, raw)) in lines.iter().enumerate() {
        let is_ours = main
            .requires
            .iter()
            .any(|r| r.line == i + 1 && r.path == pkg && r.version == from);
        let (code, _) = modfile::split_comment(raw);
        match code.rfind(from.as_str()).filter(|_| is_ours) {
            Some(at) => {
                out.push_str(&raw[..at]);
                out.push_str(&to);
                out.push_str(&raw[at + from.len()..]);
                moved += 1;
            }
            None => out.push_str(raw),
        }
    }
    if moved == 0 {
        return not_fixable(format!("{path} does not require {pkg} {from}"));
    }
    let new_sum = sum::replace(
        sum_text,
        pkg,
        &from,
        &[
            (to.clone(), module.zip_hash.clone()),
            (format!("{to}/go.mod"), module.go_mod_hash.clone()),
        ],
        if sum_text.contains('\n') {
            line_ending(sum_text)
        } else {
            nl
        },
    );
    Ok(vec![
        FileChange {
            path: path.to_string(),
            content: out.into_bytes(),
        },
        FileChange {
            path: sum_path,
            content: new_sum.into_bytes(),
        },
    ])
}

/// Refuses when a `replace` decides what the module's code is.
fn refuse_replaced(main: &ModFile, pkg: &str, from: &str, to: &str) -> Result<(), PatchError> {
    for r in main.replaces.iter().rev() {
        let applies = r.old == pkg
            && r.old_version
                .as_deref()
                .is_none_or(|v| v == from || v == to);
        if applies && r.is_local() {
            return not_fixable(format!(
                "go.mod replaces {pkg} with the folder {} (`replace {}`): the code built is that folder's; update it there",
                r.new,
                r.describe()
            ));
        }
        if applies {
            let which = match r.old_version.as_deref() {
                Some(v) if v == from => format!(
                    "a replace of {pkg} {from} (the old version) that would no longer apply after the move"
                ),
                Some(_) => format!("a replace of {pkg} {to} (the new version)"),
                None => format!("a replace of every version of {pkg}"),
            };
            return not_fixable(format!(
                "go.mod has {which}: `replace {}`; change the replace directive (backline does not edit replaces)",
                r.describe()
            ));
        }
        if r.new == pkg && !r.is_local() {
            return not_fixable(format!(
                "go.mod gets {pkg} through `replace {}`; change that replace directive (backline does not edit replaces)",
                r.describe()
            ));
        }
    }
    Ok(())
}

/// The minimal-version-selection check (see the module text).
fn check_requirements(
    main: &ModFile,
    new: &ModFile,
    module: &GoModule,
    sum_text: &str,
) -> Result<(), PatchError> {
    let (pkg, to) = (module.path.as_str(), module.version.as_str());
    let unpruned = cmp_go(new.go.as_deref().unwrap_or("1.16"), PRUNED_FROM) == Ordering::Less;
    let mut above = Vec::new();
    let mut missing_sums = Vec::new();
    for r in new.requires.iter().filter(|r| r.path != pkg) {
        if let Some((_, v)) = main
            .excludes
            .iter()
            .find(|(p, v)| *p == r.path && *v == r.version)
        {
            return not_fixable(format!(
                "{pkg} {to} requires {} {v}, which go.mod excludes",
                r.path
            ));
        }
        let listed = main
            .requires
            .iter()
            .filter(|m| m.path == r.path)
            .map(|m| m.version.as_str())
            .max_by(|a, b| cmp_module(a, b).unwrap_or(Ordering::Equal));
        match listed {
            Some(have) if cmp_module(&r.version, have) == Some(Ordering::Greater) => {
                above.push(format!("{} {} (go.mod has {have})", r.path, r.version));
            }
            Some(_) => {}
            None if unpruned && !sum::has(sum_text, &r.path, &format!("{}/go.mod", r.version)) => {
                missing_sums.push(format!("{} {}", r.path, r.version));
            }
            None => {}
        }
    }
    if !above.is_empty() {
        return not_fixable(format!(
            "{pkg} {to} requires {}: go's minimal version selection would raise them too, and backline moves one module at a time; run `go get {pkg}@{to}` (it moves them together)",
            above.join(", ")
        ));
    }
    if !missing_sums.is_empty() {
        return not_fixable(format!(
            "{pkg} {to}'s go.mod is below go {PRUNED_FROM} (not pruned), and go.sum has no go.mod hash of {}; run `go get {pkg}@{to}`",
            missing_sums.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
