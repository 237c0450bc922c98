//! Reading manifests through the API against gitlab-sim: one tree listing, then only the files
//! whose blobs changed; after a push, only the touched manifests; broken files become errors that
//! name the file and line.

use std::collections::BTreeSet;

use backline::deps::DiscoveryRules;
use backline::gitlab::{ClientConfig, GitLab, ProjectId};
use backline::inventory::{
    refresh_all, refresh_all_within, refresh_touched, Inventory, RefreshLimits,
};
use backline::secret::Secret;
use backline::store::Store;
use gitlab_sim::{access, GitLabSim, ProjectSpec, SimConfig};

const CARGO_LOCK: &str = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["regex"]

[[package]]
name = "regex"
version = "1.5.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

const CARGO_TOML: &str =
    "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_are_fetched_once_per_blob_and_pushes_reread_only_what_they_touched() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let id = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "app")
                    .file("Cargo.lock", CARGO_LOCK)
                    .file("Cargo.toml", CARGO_TOML)
                    .file("py/requirements.txt", "-r base.txt\nflask==2.0.0\n")
                    .file("py/base.txt", "jinja2==2.10\n")
                    .file(
                        "go.mod",
                        "module x\n\ngo 1.21\n\nrequire (\n  github.com/a/b v1.0.0\n",
                    )
                    .file("web/node_modules/left-pad/package-lock.json", "{}")
                    .file("README.md", "hello"),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inventory = Inventory::open(&store).unwrap();
    let gl = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let pid = ProjectId(id);
    let rules = DiscoveryRules::default();

    let first = refresh_all(&gl, &inventory, pid, "main", &rules)
        .await
        .unwrap();
    assert_eq!(
        (first.manifests, first.parsed, first.reused),
        (3, 3, 0),
        "{first:?}"
    );
    // Cargo.lock + Cargo.toml, requirements.txt + base.txt, go.mod; never node_modules.
    assert_eq!(first.files_fetched, 5);
    assert_eq!(first.requests, 1 + 5);
    // One parse per manifest (companions are read first), one more for requirements.txt's
    // include.
    assert_eq!(first.parser_runs, 3 + 1);
    assert_eq!(first.errors.len(), 1);
    let err = first.errors[0].to_string();
    assert!(err.starts_with("could not parse go.mod at line 5"), "{err}");
    let manifests = inventory.manifests(pid).unwrap();
    let cargo = manifests.iter().find(|m| m.path == "Cargo.lock").unwrap();
    let regex = cargo
        .dependencies
        .iter()
        .find(|d| d.name == "regex")
        .unwrap();
    assert_eq!(regex.version.as_deref(), Some("1.5.4"));
    assert!(regex.direct);
    let py = manifests
        .iter()
        .find(|m| m.path == "py/requirements.txt")
        .unwrap();
    assert!(py.dependencies.iter().any(|d| d.name == "jinja2"));

    // Nothing changed: one tree listing, nothing fetched or parsed.
    let again = refresh_all(&gl, &inventory, pid, "main", &rules)
        .await
        .unwrap();
    assert_eq!((again.parsed, again.reused, again.requests), (0, 3, 1));

    // A push that changes an included file re-reads the manifest that includes it, and only it.
    let sha = sim
        .with_world(|w| {
            w.commit_files(
                id,
                bot,
                "main",
                "bump jinja",
                vec![("py/base.txt".into(), Some("jinja2==3.1.4\n".into()))],
            )
        })
        .unwrap();
    let touched: BTreeSet<&str> = ["py/base.txt"].into();
    let push = refresh_touched(&gl, &inventory, pid, &sha, &touched, &rules)
        .await
        .unwrap();
    assert_eq!(push.parsed, 1);
    assert_eq!(push.requests, 2, "requirements.txt and base.txt");
    let py = inventory
        .manifests(pid)
        .unwrap()
        .into_iter()
        .find(|m| m.path == "py/requirements.txt")
        .unwrap();
    assert!(py
        .dependencies
        .iter()
        .any(|d| d.name == "jinja2" && d.version.as_deref() == Some("3.1.4")));

    // A push that touched no manifest costs nothing.
    let readme: BTreeSet<&str> = ["README.md", "src/lib.rs"].into();
    let none = refresh_touched(&gl, &inventory, pid, &sha, &readme, &rules)
        .await
        .unwrap();
    assert_eq!((none.parsed, none.requests), (0, 0));

    // A lockfile removed by a push is forgotten.
    let sha = sim
        .with_world(|w| {
            w.commit_files(
                id,
                bot,
                "main",
                "drop cargo",
                vec![("Cargo.lock".into(), None)],
            )
        })
        .unwrap();
    let removed: BTreeSet<&str> = ["Cargo.lock"].into();
    let gone = refresh_touched(&gl, &inventory, pid, &sha, &removed, &rules)
        .await
        .unwrap();
    assert_eq!(gone.removed, 1);
    assert_eq!(inventory.manifests(pid).unwrap().len(), 2);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
}

