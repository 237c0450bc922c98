//! `backline migrate --from-sled DIR` on a realistic data directory (issue 16): a sled store
//! with N catalogued projects (default 10,000), each with two parsed manifests (a Cargo.lock of
//! 40 packages and a package-lock.json of 60), findings on every other project, a remediation
//! with its history on every fifth, and three deliveries per project (two done, one still
//! queued with its body); then the real binary copies it into an empty PostgreSQL schema, and
//! a second run shows the copy is idempotent (nothing new, the same row counts).
//!
//! Needs a PostgreSQL database: `BACKLINE_BENCH_DATABASE_URL`, else `BACKLINE_TEST_DATABASE_URL`.
//!
//! Run: `cargo bench --bench pg_migrate -- --projects 10000`

use std::time::Instant;

use backline::advisories::cvss::Level;
use backline::advisories::AdvisoryKind;
use backline::catalog::{Catalog, CatalogProject, HookState};
use backline::deps::{Dependency, Source};
use backline::ecosystem::Ecosystem;
use backline::findings::table::FindingsTable;
use backline::findings::{AdvisoryRef, Finding};
use backline::gitlab::hooks::common::Visibility;
use backline::gitlab::hooks::EventKind;
use backline::gitlab::ProjectId;
use backline::inbox::{Enqueued, Inbox, NewDelivery, VerifiedBy};
use backline::inventory::{Input, Inventory, StoredManifest};
use backline::net::Network;
use backline::remediation::model::{Remediation, State, Transition};
use backline::remediation::table::Remediations;
use backline::store::pg::{DatabaseUrl, PgStore};
use backline::store::Store;

const DAY: i64 = 86_400_000;

fn project(id: u64) -> CatalogProject {
    CatalogProject {
        id: ProjectId(id),
        path_with_namespace: format!("group{}/project-{id}", id % 50),
        name: format!("project-{id}"),
        default_branch: Some("main".into()),
        visibility: Some(if id % 3 == 0 {
            Visibility::Private
        } else {
            Visibility::Public
        }),
        web_url: Some(format!(
            "https://gitlab.example/group{}/project-{id}",
            id % 50
        )),
        last_activity_at: None,
        added_at_ms: 1,
        updated_at_ms: 1,
        hook: HookState::Unchecked,
        badge: HookState::Unchecked,
    }
}

fn manifest(path: &str, ecosystem: Ecosystem, packages: usize, now: i64) -> StoredManifest {
    StoredManifest {
        path: path.into(),
        inputs: vec![Input {
            path: path.into(),
            blob_id: Some("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327".into()),
        }],
        dependencies: (0..packages)
            .map(|i| Dependency {
                ecosystem,
                name: format!("package-{i}"),
                version: Some(format!("1.{}.{}", i % 7, i % 3)),
                direct: i % 4 == 0,
                parent: (i % 4 != 0).then(|| format!("package-{}", i - i % 4)),
                dev: i % 9 == 0,
                source: Source::Registry,
            })
            .collect(),
        error: None,
        parsed_at_ms: now,
    }
}

fn finding(package: &str, severity: Level) -> Finding {
    Finding {
        path: "Cargo.lock".into(),
        ecosystem: Ecosystem::CratesIo,
        package: package.into(),
        version: "1.0.0".into(),
        direct: true,
        fix_version: Some("1.0.1".into()),
        fixes_all: Some("1.0.1".into()),
        advisory: AdvisoryRef {
            id: format!("RUSTSEC-2024-{package}"),
            aliases: vec!["CVE-2024-0001".into()],
            summary: Some("a vulnerability summary of a typical length, one line".into()),
            severity,
            cvss: None,
            cvss_score: None,
            kind: AdvisoryKind::Vulnerability,
            severity_source: backline::advisories::severity::SeveritySource::CvssV3,
            fixed_in: None,
        },
    }
}

fn remediation(id: u64, severity: Level, detected: i64) -> Remediation {
    let mut r = Remediation {
        id,
        project: ProjectId(id),
        manifest: "Cargo.lock".into(),
        ecosystem: Ecosystem::CratesIo,
        package: "package-0".into(),
        direct: true,
        from_version: "1.0.0".into(),
        target_version: Some("1.0.1".into()),
        advisories: Vec::new(),
        severity,
        state: State::Planned,
        approved_by: None,
        reason: None,
        branch: "backline/crates.io/package-0-1.0.1".into(),
        bot_wrote_branch: false,
        mr_iid: None,
        mr_url: None,
        edited_by_person: false,
        ignored_versions: Vec::new(),
        ignored_advisories: Vec::new(),
        detected_at_ms: detected,
        updated_at_ms: detected,
        history: vec![Transition {
            at_ms: detected,
            from: None,
            to: State::Planned,
            by: "backline".into(),
            why: "detected".into(),
        }],
        copies: Vec::new(),
        route: None,
    };
    if id % 10 == 0 {
        r.transition(State::MrOpen, "backline", "opened", detected + DAY);
        r.mr_iid = Some(backline::gitlab::MrIid(1));
        if id % 20 == 0 {
            r.transition(State::Fixed, "backline", "fixed", detected + 3 * DAY);
        }
    }
    r
}

