//! The core stays pure: no async runtime, store, HTTP client or server among its normal
//! dependencies, direct or pulled in by another crate. Runs `cargo tree` offline against the
//! locked graph and names the crate (and the path that brings it) when the line is crossed.

use std::path::Path;
use std::process::Command;

/// Crates the core must never depend on, by exact name.
const FORBIDDEN: &[&str] = &["tokio", "sled", "reqwest", "actix-web", "hyper"];

/// Name prefixes of the same families (`tokio-util`, `actix-http`, `hyper-util`, ...).
const FORBIDDEN_FAMILIES: &[&str] = &["tokio-", "actix-", "hyper-"];

/// The crate names in `cargo tree --prefix none` output (`name vX.Y.Z (...)` a line).
fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// The forbidden crates among `names`, each once, in order of first appearance.
fn forbidden(names: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let bad =
            FORBIDDEN.contains(name) || FORBIDDEN_FAMILIES.iter().any(|p| name.starts_with(p));
        if bad && !out.iter().any(|o| o == name) {
            out.push((*name).to_string());
        }
    }
    out
}

fn cargo_tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "tree",
            "-p",
            "backline-core",
            "-e",
            "normal",
            "--offline",
            "--locked",
        ])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

#[test]
fn the_core_has_no_runtime_store_or_http_dependency() {
    let tree = cargo_tree(&["--prefix", "none"]);
    let names = crate_names(&tree);
    assert_eq!(names.first(), Some(&"backline-core"), "{tree}");
    assert!(
        names.contains(&"serde"),
        "the tree lists the dependencies: {tree}"
    );
    let found = forbidden(&names);
    let why: Vec<String> = found
        .iter()
        .map(|name| format!("{name}, brought in by:\n{}", cargo_tree(&["-i", name])))
        .collect();
    assert!(
        found.is_empty(),
        "backline-core must stay pure; it depends on {}",
        why.join("\n")
    );
}

#[test]
fn the_check_names_forbidden_crates_and_their_families() {
    let tree = "backline-core v0.1.0 (/x)\nserde v1.0.0\ntokio v1.40.0\nhyper-util v0.1.0\n\
                tokio v1.40.0 (*)\nsledgehammer v1.0.0\n";
    assert_eq!(
        forbidden(&crate_names(tree)),
        vec!["tokio".to_string(), "hyper-util".to_string()]
    );
    assert!(forbidden(&crate_names("backline-core v0.1.0\nserde v1\n")).is_empty());
}
