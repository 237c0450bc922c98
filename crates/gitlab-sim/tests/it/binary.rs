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
