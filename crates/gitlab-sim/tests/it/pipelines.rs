//! Pipelines per pushed commit, Pipeline Hooks, the jobs API, the MR's head pipeline,
//! auto-merge on the merge API and protected branches' merge access levels.

use gitlab_sim::world::ProtectedBranch;
use gitlab_sim::{access, HookTarget};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, call_as, get, json, project, settled, start};

#[tokio::test(flavor = "multi_thread")]
async fn pipelines_run_report_and_merge_automatically_within_protection() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    let (alice_token, dev) = sim.with_world(|w| {
        w.set_ci_jobs(pid, &["build", "test"]).unwrap();
        w.add_project_hook(pid, HookTarget::new("http://127.0.0.1:9/hook"))
            .unwrap();
        let alice = w.create_user("alice", "Alice");
        w.add_member(pid, alice, access::DEVELOPER).unwrap();
        let token = w.create_token(alice, "alice-token-0123456789", &["api"], None);
        w.commit_files(
            pid,
            bot,
            "fix",
            "fix",
            vec![("README.md".into(), Some("fixed\n".to_string().into()))],
        )
        .unwrap();
        w.pending.clear();
        (token, alice)
    });
    let _ = dev;
    let (s, mr) = json(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/merge_requests"),
            Some(json!({"source_branch": "fix", "target_branch": "main", "title": "Fix"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{mr}");
    let path = format!("/projects/{pid}/merge_requests/1");
    let v = settled(&sim, &path).await;
    assert_eq!(v["head_pipeline"]["status"], "running", "{v}");
    let pipeline = v["head_pipeline"]["id"].as_u64().unwrap();
    // Without auto-merge the running pipeline does not stop a merge; with it the MR waits.
    // Protected `main` with Maintainer merge rights: a Developer may not merge.
    sim.with_world(|w| {
        w.protect_branch(
            pid,
            "main",
            ProtectedBranch {
                merge_access_level: access::MAINTAINER,
                push_access_level: access::MAINTAINER,
            },
        )
    })
    .unwrap();
    let (s, _) = json(
        call_as(
            &sim,
            &alice_token,
            Method::PUT,
            &format!("{path}/merge"),
            Some(json!({"merge_when_pipeline_succeeds": true})),
        )
        .await,
    )
    .await;
    assert_eq!(
        s, 401,
        "a Developer may not merge into a Maintainer-protected branch"
    );
    let (s, pb) = json(get(&sim, &format!("/projects/{pid}/protected_branches/main")).await).await;
    assert_eq!(s, 403, "reading protected branches needs Maintainer: {pb}");
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER))
        .unwrap();
    let (s, pb) = json(get(&sim, &format!("/projects/{pid}/protected_branches/main")).await).await;
    assert_eq!(
        (s, pb["merge_access_levels"][0]["access_level"].clone()),
        (200, json!(40))
    );
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &format!("{path}/merge"),
            Some(json!({"merge_when_pipeline_succeeds": true})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "opened");
    assert_eq!(v["merge_when_pipeline_succeeds"], true);
    // The runner finishes it: a Pipeline Hook, and the MR merged by the bot.
    sim.with_world(|w| w.run_pipelines());
    let pending = sim.take_pending();
    let hooks: Vec<Value> = pending
        .iter()
        .filter(|d| d.event == "Pipeline Hook")
        .map(|d| serde_json::from_slice(&d.body).unwrap())
        .collect();
    assert!(
        hooks
            .iter()
            .any(|h| h["object_attributes"]["status"] == "success"
                && h["object_attributes"]["id"] == pipeline
                && h["builds"].as_array().unwrap().len() == 2),
        "{hooks:?}"
    );
    let (_, v) = json(get(&sim, &path).await).await;
    assert_eq!(v["state"], "merged");
    assert_eq!(
        v["merged_by"]["username"],
        sim.with_world(|w| w.users[&bot].username.clone())
    );
    // A failing job fails the next pipeline; the jobs API names it.
    sim.with_world(|w| {
        w.set_job_failing(pid, "test", true).unwrap();
        w.commit_files(
            pid,
            bot,
            "other",
            "x",
            vec![("x".into(), Some("x".to_string().into()))],
        )
        .unwrap();
        w.run_pipelines();
    });
    let failed = sim.with_world(|w| w.project(pid).unwrap().pipelines.last().unwrap().clone());
    assert_eq!(failed.status, "failed");
    let (s, jobs) = json(
        get(
            &sim,
            &format!(
                "/projects/{pid}/pipelines/{}/jobs?scope[]=failed",
                failed.id
            ),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(jobs[0]["name"], "test");
    sim.stop().await;
}
