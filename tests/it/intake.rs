//! The webhook endpoint over real HTTP: every example, verification, deduplication, size cap,
//! bad bodies, the deliveries API, health and metrics.

use gitlab_sim::DeliveryBuilder;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn every_example_payload_is_classified_over_http_and_recorded() {
    let app = spawn_app().await;
    let examples = examples();
    assert!(examples.len() >= 17);
    let mut accepted = Vec::new();
    for ex in &examples {
        let (status, body) = app
            .deliver_with_token(&ex.event, &example_body(&ex.file))
            .await;
        if ex.accepted {
            assert_eq!(status, 202, "{}: {body}", ex.file);
            assert_eq!(body["status"], "accepted", "{}", ex.file);
            assert_eq!(body["kind"], ex.kind.as_str(), "{}", ex.file);
            accepted.push((body["delivery"].as_u64().unwrap(), ex.clone()));
        } else {
            assert_eq!(status, 200, "{}: {body}", ex.file);
            assert_eq!(body["status"], "ignored", "{}", ex.file);
            assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()));
        }
    }
    app.drain().await;
    for (seq, ex) in accepted {
        let (status, d) = app.api(&format!("/api/v1/deliveries/{seq}")).await;
        assert_eq!(status, 200);
        assert_eq!(d["kind"], ex.kind.as_str(), "{}", ex.file);
        assert_eq!(d["state"], "done", "{}: {d}", ex.file);
        assert_eq!(d["attempts"], 1);
        assert!(d["outcome"].as_str().is_some_and(|o| !o.is_empty()));
    }
}

#[tokio::test]
async fn the_same_delivery_sent_at_once_is_stored_once() {
    let app = spawn_app().await;
    let delivery = DeliveryBuilder::new("Push Hook", push_body(42, "race"))
        .signing_token(SIGNING_TOKEN)
        .build()
        .unwrap();
    let sends = (0..16).map(|_| app.deliver(&delivery));
    let answers = futures::future::join_all(sends).await;
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    let duplicates = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["status"] == "duplicate")
        .count();
    assert_eq!((accepted, duplicates), (1, 15), "{answers:?}");
    let seq = answers.iter().find(|(s, _)| *s == 202).unwrap().1["delivery"].clone();
    assert!(answers.iter().all(|(_, b)| b["delivery"] == seq));
    app.drain().await;
    let (_, list) = app.api("/api/v1/deliveries").await;
    assert_eq!(list["total"], 1);
    // A resend later (GitLab's retry or a manual resend) is still a duplicate.
    let (status, body) = app.deliver(&delivery).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(body["kind"], "push", "{body}");
    // Every repeat counts under its kind, whichever check caught it.
    let (_, metrics) = get_text(&app, "/metrics").await;
    assert!(
        metrics
            .contains("backline_webhook_deliveries_total{kind=\"push\",outcome=\"duplicate\"} 16"),
        "{metrics}"
    );
    assert!(!metrics.contains("kind=\"unknown\""), "{metrics}");
}

#[tokio::test]
async fn retries_with_the_same_idempotency_key_are_duplicates_even_if_resigned() {
    let app = spawn_app().await;
    let build = |ts: i64| {
        DeliveryBuilder::new("Push Hook", push_body(1, "x"))
            .signing_token(SIGNING_TOKEN)
            .idempotency_key("fixed-key")
            .timestamp(ts)
            .build()
            .unwrap()
    };
    let now = backline::clock::now_secs();
    assert_eq!(app.deliver(&build(now)).await.0, 202);
    let (status, body) = app.deliver(&build(now + 1)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    // Without any id, the event UUID plus the body decide.
    let plain = |uuid: &str, marker: &str| {
        let mut d = DeliveryBuilder::new("Push Hook", push_body(1, marker))
            .secret_token(SECRET)
            .event_uuid(uuid)
            .build()
            .unwrap();
        d.headers.retain(|(n, _)| n != "Idempotency-Key");
        d
    };
    assert_eq!(app.deliver(&plain("u-1", "a")).await.0, 202);
    assert_eq!(app.deliver(&plain("u-1", "a")).await.0, 200);
    assert_eq!(app.deliver(&plain("u-1", "b")).await.0, 202);
    assert_eq!(app.deliver(&plain("u-2", "a")).await.0, 202);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn(Options {
        tweak: Box::new(|s| s.max_body_bytes = 4096),
        ..Default::default()
    })
    .await;
    let big = push_body(1, &"x".repeat(5000));
    let (status, body) = app.deliver_with_token("Push Hook", &big).await;
    assert_eq!(status, 413, "{body}");
    // Just under the cap passes.
    let small = push_body(1, "small");
    assert!(small.len() < 4096);
    assert_eq!(app.deliver_with_token("Push Hook", &small).await.0, 202);
    // A chunked body without Content-Length is capped while streaming.
    let stream = futures::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000])));
    let r = app
        .http
        .post(app.webhook_url())
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Token", SECRET)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_get_400() {
    let app = spawn_app().await;
    for body in [
        &b"not json"[..],
        b"",
        b"[1,2,3]",
        b"{\"object_kind\": \"push\"",
    ] {
        let (status, answer) = app.deliver_with_token("Push Hook", body).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("JSON"));
    }
}

