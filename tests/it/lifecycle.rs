//! GitLab's MR lifecycle as the simulator models it by default (issue 11 §2.2–2.6, 2.9):
//! asynchronous rebases and mergeability checks, reopen refusals, branch deletion, recursion
//! blocking and internal notes.

use std::sync::Arc;

use backline::catalog::service::Quiet;

use crate::remediation::{lock, world, CargoLockLines, World};

const BRANCH: &str = "backline/crates.io/regex-1.5.5";

/// The scene with the bot's MR open; returns its iid.
async fn with_open_mr(w: &World) -> u64 {
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    mrs[0].iid
}

fn replies(w: &World, iid: u64) -> Vec<String> {
    w.mrs()
        .into_iter()
        .find(|m| m.iid == iid)
        .unwrap()
        .notes
        .into_iter()
        .filter(|n| n.author_id == w.bot && n.body.starts_with("@alice"))
        .map(|n| n.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchecked_mr_is_never_taken_as_clean_and_a_conflict_regenerates_the_branch() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    // main moves with a change to the same file: the MR now conflicts, but GitLab has not
    // checked it yet (`unchecked`, `has_conflicts` false).
    let moved = format!("{}\n", lock("1.5.4"));
    w.commit(alice, "main", "Cargo.lock", &moved).await;
    let check = w.sim.with_world(|x| x.mr(w.pid, iid).unwrap().merge_check);
    assert_eq!(check, gitlab_sim::MergeCheck::Unchecked);
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline rebase"))
        .unwrap();
    w.settle().await;
    let replies = replies(&w, iid);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains("the branch conflicted: regenerated it from the default branch"),
        "{}",
        replies[0]
    );
    assert_eq!(
        w.file(BRANCH, "Cargo.lock").unwrap(),
        format!("{}\n", lock("1.5.5"))
    );
    let main = w.head("main").unwrap();
    let parent = w.sim.with_world(|x| {
        let p = x.project(w.pid).unwrap();
        p.repo.head(BRANCH).unwrap().parent_ids.clone()
    });
    assert_eq!(parent, vec![main]);
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_rebase_is_polled_until_gitlab_finishes_it() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "README.md", "unrelated").await;
    w.sim.reset_requests();
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline rebase"))
        .unwrap();
    w.settle().await;
    let replies = replies(&w, iid);
    assert!(
        replies[0].contains("`/backline rebase`: rebased on the default branch"),
        "{replies:?}"
    );
    // The answer came after GitLab's job ran: the branch sits on main's head, and the MR was
    // read again after the 202 with include_rebase_in_progress.
    let main = w.head("main").unwrap();
    let parent = w.sim.with_world(|x| {
        let p = x.project(w.pid).unwrap();
        p.repo.head(BRANCH).unwrap().parent_ids.clone()
    });
    assert_eq!(parent, vec![main]);
    let requests = w.sim.requests();
    let put = requests
        .iter()
        .position(|r| r.method == "PUT" && r.path.ends_with("/rebase"))
        .expect("rebase requested");
    let polls = requests[put..]
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path.ends_with(&format!("/merge_requests/{iid}"))
                && r.query.contains("include_rebase_in_progress=true")
        })
        .count();
    assert!(polls >= 2, "{polls} polls after the rebase");
    w.app.shutdown().await;
}

