//! `Cargo.lock` (and `Cargo.toml` when its requirement excludes the new version).
//!
//! The lockfile is edited line by line in cargo's own layout: the package's `version` and
//! `checksum` lines, its `dependencies` list when the new version depends on other crates,
//! the `"name version"` references other packages use when the name is ambiguous, and the
//! removal of packages nothing depends on any more. Each normal or build dependency of the
//! new version (optional ones only when the old version's entry had them, i.e. a feature
//! enabled them) must be satisfied by a version already locked, and, when the caller gives
//! their index entries ([`crate::remediation::patch::RegistryFacts::crate_dependents`]), the locked packages
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

use super::graph::{semver_of, Change};
use super::{bump, edit, lock};
use crate::deps::{self, ParseError};
use crate::registry::CrateRelease;
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, FileChange, ParentRule, PatchError, PatchRequest,
};

/// The registry packages depending on `pkg` `from` in a lock.
pub(crate) fn dependents(bytes: &[u8], pkg: &str, from: &str) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(layout) = lock::scan("Cargo.lock", text) else {
        return Vec::new();
    };
    let blocks = layout.blocks;
    let versions = blocks.iter().filter(|b| b.name == pkg).count();
    blocks
        .iter()
        .filter(|b| b.source.is_some())
        .filter(|b| {
            b.deps.iter().any(|(r, _)| {
                let (name, version, _) = lock::split_ref(r);
                name == pkg && (version == Some(from) || (version.is_none() && versions == 1))
            })
        })
        .map(|b| (b.name.clone(), b.version.clone()))
        .collect()
}

/// Edits a `Cargo.lock` and, when needed, the manifests beside it.
/// Under [`ParentRule::Moving`] (a parent bump, issue 18) the dependents that move in the same
/// change keep their present requirements; every other one is checked.
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let layout = lock::scan(path, text)?;
    if layout.metadata {
        return not_fixable(
            "this Cargo.lock keeps checksums in [metadata] (format v1); regenerate it with a current cargo first",
        );
    }
    let blocks = &layout.blocks;
    let t = find_entry(blocks, path, req.package, req.from)?;
    let release = fetched_release(req)?;
    let to_v = semver_of(req.to).ok_or_else(|| PatchError::NotFixable {
        reason: format!("{} is not a semver version", req.to),
    })?;
    let change = Change::new(blocks, t, req.package, req.from, req.to);
    change.check_order(&to_v)?;
    if let Some(dependents) = &req.facts.crate_dependents {
        change.check_dependents(dependents, &to_v, rule)?;
    }
    let new_deps = change.new_deps(release)?;
    let removed = change.removed(&new_deps)?;

    let nl = line_ending(text);
    let refs = edit::References::new(&change, &removed);
    let mut edits = edit::other_blocks(&change, &refs, &removed, text, nl)?;
    if change.merge.is_none() {
        edits.extend(edit::target_block(
            path,
            &change,
            &refs,
            &new_deps,
            &release.cksum,
            text,
            nl,
        )?);
    }
    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: apply_edits(text, edits).into_bytes(),
    }];
    changes.extend(bump::manifest_changes(req, &to_v)?);
    Ok(changes)
}

/// The block of `pkg` `from` from crates.io (or, to say why it cannot move, from another
/// registry).
fn find_entry(
    blocks: &[lock::Block],
    path: &str,
    pkg: &str,
    from: &str,
) -> Result<usize, PatchError> {
    let Some(t) = blocks
        .iter()
        .position(|b| b.name == pkg && b.version == from && lock::is_crates_io(b.source.as_deref()))
        .or_else(|| {
            blocks
                .iter()
                .position(|b| b.name == pkg && b.version == from && b.source.is_some())
        })
    else {
        return not_fixable(format!("{path} has no registry package {pkg} {from}"));
    };
    if !lock::is_crates_io(blocks[t].source.as_deref()) {
        return not_fixable(format!(
            "{pkg} {from} comes from another registry than crates.io"
        ));
    }
    Ok(t)
}

/// The crates.io index entry of the new version, fetched and not yanked.
fn fetched_release<'r>(req: &'r PatchRequest) -> Result<&'r CrateRelease, PatchError> {
    let (pkg, to) = (req.package, req.to);
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
    Ok(release)
}

#[cfg(test)]
mod tests {
    use crate::registry::{CrateDep, CrateRelease, DepKind};
    use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

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
        crate::remediation::patch::assert_no_panic(
            "Cargo.lock",
            LOCK,
            "regex",
            "1.5.4",
            "1.5.5",
            &facts,
        );
    }

    #[test]
    fn dependents_requirements_are_checked() {
        use crate::remediation::patch::cargo_dependents;
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
        use crate::remediation::patch::{patch_copies, CopiesRequest, PlacedCopy};
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
