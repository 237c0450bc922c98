//! Merge requests, notes, award emoji, rebase.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn branch(sim: &gitlab_sim::GitLabSim, pid: u64, name: &str, file: &str, content: &str) -> String {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            name,
            "edit",
            vec![(file.into(), Some(content.to_string().into()))],
        )
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_conflict_and_lookups() {
    let sim = start();
    let pid = project(&sim);
    branch(&sim, pid, "backline/x", "Cargo.lock", "version = 4\n");
    let mrs = format!("/projects/{pid}/merge_requests");
    let body = json!({"source_branch": "backline/x", "target_branch": "main", "title": "Bump x",
                      "description": "desc", "labels": "security,backline", "remove_source_branch": true});
    let (s, v) = json(call(&sim, Method::POST, &mrs, Some(body.clone())).await).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["iid"], 1);
    assert_eq!(v["state"], "opened");
    assert_eq!(v["labels"], json!(["security", "backline"]));
    assert_eq!(v["author"]["username"], "backline-bot");
    // A new MR is `preparing` until GitLab's background check has run.
    assert_eq!(v["merge_status"], "preparing");
    assert_eq!(v["detailed_merge_status"], "preparing");
    assert_eq!(v["has_conflicts"], false);
    let checked = settled(&sim, &format!("{mrs}/1")).await;
    assert_eq!(checked["merge_status"], "can_be_merged");
    assert_eq!(checked["detailed_merge_status"], "mergeable");
    assert_eq!(
        v["web_url"],
        format!("{}/acme/app/-/merge_requests/1", sim.url())
    );
    assert_eq!(v["sha"].as_str().unwrap().len(), 40);

    let (s, v) = json(call(&sim, Method::POST, &mrs, Some(body)).await).await;
    assert_eq!(s, 409);
    assert_eq!(
        v,
        json!({"message": ["Another open merge request already exists for this source branch: !1"]})
    );

    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &mrs,
            Some(json!({"source_branch": "ghost", "target_branch": "main", "title": "t"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": {"source_branch": ["does not exist"]}})
        )
    );
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &mrs,
            Some(json!({"source_branch": "x", "target_branch": "main"})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v), (400, json!({"error": "title is missing"})));

    let (_, v) = json(
        get(
            &sim,
            &format!("{mrs}?source_branch=backline%2Fx&state=opened"),
        )
        .await,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = json(
        get(
            &sim,
            &format!("{mrs}?source_branch=backline%2Fx&state=closed"),
        )
        .await,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 0);
    let (_, v) = json(get(&sim, &format!("{mrs}?author_id={}", sim.bot_user())).await).await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    let (s, v) = json(
        get(
            &sim,
            &format!("{mrs}/1?include_rebase_in_progress=true&include_diverged_commits_count=true"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["rebase_in_progress"], false);
    assert_eq!(v["diverged_commits_count"], 0);
    let (_, v) = json(get(&sim, &format!("{mrs}/1")).await).await;
    assert!(v.get("rebase_in_progress").is_none());
    assert_eq!(
        json(get(&sim, &format!("{mrs}/99")).await).await,
        (404, json!({"message": "404 Not found"}))
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn update_close_reopen() {
    let sim = start();
    let pid = project(&sim);
    branch(&sim, pid, "b1", "a.txt", "1");
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.open_mr(
            pid,
            bot,
            gitlab_sim::MrSpec::new("b1", "main", "T").labels(&["x"]),
        )
    })
    .unwrap();
    let mr = format!("/projects/{pid}/merge_requests/1");
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &mr,
            Some(json!({"title": "T2", "labels": "a,b"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["title"].clone(), v["labels"].clone()),
        (200, json!("T2"), json!(["a", "b"]))
    );
    let (_, v) = json(
        call(
            &sim,
            Method::PUT,
            &mr,
            Some(json!({"state_event": "close"})),
        )
        .await,
    )
    .await;
    assert_eq!(v["state"], "closed");
    assert!(v["closed_at"].is_string());
    let (_, v) = json(
        call(
            &sim,
            Method::PUT,
            &mr,
            Some(json!({"state_event": "reopen"})),
        )
        .await,
    )
    .await;
    assert_eq!(v["state"], "opened");
    // Close, delete the source branch, reopen: 200 but still closed.
    call(
        &sim,
        Method::PUT,
        &mr,
        Some(json!({"state_event": "close"})),
    )
    .await;
    sim.with_world(|w| w.delete_branch(pid, bot, "b1")).unwrap();
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &mr,
            Some(json!({"state_event": "reopen"})),
        )
        .await,
    )
    .await;
    // GitLab refuses the reopen of an MR whose source branch is gone (issue 11 §2.3).
    assert_eq!(
        (s, v),
        (
            422,
            json!({"message": ["Source branch \"b1\" does not exist"]})
        )
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rebase_clean_and_conflicting() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    branch(&sim, pid, "clean", "new.txt", "n");
    branch(&sim, pid, "conflict", "Cargo.lock", "version = 9\n");
    branch(&sim, pid, "main", "Cargo.lock", "version = 5\n"); // main moves on
    sim.with_world(|w| {
        w.create_mr(pid, bot, "clean", "main", "clean", "", vec![], false, false)
            .unwrap();
        w.create_mr(
            pid,
            bot,
            "conflict",
            "main",
            "conflict",
            "",
            vec![],
            false,
            false,
        )
        .unwrap();
    });
    let mrs = format!("/projects/{pid}/merge_requests");
    let q = "?include_diverged_commits_count=true&include_rebase_in_progress=true";
    let (_, v) = json(get(&sim, &format!("{mrs}/1{q}")).await).await;
    assert_eq!(v["diverged_commits_count"], 1);
    let v = settled(&sim, &format!("{mrs}/2{q}")).await;
    assert_eq!(v["has_conflicts"], true);
    assert_eq!(v["detailed_merge_status"], "conflict");

    // The rebase is asynchronous: in progress at first, done a few requests later.
    let (s, v) = json(call(&sim, Method::PUT, &format!("{mrs}/1/rebase"), None).await).await;
    assert_eq!((s, v), (202, json!({"rebase_in_progress": true})));
    let (_, v) = json(get(&sim, &format!("{mrs}/1{q}")).await).await;
    assert_eq!(v["rebase_in_progress"], true);
    let v = settled(&sim, &format!("{mrs}/1{q}")).await;
    assert_eq!(v["rebase_in_progress"], false);
    assert_eq!(v["diverged_commits_count"], 0);
    assert_eq!(v["merge_error"], serde_json::Value::Null);
    let main = sim.with_world(|w| w.projects[&pid].repo.head("main").unwrap().id.clone());
    let (_, b) = json(get(&sim, &format!("/projects/{pid}/repository/branches/clean")).await).await;
    assert_eq!(b["commit"]["parent_ids"], json!([main]));

    let (s, _) = json(call(&sim, Method::PUT, &format!("{mrs}/2/rebase"), None).await).await;
    assert_eq!(s, 202);
    let (_, v) = json(get(&sim, &format!("{mrs}/2{q}")).await).await;
    assert_eq!(v["merge_error"], serde_json::Value::Null, "not failed yet");
    let v = settled(&sim, &format!("{mrs}/2{q}")).await;
    assert!(v["merge_error"]
        .as_str()
        .unwrap()
        .starts_with("Rebase failed"));

    // Merge the clean one.
    let (s, v) = json(call(&sim, Method::PUT, &format!("{mrs}/1/merge"), None).await).await;
    assert_eq!((s, v["state"].clone()), (200, json!("merged")));
    let r = get(
        &sim,
        &format!("/projects/{pid}/repository/files/new.txt/raw?ref=main"),
    )
    .await;
    assert_eq!(r.text().await.unwrap(), "n");
    let (s, _) = json(call(&sim, Method::PUT, &format!("{mrs}/2/merge"), None).await).await;
    assert_eq!(s, 406);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_and_award_emoji() {
    let sim = start();
    let pid = project(&sim);
    branch(&sim, pid, "b", "x", "1");
    let bot = sim.bot_user();
    sim.with_world(|w| w.create_mr(pid, bot, "b", "main", "T", "", vec![], false, false))
        .unwrap();
    let notes = format!("/projects/{pid}/merge_requests/1/notes");
    let (s, n) = json(
        call(
            &sim,
            Method::POST,
            &notes,
            Some(json!({"body": "/backline status"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(n["body"], "/backline status");
    assert_eq!(n["noteable_type"], "MergeRequest");
    assert_eq!(n["noteable_iid"], 1);
    assert_eq!(n["system"], false);
    assert_eq!(n["author"]["username"], "backline-bot");
    let nid = n["id"].as_u64().unwrap();
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &format!("{notes}/{nid}"),
            Some(json!({"body": "edited"})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["body"].clone()), (200, json!("edited")));
    let r = get(&sim, &notes).await;
    assert_eq!(header(&r, "x-total"), "1");
    let (_, v) = json(r).await;
    assert_eq!(v[0]["id"], nid);

    let awards = format!("/projects/{pid}/merge_requests/1/award_emoji");
    let (s, a) = json(
        call(
            &sim,
            Method::POST,
            &awards,
            Some(json!({"name": "thumbsup"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        (a["name"].clone(), a["awardable_type"].clone()),
        (json!("thumbsup"), json!("MergeRequest"))
    );
    let (s, _) = json(
        call(
            &sim,
            Method::POST,
            &awards,
            Some(json!({"name": "thumbsup"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);
    let (_, v) = json(get(&sim, &awards).await).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let note_awards = format!("{notes}/{nid}/award_emoji");
    let (s, a) = json(
        call(
            &sim,
            Method::POST,
            &note_awards,
            Some(json!({"name": "eyes"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, a["awardable_type"].clone(), a["awardable_id"].clone()),
        (201, json!("Note"), json!(nid))
    );
    let (_, v) = json(get(&sim, &note_awards).await).await;
    assert_eq!(v[0]["name"], "eyes");
    let (_, m) = json(get(&sim, &format!("/projects/{pid}/merge_requests/1")).await).await;
    assert_eq!(
        (m["upvotes"].clone(), m["user_notes_count"].clone()),
        (json!(1), json!(1))
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mergeability_is_unknown_until_checked_and_again_when_the_target_moves() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    branch(&sim, pid, "fix", "Cargo.lock", "version = 4\n");
    sim.with_world(|w| {
        w.create_mr(pid, bot, "fix", "main", "fix", "", vec![], false, false)
            .unwrap()
    });
    let one = format!("/projects/{pid}/merge_requests/1");
    let v = settled(&sim, &one).await;
    assert_eq!(v["detailed_merge_status"], "mergeable");
    // main moves to a conflicting content: unknown again, never "clean" meanwhile.
    branch(&sim, pid, "main", "Cargo.lock", "version = 5\n");
    let (_, v) = json(get(&sim, &one).await).await;
    assert_eq!(v["detailed_merge_status"], "unchecked");
    assert_eq!(v["merge_status"], "unchecked");
    assert_eq!(v["has_conflicts"], false);
    // That read enqueued the check; it is done by the next request.
    let (_, v) = json(get(&sim, &one).await).await;
    assert_eq!(v["detailed_merge_status"], "conflict");
    assert_eq!(v["has_conflicts"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn reopen_is_refused_when_a_branch_is_gone_or_another_mr_is_open() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    branch(&sim, pid, "fix", "Cargo.lock", "version = 4\n");
    sim.with_world(|w| {
        w.create_mr(pid, bot, "fix", "main", "one", "", vec![], false, false)
            .unwrap();
        w.close_mr(pid, 1, bot).unwrap();
        w.create_mr(pid, bot, "fix", "main", "two", "", vec![], false, false)
            .unwrap();
    });
    let reopen = Some(json!({"state_event": "reopen"}));
    let one = format!("/projects/{pid}/merge_requests/1");
    let (s, v) = json(call(&sim, Method::PUT, &one, reopen.clone()).await).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(
        v,
        json!({"message": ["Another open merge request already exists for this source branch: !2"]})
    );
    sim.with_world(|w| {
        w.close_mr(pid, 2, bot).unwrap();
        w.delete_branch(pid, bot, "fix").unwrap();
    });
    let (s, v) = json(call(&sim, Method::PUT, &one, reopen).await).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v,
        json!({"message": ["Source branch \"fix\" does not exist"]})
    );
    assert_eq!(
        sim.with_world(|w| w.mr(pid, 1).unwrap().state),
        gitlab_sim::MrState::Closed
    );
}

/// lib/api/merge_requests.rb with app/services/merge_requests/rebase_service.rb `validate`:
/// 403 `{"merge_error": ...}` for a missing or force-push-protected source branch, 409 with
/// `REBASE_LOCK_MESSAGE` when the MR's row is locked; nothing is queued.
#[tokio::test(flavor = "multi_thread")]
async fn rebase_refusals_have_gitlabs_statuses_and_merge_error() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.add_member(pid, bot, gitlab_sim::access::MAINTAINER)
            .unwrap()
    });
    branch(&sim, pid, "fix", "new.txt", "n");
    sim.with_world(|w| {
        w.create_mr(pid, bot, "fix", "main", "fix", "", vec![], false, false)
            .unwrap();
    });
    let put = format!("/projects/{pid}/merge_requests/1/rebase");
    let set = |f: &dyn Fn(&mut gitlab_sim::World)| sim.with_world(|w| f(w));
    set(&|w| {
        w.project_mut_raw(pid)
            .unwrap()
            .protected_no_force_push
            .insert("fix".into());
    });
    let (s, v) = json(call(&sim, Method::PUT, &put, None).await).await;
    assert_eq!(
        (s, v["merge_error"].as_str()),
        (403, Some("Source branch is protected from force push"))
    );
    set(&|w| {
        let p = w.project_mut_raw(pid).unwrap();
        p.protected_no_force_push.clear();
        p.merge_requests[0].row_locked = true;
    });
    let (s, v) = json(call(&sim, Method::PUT, &put, None).await).await;
    assert_eq!(s, 409);
    assert!(v["merge_error"]
        .as_str()
        .unwrap()
        .starts_with("Failed to enqueue the rebase operation"));
    set(&|w| {
        let p = w.project_mut_raw(pid).unwrap();
        p.merge_requests[0].row_locked = false;
        p.repo.branches.remove("fix");
    });
    let (s, v) = json(call(&sim, Method::PUT, &put, None).await).await;
    assert_eq!(
        (s, v["merge_error"].as_str()),
        (403, Some("Source branch does not exist"))
    );
    assert!(!sim.with_world(|w| w.mr(pid, 1).unwrap().rebase_in_progress));
    sim.stop().await;
}

/// `GET /projects/:id/merge_requests/:iid/diffs`: the files between the merge base and the
/// source head (not the target's later commits), as `Entities::Diff`, paginated.
#[tokio::test(flavor = "multi_thread")]
async fn mr_diffs_list_the_source_changes_since_the_merge_base_page_by_page() {
    let sim = start();
    let pid = project(&sim);
    for i in 0..3 {
        branch(&sim, pid, "feature", &format!("f{i}.txt"), "x\n");
    }
    // A later commit on main is not the MR's change.
    branch(&sim, pid, "main", "later-on-main.txt", "y\n");
    let mrs = format!("/projects/{pid}/merge_requests");
    let body = json!({"source_branch": "feature", "target_branch": "main", "title": "Feature"});
    let (s, _) = json(call(&sim, Method::POST, &mrs, Some(body)).await).await;
    assert_eq!(s, 201);
    let (s, v) = json(
        call(
            &sim,
            Method::GET,
            &format!("{mrs}/1/diffs?per_page=2"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let first: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["new_path"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["f0.txt", "f1.txt"]);
    assert_eq!(v[0]["new_file"], true);
    assert_eq!(v[0]["deleted_file"], false);
    assert!(v[0]["diff"].as_str().unwrap().contains("+x"));
    let r = call(
        &sim,
        Method::GET,
        &format!("{mrs}/1/diffs?per_page=2&page=2"),
        None,
    )
    .await;
    assert_eq!(r.headers()["x-total"], "3");
    let (_, v) = json(r).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["new_path"], "f2.txt");
    let (s, _) = json(call(&sim, Method::GET, &format!("{mrs}/9/diffs"), None).await).await;
    assert_eq!(s, 404);
}
