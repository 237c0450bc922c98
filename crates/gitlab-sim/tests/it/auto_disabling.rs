//! Hook auto-disabling (app/models/concerns/web_hooks/auto_disabling.rb) and the hook test
//! endpoint (lib/api/hooks/trigger_test.rb), against a receiver whose answer the test sets.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use gitlab_sim::world::auto_disabling::PERMANENTLY_DISABLED_FAILURE_THRESHOLD;
use gitlab_sim::{access, HookTarget};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
}

fn receiver(status: u16) -> Receiver {
    let code = Arc::new(AtomicU16::new(status));
    let hits = Arc::new(AtomicUsize::new(0));
    let (c, h) = (code.clone(), hits.clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let (c, h) = (c.clone(), h.clone());
        App::new().default_service(web::to(move || {
            let (c, h) = (c.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let s = actix_web::http::StatusCode::from_u16(c.load(Ordering::SeqCst)).unwrap();
                HttpResponse::build(s).body("receiver says no")
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver {
        url,
        status: code,
        hits,
    }
}

fn push(sim: &gitlab_sim::GitLabSim, pid: gitlab_sim::ProjectId, n: usize) {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            "main",
            &format!("change {n}"),
            vec![(format!("f{n}.txt"), Some("x".into()))],
        )
        .unwrap();
    });
}

async fn hook_json(
    sim: &gitlab_sim::GitLabSim,
    pid: gitlab_sim::ProjectId,
    hid: u64,
) -> serde_json::Value {
    let (s, v) = json(get(sim, &format!("/projects/{pid}/hooks/{hid}")).await).await;
    assert_eq!(s, 200);
    v
}

#[tokio::test]
async fn four_failures_back_off_and_a_successful_test_re_enables() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER).unwrap());
    let rx = receiver(500);
    let hid = sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(&rx.url)).unwrap());
    assert_eq!(
        hook_json(&sim, pid, hid).await["alert_status"],
        "executable"
    );

    for n in 0..6 {
        push(&sim, pid, n);
    }
    let out = sim.deliver_pending().await;
    // The fourth failure backs the hook off for a minute; the rest are not sent.
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(rx.hits.load(Ordering::SeqCst), 4);
    let v = hook_json(&sim, pid, hid).await;
    assert_eq!(v["alert_status"], "temporarily_disabled");
    let until = sim.with_world(|w| w.projects[&pid].hooks[0].disabled_until.unwrap());
    assert_eq!(v["disabled_until"], gitlab_sim::util::iso_ms(until));
    let left = until - gitlab_sim::util::now_ms();
    assert!(
        (50_000..=60_000).contains(&left),
        "backs off a minute: {left} ms"
    );
    // A disabled hook is not even queued.
    push(&sim, pid, 9);
    assert!(sim.deliver_pending().await.is_empty());

    // Updating the hook does not re-enable it (web_hooks/hook.rb has no such callback).
    let r = call(
        &sim,
        Method::PUT,
        &format!("/projects/{pid}/hooks/{hid}"),
        Some(json!({"url": rx.url, "note_events": true})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        hook_json(&sim, pid, hid).await["alert_status"],
        "temporarily_disabled"
    );

    // A test while the receiver still fails: sent anyway (force), 422 with its answer.
    let test = format!("/projects/{pid}/hooks/{hid}/test/push_events");
    let (s, v) = json(call(&sim, Method::POST, &test, None).await).await;
    assert_eq!((s, v["message"].as_str()), (422, Some("receiver says no")));
    assert_eq!(rx.hits.load(Ordering::SeqCst), 5);
    assert_eq!(
        hook_json(&sim, pid, hid).await["alert_status"],
        "temporarily_disabled"
    );

    // Fixed receiver: the test answers 201 and the hook is executable again.
    rx.status.store(200, Ordering::SeqCst);
    let (s, v) = json(call(&sim, Method::POST, &test, None).await).await;
    assert_eq!((s, v["message"].as_str()), (201, Some("201 Created")));
    let v = hook_json(&sim, pid, hid).await;
    assert_eq!(v["alert_status"], "executable");
    assert!(v["disabled_until"].is_null());
    push(&sim, pid, 10);
    assert_eq!(sim.deliver_pending().await.len(), 1);
}

#[tokio::test]
async fn forty_failures_disable_for_good() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER).unwrap());
    let rx = receiver(404);
    let hid = sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(&rx.url)).unwrap());
    // Each backoff expires before the next failure (set in the past, as time passing would).
    for _ in 0..=PERMANENTLY_DISABLED_FAILURE_THRESHOLD {
        sim.with_world(|w| {
            let h = &mut w.project_mut_raw(pid).unwrap().hooks[0];
            h.disabled_until = h.disabled_until.map(|_| 0);
        });
        push(&sim, pid, 0);
        assert_eq!(sim.deliver_pending().await.len(), 1);
    }
    sim.with_world(|w| {
        let h = &mut w.project_mut_raw(pid).unwrap().hooks[0];
        h.disabled_until = h.disabled_until.map(|_| 0);
    });
    assert_eq!(hook_json(&sim, pid, hid).await["alert_status"], "disabled");
    push(&sim, pid, 1);
    assert!(sim.deliver_pending().await.is_empty());
}

#[tokio::test]
async fn hook_tests_are_rate_limited_and_need_maintainer() {
    let sim = start();
    let pid = project(&sim);
    let rx = receiver(200);
    let hid = sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(&rx.url)).unwrap());
    let test = format!("/projects/{pid}/hooks/{hid}/test/push_events");
    // Developer: 403 like every hook route.
    assert_eq!(call(&sim, Method::POST, &test, None).await.status(), 403);
    let bot = sim.bot_user();
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER).unwrap());
    let bad = format!("/projects/{pid}/hooks/{hid}/test/nonsense_events");
    assert_eq!(call(&sim, Method::POST, &bad, None).await.status(), 400);
    for _ in 0..gitlab_sim::world::HOOK_TESTS_PER_MINUTE {
        assert_eq!(call(&sim, Method::POST, &test, None).await.status(), 201);
    }
    let r = call(&sim, Method::POST, &test, None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "60");
    assert_eq!(
        rx.hits.load(Ordering::SeqCst),
        gitlab_sim::world::HOOK_TESTS_PER_MINUTE
    );
}
