//! Every route the backline client reads, driven over loopback, each answer validated.

use gitlab_sim::access;
use reqwest::Method;
use serde_json::{json, Value};

use super::{relax, Checker};
use crate::support::{call, json, project, start};

/// The JSON answer of `method path`, asserting its status.
async fn answer(
    sim: &gitlab_sim::GitLabSim,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (s, v) = json(call(sim, method.clone(), path, body).await).await;
    assert_eq!(s, status, "{method} {path} answered {s}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_the_client_reads_matches_gitlabs_schema() {
    let mut s = Checker::new();
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    // Hooks and badges need Maintainer.
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER))
        .unwrap();
    let p = format!("/projects/{pid}");

    // GET /user: `lib/api/users.rb` renders `UserPublic` for a non-admin.
    let v = answer(&sim, Method::GET, "/user", None, 200).await;
    s.check(
        "GET /user",
        "public_api/v4/user/public.json",
        &v,
        &relax::none(),
    );

    // Projects: the catalog's listing (full entity) and the doctor's `simple=true` listing.
    let q = "membership=true&min_access_level=30&archived=false&pagination=keyset&order_by=id&sort=asc&per_page=100";
    let v = answer(&sim, Method::GET, &format!("/projects?{q}"), None, 200).await;
    assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{v}");
    s.check(
        "GET /projects",
        "public_api/v4/projects.json",
        &v,
        &relax::project_full(),
    );
    let v = answer(
        &sim,
        Method::GET,
        "/projects?simple=true&membership=true",
        None,
        200,
    )
    .await;
    s.check(
        "GET /projects?simple=true",
        "public_api/v4/projects.json",
        &v,
        &relax::projects_simple(),
    );
    let v = answer(&sim, Method::GET, &p, None, 200).await;
    s.check(
        "GET /projects/:id",
        "public_api/v4/projects.json#/items",
        &v,
        &relax::project_full(),
    );

    // Commits and branches.
    let body = json!({"branch": "backline/fix", "start_branch": "main", "commit_message": "Fix\n\nbody",
        "actions": [{"action": "update", "file_path": "Cargo.lock", "content": "version = 4\n"}]});
    let v = answer(
        &sim,
        Method::POST,
        &format!("{p}/repository/commits"),
        Some(body),
        201,
    )
    .await;
    s.check(
        "POST /projects/:id/repository/commits",
        "public_api/v4/commit/detail.json",
        &v,
        &relax::none(),
    );
    let sha = v["id"].as_str().expect("commit id").to_string();
    let v = answer(
        &sim,
        Method::GET,
        &format!("{p}/repository/commits/{sha}"),
        None,
        200,
    )
    .await;
    s.check(
        "GET /projects/:id/repository/commits/:sha",
        "public_api/v4/commit/detail.json",
        &v,
        &relax::none(),
    );
    let v = answer(
        &sim,
        Method::GET,
        &format!("{p}/repository/branches/backline%2Ffix"),
        None,
        200,
    )
    .await;
    s.check(
        "GET /projects/:id/repository/branches/:branch",
        "public_api/v4/branch.json",
        &v,
        &relax::none(),
    );
    let body = json!({"branch": "backline/other", "ref": "main"});
    let v = answer(
        &sim,
        Method::POST,
        &format!("{p}/repository/branches"),
        Some(body),
        201,
    )
    .await;
    s.check(
        "POST /projects/:id/repository/branches",
        "public_api/v4/branch.json",
        &v,
        &relax::none(),
    );

    // Merge requests: create, get, update, list.
    let mrs = format!("{p}/merge_requests");
    let body = json!({"source_branch": "backline/fix", "target_branch": "main",
        "title": "Fix", "description": "why", "labels": "security,backline",
        "remove_source_branch": true});
    let v = answer(&sim, Method::POST, &mrs, Some(body), 201).await;
    s.check(
        "POST /projects/:id/merge_requests",
        "public_api/v4/merge_request.json",
        &v,
        &relax::none(),
    );
    let iid = v["iid"].as_u64().expect("iid");
    let one =
        format!("{mrs}/{iid}?include_rebase_in_progress=true&include_diverged_commits_count=true");
    let v = answer(&sim, Method::GET, &one, None, 200).await;
    s.check(
        "GET /projects/:id/merge_requests/:iid",
        "public_api/v4/merge_request.json",
        &v,
        &relax::none(),
    );
    let body = json!({"title": "Fix (updated)", "description": "why, again"});
    let v = answer(&sim, Method::PUT, &format!("{mrs}/{iid}"), Some(body), 200).await;
    s.check(
        "PUT /projects/:id/merge_requests/:iid",
        "public_api/v4/merge_request.json",
        &v,
        &relax::none(),
    );
    for state in ["opened", "all"] {
        let path = format!("{mrs}?source_branch=backline%2Ffix&state={state}&per_page=100");
        let v = answer(&sim, Method::GET, &path, None, 200).await;
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
        s.check(
            "GET /projects/:id/merge_requests",
            "public_api/v4/merge_requests.json",
            &v,
            &relax::merge_requests_list(),
        );
    }
    let body = json!({"state_event": "close"});
    let v = answer(&sim, Method::PUT, &format!("{mrs}/{iid}"), Some(body), 200).await;
    s.check(
        "PUT /projects/:id/merge_requests/:iid (close)",
        "public_api/v4/merge_request.json",
        &v,
        &relax::none(),
    );
    let body = json!({"state_event": "reopen"});
    answer(&sim, Method::PUT, &format!("{mrs}/{iid}"), Some(body), 200).await;

    // Notes: create, list.
    let notes = format!("{mrs}/{iid}/notes");
    let v = answer(
        &sim,
        Method::POST,
        &notes,
        Some(json!({"body": "hello"})),
        201,
    )
    .await;
    s.check(
        "POST /projects/:id/merge_requests/:iid/notes",
        "public_api/v4/notes.json#/items",
        &v,
        &relax::notes(),
    );
    let v = answer(
        &sim,
        Method::GET,
        &format!("{notes}?per_page=100"),
        None,
        200,
    )
    .await;
    assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{v}");
    s.check(
        "GET /projects/:id/merge_requests/:iid/notes",
        "public_api/v4/notes.json",
        &v,
        &relax::notes(),
    );

    // Members.
    let v = answer(
        &sim,
        Method::GET,
        &format!("{p}/members/all/{bot}"),
        None,
        200,
    )
    .await;
    s.check(
        "GET /projects/:id/members/all/:user_id",
        "public_api/v4/members.json#/items",
        &v,
        &relax::none(),
    );

    // Project hooks: create, list.
    let hooks = format!("{p}/hooks");
    let body = json!({"url": "http://127.0.0.1:1/hook", "token": "t0p",
        "merge_requests_events": true, "note_events": true, "push_events": true,
        "confidential_note_events": true, "enable_ssl_verification": true});
    let v = answer(&sim, Method::POST, &hooks, Some(body), 201).await;
    s.check(
        "POST /projects/:id/hooks",
        "public_api/v4/project_hook.json",
        &v,
        &relax::project_hooks(),
    );
    let v = answer(&sim, Method::GET, &hooks, None, 200).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    s.check(
        "GET /projects/:id/hooks",
        "public_api/v4/project_hooks.json",
        &v,
        &relax::project_hooks(),
    );
    assert_eq!(s.finish(), 19, "every route above was checked");
}
