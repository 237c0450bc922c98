//! A moved yarn v1 entry whose new version declares other ranges on the same dependencies (a
//! parent bump, issue 18: `debug` 3.2.0 wants `ms "^2.1.1"` where 2.6.9 wanted `ms "2.0.0"`).
//!
//! As yarn 1 writes it (`src/lockfile/stringify.js`: an entry's header is every specifier that
//! resolves to it, sorted and joined with `, `; entries in the order of their first specifier;
//! values wrapped by `maybeWrap`): the entry's `dependencies` lines get the new ranges, the
//! entry each new range resolves to gets the new specifier in its header (the one the old range
//! resolved to, when no entry holds it yet), and the old specifier leaves that header when
//! nothing else declares it. Refused: other dependency names (entries would be added or
//! pruned), a locked version outside the new range, an entry left with no specifier, and a
//! header whose new first specifier would move the entry elsewhere in the file.

use std::collections::BTreeMap;

use super::patch::{yarn_key, Entry};
use crate::ecosystems::npm::range::satisfies;
use crate::registry::NpmRelease;
use crate::remediation::patch::{not_fixable, PatchError};

/// The edits (`(start, end, text)` on the lockfile) that redeclare `targets`' dependencies as
/// `release` declares them. `declared_by_project(name, range)`: package.json requires it.
pub(super) fn redeclare(
    entries: &[Entry],
    targets: &[&Entry],
    release: &NpmRelease,
    declared_by_project: &dyn Fn(&str, &str) -> bool,
    text: &str,
) -> Result<Vec<(usize, usize, String)>, PatchError> {
    let (pkg, to) = (&release.name, &release.version);
    let wanted: BTreeMap<&str, &str> = release
        .dependencies
        .iter()
        .chain(release.optional_dependencies.iter())
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    let is_target = |e: &Entry| targets.iter().any(|t| t.header == e.header);
    let mut edits = Vec::new();
    // New header specifiers by entry index.
    let mut headers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for target in targets {
        let mut old: Vec<&str> = target.deps.iter().map(|(n, _)| n.as_str()).collect();
        old.sort();
        old.dedup();
        if old != wanted.keys().copied().collect::<Vec<_>>() {
            return not_fixable(format!(
                "{pkg} {to} declares other dependencies than {}; yarn.lock entries would have to be added or removed, which is not supported yet",
                target.version
            ));
        }
        for ((name, old_range), span) in target.deps.iter().zip(&target.dep_lines) {
            let new_range = wanted.get(name.as_str()).copied().unwrap_or_default();
            if new_range == old_range {
                continue;
            }
            let (old_spec, new_spec) =
                (format!("{name}@{old_range}"), format!("{name}@{new_range}"));
            let holds = |spec: &str| {
                entries
                    .iter()
                    .position(|e| e.specs.iter().any(|s| s == spec))
            };
            let Some(old_at) = holds(&old_spec) else {
                return not_fixable(format!(
                    "yarn.lock has no entry for `{old_spec}`, which {pkg} {} requires",
                    target.version
                ));
            };
            let holder = holds(&new_spec);
            let at = holder.unwrap_or(old_at);
            let locked = &entries[at].version;
            if satisfies(new_range, locked) != Some(true) {
                return not_fixable(format!(
                    "{pkg} {to} needs `{name}` {new_range}, the lockfile has {locked}"
                ));
            }
            let line = &text[span.0..span.1];
            let indent = &line[..line.len() - line.trim_start().len()];
            edits.push((
                span.0,
                span.1,
                format!("{indent}{} {}", yarn_key(name), yarn_key(new_range)),
            ));
            if holder.is_none() {
                headers
                    .entry(at)
                    .or_insert_with(|| entries[at].specs.clone())
                    .push(new_spec);
            }
            let still_declared = declared_by_project(name, old_range)
                || entries.iter().any(|e| {
                    !is_target(e) && e.deps.iter().any(|(n, r)| n == name && r == old_range)
                });
            if !still_declared {
                let specs = headers
                    .entry(old_at)
                    .or_insert_with(|| entries[old_at].specs.clone());
                specs.retain(|s| *s != old_spec);
                if specs.is_empty() {
                    return not_fixable(format!(
                        "nothing would require `{old_spec}` after moving {pkg} to {to}; pruning yarn.lock entries is not supported yet"
                    ));
                }
            }
        }
    }
    // The first specifier of each entry, as it will be: the file's order must hold.
    let firsts: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let specs = headers.get(&i).unwrap_or(&e.specs);
            specs.iter().min().cloned().unwrap_or_default()
        })
        .collect();
    for (i, specs) in headers.iter_mut() {
        let moved_out = (*i > 0 && firsts[i - 1] > firsts[*i])
            || firsts.get(i + 1).is_some_and(|next| *next < firsts[*i]);
        if moved_out {
            return not_fixable(format!(
                "moving {pkg} to {to} would move the yarn.lock entry `{}` elsewhere in the file, which is not supported yet",
                firsts[*i]
            ));
        }
        specs.sort();
        specs.dedup();
        let header = specs
            .iter()
            .map(|s| yarn_key(s))
            .collect::<Vec<_>>()
            .join(", ");
        let (s, e) = entries[*i].header;
        edits.push((s, e, format!("{header}:")));
    }
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::registry::NpmRelease;
    use crate::remediation::patch::{patch, PatchRequest, RegistryFacts};

    const LOCK: &str = "# yarn lockfile v1\n\n\na@^1.0.0:\n  version \"1.0.0\"\n  resolved \"https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#aa\"\n  integrity sha512-a1\n  dependencies:\n    b \"^1.0.0\"\n\nb@^1.0.0, b@^1.1.0:\n  version \"1.2.0\"\n  resolved \"https://registry.yarnpkg.com/b/-/b-1.2.0.tgz#bb\"\n  integrity sha512-b1\n\nc@1.0.0:\n  version \"1.0.0\"\n  resolved \"https://registry.yarnpkg.com/c/-/c-1.0.0.tgz#cc\"\n  integrity sha512-c1\n  dependencies:\n    b \"^1.1.0\"\n";
    const PJ: &str = "{\"dependencies\": {\"a\": \"^1.0.0\", \"c\": \"1.0.0\"}}";

    fn a_110(b_range: &str) -> NpmRelease {
        NpmRelease {
            name: "a".into(),
            version: "1.1.0".into(),
            integrity: "sha512-a11".into(),
            shasum: Some("a11".into()),
            tarball: "https://registry.yarnpkg.com/a/-/a-1.1.0.tgz".into(),
            dependencies: BTreeMap::from([("b".to_string(), b_range.to_string())]),
            optional_dependencies: BTreeMap::new(),
            peer_dependencies: BTreeMap::new(),
        }
    }

    /// Moves `a` 1.0.0 -> 1.1.0, whose release requires `b` at `b_range`.
    fn move_a(lock: &str, b_range: &str) -> Result<String, String> {
        let facts = RegistryFacts {
            npm_release: Some(a_110(b_range)),
            ..RegistryFacts::default()
        };
        let files = |p: &str| match p {
            "yarn.lock" => Some(lock.as_bytes().to_vec()),
            "package.json" => Some(PJ.as_bytes().to_vec()),
            _ => None,
        };
        patch(&PatchRequest {
            manifest_path: "yarn.lock",
            package: "a",
            from: "1.0.0",
            to: "1.1.0",
            direct: false,
            files: &files,
            facts: &facts,
        })
        .map(|c| String::from_utf8(c[0].content.clone()).unwrap())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_new_range_joins_the_header_and_an_unused_one_leaves_it() {
        let out = move_a(LOCK, "^1.2.0").unwrap();
        let expected = LOCK
            .replace("version \"1.0.0\"\n  resolved \"https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#aa\"\n  integrity sha512-a1\n  dependencies:\n    b \"^1.0.0\"",
                "version \"1.1.0\"\n  resolved \"https://registry.yarnpkg.com/a/-/a-1.1.0.tgz#a11\"\n  integrity sha512-a11\n  dependencies:\n    b \"^1.2.0\"")
            .replace("b@^1.0.0, b@^1.1.0:", "b@^1.1.0, b@^1.2.0:");
        assert_eq!(out, expected);
    }

    #[test]
    fn a_range_another_entry_still_declares_stays_in_the_header() {
        let lock = LOCK.replace("    b \"^1.1.0\"", "    b \"^1.0.0\"");
        let lock = lock.replace("b@^1.0.0, b@^1.1.0:", "b@^1.0.0:");
        let out = move_a(&lock, "^1.2.0").unwrap();
        assert!(out.contains("\nb@^1.0.0, b@^1.2.0:\n"), "{out}");
        assert!(out.contains("    b \"^1.2.0\"\n\nb@"), "{out}");
    }

    #[test]
    fn a_locked_version_outside_the_new_range_is_refused() {
        assert_eq!(
            move_a(LOCK, "^2.0.0").unwrap_err(),
            "not fixable by an edit: a 1.1.0 needs `b` ^2.0.0, the lockfile has 1.2.0"
        );
        // A renamed dependency would need entries added and pruned.
        let lock = LOCK.replace("    b \"^1.0.0\"", "    d \"^1.0.0\"");
        assert!(move_a(&lock, "^1.2.0")
            .unwrap_err()
            .contains("declares other dependencies"));
    }

    #[test]
    fn no_panic_on_damaged_input_when_ranges_change() {
        let facts = RegistryFacts {
            npm_release: Some(a_110("^1.2.0")),
            ..RegistryFacts::default()
        };
        crate::remediation::patch::assert_no_panic(
            "yarn.lock",
            LOCK,
            "a",
            "1.0.0",
            "1.1.0",
            &facts,
        );
    }
}
