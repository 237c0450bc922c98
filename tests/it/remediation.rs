//! Remediation end to end against gitlab-sim, through the real webhook endpoint and workers:
//! the MR is opened with the edit, exactly once; fixed by hand → closed as obsolete; reverted →
//! reopened; closed by a person → ignored; reopened → tracked; a person's push → no force-push
//! until `/backline recreate`; commands with permissions, code blocks and replays.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backline::catalog::service::Quiet;
use backline::gitlab::rest::User;
use backline::gitlab::{ClientConfig, GitLab};
use backline::remediation::executor::{Edit, FixError, FixRequest, Fixer};
use backline::secret::Secret;
use gitlab_sim::{access, GitLabSim, HookTarget, MrState, ProjectSpec, SimConfig};

use crate::harness::{spawn, Backend, Options, TestApp, SECRET};

/// Runs the scenario `$name(backend)` as two tests, `$name::sled` and `$name::pg`: the same
/// body on each store backend.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sled() {
                super::$name(super::Backend::Sled).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pg() {
                super::$name(super::Backend::Pg).await
            }
        }
    };
}

/// A fixer for tests: moves the package's `version` line in a Cargo.lock.
pub struct CargoLockLines;

#[async_trait]
impl Fixer for CargoLockLines {
    async fn edits(&self, r: &FixRequest<'_>) -> Result<Vec<Edit>, FixError> {
        let text = String::from_utf8(r.files.get(r.manifest).cloned().unwrap_or_default()).unwrap();
        let from = format!("name = \"{}\"\nversion = \"{}\"", r.package, r.from);
        if !text.contains(&from) {
            return Err(FixError::NotFixable(format!(
                "{} {} is not in {}",
                r.package, r.from, r.manifest
            )));
        }
        let to = format!("name = \"{}\"\nversion = \"{}\"", r.package, r.to);
        Ok(vec![Edit {
            path: r.manifest.to_string(),
            content: text.replace(&from, &to).into_bytes(),
        }])
    }
}

pub fn lock(regex: &str) -> String {
    format!(
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"regex\",\n]\n\n[[package]]\nname = \"regex\"\nversion = \"{regex}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
    )
}

const CARGO_TOML: &str =
    "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n";

pub struct World {
    pub sim: GitLabSim,
    pub app: TestApp,
    pub pid: u64,
    pub bot: u64,
}

/// The standard scene with the RustSec reference database imported at start.
pub async fn world(fixer: Arc<dyn Fixer>) -> World {
    world_on(Backend::Sled, fixer).await
}

/// [`world`] with the store on `backend`.
pub async fn world_on(backend: Backend, fixer: Arc<dyn Fixer>) -> World {
    let reference = crate::harness::test_data("");
    world_with_sleeper_on(
        backend,
        fixer,
        move |s| s.advisories = vec![reference.join("rustsec-advisory-db")],
        Arc::new(backline::gitlab::client::TokioSleeper),
    )
    .await
}

/// `acme/api` with regex 1.5.4, the bot a Developer, the app built with `fixer` and `tweak`,
/// and a project hook to the app.
pub async fn world_with(
    fixer: Arc<dyn Fixer>,
    tweak: impl FnOnce(&mut backline::config::Settings) + 'static,
) -> World {
    world_with_sleeper(
        fixer,
        tweak,
        Arc::new(backline::gitlab::client::TokioSleeper),
    )
    .await
}

/// [`world_with`] with the GitLab client waiting through `sleeper` (a recording one: GitLab's
/// `Retry-After` waits are recorded, not slept).
pub async fn world_with_sleeper(
    fixer: Arc<dyn Fixer>,
    tweak: impl FnOnce(&mut backline::config::Settings) + 'static,
    sleeper: Arc<dyn backline::gitlab::client::Sleeper>,
) -> World {
    world_with_sleeper_on(Backend::Sled, fixer, tweak, sleeper).await
}

/// [`world_with_sleeper`] with the store on `backend`.
pub async fn world_with_sleeper_on(
    backend: Backend,
    fixer: Arc<dyn Fixer>,
    tweak: impl FnOnce(&mut backline::config::Settings) + 'static,
    sleeper: Arc<dyn backline::gitlab::client::Sleeper>,
) -> World {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "api")
                    .file("Cargo.lock", lock("1.5.4"))
                    .file("Cargo.toml", CARGO_TOML),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let gitlab = GitLab::with_sleeper(
        ClientConfig::new(sim.url(), Secret::new(sim.bot_token())),
        sleeper,
    )
    .unwrap();
    let me: User = gitlab.current_user().await.unwrap();
    let app = spawn(Options {
        gitlab: Some((gitlab, me)),
        fixer: Some(fixer),
        tweak: Box::new(tweak),
        backend,
        ..Options::default()
    })
    .await;
    sim.with_world(|w| w.add_project_hook(pid, HookTarget::new(app.webhook_url()).token(SECRET)))
        .unwrap();
    World { sim, app, pid, bot }
}

