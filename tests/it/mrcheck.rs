//! MR checks end to end (issue 19): a person's MR that bumps Cargo.lock into a vulnerable
//! regex gets a failed `backline/dependencies` status and one note; a later push that fixes it
//! turns the status to success and updates the same note; an MR changing only README gets
//! nothing and costs one request; a resent event posts nothing twice.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use backline::gitlab::{ClientConfig, GitLab};
use backline::secret::Secret;
use gitlab_sim::webhook::DeliveryBuilder;
use gitlab_sim::{access, GitLabSim, HookTarget, MrSpec, ProjectSpec, SimConfig};

use crate::harness::{spawn, Options, TestApp, SECRET};
use crate::remediation::{lock, CargoLockLines};

const CARGO_TOML: &str =
    "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n";

struct Scene {
    sim: GitLabSim,
    app: TestApp,
    pid: u64,
    dev: u64,
    bot: u64,
}

/// `acme/api` with a safe regex 1.5.5 on main, a developer, the app (public URL set) with
/// the RustSec reference database, the project catalogued and hooked.
async fn scene() -> Scene {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let (pid, dev) = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "api")
                    .file("Cargo.lock", lock("1.5.5"))
                    .file("Cargo.toml", CARGO_TOML)
                    .file("README.md", "hello\n"),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        let dev = w.create_user("dana", "Dana");
        w.add_member(id, dev, access::DEVELOPER).unwrap();
        (id, dev)
    });
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me = gitlab.current_user().await.unwrap();
    let reference = crate::harness::test_data("rustsec-advisory-db");
    let app = spawn(Options {
        gitlab: Some((gitlab, me)),
        fixer: Some(Arc::new(CargoLockLines)),
        tweak: Box::new(move |s| {
            s.advisories = vec![reference];
            s.public_url = Some("https://backline.example".into());
        }),
        ..Options::default()
    })
    .await;
    sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(app.webhook_url()).token(SECRET)))
        .unwrap();
    let s = Scene {
        sim,
        app,
        pid,
        dev,
        bot,
    };
    let service = s.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    s.settle().await;
    s
}

impl Scene {
    async fn settle(&self) {
        loop {
            let sent = self.sim.deliver_pending().await;
            self.app.drain().await;
            if sent.is_empty() && self.sim.with_world(|w| w.pending.is_empty()) {
                return;
            }
        }
    }

    /// Dana pushes `files` to `branch` (made from main when new).
    fn push(&self, branch: &str, files: Vec<(&str, String)>) -> String {
        self.sim.with_world(|w| {
            if w.project(self.pid).unwrap().repo.head(branch).is_none() {
                w.create_branch(self.pid, self.dev, branch, "main").unwrap();
            }
            w.commit_files(
                self.pid,
                self.dev,
                branch,
                "change",
                files
                    .into_iter()
                    .map(|(p, c)| (p.to_string(), Some(c.into())))
                    .collect(),
            )
            .unwrap()
        })
    }

    fn open_mr(&self, branch: &str) -> u64 {
        self.sim.with_world(|w| {
            w.open_mr(self.pid, self.dev, MrSpec::new(branch, "main", "A change"))
                .unwrap()
        })
    }

    /// The `backline/dependencies` statuses: (sha, state, description, target URL).
    fn statuses(&self) -> Vec<(String, String, String, Option<String>)> {
        self.sim.with_world(|w| {
            w.project(self.pid)
                .unwrap()
                .statuses
                .iter()
                .filter(|s| s.name == "backline/dependencies")
                .map(|s| {
                    (
                        s.sha.clone(),
                        s.status.clone(),
                        s.description.clone().unwrap_or_default(),
                        s.target_url.clone(),
                    )
                })
                .collect()
        })
    }