/// A ~2 KB push body.
fn body(id: u64, n: u64) -> Vec<u8> {
    let commit = r#"{"id":"b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327","message":"Update Cargo.lock","timestamp":"2026-01-01T00:00:00Z","author":{"name":"Jane","email":"jane@example.com"},"added":[],"modified":["Cargo.lock"],"removed":[]}"#;
    let mut out = format!(
        r#"{{"object_kind":"push","project_id":{id},"n":{n},"ref":"refs/heads/main","commits":["#
    );
    for _ in 0..8 {
        out.push_str(commit);
        out.push(',');
    }
    out.push_str(commit);
    out.push_str("]}");
    out.into_bytes()
}

/// Writes the data directory; returns the entries it holds.
fn populate(dir: &std::path::Path, projects: u64) -> u64 {
    let now = backline::clock::now_ms();
    let store = Store::open(dir).unwrap();
    let catalog = Catalog::open(&store).unwrap();
    let inventory = Inventory::open(&store).unwrap();
    let findings = FindingsTable::open(&store).unwrap();
    let rems = Remediations::open(&store).unwrap();
    let inbox = Inbox::new(store.clone()).unwrap();
    let levels = [Level::Critical, Level::High, Level::Medium, Level::Low];
    for id in 1..=projects {
        catalog.upsert(&project(id)).unwrap();
        let pid = ProjectId(id);
        inventory
            .put(pid, &manifest("Cargo.lock", Ecosystem::CratesIo, 40, now))
            .unwrap();
        inventory
            .put(pid, &manifest("package-lock.json", Ecosystem::Npm, 60, now))
            .unwrap();
        if id % 2 == 0 {
            let k = (id % 3 + 1) as usize;
            let fs = (0..k)
                .map(|i| finding(&format!("package-{i}"), levels[(id as usize + i) % 4]))
                .collect();
            findings.replace(pid, fs, now - 10 * DAY).unwrap();
        }
        if id % 5 == 0 {
            let detected = now - (id as i64 % 60) * DAY;
            rems.put(&remediation(id, levels[id as usize % 4], detected))
                .unwrap();
        }
        for n in 0..3 {
            let d = NewDelivery {
                key: format!("id:migrate-{id}-{n}"),
                kind: EventKind::Push,
                project: Some(pid),
                event_uuid: Some(format!("uuid-{id}-{n}")),
                verified_by: VerifiedBy::Signature,
                received_at_ms: now - 1_000,
            };
            let Enqueued::Accepted { seq, .. } = inbox.enqueue(&d, &body(id, n)).unwrap() else {
                panic!("fresh keys are accepted")
            };
            if n < 2 {
                inbox.claim(seq).unwrap().expect("claimable");
                inbox.ack(seq, "recorded", now).unwrap();
            }
        }
    }
    store.flush_now().unwrap();
    backline::store::pg::from_sled::total_entries(&store).unwrap()
}

fn migrate(dir: &std::path::Path, url: &str) -> (f64, String) {
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backline"))
        .args(["migrate", "--from-sled"])
        .arg(dir)
        .env("BACKLINE_DATABASE_URL", url)
        .env("BACKLINE_LOG", "warn")
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the backline binary runs");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "backline migrate failed");
    (
        secs,
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

async fn counts(pg: &PgStore) -> Vec<(String, i64)> {
    let client = pg.client().await.unwrap();
    let mut out = Vec::new();
    for table in [
        "deliveries",
        "payloads",
        "inbox",
        "kv_projects",
        "kv_manifests",
        "kv_findings",
        "kv_remediations",
    ] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        out.push((table.to_string(), n));
    }
    out
}

fn main() {
    let mut projects = 10_000u64;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--projects" {
            projects = it
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--projects N");
        }
    }
    let raw = std::env::var("BACKLINE_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("BACKLINE_TEST_DATABASE_URL"))
        .expect("set BACKLINE_BENCH_DATABASE_URL or BACKLINE_TEST_DATABASE_URL");
    let base = DatabaseUrl::parse(&raw).expect("a usable database URL");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let started = Instant::now();
    let entries = populate(&data, projects);
    let size: u64 = walk_size(&data);
    println!(
        "sled data dir: {projects} projects, {entries} entries, {:.1} MB on disk, written in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let schema = format!("bench_migrate_{}", std::process::id());
    let sep = if raw.contains('?') { '&' } else { '?' };
    let url = format!("{raw}{sep}options=-c%20search_path%3D{schema}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin = PgStore::connect(&base, &Network::default(), 1).unwrap();
    rt.block_on(async {
        admin
            .client()
            .await
            .expect("database reachable")
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
    });
    let (first, said) = migrate(&data, &url);
    println!(
        "first run:  {first:.1} s wall, {:.0} entries/s, {:.0} projects/s\n  {said}",
        entries as f64 / first,
        projects as f64 / first
    );
    let pg = PgStore::connect(&base.with_schema(&schema).unwrap(), &Network::default(), 1).unwrap();
    let after_first = rt.block_on(counts(&pg));
    let (second, said) = migrate(&data, &url);
    println!("second run: {second:.1} s wall (idempotent)\n  {said}");
    let after_second = rt.block_on(counts(&pg));
    assert_eq!(after_first, after_second, "a second run changes nothing");
    println!("rows: {after_first:?}");
    rt.block_on(async {
        admin
            .client()
            .await
            .unwrap()
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
}

fn walk_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let meta = e.metadata().unwrap();
            total += if meta.is_dir() {
                walk_size(&e.path())
            } else {
                meta.len()
            };
        }
    }
    total
}
