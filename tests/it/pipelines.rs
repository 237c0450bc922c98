//! Pipelines and merging end to end against gitlab-sim: a fix within the policy's
//! `auto_merge.max_bump` is merged by GitLab after its green pipeline; a failing pipeline
//! leaves the MR open with one note naming the failed jobs and marks the remediation, and a
//! later green pipeline clears the mark and merges it.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::access;
use gitlab_sim::world::MrState;

use crate::policy::{remediation_of, two_crates_lock};
use crate::remediation::{world, CargoLockLines, World};

const POLICY: &str = "auto_approve: low\nlabels: [deps]\nignore:\n  - package: regex\n    reason: not reachable\nauto_merge:\n  enabled: true\n  max_bump: patch\n";

/// `acme/api` with CI jobs `build` and `test` (`failing` fail), smallvec 1.6.0 to fix (a patch
/// bump) and regex ignored by the policy; synced.
async fn pipeline_world(failing: &[&str]) -> (World, u64) {
    let w = world(Arc::new(CargoLockLines)).await;
    let alice = w.sim.with_world(|x| {
        let alice = x.create_user("alice", "Alice");
        x.add_member(w.pid, alice, access::MAINTAINER).unwrap();
        x.set_ci_jobs(w.pid, &["build", "test"]).unwrap();
        for job in failing {
            x.set_job_failing(w.pid, job, true).unwrap();
        }
        x.commit_files(
            w.pid,
            alice,
            "main",
            "policy",
            vec![
                ("Cargo.lock".into(), Some(two_crates_lock().into())),
                (
                    ".gitlab/backline.yml".into(),
                    Some(POLICY.to_string().into()),
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
    (w, alice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_fix_merges_itself_after_its_green_pipeline() {
    let (w, _) = pipeline_world(&[]).await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "no MR for the ignored package: {mrs:?}");
    let mr = &mrs[0];
    assert_eq!(mr.source_branch, "backline/crates.io/smallvec-1.6.1");
    assert_eq!(mr.labels, ["deps"]);
    assert_eq!(mr.state, MrState::Merged, "{mr:?}");
    assert_eq!(
        mr.merged_by,
        Some(w.bot),
        "merged by the user who set auto-merge"
    );
    let r = remediation_of(&w, "smallvec").await;
    assert!(
        ["merged", "fixed"].contains(&r["state"].as_str().unwrap()),
        "{r}"
    );
    let history = r["history"].to_string();
    assert!(
        history.contains("asked GitLab to merge when the pipeline succeeds"),
        "{history}"
    );
    assert_eq!(r["pipeline"]["status"], "success", "{r}");
    assert_eq!(remediation_of(&w, "regex").await["state"], "dismissed");
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_pipeline_leaves_one_note_and_a_green_one_clears_and_merges() {
    let (w, _) = pipeline_world(&["test"]).await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(
        mrs[0].state,
        MrState::Opened,
        "a failed pipeline never merges"
    );
    let notes: Vec<String> = mrs[0]
        .notes
        .iter()
        .filter(|n| !n.system && n.author_id == w.bot)
        .map(|n| n.body.clone())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("failed: `test`."), "{notes:?}");
    let r = remediation_of(&w, "smallvec").await;
    assert_eq!(r["pipeline"]["status"], "failed", "{r}");
    assert_eq!(r["pipeline_failed"], true);
    assert_eq!(r["pipeline"]["failed_jobs"], serde_json::json!(["test"]));
    assert!(
        r["history"].to_string().contains("pipeline failed: test"),
        "{r}"
    );
    // The same failure delivered again (a replay) posts nothing more.
    w.settle().await;
    let again = w.mrs()[0]
        .notes
        .iter()
        .filter(|n| !n.system && n.author_id == w.bot)
        .count();
    assert_eq!(again, 1);
    // Fixed CI and a new commit on the branch: green, cleared, merged.
    let branch = mrs[0].source_branch.clone();
    w.sim.with_world(|x| {
        x.set_job_failing(w.pid, "test", false).unwrap();
        x.commit_files(
            w.pid,
            w.bot,
            &branch,
            "retry CI",
            vec![("ci-retry".into(), Some("1\n".to_string().into()))],
        )
        .unwrap();
    });
    w.settle().await;
    let r = remediation_of(&w, "smallvec").await;
    assert!(
        r["history"]
            .to_string()
            .contains("pipeline passed: the failure is cleared"),
        "{r}"
    );
    assert_eq!(r["pipeline_failed"], false, "{r}");
    assert_eq!(w.mrs()[0].state, MrState::Merged);
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backline_merge_is_refused_to_people_who_may_not_merge_into_the_target() {
    let (w, alice) = pipeline_world(&["test"]).await;
    let iid = w.mrs()[0].iid;
    let bob = w.sim.with_world(|x| {
        let bob = x.create_user("bob", "Bob");
        x.add_member(w.pid, bob, access::DEVELOPER).unwrap();
        x.add_member(w.pid, w.bot, access::MAINTAINER).unwrap();
        x.protect_branch(
            w.pid,
            "main",
            gitlab_sim::world::ProtectedBranch {
                merge_access_level: access::MAINTAINER,
                push_access_level: access::MAINTAINER,
            },
        )
        .unwrap();
        x.add_note(w.pid, iid, bob, "/backline merge").unwrap();
        bob
    });
    let _ = bob;
    w.settle().await;
    let replies = |who: &str| -> Vec<String> {
        w.mrs()[0]
            .notes
            .iter()
            .filter(|n| n.author_id == w.bot && n.body.contains(who))
            .map(|n| n.body.clone())
            .collect()
    };
    let to_bob = replies("@bob");
    assert_eq!(to_bob.len(), 1, "{to_bob:?}");
    assert!(
        to_bob[0].contains(
            "refused: merging into `main` needs the Maintainer role (a protected branch) (you have Developer)"
        ),
        "{to_bob:?}"
    );
    assert_eq!(w.mrs()[0].state, MrState::Opened);
    // A Maintainer may (auto-merge is already set; the failed pipeline keeps it waiting).
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline merge"))
        .unwrap();
    w.settle().await;
    let to_alice = replies("@alice");
    assert_eq!(to_alice.len(), 1, "{to_alice:?}");
    assert!(
        to_alice[0].contains("`/backline merge`: already set to merge when the pipeline succeeds"),
        "{to_alice:?}"
    );
    w.app.shutdown().await;
}
