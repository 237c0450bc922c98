//! The people on the bot's MRs end to end against gitlab-sim (issue 17): the policy's labels,
//! assignees and reviewers (usernames resolved through `GET /users?username=`, unknown ones
//! recorded and skipped), `reviewers: [codeowners]` from the first `CODEOWNERS` GitLab would
//! read (groups expanded to their members), open MRs updated when the policy changes and not
//! touched when it does not; the MR's head pipeline read on reconcile when Pipeline Hooks were
//! lost; and the badge JSON / project API `pipeline` summary.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::access;
use gitlab_sim::world::MrState;

use crate::policy::{remediation_of, two_crates_lock};
use crate::remediation::{world, CargoLockLines, World};

/// Alice (assignee), bob (named reviewer), carol (in `acme/backend`, the code owners of
/// lockfiles), dave (named only by a `CODEOWNERS` GitLab does not read: a later location).
struct People {
    alice: u64,
    bob: u64,
    carol: u64,
    dave: u64,
}

const CODEOWNERS: &str = "* @bob\n\n[Dependencies]\nCargo.toml @dave\nCargo.lock @acme/backend @nobody-here carol@example.com @@maintainer\n";

/// `acme/api` with CI (`failing` jobs fail), regex 1.5.4 (ignored) and smallvec 1.6.0, the
/// people above, `docs/CODEOWNERS` (read) and `.gitlab/CODEOWNERS` (not read), and `policy`.
/// Synced when `sync`.
async fn people_world(policy: &str, failing: &[&str], sync: bool) -> (World, People) {
    let w = world(Arc::new(CargoLockLines)).await;
    let people = w.sim.with_world(|x| {
        let mk = |x: &mut gitlab_sim::world::World, name: &str, level: u8| {
            let id = x.create_user(name, name);
            x.add_member(w.pid, id, level).unwrap();
            id
        };
        let alice = mk(x, "alice", access::MAINTAINER);
        let bob = mk(x, "bob", access::DEVELOPER);
        let carol = mk(x, "carol", access::DEVELOPER);
        let dave = mk(x, "dave", access::DEVELOPER);
        let backend = x.ensure_group("acme/backend");
        x.add_group_member(backend, carol, access::DEVELOPER);
        x.set_ci_jobs(w.pid, &["build", "test"]).unwrap();
        for job in failing {
            x.set_job_failing(w.pid, job, true).unwrap();
        }
        x.commit_files(
            w.pid,
            alice,
            "main",
            "policy, owners and a second crate",
            vec![
                ("Cargo.lock".into(), Some(two_crates_lock().into())),
                (
                    ".gitlab/backline.yml".into(),
                    Some(policy.to_string().into()),
                ),
                ("docs/CODEOWNERS".into(), Some(CODEOWNERS.into())),
                (
                    ".gitlab/CODEOWNERS".into(),
                    Some("* @dave\n".to_string().into()),
                ),
            ],
        )
        .unwrap();
        People {
            alice,
            bob,
            carol,
            dave,
        }
    });
    w.settle().await;
    if sync {
        let service = w.app.app.catalog_service.clone().unwrap();
        service.sync(&Quiet).await.unwrap();
        w.settle().await;
    }
    (w, people)
}

const MERGING: &str = "auto_approve: low\nlabels: [deps]\nassignees: [alice, ghost]\nreviewers: [bob, codeowners]\nignore:\n  - package: regex\n    reason: not reachable\nauto_merge:\n  enabled: true\n  max_bump: patch\n";