impl World {
    /// Delivers what the simulator queued until nothing is left (the bot's reactions make more).
    pub async fn settle(&self) {
        loop {
            let sent = self.sim.deliver_pending().await;
            for (d, status) in &sent {
                assert!(
                    *status == 202 || *status == 200,
                    "{status} {:?}",
                    d.header("X-Gitlab-Event")
                );
            }
            self.app.drain().await;
            if sent.is_empty() && self.sim.with_world(|w| w.pending.is_empty()) {
                return;
            }
        }
    }

    pub fn mrs(&self) -> Vec<gitlab_sim::world::MergeRequest> {
        self.sim
            .with_world(|w| w.project(self.pid).unwrap().merge_requests.clone())
    }

    pub fn file(&self, branch: &str, path: &str) -> Option<String> {
        self.sim.with_world(|w| {
            let p = w.project(self.pid).unwrap();
            let head = p.repo.head(branch)?;
            head.files
                .get(path)
                .map(|f| String::from_utf8(f.content.to_vec()).unwrap())
        })
    }

    pub fn head(&self, branch: &str) -> Option<String> {
        self.sim.with_world(|w| {
            w.project(self.pid)
                .unwrap()
                .repo
                .head(branch)
                .map(|c| c.id.clone())
        })
    }

    pub async fn commit(&self, user: u64, branch: &str, path: &str, content: &str) {
        self.sim
            .with_world(|w| {
                w.commit_files(
                    self.pid,
                    user,
                    branch,
                    "change",
                    vec![(path.into(), Some(content.to_string().into()))],
                )
            })
            .unwrap();
        self.settle().await;
    }

    pub async fn remediation(&self) -> serde_json::Value {
        let (_, body) = self.app.api("/api/v1/remediations").await;
        body["items"][0].clone()
    }
}

const BRANCH: &str = "backline/crates.io/regex-1.5.5";

on_both_backends!(reference_from_finding_to_mr_and_through_its_lifecycle);
async fn reference_from_finding_to_mr_and_through_its_lifecycle(backend: Backend) {
    let w = world_on(backend, Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    w.sim.reset_requests();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    // One MR, with the edit on its branch.
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    let mr = &mrs[0];
    assert_eq!(mr.source_branch, BRANCH);
    assert_eq!(mr.title, "Security: bump regex from 1.5.4 to 1.5.5");
    assert!(
        mr.description
            .contains("| RUSTSEC-2022-0013 | CVE-2022-24713"),
        "{}",
        mr.description
    );
    assert!(mr.description.contains("<!-- backline: {"));
    assert_eq!(
        mr.labels,
        vec!["security".to_string(), "backline".to_string()]
    );
    assert!(mr.remove_source_branch);
    assert_eq!(w.file(BRANCH, "Cargo.lock").unwrap(), lock("1.5.5"));
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "mr_open");
    assert!(w.sim.unmodeled().is_empty(), "{:?}", w.sim.unmodeled());

    // The same push delivered twice, and a rescan: still one MR.
    w.commit(w.bot_user_other().await, "main", "README.md", "hello")
        .await;
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1);

    // Fixed by hand on the default branch: the MR is closed as obsolete, with a note.
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "Cargo.lock", &lock("1.5.6")).await;
    let mr = &w.mrs()[0];
    assert_eq!(mr.state, MrState::Closed);
    assert!(
        mr.notes
            .iter()
            .any(|n| n.body.starts_with("Closing: regex is no longer vulnerable")),
        "{:?}",
        mr.notes
    );
    assert_eq!(w.remediation().await["state"], "obsolete");

    // Reverted: the same MR is reopened and its branch refreshed.
    w.commit(alice, "main", "Cargo.lock", &lock("1.5.4")).await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].state, MrState::Opened);
    assert_eq!(w.remediation().await["state"], "mr_open");

    // A person closes it: dismissed, with a note; the next push opens nothing.
    let iid = mrs[0].iid;
    w.sim.with_world(|x| x.close_mr(w.pid, iid, alice)).unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "dismissed");
    assert!(w.mrs()[0]
        .notes
        .iter()
        .any(|n| n.body.contains("will not propose `regex` `1.5.5` again")));
    w.commit(alice, "main", "README.md", "again").await;
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1);
    assert_eq!(w.mrs()[0].state, MrState::Closed);

    // A person reopens it: tracked again.
    w.sim
        .with_world(|x| x.reopen_mr(w.pid, iid, alice))
        .unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "mr_open");

    // A person pushes to the bot's branch: no force-push from then on...
    w.commit(alice, BRANCH, "NOTES.md", "my change").await;
    let before = w.head(BRANCH).unwrap();
    w.commit(alice, "main", "Cargo.lock", &format!("{}\n", lock("1.5.4")))
        .await;
    assert_eq!(
        w.head(BRANCH).unwrap(),
        before,
        "the bot must not replace a person's commits"
    );
    assert_eq!(w.remediation().await["edited_by_person"], true);
    // ... until /backline recreate.
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline recreate"))
        .unwrap();
    w.settle().await;
    assert_ne!(w.head(BRANCH).unwrap(), before);
    assert!(w.file(BRANCH, "NOTES.md").is_none());
    let notes = w.mrs()[0].notes.clone();
    let replies: Vec<_> = notes
        .iter()
        .filter(|n| n.author_id == w.bot && n.body.starts_with("@alice"))
        .collect();
    assert_eq!(replies.len(), 1, "{notes:?}");
    assert!(replies[0]
        .body
        .contains("`/backline recreate`: recreated the branch"));

    // The history shows every transition.
    let history = w.remediation().await["history"].as_array().unwrap().len();
    assert!(history >= 7, "{history}");
    assert!(w.sim.unmodeled().is_empty(), "{:?}", w.sim.unmodeled());
    w.app.shutdown().await;
}

