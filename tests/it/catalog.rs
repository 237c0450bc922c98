//! The catalog end to end: the real app, its workers and store, against gitlab-sim: sync
//! discovers and forgets projects; system hooks built by the simulator from its own state,
//! signed, move the catalog (create, rename, transfer, destroy, the bot added and removed).

use backline::catalog::service::Quiet;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, HookTarget, ProjectSpec, SimConfig};

use crate::harness::{spawn, Options, TestApp, SECRET, SIGNING_TOKEN};

async fn bot_app(
    sim: &GitLabSim,
    tweak: impl FnOnce(&mut backline::config::Settings) + 'static,
) -> TestApp {
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let bot: User = gitlab.current_user().await.unwrap();
    spawn(Options {
        gitlab: Some((gitlab, bot)),
        tweak: Box::new(tweak),
        ..Options::default()
    })
    .await
}

fn new_project(sim: &GitLabSim, ns: &str, name: &str, bot_level: u8) -> u64 {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        let id = w
            .create_project(ProjectSpec::new(ns, name).file("Cargo.lock", "version = 3\n"))
            .unwrap();
        if bot_level > 0 {
            w.add_member(id, bot, bot_level).unwrap();
        }
        id
    })
}

fn catalogued(app: &TestApp) -> Vec<(u64, String)> {
    let (_, items) = app.app.catalog.page(0, 10_000).unwrap();
    items
        .into_iter()
        .map(|p| (p.id.get(), p.path_with_namespace))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_catalogs_what_the_bot_may_work_on_and_forgets_the_rest() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let mut keep = Vec::new();
    for i in 0..12 {
        keep.push(new_project(
            &sim,
            "acme/team",
            &format!("svc{i}"),
            access::DEVELOPER,
        ));
    }
    let maint = new_project(&sim, "acme", "infra", access::MAINTAINER);
    new_project(&sim, "acme", "reporter", access::REPORTER);
    new_project(&sim, "acme", "guest", access::GUEST);
    new_project(&sim, "acme", "stranger", 0);
    let denied = new_project(&sim, "sandbox", "play", access::DEVELOPER);
    let archived = new_project(&sim, "acme", "old", access::DEVELOPER);
    sim.with_world(|w| w.set_archived(archived, true)).unwrap();
    let app = bot_app(&sim, |s| s.namespace_denylist = vec!["sandbox".into()]).await;
    let service = app.app.catalog_service.clone().unwrap();
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!(report.added, 13);
    assert_eq!(report.filtered_out, 1);
    assert_eq!(report.requests, 1, "one page of 100 lists them all");
    let ids: Vec<u64> = catalogued(&app).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 13);
    assert!(ids.contains(&maint) && !ids.contains(&denied) && !ids.contains(&archived));
    // Nothing changed: nothing written.
    let again = service.sync(&Quiet).await.unwrap();
    assert_eq!(
        (again.added, again.updated, again.unchanged, again.removed),
        (0, 0, 13, 0)
    );
    // The bot loses one project, another is archived, a third is renamed.
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.remove_member(keep[0], bot).unwrap();
        w.set_archived(keep[1], true).unwrap();
        w.rename_project(keep[2], "renamed", "renamed").unwrap();
    });
    let third = service.sync(&Quiet).await.unwrap();
    assert_eq!((third.removed, third.updated), (2, 1));
    let now = catalogued(&app);
    assert_eq!(now.len(), 11);
    assert!(now.contains(&(keep[2], "acme/team/renamed".to_string())));
    // The API shows the catalog, paginated.
    let (status, body) = app.api("/api/v1/projects?per_page=5&page=3").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 11);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (status, one) = app.api("/api/v1/projects/acme%2Fteam%2Frenamed").await;
    assert_eq!((status, one["id"].as_u64()), (200, Some(keep[2])));
    let (status, st) = app.api("/api/v1/sync").await;
    assert_eq!(status, 200);
    assert_eq!(st["last"]["removed"], 2);
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    app.shutdown().await;
}