/// Issue 17's scenario with people: the ignored package gets no MR (its remediation says
/// why); the other MR carries the labels, the assignee, the named reviewer and the code
/// owners of its lockfile, and merges itself after its green pipeline; what could not be
/// resolved is in its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mrs_carry_the_policys_labels_assignees_and_codeowner_reviewers() {
    let (w, people) = people_world(MERGING, &[], true).await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "no MR for the ignored package: {mrs:?}");
    let mr = &mrs[0];
    assert_eq!(mr.labels, ["deps"]);
    assert_eq!(mr.assignee_ids, [people.alice]);
    assert_eq!(
        mr.reviewer_ids,
        [people.bob, people.carol],
        "bob by name, carol from the group owning Cargo.lock in docs/CODEOWNERS (not dave: \
         .gitlab/CODEOWNERS comes after it, and Cargo.toml's rule does not match)"
    );
    assert!(!mr.reviewer_ids.contains(&people.dave));
    assert_eq!(mr.state, MrState::Merged, "{mr:?}");
    let r = remediation_of(&w, "smallvec").await;
    let history = r["history"].to_string();
    assert!(
        history.contains("assignee `ghost` is not a GitLab user: skipped"),
        "{history}"
    );
    assert!(
        history.contains("codeowners: `@nobody-here` is neither a user nor a group"),
        "{history}"
    );
    assert!(history.contains("an e-mail owner is skipped"), "{history}");
    assert!(history.contains("a role owner"), "{history}");
    let regex = remediation_of(&w, "regex").await;
    assert_eq!(regex["state"], "dismissed");
    assert!(
        regex["reason"].as_str().unwrap().contains("not reachable"),
        "{regex}"
    );
    // The MR API answers the people (lib/api/entities/merge_request_basic.rb).
    let (gl, _) = crate::gitlab_client::client_for(&w.sim, w.sim.bot_token());
    let answer = gl
        .merge_request(
            &backline::gitlab::ProjectRef::Id(w.pid.into()),
            backline::gitlab::MrIid::from(mr.iid),
        )
        .await
        .unwrap();
    let names = |u: &[backline::gitlab::rest::UserRef]| {
        u.iter().map(|u| u.username.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&answer.assignees), ["alice"]);
    assert_eq!(names(&answer.reviewers), ["bob", "carol"]);
    w.app.shutdown().await;
}

/// A policy change updates the open MR's labels and people (one PUT); a push that leaves the
/// policy alone sends none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_updates_open_mrs_and_nothing_else_does() {
    let policy =
        "auto_approve: low\nlabels: [deps]\nassignees: [alice]\nignore:\n  - package: regex\n";
    let (w, people) = people_world(policy, &[], true).await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].state, MrState::Opened);
    assert_eq!(mrs[0].assignee_ids, [people.alice]);
    assert!(mrs[0].reviewer_ids.is_empty());
    w.sim.reset_requests();
    let changed = "auto_approve: low\nlabels: [deps, urgent]\nassignees: [bob]\nreviewers: [alice]\nignore:\n  - package: regex\n";
    w.sim.with_world(|x| {
        x.commit_files(
            w.pid,
            people.alice,
            "main",
            "policy: people",
            vec![(
                ".gitlab/backline.yml".into(),
                Some(changed.to_string().into()),
            )],
        )
        .unwrap();
    });
    w.settle().await;
    let mr = &w.mrs()[0];
    assert_eq!(mr.labels, ["deps", "urgent"]);
    assert_eq!(mr.assignee_ids, [people.bob]);
    assert_eq!(mr.reviewer_ids, [people.alice]);
    assert_eq!(
        w.sim.count("PUT", "/projects/:id/merge_requests/:iid"),
        1,
        "{:?}",
        w.sim.requests()
    );
    let r = remediation_of(&w, "smallvec").await;
    assert!(
        r["history"]
            .to_string()
            .contains("labels, assignees and reviewers follow the changed policy"),
        "{r}"
    );
    // A push that does not touch the policy: no update, no user lookup.
    w.sim.reset_requests();
    w.sim.with_world(|x| {
        x.commit_files(
            w.pid,
            people.alice,
            "main",
            "docs",
            vec![("README.md".into(), Some("hello\n".to_string().into()))],
        )
        .unwrap();
    });
    w.settle().await;
    assert_eq!(w.sim.count("PUT", "/projects/:id/merge_requests/:iid"), 0);
    assert_eq!(w.sim.count("GET", "/users"), 0);
    w.app.shutdown().await;
}