impl World {
    /// A Developer other than the bot (created once).
    pub async fn bot_user_other(&self) -> u64 {
        self.sim.with_world(|x| match x.user_by_name("alice") {
            Some(id) => id,
            None => {
                let id = x.create_user("alice", "Alice");
                x.add_member(self.pid, id, access::DEVELOPER).unwrap();
                id
            }
        })
    }
}

const CKSUM_OLD: &str = "d1d0a3c1d5c1b1f1a1e1b1c1d1e1f1a1b1c1d1e1f1a1b1c1d1e1f1a1b1c1d1e1";
const CKSUM_NEW: &str = "1a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4d6f8a0c2e4f6081a3c5e7092b4";

fn registry_fixer(deps: &[(&str, &str)]) -> Arc<dyn Fixer> {
    let registry =
        backline::registry::FakeRegistry::new().crate_version("regex", "1.5.5", CKSUM_NEW, deps);
    Arc::new(backline::remediation::fixer::PatchFixer::new(Arc::new(
        registry,
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_patcher_edits_version_and_checksum_or_says_why_not() {
    let w = world(registry_fixer(&[])).await;
    let with_checksum = lock("1.5.4").replace(
        "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        &format!("source = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{CKSUM_OLD}\"\n"),
    );
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "Cargo.lock", &with_checksum).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1, "{}", w.remediation().await);
    let edited = w.file(BRANCH, "Cargo.lock").unwrap();
    assert_eq!(
        edited,
        with_checksum
            .replace("1.5.4", "1.5.5")
            .replace(CKSUM_OLD, CKSUM_NEW)
    );
    // Cargo.toml allows 1.5.5 ("1"): untouched.
    assert_eq!(w.file(BRANCH, "Cargo.toml").unwrap(), CARGO_TOML);
    w.app.shutdown().await;

    // When the new version needs a crate the lockfile lacks: not fixable, with the reason, no MR.
    let w = world(registry_fixer(&[("regex-syntax", "^0.6.25")])).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert!(w.mrs().is_empty());
    let rem = w.remediation().await;
    assert_eq!(rem["state"], "not_fixable");
    assert!(
        rem["reason"].as_str().unwrap().contains("regex-syntax"),
        "{rem}"
    );
    w.app.shutdown().await;
}

on_both_backends!(commands_permissions_code_blocks_edits_and_replays);
async fn commands_permissions_code_blocks_edits_and_replays(backend: Backend) {
    let w = world_on(backend, Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let iid = w.mrs()[0].iid;
    let alice = w.bot_user_other().await;
    let guest = w.sim.with_world(|x| {
        let id = x.create_user("gus", "Gus");
        x.add_member(w.pid, id, access::GUEST).unwrap();
        id
    });
    let bot_notes = |w: &World| -> Vec<String> {
        w.mrs()[0]
            .notes
            .iter()
            .filter(|n| n.author_id == w.bot && !n.system)
            .map(|n| n.body.clone())
            .collect()
    };
    // A developer's rebase: one reply, eyes and a check mark.
    let note = w
        .sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "Please:\n/backline rebase"))
        .unwrap();
    let sent = w.sim.deliver_pending().await;
    w.app.drain().await;
    w.settle().await;
    let note_delivery = sent
        .iter()
        .find(|(d, _)| d.header("X-Gitlab-Event") == Some("Note Hook"))
        .unwrap()
        .0
        .clone();
    let replies = bot_notes(&w);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].starts_with("@alice\n\n- `/backline rebase`: rebased on the default branch"),
        "{}",
        replies[0]
    );
    let awards: Vec<String> = w.mrs()[0]
        .notes
        .iter()
        .find(|n| n.id == note)
        .unwrap()
        .awards
        .iter()
        .filter(|a| a.user_id == w.bot)
        .map(|a| a.name.clone())
        .collect();
    assert!(
        awards.contains(&"eyes".to_string()) && awards.contains(&"white_check_mark".to_string()),
        "{awards:?}"
    );
    // The same event again under a new delivery id (GitLab's manual resend): nothing twice.
    let again = gitlab_sim::DeliveryBuilder::new("Note Hook", note_delivery.body.clone())
        .secret_token(SECRET)
        .build()
        .unwrap();
    let (status, _) = w.app.deliver(&again).await;
    assert_eq!(status, 202);
    w.app.drain().await;
    assert_eq!(bot_notes(&w).len(), 1);
    // Editing the note to add a command runs only the new one.
    w.sim
        .with_world(|x| {
            x.edit_note(
                w.pid,
                iid,
                note,
                alice,
                "Please:\n/backline rebase\n/backline status",
            )
        })
        .unwrap();
    w.settle().await;
    let replies = bot_notes(&w);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(
        replies[1].contains("`/backline status`") && !replies[1].contains("`/backline rebase`"),
        "{}",
        replies[1]
    );
    // A guest: one refusal.
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, guest, "/backline recreate"))
        .unwrap();
    w.settle().await;
    let replies = bot_notes(&w);
    assert_eq!(replies.len(), 3);
    assert!(
        replies[2].contains("only members with the Developer role"),
        "{}",
        replies[2]
    );
    // Inside a code block, or a quote: nothing.
    w.sim
        .with_world(|x| {
            x.add_note(
                w.pid,
                iid,
                alice,
                "Run:\n```\n/backline recreate\n```\n> /backline ignore",
            )
        })
        .unwrap();
    w.settle().await;
    assert_eq!(bot_notes(&w).len(), 3);
    // An unknown command gets the help.
    w.sim
        .with_world(|x| x.add_note(w.pid, iid, alice, "/backline frobnicate"))
        .unwrap();
    w.settle().await;
    let replies = bot_notes(&w);
    assert!(
        replies[3].contains("`frobnicate` is not a command")
            && replies[3].contains("`/backline recreate`")
    );
    assert!(w.sim.unmodeled().is_empty(), "{:?}", w.sim.unmodeled());
    w.app.shutdown().await;
}

