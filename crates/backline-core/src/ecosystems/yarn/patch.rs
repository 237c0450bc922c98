//! `yarn.lock` v1 (and `package.json` when a direct range excludes the new version).
//!
//! The entry's `version`, `resolved` (same host and path style, new file name and `#sha1`)
//! and `integrity` lines are rewritten. Every specifier in the entry's header must admit the
//! new version; one that does not is bumped together with `package.json` when the project
//! declares exactly it, otherwise the patch is refused (a parent must move first). The new
//! version must declare the same dependencies as the old one (otherwise entries would have
//! to be added or pruned, which is refused for now), so each stays locked as before. Its
//! ranges may change (a parent bump, issue 18): [`super::redeclare`] then rewrites the entry's
//! `dependencies` and the headers of the entries they resolve to, as yarn writes them.
//! Yarn berry (YAML) lockfiles go to [`super::berry_patch`].

use serde_json::Value;

use crate::deps::yarn::{split_spec, unquote};
use crate::deps::{self, ParseError};
use crate::ecosystems::npm::json::{quote, scan};
use crate::ecosystems::npm::range::{bumped, satisfies};
use crate::remediation::patch::{
    apply_edits, lines_with_offsets, not_fixable, npm_release_wanted, FileChange, ParentRule,
    PatchError, PatchRequest,
};

pub(super) struct Entry {
    /// Span of the header line's content (without ending).
    pub(super) header: (usize, usize),
    pub(super) specs: Vec<String>,
    pub(super) name: String,
    pub(super) version: String,
    version_line: Option<(usize, usize)>,
    resolved_line: Option<(usize, usize, String)>,
    integrity_line: Option<(usize, usize)>,
    /// `dependencies` and `optionalDependencies` as (name, range).
    pub(super) deps: Vec<(String, String)>,
    /// Each of `deps`' line spans (without ending), in the same order.
    pub(super) dep_lines: Vec<(usize, usize)>,
}

/// The real name and range of a spec (`alias@npm:real@^1` gives `real`, `^1`).
pub(super) fn real_spec(spec: &str) -> (&str, &str) {
    let (name, range) = split_spec(spec);
    match range.strip_prefix("npm:") {
        Some(alias) => split_spec(alias),
        None => (name, range),
    }
}

