//! `package-lock.json`, read once for both sides: its two shapes (the v2/v3 `packages` map by
//! install path, the v1 nested `dependencies` tree), a `packages` entry's name, the folder a
//! `node_modules` path sits in, node's lookup from a folder upwards, and the walk over the v1
//! tree. The reader turns these into dependencies; the patcher finds the copies to move and
//! who resolves to them with the same functions, so the two never disagree about which entry
//! is which package.

use serde_json::{Map, Value};

const NODE_MODULES: &str = "node_modules/";

/// The v2/v3 `packages` map, when the lockfile has one.
pub(crate) fn packages(lock: &Value) -> Option<&Map<String, Value>> {
    lock.get("packages").and_then(Value::as_object)
}

/// The v1-style `dependencies` tree (v2 carries it too, beside `packages`).
pub(crate) fn tree(lock: &Value) -> Option<&Map<String, Value>> {
    lock.get("dependencies").and_then(Value::as_object)
}

/// Whether a `packages` key is an installed package (under some `node_modules`), rather than
/// the root `""` or a workspace folder.
pub(crate) fn is_installed(path: &str) -> bool {
    path.contains(NODE_MODULES)
}

/// The package name of a `packages` entry: its `name` field (npm aliases), else the path after
/// the last `node_modules/`; `None` for the root and workspace folders.
pub(crate) fn package_name<'a>(path: &'a str, entry: &'a Value) -> Option<&'a str> {
    if let Some(n) = entry.get("name").and_then(Value::as_str) {
        return Some(n);
    }
    let at = path.rfind(NODE_MODULES)?;
    let name = &path[at + NODE_MODULES.len()..];
    (!name.is_empty()).then_some(name)
}

/// An installed path split at its last `node_modules/`: the folder holding it (a root or
/// workspace folder, or a package's path; `""` for the root) and the name it is installed as.
pub(crate) fn split_installed(path: &str) -> Option<(&str, &str)> {
    let at = path.rfind(NODE_MODULES)?;
    Some((
        path[..at].trim_end_matches('/'),
        &path[at + NODE_MODULES.len()..],
    ))
}

/// An entry's `version`.
pub(crate) fn version(entry: &Value) -> Option<&str> {
    entry.get("version").and_then(Value::as_str)
}

/// The install chain of a `packages` key, `parent > … > pkg`.
pub(crate) fn chain(path: &str) -> String {
    let chain: Vec<&str> = path
        .split(NODE_MODULES)
        .map(|s| s.trim_end_matches('/'))
        .filter(|s| !s.is_empty())
        .collect();
    chain.join(" > ")
}

/// The `packages` keys of `pkg` at `version`.
pub(crate) fn copies<'a>(
    packages: &'a Map<String, Value>,
    pkg: &str,
    version: &str,
) -> Vec<&'a String> {
    packages
        .iter()
        .filter(|(p, e)| {
            is_installed(p) && package_name(p, e) == Some(pkg) && self::version(e) == Some(version)
        })
        .map(|(p, _)| p)
        .collect()
}

/// Node's lookup of `dep` from the folder `from`: its own `node_modules`, then each enclosing
/// one up to the root. Gives the path and the version found.
pub(crate) fn lookup<'a>(
    packages: &'a Map<String, Value>,
    from: &str,
    dep: &str,
) -> Option<(String, Option<&'a str>)> {
    let mut base = from.to_string();
    loop {
        let cand = if base.is_empty() {
            format!("{NODE_MODULES}{dep}")
        } else {
            format!("{base}/{NODE_MODULES}{dep}")
        };
        if let Some(e) = packages.get(&cand) {
            return Some((cand, version(e)));
        }
        if base.is_empty() {
            return None;
        }
        base = match split_installed(&base) {
            Some((owner, _)) => owner.to_string(),
            None => String::new(),
        };
    }
}

/// Visits every entry of a v1 tree, depth first in file order, with the names of the entries
/// it is nested in (outermost first).
pub(crate) fn walk_tree<'a>(
    level: &'a Map<String, Value>,
    f: &mut dyn FnMut(&[&'a str], &'a str, &'a Value),
) {
    fn go<'a>(
        level: &'a Map<String, Value>,
        chain: &mut Vec<&'a str>,
        f: &mut dyn FnMut(&[&'a str], &'a str, &'a Value),
    ) {
        for (name, entry) in level {
            f(chain, name, entry);
            if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                chain.push(name);
                go(nested, chain, f);
                chain.pop();
            }
        }
    }
    go(level, &mut Vec::new(), f);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn names_chains_and_node_lookup() {
        let l = lock(
            r#"{"packages": {
                "": {"name": "web"},
                "packages/ui": {"name": "ui"},
                "node_modules/a": {"version": "1.0.0"},
                "node_modules/a/node_modules/b": {"version": "2.0.0"},
                "node_modules/b": {"version": "1.0.0"},
                "node_modules/alias": {"name": "real", "version": "3.0.0"}
            }}"#,
        );
        let p = packages(&l).unwrap();
        assert_eq!(
            package_name("node_modules/alias", &p["node_modules/alias"]),
            Some("real")
        );
        assert_eq!(package_name("packages/x", &Value::Null), None);
        assert!(!is_installed("packages/ui"));
        assert_eq!(chain("node_modules/a/node_modules/b"), "a > b");
        assert_eq!(
            split_installed("node_modules/a/node_modules/b"),
            Some(("node_modules/a", "b"))
        );
        // From a's folder, its own copy of b wins; from the root, the hoisted one.
        assert_eq!(
            lookup(p, "node_modules/a", "b"),
            Some(("node_modules/a/node_modules/b".to_string(), Some("2.0.0")))
        );
        assert_eq!(
            lookup(p, "", "b"),
            Some(("node_modules/b".to_string(), Some("1.0.0")))
        );
        assert_eq!(copies(p, "b", "2.0.0"), ["node_modules/a/node_modules/b"]);
    }

    #[test]
    fn the_v1_walk_gives_each_entry_its_ancestors() {
        let l = lock(
            r#"{"dependencies": {
                "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
                "c": {"version": "1.0.0"}
            }}"#,
        );
        let mut seen = Vec::new();
        walk_tree(tree(&l).unwrap(), &mut |chain, name, entry| {
            seen.push(format!(
                "{}/{name}@{}",
                chain.join("/"),
                version(entry).unwrap()
            ));
        });
        assert_eq!(seen, ["/a@1.0.0", "a/b@2.0.0", "/c@1.0.0"]);
    }
}
