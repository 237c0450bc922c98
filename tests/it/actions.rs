//! Actions from the API and the dashboard are durable inbox entries (kind `action`): queued
//! before the answer, run by the workers in their project's lane (in order with that project's
//! deliveries), and still there after a stop.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backline::app::App;
use backline::catalog::service::Quiet;
use backline::config::Settings;
use backline::engine::queue::ActionQueue;
use backline::engine::{Action, ActionRequest, Requester};
use backline::gitlab::hooks::HookEvent;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab, ProjectId};
use backline::handlers::{Handler, HandlerError};
use backline::inbox::{DeliveryRecord, DeliveryState};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, ProjectSpec, SimConfig};

use crate::harness::{push_body, spawn, Options, ADMIN_TOKEN};
use crate::remediation::{lock, CargoLockLines};

/// Logs when each delivery and action starts and ends; the first push holds its lane until
/// the test lets it go.
struct Ordered {
    log: Mutex<Vec<String>>,
    started: tokio::sync::Notify,
    gate: tokio::sync::Semaphore,
}

impl Ordered {
    fn log(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait]
impl Handler for Ordered {
    async fn handle(
        &self,
        delivery: &DeliveryRecord,
        event: &HookEvent,
    ) -> Result<String, HandlerError> {
        let HookEvent::Push(push) = event else {
            return Ok("not a push".into());
        };
        self.log(format!("start {}", push.message.as_deref().unwrap_or("")));
        if push.message.as_deref() == Some("hold") {
            self.started.notify_one();
            let _ = self.gate.acquire().await.unwrap();
        }
        self.log(format!("end {}", push.message.as_deref().unwrap_or("")));
        Ok(format!("push {}", delivery.seq))
    }

