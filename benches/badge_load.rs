//! Load test of `GET /badge/{project}.svg` over N keep-alive connections against the real app
//! (in process, its own actix workers, sled store on disk) with 1,000 catalogued projects (a
//! third of them private, asked for with their key), next to a no-op actix handler for a
//! ratio; then the overview page's cost with 10,000 projects: reading the figures from the
//! store (`tracking::load`) and rendering (`pages::overview`), and the whole `GET /`.
//!
//! Run: `cargo bench --bench badge_load -- --connections 64 --seconds 10`

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse, HttpServer};
use backline::advisories::cvss::Level;
use backline::advisories::AdvisoryKind;
use backline::app::App;
use backline::catalog::{CatalogProject, HookState};
use backline::config::Settings;
use backline::ecosystem::Ecosystem;
use backline::findings::{AdvisoryRef, Finding};
use backline::gitlab::hooks::common::Visibility;
use backline::gitlab::ProjectId;
use backline::handlers::RecordingHandler;
use backline::remediation::model::{Remediation, State, Transition};
use backline::secret::Secret;

#[path = "support/load.rs"]
mod support;
use support::{load, report};

const ADMIN: &str = "bench-admin";
const DAY: i64 = 86_400_000;

struct Args {
    connections: usize,
    seconds: u64,
    projects: u64,
    overview_projects: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        connections: 64,
        seconds: 10,
        projects: 1_000,
        overview_projects: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--connections" => args.connections = value().expect("--connections N") as usize,
            "--seconds" => args.seconds = value().expect("--seconds N"),
            "--projects" => args.projects = value().expect("--projects N"),
            "--overview-projects" => {
                args.overview_projects = value().expect("--overview-projects N")
            }
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn project(id: u64) -> CatalogProject {
    CatalogProject {
        id: ProjectId(id),
        path_with_namespace: format!("group{}/project-{id}", id % 50),
        name: format!("project-{id}"),
        default_branch: Some("main".into()),
        visibility: Some(if id % 3 == 0 {
            Visibility::Private
        } else {
            Visibility::Public
        }),
        web_url: Some(format!(
            "https://gitlab.example/group{}/project-{id}",
            id % 50
        )),
        last_activity_at: None,
        added_at_ms: 1,
        updated_at_ms: 1,
        hook: HookState::Unchecked,
        badge: HookState::Unchecked,
    }
}

fn finding(package: &str, severity: Level) -> Finding {
    Finding {
        path: "Cargo.lock".into(),
        ecosystem: Ecosystem::CratesIo,
        package: package.into(),
        version: "1.0.0".into(),
        direct: true,
        fix_version: Some("1.0.1".into()),
        fixes_all: Some("1.0.1".into()),
        advisory: AdvisoryRef {
            id: format!("RUSTSEC-2024-{package}"),
            aliases: vec!["CVE-2024-0001".into()],
            summary: Some("a vulnerability summary of a typical length, one line".into()),
            severity,
            cvss: None,
            cvss_score: None,
            kind: AdvisoryKind::Vulnerability,
            severity_source: backline::advisories::severity::SeveritySource::CvssV3,
            fixed_in: None,
        },
    }
}

/// Catalogues `n` projects; every other one has 1–3 vulnerable packages; every fifth a
/// remediation with a short history.
fn populate(app: &App, n: u64, now: i64) {
    let rems = backline::remediation::table::Remediations::open(&app.store).unwrap();
    let levels = [Level::Critical, Level::High, Level::Medium, Level::Low];
    for id in 1..=n {
        app.catalog.upsert(&project(id)).unwrap();
        if id % 2 == 0 {
            let k = (id % 3 + 1) as usize;
            let fs = (0..k)
                .map(|i| finding(&format!("pkg{i}"), levels[(id as usize + i) % 4]))
                .collect();
            app.findings
                .replace(ProjectId(id), fs, now - 10 * DAY)
                .unwrap();
        }
        if id % 5 == 0 {
            let detected = now - (id as i64 % 60) * DAY;
            let mut r = Remediation {
                id,
                project: ProjectId(id),
                manifest: "Cargo.lock".into(),
                ecosystem: Ecosystem::CratesIo,
                package: "pkg0".into(),
                direct: true,
                from_version: "1.0.0".into(),
                target_version: Some("1.0.1".into()),
                advisories: Vec::new(),
                severity: levels[id as usize % 4],
                state: State::Planned,
                approved_by: None,
                reason: None,
                branch: "backline/crates.io/pkg0-1.0.1".into(),
                bot_wrote_branch: false,
                mr_iid: None,
                mr_url: None,
                edited_by_person: false,
                ignored_versions: Vec::new(),
                ignored_advisories: Vec::new(),
                detected_at_ms: detected,
                updated_at_ms: detected,
                history: vec![Transition {
                    at_ms: detected,
                    from: None,
                    to: State::Planned,
                    by: "backline".into(),
                    why: "detected".into(),
                }],
                copies: Vec::new(),
                route: None,
            };
            if id % 10 == 0 {
                r.transition(State::MrOpen, "backline", "opened", detected + DAY);
                if id % 20 == 0 {
                    r.transition(State::Fixed, "backline", "fixed", detected + 3 * DAY);
                }
            }
            rems.put(&r).unwrap();
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let now = backline::clock::now_ms();
        println!(
            "{} connections, {} s each, {} projects, {} cores",
            args.connections,
            args.seconds,
            args.projects,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        // The no-op baseline: a fixed small SVG.
        let noop_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let noop_addr = noop_listener.local_addr().unwrap().to_string();
        let noop = HttpServer::new(|| {
            actix_web::App::new().route(
                "/badge/{tail:.+}",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("image/svg+xml")
                        .body("<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
                }),
            )
        })
        .disable_signals()
        .listen(noop_listener)
        .unwrap()
        .run();
        let noop_handle = noop.handle();
        tokio::spawn(noop);

        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::with_data_dir(dir.path().join("data"));
        settings.admin_token = Some(Secret::new(ADMIN));
        settings.workers = 0;
        let app = App::build(settings, Arc::new(RecordingHandler)).unwrap();
        populate(&app, args.projects, now);
        let secret = backline::http::badge::badge_secret(&app.settings).unwrap();
        let paths: Vec<String> = (1..=args.projects)
            .map(|id| {
                if id % 3 == 0 {
                    format!(
                        "/badge/{id}.svg?key={}",
                        backline::http::badge::badge_key(&secret, id)
                    )
                } else {
                    format!("/badge/{id}.svg")
                }
            })
            .collect();
        let paths = Arc::new(paths);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = app.server(listener).unwrap();
        let handle = server.handle();
        tokio::spawn(server);

        println!("| target | 200 | other | rate | p50 | p99 | max |");
        println!("|---|---|---|---|---|---|---|");
        let get = |paths: Arc<Vec<String>>| {
            move |c: usize, n: u64| {
                let path = &paths[(c * 7919 + n as usize) % paths.len()];
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
            }
        };
        let base = load(noop_addr, args.connections, args.seconds, 200, get(paths.clone())).await;
        let base_rate = report("no-op actix handler (static SVG)", &base);
        let real = load(addr.clone(), args.connections, args.seconds, 200, get(paths.clone())).await;
        let real_rate = report("backline GET /badge/{id}.svg (store read, figures, SVG, ETag)", &real);
        println!("ratio backline / no-op: {:.2}", real_rate / base_rate);
        handle.stop(true).await;
        noop_handle.stop(true).await;
        drop(app);

        // The overview with many projects.
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::with_data_dir(dir.path().join("data"));
        settings.admin_token = Some(Secret::new(ADMIN));
        settings.workers = 0;
        let app = App::build(settings, Arc::new(RecordingHandler)).unwrap();
        populate(&app, args.overview_projects, now);
        let rems = backline::remediation::table::Remediations::open(&app.store).unwrap();
        let policy = app.settings.sla;
        let (mut loads, mut renders) = (Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let snap = backline::tracking::load(&app.catalog, &app.findings, Some(&rems), &policy, now)
                .unwrap();
            loads.push(t.elapsed());
            let t = Instant::now();
            let html = backline::http::dashboard::pages::overview(
                &snap,
                backline::http::dashboard::pages::GitLabLink::Configured,
                "csrf",
            );
            renders.push(t.elapsed());
            size = std::hint::black_box(html).len();
        }
        loads.sort();
        renders.sort();
        println!(
            "overview, {} projects ({} remediations): read figures p50 {:.1} ms / max {:.1} ms; render p50 {:.2} ms / max {:.2} ms; page {} KB",
            args.overview_projects,
            rems.page(0, 0).unwrap().0,
            ms(loads[loads.len() / 2]),
            ms(*loads.last().unwrap()),
            ms(renders[renders.len() / 2]),
            ms(*renders.last().unwrap()),
            size / 1024
        );
        // The whole GET / over HTTP (session cookie from the login form).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = app.server(listener).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = http
            .post(format!("http://{addr}/login"))
            .form(&[("token", ADMIN)])
            .send()
            .await
            .unwrap();
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut whole = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let r = http
                .get(format!("http://{addr}/"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            std::hint::black_box(r.bytes().await.unwrap());
            whole.push(t.elapsed());
        }
        whole.sort();
        println!(
            "GET / over HTTP, {} projects: p50 {:.1} ms, max {:.1} ms",
            args.overview_projects,
            ms(whole[whole.len() / 2]),
            ms(*whole.last().unwrap())
        );
        handle.stop(true).await;
    });
}
