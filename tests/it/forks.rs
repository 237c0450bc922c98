//! Fork MRs and people's MRs never take over or kill the bot's fixes (issue 12, High 1): an MR
//! is the bot's only when its branch is in the project and the bot opened it; MR events about
//! any other MR change nothing, and an event is acted on only once GitLab confirms it.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::{MrSpec, MrState};

use crate::remediation::{lock, world, world_with, CargoLockLines, World};

const BRANCH: &str = "backline/crates.io/regex-1.5.5";

/// Mallory forks the project, pushes the bot's branch name to her fork and opens an MR from it
/// into the project. Returns (mallory, fork, the MR's iid in the project).
fn fork_mr(w: &World) -> (u64, u64, u64) {
    w.sim.with_world(|x| {
        let mallory = x.create_user("mallory", "Mallory");
        let fork = x.fork_project(w.pid, mallory, "mallory").unwrap();
        x.commit_files(
            fork,
            mallory,
            BRANCH,
            "not a fix",
            vec![("Cargo.lock".into(), Some("mine\n".to_string().into()))],
        )
        .unwrap();
        let (_, iid) = x
            .open_fork_mr(
                fork,
                mallory,
                MrSpec::new(BRANCH, "main", "Security: bump regex"),
            )
            .unwrap();
        (mallory, fork, iid)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_mr_with_the_bots_branch_name_is_never_adopted_nor_closes_the_fix() {
    let w = world(Arc::new(CargoLockLines)).await;
    let (mallory, _fork, fork_iid) = fork_mr(&w);
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let mrs = w.mrs();
    assert_eq!(
        mrs.len(),
        2,
        "the bot opens its own MR beside the fork's: {mrs:?}"
    );
    let own = mrs.iter().find(|m| m.source_project_id == w.pid).unwrap();
    assert_eq!(own.author_id, w.bot);
    assert_eq!(own.source_branch, BRANCH);
    assert_eq!(w.file(BRANCH, "Cargo.lock").unwrap(), lock("1.5.5"));
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open");
    assert_eq!(rem["mr_iid"], own.iid, "{rem}");
    assert_ne!(rem["mr_iid"], fork_iid);

    // Mallory closes her MR (a valid Merge Request Hook on the project): nothing changes.
    w.sim
        .with_world(|x| x.close_mr(w.pid, fork_iid, mallory))
        .unwrap();
    w.settle().await;
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open", "{rem}");
    assert!(rem["ignored_versions"]
        .as_array()
        .is_none_or(|v| v.is_empty()));
    let own = w.mrs().into_iter().find(|m| m.iid == own.iid).unwrap();
    assert_eq!(own.state, MrState::Opened);
    assert!(own.notes.is_empty(), "{:?}", own.notes);
    // Her reopening it is not a person reopening the fix either.
    w.sim
        .with_world(|x| x.reopen_mr(w.pid, fork_iid, mallory))
        .unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["mr_iid"], own.iid);
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_branch_and_mr_with_the_bots_name_are_left_alone_and_another_name_used() {
    let w = world(Arc::new(CargoLockLines)).await;
    let alice = w.bot_user_other().await;
    w.sim.with_world(|x| {
        x.commit_files(
            w.pid,
            alice,
            BRANCH,
            "my own take",
            vec![("NOTES.md".into(), Some("mine\n".to_string().into()))],
        )
        .unwrap();
        x.open_mr(w.pid, alice, MrSpec::new(BRANCH, "main", "alice's MR"))
            .unwrap();
    });
    w.settle().await;
    let alices_head = w.head(BRANCH).unwrap();
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(
        w.head(BRANCH).unwrap(),
        alices_head,
        "her branch is untouched"
    );
    let other = format!("{BRANCH}-2");
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 2, "{mrs:?}");
    let own = mrs.iter().find(|m| m.author_id == w.bot).unwrap();
    assert_eq!(own.source_branch, other);
    assert_eq!(w.file(&other, "Cargo.lock").unwrap(), lock("1.5.5"));
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open");
    assert_eq!(rem["branch"], other);
    assert_eq!(rem["mr_iid"], own.iid);
    let noted = rem["history"].as_array().unwrap().iter().any(|t| {
        t["why"]
            .as_str()
            .unwrap()
            .contains("was not made by backline")
    });
    assert!(noted, "{rem}");
    // Her closing her own MR dismisses nothing.
    let hers = mrs.iter().find(|m| m.author_id == alice).unwrap().iid;
    w.sim
        .with_world(|x| x.close_mr(w.pid, hers, alice))
        .unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "mr_open");
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_events_leave_a_planned_fix_planned() {
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(CargoLockLines), move |s| {
        s.advisories = vec![reference.join("rustsec-advisory-db")];
        s.auto_approve = None;
    })
    .await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "planned");
    let (mallory, _, fork_iid) = fork_mr(&w);
    w.settle().await;
    w.sim
        .with_world(|x| x.close_mr(w.pid, fork_iid, mallory))
        .unwrap();
    w.settle().await;
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "planned", "{rem}");
    assert!(rem["ignored_versions"]
        .as_array()
        .is_none_or(|v| v.is_empty()));
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validly_delivered_close_event_that_gitlab_does_not_confirm_changes_nothing() {
    let w = world(Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let iid = w.mrs()[0].iid;
    let alice = w.bot_user_other().await;
    // A Merge Request Hook body saying the bot's MR was closed by alice, while it is open:
    // built from GitLab's own payload shape, then edited, and delivered with the valid token.
    let mut body = w
        .sim
        .with_world(|x| gitlab_sim::events::merge_request(x, w.pid, iid, alice, "update"));
    body["object_attributes"]["action"] = "close".into();
    body["object_attributes"]["state"] = "closed".into();
    let (status, _) = w
        .app
        .deliver_with_token("Merge Request Hook", &serde_json::to_vec(&body).unwrap())
        .await;
    assert_eq!(status, 202);
    w.app.drain().await;
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open", "{rem}");
    assert_eq!(w.mrs()[0].state, MrState::Opened);
    w.app.shutdown().await;
}
