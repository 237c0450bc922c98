//! Forks: an MR from a fork lives in the target project, is listed by its `source_branch`
//! filter, carries the fork as `source_project_id`, and fires the target project's hooks.

use gitlab_sim::{HookTarget, MrSpec};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn fork_mrs_are_listed_by_branch_name_and_hook_the_target_project() {
    let sim = start();
    let pid = project(&sim);
    let (mallory, fork, tok) = sim.with_world(|w| {
        let mallory = w.create_user("mallory", "Mallory");
        let tok = w.create_token(mallory, "mallory-tok", &["api"], None);
        let fork = w.fork_project(pid, mallory, "mallory").unwrap();
        w.add_project_hook(pid, HookTarget::new("http://127.0.0.1:9/hook"))
            .unwrap();
        w.pending.clear();
        (mallory, fork, tok)
    });
    let branch = "backline/crates.io/regex-1.5.5";
    sim.with_world(|w| {
        w.commit_files(
            fork,
            mallory,
            branch,
            "mine",
            vec![("Cargo.lock".into(), Some("evil\n".to_string().into()))],
        )
    })
    .unwrap();
    sim.with_world(|w| w.pending.clear());
    // Through the API, as GitLab takes it: POST on the fork with `target_project_id`.
    let (s, v) = json(
        call_as(
            &sim,
            &tok,
            Method::POST,
            &format!("/projects/{fork}/merge_requests"),
            Some(
                json!({"source_branch": branch, "target_branch": "main", "title": "mine",
                        "target_project_id": pid}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["project_id"], pid);
    assert_eq!(v["source_project_id"], fork);
    assert_eq!(v["target_project_id"], pid);
    assert_eq!(v["author"]["username"], "mallory");
    // The hook of the target project fires, naming the fork as the source.
    let pending = sim.take_pending();
    let mr_hooks: Vec<Value> = pending
        .iter()
        .filter(|d| d.event == "Merge Request Hook")
        .map(|d| serde_json::from_slice(&d.body).unwrap())
        .collect();
    assert_eq!(mr_hooks.len(), 1);
    assert_eq!(mr_hooks[0]["project"]["id"], pid);
    assert_eq!(mr_hooks[0]["object_attributes"]["source_project_id"], fork);
    assert_eq!(mr_hooks[0]["object_attributes"]["target_project_id"], pid);
    // The upstream's list filtered by source branch returns it (MergeRequestsFinder).
    let (s, list) = json(
        get(
            &sim,
            &format!("/projects/{pid}/merge_requests?source_branch={branch}&state=all"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["source_project_id"], fork);
    // The upstream's own branch of the same name is a separate MR, not a conflict.
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            branch,
            "fix",
            vec![(
                "Cargo.lock".into(),
                Some("version = 4\n".to_string().into()),
            )],
        )
        .unwrap();
        w.open_mr(pid, bot, MrSpec::new(branch, "main", "fix"))
            .unwrap()
    });
    let (_, list) = json(
        get(
            &sim,
            &format!("/projects/{pid}/merge_requests?source_branch={branch}"),
        )
        .await,
    )
    .await;
    let sources: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source_project_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sources.len(), 2, "{list}");
    assert!(sources.contains(&fork) && sources.contains(&pid));
    // The fork MR's details read the fork's branch.
    let iid = v["iid"].as_u64().unwrap();
    let one = settled(&sim, &format!("/projects/{pid}/merge_requests/{iid}")).await;
    assert_eq!(one["detailed_merge_status"], "mergeable", "{one}");
    assert_eq!(
        one["sha"],
        sim.with_world(|w| w
            .project(fork)
            .unwrap()
            .repo
            .head(branch)
            .unwrap()
            .id
            .clone())
    );
}
