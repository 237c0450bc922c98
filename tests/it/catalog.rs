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
    // Issue 12 item 13: the project's own URL and secret, not the shared ones.
    assert_eq!(
        hooks[0].target.url,
        format!("https://backline.example/webhooks/gitlab/projects/{maint}")
    );
    let derived = backline::hook_secret::project_hook_secret(
        &Secret::new(SECRET),
        backline::gitlab::ProjectId(maint),
    );
    assert_eq!(hooks[0].target.token.as_deref(), Some(derived.expose()));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_on_gitlabs_external_url_still_catalog_every_project() {
    // GitLab names its external URL in `Link`, not the address the bot calls (an internal
    // service name, an IP, another port): the bot follows the path on its own origin.
    let sim = GitLabSim::start(SimConfig {
        external_url: Some("https://gitlab.example.com".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..230 {
        ids.push(new_project(
            &sim,
            "acme",
            &format!("svc{i}"),
            access::DEVELOPER,
        ));
    }
    let app = bot_app(&sim, |_| {}).await;
    let service = app.app.catalog_service.clone().unwrap();
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!(report.added, 230);
    assert_eq!(report.requests, 3, "three keyset pages of 100");
    let mut got: Vec<u64> = catalogued(&app).into_iter().map(|(id, _)| id).collect();
    got.sort_unstable();
    assert_eq!(got, ids);
    // The simulator did name the other host in its links.
    let link = reqwest::Client::new()
        .get(format!(
            "{}/projects?membership=true&pagination=keyset&order_by=id&sort=asc&per_page=100",
            sim.api_url()
        ))
        .header("PRIVATE-TOKEN", sim.bot_token())
        .send()
        .await
        .unwrap()
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        link.starts_with("<http://gitlab.example.com:443/api/v4/projects?"),
        "{link}"
    );
}

/// Issue 12 item 13: a managed hook carries its project's derived secret, which opens that
/// project's URL only; a hook installed the old way (shared URL and secret) is moved; the shared
/// secret still serves the shared URL (system hooks, hand-made hooks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_hooks_carry_a_per_project_secret_that_opens_only_that_project() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let a = new_project(&sim, "acme", "a", access::MAINTAINER);
    let b = new_project(&sim, "acme", "b", access::MAINTAINER);
    // `b` already has the hook an older backline installed: shared URL, shared secret.
    sim.with_world(|w| {
        w.add_project_hook(
            b,
            HookTarget::new("https://backline.example/webhooks/gitlab").token(SECRET),
        )
    })
    .unwrap();
    let app = bot_app(&sim, |s| {
        s.manage_hooks = true;
        s.public_url = Some("https://backline.example".into());
    })
    .await;
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    let token_of = |p: u64| {
        let hooks = sim.with_world(|w| w.project(p).unwrap().hooks.clone());
        assert_eq!(hooks.len(), 1, "one hook on {p}: {hooks:?}");
        assert_eq!(
            hooks[0].target.url,
            format!("https://backline.example/webhooks/gitlab/projects/{p}")
        );
        hooks[0].target.token.clone().unwrap()
    };
    let (token_a, token_b) = (token_of(a), token_of(b));
    assert_ne!(token_a, token_b);
    assert_ne!(token_a, SECRET);
    let send = |path: String, token: String, project: u64, marker: &'static str| {
        let app = &app;
        async move {
            let d = gitlab_sim::DeliveryBuilder::new(
                "Push Hook",
                crate::harness::push_body(project, marker),
            )
            .secret_token(&token)
            .build()
            .unwrap();
            let r = app
                .sender
                .send(&format!("{}{path}", app.base), &d)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            (r.status, body)
        }
    };
    let url = |p: u64| format!("/webhooks/gitlab/projects/{p}");
    // Each project's secret on its own URL: accepted.
    assert_eq!(send(url(a), token_a.clone(), a, "a1").await.0, 202);
    assert_eq!(send(url(b), token_b.clone(), b, "b1").await.0, 202);
    // A's secret on B's URL, or on the shared URL: refused.
    let (status, body) = send(url(b), token_a.clone(), b, "a-on-b").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid X-Gitlab-Token"))
    );
    let (status, _) = send("/webhooks/gitlab".into(), token_a.clone(), a, "a-shared").await;
    assert_eq!(status, 401);
    // A's secret on A's URL, but the event is about B: refused.
    let (status, body) = send(url(a), token_a.clone(), b, "a-about-b").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["error"],
        "the delivery is about another project than its hook's"
    );
    // The shared secret does not open a project URL, and still serves the shared URL.
    assert_eq!(send(url(a), SECRET.into(), a, "shared-on-a").await.0, 401);
    assert_eq!(
        send("/webhooks/gitlab".into(), SECRET.into(), b, "shared")
            .await
            .0,
        202
    );
    app.drain().await;
    app.shutdown().await;
}

