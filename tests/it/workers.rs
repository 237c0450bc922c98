//! Workers over the real inbox: per-project order, parallel projects, retries with backoff,
//! dead letters and their retry, and replay of pending deliveries on the next start.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use backline::handlers::HandlerError;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn one_projects_deliveries_run_in_order_and_projects_in_parallel() {
    let handler = ScriptedHandler::new(|_, _| Ok("ok".to_string()));
    let app = spawn(Options {
        handler: handler.clone(),
        workers: 4,
        ..Default::default()
    })
    .await;
    let mut sent: Vec<(u64, u64)> = Vec::new();
    for i in 0..30u64 {
        let project = 1 + i % 3;
        let (status, body) = app
            .deliver_with_token("Push Hook", &push_body(project, &format!("n{i}")))
            .await;
        assert_eq!(status, 202);
        sent.push((project, body["delivery"].as_u64().unwrap()));
    }
    app.drain().await;
    let calls = handler.calls();
    assert_eq!(calls.len(), 30);
    for project in 1..=3 {
        let expected: Vec<u64> = sent
            .iter()
            .filter(|(p, _)| *p == project)
            .map(|(_, s)| *s)
            .collect();
        let seen: Vec<u64> = calls
            .iter()
            .filter(|c| c.project == Some(project))
            .map(|c| c.seq)
            .collect();
        assert_eq!(seen, expected, "project {project} ran out of order");
    }
}

