//! `backline doctor` as an admin runs it: the real binary against gitlab-sim, with a good
//! token, a wrong one, an unreachable GitLab and a bad configuration.

use std::process::Stdio;

use gitlab_sim::{GitLabSim, SimConfig};

use crate::binary::command;

const TOKEN: &str = "glpat-doctor-SECRET";

async fn doctor(
    sim_url: &str,
    data: &std::path::Path,
    token: Option<&str>,
) -> (i32, String, String) {
    run(
        &["doctor", "--data-dir", data.to_str().unwrap()],
        sim_url,
        token,
    )
    .await
}

async fn run(args: &[&str], sim_url: &str, token: Option<&str>) -> (i32, String, String) {
    let mut cmd = command(args);
    cmd.env("BACKLINE_GITLAB_URL", sim_url)
        .env(
            "BACKLINE_CRATES_INDEX_URL",
            format!("{sim_url}/registry/crates"),
        )
        .env(
            "BACKLINE_NPM_REGISTRY_URL",
            format!("{sim_url}/registry/npm"),
        )
        .env("BACKLINE_PYPI_URL", format!("{sim_url}/registry/pypi"))
        .env(
            "BACKLINE_ADVISORIES",
            crate::harness::test_data("rustsec-advisory-db"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match token {
        Some(t) => cmd.env("BACKLINE_GITLAB_TOKEN", t),
        None => cmd.env_remove("BACKLINE_GITLAB_TOKEN"),
    };
    let out = cmd.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_sound_deployment_and_names_what_is_wrong() {
    let sim = GitLabSim::start(SimConfig {
        bot_token: TOKEN.into(),
        ..SimConfig::default()
    })
    .unwrap();
    sim.with_world(|w| gitlab_sim::generate(w, 8, 3));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // Before anything is catalogued: the role check is skipped, the rest passes.
    let (code, stdout, stderr) = doctor(sim.url(), &data, Some(TOKEN)).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ data dir"), "{stdout}");
    assert!(stdout.contains("✓ GitLab "), "{stdout}");
    assert!(stdout.contains("✓ token"), "{stdout}");
    assert!(stdout.contains("- bot role"), "{stdout}");
    assert!(stdout.contains("- OSV source"), "{stdout}");
    assert!(stdout.contains("✓ crates.io index"), "{stdout}");
    assert!(stdout.contains("serve imports"), "{stdout}");
    assert!(!stdout.contains("SECRET") && !stderr.contains("SECRET"));

    // After a sync the bot's role is checked on catalogued projects.
    let (code, _, stderr) = run(
        &["sync", "--data-dir", data.to_str().unwrap()],
        sim.url(),
        Some(TOKEN),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = doctor(sim.url(), &data, Some(TOKEN)).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("✓ bot role"), "{stdout}");
    assert!(stdout.contains("sampled projects"), "{stdout}");

    // A wrong token is a failure, never a pass.
    let (code, stdout, _) = doctor(sim.url(), &data, Some("glpat-wrong-SECRET")).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("✗ token"), "{stdout}");
    assert!(stdout.contains("GitLab refused the token"), "{stdout}");
    assert!(!stdout.contains("SECRET"));

    // GitLab not reachable: a failure naming the host, and the token check skipped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, stdout, _) = doctor(&format!("http://127.0.0.1:{port}"), &data, Some(TOKEN)).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("✗ GitLab"), "{stdout}");
    assert!(
        stdout.contains("127.0.0.1 could not be reached"),
        "{stdout}"
    );
    assert!(stdout.contains("- token"), "{stdout}");

    // Bad configuration: exit 2 before any check.
    let (code, stdout, stderr) = doctor(sim.url(), &data, None).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("bad configuration"), "{stderr}");
    assert!(stderr.contains("BACKLINE_GITLAB_TOKEN"), "{stderr}");
}

/// The example config in `deploy/` loads, and `doctor` with it reports only what it cannot
/// reach from here (the secrets come from the environment, as the unit gives them; every
/// address is pointed at a closed loopback port so that nothing leaves the machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_config_reports_only_what_it_cannot_reach() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/backline.toml");
    let out = command(&["doctor", "--config", config.to_str().unwrap()])
        .env("BACKLINE_DATA_DIR", dir.path().join("data"))
        .env("BACKLINE_GITLAB_URL", &nowhere)
        .env("BACKLINE_GITLAB_TOKEN", "glpat-deploy-SECRET")
        .env("BACKLINE_CRATES_INDEX_URL", format!("{nowhere}/crates"))
        .env("BACKLINE_NPM_REGISTRY_URL", format!("{nowhere}/npm"))
        .env("BACKLINE_PYPI_URL", format!("{nowhere}/pypi"))
        .env("BACKLINE_OSV_BASE_URL", format!("{nowhere}/osv"))
        .env_remove("BACKLINE_ADVISORIES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ data dir"), "{stdout}");
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with('✗')).collect();
    assert!(!failures.is_empty(), "{stdout}");
    for line in &failures {
        assert!(
            line.contains("could not be reached"),
            "not a reachability failure: {line}\n{stdout}"
        );
    }
    // Advisory sync is on in the example: the OSV source is checked, not skipped.
    assert!(stdout.contains("✗ OSV source"), "{stdout}");
    assert!(!stdout.contains("SECRET") && !stderr.contains("SECRET"));
}

/// Doctor asks GitLab for one sampled managed hook's test delivery: a receiver that accepts it
/// passes, one that refuses it fails with GitLab's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_that_gitlab_reaches_the_webhook_url() {
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
    use std::sync::Arc;

    let sim = GitLabSim::start(SimConfig {
        bot_token: TOKEN.into(),
        ..SimConfig::default()
    })
    .unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(gitlab_sim::ProjectSpec::new("acme", "hooked").file("README.md", "x\n"))
            .unwrap();
        w.add_member(id, bot, gitlab_sim::access::MAINTAINER)
            .unwrap();
        id
    });
    let status = Arc::new(AtomicU16::new(200));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (status.clone(), hits.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let server = actix_web::HttpServer::new(move || {
        let (s, h) = (s.clone(), h.clone());
        actix_web::App::new().default_service(actix_web::web::to(move || {
            let (s, h) = (s.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let code = actix_web::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
                actix_web::HttpResponse::build(code).body("\u{1b}[31mnot today")
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    sim.with_world(|w| {
        w.add_project_hook(
            pid,
            gitlab_sim::HookTarget::new(format!("{public}/webhooks/gitlab/projects/{pid}")),
        )
        .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let (code, _, stderr) = run(&["sync", "--data-dir", d], sim.url(), Some(TOKEN)).await;
    assert_eq!(code, 0, "{stderr}");
    let args = [
        "doctor",
        "--data-dir",
        d,
        "--manage-hooks",
        "--public-url",
        public.as_str(),
        "--webhook-secret",
        "s3cret",
    ];
    let (code, stdout, stderr) = run(&args, sim.url(), Some(TOKEN)).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("✓ webhook reachable from GitLab"),
        "{stdout}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one test delivery");

    status.store(503, Ordering::SeqCst);
    let (code, stdout, _) = run(&args, sim.url(), Some(TOKEN)).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ webhook reachable from GitLab"),
        "{stdout}"
    );
    assert!(stdout.contains("not today"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "no escape sequences reach the terminal"
    );
    assert_eq!(
        sim.count("POST", "/projects/:id/hooks/:hook_id/test/:trigger"),
        2
    );
}
