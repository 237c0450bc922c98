//! `sync` against a small OSV bucket served by actix-web on loopback, including 304s.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;

use actix_web::{web, HttpRequest, HttpResponse, HttpServer};

use super::*;
use crate::advisories::import::tests::zip_of;

#[derive(Default)]
struct Bucket {
    /// path → (etag, body)
    files: HashMap<String, (String, Vec<u8>)>,
    /// (path, If-None-Match sent, If-Modified-Since sent)
    log: Vec<(String, Option<String>, Option<String>)>,
}

fn record(id: &str, ecosystem: &str, name: &str, fixed: &str) -> String {
    serde_json::json!({
        "id": id,
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
    .to_string()
}

async fn serve(req: HttpRequest, bucket: web::Data<Mutex<Bucket>>) -> HttpResponse {
    let path = req.path().to_string();
    let sent = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let since = req
        .headers()
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut b = bucket.lock().unwrap();
    b.log.push((path.clone(), sent.clone(), since));
    match b.files.get(&path) {
        None => HttpResponse::NotFound().finish(),
        Some((etag, _)) if sent.as_deref() == Some(etag.as_str()) => {
            HttpResponse::NotModified().finish()
        }
        Some((etag, body)) => HttpResponse::Ok()
            .insert_header(("ETag", etag.as_str()))
            .insert_header(("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT"))
            .body(body.clone()),
    }
}

fn ids(index: &Index, eco: Ecosystem, name: &str, version: &str) -> Vec<String> {
    index
        .matches(eco, name, version)
        .into_iter()
        .map(|m| m.advisory.id.clone())
        .collect()
}

/// Serves `bucket` on loopback; returns the base URL, a stop handle and the server task.
fn start(
    bucket: web::Data<Mutex<Bucket>>,
) -> (
    String,
    actix_web::dev::ServerHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(bucket.clone())
            .default_service(web::get().to(serve))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    (base, handle, tokio::spawn(server))
}

#[tokio::test]
async fn a_corrupt_download_keeps_the_stored_advisories() {
    let bucket = web::Data::new(Mutex::new(Bucket::default()));
    bucket.lock().unwrap().files.insert(
        "/Go/all.zip".to_string(),
        (
            "\"g1\"".to_string(),
            zip_of(&[("G.json", &record("GO-1", "Go", "example.com/m", "1.2.0"))]),
        ),
    );
    let (base, handle, running) = start(bucket.clone());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let options = SyncOptions {
        base_url: base,
        ecosystems: vec![Ecosystem::Go],
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let report = sync(&store, &options).await.unwrap();
    assert!(matches!(
        report.outcomes[0].1,
        Outcome::Updated { advisories: 1, .. }
    ));
    bucket.lock().unwrap().files.insert(
        "/Go/all.zip".to_string(),
        ("\"g2\"".to_string(), b"this is not a zip".to_vec()),
    );
    let report = sync(&store, &options).await.unwrap();
    assert!(
        matches!(&report.outcomes[0].1, Outcome::Failed(m) if m.contains("not a readable zip")),
        "{:?}",
        report.outcomes
    );
    assert_eq!(
        ids(&report.index, Ecosystem::Go, "example.com/m", "v1.1.0"),
        ["GO-1"]
    );
    // The validators of the good download stay, so the next try asks again with them.
    let table = AdvisoryStore::open(&store).unwrap();
    assert_eq!(
        table
            .validators(Ecosystem::Go)
            .unwrap()
            .unwrap()
            .etag
            .as_deref(),
        Some("\"g1\"")
    );
    handle.stop(true).await;
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn sync_downloads_then_honours_304_then_replaces() {
    let bucket = web::Data::new(Mutex::new(Bucket::default()));
    {
        let mut b = bucket.lock().unwrap();
        b.files.insert(
            "/npm/all.zip".to_string(),
            (
                "\"n1\"".to_string(),
                zip_of(&[("A.json", &record("GHSA-old", "npm", "left", "1.0.0"))]),
            ),
        );
        b.files.insert(
            "/PyPI/all.zip".to_string(),
            (
                "\"p1\"".to_string(),
                zip_of(&[("P.json", &record("PYSEC-1", "PyPI", "Jinja2", "2.10.1"))]),
            ),
        );
    }
    let (base, handle, running) = start(bucket.clone());

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let options = SyncOptions {
        base_url: format!("{base}/"),
        ecosystems: vec![Ecosystem::Npm, Ecosystem::PyPI, Ecosystem::CratesIo],
        timeout: Duration::from_secs(30),
        ..Default::default()
    };

    // First sync: two downloads, one 404.
    let report = sync(&store, &options).await.unwrap();
    assert!(matches!(
        report.outcomes[0].1,
        Outcome::Updated { advisories: 1, .. }
    ));
    assert!(matches!(
        report.outcomes[1].1,
        Outcome::Updated { advisories: 1, .. }
    ));
    assert!(matches!(&report.outcomes[2].1, Outcome::Failed(m) if m.contains("404")));
    assert_eq!(
        ids(&report.index, Ecosystem::Npm, "left", "0.9.0"),
        ["GHSA-old"]
    );
    assert_eq!(
        ids(&report.index, Ecosystem::PyPI, "jinja2", "2.10"),
        ["PYSEC-1"]
    );

    // Second sync: validators sent, 304s keep the data.
    let report = sync(&store, &options).await.unwrap();
    assert_eq!(report.outcomes[0].1, Outcome::NotModified);
    assert_eq!(report.outcomes[1].1, Outcome::NotModified);
    assert_eq!(report.index.stats().advisories, 2);
    {
        let b = bucket.lock().unwrap();
        let sent: Vec<_> = b.log[3..]
            .iter()
            .map(|(p, e, _)| (p.as_str(), e.as_deref()))
            .collect();
        assert_eq!(b.log[3].2.as_deref(), Some("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(b.log[0].2, None);
        assert_eq!(
            sent,
            [
                ("/npm/all.zip", Some("\"n1\"")),
                ("/PyPI/all.zip", Some("\"p1\"")),
                ("/crates.io/all.zip", None),
            ]
        );
    }

    // npm changes: its advisories are replaced, PyPI's kept.
    bucket.lock().unwrap().files.insert(
        "/npm/all.zip".to_string(),
        (
            "\"n2\"".to_string(),
            zip_of(&[("B.json", &record("GHSA-new", "npm", "left", "2.0.0"))]),
        ),
    );
    let report = sync(&store, &options).await.unwrap();
    assert!(matches!(
        report.outcomes[0].1,
        Outcome::Updated { advisories: 1, .. }
    ));
    assert_eq!(report.outcomes[1].1, Outcome::NotModified);
    assert_eq!(
        ids(&report.index, Ecosystem::Npm, "left", "1.5.0"),
        ["GHSA-new"]
    );
    assert_eq!(report.index.stats().advisories, 2);

    // The swapped-in index is what the store loads.
    let loaded =
        tokio::task::spawn_blocking(move || crate::advisories::persist::load_index(&store))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(ids(&loaded, Ecosystem::Npm, "left", "1.5.0"), ["GHSA-new"]);
    assert_eq!(ids(&loaded, Ecosystem::PyPI, "Jinja2", "2.0"), ["PYSEC-1"]);

    handle.stop(true).await;
    running.await.unwrap().unwrap();
}

/// Issue 12 item 6: a download over the cap, or a zip over its decompressed cap, fails that
/// ecosystem's sync with a clear message and keeps the stored advisories.
#[tokio::test]
async fn downloads_and_zips_over_their_caps_fail_and_keep_the_stored_advisories() {
    let bucket = web::Data::new(Mutex::new(Bucket::default()));
    let good = zip_of(&[("G.json", &record("GO-1", "Go", "example.com/m", "1.2.0"))]);
    bucket
        .lock()
        .unwrap()
        .files
        .insert("/Go/all.zip".to_string(), ("\"g1\"".to_string(), good));
    let (base, handle, running) = start(bucket.clone());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut options = SyncOptions {
        base_url: base.clone(),
        ecosystems: vec![Ecosystem::Go],
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let report = sync(&store, &options).await.unwrap();
    assert!(matches!(report.outcomes[0].1, Outcome::Updated { .. }));

    // A bigger zip than the download cap allows.
    let filler = "x".repeat(200_000);
    let big = zip_of(&[
        ("G.json", &record("GO-2", "Go", "example.com/m", "1.3.0")),
        ("filler.txt", &filler),
    ]);
    let big_len = big.len() as u64;
    bucket
        .lock()
        .unwrap()
        .files
        .insert("/Go/all.zip".to_string(), ("\"g2\"".to_string(), big));
    options.limits.max_download_bytes = big_len - 1;
    let report = sync(&store, &options).await.unwrap();
    assert!(
        matches!(&report.outcomes[0].1, Outcome::Failed(m) if m.ends_with(&format!("the download is larger than {} bytes", big_len - 1))),
        "{:?}",
        report.outcomes
    );
    assert_eq!(
        ids(&report.index, Ecosystem::Go, "example.com/m", "v1.1.0"),
        ["GO-1"]
    );

    // Within the download cap, but the records decompress past the archive cap.
    options.limits.max_download_bytes = big_len;
    options.limits.max_archive_bytes = 100;
    let report = sync(&store, &options).await.unwrap();
    assert!(
        matches!(&report.outcomes[0].1, Outcome::Failed(m) if m.contains("decompresses to more than 100 bytes")),
        "{:?}",
        report.outcomes
    );
    assert_eq!(
        ids(&report.index, Ecosystem::Go, "example.com/m", "v1.1.0"),
        ["GO-1"]
    );
    handle.stop(true).await;
    running.await.unwrap().unwrap();
}
