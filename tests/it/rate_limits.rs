//! GitLab's rate limits as GitLab sends them (gitlab-sim's 429s: Rack::Attack's text or the
//! application limiter's JSON, `Retry-After` of 60-600 s, `RateLimit-*` headers): a wait within
//! the client's cap is waited in-process, a longer one parks the delivery until `Retry-After`
//! instead of failing it, and a nearly spent `RateLimit-Remaining` slows the client first.
//! Every wait goes through the recording sleeper: nothing here waits for real.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backline::gitlab::client::RecordingSleeper;
use backline::gitlab::{ClientConfig, GitLab, GitLabError, ProjectRef};
use backline::handlers::HandlerError;
use backline::secret::Secret;
use gitlab_sim::{GitLabSim, ProjectSpec, SimConfig};

use crate::gitlab_client::client_for;
use crate::harness::*;

fn scene() -> (GitLabSim, u64) {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let id = sim.with_world(|w| {
        let id = w
            .create_project(ProjectSpec::new("acme", "api").file("README.md", "hi\n"))
            .unwrap();
        w.add_member(id, bot, gitlab_sim::access::DEVELOPER)
            .unwrap();
        id
    });
    (sim, id)
}

#[tokio::test]
async fn a_minute_long_429_in_either_shape_is_waited_in_process() {
    let (sim, id) = scene();
    let (gl, sleeper) = client_for(&sim, sim.bot_token());
    sim.faults()
        .fail_next_retry_after("GET", "/projects/:id", 1, 429, 60);
    sim.faults()
        .rate_limit_json_next("GET", "/projects/:id", 1, 90);
    let project = gl.project(&ProjectRef::Id(id.into())).await.unwrap();
    assert_eq!(project.id.get(), id);
    // GitLab's own waits, and no pacing on top (the window reset while waiting).
    assert_eq!(
        sleeper.waits(),
        [Duration::from_secs(60), Duration::from_secs(90)]
    );
    assert_eq!(sim.count("GET", "/projects/:id"), 3);
}

#[tokio::test]
async fn a_429_longer_than_the_cap_ends_the_call_with_its_retry_after_and_parks_the_delivery() {
    let (sim, id) = scene();
    let (gl, sleeper) = client_for(&sim, sim.bot_token());
    sim.faults()
        .rate_limit_json_next("GET", "/projects/:id", 1, 600);
    let e = gl.project(&ProjectRef::Id(id.into())).await.unwrap_err();
    match &e {
        GitLabError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(600)))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        sleeper.waits().is_empty(),
        "no in-process wait past the cap"
    );
    assert_eq!(sim.count("GET", "/projects/:id"), 1);
    match HandlerError::from_gitlab(&e) {
        HandlerError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(600))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_parked_delivery_is_not_a_failed_attempt() {
    // One attempt allowed: a transient failure would bury the delivery; a rate limit parks it
    // (here until "now", so that the test goes on at once) and it is then handled.
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let handler = ScriptedHandler::new(move |_, _| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(HandlerError::RateLimited {
                message: "rate limited by GitLab on GET /api/v4/projects/7".into(),
                retry_after: Duration::ZERO,
            })
        } else {
            Ok("ok".to_string())
        }
    });
    let app = spawn(Options {
        handler: handler.clone(),
        tweak: Box::new(|s| s.max_attempts = 1),
        ..Default::default()
    })
    .await;
    let (_, body) = app
        .deliver_with_token("Push Hook", &push_body(7, "limited"))
        .await;
    app.drain().await;
    let (_, d) = app
        .api(&format!("/api/v1/deliveries/{}", body["delivery"]))
        .await;
    assert_eq!(d["state"], "done", "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_spent_budget_slows_the_client_before_any_429() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new().route(
            "/api/v4/version",
            web::get().to(|| async {
                let reset = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + 30;
                HttpResponse::Ok()
                    .insert_header(("RateLimit-Limit", "600"))
                    .insert_header(("RateLimit-Remaining", "2"))
                    .insert_header(("RateLimit-Reset", reset.to_string()))
                    .content_type("application/json")
                    .body(r#"{"version":"17.5.0"}"#)
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let sleeper = Arc::new(RecordingSleeper::default());
    let gl =
        GitLab::with_sleeper(ClientConfig::new(base, Secret::new("t")), sleeper.clone()).unwrap();
    gl.version().await.unwrap();
    assert!(
        sleeper.waits().is_empty(),
        "the first call has no budget to go by"
    );
    gl.version().await.unwrap();
    // 2 left of 600 with ~30 s to go: the rest of the window shared among 3 requests.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] > Duration::from_secs(8) && waits[0] <= Duration::from_secs(10),
        "{waits:?}"
    );
    handle.stop(false).await;
}
