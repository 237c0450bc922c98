//! Fault injection and the request recorder.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_then_success() {
    let sim = start();
    let pid = project(&sim);
    sim.faults()
        .fail_next("GET", "/projects/:id/repository/tree", 2, 429);
    let path = format!("/projects/{pid}/repository/tree?recursive=true");
    for _ in 0..2 {
        let r = get(&sim, &path).await;
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "retry-after"), "1");
        assert_eq!(r.text().await.unwrap().trim(), "Retry later");
    }
    let r = get(&sim, &path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sim.count("GET", "/projects/:id/repository/tree"), 3);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_have_gitlab_bodies() {
    let sim = start();
    sim.faults().fail_next("GET", "/api/v4/user", 1, 500);
    sim.faults().fail_next("GET", "/user", 1, 503);
    sim.faults().fail_next("GET", "/user", 1, 502);
    assert_eq!(
        json(get(&sim, "/user").await).await,
        (500, json!({"message": "500 Internal Server Error"}))
    );
    assert_eq!(
        json(get(&sim, "/user").await).await,
        (503, json!({"message": "503 Service Unavailable"}))
    );
    let r = get(&sim, "/user").await;
    assert_eq!(r.status(), 502);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert_eq!(get(&sim, "/user").await.status(), 200);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connection_gives_no_answer() {
    let sim = start();
    sim.faults().drop_connection_next("GET", "/user", 1);
    let r = client()
        .get(format!("{}/api/v4/user", sim.url()))
        .header("PRIVATE-TOKEN", sim.bot_token())
        .send()
        .await;
    // actix closes the socket before writing the response head: `send()` itself fails.
    assert!(r.is_err(), "a dropped connection must not yield an answer");
    assert_eq!(sim.requests()[0].status, 0);
    assert_eq!(get(&sim, "/user").await.status(), 200);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_is_applied() {
    let sim = start();
    sim.faults()
        .add_latency("GET", "/version", Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(get(&sim, "/version").await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.faults().clear();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unmodeled_routes_answer_501_and_are_recorded() {
    let sim = start();
    let pid = project(&sim);
    let (s, v) = json(get(&sim, &format!("/projects/{pid}/pipelines")).await).await;
    assert_eq!(s, 501);
    assert_eq!(
        v["message"],
        format!("gitlab-sim does not model GET /api/v4/projects/{pid}/pipelines")
    );
    let (s, _) = json(call(&sim, Method::DELETE, &format!("/projects/{pid}"), None).await).await;
    assert_eq!(s, 501);
    let un = sim.unmodeled();
    assert_eq!(un.len(), 2);
    assert!(un.iter().all(|r| r.had_token && r.status == 501));
    // The recorder never stores the token value.
    let dump = format!("{:?}", sim.requests());
    assert!(!dump.contains(sim.bot_token()));
    get(&sim, "/user?x=1").await;
    let last = sim.requests().pop().unwrap();
    assert_eq!(
        (last.route.as_str(), last.query.as_str(), last.modeled),
        ("GET /user", "x=1", true)
    );
    sim.reset_requests();
    assert!(sim.requests().is_empty());
    sim.stop().await;
}