/// Issue 11 §2.5: GitLab disables a managed hook whose deliveries keep failing (here: someone
/// changed its secret token, so the bot refuses them); the next sync reads `alert_status`, its
/// test delivery fails too and the project records the hook as disabled (`/readyz` and the
/// API count it); once the token is right again, the next sync's test delivery enables it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_hook_gitlab_disabled_is_recorded_and_re_enabled_at_sync() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let pid = new_project(&sim, "acme", "hooked", access::MAINTAINER);
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let bot: User = gitlab.current_user().await.unwrap();
    let app = spawn(Options {
        gitlab: Some((gitlab, bot)),
        public_url_is_self: true,
        tweak: Box::new(|s| s.manage_hooks = true),
        ..Options::default()
    })
    .await;
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    let (hook_id, token) = sim.with_world(|w| {
        let h = &w.project(pid).unwrap().hooks[0];
        (h.id, h.target.token.clone())
    });
    assert!(sim.with_world(|w| w.project(pid).unwrap().hooks[0]
        .target
        .url
        .starts_with(&app.webhook_url())));

    // Someone edits the token: the bot refuses the deliveries and GitLab backs the hook off
    // after the fourth failure.
    sim.with_world(|w| {
        w.project_mut_raw(pid).unwrap().hooks[0].target.token = Some("edited".into())
    });
    let bot_id = sim.bot_user();
    for n in 0..5 {
        sim.with_world(|w| {
            w.commit_files(
                pid,
                bot_id,
                "main",
                "x",
                vec![(format!("f{n}"), Some("x".into()))],
            )
            .unwrap();
        });
    }
    let sent = sim.deliver_pending().await;
    assert_eq!(
        sent.len(),
        4,
        "the fifth is not sent: {:?}",
        sent.iter().map(|d| d.1).collect::<Vec<_>>()
    );
    assert!(sent.iter().all(|(_, s)| *s == 401));
    let alert = |sim: &GitLabSim| {
        sim.with_world(|w| w.project(pid).unwrap().hooks[0].alert(gitlab_sim::util::now_ms()))
    };
    assert_eq!(
        alert(&sim),
        gitlab_sim::world::HookAlert::TemporarilyDisabled
    );

    // The sync notices; its test delivery fails too (the token is still wrong).
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!((report.hooks_disabled, report.hooks_reenabled), (1, 0));
    assert_eq!(
        sim.count("POST", "/projects/:id/hooks/:hook_id/test/:trigger"),
        1
    );
    let (_, p) = app.api(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(p["hook_disabled"], true, "{p}");
    let text = p["hook"].as_str().unwrap();
    assert!(
        text.contains("temporarily_disabled") && text.contains("test delivery failed"),
        "{text}"
    );
    let (_, list) = app.api("/api/v1/projects").await;
    assert_eq!(list["hooks_disabled"], 1);
    assert_eq!(list["hooks_disabled_projects"][0], "acme/hooked");
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["hooks_disabled"], 1, "{ready}");

    // The token is put back: the next sync's test delivery reaches the bot and GitLab enables
    // the hook (the same hook: no new one).
    sim.with_world(|w| w.project_mut_raw(pid).unwrap().hooks[0].target.token = token.clone());
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!((report.hooks_disabled, report.hooks_reenabled), (0, 1));
    assert_eq!(alert(&sim), gitlab_sim::world::HookAlert::Executable);
    let (_, p) = app.api(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(p["hook"], format!("installed (id {hook_id})"));
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["hooks_disabled"], 0);

    // A sync with an executable hook only reads it.
    sim.reset_requests();
    let report = service.sync(&Quiet).await.unwrap();
    assert_eq!((report.hooks_checked, report.hooks_reenabled), (0, 0));
    assert_eq!(
        sim.count("POST", "/projects/:id/hooks/:hook_id/test/:trigger"),
        0
    );
    assert_eq!(sim.count("GET", "/projects/:id/hooks/:hook_id"), 1);

    // Deleted on GitLab: the sync re-creates it.
    sim.with_world(|w| w.project_mut_raw(pid).unwrap().hooks.clear());
    service.sync(&Quiet).await.unwrap();
    assert_eq!(sim.with_world(|w| w.project(pid).unwrap().hooks.len()), 1);
    app.shutdown().await;
}
