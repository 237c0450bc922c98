//! The dashboard over real HTTP: 404 without an admin token, login and its cookie, CSRF on
//! forms, every page rendered and escaped, search and sort, dead-letter retry, the summary API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use backline::advisories::cvss::Level;
use backline::gitlab::hooks::common::Visibility;
use backline::gitlab::ProjectId;
use backline::handlers::HandlerError;
use reqwest::redirect::Policy;

use super::{finding, project};
use crate::harness::{push_body, spawn, Options, ScriptedHandler, TestApp, ADMIN_TOKEN};

/// A client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Logs in; returns the `Cookie` header value.
pub async fn log_in(app: &TestApp, http: &reqwest::Client) -> String {
    let r = http
        .post(format!("{}/login", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf")
        + 19;
    page[at..].split('"').next().unwrap().to_string()
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> (u16, String) {
    let r = http.get(url).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn dashboard_is_404_without_an_admin_token() {
    let app = spawn(Options {
        tweak: Box::new(|s| s.admin_token = None),
        ..Default::default()
    })
    .await;
    let http = client();
    for path in ["/", "/login", "/projects", "/approvals", "/deliveries"] {
        let (status, _) = get(&http, &format!("{}{path}", app.base), "").await;
        assert_eq!(status, 404, "{path}");
    }
    let r = http
        .post(format!("{}/login", app.base))
        .form(&[("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn dashboard_cookie_is_secure_behind_an_https_public_url() {
    let app = spawn(Options {
        tweak: Box::new(|s| s.public_url = Some("https://backline.example".into())),
        ..Default::default()
    })
    .await;
    let r = client()
        .post(format!("{}/login", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    app.shutdown().await;
}

#[tokio::test]
async fn dashboard_speaks_plainly_groups_packages_and_links_advisories() {
    let app = spawn(Options::default()).await;
    let http = client();
    let base = &app.base;
    let cookie = log_in(&app, &http).await;
    // Without GitLab and with nothing catalogued, the overview says why it is empty.
    let (_, page) = get(&http, &format!("{base}/"), &cookie).await;
    assert!(page.contains("GitLab is not configured"), "{page}");
    assert!(!page.contains("No known vulnerabilities"), "{page}");
    assert!(page.contains("Vulnerable packages now, by worst severity"));

    let a = &app.app;
    a.catalog
        .upsert(&project(1, "acme/app", Visibility::Public))
        .unwrap();
    let with = |package: &str, id: &str, level: Level, summary: &str| {
        let mut f = finding(package, level);
        f.advisory.id = id.to_string();
        f.advisory.summary = Some(summary.to_string());
        f
    };
    a.findings
        .replace(
            ProjectId(1),
            vec![
                with("low-pkg", "PYSEC-2021-1", Level::Low, "minor"),
                with("bad-pkg", "GHSA-aaaa-bbbb-cccc", Level::Medium, "one"),
                with(
                    "bad-pkg",
                    "RUSTSEC-2099-0001",
                    Level::Critical,
                    "uses `unsafe` badly",
                ),
            ],
            1,
        )
        .unwrap();
    let (status, page) = get(&http, &format!("{base}/projects/1"), &cookie).await;
    assert_eq!(status, 200);
    // One row per package and version, its advisories inside, the worst package first.
    assert_eq!(page.matches("bad-pkg 1.0.0").count(), 1, "{page}");
    assert!(page.contains("Vulnerable packages (2)"), "{page}");
    assert!(page.find("bad-pkg").unwrap() < page.find("low-pkg").unwrap());
    for link in [
        "href=\"https://rustsec.org/advisories/RUSTSEC-2099-0001.html\"",
        "href=\"https://github.com/advisories/GHSA-aaaa-bbbb-cccc\"",
        "href=\"https://osv.dev/vulnerability/PYSEC-2021-1\"",
    ] {
        assert!(page.contains(link), "{link} missing:\n{page}");
    }
    assert!(page.contains("uses <code>unsafe</code> badly"), "{page}");
    assert!(!page.contains('`'), "literal backticks:\n{page}");
    // The overview counts the same packages the project page lists.
    let (_, page) = get(&http, &format!("{base}/"), &cookie).await;
    assert!(page.contains("acme/app"), "{page}");
    assert!(!page.contains("GitLab is not configured"));
    app.shutdown().await;
}

#[tokio::test]
async fn dashboard_login_pages_escaping_search_and_retry() {
    let healthy = Arc::new(AtomicBool::new(false));
    let h = healthy.clone();
    let handler = ScriptedHandler::new(move |_, _| {
        if h.load(Ordering::SeqCst) {
            Ok("ok".to_string())
        } else {
            Err(HandlerError::Permanent("cannot <handle> this".into()))
        }
    });
    let app = spawn(Options {
        handler,
        ..Default::default()
    })
    .await;
    let a = &app.app;
    a.catalog
        .upsert(&project(1, "acme/open", Visibility::Public))
        .unwrap();
    a.catalog
        .upsert(&project(2, "acme/secret", Visibility::Private))
        .unwrap();
    a.catalog
        .upsert(&project(3, "tools/quiet", Visibility::Public))
        .unwrap();
    a.findings
        .replace(ProjectId(1), vec![finding("a", Level::High)], 1)
        .unwrap();
    a.findings
        .replace(ProjectId(2), vec![finding("b", Level::Critical)], 1)
        .unwrap();
    // A git dependency with a hostile name, as a parsed manifest would store it.
    a.inventory
        .put(
            ProjectId(2),
            &backline::inventory::table::StoredManifest {
                path: "Cargo.lock".into(),
                inputs: vec![],
                dependencies: vec![backline::deps::Dependency::new(
                    backline::ecosystem::Ecosystem::CratesIo,
                    "<b>gitdep</b>",
                    Some("1.0.0".into()),
                    true,
                )
                .with_source(backline::deps::Source::Git)],
                error: None,
                parsed_at_ms: 1,
            },
        )
        .unwrap();
    let http = client();
    let base = &app.base;

    // Not logged in: to the login page; a wrong token: 401 and the form again.
    let r = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");
    let (status, form) = get(&http, &format!("{base}/login"), "").await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"token\"") && form.contains("name=\"viewport\""));
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("set-cookie").is_none());

    // The session cookie: HttpOnly, SameSite=Strict, not Secure over plain HTTP, no token.
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("backline_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("Secure") && !set.contains(ADMIN_TOKEN),
        "{set}"
    );
    let cookie = log_in(&app, &http).await;
    // A forged cookie is refused.
    let (status, _) = get(&http, &format!("{base}/"), "backline_session=1.abc").await;
    assert_eq!(status, 303);

    // Overview: figures and charts.
    let (status, page) = get(&http, &format!("{base}/"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1>Overview</h1>"));
    assert!(page.contains("<svg viewBox"), "charts");
    assert!(
        page.contains("<b class=\"\">2</b>with open vulnerabilities"),
        "{page}"
    );
    assert!(!page.contains(ADMIN_TOKEN));
    let csrf = csrf_of(&page);

    // Projects: search and sort.
    let (_, page) = get(&http, &format!("{base}/projects?q=ACME&sort=risk"), &cookie).await;
    assert!(page.contains("2 projects"), "{page}");
    let secret_at = page.find("acme/secret").unwrap();
    let open_at = page.find("acme/open").unwrap();
    assert!(secret_at < open_at, "critical first");
    assert!(!page.contains("tools/quiet"));
    let (_, page) = get(&http, &format!("{base}/projects?q=%3Cx%3E"), &cookie).await;
    assert!(page.contains("value=\"&lt;x&gt;\""), "the query is escaped");
    assert!(page.contains("0 projects"));

    // One project: escaped advisory text, badge snippet with its key.
    let (status, page) = get(&http, &format!("{base}/projects/2"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("&lt;script&gt;alert(&#39;b&#39;)&lt;/script&gt;"));
    assert!(!page.contains("<script>"));
    assert!(page.contains("/badge/2.svg?key="), "{page}");
    // What was not checked is on the project page too, escaped.
    assert!(page.contains("<h2>Not checked (1)</h2>"), "{page}");
    assert!(
        page.contains("<td>&lt;b&gt;gitdep&lt;/b&gt;</td><td>1.0.0</td><td>git source</td>"),
        "{page}"
    );
    let (status, _) = get(&http, &format!("{base}/projects/acme%2Fopen"), &cookie).await;
    assert_eq!(status, 200);
    let (status, _) = get(&http, &format!("{base}/projects/999"), &cookie).await;
    assert_eq!(status, 404);
    let (status, page) = get(&http, &format!("{base}/approvals"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("Nothing waits for approval."));

    // A dead letter, retried from the page; forms without the CSRF token are refused.
    let (_, body) = app
        .deliver_with_token("Push Hook", &push_body(8, "doomed"))
        .await;
    let seq = body["delivery"].as_u64().unwrap();
    app.drain().await;
    let (_, page) = get(&http, &format!("{base}/deliveries"), &cookie).await;
    assert!(page.contains("Dead letters (1)"), "{page}");
    assert!(page.contains("cannot &lt;handle&gt; this"));
    assert!(page.contains(&format!("action=\"/deliveries/{seq}/retry\"")));
    let retry = format!("{base}/deliveries/{seq}/retry");
    let r = http
        .post(&retry)
        .header("cookie", &cookie)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = http
        .post(&retry)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "no session: to the login page");
    healthy.store(true, Ordering::SeqCst);
    let r = http
        .post(&retry)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/deliveries?retried={seq}").as_str()
    );
    app.drain().await;
    let (_, d) = app.api(&format!("/api/v1/deliveries/{seq}")).await;
    assert_eq!(d["state"], "done");
    let (_, page) = get(&http, &format!("{base}/deliveries?retried={seq}"), &cookie).await;
    assert!(page.contains("Dead letters (0)") && page.contains("is queued again"));

    // The summary API.
    let (status, summary) = app.api("/api/v1/summary").await;
    assert_eq!(status, 200);
    assert_eq!(summary["projects"], 3);
    assert_eq!(summary["projects_with_open_vulnerabilities"], 2);
    assert_eq!(summary["open_findings"]["critical"], 1);
    assert_eq!(summary["fixes_per_week"].as_array().unwrap().len(), 8);
    assert_eq!(
        app.http
            .get(format!("{base}/api/v1/summary"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );

    // Log out: the cookie is cleared.
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    app.shutdown().await;
}
