//! The GitLab client against gitlab-sim over loopback: every operation's happy path, every
//! error kind, pagination, retries (bounded, honouring Retry-After, never repeating a POST that
//! may have run), and the token never reaching a log line or an error.

use std::sync::Arc;
use std::time::Duration;

use backline::gitlab::client::ops::MrState;
use backline::gitlab::client::RecordingSleeper;
use backline::gitlab::rest::{CommitAction, MergeRequestUpdate, NewCommit, NewMergeRequest};
use backline::gitlab::{ClientConfig, GitLab, GitLabError, MrIid, ProjectRef, UserId};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, ProjectSpec, SimConfig};

pub fn client_for(sim: &GitLabSim, token: &str) -> (GitLab, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let config = ClientConfig::new(sim.url(), Secret::new(token));
    let gitlab = GitLab::with_sleeper(config, sleeper.clone()).expect("client");
    (gitlab, sleeper)
}

fn project(sim: &GitLabSim, ns: &str, name: &str, level: u8) -> u64 {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new(ns, name)
                    .file("Cargo.lock", "version = 3\n")
                    .file("src/main.rs", "fn main() {}\n"),
            )
            .unwrap();
        if level > 0 {
            w.add_member(id, bot, level).unwrap();
        }
        id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_token_and_version() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let (gl, _) = client_for(&sim, sim.bot_token());
    let me = gl.current_user().await.unwrap();
    assert_eq!(me.id, UserId(sim.bot_user()));
    assert_eq!(me.username, "backline-bot");
    let token = gl.token_info().await.unwrap();
    assert!(token.scopes.iter().any(|s| s == "api"));
    assert_eq!(token.user_id, Some(UserId(sim.bot_user())));
    let version = gl.version().await.unwrap();
    assert_eq!(version.version, gitlab_sim::GITLAB_VERSION);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_projects_follow_keyset_pages_and_skip_what_the_bot_cannot_use() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    for i in 0..230 {
        project(&sim, "acme", &format!("p{i:03}"), access::DEVELOPER);
    }
    project(&sim, "acme", "reporter-only", access::REPORTER);
    project(&sim, "acme", "not-a-member", 0);
    let archived = project(&sim, "acme", "archived", access::MAINTAINER);
    sim.with_world(|w| w.set_archived(archived, true)).unwrap();
    let (gl, _) = client_for(&sim, sim.bot_token());
    let mut pages = gl.member_projects(30).unwrap();
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.len());
        all.extend(page);
    }
    assert_eq!(sizes, vec![100, 100, 30]);
    assert_eq!(sim.count("GET", "/projects"), 3);
    assert!(all
        .iter()
        .all(|p| p.path_with_namespace.starts_with("acme/p")));
    let mut ids: Vec<u64> = all.iter().map(|p| p.id.get()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 230, "no project twice across pages");
    // By id and by URL-encoded path.
    let by_path = gl.project(&ProjectRef::from("acme/p007")).await.unwrap();
    let by_id = gl.project(&ProjectRef::Id(by_path.id)).await.unwrap();
    assert_eq!(by_id.path_with_namespace, "acme/p007");
    assert_eq!(by_id.default_branch.as_deref(), Some("main"));
    assert!(by_id.permissions.unwrap().level().unwrap() >= 30);
    assert!(sim.unmodeled().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_files_branches_commits_and_their_errors() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let id = project(&sim, "acme", "repo", access::DEVELOPER);
    let bot = sim.bot_user();
    // 150 more files so that the tree spans two pages.
    let files = (0..150)
        .map(|i| (format!("docs/f{i}.md"), Some(format!("{i}").into())))
        .collect();
    sim.with_world(|w| w.commit_files(id, bot, "main", "docs", files))
        .unwrap();
    let (gl, _) = client_for(&sim, sim.bot_token());
    let p = ProjectRef::from("acme/repo");
    let tree = gl.tree(&p, "main").await.unwrap();
    let blobs: Vec<_> = tree.iter().filter(|e| e.kind == "blob").collect();
    assert_eq!(blobs.len(), 152);
    assert!(sim.count("GET", "/projects/:id/repository/tree") >= 2);
    let lock = blobs.iter().find(|e| e.path == "Cargo.lock").unwrap();
    let raw = gl.raw_file(&p, "Cargo.lock", "main").await.unwrap();
    assert_eq!(&raw.content[..], b"version = 3\n");
    assert_eq!(raw.blob_id.as_deref(), Some(lock.id.as_str()));
    match gl.raw_file(&p, "nope/Cargo.lock", "main").await {
        Err(GitLabError::NotFound { message, .. }) => assert_eq!(message, "404 File Not Found"),
        other => panic!("{other:?}"),
    }
    // Branches.
    assert!(gl.branch(&p, "backline/x").await.unwrap().is_none());
    let b = gl.create_branch(&p, "backline/x", "main").await.unwrap();
    assert_eq!(b.name, "backline/x");
    match gl.create_branch(&p, "backline/x", "main").await {
        Err(GitLabError::Validation {
            status: 400,
            message,
            ..
        }) => {
            assert_eq!(message, "Branch already exists")
        }
        other => panic!("{other:?}"),
    }
    // Commits with actions, on a new branch from start_branch, then a create that collides.
    let commit = NewCommit {
        branch: "backline/cargo/regex-1.5.5".into(),
        commit_message: "Bump regex".into(),
        start_branch: Some("main".into()),
        start_sha: None,
        actions: vec![CommitAction::update("Cargo.lock", "version = 4\n")],
        author_email: None,
        author_name: None,
        force: false,
    };
    let c = gl.create_commit(&p, &commit).await.unwrap();
    assert_eq!(c.id.len(), 40);
    let raw = gl
        .raw_file(&p, "Cargo.lock", "backline/cargo/regex-1.5.5")
        .await
        .unwrap();
    assert_eq!(&raw.content[..], b"version = 4\n");
    // Committing again with start_branch to a branch that exists is refused, as GitLab does.
    match gl.create_commit(&p, &commit).await {
        Err(GitLabError::Validation { message, .. }) => {
            assert!(message.contains("already exists"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let collide = NewCommit {
        start_branch: None,
        actions: vec![CommitAction::create("Cargo.lock", "x")],
        ..commit.clone()
    };
    match gl.create_commit(&p, &collide).await {
        Err(GitLabError::Validation { message, .. }) => {
            assert_eq!(message, "A file with this name already exists")
        }
        other => panic!("{other:?}"),
    }
    let cmp = gl
        .compare(&p, "main", "backline/cargo/regex-1.5.5")
        .await
        .unwrap();
    assert_eq!(cmp.diffs.len(), 1);
    assert_eq!(cmp.diffs[0].new_path, "Cargo.lock");
    assert!(gl.delete_branch(&p, "backline/x").await.unwrap());
    assert!(!gl.delete_branch(&p, "backline/x").await.unwrap());
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_requests_notes_emoji_members_statuses() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let id = project(&sim, "acme", "mrs", access::DEVELOPER);
    let (gl, _) = client_for(&sim, sim.bot_token());
    let p = ProjectRef::Id(id.into());
    gl.create_branch(&p, "backline/fix", "main").await.unwrap();
    let new = NewMergeRequest {
        source_branch: "backline/fix".into(),
        target_branch: "main".into(),
        title: "Fix".into(),
        description: Some("why".into()),
        labels: Some("security".into()),
        remove_source_branch: Some(true),
        ..Default::default()
    };
    let mr = gl.create_merge_request(&p, &new).await.unwrap();
    assert_eq!(mr.state, "opened");
    match gl.create_merge_request(&p, &new).await {
        Err(GitLabError::Conflict { message, .. }) => assert!(
            message.starts_with("Another open merge request already exists for this source branch"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    let found = gl
        .merge_requests_from(&p, "backline/fix", MrState::Opened)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let detailed = gl.merge_request(&p, mr.iid).await.unwrap();
    assert_eq!(detailed.rebase_in_progress, Some(false));
    assert!(detailed.diverged_commits_count.is_some());
    // Close, delete the source branch, reopen: GitLab refuses with 422.
    let closed = gl
        .update_merge_request(
            &p,
            mr.iid,
            &MergeRequestUpdate {
                state_event: Some("close".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, "closed");
    gl.delete_branch(&p, "backline/fix").await.unwrap();
    let refused = gl
        .update_merge_request(
            &p,
            mr.iid,
            &MergeRequestUpdate {
                state_event: Some("reopen".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, GitLabError::Validation { status: 422, .. }),
        "{refused:?}"
    );
    // Notes and emoji.
    let note = gl
        .create_merge_request_note(&p, mr.iid, "hello")
        .await
        .unwrap();
    gl.update_merge_request_note(&p, mr.iid, note.id, "hello again")
        .await
        .unwrap();
    let notes = gl.merge_request_notes(&p, mr.iid).await.unwrap();
    assert!(notes.iter().any(|n| n.body == "hello again"));
    gl.award_note_emoji(&p, mr.iid, note.id, "eyes")
        .await
        .unwrap();
    let emoji = gl.note_award_emoji(&p, mr.iid, note.id).await.unwrap();
    assert_eq!(emoji[0].name, "eyes");
    gl.award_merge_request_emoji(&p, mr.iid, "thumbsup")
        .await
        .unwrap();
    // Members.
    let me = gl
        .member(&p, UserId(sim.bot_user()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.access_level, 30);
    assert!(gl.member(&p, UserId(999_999)).await.unwrap().is_none());
    assert!(matches!(
        gl.merge_request(&p, MrIid(999)).await,
        Err(GitLabError::NotFound { .. })
    ));
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_role_errors_are_told_apart() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let id = project(&sim, "acme", "app", access::REPORTER);
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.create_token(bot, "expired-token", &["api"], Some("2020-01-01"));
        w.create_token(bot, "read-only-token", &["read_api"], None);
    });
    let (expired, _) = client_for(&sim, "expired-token");
    match expired.current_user().await {
        Err(GitLabError::Unauthorized { message, .. }) => {
            assert!(message.contains("expired"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let (unknown, _) = client_for(&sim, "no-such-token");
    assert!(matches!(
        unknown.current_user().await,
        Err(GitLabError::Unauthorized { .. })
    ));
    let p = ProjectRef::Id(id.into());
    let (read_only, _) = client_for(&sim, "read-only-token");
    match read_only.create_branch(&p, "x", "main").await {
        Err(GitLabError::InsufficientScope { needed, .. }) => assert!(needed.contains("api")),
        other => panic!("{other:?}"),
    }
    let (gl, _) = client_for(&sim, sim.bot_token());
    // Reporter: may read, may not push.
    assert!(gl.project(&p).await.is_ok());
    assert!(matches!(
        gl.create_branch(&p, "x", "main").await,
        Err(GitLabError::Forbidden { .. })
    ));
    // Hooks need Maintainer.
    assert!(matches!(
        gl.project_hooks(&p).await,
        Err(GitLabError::Forbidden { .. })
    ));
    // A project the bot cannot see.
    let hidden = project(&sim, "other", "secret", 0);
    assert!(matches!(
        gl.project(&ProjectRef::Id(hidden.into())).await,
        Err(GitLabError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_as_gitlab_asks() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    sim.faults()
        .fail_next_retry_after("GET", "/user", 2, 429, 7);
    let (gl, sleeper) = client_for(&sim, sim.bot_token());
    let me = gl.current_user().await.unwrap();
    assert_eq!(me.username, "backline-bot");
    assert_eq!(sim.count("GET", "/user"), 3);
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(7); 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_posts_are_not_repeated_blindly() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let id = project(&sim, "acme", "app", access::DEVELOPER);
    let (gl, sleeper) = client_for(&sim, sim.bot_token());
    // A GET failing with 500 for longer than the attempts: five tries, then the error.
    sim.faults().fail_next("GET", "/version", 50, 500);
    match gl.version().await {
        Err(e @ GitLabError::Server { status: 500, .. }) => assert!(e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.count("GET", "/version"), 5);
    assert_eq!(sleeper.waits().len(), 4);
    sim.faults().clear();
    // A POST that got a 500 may have run: not repeated.
    let p = ProjectRef::Id(id.into());
    sim.faults()
        .fail_next("POST", "/projects/:id/repository/branches", 1, 500);
    assert!(matches!(
        gl.create_branch(&p, "b1", "main").await,
        Err(GitLabError::Server { .. })
    ));
    assert_eq!(sim.count("POST", "/projects/:id/repository/branches"), 1);
    // A POST that got a 503 did not run: repeated, and it succeeds.
    sim.faults()
        .fail_next("POST", "/projects/:id/repository/branches", 1, 503);
    gl.create_branch(&p, "b2", "main").await.unwrap();
    assert_eq!(sim.count("POST", "/projects/:id/repository/branches"), 3);
    // A dropped connection on a GET: retried.
    sim.faults().drop_connection_next("GET", "/projects/:id", 1);
    gl.project(&p).await.unwrap();
    assert_eq!(sim.count("GET", "/projects/:id"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_transport_errors() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    sim.faults()
        .add_latency("GET", "/version", Duration::from_millis(400));
    let mut config = ClientConfig::new(sim.url(), Secret::new(sim.bot_token()));
    config.timeout = Duration::from_millis(50);
    config.retry.max_attempts = 2;
    let gl = GitLab::with_sleeper(config, Arc::new(RecordingSleeper::default())).unwrap();
    match gl.version().await {
        Err(GitLabError::Transport { timeout, .. }) => assert!(timeout),
        other => panic!("{other:?}"),
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_never_reaches_a_log_line_or_an_error() {
    const TOKEN: &str = "glpat-VERY-SECRET-0123456789";
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let sim = GitLabSim::start(SimConfig {
        bot_token: TOKEN.into(),
        ..SimConfig::default()
    })
    .unwrap();
    let id = project(&sim, "acme", "app", access::DEVELOPER);
    let (gl, _) = client_for(&sim, TOKEN);
    let (bad, _) = client_for(&sim, "glpat-WRONG-SECRET-987");
    sim.faults().fail_next("GET", "/user", 2, 503);
    sim.faults().fail_next("GET", "/version", 9, 502);
    let mut errors = Vec::new();
    gl.current_user().await.unwrap();
    errors.push(gl.version().await.unwrap_err());
    errors.push(bad.current_user().await.unwrap_err());
    errors.push(
        gl.raw_file(&ProjectRef::Id(id.into()), "missing", "main")
            .await
            .unwrap_err(),
    );
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("GitLab call failed; trying again"), "{logs}");
    for e in &errors {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
    assert!(!logs.contains("SECRET"), "a token leaked into the logs");
    assert!(!format!("{gl:?}").contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_another_origin_is_refused() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new().route(
            "/api/v4/projects",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .insert_header((
                        "Link",
                        r#"<http://127.0.0.2:9/elsewhere/projects?id_after=1>; rel="next""#,
                    ))
                    .content_type("application/json")
                    .body(r#"[{"id":1,"path_with_namespace":"a/b"}]"#)
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
    let gl = GitLab::new(ClientConfig::new(base, Secret::new("t"))).unwrap();
    let mut pages = gl.member_projects(30).unwrap();
    match pages.next_page().await {
        Err(GitLabError::ForeignLink { origin, .. }) => assert_eq!(origin, "http://127.0.0.2:9"),
        other => panic!("{other:?}"),
    }
    handle.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_cap_holds_under_a_burst() {
    let sim = GitLabSim::start(SimConfig {
        workers: 2,
        ..SimConfig::default()
    })
    .unwrap();
    // Slow answers, so that requests pile up if the client lets them.
    sim.faults()
        .add_latency("GET", "/version", Duration::from_millis(30));
    let mut config = ClientConfig::new(sim.url(), Secret::new(sim.bot_token()));
    config.max_concurrent = 3;
    let gl = GitLab::new(config).unwrap();
    sim.reset_requests();
    let burst: Vec<_> = (0..24).map(|_| gl.version()).collect();
    for r in futures::future::join_all(burst).await {
        r.unwrap();
    }
    assert_eq!(sim.count("GET", "/version"), 24);
    let max = sim.max_in_flight();
    assert!((1..=3).contains(&max), "{max} requests in flight at once");
}