on_both_backends!(failures_and_duplicate_deliveries_never_make_a_second_mr);
async fn failures_and_duplicate_deliveries_never_make_a_second_mr(backend: Backend) {
    let w = world_on(backend, Arc::new(CargoLockLines)).await;
    // A second hook to the same app: every push arrives twice, as two distinct deliveries.
    w.sim
        .with_world(|x| {
            x.add_project_hook(w.pid, HookTarget::new(w.app.webhook_url()).token(SECRET))
        })
        .unwrap();
    // GitLab fails the MR creation once with a 500 (the POST is not repeated by the client; the
    // delivery is retried by the inbox and finds the branch already written).
    w.sim
        .faults()
        .fail_next("POST", "/projects/:id/merge_requests", 1, 500);
    w.sim
        .faults()
        .fail_next_retry_after("GET", "/projects/:id/merge_requests", 1, 429, 0);
    // The project is catalogued by a push: the bot's role comes with a system-less setup, so
    // drive it with a push delivered to both hooks at once.
    let alice = w.bot_user_other().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    // Catalogue without acting: the first sync fails on the injected 500 and is retried by the push.
    let _ = service.sync(&Quiet).await;
    w.commit(alice, "main", "Cargo.lock", &format!("{}\n", lock("1.5.4")))
        .await;
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].state, MrState::Opened);
    assert!(w.sim.count("POST", "/projects/:id/merge_requests") >= 2);
    assert_eq!(
        w.file(BRANCH, "Cargo.lock").unwrap(),
        format!("{}\n", lock("1.5.5"))
    );
    let (_, dead) = w.app.api("/api/v1/dead-letters").await;
    assert_eq!(dead["total"], 0, "{dead}");
    w.app.shutdown().await;
}