/// Project 1's handler waits until project 2's delivery has been handled.
struct WaitForProjectTwo {
    two_done: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl backline::handlers::Handler for WaitForProjectTwo {
    async fn handle(
        &self,
        delivery: &backline::inbox::DeliveryRecord,
        _event: &backline::gitlab::hooks::HookEvent,
    ) -> Result<String, HandlerError> {
        if delivery.project.map(|p| p.get()) == Some(1) {
            self.two_done.notified().await;
            Ok("project 1 finished after project 2".to_string())
        } else {
            self.two_done.notify_one();
            Ok("project 2".to_string())
        }
    }
}

#[tokio::test]
async fn a_slow_project_does_not_hold_up_another() {
    // With one queue for everything this would never finish; with per-project lanes it does.
    let app = spawn(Options {
        handler: Arc::new(WaitForProjectTwo {
            two_done: tokio::sync::Notify::new(),
        }),
        workers: 2,
        ..Default::default()
    })
    .await;
    let (s1, b1) = app
        .deliver_with_token("Push Hook", &push_body(1, "slow"))
        .await;
    let (s2, _) = app
        .deliver_with_token("Push Hook", &push_body(2, "fast"))
        .await;
    assert_eq!((s1, s2), (202, 202));
    app.drain().await;
    let (_, d) = app
        .api(&format!("/api/v1/deliveries/{}", b1["delivery"]))
        .await;
    assert_eq!(d["state"], "done", "{d}");
    assert_eq!(d["outcome"], "project 1 finished after project 2");
}

#[tokio::test]
async fn transient_failures_are_retried_then_succeed() {
    let failures = Arc::new(AtomicU32::new(0));
    let f = failures.clone();
    let handler = ScriptedHandler::new(move |_, _| {
        if f.fetch_add(1, Ordering::SeqCst) < 2 {
            Err(HandlerError::Transient("GitLab answered 502".into()))
        } else {
            Ok("ok".to_string())
        }
    });
    let app = spawn(Options {
        handler: handler.clone(),
        ..Default::default()
    })
    .await;
    let (_, body) = app
        .deliver_with_token("Push Hook", &push_body(7, "flaky"))
        .await;
    app.drain().await;
    let (_, d) = app
        .api(&format!("/api/v1/deliveries/{}", body["delivery"]))
        .await;
    assert_eq!(d["state"], "done");
    assert_eq!(d["attempts"], 3);
    assert_eq!(
        handler
            .calls()
            .iter()
            .map(|c| c.attempt)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_becomes_a_dead_letter_and_can_be_retried() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let h = healthy.clone();
    let handler = ScriptedHandler::new(move |_, _| {
        if h.load(Ordering::SeqCst) {
            Ok("ok".to_string())
        } else {
            Err(HandlerError::Transient("GitLab answered 503".into()))
        }
    });
    let app = spawn(Options {
        handler: handler.clone(),
        tweak: Box::new(|s| s.max_attempts = 3),
        ..Default::default()
    })
    .await;
    let (_, body) = app
        .deliver_with_token("Push Hook", &push_body(8, "doomed"))
        .await;
    let seq = body["delivery"].as_u64().unwrap();
    app.drain().await;
    assert_eq!(handler.calls().len(), 3);
    let (_, d) = app.api(&format!("/api/v1/deliveries/{seq}")).await;
    assert_eq!(d["state"], "dead");
    assert!(
        d["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts: GitLab answered 503"),
        "{d}"
    );
    let (_, dead) = app.api("/api/v1/dead-letters").await;
    assert_eq!(dead["total"], 1);
    assert_eq!(dead["items"][0]["id"], seq);

    healthy.store(true, Ordering::SeqCst);
    let (status, _) = app
        .api_post(&format!("/api/v1/dead-letters/{seq}/retry"))
        .await;
    assert_eq!(status, 202);
    app.drain().await;
    let (_, d) = app.api(&format!("/api/v1/deliveries/{seq}")).await;
    assert_eq!(
        (d["state"].as_str(), d["attempts"].as_u64()),
        (Some("done"), Some(1))
    );
    let (_, dead) = app.api("/api/v1/dead-letters").await;
    assert_eq!(dead["total"], 0);
    assert_eq!(
        app.api_post(&format!("/api/v1/dead-letters/{seq}/retry"))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn permanent_failures_and_unparseable_payloads_go_straight_to_the_dead_letters() {
    let app = spawn_app().await;
    // Valid JSON, classified as a push, but `project_id` is not a number: the typed parse in the
    // worker fails, and retrying cannot help.
    let mut v: Value = serde_json::from_slice(&push_body(1, "bad")).unwrap();
    v["project_id"] = Value::String("abc".into());
    v["ref"] = Value::Bool(true);
    let (status, body) = app
        .deliver_with_token("Push Hook", &serde_json::to_vec(&v).unwrap())
        .await;
    assert_eq!(status, 202, "{body}");
    app.drain().await;
    let (_, d) = app
        .api(&format!("/api/v1/deliveries/{}", body["delivery"]))
        .await;
    assert_eq!(d["state"], "dead");
    assert_eq!(d["attempts"], 1);
    assert!(
        d["error"].as_str().unwrap().contains("could not parse"),
        "{d}"
    );
}

#[tokio::test]
async fn pending_deliveries_are_replayed_by_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let seqs = {
        let data = data.clone();
        let app = spawn(Options {
            workers: 0,
            tweak: Box::new(move |s| s.data_dir = data),
            ..Default::default()
        })
        .await;
        let mut seqs = Vec::new();
        for i in 0..5 {
            let (s, b) = app
                .deliver_with_token("Push Hook", &push_body(i, "later"))
                .await;
            assert_eq!(s, 202);
            seqs.push(b["delivery"].as_u64().unwrap());
        }
        app.shutdown().await;
        seqs
    };
    let handler = ScriptedHandler::new(|_, _| Ok("ok".into()));
    let app = spawn(Options {
        handler: handler.clone(),
        tweak: Box::new(move |s| s.data_dir = data),
        ..Default::default()
    })
    .await;
    assert_eq!(app.app.replayed(), 5);
    app.drain().await;
    let mut seen: Vec<u64> = handler.calls().iter().map(|c| c.seq).collect();
    seen.sort();
    assert_eq!(seen, seqs);
}
