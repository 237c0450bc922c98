//! `Cargo.toml`, read once for both sides: which tables hold dependencies
//! ([`for_each_dependency_table`]), a dependency's real name ([`real_name`], `package = `
//! renames honoured) and the workspace members a lockfile's manifests include
//! ([`member_manifests`]). The reader collects names from them; the patcher bumps requirements
//! in them, format-preserving (`toml_edit`).

use toml_edit::{DocumentMut, Item, TableLike};

use crate::deps::text;

/// The dependency tables of a manifest, and of each `[target.*]`.
const TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// Parses a manifest's text.
pub(crate) fn parse(text: &str) -> Result<DocumentMut, toml_edit::TomlError> {
    text.parse::<DocumentMut>()
}

/// Calls `f` on every dependency table: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, their `[target.*]` forms and `[workspace.dependencies]`.
pub(crate) fn for_each_dependency_table<E>(
    doc: &mut DocumentMut,
    f: &mut dyn FnMut(&mut dyn TableLike) -> Result<(), E>,
) -> Result<(), E> {
    let root = doc.as_table_mut();
    for key in TABLES {
        if let Some(t) = root.get_mut(key).and_then(Item::as_table_like_mut) {
            f(t)?;
        }
    }
    if let Some(targets) = root.get_mut("target").and_then(Item::as_table_like_mut) {
        for (_, target) in targets.iter_mut() {
            let Some(target) = target.as_table_like_mut() else {
                continue;
            };
            for key in TABLES {
                if let Some(t) = target.get_mut(key).and_then(Item::as_table_like_mut) {
                    f(t)?;
                }
            }
        }
    }
    if let Some(t) = root
        .get_mut("workspace")
        .and_then(Item::as_table_like_mut)
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(Item::as_table_like_mut)
    {
        f(t)?;
    }
    Ok(())
}

/// The crate a dependency entry names: its `package` when renamed, else its key.
pub(crate) fn real_name(key: &str, item: &Item) -> String {
    item.get("package")
        .and_then(|p| p.as_str())
        .unwrap_or(key)
        .to_string()
}

/// The `Cargo.toml` paths (root-relative) of the workspace members `doc` lists by path, for
/// the lockfile at `lock_path`; `false` when a member is a glob (`crates/*`), which cannot be
/// listed from files alone.
pub(crate) fn member_manifests(lock_path: &str, doc: &DocumentMut) -> (Vec<String>, bool) {
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(Item::as_array);
    let dir = text::dir_of(lock_path);
    let mut paths = Vec::new();
    let mut complete = true;
    for m in members.into_iter().flatten().filter_map(|m| m.as_str()) {
        if m.contains(['*', '?', '[']) {
            complete = false;
            continue;
        }
        match text::join(dir, m).and_then(|d| text::join(&d, "Cargo.toml")) {
            Some(p) => paths.push(p),
            None => complete = false,
        }
    }
    (paths, complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[package]
name = "app"

[dependencies]
regex = "1"
rng = { package = "rand", version = "0.8" }

[target.'cfg(unix)'.build-dependencies]
cc = "1"

[workspace]
members = ["crates/a", "crates/*", "../outside"]

[workspace.dependencies]
serde = "1"
"#;

    #[test]
    fn every_dependency_table_is_visited_with_real_names() {
        let mut doc = parse(MANIFEST).unwrap();
        let mut names = Vec::new();
        for_each_dependency_table::<()>(&mut doc, &mut |t| {
            names.extend(t.iter().map(|(k, v)| real_name(k, v)));
            Ok(())
        })
        .unwrap();
        names.sort();
        assert_eq!(names, ["cc", "rand", "regex", "serde"]);
    }

    #[test]
    fn members_listed_by_path_are_found_and_globs_make_the_list_incomplete() {
        let doc = parse(MANIFEST).unwrap();
        let (paths, complete) = member_manifests("ws/Cargo.lock", &doc);
        assert_eq!(paths, ["ws/crates/a/Cargo.toml", "outside/Cargo.toml"]);
        assert!(!complete);
    }
}
