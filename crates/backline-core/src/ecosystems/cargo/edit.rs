//! The lockfile edits of a [`Change`]: removed blocks, references other packages use, and the
//! moved package's own `version`, `checksum` and `dependencies` lines, all in cargo's layout.

use std::collections::{BTreeSet, HashMap, HashSet};

use semver::Version;

use super::graph::{semver_of, Change};
use super::lock::{split_ref, Block};
use crate::remediation::patch::{not_fixable, PatchError};

/// A byte span of the lockfile and what replaces it.
pub(crate) type Edit = (usize, usize, String);

/// How references name each block after the change: `name` alone while it is the only locked
/// version, `name version` (and the old source suffix) otherwise.
pub(crate) struct References<'c, 'a> {
    change: &'c Change<'a>,
    count: HashMap<&'a str, usize>,
}

impl<'c, 'a> References<'c, 'a> {
    pub(crate) fn new(change: &'c Change<'a>, removed: &HashSet<usize>) -> Self {
        let mut count: HashMap<&'a str, usize> = HashMap::new();
        for (i, b) in change.blocks.iter().enumerate() {
            if !removed.contains(&i) {
                *count.entry(b.name.as_str()).or_default() += 1;
            }
        }
        References { change, count }
    }

    /// The reference to block `i`, keeping the source suffix of `old` when it had one.
    pub(crate) fn render(&self, i: usize, old: Option<&str>) -> String {
        let name = self.change.blocks[i].name.as_str();
        let suffix = old.and_then(|o| split_ref(o).2);
        let version = self.change.version_of(i);
        if self.count.get(name).copied().unwrap_or(0) > 1 || suffix.is_some() {
            match suffix {
                Some(s) => format!("{name} {version} {s}"),
                None => format!("{name} {version}"),
            }
        } else {
            name.to_string()
        }
    }
}

/// Removed blocks go with the blank line before them; every other block's references follow
/// the change (the moved package's own block aside).
pub(crate) fn other_blocks(
    change: &Change,
    refs: &References,
    removed: &HashSet<usize>,
    text: &str,
    nl: &str,
) -> Result<Vec<Edit>, PatchError> {
    let mut edits: Vec<Edit> = Vec::new();
    for (i, b) in change.blocks.iter().enumerate() {
        if removed.contains(&i) {
            edits.push(removal(b, text, nl));
            continue;
        }
        if i == change.target {
            continue;
        }
        let mut rendered: HashSet<String> = HashSet::new();
        for (r, span) in &b.deps {
            if let Some(j) = change.resolve(r).map(|j| change.redirect(j)) {
                let new = refs.render(j, Some(r));
                if !rendered.insert(new.clone()) {
                    return not_fixable(format!(
                        "{} {} depends on both {} {} and {}; not supported",
                        b.name, b.version, change.package, change.from, change.to
                    ));
                }
                if &new != r {
                    edits.push((span.0, span.1, new));
                }
            }
        }
    }
    Ok(edits)
}

/// The block, the blank line before it and its own line ending.
fn removal(b: &Block, text: &str, nl: &str) -> Edit {
    let n = nl.len();
    let framed = b.start >= n
        && text.get(b.start - n..b.start) == Some(nl)
        && text.get(b.end..b.end + n) == Some(nl);
    if framed {
        (b.start - n, b.end + n, String::new())
    } else {
        (b.start, b.end, String::new())
    }
}

/// The moved package's block: its `version` and `checksum` lines, and its `dependencies`
/// list when the new version depends on other locked packages.
pub(crate) fn target_block(
    path: &str,
    change: &Change,
    refs: &References,
    new_deps: &BTreeSet<usize>,
    cksum: &str,
    text: &str,
    nl: &str,
) -> Result<Vec<Edit>, PatchError> {
    let (pkg, from, to) = (change.package, change.from, change.to);
    let b = &change.blocks[change.target];
    let mut edits: Vec<Edit> = Vec::new();
    let (vs, ve) = b.version_line.ok_or_else(|| PatchError::NotFixable {
        reason: format!("{pkg} {from} has no version line"),
    })?;
    edits.push((vs, ve, format!("version = \"{to}\"")));
    match b.checksum_line {
        Some((cs, ce)) => edits.push((cs, ce, format!("checksum = \"{cksum}\""))),
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
                .find(|(r, _)| change.resolve(r) == Some(j))
                .map(|(r, _)| r.as_str());
            (
                semver_of(change.version_of(j)),
                change.blocks[j].name.clone(),
                refs.render(j, old),
            )
        })
        .collect();
    new_refs.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    let new_refs: Vec<String> = new_refs.into_iter().map(|r| r.2).collect();
    if new_refs != old_refs {
        edits.push(dependencies_list(b, &new_refs, text, nl));
    }
    Ok(edits)
}

/// The `dependencies = [...]` lines of `b`, replaced (or added after its last field).
fn dependencies_list(b: &Block, new_refs: &[String], text: &str, nl: &str) -> Edit {
    let list = if new_refs.is_empty() {
        String::new()
    } else {
        let mut s = format!("dependencies = [{nl}");
        for r in new_refs {
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
            (s, e, list)
        }
        None => {
            let at = b.fields_end;
            let list = if at == text.len() && !text.ends_with('\n') {
                format!("{nl}{}", list.trim_end_matches(['\n', '\r']))
            } else {
                list
            };
            (at, at, list)
        }
    }
}
