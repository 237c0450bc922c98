//! Badges over real HTTP: a public project, a private one without and with its key, an unknown
//! project answering exactly like a private one without key, ETag and 304, the endpoint JSON.

use backline::advisories::cvss::Level;
use backline::gitlab::hooks::common::Visibility;
use backline::gitlab::ProjectId;
use serde_json::Value;

use super::{finding, project};
use crate::harness::{spawn_app, TestApp};

struct Answer {
    status: u16,
    etag: String,
    cache: String,
    content_type: String,
    body: String,
}

async fn get(app: &TestApp, path: &str, if_none_match: Option<&str>) -> Answer {
    let mut req = app.http.get(format!("{}{}", app.base, path));
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    let r = req.send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (etag, cache, content_type) = (
        header("etag"),
        header("cache-control"),
        header("content-type"),
    );
    Answer {
        status: r.status().as_u16(),
        etag,
        cache,
        content_type,
        body: r.text().await.unwrap(),
    }
}

#[tokio::test]
async fn badge_public_private_unknown_etag_and_json() {
    let app = spawn_app().await;
    let a = &app.app;
    a.catalog
        .upsert(&project(1, "acme/open", Visibility::Public))
        .unwrap();
    a.catalog
        .upsert(&project(2, "acme/secret", Visibility::Private))
        .unwrap();
    a.catalog
        .upsert(&project(3, "acme/inside", Visibility::Internal))
        .unwrap();
    a.findings
        .replace(
            ProjectId(1),
            vec![
                finding("a", Level::Critical),
                finding("b", Level::High),
                finding("c", Level::High),
            ],
            1,
        )
        .unwrap();
    a.findings
        .replace(ProjectId(2), vec![finding("d", Level::Medium)], 1)
        .unwrap();

    // Public, by id and by encoded path.
    let svg = get(&app, "/badge/1.svg", None).await;
    assert_eq!(svg.status, 200);
    assert!(svg.content_type.starts_with("image/svg+xml"));
    assert_eq!(svg.cache, "max-age=300");
    assert!(
        svg.etag.starts_with('"') && svg.etag.len() > 10,
        "{}",
        svg.etag
    );
    assert!(svg.body.contains(">1 critical</text>"), "{}", svg.body);
    assert!(svg.body.contains("#e05d44"));
    let by_path = get(&app, "/badge/acme%2Fopen.svg", None).await;
    assert_eq!(by_path.body, svg.body);
    let json = get(&app, "/badge/ACME%2FOpen.json", None).await;
    assert!(json.content_type.starts_with("application/json"));
    let v: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"schemaVersion": 1, "label": "backline", "message": "1 critical", "color": "#e05d44"})
    );

    // 304 on a matching ETag (also within a list and weak), 200 on another.
    let again = get(&app, "/badge/1.svg", Some(&svg.etag)).await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    assert_eq!(again.etag, svg.etag);
    let listed = format!("\"other\", W/{}", svg.etag);
    assert_eq!(get(&app, "/badge/1.svg", Some(&listed)).await.status, 304);
    assert_eq!(get(&app, "/badge/1.svg", Some("\"x\"")).await.status, 200);

    // Private without key, with a wrong key, unknown project: the same neutral badge.
    let private = get(&app, "/badge/2.svg", None).await;
    assert_eq!(private.status, 200);
    assert!(private.body.contains(">unknown</text>"), "{}", private.body);
    for other in [
        "/badge/2.svg?key=00",
        "/badge/2.svg?key=",
        "/badge/acme%2Fsecret.svg",
        "/badge/999.svg",
        "/badge/no%2Fsuch.svg",
        "/badge/3.svg",
    ] {
        let o = get(&app, other, None).await;
        assert_eq!(
            (o.status, &o.body, &o.etag, &o.cache),
            (200, &private.body, &private.etag, &private.cache),
            "{other}"
        );
    }
    let unknown_json = get(&app, "/badge/999.json", None).await;
    assert_eq!(
        unknown_json.body,
        get(&app, "/badge/2.json", None).await.body
    );

    // With the key the project JSON gives: the real status.
    let (status, p) = app.api("/api/v1/projects/2").await;
    assert_eq!(status, 200);
    let url = p["badge_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/badge/2.svg?key="), "{url}");
    assert_eq!(
        p["badge_markdown"],
        format!("[![backline]({url})](https://gitlab.example/acme/secret)")
    );
    let keyed = get(&app, &url, None).await;
    assert!(keyed.body.contains(">1 medium</text>"), "{}", keyed.body);
    // A key of one project does not open another.
    let key = url.split("key=").nth(1).unwrap();
    let wrong = get(&app, &format!("/badge/3.svg?key={key}"), None).await;
    assert_eq!(wrong.body, private.body);
    // Public projects carry no key; nothing at all: no known vulnerabilities, green.
    let (_, p1) = app.api("/api/v1/projects/1").await;
    assert_eq!(p1["badge_url"], "/badge/1.svg");
    let (_, p3) = app.api("/api/v1/projects/3").await;
    let url3 = p3["badge_url"].as_str().unwrap();
    let clean = get(&app, url3, None).await;
    assert!(
        clean.body.contains("no known vulnerabilities"),
        "{}",
        clean.body
    );
    assert!(!url3.contains(crate::harness::ADMIN_TOKEN));
    // Not a badge name.
    assert_eq!(get(&app, "/badge/1.png", None).await.status, 404);
    app.shutdown().await;
}

#[tokio::test]
async fn badge_urls_use_the_public_url_and_an_explicit_secret() {
    let app = crate::harness::spawn(crate::harness::Options {
        tweak: Box::new(|s| {
            s.public_url = Some("https://backline.example".into());
            s.badge_secret = Some(backline::secret::Secret::new("badge-secret"));
        }),
        ..Default::default()
    })
    .await;
    app.app
        .catalog
        .upsert(&project(7, "acme/x", Visibility::Private))
        .unwrap();
    let (_, p) = app.api("/api/v1/projects/7").await;
    let expected = backline::http::badge::badge_key(b"badge-secret", 7);
    assert_eq!(
        p["badge_url"],
        format!("https://backline.example/badge/7.svg?key={expected}")
    );
    let keyed = get(&app, &format!("/badge/7.json?key={expected}"), None).await;
    let v: Value = serde_json::from_str(&keyed.body).unwrap();
    assert_eq!(v["message"], "no known vulnerabilities");
    assert_eq!(v["color"], "#4c1");
    app.shutdown().await;
}