on_both_backends!(a_missed_webhook_is_repaired_by_the_periodic_reconcile);
async fn a_missed_webhook_is_repaired_by_the_periodic_reconcile(backend: Backend) {
    let w = world_on(backend, Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let iid = w.mrs()[0].iid;
    let alice = w.bot_user_other().await;
    // A person closes the MR, and GitLab's webhook is lost.
    w.sim.with_world(|x| x.close_mr(w.pid, iid, alice)).unwrap();
    let lost = w.sim.take_pending();
    assert!(!lost.is_empty());
    assert_eq!(w.remediation().await["state"], "mr_open");
    // The next sync's reconcile sees it.
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.remediation().await["state"], "dismissed");
    assert_eq!(w.mrs().len(), 1, "no second MR");
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_advisory_moves_the_same_mr_to_the_higher_version() {
    let w = world(Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1);
    let iid = w.mrs()[0].iid;
    // A new advisory: regex < 1.5.6 is affected by something else too.
    let reference = crate::harness::test_data("rustsec-advisory-db");
    let mut advisories = backline::advisories::import_path(&reference)
        .unwrap()
        .advisories;
    let extra: backline::advisories::Advisory = {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("GHSA-test-regex.json"),
            r#"{"id":"GHSA-xxxx-yyyy-zzzz","summary":"A later regex issue","modified":"2026-11-01T00:00:00Z",
               "database_specific":{"severity":"HIGH"},
               "affected":[{"package":{"ecosystem":"crates.io","name":"regex"},
                 "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.5.6"}]}]}]}"#,
        )
        .unwrap();
        backline::advisories::import_path(dir.path())
            .unwrap()
            .advisories
            .remove(0)
    };
    advisories.push(extra);
    let scanner = w.app.app.engine.clone().unwrap();
    scanner
        .replace_index(backline::advisories::Index::new(advisories))
        .await
        .unwrap();
    w.settle().await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "the same MR, not a second one");
    assert_eq!(mrs[0].iid, iid);
    assert_eq!(mrs[0].title, "Security: bump regex from 1.5.4 to 1.5.6");
    assert!(mrs[0].description.contains("GHSA-xxxx-yyyy-zzzz"));
    assert_eq!(w.file(BRANCH, "Cargo.lock").unwrap(), lock("1.5.6"));
    let rem = w.remediation().await;
    assert_eq!(rem["target_version"], "1.5.6");
    assert!(rem["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["why"].as_str().unwrap().starts_with("superseded")));
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outdated_direct_dependencies_are_shown_and_planned_when_asked() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let bot = sim.bot_user();
    let pid = sim.with_world(|w| {
        let id = w
            .create_project(
                ProjectSpec::new("acme", "lib")
                    .file(
                        "Cargo.lock",
                        lock("1.5.5").replace(
                            "crates.io-index\"\n",
                            &format!("crates.io-index\"\nchecksum = \"{CKSUM_NEW}\"\n"),
                        ),
                    )
                    .file("Cargo.toml", CARGO_TOML),
            )
            .unwrap();
        w.add_member(id, bot, access::DEVELOPER).unwrap();
        id
    });
    let registry: Arc<dyn backline::registry::Registry> = Arc::new(
        backline::registry::FakeRegistry::new()
            .crate_version("regex", "1.5.5", CKSUM_NEW, &[])
            .crate_version("regex", "1.12.3", CKSUM_OLD, &[]),
    );
    let gitlab = GitLab::new(ClientConfig::new(sim.url(), Secret::new(sim.bot_token()))).unwrap();
    let me: User = gitlab.current_user().await.unwrap();
    let reference = crate::harness::test_data("");
    let app = spawn(Options {
        gitlab: Some((gitlab, me)),
        registry: Some(registry),
        tweak: Box::new(move |s| {
            s.advisories = vec![reference.join("rustsec-advisory-db")];
            s.update_outdated = true;
        }),
        ..Options::default()
    })
    .await;
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    app.drain().await;
    let (_, outdated) = app.api(&format!("/api/v1/projects/{pid}/outdated")).await;
    let (_, manifests) = app.api(&format!("/api/v1/projects/{pid}/manifests")).await;
    assert_eq!(outdated["total"], 1, "{outdated} {manifests}");
    assert_eq!(outdated["items"][0]["package"], "regex");
    assert_eq!(outdated["items"][0]["installed"], "1.5.5");
    assert_eq!(outdated["items"][0]["latest"], "1.12.3");
    // Planned, never approved by policy: no MR until a person approves.
    let (_, rems) = app.api("/api/v1/remediations").await;
    let rem = rems["items"][0].clone();
    assert_eq!(rem["state"], "planned", "{rem}");
    assert!(rem["approved_by"].is_null());
    assert!(sim.with_world(|w| w.project(pid).unwrap().merge_requests.is_empty()));
    let (status, _) = app
        .api_post(&format!("/api/v1/remediations/{}/approve", rem["id"]))
        .await;
    assert_eq!(status, 202);
    // The approval is a queued action, run by the workers in the project's lane.
    app.drain().await;
    let mrs = sim.with_world(|w| w.project(pid).unwrap().merge_requests.clone());
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].title, "Update: bump regex from 1.5.5 to 1.12.3");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_filters_remediations_and_ignores_one() {
    let w = world(Arc::new(CargoLockLines)).await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let (_, open) = w
        .app
        .api(&format!(
            "/api/v1/remediations?project={}&state=mr_open&severity=high",
            w.pid
        ))
        .await;
    assert_eq!(open["total"], 1, "{open}");
    let (_, none) = w.app.api("/api/v1/remediations?state=planned").await;
    assert_eq!(none["total"], 0, "{none}");
    let (status, _) = w.app.api("/api/v1/remediations?severity=urgent").await;
    assert_eq!(status, 400);
    let id = open["items"][0]["id"].as_u64().unwrap();
    let (status, body) = w
        .app
        .api_post(&format!("/api/v1/remediations/{id}/ignore?wait=true"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remediation"]["state"], "dismissed");
    assert_eq!(w.mrs()[0].state, MrState::Closed);
    w.settle().await;
    // The bot's own close is not read as a person's.
    assert_eq!(w.remediation().await["state"], "dismissed");
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_without_a_token() {
    let app = crate::harness::spawn_app().await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/remediations/{id}/approve"]["post"].is_object());
    app.shutdown().await;
}

fn osv_zip(records: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in records {
            w.start_file(*name, opts).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisories_synced_inside_the_server_open_the_fix() {
    use actix_web::{web, App as ActixApp, HttpResponse, HttpServer};
    // An OSV bucket on loopback: crates.io/all.zip holds the regex advisory; the others 404.
    let zip = osv_zip(&[(
        "RUSTSEC-2022-0013.json",
        r#"{"id":"RUSTSEC-2022-0013","modified":"2022-03-08T12:00:00Z","aliases":["CVE-2022-24713","GHSA-m5pq-gvj9-9vr8"],
            "summary":"Regexes with large repetitions on empty sub-expressions take a very long time to parse",
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "affected":[{"package":{"ecosystem":"crates.io","name":"regex"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.5.5"}]}]}]}"#,
    )]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bucket = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let zip = zip.clone();
        ActixApp::new().route(
            "/crates.io/all.zip",
            web::get().to(move |req: actix_web::HttpRequest| {
                let zip = zip.clone();
                async move {
                    // Conditional requests, as a bucket answers them.
                    let etag = req
                        .headers()
                        .get("If-None-Match")
                        .and_then(|v| v.to_str().ok());
                    if etag == Some("\"v1\"") {
                        return HttpResponse::NotModified().finish();
                    }
                    HttpResponse::Ok()
                        .insert_header(("ETag", "\"v1\""))
                        .body(zip)
                }
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

    let World { sim, app, pid, .. } =
        world_with(Arc::new(CargoLockLines), move |s| s.osv_base_url = bucket).await;
    let service = app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    app.drain().await;
    let (_, before) = app.api("/api/v1/remediations").await;
    assert_eq!(before["total"], 0, "no advisories yet: {before}");
    let (status, summary) = app.api_post("/api/v1/advisories/sync?wait=true").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["advisories"], 1, "{summary}");
    assert_eq!(summary["projects_rechecked"], 1);
    let crates = summary["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ecosystem"] == "crates.io")
        .unwrap()
        .clone();
    assert!(
        crates["outcome"].as_str().unwrap().starts_with("updated"),
        "{crates}"
    );
    let mrs = sim.with_world(|w| w.project(pid).unwrap().merge_requests.clone());
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].title, "Security: bump regex from 1.5.4 to 1.5.5");
    // A second sync: 304s, nothing rechecked, still one MR.
    let (_, again) = app.api_post("/api/v1/advisories/sync?wait=true").await;
    assert_eq!(again["projects_rechecked"], 0, "{again}");
    let (_, status_now) = app.api("/api/v1/advisories").await;
    assert_eq!(status_now["index"]["advisories"], 1);
    assert!(status_now["last_sync"].is_object());
    assert_eq!(
        sim.with_world(|w| w.project(pid).unwrap().merge_requests.len()),
        1
    );
    app.shutdown().await;
    handle.stop(false).await;
}

/// Issue 11: the whole path from finding to MR still works when GitLab rate limits with
/// minute-long `Retry-After`s in both of its shapes (Rack::Attack text, the application
/// limiter's JSON), against the simulator's default (asynchronous) merge request behaviour; the
/// waits go through the injected sleeper, so nothing really waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minute_long_rate_limits_still_end_in_one_mr() {
    let sleeper = Arc::new(backline::gitlab::client::RecordingSleeper::default());
    let w = world_with_sleeper(
        Arc::new(CargoLockLines),
        |s| {
            s.advisories = vec![crate::harness::test_data("rustsec-advisory-db")];
        },
        sleeper.clone(),
    )
    .await;
    w.sim
        .faults()
        .fail_next_retry_after("POST", "/projects/:id/merge_requests", 1, 429, 75);
    w.sim
        .faults()
        .rate_limit_json_next("GET", "/projects/:id/repository/tree", 1, 60);
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(w.remediation().await["state"], "mr_open");
    let waits = sleeper.waits();
    for expected in [Duration::from_secs(75), Duration::from_secs(60)] {
        assert!(waits.contains(&expected), "{waits:?}");
    }
    // The MR create was refused once by the limiter, then made once.
    assert_eq!(w.sim.count("POST", "/projects/:id/merge_requests"), 2);
}

/// A package-lock.json v1 as npm 6 writes it, with lodash installed three times: 4.17.11 at
/// the top (pinned by package.json), 4.13.1 under `modern-utils` (`^4.13.0`) and 2.4.2 under
/// `legacy-utils` (`~2.4.1`, which excludes every fix).
const THREE_COPIES_LOCK: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "legacy-utils": {
      "version": "1.2.0",
      "resolved": "https://registry.npmjs.org/legacy-utils/-/legacy-utils-1.2.0.tgz",
      "integrity": "sha512-bGVnYWN5LXV0aWxzLTEuMi4w",
      "requires": {
        "lodash": "~2.4.1"
      },
      "dependencies": {
        "lodash": {
          "version": "2.4.2",
          "resolved": "https://registry.npmjs.org/lodash/-/lodash-2.4.2.tgz",
          "integrity": "sha1-+t2DS5aDBz2hebPq5tnA0VBT9z4="
        }
      }
    },
    "lodash": {
      "version": "4.17.11",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.11.tgz",
      "integrity": "sha512-cQKh8igo5QUhZ7lg38DYWAxMvjSAKG0A8wGSVimP07SIUEK2UO+arSRKbRZWtelMtN5V0Hkwh5ryOto/SshYIg=="
    },
    "modern-utils": {
      "version": "3.1.0",
      "resolved": "https://registry.npmjs.org/modern-utils/-/modern-utils-3.1.0.tgz",
      "integrity": "sha512-bW9kZXJuLXV0aWxzLTMuMS4w",
      "requires": {
        "lodash": "^4.13.0"
      },
      "dependencies": {
        "lodash": {
          "version": "4.13.1",
          "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.13.1.tgz",
          "integrity": "sha1-g+SxCRP0hJbU0W/sSlYK8u50S2g="
        }
      }
    }
  }
}
"#;

const THREE_COPIES_PJ: &str = "{\n  \"name\": \"shop\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"legacy-utils\": \"1.2.0\",\n    \"lodash\": \"4.17.11\",\n    \"modern-utils\": \"3.1.0\"\n  }\n}\n";

const LODASH_INTEGRITY: &str = "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==";

/// Issue 13: one MR moves the two copies every range allows, claims only those, and says which
/// copy remains and what it needs; the API shows each copy's own state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mr_claims_exactly_the_copies_it_moves() {
    let advisories = tempfile::tempdir().unwrap();
    // GHSA-35jh-r3h4-6jhm (command injection in lodash's template), as OSV.
    std::fs::write(
        advisories.path().join("GHSA-35jh-r3h4-6jhm.json"),
        r#"{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-03-15T12:00:00Z","aliases":["CVE-2021-23337"],
            "summary":"Command Injection in lodash","database_specific":{"severity":"HIGH"},
            "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}"#,
    )
    .unwrap();
    let registry =
        backline::registry::FakeRegistry::new().npm_release(backline::registry::NpmRelease {
            name: "lodash".into(),
            version: "4.17.21".into(),
            integrity: LODASH_INTEGRITY.into(),
            shasum: Some("679591c564c3bffaae8454cf0b3df370c3d6911c".into()),
            tarball: "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz".into(),
            dependencies: Default::default(),
            optional_dependencies: Default::default(),
            peer_dependencies: Default::default(),
        });
    let fixer = Arc::new(backline::remediation::fixer::PatchFixer::new(Arc::new(
        registry,
    )));
    let dir = advisories.path().to_path_buf();
    let w = world_with(fixer, move |s| s.advisories = vec![dir]).await;
    let alice = w.bot_user_other().await;
    w.commit(alice, "main", "package-lock.json", THREE_COPIES_LOCK)
        .await;
    w.commit(alice, "main", "package.json", THREE_COPIES_PJ)
        .await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;

    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "one MR for the package: {mrs:?}");
    let mr = &mrs[0];
    let branch = "backline/npm/lodash-4.17.21";
    assert_eq!(mr.source_branch, branch);
    assert_eq!(
        mr.title,
        "Security: bump lodash from 4.13.1, 4.17.11 to 4.17.21"
    );
    assert!(
        mr.description.contains(
            "- `4.13.1` → `4.17.21` at `modern-utils > lodash`\n- `4.17.11` → `4.17.21` at `lodash`\n"
        ),
        "{}",
        mr.description
    );
    assert!(
        mr.description.contains(
            "- `2.4.2` at `legacy-utils > lodash`: needs legacy-utils to allow lodash >= 4.17.21"
        ),
        "{}",
        mr.description
    );
    // The branch: the two copies moved, the excluded one untouched, the pin with the top copy.
    let lock = w.file(branch, "package-lock.json").unwrap();
    assert_eq!(
        lock,
        THREE_COPIES_LOCK
            .replace("lodash-4.13.1.tgz", "lodash-4.17.21.tgz")
            .replace("lodash-4.17.11.tgz", "lodash-4.17.21.tgz")
            .replace("\"version\": \"4.13.1\"", "\"version\": \"4.17.21\"")
            .replace("\"version\": \"4.17.11\"", "\"version\": \"4.17.21\"")
            .replace("sha1-g+SxCRP0hJbU0W/sSlYK8u50S2g=", LODASH_INTEGRITY)
            .replace(
                "sha512-cQKh8igo5QUhZ7lg38DYWAxMvjSAKG0A8wGSVimP07SIUEK2UO+arSRKbRZWtelMtN5V0Hkwh5ryOto/SshYIg==",
                LODASH_INTEGRITY
            )
    );
    assert_eq!(
        w.file(branch, "package.json").unwrap(),
        THREE_COPIES_PJ.replace("\"lodash\": \"4.17.11\"", "\"lodash\": \"4.17.21\"")
    );

    // One remediation; each copy with its own state: only the moved ones are `mr_open`.
    let (_, all) = w.app.api("/api/v1/remediations").await;
    assert_eq!(all["total"], 1, "{all}");
    let rem = &all["items"][0];
    assert_eq!(rem["state"], "mr_open");
    let copies: Vec<(String, String, bool)> = rem["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["version"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
                c["moved_by_mr"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        copies,
        vec![
            ("4.13.1".into(), "mr_open".into(), true),
            ("4.17.11".into(), "mr_open".into(), true),
            ("2.4.2".into(), "not_fixable".into(), false),
        ]
    );
    let left = &rem["copies"][2];
    assert!(
        left["reason"]
            .as_str()
            .unwrap()
            .starts_with("needs legacy-utils to allow lodash >= 4.17.21"),
        "{left}"
    );

    // A rescan changes nothing: still one MR, not retargeted.
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    assert_eq!(w.mrs().len(), 1);
    assert_eq!(w.mrs()[0].description, mr.description);
    assert!(w.sim.unmodeled().is_empty(), "{:?}", w.sim.unmodeled());
    w.app.shutdown().await;
    drop(advisories);
}
