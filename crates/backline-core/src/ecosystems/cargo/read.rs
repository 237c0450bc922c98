//! `Cargo.lock` (format versions 1 to 4), with the sibling `Cargo.toml` for directness.
//!
//! Packages without a `source` are the workspace's own crates (or path crates): they are not
//! reported. Direct dependencies are:
//! - with `Cargo.toml`: the packages named in its dependency tables (`[dependencies]`,
//!   `[dev-dependencies]`, `[build-dependencies]`, their `[target.*]` forms, with `package = `
//!   renames) and in `[workspace.dependencies]`, plus those of each workspace member whose
//!   `Cargo.toml` the lookup can give (explicit member paths). When a member cannot be read
//!   (a glob such as `crates/*`), the lockfile's own answer is added too;
//! - without it: the dependencies of the lockfile's local (sourceless) packages.
//!
//! The parent of a transitive dependency is the first package listing it.
//!
//! The `source` says where a package comes from: crates.io (`registry+` the crates.io index or
//! `sparse+https://index.crates.io/`) is checked; `git+` is a git source and any other
//! registry an alternative one, both reported but never matched (as cargo-audit does).

use std::collections::{HashMap, HashSet};

use super::{lock, manifest};
use crate::deps::text;
use crate::deps::{dedupe, Dependency, ParseError};
use crate::ecosystem::Ecosystem;

