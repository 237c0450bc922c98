//! The registry client's retries follow the one retry policy: `Retry-After` as seconds or as
//! an HTTP date, capped at 30 s, waited through the injected sleeper (nothing really waits).
//! The registry is a loopback socket answering canned responses.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{HttpRegistry, RegistryConfig};
use crate::retry::RecordingSleeper;

/// Answers each connection with the next of `responses` (then closes it).
async fn canned(responses: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for response in responses {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

fn answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn client(url: &str, attempts: u32) -> (HttpRegistry, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let config = RegistryConfig {
        attempts,
        retry_base: Duration::from_millis(500),
        outage_backoff: Duration::ZERO,
        ..RegistryConfig::simulator(url)
    };
    let registry = HttpRegistry::new(config)
        .unwrap()
        .with_sleeper(sleeper.clone());
    (registry, sleeper)
}

#[tokio::test]
async fn retry_after_dates_and_seconds_are_waited_through_the_sleeper() {
    let in_20s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(20));
    let url = canned(vec![
        answer(
            "429 Too Many Requests",
            &format!("Retry-After: {in_20s}\r\n"),
            "",
        ),
        answer("503 Service Unavailable", "Retry-After: 7\r\n", ""),
        answer("200 OK", "", "ok"),
    ])
    .await;
    let (registry, sleeper) = client(&url, 3);
    let body = registry
        .get_with_retries(&format!("{url}/x"), None)
        .await
        .unwrap();
    assert_eq!(body.as_deref(), Some(&b"ok"[..]));
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 2, "{waits:?}");
    // The date has whole seconds: 19 to 20 s from when it was read.
    assert!(
        waits[0] > Duration::from_secs(15) && waits[0] <= Duration::from_secs(20),
        "{waits:?}"
    );
    assert_eq!(waits[1], Duration::from_secs(7));
}

#[tokio::test]
async fn a_long_retry_after_is_capped_and_the_attempts_are_bounded() {
    let url = canned(vec![
        answer("429 Too Many Requests", "Retry-After: 3600\r\n", ""),
        answer("500 Internal Server Error", "", ""),
        answer("200 OK", "", "never asked"),
    ])
    .await;
    let (registry, sleeper) = client(&url, 2);
    let err = registry
        .get_with_retries(&format!("{url}/x"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(sleeper.waits(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn without_retry_after_the_schedule_doubles_with_jitter() {
    let url = canned(vec![
        answer("502 Bad Gateway", "", ""),
        answer("502 Bad Gateway", "", ""),
        answer("200 OK", "", "ok"),
    ])
    .await;
    let (registry, sleeper) = client(&url, 3);
    registry
        .get_with_retries(&format!("{url}/x"), None)
        .await
        .unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits[0] >= Duration::from_millis(250) && waits[0] <= Duration::from_millis(500));
    assert!(waits[1] >= Duration::from_millis(500) && waits[1] <= Duration::from_secs(1));
}