/// The bot's MR closed by alice (dismissed), then `f` done, then `/backline unignore` on it.
async fn unignore_after(w: &World, f: impl FnOnce(&mut gitlab_sim::World, u64, u64)) -> u64 {
    let iid = with_open_mr(w).await;
    let alice = w.bot_user_other().await;
    w.sim.with_world(|x| x.close_mr(w.pid, iid, alice)).unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "dismissed");
    w.sim.with_world(|x| f(x, iid, alice));
    w.settle().await;
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline unignore"))
        .unwrap();
    w.settle().await;
    iid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopen_refused_with_409_never_adopts_a_persons_mr_and_opens_a_fresh_one() {
    let w = world(Arc::new(CargoLockLines)).await;
    let mut hers = 0;
    let old = unignore_after(&w, |x, _, alice| {
        // Alice opens her own MR from the bot's branch: the same branches as the closed one.
        hers = x
            .open_mr(
                w.pid,
                alice,
                gitlab_sim::MrSpec::new(BRANCH, "main", "mine"),
            )
            .unwrap();
    })
    .await;
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open", "{rem}");
    let fresh = format!("{BRANCH}-2");
    assert_eq!(rem["branch"], fresh);
    let mrs = w.mrs();
    let current = mrs
        .iter()
        .find(|m| Some(m.iid) == rem["mr_iid"].as_u64())
        .unwrap();
    assert_eq!(current.author_id, w.bot);
    assert_eq!(current.source_branch, fresh);
    assert_ne!(current.iid, hers);
    assert_ne!(current.iid, old);
    let history = rem["history"].to_string();
    assert!(history.contains("(409)"), "{history}");
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopen_refused_with_422_for_a_deleted_branch_opens_a_fresh_mr() {
    let w = world(Arc::new(CargoLockLines)).await;
    let old = unignore_after(&w, |x, _, alice| {
        // Alice pushed to the bot's branch (so it is never rewritten), then deleted it.
        x.commit_files(
            w.pid,
            alice,
            BRANCH,
            "mine",
            vec![("NOTES.md".into(), Some("x".to_string().into()))],
        )
        .unwrap();
        x.delete_branch(w.pid, alice, BRANCH).unwrap();
    })
    .await;
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open", "{rem}");
    assert_eq!(rem["branch"], format!("{BRANCH}-2"));
    assert_ne!(rem["mr_iid"], old);
    assert!(rem["history"].to_string().contains("(422)"), "{rem}");
    assert_eq!(
        w.file(&format!("{BRANCH}-2"), "Cargo.lock").unwrap(),
        lock("1.5.5")
    );
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_deleting_the_bots_branch_dismisses_that_version() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    w.sim
        .with_world(|x| x.delete_branch(w.pid, alice, BRANCH))
        .unwrap();
    w.settle().await;
    let mr = w.mrs().into_iter().find(|m| m.iid == iid).unwrap();
    assert_eq!(mr.state, gitlab_sim::MrState::Closed);
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "dismissed", "{rem}");
    assert_eq!(rem["ignored_versions"], serde_json::json!(["1.5.5"]));
    assert!(mr
        .notes
        .iter()
        .any(|n| n.body.contains("will not propose `regex` `1.5.5` again")));
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_does_not_depend_on_events_its_own_calls_cause() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    // Fixed by hand on main: the bot closes its MR while handling that push; GitLab blocks
    // the close event that call causes (the same event UUID, the same hook).
    w.commit(alice, "main", "Cargo.lock", &lock("1.5.6")).await;
    let blocked: Vec<String> = w.sim.with_world(|x| {
        x.blocked_deliveries
            .iter()
            .map(|d| d.event.clone())
            .collect()
    });
    assert!(
        blocked.iter().any(|e| e == "Merge Request Hook"),
        "{blocked:?}"
    );
    let mr = w.mrs().into_iter().find(|m| m.iid == iid).unwrap();
    assert_eq!(mr.state, gitlab_sim::MrState::Closed);
    assert_eq!(w.remediation().await["state"], "obsolete");
    // The requests the bot made for that delivery carried its event UUID.
    assert!(w
        .sim
        .requests()
        .iter()
        .any(|r| r.method == "PUT" && r.event_uuid.is_some()));
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_note_arrives_only_to_hooks_that_ask_and_is_read_like_a_note() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    // The test's hook was made like GitLab's default: no internal note events.
    w.sim
        .with_world(|x| x.add_internal_note(w.pid, iid, alice, "/backline status"))
        .unwrap();
    assert!(w.sim.with_world(|x| x.pending.is_empty()));
    // With confidential_note_events (as on managed hooks), it comes as a Confidential Note
    // Hook and its command runs.
    w.sim.with_world(|x| {
        for h in &mut x.project_mut_raw(w.pid).unwrap().hooks {
            h.confidential_note_events = true;
        }
        x.add_internal_note(w.pid, iid, alice, "/backline status")
            .unwrap();
        assert_eq!(x.pending.len(), 1);
        assert_eq!(x.pending[0].event, "Confidential Note Hook");
    });
    w.settle().await;
    let replies = replies(&w, iid);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("`/backline status`"), "{}", replies[0]);
    w.app.shutdown().await;
}

/// Issue 11 §2.10: GitLab refuses to queue a rebase with 403 (source branch protected from
/// force push, or gone) or 409 (a lock: "Failed to enqueue the rebase operation"); the bot
/// says why, or regenerates a branch that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebase_refusals_are_explained_or_regenerate_the_branch() {
    let w = world(Arc::new(CargoLockLines)).await;
    let iid = with_open_mr(&w).await;
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "README.md", "unrelated").await;
    let before = w.head(BRANCH).unwrap();
    let ask = |w: &World| {
        w.sim
            .with_world(|x| x.add_note(w.pid, iid, alice, "/backline rebase"))
            .unwrap();
    };
    w.sim.with_world(|x| {
        x.project_mut_raw(w.pid)
            .unwrap()
            .protected_no_force_push
            .insert(BRANCH.into())
    });
    ask(&w);
    w.settle().await;
    let got = replies(&w, iid);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("protected from force push"), "{}", got[0]);
    assert_eq!(w.head(BRANCH).unwrap(), before, "nothing pushed");

    w.sim.with_world(|x| {
        let p = x.project_mut_raw(w.pid).unwrap();
        p.protected_no_force_push.clear();
        if let Some(m) = p.merge_requests.iter_mut().find(|m| m.iid == iid) {
            m.row_locked = true;
        }
    });
    ask(&w);
    w.settle().await;
    let got = replies(&w, iid);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].contains("could not queue the rebase"), "{}", got[1]);
    assert_eq!(w.head(BRANCH).unwrap(), before, "nothing pushed");

    // The branch vanishes without GitLab closing the MR: regenerated from main.
    w.sim.with_world(|x| {
        let p = x.project_mut_raw(w.pid).unwrap();
        if let Some(m) = p.merge_requests.iter_mut().find(|m| m.iid == iid) {
            m.row_locked = false;
        }
        p.repo.branches.remove(BRANCH);
    });
    ask(&w);
    w.settle().await;
    let got = replies(&w, iid);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[2].contains("the source branch is gone: regenerated it from the default branch"),
        "{}",
        got[2]
    );
    let main = w.head("main").unwrap();
    let parent = w.sim.with_world(|x| {
        let p = x.project(w.pid).unwrap();
        p.repo.head(BRANCH).unwrap().parent_ids.clone()
    });
    assert_eq!(parent, vec![main]);
    w.app.shutdown().await;
}
