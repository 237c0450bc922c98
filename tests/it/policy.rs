//! The repository policy end to end against gitlab-sim: `.gitlab/backline.yml` ignores a
//! package (its remediation says why, with the expiry), sets the labels and the approval
//! threshold; a push that does not touch it reads nothing more; a bad file gets a failed
//! `backline/policy` status naming the line and the previous policy stays.

use std::sync::Arc;

use backline::catalog::service::Quiet;
use gitlab_sim::access;
use serde_json::Value;

use crate::remediation::{world, CargoLockLines, World};

const POLICY: &str = "labels: [deps, security-fix]\nauto_approve: low\nignore:\n  - package: regex\n    reason: not reachable from our code\n    until: 2999-01-31\n";

pub fn two_crates_lock() -> String {
    format!(
        "{}\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        crate::remediation::lock("1.5.4")
    )
}

/// `acme/api` with regex 1.5.4 and smallvec 1.6.0 and `policy` as its policy file, synced.
pub async fn policy_world(policy: &str) -> (World, u64) {
    let w = world(Arc::new(CargoLockLines)).await;
    let alice = w.sim.with_world(|x| {
        let alice = x.create_user("alice", "Alice");
        x.add_member(w.pid, alice, access::MAINTAINER).unwrap();
        x.commit_files(
            w.pid,
            alice,
            "main",
            "policy and a second crate",
            vec![
                ("Cargo.lock".into(), Some(two_crates_lock().into())),
                (
                    ".gitlab/backline.yml".into(),
                    Some(policy.to_string().into()),
                ),
            ],
        )
        .unwrap();
        alice
    });
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    (w, alice)
}

pub async fn remediation_of(w: &World, package: &str) -> Value {
    let (_, body) = w.app.api("/api/v1/remediations").await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["package"] == package)
        .cloned()
        .unwrap_or_else(|| panic!("no remediation of {package}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_file_ignores_labels_approves_and_a_bad_file_keeps_the_last_one() {
    let (w, alice) = policy_world(POLICY).await;
    // The ignored package gets no MR; the other one (critical, approved) carries the labels.
    let mrs = w.mrs();
    assert_eq!(mrs.len(), 1, "{mrs:?}");
    assert_eq!(mrs[0].source_branch, "backline/crates.io/smallvec-1.6.1");
    assert_eq!(mrs[0].labels, ["deps", "security-fix"]);
    let regex = remediation_of(&w, "regex").await;
    assert_eq!(regex["state"], "dismissed", "{regex}");
    let why =
        "ignored by the policy file (package regex): not reachable from our code; until 2999-01-31";
    assert_eq!(regex["reason"], why, "{regex}");
    let last = regex["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["by"], "policy file", "{regex}");
    assert_eq!(last["why"], why, "{regex}");
    // The effective policy with the source of each value.
    let (status, policy) = w
        .app
        .api(&format!("/api/v1/projects/{}/policy", w.pid))
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["file"], ".gitlab/backline.yml");
    let e = &policy["effective"];
    assert_eq!(
        e["labels"]["value"],
        serde_json::json!(["deps", "security-fix"])
    );
    assert_eq!(e["labels"]["source"], "file");
    assert_eq!(e["auto_approve"]["value"], "low");
    assert_eq!(e["max_open_mrs"]["source"], "instance");
    assert_eq!(e["ignore"]["value"][0]["until"], "2999-01-31");
    assert!(policy["problem"].is_null(), "{policy}");

    // A push that does not touch the policy file reads nothing more for it.
    w.sim.reset_requests();
    w.commit(alice, "main", "README.md", "hello\n").await;
    let policy_reads: Vec<_> = w
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("backline.yml"))
        .collect();
    assert!(policy_reads.is_empty(), "{policy_reads:?}");

    // A bad file: a failed status on the commit that changed it, naming the line; the
    // previous policy stays.
    w.commit(
        alice,
        "main",
        ".gitlab/backline.yml",
        "labels: [other]\nlabelz: [x]\n",
    )
    .await;
    let head = w.head("main").unwrap();
    let statuses: Vec<(String, String, String)> = w.sim.with_world(|x| {
        x.project(w.pid)
            .unwrap()
            .statuses
            .iter()
            .filter(|s| s.name == "backline/policy")
            .map(|s| {
                (
                    s.sha.clone(),
                    s.status.clone(),
                    s.description.clone().unwrap_or_default(),
                )
            })
            .collect()
    });
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].0, head);
    assert_eq!(statuses[0].1, "failed");
    assert!(
        statuses[0].2.contains("line 2: unknown field `labelz`")
            && statuses[0].2.ends_with("the previous policy stays"),
        "{statuses:?}"
    );
    let (_, policy) = w
        .app
        .api(&format!("/api/v1/projects/{}/policy", w.pid))
        .await;
    assert_eq!(policy["problem"]["line"], 2, "{policy}");
    assert_eq!(
        policy["effective"]["labels"]["value"],
        serde_json::json!(["deps", "security-fix"])
    );

    // Fixed: the status turns green and the new labels hold.
    w.commit(alice, "main", ".gitlab/backline.yml", "labels: [other]\n")
        .await;
    let (_, policy) = w
        .app
        .api(&format!("/api/v1/projects/{}/policy", w.pid))
        .await;
    assert!(policy["problem"].is_null(), "{policy}");
    assert_eq!(
        policy["effective"]["labels"]["value"],
        serde_json::json!(["other"])
    );
    // Without the ignore, regex is planned again.
    let regex = remediation_of(&w, "regex").await;
    assert_ne!(regex["state"], "dismissed", "{regex}");
    let last = regex["history"].as_array().unwrap().last().unwrap().clone();
    assert!(
        regex["history"]
            .to_string()
            .contains("no longer ignored by the policy file"),
        "{last}"
    );
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_project_is_catalogued_but_not_scanned() {
    let (w, _) = policy_world("enabled: false\n").await;
    assert!(w.mrs().is_empty());
    let (_, body) = w.app.api("/api/v1/remediations").await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, policy) = w
        .app
        .api(&format!("/api/v1/projects/{}/policy", w.pid))
        .await;
    assert_eq!(policy["effective"]["enabled"]["value"], false);
    w.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_schema_is_served_without_a_token() {
    let app = crate::harness::spawn_app().await;
    let r = reqwest::get(format!("{}/api/v1/policy-schema.json", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(
        doc["properties"]["auto_merge"]["properties"]["max_bump"]["enum"][0],
        "patch"
    );
    assert_eq!(doc["additionalProperties"], false);
    app.shutdown().await;
}
