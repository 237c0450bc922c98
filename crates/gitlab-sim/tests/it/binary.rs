//! The `gitlab-sim` binary: starts, prints its URL, serves generated and imported projects.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_generated_and_imported_projects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module x\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitlab-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "bin-token",
            "--projects",
            "30",
            "--seed",
            "3",
        ])
        .arg("--import")
        .arg(format!("demo/imported={}", dir.path().display()))
        .args(["--user", "dana=dana-token:developer"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let url = line
        .strip_prefix("gitlab-sim listening on ")
        .expect(&line)
        .to_string();
    let r = client()
        .get(format!(
            "{url}/api/v4/projects?membership=true&min_access_level=30&archived=false&per_page=100"
        ))
        .header("PRIVATE-TOKEN", "bin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-total"), "31");
    let r = client()
        .get(format!(
            "{url}/api/v4/projects/demo%2Fimported/repository/files/go.mod/raw"
        ))
        .header("PRIVATE-TOKEN", "bin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "module x\n");
    // `--user`: Dana's token is Dana, a developer on the imported project.
    let r = client()
        .get(format!("{url}/api/v4/user"))
        .header("PRIVATE-TOKEN", "dana-token")
        .send()
        .await
        .unwrap();
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["username"], "dana");
    let r = client()
        .get(format!(
            "{url}/api/v4/projects/demo%2Fimported/members/all/{}",
            me["id"]
        ))
        .header("PRIVATE-TOKEN", "bin-token")
        .send()
        .await
        .unwrap();
    let member: serde_json::Value = r.json().await.unwrap();
    assert_eq!(member["access_level"], 30, "{member}");
    // SIGTERM ends it cleanly.
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_user_is_refused_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_gitlab-sim"))
        .args(["--listen", "127.0.0.1:0", "--user", "dana=token:admin"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not one of guest, reporter"), "{err}");
}
