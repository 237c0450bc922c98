//! `backline scan`, the real binary: exit codes, JSON shape, informational advisories kept
//! apart, parse errors naming file and line, and (when cargo-audit is installed, as in CI) the
//! same vulnerabilities as `cargo audit` on the same lockfile and database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::binary::command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rustsec_db() -> PathBuf {
    crate::harness::test_data("rustsec-advisory-db")
}

fn pypa_db() -> PathBuf {
    crate::harness::test_data("pypa-advisory-database")
}

async fn scan(args: &[&str]) -> (i32, String, String) {
    let out = command(&[&["scan"], args].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lockfile() -> String {
    root()
        .join("tests/fixtures/scan/Cargo.lock")
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_rustsec_scan_of_a_vulnerable_lockfile() {
    let db = rustsec_db().display().to_string();
    let (code, stdout, stderr) =
        scan(&[&lockfile(), "--advisories", &db, "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let regex = findings
        .iter()
        .find(|f| f["advisory"]["id"] == "RUSTSEC-2022-0013")
        .expect("regex 1.5.4 is vulnerable");
    assert_eq!(regex["package"], "regex");
    assert_eq!(regex["version"], "1.5.4");
    assert_eq!(regex["ecosystem"], "crates.io");
    assert_eq!(regex["direct"], true);
    assert_eq!(regex["fix_version"], "1.5.5");
    assert_eq!(regex["path"], "Cargo.lock");
    assert_eq!(regex["advisory"]["kind"], "vulnerability");
    assert!(regex["advisory"]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "CVE-2022-24713"));
    assert_eq!(regex["advisory"]["severity"], "high");
    // Informational advisories are findings of their own kind.
    assert!(findings.iter().any(|f| f["advisory"]["kind"] == "unsound"));
    assert!(v["errors"].as_array().unwrap().is_empty());
    // The table: vulnerabilities, then informational apart, then a summary.
    let (code, table, _) = scan(&[&lockfile(), "--advisories", &db]).await;
    assert_eq!(code, 1);
    let info_at = table.find("Informational advisories").unwrap();
    assert!(table.find("RUSTSEC-2022-0013").unwrap() < info_at);
    assert!(table.contains("vulnerabilities in 11 packages"), "{table}");
}

fn git_lockfile() -> PathBuf {
    root().join("tests/fixtures/scan-git/Cargo.lock")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_a_git_dependency_is_not_matched_but_listed_unchecked() {
    let db = rustsec_db().display().to_string();
    let lock = git_lockfile().display().to_string();
    let (code, stdout, stderr) = scan(&[&lock, "--advisories", &db, "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let found: BTreeSet<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"].as_str().unwrap(),
                f["advisory"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    // regex 1.5.4 from git is not crates.io's regex 1.5.4 (RUSTSEC-2022-0013): not reported,
    // as cargo-audit agrees (see the comparison test); smallvec from crates.io is.
    assert!(found.iter().all(|(p, _)| *p != "regex"), "{found:?}");
    assert!(
        found.contains(&("smallvec", "RUSTSEC-2021-0003")),
        "{found:?}"
    );
    assert_eq!(
        v["unchecked"],
        serde_json::json!([{
            "path": "Cargo.lock",
            "ecosystem": "crates.io",
            "package": "regex",
            "version": "1.5.4",
            "reason": "git source",
        }])
    );
    let (_, table, _) = scan(&[&lock, "--advisories", &db]).await;
    assert!(
        table.contains("Not checked (1:") && table.contains("Cargo.lock: regex 1.5.4 (git source)"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_3_when_nothing_is_checked_with_a_warning_per_ecosystem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let rustsec = rustsec_db().display().to_string();
    let pypa = pypa_db().display().to_string();
    // No manifest at all.
    let (code, _, stderr) = scan(&[&d, "--advisories", &rustsec]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no manifest or lockfile found"), "{stderr}");
    // A Cargo.lock scanned with PyPI advisories only: nothing checked, and said which.
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 3

[[package]]
name = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = scan(&[&d, "--advisories", &pypa, "--format", "json"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("warning: crates.io: no advisories loaded"),
        "{stderr}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["warnings"],
        serde_json::json!(["crates.io: no advisories loaded"])
    );
    // A pinned, safe requirement beside it: PyPI was checked (0), crates.io still warned about.
    std::fs::write(dir.path().join("requirements.txt"), "six==1.16.0\n").unwrap();
    let (code, _, stderr) = scan(&[&d, "--advisories", &pypa]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: crates.io: no advisories loaded"),
        "{stderr}"
    );
    // An advisory folder holding no database: an error, not an empty scan.
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().display().to_string();
    let (code, _, stderr) = scan(&[&d, "--advisories", &e]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not an advisory database"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_clean_informational_only_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = rustsec_db().display().to_string();
    // Safe versions only: 0.
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"regex\"\nversion = \"1.10.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let (code, stdout, _) = scan(&[&d, "--advisories", &db]).await;
    assert_eq!(code, 0, "{stdout}");
    // A broken lockfile next to it: 2, and the error names file and line.
    std::fs::create_dir(dir.path().join("web")).unwrap();
    std::fs::write(
        dir.path().join("web/package-lock.json"),
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    oops\n",
    )
    .unwrap();
    let (code, stdout, _) = scan(&[&d, "--advisories", &db, "--format", "json"]).await;
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let err = &v["errors"][0];
    assert_eq!(err["path"], "web/package-lock.json");
    assert_eq!(err["line"], 4);
    assert!(err["error"]
        .as_str()
        .unwrap()
        .starts_with("could not parse web/package-lock.json at line 4"));
    // A database that does not exist: 2 with a message.
    let (code, _, stderr) = scan(&[&d, "--advisories", "/nonexistent/db"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/db"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_pypa_requirements_scan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "jinja2==2.10 \\\n    --hash=sha256:74c935a1b8bb9a3947c50a54766a969d4846290e1e788ea44c1392163723c3bd\nrequests>=2.0\n",
    )
    .unwrap();
    let db = pypa_db().display().to_string();
    let d = dir.path().display().to_string();
    let (code, stdout, stderr) = scan(&[&d, "--advisories", &db, "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let ids: BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"] == "jinja2")
        .map(|f| f["advisory"]["id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id.starts_with("PYSEC-")), "{ids:?}");
    // The unpinned requirement is not matched (no version to match), but listed as unchecked.
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["package"] != "requests"));
    assert_eq!(v["unchecked"][0]["package"], "requests");
    assert_eq!(v["unchecked"][0]["reason"], "unpinned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_findings_through_includes_are_reported_per_manifest_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements-base.txt"), "jinja2==2.10\n").unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "-r requirements-base.txt\n",
    )
    .unwrap();
    let db = pypa_db().display().to_string();
    let d = dir.path().display().to_string();
    let (code, stdout, stderr) = scan(&[&d, "--advisories", &db, "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let per_path = |p: &str| findings.iter().filter(|f| f["path"] == p).count();
    let (base, top) = (
        per_path("requirements-base.txt"),
        per_path("requirements.txt"),
    );
    assert!(base > 0 && base == top, "{base} {top}");
    let (_, table, _) = scan(&[&d, "--advisories", &db]).await;
    let summary = table.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!(
            "2 manifests scanned: {base} vulnerabilities in 1 package,"
        )),
        "{summary}"
    );
}

/// (advisory id, package, version) of the vulnerabilities cargo-audit reports.
/// Fails, saying how to install it, when cargo-audit is missing (`scripts/test` installs it).
fn cargo_audit(lock: &Path, db: &Path) -> BTreeSet<(String, String, String)> {
    let installed = std::process::Command::new("cargo")
        .args(["audit", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "cargo-audit is not installed: this test compares `backline scan` with it. Install it with \
         `cargo install cargo-audit --locked --version 0.22.2` (scripts/test does) and run again."
    );
    // cargo-audit opens its database as a git repository: give it a committed copy.
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("advisory-db");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(db)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    for args in [
        vec!["init", "-q"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "db",
        ],
    ] {
        let s = std::process::Command::new("git")
            .args(&args)
            .current_dir(&copy)
            .status()
            .unwrap();
        assert!(s.success(), "git {args:?}");
    }
    let out = std::process::Command::new("cargo")
        .args(["audit", "--no-fetch", "--stale", "--json", "--db"])
        .arg(&copy)
        .arg("--file")
        .arg(lock)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo audit output: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["vulnerabilities"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["advisory"]["id"].as_str().unwrap().to_string(),
                x["package"]["name"].as_str().unwrap().to_string(),
                x["package"]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_rustsec_same_vulnerabilities_as_cargo_audit() {
    let db = rustsec_db();
    let mut lockfiles = vec![
        PathBuf::from(lockfile()),
        git_lockfile(),
        root().join("Cargo.lock"),
    ];
    lockfiles.retain(|p| p.exists());
    for lock in lockfiles {
        let expected = cargo_audit(&lock, &db);
        if lock.ends_with("tests/fixtures/scan/Cargo.lock") {
            assert!(expected.len() >= 20, "cargo-audit found {expected:?}");
        }
        let (_, stdout, stderr) = scan(&[
            lock.to_str().unwrap(),
            "--advisories",
            db.to_str().unwrap(),
            "--format",
            "json",
        ])
        .await;
        let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
        let ours: BTreeSet<(String, String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["advisory"]["kind"] == "vulnerability")
            .map(|f| {
                (
                    f["advisory"]["id"].as_str().unwrap().to_string(),
                    f["package"].as_str().unwrap().to_string(),
                    f["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(ours, expected, "{}", lock.display());
    }
}

/// The CI self-scan (`.ci/run`): backline's own Cargo.lock against the bundled RustSec data
/// passes only with its reviewed allow list; without the entries, its informational advisories
/// fail the scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_scan_passes_only_with_the_reviewed_allow_list() {
    let db = rustsec_db().display().to_string();
    let own = root().join("Cargo.lock").display().to_string();
    let reviewed = root().join(".ci/audit-allow.toml").display().to_string();
    let (code, stdout, stderr) = scan(&[&own, "--advisories", &db, "--allow", &reviewed]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Allowed (on the allow list)"), "{stdout}");
    assert!(!stdout.contains("match nothing"), "stale entries: {stdout}");

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("allow.toml");
    std::fs::write(&empty, "# nothing reviewed yet\n").unwrap();
    let empty = empty.display().to_string();
    let (code, stdout, _) = scan(&[&own, "--advisories", &db, "--allow", &empty]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("not on the allow list"), "{stdout}");
    // Without --allow, informational advisories do not fail the scan (unchanged).
    let (code, stdout, _) = scan(&[&own, "--advisories", &db]).await;
    assert_eq!(code, 0, "{stdout}");

    let no_reason = dir.path().join("bad.toml");
    std::fs::write(
        &no_reason,
        "[[allow]]\nid = \"RUSTSEC-2024-0384\"\nreason = \"\"\n",
    )
    .unwrap();
    let (code, _, stderr) = scan(&[
        &own,
        "--advisories",
        &db,
        "--allow",
        &no_reason.display().to_string(),
    ])
    .await;
    assert_ne!(code, 0);
    assert!(stderr.contains("has no reason"), "{stderr}");
}
