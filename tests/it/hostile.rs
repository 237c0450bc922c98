//! Hostile input over real HTTP: deeply nested, truncated, binary and oddly typed bodies,
//! injected header values, replays and stale signatures each get their status and crash
//! nothing; slow clients that never finish their request do not stop others being answered.

use std::time::Duration;

use gitlab_sim::DeliveryBuilder;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::{spawn_app, SECRET, SIGNING_TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_their_status_and_crash_nothing() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let deep_object = format!(
        "{{\"object_kind\":\"push\",\"x\":{}{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("deeply nested array", deep.into_bytes(), 400),
        ("deeply nested object", deep_object.into_bytes(), 400),
        (
            "truncated",
            br#"{"object_kind":"push","ref":"refs/he"#.to_vec(),
            400,
        ),
        ("binary", vec![0xff, 0xfe, 0x00, 0x9c, 0x12], 400),
        ("empty", Vec::new(), 400),
        ("a JSON string", br#""push""#.to_vec(), 400),
        ("a number", b"12345678901234567890123456789".to_vec(), 400),
    ];
    for (what, body, status) in cases {
        let (got, answer) = app.deliver_with_token("Push Hook", &body).await;
        assert_eq!(got, status, "{what}: {answer}");
    }
    // Still healthy, and every accepted delivery is accounted for.
    let r = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_headers_replays_and_stale_signatures_are_refused() {
    let app = spawn_app().await;
    let body = crate::harness::push_body(7, "hostile");
    let client = reqwest::Client::new();
    // A wrong token followed by an injected second token header, a token with a NUL byte, a
    // token with a control character: never accepted (sent raw: reqwest refuses such values).
    for evil in [
        "wrong\r\nX-Gitlab-Token: test-secret-token",
        "test-secret-token\0",
        "test-secret\x01-token",
    ] {
        let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
            .await
            .unwrap();
        let request = format!(
            "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: {evil}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
            .await
            .unwrap();
        let head = String::from_utf8_lossy(&answer);
        assert!(
            head.starts_with("HTTP/1.1 401") || head.starts_with("HTTP/1.1 400"),
            "{evil:?}: {head}"
        );
        assert!(!head.contains("HTTP/1.1 202"));
    }
    // A signed delivery replayed with the same webhook-id: duplicate, not processed twice.
    let signed = DeliveryBuilder::new("Push Hook", body.clone())
        .signing_token(SIGNING_TOKEN)
        .build()
        .unwrap();
    assert_eq!(app.deliver(&signed).await.0, 202);
    let (status, answer) = app.deliver(&signed).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate"))
    );
    // A stale timestamp (an hour old) with a valid signature for it: 401.
    let stale = DeliveryBuilder::new("Push Hook", body.clone())
        .signing_token(SIGNING_TOKEN)
        .timestamp(chrono_like_now() - 3600)
        .build()
        .unwrap();
    let (status, answer) = app.deliver(&stale).await;
    assert_eq!(status, 401, "{answer}");
    // A wrong content type with a valid token: judged on the bytes, still verified.
    let r = client
        .post(app.webhook_url())
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Token", SECRET)
        .header("Content-Type", "text/plain")
        .body(crate::harness::push_body(8, "text/plain"))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 202 || r.status() == 415, "{}", r.status());
    app.drain().await;
    app.shutdown().await;
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_stop_others_being_answered() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // 200 connections that start a request and never finish it (half a header, or a body
    // promised and never sent).
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let partial = if i % 2 == 0 {
            "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Ev".to_string()
        } else {
            "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"a\":"
                .to_string()
        };
        s.write_all(partial.as_bytes()).await.unwrap();
        idle.push(s);
    }
    // Others are answered while those wait: well before the server's 10 s request timeout
    // would have freed the slow connections (the bound fails the test, it never waits on it).
    let others = async {
        for marker in ["a", "b", "c"] {
            let (status, _) = app
                .deliver_with_token("Push Hook", &crate::harness::push_body(9, marker))
                .await;
            assert_eq!(status, 202);
            let r = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
            assert_eq!(r.status(), 200);
            let badge = reqwest::get(format!("{}/badge/1.svg", app.base))
                .await
                .unwrap();
            assert_eq!(badge.status(), 200);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), others)
        .await
        .expect("answered while 200 slow clients hold connections");
    drop(idle);
    app.drain().await;
    app.shutdown().await;
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// A long hostile stream against the real binary: memory stays bounded. The long run is
/// `HOSTILE_REQUESTS=50000 cargo test --test it hostile_stream -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_stream_does_not_grow_memory_without_bound() {
    let n: usize = std::env::var("HOSTILE_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().unwrap();
    let server = crate::binary::start_with(&dir.path().join("data"), 2, &[]).await;
    let pid = server.child.id().unwrap();
    let url = format!("{}/webhooks/gitlab", server.base);
    let client = reqwest::Client::new();
    let big_invalid = vec![b'{'; 1024 * 1024];
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let send = |i: usize| {
        let req = client.post(&url).header("X-Gitlab-Event", "Push Hook");
        match i % 5 {
            // 1 MiB of not-JSON with a valid token: 400.
            0 => req
                .header("X-Gitlab-Token", SECRET)
                .body(big_invalid.clone()),
            // Announced as 30 MiB: refused before reading (413).
            1 => req
                .header("X-Gitlab-Token", SECRET)
                .header("Content-Length", (30 * 1024 * 1024).to_string())
                .body(vec![b'x'; 16]),
            // A wrong token: 401.
            2 => req
                .header("X-Gitlab-Token", "nope")
                .body(crate::harness::push_body(1, "x")),
            // A valid object nested 5,000 deep under an unknown key: accepted once (202; the
            // worker's typed parse sends it to the dead letters), then a duplicate (200).
            3 => req.header("X-Gitlab-Token", SECRET).body(format!(
                "{{\"a\":{}1{}}}",
                "[".repeat(5000),
                "]".repeat(5000)
            )),
            // A stale signature: 401.
            _ => req
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", "1")
                .header("webhook-signature", "v1,AAAA")
                .body(crate::harness::push_body(1, "y")),
        }
        .send()
    };
    // Warm up, then measure.
    for i in 0..200 {
        if let Ok(r) = send(i).await {
            *statuses.entry(r.status().as_u16()).or_default() += 1;
        }
    }
    let before = rss_kib(pid);
    for i in 0..n {
        if let Ok(r) = send(i).await {
            *statuses.entry(r.status().as_u16()).or_default() += 1;
        }
    }
    let after = rss_kib(pid);
    eprintln!(
        "hostile stream: {n} requests, statuses {statuses:?}, RSS {before} KiB -> {after} KiB"
    );
    assert!(
        statuses
            .keys()
            .all(|s| [200, 202, 400, 401, 413].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&202).copied().unwrap_or(0) <= 1,
        "{statuses:?}"
    );
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    let (status, _) = server.sigterm().await;
    assert!(status.success());
}