/// Delivers what the simulator queued, checks GitLab got 202s, and waits for the workers.
async fn deliver(sim: &GitLabSim, app: &TestApp) -> Vec<String> {
    let sent = sim.deliver_pending().await;
    for (d, status) in &sent {
        assert!(
            *status == 202 || *status == 200,
            "{status} for {:?}",
            d.header("X-Gitlab-Event")
        );
    }
    app.drain().await;
    sent.iter()
        .map(|(d, _)| {
            let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
            v["event_name"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_hooks_from_the_simulator_move_the_catalog() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let app = bot_app(&sim, |_| {}).await;
    sim.with_world(|w| {
        w.add_system_hook(
            HookTarget::new(app.webhook_url())
                .token(SECRET)
                .signing_token(SIGNING_TOKEN),
        )
    });
    let bot = sim.bot_user();
    // A project is created, then the bot is added to it.
    let id = new_project(&sim, "acme", "web", 0);
    let events = deliver(&sim, &app).await;
    assert_eq!(events, ["project_create"]);
    assert!(catalogued(&app).is_empty(), "the bot is not a member yet");
    sim.with_world(|w| w.add_member(id, bot, access::DEVELOPER))
        .unwrap();
    assert_eq!(deliver(&sim, &app).await, ["user_add_to_team"]);
    assert_eq!(catalogued(&app), vec![(id, "acme/web".to_string())]);
    // Renamed, then transferred.
    sim.with_world(|w| w.rename_project(id, "Website", "website"))
        .unwrap();
    assert!(deliver(&sim, &app)
        .await
        .contains(&"project_rename".to_string()));
    assert_eq!(catalogued(&app), vec![(id, "acme/website".to_string())]);
    sim.with_world(|w| w.transfer_project(id, "platform/frontend"))
        .unwrap();
    assert!(deliver(&sim, &app)
        .await
        .contains(&"project_transfer".to_string()));
    assert_eq!(
        catalogued(&app),
        vec![(id, "platform/frontend/website".to_string())]
    );
    // Someone else joining costs no GitLab call.
    let other = sim.with_world(|w| w.create_user("alice", "Alice"));
    sim.reset_requests();
    sim.with_world(|w| w.add_member(id, other, access::DEVELOPER))
        .unwrap();
    assert_eq!(deliver(&sim, &app).await, ["user_add_to_team"]);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // The bot is removed: forgotten.
    sim.with_world(|w| w.remove_member(id, bot)).unwrap();
    assert_eq!(deliver(&sim, &app).await, ["user_remove_from_team"]);
    assert!(catalogued(&app).is_empty());
    // Back, then the project is destroyed.
    sim.with_world(|w| w.add_member(id, bot, access::MAINTAINER))
        .unwrap();
    deliver(&sim, &app).await;
    assert_eq!(catalogued(&app).len(), 1);
    sim.with_world(|w| w.destroy_project(id)).unwrap();
    assert_eq!(deliver(&sim, &app).await, ["project_destroy"]);
    assert!(catalogued(&app).is_empty());
    // Every delivery was handled, none failed.
    let (_, dead) = app.api("/api/v1/dead-letters").await;
    assert_eq!(dead["total"], 0);
    let (_, done) = app.api("/api/v1/deliveries?state=done&per_page=100").await;
    assert!(done["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["outcome"]
            .as_str()
            .unwrap()
            .starts_with("catalog: removed acme/")
            || d["outcome"]
                .as_str()
                .unwrap()
                .starts_with("catalog: removed platform/")));
    assert!(sim.unmodeled().is_empty(), "{:?}", sim.unmodeled());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_hooks_are_installed_once_and_a_developer_is_told_it_needs_maintainer() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let dev = new_project(&sim, "acme", "dev-only", access::DEVELOPER);
    let maint = new_project(&sim, "acme", "maintained", access::MAINTAINER);
    let app = bot_app(&sim, |s| {
        s.manage_hooks = true;
        s.public_url = Some("https://backline.example".into());
    })
    .await;
    let service = app.app.catalog_service.clone().unwrap();
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!((report.hooks_checked, report.hooks_need_maintainer), (2, 1));
    let hooks = sim.with_world(|w| w.project(maint).unwrap().hooks.clone());
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].target.url,
        "https://backline.example/webhooks/gitlab"
    );
    assert_eq!(hooks[0].target.token.as_deref(), Some(SECRET));
    assert!(hooks[0].push_events && hooks[0].merge_requests_events && hooks[0].note_events);
    assert!(
        hooks[0].confidential_note_events,
        "internal notes reach the managed hook"
    );
    let (_, p) = app.api(&format!("/api/v1/projects/{dev}")).await;
    assert!(
        p["hook"].as_str().unwrap().contains("needs Maintainer"),
        "{p}"
    );
    // A second sync neither re-creates the hook nor retries the 403.
    sim.reset_requests();
    let again = service.sync(&Quiet).await.unwrap();
    assert_eq!(again.hooks_checked, 0);
    assert_eq!(again.badges_checked, 0);
    assert_eq!(sim.count("GET", "/projects/:id/badges"), 0);
    assert_eq!(sim.count("POST", "/projects/:id/hooks"), 0);
    assert_eq!(sim.with_world(|w| w.project(maint).unwrap().hooks.len()), 1);
    app.shutdown().await;
}
