//! Issue 12 item 7: sessions end on the server at logout, and guessing the admin token is
//! throttled per client address (429 with `Retry-After`), for dashboard logins and API bearer
//! tokens alike.

use backline::http::throttle::MAX_FAILURES;

use super::pages::{client, csrf_of, log_in};
use crate::harness::{spawn, Options, ADMIN_TOKEN};

#[tokio::test]
async fn an_old_cookie_is_refused_after_logout() {
    let app = spawn(Options::default()).await;
    let http = client();
    let base = &app.base;
    let cookie = log_in(&app, &http).await;
    let other = log_in(&app, &http).await;
    let page = |cookie: String| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("{base}/"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, overview) = page(cookie.clone()).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&overview);
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    // The copied cookie no longer works: to the login page, and it cannot post forms either.
    let (status, _) = page(cookie.clone()).await;
    assert_eq!(status, 303);
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");
    // Another session lives on.
    assert_eq!(page(other).await.0, 200);
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_logins_are_throttled_per_address_with_retry_after() {
    let app = spawn(Options::default()).await;
    let http = client();
    let login = |token: &'static str| {
        let http = http.clone();
        let url = format!("{}/login", app.base);
        async move {
            http.post(url)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..MAX_FAILURES {
        assert_eq!(login("wrong").await.status().as_u16(), 401);
    }
    // Now even the right token waits.
    let r = login(ADMIN_TOKEN).await;
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("too many wrong tokens"));
    // The API shares the count: the same address is refused there too.
    let r = app
        .http
        .get(format!("{}/api/v1/deliveries", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_bearer_tokens_are_throttled_with_retry_after() {
    let app = spawn(Options::default()).await;
    let call = |token: &'static str| {
        let url = format!("{}/api/v1/deliveries", app.base);
        let http = app.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    // A missing token is not a guess and does not count.
    for _ in 0..(2 * MAX_FAILURES) {
        let r = app
            .http
            .get(format!("{}/api/v1/deliveries", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    assert_eq!(call(ADMIN_TOKEN).await.status().as_u16(), 200);
    for _ in 0..MAX_FAILURES {
        assert_eq!(call("guess").await.status().as_u16(), 401);
    }
    for token in ["guess", ADMIN_TOKEN] {
        let r = call(token).await;
        assert_eq!(r.status().as_u16(), 429);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"]
            .as_str()
            .unwrap()
            .contains("too many wrong tokens"));
    }
    app.shutdown().await;
}