fn scan_entries(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut in_deps = false;
    for (off, raw) in lines_with_offsets(text) {
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let end = off + line.len();
        if indent == 0 {
            let specs: Vec<String> = t
                .trim_end_matches(':')
                .split(',')
                .map(|s| unquote(s).to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let name = specs
                .first()
                .map(|s| real_spec(s).0.to_string())
                .unwrap_or_default();
            out.push(Entry {
                header: (off, end),
                specs,
                name,
                version: String::new(),
                version_line: None,
                resolved_line: None,
                integrity_line: None,
                deps: Vec::new(),
                dep_lines: Vec::new(),
            });
            in_deps = false;
            continue;
        }
        let Some(e) = out.last_mut() else { continue };
        if indent == 2 {
            if let Some(block) = t.strip_suffix(':') {
                in_deps = matches!(block, "dependencies" | "optionalDependencies");
                continue;
            }
            in_deps = false;
            let (key, value) = t.split_once(' ').unwrap_or((t, ""));
            match unquote(key) {
                "version" => {
                    e.version = unquote(value).to_string();
                    e.version_line = Some((off, end));
                }
                "resolved" => e.resolved_line = Some((off, end, unquote(value).to_string())),
                "integrity" => e.integrity_line = Some((off, end)),
                _ => {}
            }
        } else if in_deps {
            let (n, r) = match t.strip_prefix('"') {
                Some(rest) => match rest.find('"') {
                    Some(q) => (&rest[..q], &rest[q + 1..]),
                    None => continue,
                },
                None => t.split_once(' ').unwrap_or((t, "")),
            };
            e.deps.push((n.to_string(), unquote(r).to_string()));
            e.dep_lines.push((off, end));
        }
    }
    out
}

/// Yarn's rule for quoting a key or value (`maybeWrap` in yarn's `src/lockfile/stringify.js`).
pub(super) fn yarn_key(s: &str) -> String {
    let wrap = s.starts_with("true")
        || s.starts_with("false")
        || s.contains([':', ' ', '\t', '\n', '\\', '"', ',', '[', ']'])
        || s.starts_with(|c: char| c.is_ascii_digit())
        || !s.starts_with(|c: char| c.is_ascii_alphabetic());
    if wrap {
        quote(s)
    } else {
        s.to_string()
    }
}

/// The header specifiers of the entries of `pkg` at `version` (where it is installed, as far
/// as yarn.lock says: by which ranges).
pub(crate) fn copy_paths(bytes: &[u8], pkg: &str, version: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    if super::berry_patch::is_berry(&text) {
        return super::berry_patch::copy_paths(&text, pkg, version);
    }
    scan_entries(&text)
        .into_iter()
        .filter(|e| e.name == pkg && e.version == version)
        .map(|e| e.specs.join(", "))
        .collect()
}

/// Edits a `yarn.lock` v1.
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    if super::berry_patch::is_berry(text) {
        return super::berry_patch::patch(req, text, rule);
    }
    let (pkg, from, to) = (req.package, req.from, req.to);
    let release = npm_release_wanted(req)?;
    let entries = scan_entries(text);
    let targets: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name == pkg && e.version == from)
        .collect();
    if targets.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {from}"));
    }

    // package.json ranges of the package.
    let pj_path = match path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/package.json"),
        None => "package.json".to_string(),
    };
    let pj_text = (req.files)(&pj_path).and_then(|b| String::from_utf8(b).ok());
    let pj_tree = pj_text.as_deref().and_then(scan);
    let mut pj_edits: Vec<(usize, usize, String)> = Vec::new();

    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let declared_by_project = |name: &str, range: &str| {
        pj_tree.as_ref().is_some_and(|t| {
            ["dependencies", "devDependencies", "optionalDependencies"]
                .iter()
                .filter_map(|k| t.get(k).and_then(|m| m.get(name)))
                .any(|n| {
                    let (s, e) = n.span();
                    let pj = pj_text.as_deref().unwrap_or("");
                    serde_json::from_str::<String>(&pj[s..e]).ok().as_deref() == Some(range)
                })
        })
    };
    // The same dependencies, each locked in the new range (a changed range moves the headers
    // of the entries it resolves to).
    let mut redeclared =
        super::redeclare::redeclare(&entries, &targets, release, &declared_by_project, text)?;
    edits.append(&mut redeclared);
    for e in &targets {
        // Header specifiers.
        let mut specs = e.specs.clone();
        let mut header_changed = false;
        let mut forced: Vec<String> = Vec::new();
        for spec in specs.iter_mut() {
            let (_, range) = real_spec(spec);
            match satisfies(range, to) {
                Some(true) => continue,
                None => {
                    return not_fixable(format!(
                        "{path}: the range of `{spec}` cannot be read by backline"
                    ))
                }
                Some(false) => {}
            }
            let declared = pj_tree.as_ref().and_then(|t| {
                ["dependencies", "devDependencies", "optionalDependencies"]
                    .iter()
                    .find_map(|k| t.get(k).and_then(|m| m.get(pkg)))
            });
            let pj = pj_text.as_deref().unwrap_or("");
            let Some(node) = declared.filter(|n| {
                let (s, e) = n.span();
                serde_json::from_str::<Value>(&pj[s..e])
                    .ok()
                    .and_then(|v| v.as_str().map(|v| v == range))
                    .unwrap_or(false)
            }) else {
                // The entry that declares this range is the parent that must move first.
                let declaring = entries
                    .iter()
                    .find(|p| p.deps.iter().any(|(n, r)| n == pkg && r == range));
                let parent = declaring
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| format!("the package that requires `{spec}`"));
                let parent_version = declaring.map(|p| p.version.clone()).unwrap_or_default();
                // An override (`resolutions`) keeps the excluded range in the header, and yarn
                // adds the forced version's own specifier beside it (`ms@2.0.0, ms@2.1.3:`).
                if rule.lets_pass(&parent, &parent_version) {
                    if *rule == ParentRule::Override {
                        forced.push(format!("{pkg}@{to}"));
                    }
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
                        "yarn.lock entry `{spec}` excludes {to}; upgrade the package that requires it"
                    ),
                });
            };
            let Some(new_range) = bumped(range, to) else {
                return not_fixable(format!(
                    "the project requires {pkg} `{range}`, which excludes {to}; edit the range by hand"
                ));
            };
            let (s, e2) = node.span();
            pj_edits.push((s, e2, quote(&new_range)));
            *spec = format!("{pkg}@{new_range}");
            header_changed = true;
        }
        if !forced.is_empty() {
            specs.append(&mut forced);
            header_changed = true;
        }
        if header_changed {
            specs.sort();
            specs.dedup();
            let header = specs
                .iter()
                .map(|s| yarn_key(s))
                .collect::<Vec<_>>()
                .join(", ");
            edits.push((e.header.0, e.header.1, format!("{header}:")));
        }
        if let Some((s, end)) = e.version_line {
            edits.push((s, end, format!("  version \"{to}\"")));
        }
        if let Some((s, end, old_url)) = &e.resolved_line {
            let (base, hash) = match old_url.split_once('#') {
                Some((b, h)) => (b, Some(h)),
                None => (old_url.as_str(), None),
            };
            let url = match base.strip_suffix(&format!("-{from}.tgz")) {
                Some(stem) => format!("{stem}-{to}.tgz"),
                None => release.tarball.clone(),
            };
            let url = match (hash, &release.shasum) {
                (Some(_), Some(sha)) => format!("{url}#{sha}"),
                (Some(_), None) => {
                    return not_fixable(format!(
                        "the npm registry gives no shasum for {pkg} {to}, which yarn.lock's resolved URL carries"
                    ))
                }
                _ => url,
            };
            edits.push((*s, *end, format!("  resolved \"{url}\"")));
        }
        if let Some((s, end)) = e.integrity_line {
            edits.push((s, end, format!("  integrity {}", release.integrity)));
        }
    }
    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: apply_edits(text, edits).into_bytes(),
    }];
    if let (false, Some(pj)) = (pj_edits.is_empty(), pj_text) {
        changes.push(FileChange {
            path: pj_path,
            content: apply_edits(&pj, pj_edits).into_bytes(),
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use crate::registry::NpmRelease;
    use crate::remediation::patch::npm_test_support::{lodash, run_lodash};
    use crate::remediation::patch::{PatchError, RegistryFacts};

    const LOCK: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0":
  version "7.22.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.13.tgz#e3c1c099"
  integrity sha512-XktuhWlJ5g+3TJXc5upd9Ks1HutSArik6jf2eAjYFyIOf4ej3RN+184cZbzDvbPnuTJIUhPKKJE3cIsYTiAT3w==

lodash@4.17.20, lodash@^4.17.15:
  version "4.17.20"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.20.tgz#b44a9b6297bcb698f1c51a3545a2b3b368d59c52"
  integrity sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==
"#;

    fn run(
        lock: &str,
        pj: Option<&str>,
        rel: NpmRelease,
    ) -> Result<Vec<(String, String)>, PatchError> {
        run_lodash("yarn.lock", lock, "package.json", pj, rel)
    }

    #[test]
    fn exact_direct_spec_is_bumped_with_package_json() {
        let pj = "{\n  \"dependencies\": {\n    \"lodash\": \"4.17.20\"\n  }\n}\n";
        let out = run(LOCK, Some(pj), lodash(&[])).unwrap();
        let expected = LOCK
            .replace("lodash@4.17.20, lodash@^4.17.15:", "lodash@4.17.21, lodash@^4.17.15:")
            .replace("version \"4.17.20\"", "version \"4.17.21\"")
            .replace(
                "lodash-4.17.20.tgz#b44a9b6297bcb698f1c51a3545a2b3b368d59c52",
                "lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c",
            )
            .replace(
                "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==",
                "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==",
            );
        assert_eq!(out[0], ("yarn.lock".to_string(), expected));
        assert_eq!(out[1].1, pj.replace("4.17.20", "4.17.21"));
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts {
            npm_release: Some(lodash(&[])),
            ..Default::default()
        };
        crate::remediation::patch::assert_no_panic(
            "yarn.lock",
            LOCK,
            "lodash",
            "4.17.20",
            "4.17.21",
            &facts,
        );
    }

    #[test]
    fn refusals() {
        // The exact spec comes from another package: a parent must move.
        let e = run(
            LOCK,
            Some("{\"dependencies\": {\"lodash\": \"^4.17.15\"}}"),
            lodash(&[]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: yarn.lock entry `lodash@4.17.20` excludes 4.17.21; upgrade the package that requires it"
        );
        let caret = LOCK.replace("lodash@4.17.20, ", "");
        assert_eq!(run(&caret, None, lodash(&[])).unwrap().len(), 1);
        let e = run(&caret, None, lodash(&[("left-pad", "^1")])).unwrap_err();
        assert!(e.to_string().contains("declares other dependencies"), "{e}");
    }

    /// Issue 13 in yarn.lock: three entries of lodash; `legacy` declares `~2.4.1`, so its
    /// entry is left (naming `legacy`), the two others move, the direct pin with package.json.
    #[test]
    fn three_copies_move_where_every_range_allows() {
        use crate::remediation::patch::npm_test_support::run_lodash_copies;
        let entry = |specs: &str, v: &str| {
            format!(
                "{specs}:\n  version \"{v}\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-{v}.tgz#aaaa\"\n  integrity sha512-{v}\n"
            )
        };
        let lock = format!(
            "# yarn lockfile v1\n\n\nlegacy@1.0.0:\n  version \"1.0.0\"\n  resolved \"https://registry.yarnpkg.com/legacy/-/legacy-1.0.0.tgz#bbbb\"\n  integrity sha512-legacy\n  dependencies:\n    lodash \"~2.4.1\"\n\n{}\n{}\n{}\nmodern@1.0.0:\n  version \"1.0.0\"\n  resolved \"https://registry.yarnpkg.com/modern/-/modern-1.0.0.tgz#cccc\"\n  integrity sha512-modern\n  dependencies:\n    lodash \"^4.13.0\"\n",
            entry("lodash@4.17.11", "4.17.11"),
            entry("lodash@^4.13.0", "4.13.1"),
            entry("lodash@~2.4.1", "2.4.2"),
        );
        let pj = "{\n  \"dependencies\": {\n    \"legacy\": \"1.0.0\",\n    \"lodash\": \"4.17.11\",\n    \"modern\": \"1.0.0\"\n  }\n}\n";
        let out = run_lodash_copies(
            "yarn.lock",
            &lock,
            "package.json",
            Some(pj),
            &["4.17.11", "4.13.1", "2.4.2"],
        )
        .unwrap();
        let moved: Vec<(&str, Vec<String>)> = out
            .moved
            .iter()
            .map(|c| (c.version.as_str(), c.paths.clone()))
            .collect();
        assert_eq!(
            moved,
            vec![
                ("4.17.11", vec!["lodash@4.17.11".to_string()]),
                ("4.13.1", vec!["lodash@^4.13.0".to_string()]),
            ]
        );
        assert_eq!(out.left.len(), 1);
        assert_eq!(out.left[0].0.version, "2.4.2");
        assert!(
            out.left[0]
                .1
                .starts_with("needs legacy to allow lodash >= 4.17.21 (yarn.lock entry `lodash@~2.4.1` excludes 4.17.21"),
            "{}",
            out.left[0].1
        );
        let new = std::str::from_utf8(&out.changes[0].content).unwrap();
        assert!(
            new.contains("lodash@4.17.21:\n  version \"4.17.21\""),
            "{new}"
        );
        assert!(
            new.contains("lodash@^4.13.0:\n  version \"4.17.21\""),
            "{new}"
        );
        assert!(new.contains("lodash@~2.4.1:\n  version \"2.4.2\""), "{new}");
        assert!(std::str::from_utf8(&out.changes[1].content)
            .unwrap()
            .contains("\"lodash\": \"4.17.21\""));
    }
}
