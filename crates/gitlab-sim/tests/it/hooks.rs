//! Webhooks emitted from the simulator's own state, received by a tiny actix server.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use gitlab_sim::{access, webhook, GitLabSim, HookTarget, ProjectSpec, SimConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

type Received = Arc<Mutex<Vec<(String, Vec<(String, String)>, Vec<u8>)>>>;

struct Receiver {
    url: String,
    got: Received,
    handle: actix_web::dev::ServerHandle,
}

fn receiver() -> Receiver {
    let got: Received = Arc::default();
    let g = got.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let g = g.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let g = g.clone();
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                g.lock()
                    .unwrap()
                    .push((req.path().to_string(), headers, body.to_vec()));
                HttpResponse::Ok().body("ok")
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Receiver { url, got, handle }
}

const SIGNING: &str = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";

fn hdr<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn reference(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/gitlab-webhooks")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Keys of `reference` (and of its `project`/`object_attributes`) that `ours` lacks.
fn missing_keys(reference: &Value, ours: &Value) -> Vec<String> {
    let mut out: Vec<String> = keys(reference).difference(&keys(ours)).cloned().collect();
    for sub in ["project", "object_attributes", "repository"] {
        if let (Some(r), Some(o)) = (reference.get(sub), ours.get(sub)) {
            out.extend(keys(r).difference(&keys(o)).map(|k| format!("{sub}.{k}")));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn system_and_project_hooks_match_reference_payloads() {
    let rx = receiver();
    let sim = GitLabSim::start(SimConfig {
        system_hook: Some(
            HookTarget::new(format!("{}/system", rx.url))
                .token("sys-secret")
                .signing_token(SIGNING),
        ),
        ..SimConfig::default()
    })
    .unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let pid = w
            .create_project(ProjectSpec::new("acme", "svc").file("Cargo.lock", "v"))
            .unwrap();
        w.add_member(pid, bot, access::DEVELOPER).unwrap();
        w.add_project_hook(
            pid,
            HookTarget::new(format!("{}/project", rx.url)).token("proj-secret"),
        )
        .unwrap();
        pid
    });
    // Through the REST API: a commit (push), an MR (open), a note.
    let body = json!({"branch": "fix", "start_branch": "main", "commit_message": "fix\n\nbody",
        "actions": [{"action": "update", "file_path": "Cargo.lock", "content": "w"},
                    {"action": "create", "file_path": "new.txt", "content": "n"}]});
    assert_eq!(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/repository/commits"),
            Some(body)
        )
        .await
        .status(),
        201
    );
    let body = json!({"source_branch": "fix", "target_branch": "main", "title": "Fix"});
    assert_eq!(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/merge_requests"),
            Some(body)
        )
        .await
        .status(),
        201
    );
    let body = json!({"body": "/backline help"});
    assert_eq!(
        call(
            &sim,
            Method::POST,
            &format!("/projects/{pid}/merge_requests/1/notes"),
            Some(body)
        )
        .await
        .status(),
        201
    );
    sim.with_world(|w| {
        w.close_mr(pid, 1, bot).unwrap();
        w.rename_project(pid, "Service", "service").unwrap();
        w.transfer_project(pid, "acme/moved").unwrap();
        w.set_archived(pid, true).unwrap();
        w.remove_member(pid, bot).unwrap();
        w.destroy_project(pid).unwrap();
    });

    let delivered = sim.deliver_pending().await;
    assert!(delivered.iter().all(|(_, s)| *s == 200));
    assert!(sim.deliver_pending().await.is_empty(), "the queue drains");
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), delivered.len());

    let mut by_kind: Vec<(String, String, Value)> = Vec::new();
    for (path, headers, body) in &got {
        let v: Value = serde_json::from_slice(body).unwrap();
        let event = hdr(headers, "x-gitlab-event").unwrap().to_string();
        assert_eq!(
            hdr(headers, "user-agent"),
            Some(format!("GitLab/{}", gitlab_sim::GITLAB_VERSION).as_str())
        );
        assert_eq!(hdr(headers, "x-gitlab-instance"), Some(sim.url()));
        assert!(hdr(headers, "x-gitlab-event-uuid").is_some());
        if path == "/system" {
            assert_eq!(event, "System Hook");
            assert_eq!(hdr(headers, "x-gitlab-token"), Some("sys-secret"));
            let id = hdr(headers, "webhook-id").unwrap();
            assert_eq!(Some(id), hdr(headers, "idempotency-key"));
            let ts: i64 = hdr(headers, "webhook-timestamp").unwrap().parse().unwrap();
            let expected = webhook::sign(SIGNING, id, ts, body).unwrap();
            assert_eq!(hdr(headers, "webhook-signature"), Some(expected.as_str()));
            let name = v["event_name"]
                .as_str()
                .or(v["object_kind"].as_str())
                .unwrap()
                .to_string();
            by_kind.push(("system".into(), name, v));
        } else {
            assert_eq!(hdr(headers, "x-gitlab-token"), Some("proj-secret"));
            assert!(hdr(headers, "webhook-signature").is_none());
            assert_eq!(webhook::event_header_for(body), Some(event.as_str()));
            by_kind.push(("project".into(), event, v));
        }
    }
    let names: Vec<&str> = by_kind.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "project_create",
            "user_add_to_team",
            "Push Hook",
            "push",
            "repository_update",
            "Merge Request Hook",
            "Note Hook",
            "Merge Request Hook",
            "project_rename",
            "project_transfer",
            "project_update",
            "user_remove_from_team",
            "project_destroy",
        ]
    );
    let find = |n: &str| {
        by_kind
            .iter()
            .find(|(_, k, _)| k == n)
            .map(|(_, _, v)| v.clone())
            .unwrap()
    };

    let push = find("Push Hook");
    assert_eq!(push["ref"], "refs/heads/fix");
    assert_eq!(push["before"], "0000000000000000000000000000000000000000");
    assert_eq!(push["after"], push["checkout_sha"]);
    assert_eq!(push["total_commits_count"], 1);
    assert_eq!(push["commits"][0]["added"], json!(["new.txt"]));
    assert_eq!(push["commits"][0]["modified"], json!(["Cargo.lock"]));
    assert_eq!(push["commits"][0]["title"], "fix");
    assert_eq!(push["project"]["path_with_namespace"], "acme/svc");

    let mr = find("Merge Request Hook");
    assert_eq!(mr["object_attributes"]["action"], "open");
    assert_eq!(mr["object_attributes"]["iid"], 1);
    let closes: Vec<&Value> = by_kind
        .iter()
        .filter(|(_, k, _)| k == "Merge Request Hook")
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(closes[1]["object_attributes"]["action"], "close");
    assert_eq!(closes[1]["object_attributes"]["state"], "closed");
    let note = find("Note Hook");
    assert_eq!(note["object_attributes"]["note"], "/backline help");
    assert_eq!(note["object_attributes"]["noteable_type"], "MergeRequest");
    assert_eq!(note["merge_request"]["iid"], 1);
    let rename = find("project_rename");
    assert_eq!(rename["old_path_with_namespace"], "acme/svc");
    assert_eq!(rename["path_with_namespace"], "acme/service");
    let transfer = find("project_transfer");
    assert_eq!(transfer["old_path_with_namespace"], "acme/service");
    assert_eq!(transfer["path_with_namespace"], "acme/moved/service");
    assert_eq!(find("user_add_to_team")["access_level"], "Developer");
    assert_eq!(find("user_add_to_team")["user_username"], "backline-bot");

    // Same keys as GitLab's documented payloads (tests/data/gitlab-webhooks).
    for (file, kind) in [
        ("system-project-create.json", "project_create"),
        ("system-project-destroy.json", "project_destroy"),
        ("system-project-rename.json", "project_rename"),
        ("system-project-transfer.json", "project_transfer"),
        ("system-project-update.json", "project_update"),
        ("system-user-add-to-team.json", "user_add_to_team"),
        ("system-user-remove-from-team.json", "user_remove_from_team"),
        ("system-push.json", "push"),
        ("system-repository-update.json", "repository_update"),
        ("project-push.json", "Push Hook"),
        ("project-merge-request-open.json", "Merge Request Hook"),
        ("project-note-merge-request.json", "Note Hook"),
    ] {
        let missing = missing_keys(&reference(file), &find(kind));
        assert!(missing.is_empty(), "{file}: missing {missing:?}");
    }
    sim.stop().await;
    rx.handle.stop(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_api_never_returns_tokens() {
    let sim = start();
    let pid = project(&sim);
    let hooks = format!("/projects/{pid}/hooks");
    // Developer is not enough.
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &hooks,
            Some(json!({"url": "http://127.0.0.1:1/h"})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v), (403, json!({"message": "403 Forbidden"})));
    let bot = sim.bot_user();
    sim.with_world(|w| w.add_member(pid, bot, access::MAINTAINER))
        .unwrap();
    let body = json!({"url": "http://127.0.0.1:1/h", "token": "t0p", "signing_token": SIGNING,
                      "merge_requests_events": true, "note_events": true});
    let (s, v) = json(call(&sim, Method::POST, &hooks, Some(body)).await).await;
    assert_eq!(s, 201);
    assert!(v.get("token").is_none() && v.get("signing_token").is_none());
    assert_eq!(
        (
            v["token_present"].clone(),
            v["signing_token_present"].clone()
        ),
        (json!(true), json!(true))
    );
    assert_eq!(
        (v["push_events"].clone(), v["merge_requests_events"].clone()),
        (json!(true), json!(true))
    );
    let hid = v["id"].as_u64().unwrap();
    let (s, v) = json(
        call(
            &sim,
            Method::PUT,
            &format!("{hooks}/{hid}"),
            Some(json!({"push_events": false})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["push_events"].clone()), (200, json!(false)));
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &hooks,
            Some(json!({"url": "http://x/h", "signing_token": "nope"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (_, v) = json(get(&sim, &hooks).await).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(!v.to_string().contains("t0p"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn big_pushes_are_truncated_like_gitlab() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    let (before, after) = sim.with_world(|w| {
        w.add_project_hook(pid, HookTarget::new("http://127.0.0.1:9/unreachable"))
            .unwrap();
        let before = w.projects[&pid].repo.head("main").unwrap().id.clone();
        let mut last = String::new();
        for i in 0..25 {
            last = w
                .commit_files(
                    pid,
                    bot,
                    "side",
                    &format!("c{i}"),
                    vec![(format!("f{i}"), Some("x".into()))],
                )
                .unwrap();
        }
        w.pending.clear();
        w.force_branch(pid, bot, "main", &last).unwrap();
        (before, last)
    });
    let pending = sim.take_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, "Push Hook");
    let v: Value = serde_json::from_slice(&pending[0].body).unwrap();
    assert_eq!(
        (v["before"].as_str(), v["after"].as_str()),
        (Some(before.as_str()), Some(after.as_str()))
    );
    assert_eq!(v["total_commits_count"], 25);
    let commits = v["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 20);
    assert_eq!(commits[19]["id"], after.as_str());
    assert_eq!(commits[19]["added"], json!(["f24"]));
    // An unreachable receiver is reported as status 0, not an error.
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            "main",
            "one more",
            vec![("g".into(), Some("y".into()))],
        )
    })
    .unwrap();
    let out = sim.deliver_pending().await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn source_pushes_update_the_mr_with_oldrev_and_deleting_the_branch_closes_it() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    let (alice, first) = sim.with_world(|w| {
        let alice = w.create_user("alice", "Alice");
        w.add_member(pid, alice, gitlab_sim::access::DEVELOPER)
            .unwrap();
        let first = w
            .commit_files(
                pid,
                bot,
                "fix",
                "fix",
                vec![(
                    "Cargo.lock".into(),
                    Some("version = 4\n".to_string().into()),
                )],
            )
            .unwrap();
        w.create_mr(pid, bot, "fix", "main", "fix", "", vec![], false, false)
            .unwrap();
        w.add_project_hook(pid, gitlab_sim::HookTarget::new("http://127.0.0.1:9/h"))
            .unwrap();
        w.pending.clear();
        (alice, first)
    });
    let mr_hooks = |sim: &gitlab_sim::GitLabSim| -> Vec<serde_json::Value> {
        sim.take_pending()
            .into_iter()
            .filter(|d| d.event == "Merge Request Hook")
            .map(|d| serde_json::from_slice(&d.body).unwrap())
            .collect()
    };
    let second = sim
        .with_world(|w| {
            w.commit_files(
                pid,
                alice,
                "fix",
                "more",
                vec![("NOTES.md".into(), Some("x".to_string().into()))],
            )
        })
        .unwrap();
    let hooks = mr_hooks(&sim);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["object_attributes"]["action"], "update");
    assert_eq!(hooks[0]["object_attributes"]["oldrev"], first);
    assert_eq!(hooks[0]["user"]["username"], "alice");
    assert_eq!(
        sim.with_world(|w| w.mr(pid, 1).unwrap().sha.clone()),
        second
    );
    // Deleting the source branch closes the MR, by the person who deleted it.
    sim.with_world(|w| w.delete_branch(pid, alice, "fix"))
        .unwrap();
    let hooks = mr_hooks(&sim);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["object_attributes"]["action"], "close");
    assert_eq!(hooks[0]["user"]["username"], "alice");
    let m = sim.with_world(|w| w.mr(pid, 1).unwrap().clone());
    assert_eq!(m.state, gitlab_sim::MrState::Closed);
    assert_eq!(m.closed_by, Some(alice));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_is_not_called_again_by_api_calls_made_for_its_own_event() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    let url = "http://127.0.0.1:9/h".to_string();
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            "fix",
            "fix",
            vec![(
                "Cargo.lock".into(),
                Some("version = 4\n".to_string().into()),
            )],
        )
        .unwrap();
        w.create_mr(pid, bot, "fix", "main", "fix", "", vec![], false, false)
            .unwrap();
        w.add_project_hook(pid, HookTarget::new(url.clone()))
            .unwrap();
        w.pending.clear();
        w.add_note(pid, 1, bot, "first").unwrap();
    });
    let sent = sim.deliver_pending().await;
    assert_eq!(sent.len(), 1);
    let uuid = sent[0].0.header("X-Gitlab-Event-UUID").unwrap().to_string();
    let note = |uuid: String| {
        let sim_url = sim.url().to_string();
        let token = sim.bot_token().to_string();
        async move {
            client()
                .post(format!(
                    "{sim_url}/api/v4/projects/{pid}/merge_requests/1/notes"
                ))
                .header("PRIVATE-TOKEN", token)
                .header("X-Gitlab-Event-UUID", uuid)
                .json(&json!({"body": "a reply"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A reply made while handling that event: its Note Hook to the same hook is dropped.
    assert_eq!(note(uuid.clone()).await, 201);
    sim.with_world(|w| {
        assert!(w.pending.is_empty(), "{:?}", w.pending);
        assert_eq!(w.blocked_deliveries.len(), 1);
        assert_eq!(w.blocked_deliveries[0].event, "Note Hook");
    });
    // Another event's UUID: delivered, carrying that UUID.
    assert_eq!(note("other-event".into()).await, 201);
    let sent = sim.deliver_pending().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.header("X-Gitlab-Event-UUID"), Some("other-event"));
}