/// Pipeline Hooks lost: the next sync's reconcile reads the MR's head pipeline and catches
/// up: the failure gets its one note and marks the remediation; a later green pipeline
/// (its hook lost too) clears the mark. The badge JSON and the project API carry the
/// pipeline summary meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_reads_the_head_pipeline_when_hooks_were_lost() {
    let policy = "auto_approve: low\nignore:\n  - package: regex\n";
    let (w, people) = people_world(policy, &["test"], false).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    // The runner finishes the pipeline, and every hook GitLab queued is lost.
    w.sim.with_world(|x| x.run_pipelines());
    let lost = w.sim.take_pending();
    assert!(
        lost.iter().any(|d| d.event == "Pipeline Hook"),
        "{:?}",
        lost.iter().map(|d| d.event.clone()).collect::<Vec<_>>()
    );
    let r = remediation_of(&w, "smallvec").await;
    assert_ne!(r["pipeline"]["status"], "failed", "{r}");
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let r = remediation_of(&w, "smallvec").await;
    assert_eq!(r["pipeline"]["status"], "failed", "{r}");
    assert_eq!(r["pipeline_failed"], true, "{r}");
    let mr = &w.mrs()[0];
    let notes = mr
        .notes
        .iter()
        .filter(|n| !n.system && n.author_id == w.bot)
        .count();
    assert_eq!(notes, 1, "{:?}", mr.notes);
    // The project API and the badge JSON say so.
    let (_, project) = w.app.api(&format!("/api/v1/projects/{}", w.pid)).await;
    assert_eq!(project["pipeline"]["failed"], 1, "{project}");
    assert_eq!(project["pipeline"]["worst"], "failed", "{project}");
    let secret = backline::http::badge::badge_secret(&w.app.app.settings).unwrap();
    let key = backline::http::badge::badge_key(&secret, w.pid);
    let badge: serde_json::Value =
        reqwest::get(format!("{}/badge/{}.json?key={key}", w.app.base, w.pid))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(badge["pipeline"]["failed"], 1, "{badge}");
    assert_eq!(badge["pipeline"]["worst"], "failed", "{badge}");
    let neutral: serde_json::Value = reqwest::get(format!("{}/badge/{}.json", w.app.base, w.pid))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        neutral.get("pipeline").is_none(),
        "the neutral badge tells nothing: {neutral}"
    );
    // A second sync with nothing new: no second note.
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let notes = w.mrs()[0]
        .notes
        .iter()
        .filter(|n| !n.system && n.author_id == w.bot)
        .count();
    assert_eq!(notes, 1);
    // Fixed CI, a new commit on the branch, its hooks lost too: the reconcile clears it.
    let branch = mr.source_branch.clone();
    w.sim.with_world(|x| {
        x.set_job_failing(w.pid, "test", false).unwrap();
        x.commit_files(
            w.pid,
            people.alice,
            &branch,
            "retry CI",
            vec![("ci-retry".into(), Some("1\n".to_string().into()))],
        )
        .unwrap();
        x.run_pipelines();
    });
    w.sim.take_pending();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let r = remediation_of(&w, "smallvec").await;
    assert_eq!(r["pipeline"]["status"], "success", "{r}");
    assert_eq!(r["pipeline_failed"], false, "{r}");
    assert!(
        r["history"].to_string().contains("the failure is cleared"),
        "{r}"
    );
    let (_, project) = w.app.api(&format!("/api/v1/projects/{}", w.pid)).await;
    assert_eq!(project["pipeline"]["success"], 1, "{project}");
    assert_eq!(project["pipeline"]["worst"], "success", "{project}");
    w.app.shutdown().await;
}