/// Parses a `Cargo.lock`; `manifest` is the sibling `Cargo.toml` when there is one, and
/// `lookup` gives workspace members' manifests by root-relative path.
pub fn parse(
    file: &str,
    bytes: &[u8],
    manifest: Option<&[u8]>,
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<Dependency>, ParseError> {
    let packages = lock::read(file, bytes)?.packages();

    // Dependency names of the local packages (with the versions they pin, when the lock
    // disambiguates), and the first parent of every name and of every name+version.
    let mut local_deps: HashSet<String> = HashSet::new();
    let mut local_versions: HashMap<String, HashSet<String>> = HashMap::new();
    let mut parent_of: HashMap<(String, Option<String>), String> = HashMap::new();
    for p in &packages {
        for d in &p.dependencies {
            let (name, version, _) = lock::split_ref(d);
            let (name, version) = (name.to_string(), version.map(str::to_string));
            if p.source.is_none() {
                local_deps.insert(name.clone());
                if let Some(v) = &version {
                    local_versions
                        .entry(name.clone())
                        .or_default()
                        .insert(v.clone());
                }
            }
            if version.is_some() {
                parent_of
                    .entry((name.clone(), version))
                    .or_insert_with(|| p.name.clone());
            }
            parent_of
                .entry((name, None))
                .or_insert_with(|| p.name.clone());
        }
    }

    let direct: HashSet<String> = match manifest.and_then(|m| manifest_direct(file, m, lookup)) {
        Some((mut names, complete)) => {
            if !complete {
                names.extend(local_deps.iter().cloned());
            }
            names
        }
        None => local_deps,
    };

    Ok(dedupe(
        packages
            .into_iter()
            .filter(|p| p.source.is_some())
            .map(|p| {
                // When the crate is there in several versions, the lock says which one the
                // local packages use ("rand 0.8.5"); the others are transitive.
                let is_direct = direct.contains(&p.name)
                    && local_versions
                        .get(&p.name)
                        .is_none_or(|vs| vs.contains(&p.version));
                let parent = if is_direct {
                    None
                } else {
                    parent_of
                        .get(&(p.name.clone(), Some(p.version.clone())))
                        .or_else(|| parent_of.get(&(p.name.clone(), None)))
                        .cloned()
                };
                let source = lock::source_of(p.source.as_deref().unwrap_or_default());
                Dependency::new(Ecosystem::CratesIo, p.name, Some(p.version), is_direct)
                    .with_parent(parent)
                    .with_source(source)
            })
            .collect(),
    ))
}

/// The package names a `Cargo.toml` (and the members it lists) depends on, and whether every
/// member could be read. `None` when the manifest itself cannot be parsed.
fn manifest_direct(
    lock_path: &str,
    manifest_bytes: &[u8],
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Option<(HashSet<String>, bool)> {
    let manifest_path = text::sibling(lock_path, "Cargo.toml");
    let Some(mut root) = text::companion_text(manifest_bytes).and_then(|s| manifest::parse(s).ok())
    else {
        tracing::warn!(file = %manifest_path, "Cargo.toml could not be parsed; directness from Cargo.lock alone");
        return None;
    };
    let mut names = HashSet::new();
    collect_names(&mut root, &mut names);
    let (members, mut complete) = manifest::member_manifests(lock_path, &root);
    for member in members {
        let parsed = lookup(&member)
            .and_then(|b| text::companion_text(&b).and_then(|s| manifest::parse(s).ok()));
        match parsed {
            Some(mut doc) => collect_names(&mut doc, &mut names),
            None => complete = false,
        }
    }
    Some((names, complete))
}

/// Adds the crate names in a manifest's dependency tables.
fn collect_names(doc: &mut toml_edit::DocumentMut, names: &mut HashSet<String>) {
    let visited = manifest::for_each_dependency_table::<std::convert::Infallible>(doc, &mut |t| {
        names.extend(t.iter().map(|(k, v)| manifest::real_name(k, v)));
        Ok(())
    });
    match visited {
        Ok(()) => {}
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK_V3: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "tokio",
]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"
dependencies = [
 "serde_derive",
]

[[package]]
name = "serde_derive"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tokio"
version = "1.37.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "bytes",
]

[[package]]
name = "bytes"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    fn none(_: &str) -> Option<Vec<u8>> {
        None
    }

    #[test]
    fn directness_from_the_lock_alone() {
        let deps = parse("Cargo.lock", LOCK_V3.as_bytes(), None, &none).unwrap();
        assert_eq!(deps.len(), 4, "the local crate is not reported");
        let serde = deps.iter().find(|d| d.name == "serde").unwrap();
        assert!(serde.direct);
        assert_eq!(serde.version.as_deref(), Some("1.0.200"));
        assert_eq!(serde.ecosystem, Ecosystem::CratesIo);
        let derive = deps.iter().find(|d| d.name == "serde_derive").unwrap();
        assert!(!derive.direct);
        assert_eq!(derive.parent.as_deref(), Some("serde"));
        let bytes = deps.iter().find(|d| d.name == "bytes").unwrap();
        assert_eq!(bytes.parent.as_deref(), Some("tokio"));
    }

    #[test]
    fn directness_from_cargo_toml_and_members() {
        let manifest = br#"
[workspace]
members = ["crates/cli"]
[workspace.dependencies]
bytes = "1"
[dependencies]
serde = { version = "1", features = ["derive"] }
[target.'cfg(unix)'.dev-dependencies]
my-tokio = { package = "tokio", version = "1" }
"#;
        let member = |p: &str| {
            (p == "crates/cli/Cargo.toml")
                .then(|| b"[dependencies]\nserde_derive = \"1\"\n".to_vec())
        };
        let deps = parse("Cargo.lock", LOCK_V3.as_bytes(), Some(manifest), &member).unwrap();
        assert!(deps.iter().all(|d| d.direct), "{deps:?}");
        // Without the member, serde_derive is transitive again.
        let deps = parse(
            "Cargo.lock",
            LOCK_V3.as_bytes(),
            Some(b"[dependencies]\nserde = \"1\"\n"),
            &none,
        )
        .unwrap();
        assert!(!deps.iter().find(|d| d.name == "tokio").unwrap().direct);
    }

    #[test]
    fn version_one_with_root_and_metadata() {
        let lock = r#"[root]
name = "old"
version = "0.1.0"
dependencies = [
 "libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.40"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)" = "abc"
"#;
        let deps = parse("Cargo.lock", lock.as_bytes(), None, &none).unwrap();
        assert_eq!(
            deps,
            vec![Dependency::new(
                Ecosystem::CratesIo,
                "libc",
                Some("0.2.40".into()),
                true
            )]
        );
    }

    #[test]
    fn two_versions_of_one_crate_are_both_kept() {
        let lock = "version = 4\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"rand 0.7.3\", \"rand 0.8.5\"]\n\
            [[package]]\nname = \"rand\"\nversion = \"0.7.3\"\nsource = \"registry+x\"\n\
            [[package]]\nname = \"rand\"\nversion = \"0.8.5\"\nsource = \"registry+x\"\n";
        let deps = parse("Cargo.lock", lock.as_bytes(), None, &none).unwrap();
        assert_eq!(deps.len(), 2);
        assert!(deps.iter().all(|d| d.direct));
    }

    #[test]
    fn only_the_version_the_workspace_uses_is_direct() {
        let lock = "version = 3\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"rand 0.8.5\", \"quinn\"]\n\
            [[package]]\nname = \"quinn\"\nversion = \"0.11.0\"\nsource = \"registry+x\"\ndependencies = [\"rand 0.9.0\"]\n\
            [[package]]\nname = \"rand\"\nversion = \"0.8.5\"\nsource = \"registry+x\"\n\
            [[package]]\nname = \"rand\"\nversion = \"0.9.0\"\nsource = \"registry+x\"\n";
        let manifest = b"[dependencies]\nrand = \"0.8\"\nquinn = \"0.11\"\n";
        for m in [None, Some(&manifest[..])] {
            let deps = parse("Cargo.lock", lock.as_bytes(), m, &none).unwrap();
            let rand9 = deps
                .iter()
                .find(|d| d.version.as_deref() == Some("0.9.0"))
                .unwrap();
            assert_eq!(
                (rand9.direct, rand9.parent.as_deref()),
                (false, Some("quinn"))
            );
            let rand8 = deps
                .iter()
                .find(|d| d.version.as_deref() == Some("0.8.5"))
                .unwrap();
            assert!(rand8.direct);
        }
    }

    #[test]
    fn a_repeated_package_is_reported_once() {
        let lock = format!("{LOCK_V3}\n[[package]]\nname = \"bytes\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n");
        let deps = parse("Cargo.lock", lock.as_bytes(), None, &none).unwrap();
        assert_eq!(deps.iter().filter(|d| d.name == "bytes").count(), 1);
    }

    #[test]
    fn malformed_lock_names_file_and_line() {
        let bad = "version = 3\n\n[[package]]\nname = \"x\"\nversion = 1.0.0\n";
        let e = parse("sub/Cargo.lock", bad.as_bytes(), None, &none).unwrap_err();
        assert_eq!(e.file, "sub/Cargo.lock");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(
            e.to_string()
                .starts_with("could not parse sub/Cargo.lock at line 5: "),
            "{e}"
        );
        let e = parse("Cargo.lock", b"version = 9\n", None, &none).unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