/// Issue 12 item 3: a small hostile lockfile (80 KB of nested flow mappings, seconds for the YAML
/// parser) becomes a manifest error naming the limit, parsed once, and the other manifests of
/// the project are still read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_lockfile_is_a_manifest_error_not_a_stall() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let depth = 80 * 1024 / 5;
    let hostile = format!(
        "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}{}\n",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    );
    let id = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "nested")
                    .file("pnpm-lock.yaml", hostile.clone())
                    .file("Cargo.lock", CARGO_LOCK)
                    .file("Cargo.toml", CARGO_TOML),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inventory = Inventory::open(&store).unwrap();
    let gl = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let pid = ProjectId(id);
    let report = refresh_all(&gl, &inventory, pid, "main", &DiscoveryRules::default())
        .await
        .unwrap();
    assert_eq!((report.manifests, report.parser_runs), (2, 2), "{report:?}");
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        vec![format!(
            "could not parse pnpm-lock.yaml: too deeply nested (limit {})",
            backline::deps::limits::MAX_YAML_DEPTH
        )]
    );
    let manifests = inventory.manifests(pid).unwrap();
    let cargo = manifests.iter().find(|m| m.path == "Cargo.lock").unwrap();
    assert!(cargo.dependencies.iter().any(|d| d.name == "regex"));
}

/// Issue 12 item 5: a refresh reads each file up to a cap and the project up to a budget of
/// files and bytes; what is over becomes the manifest's error (the manifest is not dropped),
/// and the rest of the project is still read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_over_the_refresh_limits_are_manifest_errors() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let big_lock = format!("{CARGO_LOCK}\n# {}\n", "x".repeat(20_000));
    let big_toml = format!("{CARGO_TOML}\n# {}\n", "x".repeat(20_000));
    let id = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "big")
                    .file("a/Cargo.lock", big_lock.clone())
                    .file("b/Cargo.lock", CARGO_LOCK)
                    .file("b/Cargo.toml", big_toml.clone())
                    .file("c/go.mod", "module x\n\ngo 1.21\n")
                    .file("d/go.mod", "module y\n\ngo 1.21\n"),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let inventory = Inventory::open(&store).unwrap();
    let gl = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let pid = ProjectId(id);
    let limits = RefreshLimits {
        max_file_bytes: 10_000,
        max_files: 4,
        max_total_bytes: 1 << 20,
    };
    let report = refresh_all_within(
        &gl,
        &inventory,
        pid,
        "main",
        &DiscoveryRules::default(),
        limits,
    )
    .await
    .unwrap();
    assert_eq!(report.manifests, 4, "{report:?}");
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        vec![
            "could not parse a/Cargo.lock: file too large (over the limit of 10000 bytes)".to_string(),
            "could not parse b/Cargo.lock: b/Cargo.toml is too large (over the limit of 10000 bytes)".to_string(),
            "could not parse d/go.mod: not read: this refresh of the project reached its limit of 4 files or 1048576 bytes".to_string(),
        ],
        "{report:?}"
    );
    // Nothing oversized was ever requested twice (no retry of a too-large answer): the tree,
    // a/Cargo.lock, b/Cargo.lock, b/Cargo.toml, c/go.mod; d/go.mod is never asked for.
    assert_eq!(
        (report.files_fetched, report.requests),
        (2, 5),
        "{report:?}"
    );
    let manifests = inventory.manifests(pid).unwrap();
    assert_eq!(
        manifests.len(),
        4,
        "over-limit manifests are kept, with their error"
    );
    assert!(manifests
        .iter()
        .find(|m| m.path == "c/go.mod")
        .unwrap()
        .error
        .is_none());
}
