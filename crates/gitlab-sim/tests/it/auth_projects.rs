//! Authentication, projects, pagination.

use gitlab_sim::{access, ProjectSpec, Visibility};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn auth_errors_are_gitlab_shaped() {
    let sim = start();
    let pid = project(&sim);
    let (alice, expired, revoked, readonly) = sim.with_world(|w| {
        let alice = w.create_user("alice", "Alice");
        let e = w.create_token(alice, "expired-tok", &["api"], Some("2020-01-01"));
        let r = w.create_token(alice, "revoked-tok", &["api"], None);
        w.revoke_token(&r);
        let ro = w.create_token(alice, "ro-tok", &["read_api"], None);
        (alice, e, r, ro)
    });

    let r = client()
        .get(format!("{}/api/v4/user", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, (401, json!({"message": "401 Unauthorized"})));
    let (s, v) = json(call_as(&sim, "nope", Method::GET, "/user", None).await).await;
    assert_eq!((s, v), (401, json!({"message": "401 Unauthorized"})));

    let (s, v) = json(call_as(&sim, &expired, Method::GET, "/user", None).await).await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "invalid_token");
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .starts_with("Token is expired"));
    let (s, v) = json(call_as(&sim, &revoked, Method::GET, "/user", None).await).await;
    assert_eq!(s, 401);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .starts_with("Token was revoked"));

    // read_api reads, cannot write.
    let (s, v) = json(call_as(&sim, &readonly, Method::GET, "/user", None).await).await;
    assert_eq!((s, v["username"].clone()), (200, json!("alice")));
    let body = json!({"branch": "x", "ref": "main"});
    let (s, v) = json(
        call_as(
            &sim,
            &readonly,
            Method::POST,
            &format!("/projects/{pid}/repository/branches"),
            Some(body.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(v["error"], "insufficient_scope");
    assert_eq!(v["scope"], "api");

    // Not a member of a private project: 404; Reporter: 403 on writes.
    let tok = sim.with_world(|w| w.create_token(alice, "alice-api", &["api"], None));
    let (s, v) =
        json(call_as(&sim, &tok, Method::GET, &format!("/projects/{pid}"), None).await).await;
    assert_eq!((s, v), (404, json!({"message": "404 Project Not Found"})));
    sim.with_world(|w| w.add_member(pid, alice, access::REPORTER))
        .unwrap();
    let (s, _) =
        json(call_as(&sim, &tok, Method::GET, &format!("/projects/{pid}"), None).await).await;
    assert_eq!(s, 200);
    let (s, v) = json(
        call_as(
            &sim,
            &tok,
            Method::POST,
            &format!("/projects/{pid}/repository/branches"),
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!((s, v), (403, json!({"message": "403 Forbidden"})));

    // read_user reads the current user only; any scope reads its own token.
    let ru = sim.with_world(|w| w.create_token(alice, "ru-tok", &["read_user"], None));
    assert_eq!(
        call_as(&sim, &ru, Method::GET, "/user", None)
            .await
            .status(),
        200
    );
    assert_eq!(
        call_as(&sim, &ru, Method::GET, "/personal_access_tokens/self", None)
            .await
            .status(),
        200
    );
    let (s, v) = json(call_as(&sim, &ru, Method::GET, "/projects", None).await).await;
    assert_eq!((s, v["scope"].clone()), (403, json!("api read_api")));

    // Bearer works too.
    let r = client()
        .get(format!("{}/api/v4/user", sim.url()))
        .bearer_auth(sim.bot_token())
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(
        (s, v["username"].clone(), v["bot"].clone()),
        (200, json!("backline-bot"), json!(true))
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn version_and_token_self() {
    let sim = start();
    let (s, v) = json(get(&sim, "/version").await).await;
    assert_eq!(
        (s, v["version"].clone()),
        (200, json!(gitlab_sim::GITLAB_VERSION))
    );
    let (s, v) = json(get(&sim, "/personal_access_tokens/self").await).await;
    assert_eq!(s, 200);
    assert_eq!(v["active"], true);
    assert_eq!(v["revoked"], false);
    assert_eq!(v["user_id"], sim.bot_user());
    assert!(v["scopes"].as_array().unwrap().contains(&json!("api")));
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    let tok = sim.with_world(|w| {
        let u = w.create_user("bob", "Bob");
        w.create_token(u, "bob-tok", &["read_api"], Some("2999-12-31"))
    });
    let (_, v) = json(
        call_as(
            &sim,
            &tok,
            Method::GET,
            "/personal_access_tokens/self",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(v["expires_at"], "2999-12-31");
    assert_eq!(v["scopes"], json!(["read_api"]));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn project_by_id_and_by_encoded_path() {
    let sim = start();
    let pid = sim.with_world(|w| {
        let pid = w
            .create_project(ProjectSpec::new("group/sub", "name").file("a", "b"))
            .unwrap();
        let bot = w.bot_user;
        w.add_member(pid, bot, access::MAINTAINER).unwrap();
        pid
    });
    let (s, a) = json(get(&sim, &format!("/projects/{pid}")).await).await;
    assert_eq!(s, 200);
    let (s, b) = json(get(&sim, "/projects/group%2Fsub%2Fname").await).await;
    assert_eq!(s, 200);
    assert_eq!(a, b);
    assert_eq!(a["path_with_namespace"], "group/sub/name");
    assert_eq!(a["namespace"]["full_path"], "group/sub");
    assert_eq!(a["namespace"]["kind"], "group");
    assert_eq!(a["web_url"], format!("{}/group/sub/name", sim.url()));
    assert_eq!(
        a["http_url_to_repo"],
        format!("{}/group/sub/name.git", sim.url())
    );
    assert_eq!(a["permissions"]["project_access"]["access_level"], 40);
    assert_eq!(a["default_branch"], "main");
    assert_eq!(a["empty_repo"], false);
    assert_eq!(a["archived"], false);
    assert_eq!(a["visibility"], "private");
    let ts = a["created_at"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-01-01T00:00:00.000Z".len());
    let (s, _) = json(get(&sim, "/projects/group%2Fsub%2Fnope").await).await;
    assert_eq!(s, 404);
    sim.stop().await;
}

fn populate(sim: &gitlab_sim::GitLabSim, n: usize) {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        for i in 0..n {
            let pid = w
                .create_project(ProjectSpec::new("g", format!("p{i:03}")).file("f", "x"))
                .unwrap();
            if i % 5 != 4 {
                w.add_member(pid, bot, access::DEVELOPER).unwrap();
            } else {
                w.add_member(pid, bot, access::GUEST).unwrap();
            }
        }
        // Not a member; public, so visible without membership.
        w.create_project(ProjectSpec::new("g", "public").visibility(Visibility::Public))
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn offset_pagination_walks_pages() {
    let sim = start();
    populate(&sim, 25);
    let r = get(
        &sim,
        "/projects?membership=true&min_access_level=30&per_page=7",
    )
    .await;
    assert_eq!(header(&r, "x-total"), "20");
    assert_eq!(header(&r, "x-total-pages"), "3");
    assert_eq!(header(&r, "x-page"), "1");
    assert_eq!(header(&r, "x-per-page"), "7");
    assert_eq!(header(&r, "x-next-page"), "2");
    assert_eq!(header(&r, "x-prev-page"), "");
    assert!(link(&r, "prev").is_none());
    assert!(link(&r, "first").is_some());
    assert!(link(&r, "last").unwrap().contains("page=3"));
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "{}/api/v4/projects?membership=true&min_access_level=30&per_page=7",
        sim.url()
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let r = client()
            .get(&url)
            .header("PRIVATE-TOKEN", sim.bot_token())
            .send()
            .await
            .unwrap();
        next = link(&r, "next");
        if next.is_none() {
            assert_eq!(header(&r, "x-next-page"), "");
            assert_eq!(header(&r, "x-page"), "3");
            assert!(link(&r, "prev").is_some());
        }
        let (_, v) = json(r).await;
        for p in v.as_array().unwrap() {
            seen.push(p["id"].as_u64().unwrap());
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20);

    // Without membership the public project shows too; with simple=true fields shrink.
    let r = get(&sim, "/projects?per_page=100&simple=true").await;
    assert_eq!(header(&r, "x-total"), "26");
    let (_, v) = json(r).await;
    assert!(v[0].get("archived").is_none());
    assert!(v[0].get("path_with_namespace").is_some());
    // per_page is capped at 100.
    let r = get(&sim, "/projects?per_page=1000").await;
    assert_eq!(header(&r, "x-per-page"), "100");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pagination_walks_pages() {
    let sim = start();
    populate(&sim, 25);
    let first = format!(
        "{}/api/v4/projects?membership=true&min_access_level=30&pagination=keyset&order_by=id&sort=asc&per_page=6",
        sim.url()
    );
    let mut next = Some(first);
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let r = client()
            .get(&url)
            .header("PRIVATE-TOKEN", sim.bot_token())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-total"), "");
        // Keyset answers carry only the Link header (no X-Total, X-Per-Page, X-Next-Page).
        assert_eq!(header(&r, "x-per-page"), "");
        assert_eq!(header(&r, "x-next-page"), "");
        next = link(&r, "next");
        if let Some(n) = &next {
            assert!(n.contains("id_after="), "{n}");
            assert!(n.contains("pagination=keyset"));
        }
        let (_, v) = json(r).await;
        ids.extend(
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_u64().unwrap()),
        );
        pages += 1;
    }
    assert_eq!(pages, 4);
    assert_eq!(ids.len(), 20);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_filter() {
    let sim = start();
    let pid = project(&sim);
    sim.with_world(|w| w.set_archived(pid, true)).unwrap();
    let (_, v) = json(get(&sim, "/projects?membership=true&archived=false").await).await;
    assert_eq!(v.as_array().unwrap().len(), 0);
    let (_, v) = json(get(&sim, "/projects?membership=true&archived=true").await).await;
    assert_eq!(v[0]["archived"], true);
    sim.stop().await;
}

#[tokio::test]
async fn works_on_a_current_thread_runtime_too() {
    let sim = start();
    let (s, v) = json(get(&sim, "/version").await).await;
    assert_eq!(
        (s, v["version"].clone()),
        (200, json!(gitlab_sim::GITLAB_VERSION))
    );
    sim.stop().await;
}

/// `--user NAME=TOKEN:ROLE`: the person's token acts as them, with the role on every project,
/// also on projects created afterwards; what they create through the API is theirs.
#[tokio::test(flavor = "multi_thread")]
async fn people_act_through_their_own_tokens_with_their_role_everywhere() {
    use gitlab_sim::PersonSpec;
    assert!(PersonSpec::parse("alice=tok").is_err());
    assert!(PersonSpec::parse("alice=tok:admin").is_err());
    assert!(PersonSpec::parse("=tok:guest").is_err());
    let spec = PersonSpec::parse("alice=a:b-token:Developer").unwrap();
    assert_eq!(spec.token, "a:b-token");
    assert_eq!(spec.level, access::DEVELOPER);
    let reporter = PersonSpec::parse("rita=rita-token:reporter").unwrap();

    let sim = start();
    let before = project(&sim);
    let (alice, _) = sim.with_world(|w| (w.add_person(&spec), w.add_person(&reporter)));
    let after = sim.with_world(|w| {
        w.create_project(ProjectSpec::new("acme", "later").file("a.txt", "a\n"))
            .unwrap()
    });
    for pid in [before, after] {
        let level = sim.with_world(|w| {
            let p = w.project(pid).unwrap().clone();
            w.access_level(&p, alice)
        });
        assert_eq!(level, access::DEVELOPER, "project {pid}");
    }
    let (s, me) = json(call_as(&sim, "a:b-token", Method::GET, "/user", None).await).await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], "alice");
    // Alice opens an MR with her token: it is hers.
    sim.with_world(|w| {
        w.create_branch(after, alice, "feature", "main").unwrap();
    });
    let body = json!({"source_branch": "feature", "target_branch": "main", "title": "Mine"});
    let (s, mr) = json(
        call_as(
            &sim,
            "a:b-token",
            Method::POST,
            &format!("/projects/{after}/merge_requests"),
            Some(body.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{mr}");
    assert_eq!(mr["author"]["username"], "alice");
    // A reporter may read but not open an MR.
    let (s, _) = json(
        call_as(
            &sim,
            "rita-token",
            Method::POST,
            &format!("/projects/{after}/merge_requests"),
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);
}
