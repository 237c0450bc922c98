//! `serve` on PostgreSQL (issue 16): replicas sharing one database through the real app,
//! readiness with the database. Needs `BACKLINE_TEST_DATABASE_URL` (see `harness::fresh_database`).

use backline::inbox::DeliveryState;
use serde_json::Value;

use crate::harness::*;

async fn replica_on(url: backline::store::pg::DatabaseUrl, id: &'static str) -> TestApp {
    spawn(Options {
        tweak: Box::new(move |s| {
            s.database_url = Some(url);
            s.replica_id = Some(id.to_string());
        }),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_store_a_delivery_once_and_run_it_once() {
    let url = fresh_database().await;
    let a = replica_on(url.clone(), "a").await;
    let b = replica_on(url, "b").await;
    let body = push_body(3, "twice");
    let delivery = gitlab_sim::DeliveryBuilder::new("Push Hook", body)
        .secret_token(SECRET)
        .build()
        .unwrap();
    let (status, first) = a.deliver(&delivery).await;
    assert_eq!(status, 202, "{first}");
    // The same delivery sent to the other replica: stored once, answered `duplicate`.
    let (status, second) = b.deliver(&delivery).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["status"], "duplicate");
    assert_eq!(second["delivery"], first["delivery"]);
    a.drain().await;
    b.drain().await;
    for app in [&a, &b] {
        let done = app
            .app
            .inbox
            .list(Some(DeliveryState::Done), 1, 10)
            .unwrap();
        assert_eq!(done.total, 1, "run once, seen by both replicas");
        assert_eq!(app.app.inbox.record_count(), 1);
    }
    // Either replica's API lists it.
    let (status, listed) = b.api("/api/v1/deliveries").await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 1, "{listed}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_includes_the_database_and_fails_without_it() {
    let url = fresh_database().await;
    let app = replica_on(url.clone(), "a").await;
    let r = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["database"]["status"], "ok", "{ready}");
    assert!(ready["database"]["schema_version"].as_i64().unwrap() >= 2);
    assert!(ready["database"]["pool"]["max_size"].as_u64().unwrap() >= 1);
    // The database loses backline's schema: not ready.
    let admin =
        backline::store::pg::PgStore::connect(&url, &backline::net::Network::default(), 1).unwrap();
    let client = admin.client().await.unwrap();
    let name: String = client
        .query_one("SELECT current_schema()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(name.starts_with("it_"), "the test's own schema: {name}");
    client
        .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
        .await
        .unwrap();
    let r = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["database"]["status"], "error", "{ready}");
}