    /// The bot's notes on an MR: (id, body).
    fn bot_notes(&self, iid: u64) -> Vec<(u64, String)> {
        self.sim.with_world(|w| {
            w.mr(self.pid, iid)
                .unwrap()
                .notes
                .iter()
                .filter(|n| n.author_id == self.bot && !n.system)
                .map(|n| (n.id, n.body.clone()))
                .collect()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vulnerable_bump_fails_then_a_fix_succeeds_with_one_note_updated_in_place() {
    let s = scene().await;
    let head = s.push("bump", vec![("Cargo.lock", lock("1.5.4"))]);
    s.settle().await;
    s.sim.reset_requests();
    let iid = s.open_mr("bump");
    let open_hook = s.sim.with_world(|w| {
        w.pending
            .iter()
            .find(|d| d.event == "Merge Request Hook")
            .map(|d| d.body.clone())
            .unwrap()
    });
    s.settle().await;
    // The check's cost: the diff list, the MR (its merge base), Cargo.lock and its companion
    // Cargo.toml at the head and at the base, the status, the note list (a note by its
    // marker), the new note.
    let routes: Vec<String> = s.sim.requests().into_iter().map(|r| r.route).collect();
    assert_eq!(routes.len(), 9, "{routes:#?}");

    let statuses = s.statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let (sha, state, description, url) = &statuses[0];
    assert_eq!(sha, &head);
    assert_eq!(state, "failed");
    assert!(
        description.starts_with("adds 1 high: regex 1.5.4 (RUSTSEC-2022-0013)"),
        "{description}"
    );
    assert_eq!(
        url.as_deref(),
        Some(format!("https://backline.example/projects/{}", s.pid).as_str())
    );
    let notes = s.bot_notes(iid);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (note_id, body) = &notes[0];
    assert!(body.starts_with("<!-- backline: mr-check -->"), "{body}");
    assert!(
        body.contains("`regex`") && body.contains("RUSTSEC-2022-0013") && body.contains("`1.5.5`"),
        "{body}"
    );

    // The same event again (a redelivery under a new UUID): no request, nothing posted.
    s.sim.reset_requests();
    let again = DeliveryBuilder::new("Merge Request Hook", open_hook)
        .secret_token(SECRET)
        .event_uuid("11111111-2222-4333-8444-555555555555")
        .build()
        .unwrap();
    let (code, _) = s.app.deliver(&again).await;
    assert_eq!(code, 202);
    s.app.drain().await;
    assert!(s.sim.requests().is_empty(), "{:?}", s.sim.requests());
    assert_eq!(s.statuses().len(), 1);
    assert_eq!(s.bot_notes(iid).len(), 1);

    // The shown result.
    let (code, check) = s
        .app
        .api(&format!(
            "/api/v1/projects/{}/merge-requests/{iid}/check",
            s.pid
        ))
        .await;
    assert_eq!(code, 200, "{check}");
    assert_eq!(check["verdict"], "failed");
    assert_eq!(check["added"][0]["package"], "regex");
    // The project page lists the open MR that adds it.
    let page = project_page(&s).await;
    assert!(
        page.contains("Open merge requests adding vulnerabilities (1)"),
        "{page}"
    );
    assert!(page.contains(&format!("!{iid}")) && page.contains("RUSTSEC-2022-0013"));

    // A second push fixes it: success on the new head, the same note says it was removed.
    let fixed = s.push("bump", vec![("Cargo.lock", lock("1.5.6"))]);
    s.settle().await;
    let statuses = s.statuses();
    let last = statuses
        .iter()
        .find(|x| x.0 == fixed)
        .expect("a status on the new head");
    assert_eq!(last.1, "success", "{statuses:?}");
    assert_eq!(last.2, "adds no known vulnerability");
    let notes = s.bot_notes(iid);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, *note_id, "updated in place");
    assert!(
        notes[0].1.contains("adds no known vulnerability"),
        "{}",
        notes[0].1
    );
    assert!(notes[0].1.contains("removed"), "{}", notes[0].1);
    let (_, check) = s
        .app
        .api(&format!(
            "/api/v1/projects/{}/merge-requests/{iid}/check",
            s.pid
        ))
        .await;
    assert_eq!(check["verdict"], "success");
    assert_eq!(check["head_sha"], fixed);
    let page = project_page(&s).await;
    assert!(
        page.contains("Open merge requests adding vulnerabilities (0)"),
        "{page}"
    );
}

async fn project_page(s: &Scene) -> String {
    let http = crate::dashboard::pages::client();
    let cookie = crate::dashboard::pages::log_in(&s.app, &http).await;
    let r = http
        .get(format!("{}/projects/{}", s.app.base, s.pid))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mr_changing_only_readme_gets_nothing_for_one_request() {
    let s = scene().await;
    s.push("docs", vec![("README.md", "hello again\n".into())]);
    s.settle().await;
    s.sim.reset_requests();
    let iid = s.open_mr("docs");
    s.settle().await;
    let requests = s.sim.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0].route,
        "GET /projects/:id/merge_requests/:iid/diffs"
    );
    assert!(s.statuses().is_empty());
    assert!(s.bot_notes(iid).is_empty());
    let (code, _) = s
        .app
        .api(&format!(
            "/api/v1/projects/{}/merge-requests/{iid}/check",
            s.pid
        ))
        .await;
    assert_eq!(code, 404);
    // An `update` without new commits (a title edit: no `oldrev`) costs nothing.
    s.sim.reset_requests();
    s.sim
        .with_world(|w| w.update_mr(s.pid, iid, s.dev, Some("Docs".into()), None, None, None))
        .unwrap();
    s.settle().await;
    assert!(s.sim.requests().is_empty(), "{:?}", s.sim.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_mr_is_read_through_the_fork_only_where_the_token_sees_it() {
    let s = scene().await;
    // Mallory's private fork: the bot is no member of it.
    let (mallory, fork, iid) = s.sim.with_world(|w| {
        let mallory = w.create_user("mallory", "Mallory");
        let fork = w.fork_project(s.pid, mallory, "mallory").unwrap();
        w.commit_files(
            fork,
            mallory,
            "bump",
            "bump regex",
            vec![("Cargo.lock".into(), Some(lock("1.5.4").into()))],
        )
        .unwrap();
        let (_, iid) = w
            .open_fork_mr(fork, mallory, MrSpec::new("bump", "main", "Bump regex"))
            .unwrap();
        (mallory, fork, iid)
    });
    s.settle().await;
    let statuses = s.statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].1, "failed");
    assert!(
        statuses[0].2.contains("could not read the fork"),
        "{statuses:?}"
    );
    let notes = s.bot_notes(iid);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].1.contains("could not read the fork"),
        "{}",
        notes[0].1
    );

    // Once the bot can see the fork, the next push is read through it.
    let head = s.sim.with_world(|w| {
        w.add_member(fork, s.bot, access::REPORTER).unwrap();
        w.commit_files(
            fork,
            mallory,
            "bump",
            "bump regex again",
            vec![(
                "Cargo.lock".into(),
                Some(format!("{}\n", lock("1.5.4")).into()),
            )],
        )
        .unwrap()
    });
    s.settle().await;
    let statuses = s.statuses();
    let last = statuses
        .iter()
        .find(|x| x.0 == head)
        .expect("a status on the new head");
    assert_eq!(last.1, "failed");
    assert!(
        last.2
            .starts_with("adds 1 high: regex 1.5.4 (RUSTSEC-2022-0013)"),
        "{statuses:?}"
    );
    let notes = s.bot_notes(iid);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].1.contains("RUSTSEC-2022-0013"), "{}", notes[0].1);
}