#[tokio::test]
async fn unverified_deliveries_get_401_with_a_reason() {
    let app = spawn_app().await;
    let body = push_body(1, "auth");
    let cases: Vec<(gitlab_sim::Delivery, &str)> = vec![
        (
            DeliveryBuilder::new("Push Hook", body.clone())
                .build()
                .unwrap(),
            "missing X-Gitlab-Token",
        ),
        (
            DeliveryBuilder::new("Push Hook", body.clone())
                .secret_token("wrong")
                .build()
                .unwrap(),
            "invalid X-Gitlab-Token",
        ),
        (
            DeliveryBuilder::new("Push Hook", body.clone())
                .signing_token("whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=")
                .build()
                .unwrap(),
            "invalid webhook-signature",
        ),
        (
            DeliveryBuilder::new("Push Hook", body.clone())
                .signing_token(SIGNING_TOKEN)
                .timestamp(backline::clock::now_secs() - 3600)
                .build()
                .unwrap(),
            "webhook-timestamp outside the allowed window",
        ),
    ];
    for (delivery, reason) in cases {
        let (status, answer) = app.deliver(&delivery).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"], reason);
        assert!(!answer.to_string().contains(SECRET));
    }
    // Both secrets of the rotation list are accepted.
    for secret in [SECRET, OLD_SECRET] {
        let d = DeliveryBuilder::new("Push Hook", push_body(1, secret))
            .secret_token(secret)
            .build()
            .unwrap();
        assert_eq!(app.deliver(&d).await.0, 202);
    }
    let (_, metrics) = get_text(&app, "/metrics").await;
    assert!(
        metrics
            .contains("backline_webhook_verification_failures_total{reason=\"invalid_token\"} 1"),
        "{metrics}"
    );
    assert!(metrics
        .contains("backline_webhook_verification_failures_total{reason=\"stale_timestamp\"} 1"));
}

#[tokio::test]
async fn unhandled_events_answer_200_ignored() {
    let app = spawn_app().await;
    for (event, body) in [
        (
            "Issue Hook",
            br#"{"object_kind":"issue","project":{"id":1}}"#.to_vec(),
        ),
        (
            "System Hook",
            br#"{"event_name":"user_create","user_id":5}"#.to_vec(),
        ),
        ("", br#"{"object_kind":"push"}"#.to_vec()),
    ] {
        let (status, answer) = app.deliver_with_token(event, &body).await;
        assert_eq!(status, 200, "{event}: {answer}");
        assert_eq!(answer["status"], "ignored");
    }
    let (_, list) = app.api("/api/v1/deliveries").await;
    assert_eq!(list["total"], 0, "ignored deliveries are not stored");
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .http
        .get(format!("{}{}", app.base, path))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn deliveries_api_filters_paginates_and_guards() {
    let app = spawn_app().await;
    for i in 0..5 {
        let (s, _) = app
            .deliver_with_token("Push Hook", &push_body(i + 1, &format!("m{i}")))
            .await;
        assert_eq!(s, 202);
    }
    app.drain().await;
    let (status, page) = app.api("/api/v1/deliveries?per_page=2&page=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 5);
    assert_eq!(page["page"], 2);
    assert_eq!(page["per_page"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let item = &page["items"][0];
    for field in [
        "id",
        "key",
        "kind",
        "project_id",
        "state",
        "attempts",
        "received_at",
        "finished_at",
    ] {
        assert!(item.get(field).is_some(), "{field} missing in {item}");
    }
    assert!(item["key"].as_str().unwrap().starts_with("id:"));
    let (_, done) = app.api("/api/v1/deliveries?state=done").await;
    assert_eq!(done["total"], 5);
    let (_, queued) = app.api("/api/v1/deliveries?state=queued").await;
    assert_eq!(queued["total"], 0);
    assert_eq!(app.api("/api/v1/deliveries?state=bogus").await.0, 400);
    assert_eq!(app.api("/api/v1/deliveries?per_page=1000").await.0, 400);
    assert_eq!(app.api("/api/v1/deliveries/999999").await.0, 404);
    // Wrong or missing token: 401.
    let r = app
        .http
        .get(format!("{}/api/v1/deliveries", app.base))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = app
        .http
        .get(format!("{}/api/v1/deliveries", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn api_is_absent_without_an_admin_token() {
    let app = spawn(Options {
        tweak: Box::new(|s| s.admin_token = None),
        ..Default::default()
    })
    .await;
    let r = app
        .http
        .get(format!("{}/api/v1/deliveries", app.base))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(get_text(&app, "/healthz").await.0, 200);
    let (status, ready) = get_text(&app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["workers"]["running"], 4);
    app.deliver_with_token("Push Hook", &push_body(3, "m"))
        .await;
    app.deliver_with_token("Pipeline Hook", &example_body("pipeline.json"))
        .await;
    app.drain().await;
    let (status, text) = get_text(&app, "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "backline_webhook_deliveries_total{kind=\"push\",outcome=\"accepted\"} 1",
        "backline_webhook_deliveries_total{kind=\"pipeline\",outcome=\"ignored\"} 1",
        "backline_deliveries_handled_total{kind=\"push\",result=\"done\"} 1",
        "backline_handler_duration_seconds_count{kind=\"push\"} 1",
        "backline_inbox_depth 0",
        "backline_dead_letters 0",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains(SECRET) && !text.contains(ADMIN_TOKEN));
}

#[tokio::test]
async fn readiness_fails_when_workers_are_stopped() {
    let mut app = spawn_app().await;
    app.stop_workers().await;
    assert_eq!(get_text(&app, "/readyz").await.0, 503);
}