    async fn act(
        &self,
        delivery: &DeliveryRecord,
        request: &ActionRequest,
    ) -> Result<String, HandlerError> {
        self.log(format!("start {}", request.action.name()));
        self.log(format!("end {}", request.action.name()));
        Ok(format!(
            "{} by {}",
            request.action.name(),
            delivery.verified_by
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_and_deliveries_of_one_project_run_in_order_and_other_projects_go_on() {
    let handler = Arc::new(Ordered {
        log: Mutex::new(Vec::new()),
        started: tokio::sync::Notify::new(),
        gate: tokio::sync::Semaphore::new(0),
    });
    let app = spawn(Options {
        handler: handler.clone(),
        workers: 4,
        ..Options::default()
    })
    .await;
    let (status, first) = app
        .deliver_with_token("Push Hook", &push_body(5, "hold"))
        .await;
    assert_eq!(status, 202, "{first}");
    handler.started.notified().await;
    // While project 5's first push runs: an approval of project 5, another push of 5, and a
    // push of project 6.
    let queue = ActionQueue::new(app.app.inbox.clone(), app.app.lanes.clone());
    let approval = queue
        .enqueue(ActionRequest {
            action: Action::Approve {
                remediation: 1,
                project: ProjectId(5),
            },
            by: Requester::Api,
        })
        .await
        .unwrap();
    assert_eq!(approval.lane, 5);
    let (_, second) = app
        .deliver_with_token("Push Hook", &push_body(5, "after"))
        .await;
    let (_, other) = app
        .deliver_with_token("Push Hook", &push_body(6, "other"))
        .await;
    let other_seq = other["delivery"].as_u64().unwrap();
    // Project 6 does not wait for project 5.
    app.app.lanes.wait_left(6, other_seq).await;
    assert_eq!(
        handler.lines(),
        ["start hold", "start other", "end other"],
        "project 5's approval waits for its running push"
    );
    handler.gate.add_permits(1);
    app.drain().await;
    let five: Vec<String> = handler
        .lines()
        .into_iter()
        .filter(|l| !l.ends_with("other"))
        .collect();
    assert_eq!(
        five,
        [
            "start hold",
            "end hold",
            "start approve",
            "end approve",
            "start after",
            "end after"
        ]
    );
    let record = app.app.inbox.record(approval.seq).unwrap().unwrap();
    assert_eq!(record.kind.as_str(), "action");
    assert_eq!(record.state, DeliveryState::Done);
    assert_eq!(record.outcome.as_deref(), Some("approve by admin_token"));
    assert!(second["delivery"].as_u64().unwrap() > approval.seq);
    app.shutdown().await;
}

fn settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::with_data_dir(dir.join("data"));
    s.admin_token = Some(Secret::new(ADMIN_TOKEN));
    s.auto_approve = None;
    s.retry_base = std::time::Duration::ZERO;
    s.advisories = vec![crate::harness::test_data("rustsec-advisory-db")];
    s
}

fn build(dir: &std::path::Path, gitlab: &GitLab, me: &User) -> App {
    App::build_for_gitlab_with(
        settings(dir),
        gitlab.clone(),
        me.clone(),
        Arc::new(CargoLockLines),
        Arc::new(backline::registry::FakeRegistry::new()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_queued_before_a_stop_opens_its_mr_after_the_restart() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(ProjectSpec::new("acme", "api").file("Cargo.lock", lock("1.5.4")))
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me: User = gitlab.current_user().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // First run, without workers: the sync plans the fix (no policy approval), then the API
    // queues its approval and the process stops.
    let first = build(dir.path(), &gitlab, &me);
    first
        .catalog_service
        .clone()
        .unwrap()
        .sync(&Quiet)
        .await
        .unwrap();
    let table = first.engine.as_ref().unwrap().executor().table.clone();
    let planned = table.of_project(ProjectId(pid)).unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].state.as_str(), "planned");
    // The HTTP surface in process (no server threads, so that dropping it lets the store go).
    let http = actix_web::test::init_service(
        actix_web::App::new()
            .app_data(first.http_state())
            .configure(backline::http::routes),
    )
    .await;
    let answer = actix_web::test::call_service(
        &http,
        actix_web::test::TestRequest::post()
            .uri(&format!("/api/v1/remediations/{}/approve", planned[0].id))
            .insert_header(("Authorization", format!("Bearer {ADMIN_TOKEN}")))
            .to_request(),
    )
    .await;
    assert_eq!(answer.status(), 202);
    let body: serde_json::Value = actix_web::test::read_body_json(answer).await;
    assert_eq!(body["status"], "queued", "{body}");
    assert_eq!(body["remediation"]["id"], planned[0].id);
    let seq = body["delivery"].as_u64().unwrap();
    drop(http);
    assert!(sim.with_world(|w| w.project(pid).unwrap().merge_requests.is_empty()));
    assert!(
        table
            .get(planned[0].id)
            .unwrap()
            .unwrap()
            .approved_by
            .is_none(),
        "the HTTP layer only queues"
    );
    drop(table);
    first.store.flush_now().unwrap();
    drop(first);

    // Second run: the queued approval is replayed and opens the MR.
    let second = build(dir.path(), &gitlab, &me);
    assert_eq!(second.replayed(), 1);
    let workers = second.start_workers_n(2);
    second.lanes.wait_idle().await;
    let record = second.inbox.record(seq).unwrap().unwrap();
    assert_eq!(record.state, DeliveryState::Done, "{record:?}");
    assert!(
        record
            .outcome
            .as_deref()
            .unwrap()
            .starts_with(&format!("remediation {} approved by api", planned[0].id)),
        "{record:?}"
    );
    let mrs = sim.with_world(|w| w.project(pid).unwrap().merge_requests.clone());
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].title, "Security: bump regex from 1.5.4 to 1.5.5");
    let r = second
        .engine
        .as_ref()
        .unwrap()
        .executor()
        .table
        .get(planned[0].id)
        .unwrap()
        .unwrap();
    assert_eq!(r.approved_by.as_deref(), Some("api"));
    assert!(workers.shutdown(std::time::Duration::from_secs(10)).await);
}
