//! `group: manifest` end to end against gitlab-sim: three vulnerable crates in one Cargo.lock
//! get one MR on `backline/group/cargo.lock` changing all three; a fourth vulnerable crate
//! pushed to the default branch joins the same MR (branch regenerated); a fix made by hand
//! leaves it; `/backline rebase` on a conflict rewrites it with every fix; merging it marks
//! every fix in it merged.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::{access, MrState};
use serde_json::Value;

use crate::remediation::{world, CargoLockLines, World};

const BRANCH: &str = "backline/group/cargo.lock";

fn entry(name: &str, version: &str) -> String {
    format!("[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n")
}

/// A Cargo.lock with these crates (each a dependency of `app`).
fn lockfile(crates: &[(&str, &str)]) -> String {
    let deps: String = crates.iter().map(|(n, _)| format!(" \"{n}\",\n")).collect();
    let entries: Vec<String> = crates.iter().map(|(n, v)| entry(n, v)).collect();
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n{deps}]\n\n{}",
        entries.join("\n")
    )
}

async fn remediations(w: &World) -> Vec<Value> {
    let (_, body) = w.app.api("/api/v1/remediations").await;
    body["items"].as_array().unwrap().clone()
}

fn by_package<'a>(all: &'a [Value], package: &str) -> &'a Value {
    all.iter()
        .find(|r| r["package"] == package)
        .unwrap_or_else(|| panic!("no remediation of {package}: {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mr_per_manifest_carries_every_fix_and_follows_them() {
    let w = world(Arc::new(CargoLockLines)).await;
    let three = [
        ("regex", "1.5.4"),
        ("smallvec", "1.6.0"),
        ("hyper", "0.14.9"),
    ];
    let alice = w.sim.with_world(|x| {
        let alice = x.create_user("alice", "Alice");
        x.add_member(w.pid, alice, access::MAINTAINER).unwrap();
        x.commit_files(
            w.pid,
            alice,
            "main",
            "three crates and the policy",
            vec![
                ("Cargo.lock".into(), Some(lockfile(&three).into())),
                (
                    ".gitlab/backline.yml".into(),
                    Some("group: manifest\nauto_approve: low\n".to_string().into()),
                ),
            ],
        )
        .unwrap();
        alice
    });
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;

    // One MR changing all three.
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    let mr = mrs[0].clone();
    assert_eq!(mr.source_branch, BRANCH);
    assert_eq!(mr.title, "Security: bump 3 dependencies in Cargo.lock");
    for (package, advisory) in [
        ("regex", "RUSTSEC-2022-0013"),
        ("smallvec", "RUSTSEC-2021-0003"),
        ("hyper", "RUSTSEC-2021-0078"),
    ] {
        assert!(
            mr.description.contains(&format!("| {package} |")),
            "{}",
            mr.description
        );
        assert!(mr.description.contains(advisory), "{}", mr.description);
    }
    let on_branch = w.file(BRANCH, "Cargo.lock").unwrap();
    assert_eq!(
        on_branch,
        lockfile(&[
            ("regex", "1.5.5"),
            ("smallvec", "1.6.1"),
            ("hyper", "0.14.10")
        ])
    );
    let all = remediations(&w).await;
    assert_eq!(all.len(), 3, "{all:?}");
    for r in &all {
        assert_eq!(r["state"], "mr_open", "{r}");
        assert_eq!(r["mr_iid"], mr.iid, "{r}");
    }
    // Acting again changes nothing: no new commit, no new MR.
    let head = w.head(BRANCH).unwrap();
    let background = w.app.app.engine.as_ref().unwrap().background().clone();
    background
        .act_now(backline::gitlab::ProjectId(w.pid))
        .await
        .unwrap();
    assert_eq!(w.head(BRANCH).unwrap(), head);
    assert_eq!(w.mrs().len(), 1);

    // A fourth vulnerable crate on main: it joins the same MR, the branch regenerated.
    let four = [
        ("crossbeam-deque", "0.8.0"),
        ("regex", "1.5.4"),
        ("smallvec", "1.6.0"),
        ("hyper", "0.14.9"),
    ];
    w.commit(alice, "main", "Cargo.lock", &lockfile(&four))
        .await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].title, "Security: bump 4 dependencies in Cargo.lock");
    assert_eq!(
        w.file(BRANCH, "Cargo.lock").unwrap(),
        lockfile(&[
            ("crossbeam-deque", "0.8.1"),
            ("regex", "1.5.5"),
            ("smallvec", "1.6.1"),
            ("hyper", "0.14.10")
        ])
    );
    let all = remediations(&w).await;
    let deque = by_package(&all, "crossbeam-deque");
    assert_eq!(deque["state"], "mr_open", "{deque}");
    assert_eq!(deque["mr_iid"], mr.iid, "{deque}");

    // smallvec fixed by hand on main: it leaves the MR, which stays open with the others.
    let by_hand = [
        ("crossbeam-deque", "0.8.0"),
        ("regex", "1.5.4"),
        ("smallvec", "1.6.1"),
        ("hyper", "0.14.9"),
    ];
    w.commit(alice, "main", "Cargo.lock", &lockfile(&by_hand))
        .await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].state, MrState::Opened);
    assert_eq!(mrs[0].title, "Security: bump 3 dependencies in Cargo.lock");
    assert!(!mrs[0].description.contains("| smallvec |"));
    let all = remediations(&w).await;
    assert_eq!(by_package(&all, "smallvec")["state"], "obsolete");
    assert_eq!(by_package(&all, "regex")["state"], "mr_open");

    // main moves under the MR with a conflicting change: `/backline rebase` rewrites the group
    // branch from main with every fix still in it.
    let moved = format!("{}\n", lockfile(&by_hand));
    w.commit(alice, "main", "Cargo.lock", &moved).await;
    w.sim
        .with_world(|x| x.add_note(w.pid, mr.iid, alice, "/backline rebase"))
        .unwrap();
    w.settle().await;
    assert_eq!(
        w.file(BRANCH, "Cargo.lock").unwrap(),
        format!(
            "{}\n",
            lockfile(&[
                ("crossbeam-deque", "0.8.1"),
                ("regex", "1.5.5"),
                ("smallvec", "1.6.1"),
                ("hyper", "0.14.10")
            ])
        )
    );
    let main = w.head("main").unwrap();
    let parent = w.sim.with_world(|x| {
        x.project(w.pid)
            .unwrap()
            .repo
            .head(BRANCH)
            .unwrap()
            .parent_ids
            .clone()
    });
    assert_eq!(parent, vec![main]);

    // Merging the MR marks every fix in it merged.
    w.sim
        .with_world(|x| x.merge_mr(w.pid, mr.iid, alice))
        .unwrap();
    w.settle().await;
    let all = remediations(&w).await;
    for package in ["crossbeam-deque", "hyper", "regex"] {
        let r = by_package(&all, package);
        assert!(
            r["state"] == "merged" || r["state"] == "fixed",
            "{package}: {r}"
        );
    }
    assert_eq!(by_package(&all, "smallvec")["state"], "obsolete");
    w.app.shutdown().await;
}
