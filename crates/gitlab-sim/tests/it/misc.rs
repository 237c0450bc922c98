//! Members, commit statuses, badges.

use gitlab_sim::access;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn members_including_inherited() {
    let sim = start();
    let pid = project(&sim);
    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/members/all/{}", sim.bot_user()),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["username"].clone(), v["access_level"].clone()),
        (json!("backline-bot"), json!(30))
    );
    let (carol, dave) = sim.with_world(|w| {
        let carol = w.create_user("carol", "Carol");
        let dave = w.create_user("dave", "Dave");
        let g = w.ensure_group("acme");
        w.add_group_member(g, carol, access::MAINTAINER);
        (carol, dave)
    });
    let (s, v) = json(get(&sim, &format!("/projects/{pid}/members/all/{carol}")).await).await;
    assert_eq!((s, v["access_level"].clone()), (200, json!(40)));
    let (s, v) = json(get(&sim, &format!("/projects/{pid}/members/all/{dave}")).await).await;
    assert_eq!((s, v), (404, json!({"message": "404 Not found"})));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_statuses() {
    let sim = start();
    let pid = project(&sim);
    let sha = sim.with_world(|w| w.projects[&pid].repo.head("main").unwrap().id.clone());
    let body = json!({"state": "pending", "name": "backline", "description": "scanning", "target_url": "http://x/1"});
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/statuses/{sha}"),
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["status"].clone(), v["name"].clone(), v["ref"].clone()),
        (json!("pending"), json!("backline"), json!("main"))
    );
    let body = json!({"state": "success", "context": "backline"});
    let (s, _) = json(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/statuses/{sha}"),
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/commits/{sha}/statuses"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["status"], "success");
    let bad = json!({"state": "great"});
    let (s, _) = json(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/statuses/{sha}"),
            Some(bad),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = json(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/statuses/{}", "0".repeat(40)),
            Some(json!({"state": "success"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn badges_need_maintainer() {
    let sim = start();
    let pid = project(&sim);
    let badges = format!("/projects/{pid}/badges");
    let body = json!({"name": "backline", "link_url": "http://b/%{project_path}", "image_url": "http://b/badge/%{project_id}.svg"});
    let (s, _) = json(call(&sim, Method::POST, &badges, Some(body.clone())).await).await;
    assert_eq!(s, 403);
    let bot = sim.bot_user();
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER))
        .unwrap();
    let (s, v) = json(call(&sim, Method::POST, &badges, Some(body)).await).await;
    assert_eq!(s, 201);
    assert_eq!(v["rendered_link_url"], "http://b/acme/app");
    assert_eq!(v["rendered_image_url"], format!("http://b/badge/{pid}.svg"));
    assert_eq!(v["kind"], "project");
    let bid = v["id"].as_u64().unwrap();
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &format!("{badges}/{bid}"),
            Some(json!({"name": "renamed"})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["name"].clone()), (200, json!("renamed")));
    let (_, v) = json(get(&sim, &badges).await).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    sim.stop().await;
}
